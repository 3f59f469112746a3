"""`python -m bench.cell_counts DATABASE_URL`: what a public count costs counted over
open.reports (before issue 16.4), from the counts kept per cell (store/report_cells.py) and as
totalCount counts now (store/report_totals.py: the totals kept per area for no bbox or one around
every public point, else the squares (and their months, for a date range) for a bbox not small
without areas, else the cells), from the counts kept per coarse square alone
(store/report_squares.py, where they answer), side by side in one run with the page it goes
with (the
first page of 100, no total: the floor of `reports(first: 100)`), for small and big areas and
all of Poland, with and without filters. Each statement runs on the public role, interleaved
(page, count over reports, count from cells, count now) so that all see the same load; 30 rounds
after 3 warm-up rounds; p50/p95 ms, and every count must agree.

`--writes N` measures instead what keeping the squares' months costs a write: the withdrawal of
one public report (`UPDATE core.reports SET abusive = true`) and, where unpublished reports
are left, a publication (`SET published_at = now()`), each in a transaction rolled back, N
random reports, interleaved with the same write where core.add_to_report_square_months was
replaced by a no-op inside the same rolled-back transaction (the write as before migration 0024),
then the squares' and the months' upserts alone (one report's +1 each, rolled back, interleaved).
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

from bench.common import timed_ms
from store import report_cells, report_squares, report_totals
from store.locations import external_urls
from store.reports import BBox, ReportFilter, public_conditions, public_page_statement

WARSAW = BBox(20.85, 52.10, 21.27, 52.37)
KRAKOW = BBox(19.79, 49.97, 20.22, 50.13)
MASOVIA = BBox(19.25, 51.0, 23.15, 53.5)  # about the voivodeship's bbox: a big map viewport
POLAND = BBox(14.0, 49.0, 24.2, 54.9)
TWO = ["vandalism", "speeding"]
OPEN = ["new", "under_verification", "confirmed"]
LAST_30 = date.today() - timedelta(days=30)
LAST_90 = date.today() - timedelta(days=90)
LAST_365 = date.today() - timedelta(days=365)
# the last whole calendar month
MONTH_END = date.today().replace(day=1) - timedelta(days=1)
MONTH = (MONTH_END.replace(day=1), MONTH_END)
FILTERS = {
    "Warsaw bbox": ReportFilter(bbox=WARSAW),
    "Warsaw bbox, 2 categories": ReportFilter(bbox=WARSAW, categories=TWO),
    "Warsaw bbox, 3 statuses": ReportFilter(bbox=WARSAW, statuses=OPEN),
    "Warsaw bbox, last 30 days": ReportFilter(bbox=WARSAW, occurred_from=LAST_30),
    "Warsaw bbox, last 90 days": ReportFilter(bbox=WARSAW, occurred_from=LAST_90),
    "Warsaw bbox, last 365 days": ReportFilter(bbox=WARSAW, occurred_from=LAST_365),
    "Warsaw bbox, last month": ReportFilter(bbox=WARSAW, occurred_from=MONTH[0],
                                            occurred_to=MONTH[1]),
    "Warsaw bbox, 2 categories, last 90 days": ReportFilter(bbox=WARSAW, categories=TWO,
                                                            occurred_from=LAST_90),
    "Krakow bbox, last 30 days": ReportFilter(bbox=KRAKOW, occurred_from=LAST_30),
    "Krakow bbox, last 90 days": ReportFilter(bbox=KRAKOW, occurred_from=LAST_90),
    "Krakow bbox, last 365 days": ReportFilter(bbox=KRAKOW, occurred_from=LAST_365),
    "Krakow bbox, last month": ReportFilter(bbox=KRAKOW, occurred_from=MONTH[0],
                                            occurred_to=MONTH[1]),
    "Warsaw county (area 1465)": ReportFilter(area_code="1465"),
    "Masovia (area 14)": ReportFilter(area_code="14"),
    "Masovia, 2 categories, last 90 days": ReportFilter(area_code="14", categories=TWO,
                                                         occurred_from=LAST_90),
    "Masovia-sized bbox": ReportFilter(bbox=MASOVIA),
    "Masovia-sized bbox, 2 categories": ReportFilter(bbox=MASOVIA, categories=TWO),
    "Masovia-sized bbox, 3 statuses": ReportFilter(bbox=MASOVIA, statuses=OPEN),
    "Masovia-sized bbox, last 30 days": ReportFilter(bbox=MASOVIA, occurred_from=LAST_30),
    "Masovia-sized bbox, last 90 days": ReportFilter(bbox=MASOVIA, occurred_from=LAST_90),
    "Masovia-sized bbox, last 365 days": ReportFilter(bbox=MASOVIA, occurred_from=LAST_365),
    "Masovia-sized bbox, last month": ReportFilter(bbox=MASOVIA, occurred_from=MONTH[0],
                                                   occurred_to=MONTH[1]),
    "Masovia-sized bbox, 2025-03-10 to 2026-02-20": ReportFilter(
        bbox=MASOVIA, occurred_from=date(2025, 3, 10), occurred_to=date(2026, 2, 20)),
    # a filter and a month cut by the range: the 16 and 64 km month rows keep no (category,
    # status, day) groups, so the count splits them (edges16)
    "Masovia-sized bbox, 2 categories, 2025-03-10 to 2026-02-20": ReportFilter(
        bbox=MASOVIA, categories=TWO, occurred_from=date(2025, 3, 10),
        occurred_to=date(2026, 2, 20)),
    "Masovia-sized bbox, 3 statuses, 2025-03 to 2026-02 (whole months)": ReportFilter(
        bbox=MASOVIA, statuses=OPEN, occurred_from=date(2025, 3, 1),
        occurred_to=date(2026, 2, 28)),
    "no filter": None,
    "all of Poland (bbox)": ReportFilter(bbox=POLAND),
    "all of Poland, 2 categories": ReportFilter(bbox=POLAND, categories=TWO),
    "all of Poland, 3 statuses": ReportFilter(bbox=POLAND, statuses=OPEN),
    "all of Poland, last 90 days": ReportFilter(bbox=POLAND, occurred_from=LAST_90),
    "all of Poland, 2025-03-10 to 2026-02-20": ReportFilter(
        bbox=POLAND, occurred_from=date(2025, 3, 10), occurred_to=date(2026, 2, 20)),
    "all, 2 categories, 3 statuses, a year": ReportFilter(
        categories=TWO, statuses=OPEN, occurred_from=date(2025, 3, 10),
        occurred_to=date(2026, 3, 9)),
}
WARM = 3


def over_reports(f: ReportFilter | None) -> tuple[sql.Composable, dict]:
    conditions, params = public_conditions(f)
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return sql.SQL("SELECT count(*) FROM open.reports AS r WHERE {}").format(where), params


def timed(conn: psycopg.Connection, statement: tuple[sql.Composable, dict]) -> tuple[float, object]:
    """The statement's milliseconds and its one value."""
    return timed_ms(lambda: conn.execute(statement[0], statement[1], prepare=False).fetchone()[0])


