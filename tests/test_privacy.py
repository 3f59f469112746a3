"""The privacy boundary, tested as an attacker would: through the public role, against real PostGIS.

Every test writes reports into core as the gateway would and then looks at what the public role
can read in schema `open` (or cannot read anywhere else).
"""

import json
import math
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.cli import main
from gateway.maintenance import run_privacy_jobs
from store.locations import DatabaseUrls
from store.privacy import PolicyError, PrivacyPolicy, apply_policy, load_policy
from store.setup import prepare_database
from tests.support import CONFIG_DIR, WARSAW, insert_report

pytestmark = pytest.mark.usefixtures("clean_reports")

SENSITIVE = "minors-at-risk"
K = 3
# Text columns the public may see: codes and names from the catalogue, areas and workflow.
CATALOGUE_TEXT_COLUMNS = {
    "id", "category_id", "status", "date_precision", "voivodeship_code", "county_code",
    "police_unit_id", "group_id", "group_name_pl", "group_name_en", "name_pl", "name_en", "colour",
    "icon", "code", "level", "name", "parent_code", "area_code", "parent_id", "area_name", "offence",
    "from_status", "to_status", "category_name_pl", "category_name_en", "category_group_id",
    "top_category", "police_unit_name",
    # the cells kept per public point (issue 16): catalogue ids, as arrays, and the top status
    "categories", "statuses", "top_status",
    # the totals kept per area (issue 16): 'day', 'month' or 'year' (a CHECK of core.report_totals)
    "period",
    # police statistics (issue 15): imported by staff from police files, catalogue ids and names
    "road", "kind", "kind_name_pl", "kind_name_en", "side", "subject", "subject_name_pl", "subject_name_en",
}
# jsonb columns the public may see: counts by category id (checked in
# test_category_count_maps_hold_only_category_ids_and_counts_of_at_least_k).
CATEGORY_COUNT_MAPS = {("tile_density", "categories"), ("tile_areas", "categories")}
# Text columns written from the public columns of their own row (checked in
# test_kept_feature_texts_hold_their_rows_public_columns_only).
DERIVED_TEXT_COLUMNS = {("report_features", "feature")}
TIME_TYPES = {"timestamp without time zone", "timestamp with time zone", "time without time zone",
              "time with time zone", "interval"}
MARKER = "Jan Kowalski, ul. Tajna 7, tel. 600100200"


def open_relations(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("""
        SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'open' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY 1
    """).fetchall()
    return [name for (name,) in rows]


def public_report(conn: psycopg.Connection, report: uuid.UUID) -> dict | None:
    cursor = conn.execute("""
        SELECT id, category_id, status, occurred_on, date_precision, cell_m, county_code,
               voivodeship_code, police_unit_id,
               ST_X(ST_Transform(geom, 2180)) AS x, ST_Y(ST_Transform(geom, 2180)) AS y,
               ST_Distance(ST_Transform(geom, 3857), geom_3857) AS drift_3857
        FROM open.reports WHERE id = %s
    """, [report])
    row = cursor.fetchone()
    return None if row is None else dict(zip([c.name for c in cursor.description], row, strict=True))


def true_xy(conn: psycopg.Connection, report: uuid.UUID) -> tuple[float, float]:
    return conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(geom, 2180) AS p "
                        "FROM core.reports WHERE id = %s) AS t", [report]).fetchone()


def assert_cell_centre(public: dict, true: tuple[float, float], cell_m: int) -> None:
    """The public point is exactly the centre of the true point's cell in the EPSG:2180 grid."""
    assert public["cell_m"] == cell_m
    for coordinate, exact in ((public["x"], true[0]), (public["y"], true[1])):
        n = math.floor(exact / cell_m)
        assert abs(coordinate - (n + 0.5) * cell_m) < 1e-6
    distance = math.dist((public["x"], public["y"]), true)
    assert distance <= cell_m * math.sqrt(2) / 2 + 1e-6
    assert public["drift_3857"] < 1e-6


def policy_with(**grid: int) -> PrivacyPolicy:
    raw = load_policy(CONFIG_DIR / "privacy.yml").model_dump()
    raw["grid"] |= grid
    return PrivacyPolicy.model_validate(raw)


# ---------------------------------------------------------------------------------------- place

