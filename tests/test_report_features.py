"""The GeoJSON feature text kept for each public report in open.report_features (migration 0026,
store/sql/31_report_features.sql; issue 16 point 3): for every row of open.reports exactly the
text the OGC items fast path builds for it (ogc.provider's `_raw_statement`, which the kept path
of store/ogc_items.py replaces for the default form), after every path that writes the public
layer; and the fast path's page from it."""

import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ogc import bridge
from ogc.config import feature_providers, load_config
from ogc.provider import OpenLayerProvider
from store import ogc_items
from store.locations import DatabaseUrls
from tests.support import WARSAW, insert_report, insert_scattered_reports

PROJECT = Path(__file__).resolve().parent.parent
CATEGORIES = ["vandalism", "illegal-dumping", "homeless-person-in-need"]  # the last is sensitive
STATUSES = ["new", "under_verification", "confirmed", "not_confirmed", "confirmed_eliminated"]


@pytest.fixture(scope="module")
def provider(urls: DatabaseUrls) -> Iterator[OpenLayerProvider]:
    """The `reports` collection's provider as configured (only its statements are used here)."""
    database = bridge.PublicDatabase(pool=None, loop=None)  # type: ignore[arg-type]
    config = load_config(PROJECT / "pygeoapi-config.yml",
                         {"THREATMAP_OGC_URL": "http://127.0.0.1/ogc",
                          "THREATMAP_OPEN_DATABASE": database.key,
                          "THREATMAP_OGC_TEMPLATES": "unused", "THREATMAP_OGC_STATIC": "unused"})
    definition = feature_providers(config)["reports"]
    with psycopg.connect(urls.public) as conn:
        database.columns[definition["table"]] = dict(
            conn.execute(bridge.COLUMNS_SQL, {"relation": f"open.{definition['table']}"}).fetchall())
    bridge.register(database)
    try:
        yield OpenLayerProvider(definition)
    finally:
        bridge.unregister(database)


def built(provider: OpenLayerProvider, conn: psycopg.Connection) -> tuple[int, str]:
    """Every public report's feature as the provider builds it (all properties, CRS84), in id order."""
    where, _ = provider._where([], None, [], None)
    statement = provider._raw_statement(provider._selected([]), False, None, where, [])
    n, features = conn.execute(statement, {"limit": 10**9, "offset": 0}, prepare=False).fetchone()
    return n, features


def kept(conn: psycopg.Connection) -> tuple[int, str]:
    """The kept texts, in id order; a text kept for a report that is not public, or kept with
    another point than the report's, fails here (a missing one makes the count differ)."""
    n, features, strays = conn.execute("""
        SELECT count(*), coalesce(string_agg(f.feature, ',' ORDER BY f.id), ''),
               count(*) FILTER (WHERE r.id IS NULL OR NOT ST_Equals(r.geom, f.geom))
        FROM open.report_features AS f LEFT JOIN open.reports AS r ON r.id = f.id""").fetchone()
    assert strays == 0
    return n, features


def assert_kept(provider: OpenLayerProvider, conn: psycopg.Connection, at_least: int = 1) -> None:
    expected, actual = built(provider, conn), kept(conn)
    assert actual[0] >= at_least
    assert actual == expected


@pytest.fixture
def scattered(app_conn: psycopg.Connection, clean_reports: None) -> list[uuid.UUID]:
    """120 public reports around central Warsaw, random categories (one sensitive) and statuses."""
    return insert_scattered_reports(app_conn, random.Random(26), 120, dx=0.01, dy=0.006,
                                    categories=CATEGORIES, statuses=STATUSES,
                                    start=datetime(2026, 1, 1, 12, tzinfo=UTC))


