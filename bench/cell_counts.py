"""`python -m bench.cell_counts DATABASE_URL`: what a public count costs counted over
open.reports (before issue 16.4) and from the counts kept per cell (store/report_cells.py), side
by side in one run with the page it goes with (the first page of 100, no total: the floor of
`reports(first: 100)`), for a few filters. Each statement runs on the public role, interleaved
(page, count over reports, count from cells) so that all three see the same load; 30 rounds
after 3 warm-up rounds; p50/p95 ms, and both counts must agree.
"""

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the project's packages

from store.locations import external_urls
from store.report_cells import count_statement
from store.reports import BBox, ReportFilter, public_conditions, public_page_statement

WARSAW = BBox(20.85, 52.10, 21.27, 52.37)
FILTERS = {
    "Warsaw bbox": ReportFilter(bbox=WARSAW),
    "Warsaw bbox, 2 categories": ReportFilter(bbox=WARSAW, categories=["vandalism", "speeding"]),
    "Warsaw bbox, last 90 days": ReportFilter(bbox=WARSAW, occurred_from=date.today() - timedelta(days=90)),
    "Warsaw county (area 1465)": ReportFilter(area_code="1465"),
    "all of Poland": ReportFilter(bbox=BBox(14.0, 49.0, 24.2, 54.9)),
}
ROUNDS, WARM = 30, 3


def over_reports(f: ReportFilter) -> tuple[sql.Composable, dict]:
    conditions, params = public_conditions(f)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return sql.SQL("SELECT count(*) FROM open.reports AS r WHERE {}").format(where), params


def timed(conn: psycopg.Connection, statement: tuple[sql.Composable, dict]) -> tuple[float, object]:
    start = time.perf_counter()
    row = conn.execute(statement[0], statement[1], prepare=False).fetchone()
    return (time.perf_counter() - start) * 1000, row[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="the threatmap database, owner role (threatmap_app)")
    args = parser.parse_args()
    public = external_urls(args.database_url, None).public
    with psycopg.connect(public, autocommit=True) as conn:
        total = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        cells = conn.execute("SELECT count(*) FROM open.report_cells").fetchone()[0]
        print(f"{total:,} public reports in {cells:,} cells")
        print("| filter | matches | page of 100 p50 / p95 ms | count over reports p50 / p95 ms "
              "| count from cells p50 / p95 ms |\n|---|---:|---:|---:|---:|")
        for name, f in FILTERS.items():
            page = public_page_statement(f, True, 101, None, False)
            statements = (page, over_reports(f), count_statement(f))
            times: list[list[float]] = [[], [], []]
            counts = set()
            for run in range(WARM + ROUNDS):
                for i, statement in enumerate(statements):
                    ms, value = timed(conn, statement)
                    if run >= WARM:
                        times[i].append(ms)
                    if i:
                        counts.add(value)
            assert len(counts) == 1, (name, counts)
            cols = [f"{statistics.median(t):.1f} / {statistics.quantiles(t, n=20)[18]:.1f}"
                    for t in times]
            print(f"| {name} | {counts.pop():,} | {' | '.join(cols)} |")


if __name__ == "__main__":
    main()
