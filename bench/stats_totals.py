"""`python -m bench.stats_totals`: what counting totals from the raw counts costs (issue 11,
point 9), against the old sums of suppressed cells, on a throwaway cluster whose core.area_counts
holds ~180,000 rows (every county and voivodeship, category, status and month at 35 %, 1-21
reports each: about 2 million counted reports), read as the public role.

Times are the best of 3 runs of each statement (ms), rows returned beside them."""

import os
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from gateway.settings import PROJECT_ROOT
from store.locations import ManagedDatabase
from store.setup import prepare_database

LOAD = """
INSERT INTO core.area_counts (area_code, category_id, status, month, n)
SELECT a.code, c.id, s.id, (date '2026-01-01' + make_interval(months => m))::date,
       1 + (random() * 20)::int
FROM core.areas AS a CROSS JOIN core.categories AS c CROSS JOIN core.statuses AS s
CROSS JOIN generate_series(0, 11) AS m
WHERE random() < 0.35
"""
STATEMENTS = [
    ("old stats per county (sum of suppressed cells)",
     "SELECT area_code, sum(count) FROM open.area_statistics WHERE level = 'county' GROUP BY 1"),
    ("new stats per county (report_count_sums)",
     "SELECT * FROM open.report_count_sums('county', ARRAY['area_code'])"),
    ("new stats per voivodeship x category, totals: true",
     "SELECT * FROM open.report_count_sums('voivodeship', ARRAY['area_code', 'category_id'], true)"),
    ("new stats overall",
     "SELECT * FROM open.report_count_sums('voivodeship', ARRAY[]::text[])"),
    ("old stats every dimension, voivodeship",
     "SELECT area_code, category_id, status, month, sum(count) FROM open.area_statistics "
     "WHERE level = 'voivodeship' GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 1, 4"),
    ("new stats every dimension, voivodeship",
     "SELECT * FROM open.report_count_sums('voivodeship', "
     "ARRAY['category_id', 'status', 'area_code', 'month'])"),
    ("OGC area-totals page (100, sorted by id)",
     "SELECT * FROM open.ogc_area_totals WHERE level = 'county' ORDER BY id LIMIT 100"),
    ("OGC area-totals count", "SELECT count(*) FROM open.ogc_area_totals"),
]


def best_ms(conn: psycopg.Connection, statement: str) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        rows = len(conn.execute(statement).fetchall())
        best = min(best, time.perf_counter() - start)
    return best * 1000, rows


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="threatmap-bench-stats-", dir=os.environ.get("THREATMAP_TEST_ROOT")))
    os.chmod(root, 0o755)
    managed = ManagedDatabase(root / "data", "bench_stats")
    urls = managed.start()
    try:
        prepare_database(urls, PROJECT_ROOT / "config")
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute(LOAD)
            conn.execute("ANALYZE core.area_counts")
            rows, reports = conn.execute("SELECT count(*), sum(n) FROM core.area_counts").fetchone()
        print(f"core.area_counts: {rows} rows, {reports} reports counted")
        with psycopg.connect(urls.public, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '60s'")
            for label, statement in STATEMENTS:
                ms, n = best_ms(conn, statement)
                print(f"{label:55s} {ms:8.0f} ms  {n:7d} rows")
    finally:
        managed.cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