def test_the_kept_text_is_the_built_one_after_every_write(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection, public_conn: psycopg.Connection,
        provider: OpenLayerProvider) -> None:
    assert_kept(provider, public_conn, 50)                                   # inserts
    waiting = [insert_report(app_conn, lon=WARSAW[0] + 0.001 * i, lat=WARSAW[1], published=False)
               for i in range(3)]
    app_conn.execute("UPDATE core.reports SET published_at = now() WHERE id = %s", [waiting[0]])
    app_conn.execute("UPDATE core.reports SET created_at = now() - interval '3 days', "
                     "occurred_at = now() - interval '4 days' WHERE id = ANY(%s)", [waiting[1:]])
    app_conn.execute("SELECT core.publish_due_reports()")                    # publication
    assert_kept(provider, public_conn, 81)
    changed = app_conn.execute("UPDATE core.reports SET status = 'under_verification' "
                               "WHERE id = ANY(%s) AND status = 'new'", [scattered[:40]]).rowcount
    assert changed > 0                                                       # a status change
    assert_kept(provider, public_conn)
    feature = "SELECT feature FROM open.report_features WHERE id = %s"
    before = public_conn.execute(feature, [scattered[50]]).fetchone()[0]
    app_conn.execute("UPDATE core.reports SET geom = ST_Translate(geom, 0.01, 0), status = 'confirmed' "
                     "WHERE id = %s", [scattered[50]])                      # moved
    assert public_conn.execute(feature, [scattered[50]]).fetchone()[0] != before
    assert_kept(provider, public_conn)
    closed = app_conn.execute("UPDATE core.reports SET closed_at = created_at + interval '1 day' "
                              "WHERE id = ANY(%s) AND status IN ('not_confirmed', "
                              "'confirmed_eliminated')", [scattered[40:80]]).rowcount
    assert closed > 0 and app_conn.execute("SELECT core.purge_contacts()").fetchone()[0] > 0
    assert_kept(provider, public_conn)                                       # retention
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = ANY(%s)", [scattered[10:20]])
    app_conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [scattered[30:40]])
    assert_kept(provider, public_conn, 50)                                   # unpublished, deleted
    app_conn.execute("UPDATE core.categories SET sensitive = NOT sensitive WHERE id = 'vandalism'")
    try:                                                                     # re-projected
        assert_kept(provider, public_conn)
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = NOT sensitive WHERE id = 'vandalism'")
    assert_kept(provider, public_conn)
    # stale texts and a stray one, which the full rebuild writes anew and drops
    app_conn.execute("UPDATE open.report_features SET feature = 'stale'")
    app_conn.execute("INSERT INTO open.report_features VALUES (gen_random_uuid(), "
                     "ST_SetSRID(ST_MakePoint(21, 52), 4326), 'stray')")
    stale = "SELECT count(*) FROM open.report_features WHERE feature IN ('stale', 'stray')"
    assert public_conn.execute(stale).fetchone()[0] >= 51
    app_conn.execute("SELECT core.rebuild_public_layer()")
    assert_kept(provider, public_conn, 50)


def test_a_category_renamed_renames_its_kept_features(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection, public_conn: psycopg.Connection,
        provider: OpenLayerProvider) -> None:
    name = app_conn.execute("SELECT name_en FROM core.categories WHERE id = 'vandalism'").fetchone()[0]
    app_conn.execute("UPDATE core.categories SET name_en = 'Vandalism <renamed>' WHERE id = 'vandalism'")
    try:
        assert public_conn.execute(
            "SELECT count(*) FROM open.reports AS r JOIN open.report_features AS f USING (id) "
            "WHERE r.category_id = 'vandalism' AND f.feature LIKE '%Vandalism <renamed>%'").fetchone()[0] > 0
        assert_kept(provider, public_conn)
    finally:
        app_conn.execute("UPDATE core.categories SET name_en = %s WHERE id = 'vandalism'", [name])
    assert_kept(provider, public_conn)


def test_a_truncate_of_the_public_layer_empties_the_kept_texts(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection) -> None:
    count = "SELECT count(*) FROM open.report_features"
    kept_before = app_conn.execute(count).fetchone()[0]
    assert kept_before >= 50
    with app_conn.transaction(force_rollback=True):
        app_conn.execute("TRUNCATE open.reports")
        assert app_conn.execute(count).fetchone()[0] == 0
    assert app_conn.execute(count).fetchone()[0] == kept_before


def test_the_kept_page_is_the_built_page(
        scattered: list[uuid.UUID], public_conn: psycopg.Connection, provider: OpenLayerProvider) -> None:
    """The fast path's statements give the provider's bytes for bboxes and open.reports' filters:
    a small bbox alone in the order of its points, point by point, the rest in id order."""
    rng = random.Random(2026)
    pages = by_point = 0
    for _ in range(80):
        w, s = WARSAW[0] + rng.uniform(-0.012, 0.008), WARSAW[1] + rng.uniform(-0.008, 0.004)
        bbox = rng.choice([[], [w, s, w + rng.uniform(0.001, 0.02), s + rng.uniform(0.001, 0.012)],
                           [w - 0.1, s - 0.1, w + 0.1, s + 0.1]])   # a city box: in id order
        properties = rng.sample([("status", rng.choice(STATUSES)), ("category_id", rng.choice(CATEGORIES)),
                                 ("cell_m", "250")], rng.randint(0, 2))
        assert all(name in ogc_items.KEPT_FILTERS for name, _ in properties)
        where, _ = provider._where(bbox, None, properties, None)
        params = provider._where_params(bbox, properties) | {"limit": rng.choice([1, 5, 7, 100]),
                                                            "offset": rng.choice([0, 0, 3, 11, 40])}
        alone = provider._by_point(bbox, None, properties, None)
        assert alone == (len(bbox) == 4 and bbox[2] - bbox[0] < 0.1 and not properties)
        # the door's kept statement and the provider's own, its ids first too where it takes them so
        keys_first = provider._keys_first(None, properties, None, [], alone)
        assert keys_first == (not alone)
        names = provider._selected([])
        statements = [ogc_items.kept_statement(None if alone else where),
                      provider._raw_statement(names, False, None, where, [], alone),
                      provider._raw_statement(names, False, None, where, [], alone, keys_first)]
        rows = [public_conn.cursor(binary=True).execute(ogc_items.features_statement(statement), params,
                                                        prepare=False).fetchone()
                for statement in statements]
        assert rows[0] == rows[1] == rows[2], (bbox, properties, params)
        pages += rows[0][0] > 0
        by_point += alone and rows[0][0] > 1
    assert pages > 30 and by_point > 3