NO_MONTHS = """CREATE OR REPLACE FUNCTION core.add_to_report_square_months(
    geoms geometry[], categories text[], statuses text[], days date[], deltas integer[])
RETURNS void LANGUAGE sql AS $$ SELECT $$"""
WRITES = {
    "withdrawal": ("SELECT id FROM open.reports ORDER BY random() LIMIT %s",
                   "UPDATE core.reports SET abusive = true WHERE id = %s"),
    "publication": ("SELECT r.id FROM core.reports AS r WHERE r.published_at IS NULL "
                    "AND NOT r.abusive ORDER BY random() LIMIT %s",
                    "UPDATE core.reports SET published_at = now() WHERE id = %s"),
}


def writes(database_url: str, n: int) -> None:
    """p50/p95 of one write with and without the squares' months (see the module's doc)."""
    with psycopg.connect(database_url) as conn:
        print("| write | reports | without the months p50 / p95 ms | with them p50 / p95 ms |\n"
              "|---|---:|---:|---:|")
        for name, (pick, write) in WRITES.items():
            ids = [i for (i,) in conn.execute(pick, [n])]
            conn.rollback()
            times: dict[bool, list[float]] = {False: [], True: []}
            for report in ids:
                for months in (False, True):
                    if not months:
                        conn.execute(NO_MONTHS)
                    start = time.perf_counter()
                    conn.execute(write, [report])
                    times[months].append((time.perf_counter() - start) * 1000)
                    conn.rollback()
            if len(ids) < 2:
                print(f"| {name} | {len(ids)} | - | - |")
                continue
            cols = [f"{statistics.median(t):.1f} / {statistics.quantiles(t, n=20)[18]:.1f}"
                    for t in (times[False], times[True])]
            print(f"| {name} | {len(ids)} | {' | '.join(cols)} |")
        upserts(conn, n)


