"""The public place kept per report (core.report_places, store/sql/18_report_places.sql): always
what core.public_place computes now, so that the work list's projection of a report not yet
public (core.public_report_at at the kept place) is exactly core.public_report."""

import re
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from store.migrate import MIGRATIONS_DIR
from store.privacy import PrivacyPolicy, apply_policy, load_policy
from tests.support import CONFIG_DIR, WARSAW, insert_report

pytestmark = pytest.mark.usefixtures("clean_reports")

SENSITIVE = "minors-at-risk"
# Warsaw, a county border (Warsaw / Piaseczno), the Baltic off Gdańsk (a centre in no county).
PLACES = [WARSAW, (21.05, 52.10), (18.75, 54.50)]


def kept_is_current(conn: psycopg.Connection, reports: list[uuid.UUID]) -> None:
    """Each report has a kept place, equal to core.public_place, and its projection there is
    core.public_report's, column for column (geometries compared as their EWKB text)."""
    rows = conn.execute("""
        SELECT r.id, pl.report_id IS NOT NULL AS kept,
               pl::text AS kept_place, core.public_place(r)::text AS place,
               core.public_report_at(r, pl)::text AS at_kept, core.public_report(r)::text AS projected
        FROM core.reports AS r LEFT JOIN core.report_places AS pl ON pl.report_id = r.id
        WHERE r.id = ANY(%s)
    """, [reports]).fetchall()
    assert len(rows) == len(reports)
    for report, kept, kept_place, place, at_kept, projected in rows:
        assert kept, report
        assert kept_place == place
        assert at_kept == projected


def test_a_new_report_is_placed_as_the_projection_places_it(app_conn: psycopg.Connection) -> None:
    reports = [insert_report(app_conn, lon=lon, lat=lat, category=category)
               for lon, lat in PLACES for category in ("vandalism", SENSITIVE)]
    kept_is_current(app_conn, reports)
    counties = app_conn.execute("SELECT array_agg(DISTINCT county_code) FROM core.report_places "
                                "WHERE report_id = ANY(%s)", [reports]).fetchone()[0]
    assert None not in counties and len(counties) >= 2


def test_a_many_row_insert_is_placed_in_one_go(app_conn: psycopg.Connection) -> None:
    reports = [row[0] for row in app_conn.execute("""
        INSERT INTO core.reports (category_id, status, geom, occurred_at, created_at)
        SELECT CASE WHEN i %% 3 = 0 THEN %s ELSE 'vandalism' END, 'new',
               ST_SetSRID(ST_MakePoint(20.9 + (i %% 20) * 0.01, 52.1 + (i / 20) * 0.01), 4326),
               now() - interval '1 hour', now()
        FROM generate_series(0, 199) AS i
        RETURNING id
    """, [SENSITIVE]).fetchall()]
    kept_is_current(app_conn, reports)


def test_moving_or_recategorizing_a_report_moves_its_place(app_conn: psycopg.Connection) -> None:
    report = insert_report(app_conn)
    before = app_conn.execute("SELECT geom::text FROM core.report_places WHERE report_id = %s",
                              [report]).fetchone()[0]
    app_conn.execute("UPDATE core.reports SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) "
                     "WHERE id = %s", [*PLACES[2], report])
    kept_is_current(app_conn, [report])
    assert app_conn.execute("SELECT geom::text FROM core.report_places WHERE report_id = %s",
                            [report]).fetchone()[0] != before
    app_conn.execute("UPDATE core.reports SET category_id = %s WHERE id = %s", [SENSITIVE, report])
    kept_is_current(app_conn, [report])
    assert app_conn.execute("SELECT cell_m FROM core.report_places WHERE report_id = %s",
                            [report]).fetchone()[0] == 1000
    app_conn.execute("UPDATE core.reports SET category_id = 'vandalism' WHERE id = %s", [report])
    kept_is_current(app_conn, [report])
    app_conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])
    kept_is_current(app_conn, [report])   # published now: open.reports holds the same


def test_marking_a_category_sensitive_replaces_its_reports(app_conn: psycopg.Connection) -> None:
    occurred = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    reports = [insert_report(app_conn, lon=WARSAW[0] + i * 0.003, lat=WARSAW[1], occurred_at=occurred)
               for i in range(4)]
    reports.append(insert_report(app_conn, category="illegal-dumping"))
    try:
        app_conn.execute("UPDATE core.categories SET sensitive = true WHERE id = 'vandalism'")
        kept_is_current(app_conn, reports)
        assert app_conn.execute("SELECT array_agg(DISTINCT cell_m) FROM core.report_places "
                                "WHERE report_id = ANY(%s)", [reports[:4]]).fetchone()[0] == [1000]
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = false WHERE id = 'vandalism'")
    kept_is_current(app_conn, reports)


def test_a_changed_grid_replaces_every_report(app_conn: psycopg.Connection) -> None:
    reports = [insert_report(app_conn, lon=lon, lat=lat) for lon, lat in PLACES]
    try:
        raw = load_policy(CONFIG_DIR / "privacy.yml").model_dump()
        raw["grid"]["cell_m"] = 500
        assert apply_policy(app_conn, PrivacyPolicy.model_validate(raw))
        kept_is_current(app_conn, reports)
    finally:
        apply_policy(app_conn, load_policy(CONFIG_DIR / "privacy.yml"))
    kept_is_current(app_conn, reports)


def test_the_migration_s_backfill_places_as_the_projection_does(app_conn: psycopg.Connection) -> None:
    """Migration 0022 writes the functions out (a migration may not call store/sql): run its
    INSERT on reports without a place and compare."""
    reports = [insert_report(app_conn, lon=lon, lat=lat, category=category)
               for lon, lat in PLACES for category in ("vandalism", SENSITIVE)]
    text = next(MIGRATIONS_DIR.glob("0022_*.sql")).read_text()
    backfill = re.search(r"^INSERT INTO core\.report_places.*?;$", text, re.S | re.M)
    assert backfill is not None
    with app_conn.transaction():
        app_conn.execute("DELETE FROM core.report_places")
        app_conn.execute(backfill.group(0).rstrip(";"))
        kept_is_current(app_conn, reports)