def test_every_public_point_is_a_cell_centre_near_the_true_point(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    rng = random.Random(3)
    reports = []
    for _ in range(150):
        category = rng.choice(["vandalism", "illegal-dumping", SENSITIVE, "homeless-person-in-need"])
        # published: a sensitive report would otherwise wait for its month (test_privacy_months.py)
        reports.append(insert_report(app_conn, lon=rng.uniform(14.2, 24.1), lat=rng.uniform(49.1, 54.8),
                                     category=category, status="confirmed", published=True))
    sensitive = {c for (c,) in app_conn.execute("SELECT id FROM core.categories WHERE sensitive")}
    for report in reports:
        public = public_report(public_conn, report)
        assert public is not None
        assert_cell_centre(public, true_xy(app_conn, report),
                           1000 if public["category_id"] in sensitive else 250)


def test_snapping_is_deterministic_so_narrow_queries_learn_nothing(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    near = [insert_report(app_conn, lon=WARSAW[0] + d, lat=WARSAW[1], status="confirmed")
            for d in (0.0, 0.0001, 0.0002)]
    points = {public_conn.execute("SELECT ST_AsText(geom) FROM open.reports WHERE id = %s",
                                  [r]).fetchone()[0] for r in near}
    assert len(points) == 1
    # A tiny box around the exact point finds nothing unless it holds the cell centre.
    x, y = true_xy(app_conn, near[0])
    found = public_conn.execute("""
        SELECT count(*) FROM open.reports
        WHERE geom && ST_Transform(ST_MakeEnvelope(%s - 1, %s - 1, %s + 1, %s + 1, 2180), 4326)
    """, [x, y, x, y]).fetchone()[0]
    centre = public_report(public_conn, near[0])
    assert found == 0 or math.dist((centre["x"], centre["y"]), (x, y)) < 2


def test_sensitive_categories_use_the_coarse_grid_and_month_dates(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    occurred = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
    report = insert_report(app_conn, category=SENSITIVE, status="confirmed", occurred_at=occurred,
                           published=True)
    public = public_report(public_conn, report)
    assert (public["date_precision"], public["occurred_on"]) == ("month", date(2026, 3, 1))
    assert_cell_centre(public, true_xy(app_conn, report), 1000)


def test_public_date_is_the_local_day_of_occurrence(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    late_evening_utc = datetime(2026, 3, 16, 23, 30, tzinfo=UTC)  # 00:30 on the 17th in Warsaw
    report = insert_report(app_conn, status="confirmed", occurred_at=late_evening_utc)
    public = public_report(public_conn, report)
    assert (public["date_precision"], public["occurred_on"]) == ("day", date(2026, 3, 17))


def _two_sides_of_a_county_border(conn: psycopg.Connection) -> list[tuple[float, float, str]]:
    """Two points in one 250 m cell, in two different counties (on the border of Warsaw)."""
    rows = conn.execute("""
        WITH warsaw AS (
            SELECT geom FROM core.areas
            WHERE level = 'county' AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
        ), border AS (
            SELECT f, ST_Transform(ST_LineInterpolatePoint(
                       ST_ExteriorRing(ST_GeometryN(geom, 1)), f), 2180) AS p
            FROM warsaw, generate_series(0.05, 0.95, 0.05) AS f
        ), lattice AS (
            SELECT f, ST_Transform(ST_SetSRID(ST_MakePoint(
                       (floor(ST_X(p) / 250) + (i + 0.5) / 6) * 250,
                       (floor(ST_Y(p) / 250) + (j + 0.5) / 6) * 250), 2180), 4326) AS q
            FROM border, generate_series(0, 5) AS i, generate_series(0, 5) AS j
        )
        SELECT f, ST_X(q), ST_Y(q), a.code
        FROM lattice JOIN core.areas AS a ON a.level = 'county' AND ST_Intersects(a.geom, q)
        ORDER BY f
    """, WARSAW).fetchall()
    by_cell: dict[float, dict[str, tuple[float, float, str]]] = {}
    for f, lon, lat, code in rows:
        by_cell.setdefault(f, {}).setdefault(code, (lon, lat, code))
    for sides in by_cell.values():
        if len(sides) >= 2:
            return list(sides.values())[:2]
    raise AssertionError("no cell on the border of Warsaw holds two counties")


def test_areas_and_police_unit_are_functions_of_the_public_point_only(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """Police assign a unit from the exact point; publishing it as assigned would tell on which
    side of a county border inside one cell a report lies."""
    reports = []
    for lon, lat, county in _two_sides_of_a_county_border(app_conn):
        report = insert_report(app_conn, lon=lon, lat=lat, status="confirmed")
        app_conn.execute("UPDATE core.reports SET police_unit_id = "
                         "(SELECT id FROM core.police_units WHERE area_code = %s) WHERE id = %s",
                         [county, report])
        reports.append(report)
    first, second = (public_report(public_conn, r) for r in reports)
    assert (first["x"], first["y"]) == (second["x"], second["y"])
    for key in ("county_code", "voivodeship_code", "police_unit_id"):
        assert first[key] == second[key], key
    unit_area = public_conn.execute("SELECT area_code FROM open.police_units WHERE id = %s",
                                    [first["police_unit_id"]]).fetchone()[0]
    assert unit_area == first["county_code"]


# ----------------------------------------------------------------------------- what is public

def test_category_count_maps_hold_only_category_ids_and_counts_of_at_least_k(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection, clean_reports: None) -> None:
    for _ in range(3):
        insert_report(app_conn, status="confirmed")
    insert_report(app_conn, status="confirmed", category="speeding")
    k = public_conn.execute("SELECT k FROM open.privacy_policy").fetchone()[0]
    categories = {row[0] for row in public_conn.execute("SELECT id FROM open.categories")}
    seen = 0
    for table, column in sorted(CATEGORY_COUNT_MAPS):
        rows = public_conn.execute(
            f"SELECT key, value FROM open.{table}, jsonb_each({column})").fetchall()
        for key, value in rows:
            assert key in categories, f"open.{table}.{column} has key {key!r}"
            assert isinstance(value, int) and value >= k, f"open.{table}.{column}: {key}={value}"
        seen += len(rows)
    assert seen > 0, "the maps were empty: the test proved nothing"


def test_no_open_column_can_carry_reporter_text_or_an_exact_time(
        public_conn: psycopg.Connection) -> None:
    columns = public_conn.execute("""
        SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns
        WHERE table_schema = 'open'
    """).fetchall()
    assert {table for table, *_ in columns} >= {"reports", "categories", "statuses",
                                                "report_density", "area_statistics", "police_units"}
    for table, column, data_type, udt in columns:
        assert data_type not in TIME_TYPES, f"open.{table}.{column} is a {data_type}"
        if (table, column) in CATEGORY_COUNT_MAPS:
            assert udt == "jsonb"
            continue
        assert udt not in ("json", "jsonb", "bytea", "xml", "hstore", "tsvector"), f"open.{table}.{column}"
        if (table, column) in DERIVED_TEXT_COLUMNS:
            continue
        if data_type in ("text", "character varying", "character") or udt in ("_text", "_varchar"):
            assert column in CATALOGUE_TEXT_COLUMNS, f"open.{table}.{column} is free text"


def test_kept_feature_texts_hold_their_rows_public_columns_only(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """open.report_features.feature (migration 0026) is its report's public columns and the
    category's catalogue names as GeoJSON, nothing else: parsed, it is exactly open.ogc_reports'
    row; and a text is kept for public reports only."""
    for status in ("new", "under_verification", "confirmed"):
        insert_report(app_conn, status=status, description=MARKER, contact=MARKER, published=True)
    rows = public_conn.execute("""
        SELECT f.feature, to_json(v), ST_AsGeoJSON(v.geom, 7)::json
        FROM open.report_features AS f LEFT JOIN open.ogc_reports AS v USING (id)
    """).fetchall()
    assert len(rows) >= 3
    assert all(row is not None for _, row, _ in rows), "a text kept for a report that is not public"
    for text, row, point in rows:
        feature = json.loads(text)
        assert set(feature) == {"type", "id", "geometry", "properties"} and feature["type"] == "Feature"
        assert feature["id"] == row.pop("id")
        assert row.pop("geom") and feature["geometry"] == point
        assert feature["properties"] == row


def test_reporter_text_appears_in_no_open_relation(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    for status in ("under_verification", "confirmed", "not_confirmed"):
        report = insert_report(app_conn, status=status, description=MARKER, contact=MARKER)
        app_conn.execute("INSERT INTO core.report_events (report_id, kind, actor, comment) "
                         "VALUES (%s, 'information_added', %s, %s)", [report, MARKER, MARKER])
    for relation in open_relations(public_conn):
        leaked = public_conn.execute(
            f"SELECT count(*) FROM open.{relation} AS t WHERE t::text ILIKE %s",
            [f"%{MARKER[:12]}%"]).fetchone()[0]
        assert leaked == 0, f"open.{relation}"


def test_system_columns_of_open_relations_are_not_readable(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """xmin is the transaction that published a row: sampled against the transaction counter it
    dates a publication or status change."""
    insert_report(app_conn, status="confirmed")
    for relation in open_relations(public_conn):
        for column in ("xmin", "xmax", "ctid", "tableoid"):
            with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedColumn)):
                public_conn.execute(f"SELECT {column} FROM open.{relation} LIMIT 1")


def test_public_role_cannot_read_anything_in_core(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    relations = app_conn.execute("""
        SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'core' AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S') ORDER BY 1
    """).fetchall()
    assert {"reports", "report_events", "density_counts", "area_counts"} <= {r for (r,) in relations}
    for (relation,) in relations:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            public_conn.execute(f"SELECT * FROM core.{relation} LIMIT 1")
    for call in ("core.cell_index(ST_MakePoint(21, 52), 250)", "core.purge_contacts()",
                 "core.publish_due_reports()"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            public_conn.execute(f"SELECT {call}")


# ------------------------------------------------------------------------------- publication

def test_unpublished_and_abusive_reports_are_absent_everywhere(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    # Three of each in one cell: if any were counted, the aggregates would show them.
    fresh = [insert_report(app_conn) for _ in range(K)]
    abusive = [insert_report(app_conn, status="confirmed", abusive=True) for _ in range(K)]
    for report in fresh + abusive:
        assert public_report(public_conn, report) is None
    for view in ("report_density", "report_density_totals", "area_statistics", "area_totals"):
        assert public_conn.execute(f"SELECT count(*) FROM open.{view}").fetchone()[0] == 0, view


def test_marking_a_published_report_abusive_withdraws_it(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    reports = [insert_report(app_conn, status="confirmed") for _ in range(K)]
    assert public_conn.execute("SELECT max(count) FROM open.report_density_totals").fetchone()[0] == K
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = %s", [reports[0]])
    assert public_report(public_conn, reports[0]) is None
    assert public_conn.execute("SELECT count(*) FROM open.report_density_totals").fetchone()[0] == 0
    _public_count_consistent(app_conn)


def test_a_status_change_publishes_at_once(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    report = insert_report(app_conn)
    assert public_report(public_conn, report) is None
    app_conn.execute("UPDATE core.reports SET status = 'under_verification' WHERE id = %s", [report])
    public = public_report(public_conn, report)
    assert public is not None and public["status"] == "under_verification"


def test_reports_past_the_delay_are_published_in_whole_hours(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    now = app_conn.execute("SELECT now()").fetchone()[0]
    old = insert_report(app_conn, created_at=now - timedelta(hours=26))
    young = insert_report(app_conn, created_at=now - timedelta(hours=23))
    # Older than the delay, but its clock hour is not over 24 hours ago: it waits for its batch.
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    batch = insert_report(app_conn, created_at=hour + timedelta(seconds=1))
    abusive = insert_report(app_conn, created_at=now - timedelta(hours=30), abusive=True)
    assert public_report(public_conn, old) is None
    published = app_conn.execute("SELECT core.publish_due_reports()").fetchone()[0]
    assert published == 1
    assert public_report(public_conn, old)["status"] == "new"
    for report in (young, batch, abusive):
        assert public_report(public_conn, report) is None


def _announced(urls: DatabaseUrls, action) -> list[uuid.UUID]:
    """The report ids of the change notices (what `reportEvents` subscribers receive) that
    `action` causes, in the order they are sent, as the public role hears them."""
    with psycopg.connect(urls.public, autocommit=True) as listener:
        listener.execute("LISTEN threatmap_report_events")
        expected = action()
        notices = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=expected)]
    return [uuid.UUID(n["id"]) for n in notices]


def test_a_publication_batch_is_announced_in_id_order_not_submission_order(
        app_conn: psycopg.Connection, urls: DatabaseUrls) -> None:
    """A clock hour's reports are published together so that the moment tells only the hour; in
    the order they were submitted, the notices would rank each report within its hour, and
    reports of one's own sent at known minutes would then date the others to the minute."""
    now = app_conn.execute("SELECT now()").fetchone()[0]
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    minutes = list(range(0, 60, 3))
    random.Random(7).shuffle(minutes)  # written in another order than submitted
    submitted = [insert_report(app_conn, created_at=hour + timedelta(minutes=m)) for m in minutes]
    announced = _announced(
        urls, lambda: app_conn.execute("SELECT core.publish_due_reports()").fetchone()[0])
    assert announced == sorted(submitted)  # the id: a random UUID, no time in it


def test_reprojecting_and_rebuilding_announce_reports_in_id_order(
        app_conn: psycopg.Connection, urls: DatabaseUrls) -> None:
    """Statements that change many public reports at once announce them by id, not in the
    order the reports were stored (which is the order they were submitted)."""
    reports = [insert_report(app_conn, lon=WARSAW[0] + i * 0.003, lat=WARSAW[1], status="confirmed")
               for i in range(6)]
    try:
        announced = _announced(urls, lambda: app_conn.execute(
            "UPDATE core.categories SET sensitive = true WHERE id = 'vandalism'").rowcount * len(reports))
        assert announced == sorted(reports)
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = false WHERE id = 'vandalism'")

    def rebuild() -> int:
        app_conn.execute("SELECT core.rebuild_public_layer()")
        return 2 * len(reports)   # removed, then added

    announced = _announced(urls, rebuild)
    assert announced == sorted(reports) * 2


def test_the_feed_view_dates_publication_by_day_or_month_only(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """open.report_feed (the Atom feeds) adds the publication day to the public columns: the
    day in the policy's time zone, the month's first day for reports dated by month."""
    by_day = insert_report(app_conn, status="confirmed")
    by_month = insert_report(app_conn, category=SENSITIVE, published=True)
    insert_report(app_conn)                                  # not published: not in the feed
    today = app_conn.execute("SELECT (now() AT TIME ZONE timezone)::date "
                             "FROM core.privacy_policy").fetchone()[0]
    rows = {r: (day, precision) for r, day, precision in public_conn.execute(
        "SELECT id, published_on, date_precision FROM open.report_feed").fetchall()}
    assert set(rows) == {r for (r,) in public_conn.execute("SELECT id FROM open.reports")}
    assert rows == {by_day: (today, "day"), by_month: (today.replace(day=1), "month")}
    columns = {c for (c,) in public_conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'open' AND table_name = 'report_feed'")}
    public = {c for (c,) in public_conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'open' AND table_name = 'reports'")}
    assert columns <= public   # published_on is stored with the public row (migration 0017)


def test_the_publication_day_is_stored_with_the_public_row_and_follows_reprojection(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """open.reports.published_on (what the feeds sort by, indexed per county and category) is
    the feed's rule applied when the row is written: it turns to the month's first day when the
    category becomes sensitive, back to the day when it stops, and survives a rebuild."""
    category = "vandalism"
    report = insert_report(app_conn, category=category, status="confirmed")
    today = app_conn.execute("SELECT (now() AT TIME ZONE timezone)::date "
                             "FROM core.privacy_policy").fetchone()[0]

    def stored() -> tuple:
        return public_conn.execute("SELECT published_on, date_precision FROM open.reports "
                                   "WHERE id = %s", [report]).fetchone()

    assert stored() == (today, "day")
    try:
        app_conn.execute("UPDATE core.categories SET sensitive = true WHERE id = %s", [category])
        assert stored() == (today.replace(day=1), "month")
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = false WHERE id = %s", [category])
    assert stored() == (today, "day")
    app_conn.execute("SELECT core.rebuild_public_layer()")
    assert stored() == (today, "day")
    wrong = app_conn.execute("""
        SELECT count(*) FROM open.reports AS o JOIN core.reports AS r USING (id)
        CROSS JOIN core.privacy_policy AS p
        WHERE o.published_on IS DISTINCT FROM CASE WHEN o.date_precision = 'month'
              THEN date_trunc('month', r.published_at AT TIME ZONE p.timezone)::date
              ELSE (r.published_at AT TIME ZONE p.timezone)::date END""").fetchone()[0]
    assert wrong == 0


# -------------------------------------------------------------------------------- aggregates

def test_every_published_count_is_zero_or_at_least_k(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    # 1, 2 and 3 reports in three cells 5 km apart (one 1 km cell each), same category and month.
    cells = {1: (20.40, 50.30), 2: (20.47, 50.30), 3: (20.54, 50.30)}
    for count, (lon, lat) in cells.items():
        for _ in range(count):
            insert_report(app_conn, lon=lon, lat=lat, status="confirmed", category="vandalism")
    app_conn.execute("INSERT INTO core.police_statistics VALUES ('14', 'theft', '2026-01-01', 1), "
                     "('14', 'burglary', '2026-01-01', 2), ('14', 'robbery', '2026-01-01', 0), "
                     "('14', 'fraud', '2026-01-01', 3)")
    try:
        for count, (lon, lat) in cells.items():
            shown = public_conn.execute("""
                SELECT count FROM open.report_density
                WHERE cell_m = 1000 AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
            """, [lon, lat]).fetchall()
            assert shown == ([] if count < K else [(count,)]), count
        counted = public_conn.execute("""
            SELECT table_name FROM information_schema.columns
            WHERE table_schema = 'open' AND column_name = 'count'
        """).fetchall()
        assert len(counted) >= 5
        for (view,) in counted:
            bad = public_conn.execute(
                f"SELECT count(*) FROM open.{view} WHERE count BETWEEN 1 AND %s", [K - 1]).fetchone()[0]
            assert bad == 0, view
        offences = public_conn.execute("SELECT offence, count FROM open.police_statistics "
                                       "WHERE area_code = '14' ORDER BY offence").fetchall()
        assert offences == [("fraud", 3), ("robbery", 0)]
        # The county of these six: shown with 6, the 64 km cell too.
        assert public_conn.execute("SELECT max(count) FROM open.area_statistics "
                                   "WHERE level = 'county'").fetchone()[0] == 6
    finally:
        app_conn.execute("DELETE FROM core.police_statistics WHERE area_code = '14'")


def test_aggregates_hide_a_lone_report_in_its_county(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    insert_report(app_conn, lon=22.9, lat=49.3, status="confirmed")  # Bieszczady, alone
    for view in ("report_density", "report_density_totals", "area_statistics", "area_totals"):
        assert public_conn.execute(f"SELECT count(*) FROM open.{view}").fetchone()[0] == 0, view


# ------------------------------------------------------------------------------- retention

def _snapshot(conn: psycopg.Connection) -> dict:
    return {
        "reports": {row[0]: row for row in conn.execute("SELECT * FROM core.reports")},
        "events": conn.execute("SELECT * FROM core.report_events ORDER BY id").fetchall(),
        "open": conn.execute("SELECT * FROM open.reports ORDER BY id").fetchall(),
    }


def _close(conn: psycopg.Connection, report: uuid.UUID, days_ago: float) -> None:
    conn.execute("UPDATE core.reports SET status = 'under_verification' WHERE id = %s", [report])
    conn.execute("UPDATE core.reports SET status = 'not_confirmed', "
                 "closed_at = now() - make_interval(days => %s) WHERE id = %s", [days_ago, report])


def test_purge_erases_contacts_closed_past_retention_and_nothing_else(
        app_conn: psycopg.Connection) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=90)
    due = insert_report(app_conn, created_at=long_ago, contact="due@example.org")
    _close(app_conn, due, 31)
    recent = insert_report(app_conn, created_at=long_ago, contact="recent@example.org")
    _close(app_conn, recent, 29)
    open_old = insert_report(app_conn, created_at=long_ago, status="confirmed", contact="open@x.org")
    initial_old = insert_report(app_conn, created_at=long_ago, contact="initial@example.org")
    before = _snapshot(app_conn)

    assert app_conn.execute("SELECT core.purge_contacts()").fetchone()[0] == 1
    after = _snapshot(app_conn)
    contact, erased_at, closed_at = app_conn.execute(
        "SELECT contact, contact_erased_at, closed_at FROM core.reports WHERE id = %s", [due]).fetchone()
    assert contact is None and erased_at is not None and closed_at < erased_at
    events = app_conn.execute("SELECT kind, actor FROM core.report_events WHERE report_id = %s",
                              [due]).fetchall()
    assert events == [("contact_erased", "system:retention")]
    assert after["events"][:len(before["events"])] == before["events"]
    assert len(after["events"]) == len(before["events"]) + 1
    assert after["open"] == before["open"]
    for report in (recent, open_old, initial_old):
        assert after["reports"][report] == before["reports"][report]
    assert app_conn.execute("SELECT core.purge_contacts()").fetchone()[0] == 0


def test_privacy_purge_command(app_conn: psycopg.Connection, urls: DatabaseUrls,
                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    due = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(days=60))
    _close(app_conn, due, 45)
    monkeypatch.setenv("DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    main(["privacy", "purge"])
    assert "1 contacts erased" in capsys.readouterr().out
    assert app_conn.execute("SELECT contact FROM core.reports WHERE id = %s", [due]).fetchone() == (None,)
    main(["privacy", "purge"])
    assert "0 contacts erased" in capsys.readouterr().out


def test_privacy_publish_command(app_conn: psycopg.Connection, public_conn: psycopg.Connection,
                                 urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture) -> None:
    due = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(hours=30))
    monkeypatch.setenv("DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    main(["privacy", "publish"])
    assert "1 reports published" in capsys.readouterr().out
    assert public_report(public_conn, due) is not None


async def test_the_server_job_publishes_and_purges(app_conn: psycopg.Connection,
                                                 public_conn: psycopg.Connection,
                                                 urls: DatabaseUrls) -> None:
    due_to_publish = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(hours=30))
    due_to_purge = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(days=60))
    _close(app_conn, due_to_purge, 40)
    async with AsyncConnectionPool(urls.app, min_size=1, max_size=1, open=False) as pool:
        assert await run_privacy_jobs(pool) == (1, 1)
        assert await run_privacy_jobs(pool) == (0, 0)
    assert public_report(public_conn, due_to_publish) is not None


# ---------------------------------------------------------------------------------- policy

@pytest.mark.parametrize(("text", "named"), [
    ("grid:\n  cell_m: -250\n", "grid.cell_m"),
    ("grid:\n  cel_m: 250\n", "grid.cel_m"),
    ("grid:\n  cell_m: 1000\n  sensitive_cell_m: 250\n", "sensitive_cell_m"),
    ("grid:\n  cell_m: 300\n", "density_cell_m"),
    ("aggregates:\n  k: 1\n", "aggregates.k"),
    ("aggregates:\n  density_cell_m: [2000, 1000]\n", "density_cell_m"),
    ("publication:\n  after_hours: soon\n", "publication.after_hours"),
    ("retention:\n  contact_days: -1\n", "retention.contact_days"),
    ("timezone: Mars/Olympus_Mons\n", "timezone"),
    ("grid: [250\n", "not valid YAML"),
    ("- 250\n", "invalid privacy policy"),
])
def test_a_bad_policy_is_an_error_naming_the_setting(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "privacy.yml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=named.replace(".", r"\.")) as error:
        load_policy(path)
    assert str(path) in str(error.value)


def test_a_missing_policy_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="missing"):
        load_policy(tmp_path / "privacy.yml")


def test_a_bad_policy_stops_start_up_before_anything_runs(
        tmp_path: Path, urls: DatabaseUrls,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "privacy.yml").write_text("aggregates:\n  k: 0\n")
    with pytest.raises(PolicyError, match=r"aggregates\.k"):
        prepare_database(urls, tmp_path)
    monkeypatch.setenv("DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_CONFIG_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match=r"aggregates\.k"):
        main(["privacy", "apply"])


def test_the_shipped_policy_is_the_documented_default() -> None:
    policy = load_policy(CONFIG_DIR / "privacy.yml")
    assert (policy.grid.cell_m, policy.grid.sensitive_cell_m, policy.aggregates.k) == (250, 1000, 3)
    assert policy.publish_after == timedelta(hours=24)
    assert policy.contact_retention == timedelta(days=30)


def _public_count_consistent(app_conn: psycopg.Connection) -> None:
    """Every public report is counted once at every density level and in its county."""
    levels = app_conn.execute("SELECT density_cell_m FROM core.privacy_policy").fetchone()[0]
    public = app_conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
    for level in levels:
        assert app_conn.execute("SELECT coalesce(sum(n), 0) FROM core.density_counts "
                                "WHERE cell_m = %s", [level]).fetchone()[0] == public
        assert app_conn.execute("SELECT coalesce(sum(n), 0) FROM core.density_cells "
                                "WHERE cell_m = %s", [level]).fetchone()[0] == public
    assert app_conn.execute("SELECT coalesce(sum(n), 0) FROM core.area_counts AS c "
                            "JOIN core.areas AS a ON a.code = c.area_code "
                            "WHERE a.level = 'county'").fetchone()[0] == public


def test_a_changed_policy_reprojects_existing_public_reports(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    reports = [insert_report(app_conn, lon=WARSAW[0] + i * 0.01, lat=WARSAW[1], status="confirmed")
               for i in range(5)]
    try:
        assert apply_policy(app_conn, policy_with(cell_m=500)) is True
        for report in reports:
            assert_cell_centre(public_report(public_conn, report), true_xy(app_conn, report), 500)
        assert public_conn.execute("SELECT cell_m FROM open.privacy_policy").fetchone()[0] == 500
        _public_count_consistent(app_conn)
    finally:
        apply_policy(app_conn, load_policy(CONFIG_DIR / "privacy.yml"))
    for report in reports:
        assert_cell_centre(public_report(public_conn, report), true_xy(app_conn, report), 250)
    assert apply_policy(app_conn, load_policy(CONFIG_DIR / "privacy.yml")) is False


def test_marking_a_category_sensitive_reprojects_its_reports(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    occurred = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    reports = [insert_report(app_conn, lon=WARSAW[0] + i * 0.003, lat=WARSAW[1], status="confirmed",
                             occurred_at=occurred) for i in range(4)]
    other = insert_report(app_conn, category="illegal-dumping", status="confirmed")
    other_before = public_report(public_conn, other)
    try:
        app_conn.execute("UPDATE core.categories SET sensitive = true WHERE id = 'vandalism'")
        for report in reports:
            public = public_report(public_conn, report)
            assert_cell_centre(public, true_xy(app_conn, report), 1000)
            assert (public["date_precision"], public["occurred_on"]) == ("month", date(2026, 2, 1))
        assert public_report(public_conn, other) == other_before
        _public_count_consistent(app_conn)
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = false WHERE id = 'vandalism'")
    for report in reports:
        public = public_report(public_conn, report)
        assert_cell_centre(public, true_xy(app_conn, report), 250)
        assert (public["date_precision"], public["occurred_on"]) == ("day", date(2026, 2, 10))
    _public_count_consistent(app_conn)


# ------------------------------------------------------------------ police statistics (issue 15)

def test_police_statistics_views_hide_small_counts_and_the_import_record(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    app_conn.execute("""
        INSERT INTO core.road_sections (source, road, km_from, km_to, period_from, period_to, incidents,
                                        deaths, injuries, geom, geom_4326, geom_3857)
        SELECT 'privacy-test', road, 0, 5, '2025-01-01', '2025-12-01', incidents, deaths, injuries,
               ST_Multi(ST_Transform(g, 2180)), ST_Multi(g), ST_Multi(ST_Transform(g, 3857))
        FROM (VALUES ('901', 2, 0, 2), ('902', 3, 1, 2), ('903', 20, 0, 5))
             AS v (road, incidents, deaths, injuries)
        CROSS JOIN (SELECT ST_GeomFromText('LINESTRING(20 52, 20.05 52)', 4326) AS g) AS line""")
    try:
        shown = public_conn.execute("SELECT road, incidents, deaths, injuries FROM open.road_sections "
                                    "WHERE road LIKE '90_' ORDER BY road").fetchall()
        assert shown == [("902", 3, None, None), ("903", 20, 0, 5)]
        for view in ("road_sections", "ogc_road_sections", "police_statistics", "ogc_police_statistics",
                     "area_comparison", "ogc_area_comparison", "statistic_kinds"):
            columns = {name for (name,) in public_conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'open' "
                "AND table_name = %s", [view])}
            assert columns and not columns & {"source", "import_id", "actor", "sha256", "file_name"}, view
        for table in ("road_sections", "statistic_imports", "area_population", "police_statistics"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                public_conn.execute(f"SELECT 1 FROM core.{table} LIMIT 1")
    finally:
        app_conn.execute("DELETE FROM core.road_sections WHERE source = 'privacy-test'")