UPSERTS = {
    "squares": "SELECT core.add_to_report_squares(ARRAY[%s::geometry], ARRAY[%s], ARRAY[%s], "
               "ARRAY[1])",
    "months": "SELECT core.add_to_report_square_months(ARRAY[%s::geometry], ARRAY[%s], "
              "ARRAY[%s], ARRAY[%s::date], ARRAY[1])",
}


def upserts(conn: psycopg.Connection, n: int) -> None:
    """The squares' and the months' upsert alone, one random public report's +1 each, rolled
    back, interleaved: what the months add to a write without the rest of its noise."""
    rows = conn.execute("SELECT geom, category_id, status, occurred_on FROM open.reports "
                        "ORDER BY random() LIMIT %s", [n]).fetchall()
    conn.rollback()
    times: dict[str, list[float]] = {name: [] for name in UPSERTS}
    for geom, category, status, day in rows:
        for name, statement in UPSERTS.items():
            args = [geom, category, status] + ([day] if name == "months" else [])
            start = time.perf_counter()
            conn.execute(statement, args)
            times[name].append((time.perf_counter() - start) * 1000)
            conn.rollback()
    if len(rows) < 2:
        return
    print("\n| upsert alone | reports | p50 / p95 ms |\n|---|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {len(rows)} | {statistics.median(t):.1f} / "
              f"{statistics.quantiles(t, n=20)[18]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="the threatmap database, owner role (threatmap_app)")
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds a statement (30)")
    parser.add_argument("--only", help="only the filters whose name holds this text")
    parser.add_argument("--writes", type=int, metavar="N",
                        help="measure N withdrawals and publications instead (see above)")
    args = parser.parse_args()
    if args.writes:
        writes(args.database_url, args.writes)
        return
    rounds = args.rounds
    public = external_urls(args.database_url, None).public
    with psycopg.connect(public, autocommit=True) as conn:
        # the role's 5 s limit would stop the old sources' counts of all of Poland at 1,000,000
        conn.execute("SET statement_timeout = 0")
        total = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        cells = conn.execute("SELECT count(*) FROM open.report_cells").fetchone()[0]
        totals = conn.execute("SELECT count(*) FROM open.report_totals").fetchone()[0]
        print(f"{total:,} public reports in {cells:,} cells; {totals:,} rows of totals")
        print("| filter | matches | page of 100 p50 / p95 ms | count over reports p50 / p95 ms "
              "| count from cells p50 / p95 ms | count from squares p50 / p95 ms "
              "| count now (totals, squares or cells) p50 / p95 ms |\n"
              "|---|---:|---:|---:|---:|---:|---:|")
        for name, f in FILTERS.items():
            if args.only and args.only not in name:
                continue
            page = public_page_statement(f, True, 101, None, False)
            statements = (page, over_reports(f), report_cells.count_statement(f),
                          report_squares.count_statement(f) if report_squares.answers(f) else None,
                          report_totals.count_statement(f))
            times: list[list[float]] = [[], [], [], [], []]
            counts = set()
            for run in range(WARM + rounds):
                for i, statement in enumerate(statements):
                    if statement is None:
                        continue
                    ms, value = timed(conn, statement)
                    if run >= WARM:
                        times[i].append(ms)
                    if i:
                        counts.add(value)
            assert len(counts) == 1, (name, counts)
            cols = [f"{statistics.median(t):.1f} / {statistics.quantiles(t, n=20)[18]:.1f}"
                    if t else "-" for t in times]
            print(f"| {name} | {counts.pop():,} | {' | '.join(cols)} |")


if __name__ == "__main__":
    main()
