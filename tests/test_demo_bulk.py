"""The bulk demo loader (store/demo_bulk.py) against the row-by-row definitions it replaces:
the public rows are core.public_report's, the aggregates and the tile pyramid
core.rebuild_public_layer's, every history chain verifies, and the same seed gives the same
reports. Each database is its own, in the session's cluster."""

from collections.abc import Callable, Iterator

import psycopg
import pytest

from store import audit
from store.locations import DatabaseUrls, ManagedDatabase, create_database, managed_urls
from store.setup import prepare_database
from tests.support import CONFIG_DIR, bulk_loaded_database, rows_as_text

REPORTS = 3000
AGGREGATES = ("core.density_counts", "core.area_counts", "core.tile_density", "core.tile_areas")
# kept from open.reports by its statement triggers, which the bulk load defers and rebuilds once
# (the feature texts: written by theirs during the load), and the place of every report, which
# core.reports' triggers keep (off for the load: written set-based)
KEPT = ("core.report_cells", "core.report_totals", "core.report_squares",
        "core.report_square_months", "open.report_features", "core.report_places")


@pytest.fixture
def bulk_db(managed_db: ManagedDatabase, drop_db: Callable[[str], None]) -> Iterator[DatabaseUrls]:
    with bulk_loaded_database(managed_db.cluster, drop_db, "demo_bulk", REPORTS) as urls:
        yield urls


def _rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5").fetchall()


def _cells(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT cell_m, cx, cy, n, ST_AsEWKB(geom), ST_AsEWKB(centre_3857) "
                        "FROM core.density_cells ORDER BY 1, 2, 3").fetchall()


def test_the_bulk_load_is_what_the_row_by_row_definitions_give(bulk_db: DatabaseUrls) -> None:
    with psycopg.connect(bulk_db.app) as conn:
        assert conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == REPORTS
        statuses = dict(conn.execute("SELECT status, count(*) FROM core.reports GROUP BY 1"))
        assert set(statuses) == {"new", "under_verification", "confirmed", "not_confirmed",
                                 "confirmed_eliminated", "confirmed_forwarded"}
        # every report in a county, with that county's unit, as the trigger and store/demo.py do
        assert conn.execute("SELECT count(*) FROM core.reports AS r WHERE r.county_code IS NULL "
                            "OR r.police_unit_id <> 'kpp-' || r.county_code OR NOT EXISTS ("
                            "SELECT FROM core.areas AS a WHERE a.code = r.county_code "
                            "AND ST_Intersects(a.geom, r.geom))").fetchone()[0] == 0
        # the derived times: read by everyone past the initial status, verified by a verdict
        assert conn.execute("""
            SELECT count(*) FROM core.reports AS r JOIN core.statuses AS s ON s.id = r.status
            JOIN core.categories AS c ON c.id = r.category_id
            WHERE (r.read_at IS NULL) <> s.is_initial OR (r.verified_at IS NULL) = s.is_verdict
               OR (r.closed_at IS NULL) = s.is_closed OR r.occurred_at > r.created_at
               OR (r.published_at IS NULL AND NOT s.is_initial AND NOT c.sensitive)""").fetchone()[0] == 0
        public = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        assert public > REPORTS // 2
        differing = conn.execute("""
            SELECT count(*) FROM core.reports AS r
            CROSS JOIN LATERAL core.public_report(r) AS p
            LEFT JOIN open.reports AS o ON o.id = r.id
            -- the feature text kept for the row (store/sql/31_report_features.sql)
            LEFT JOIN open.report_features AS f ON f.id = r.id
            WHERE core.is_public(r)
              AND (o.id IS NULL OR to_jsonb(o) IS DISTINCT FROM to_jsonb(p)
                   OR f.feature IS DISTINCT FROM core.report_feature(o)
                   OR NOT ST_Equals(f.geom, o.geom))""").fetchone()[0]
        assert differing == 0
        assert conn.execute("SELECT count(*) FROM open.report_features").fetchone()[0] == public
        assert audit.verify(conn).first_break is None

        loaded = {table: _rows(conn, table) for table in AGGREGATES}
        cells = _cells(conn)
        kept = {table: rows_as_text(conn, table) for table in KEPT}
        assert all(kept.values()), kept.keys()
        with conn.transaction():
            conn.execute("SET LOCAL threatmap.bulk = 'on'")
            assert conn.execute("SELECT core.rebuild_public_layer()").fetchone()[0] == public
        for table in AGGREGATES:
            assert _rows(conn, table) == loaded[table], table
        assert _cells(conn) == cells
        for table in KEPT:
            assert rows_as_text(conn, table) == kept[table], table
        # the secondary indexes dropped for the load are back
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname || '.' || tablename "
                            "IN ('core.reports', 'open.reports', 'core.report_events')"
                            ).fetchone()[0] >= 20


def test_the_same_seed_gives_the_same_reports(bulk_db: DatabaseUrls, managed_db: ManagedDatabase,
                                              drop_db: Callable[[str], None]) -> None:
    drop_db("demo_bulk_again")
    create_database(managed_db.cluster, "demo_bulk_again")
    again = managed_urls(managed_db.cluster, "demo_bulk_again")
    query = ("SELECT id, external_id, category_id, status, ST_AsText(geom), source, occurred_at, "
             "created_at FROM core.reports ORDER BY external_id")
    try:
        prepare_database(again, CONFIG_DIR, demo_on_first_start=REPORTS, demo_bulk=True)
        with psycopg.connect(bulk_db.app) as first, psycopg.connect(again.app) as second:
            rows = first.execute(query).fetchall()
            assert len(rows) == REPORTS
            assert [r[:6] for r in second.execute(query).fetchall()] == [r[:6] for r in rows]
    finally:
        drop_db("demo_bulk_again")