def test_a_small_bbox_is_walked_point_by_point_each_report_once(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection, public_conn: psycopg.Connection,
        provider: OpenLayerProvider) -> None:
    """The pages of a small bbox, one after the other, hold each public report of the box once,
    in the order of their points (longitude, latitude) and then id, whatever the limit: with
    reports not public in the box, after a status change, a move out of the box and a deletion
    (the counts per cell the statement reads are kept with the reports)."""
    bbox = [WARSAW[0] - 0.008, WARSAW[1] - 0.005, WARSAW[0] + 0.008, WARSAW[1] + 0.005]
    assert provider._by_point(bbox, None, [], None)
    statement = ogc_items.features_statement(ogc_items.kept_statement(None))

    def walked(limit: int) -> list[str]:
        ids, offset = [], 0
        while True:
            n, features = public_conn.execute(statement, provider._where_params(bbox, []) | {
                "limit": limit, "offset": offset}, prepare=False).fetchone()
            page = json.loads(f"[{bytes(features).decode()}]")
            assert len(page) == n <= limit
            ids += [feature["id"] for feature in page]
            if n < limit:
                return ids
            offset += limit

    def expected() -> list[str]:
        return [str(row[0]) for row in public_conn.execute(
            "SELECT id FROM open.reports WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) "
            "ORDER BY ST_X(geom), ST_Y(geom), id", bbox)]

    insert_report(app_conn, lon=WARSAW[0], lat=WARSAW[1], published=False)   # not public
    assert app_conn.execute("UPDATE core.reports SET status = 'under_verification' "
                            "WHERE id = ANY(%s) AND status = 'new'", [scattered[:30]]).rowcount
    app_conn.execute("UPDATE core.reports SET geom = ST_Translate(geom, 0.05, 0) WHERE id = %s",
                     [scattered[10]])
    app_conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [scattered[11:14]])
    want = expected()
    points = public_conn.execute(
        "SELECT count(DISTINCT geom) FROM open.reports WHERE id = ANY(%s::uuid[])", [want]).fetchone()[0]
    assert len(want) > 40 and points < len(want) / 1.5   # reports share points: ties by id
    for limit in (1, 3, 7, 100):
        assert walked(limit) == want, limit


def test_a_city_box_page_can_take_its_ids_from_the_index_alone(
        scattered: list[uuid.UUID], app_conn: psycopg.Connection, provider: OpenLayerProvider) -> None:
    """A wide box's page (in id order) can test the box in open_reports_id_geom (migration 0030:
    the ids with their points) without reading the heap, on the door's kept path and on
    pygeoapi's (its ids first, `_rows`). PostgreSQL plans an index-only scan of an index
    whenever the index holds every column the scan reads; so, with the other ways to the id
    order taken away (the primary key dropped in a transaction rolled back, sequential and
    bitmap scans and sorts off), each plan is an index-only scan of that index, and each page
    is the one the planner's own choice gives."""
    bbox = [WARSAW[0] - 0.1, WARSAW[1] - 0.1, WARSAW[0] + 0.1, WARSAW[1] + 0.1]
    assert not provider._by_point(bbox, None, [], None) and provider._keys_first(None, [], None, [], False)
    where, _ = provider._where(bbox, None, [], None)
    statements = [ogc_items.features_statement(ogc_items.kept_statement(where)),
                  provider._raw_statement(provider._selected([]), False, None, where, [], False, True)]
    params = provider._where_params(bbox, []) | {"limit": 50, "offset": 10}
    chosen = [app_conn.execute(statement, params, prepare=False).fetchone() for statement in statements]
    with app_conn.transaction(force_rollback=True):
        app_conn.execute("ALTER TABLE open.reports DROP CONSTRAINT reports_pkey")
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            app_conn.execute(f"SET LOCAL {setting} = off")
        for statement, page in zip(statements, chosen, strict=True):
            plan = "\n".join(row[0] for row in app_conn.execute(
                sql.SQL("EXPLAIN ") + statement, params, prepare=False))
            assert "Index Only Scan using open_reports_id_geom on reports" in plan, plan
            assert "Sort" not in plan, plan
            assert app_conn.execute(statement, params, prepare=False).fetchone() == page
            assert page[0] == 50
    assert app_conn.execute("SELECT to_regclass('open.reports_pkey')").fetchone()[0]
