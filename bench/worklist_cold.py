"""Two measurements of the work list's page statement (issue 16, point 4), for bench/RESULTS.md
(not a suite of `python -m bench`):

    python -m bench.worklist_cold [--reports 100000] [--database-url URL] [--trials 8] [--pages 30]

1. Kept places (cause 3): the pages of the suite (officer kwp-14, the Warsaw bbox, 100 rows,
   newest first, unprepared as store.staff sends it) walked on one warm connection, each page
   by the statement of store.staff and by the same statement projecting reports not yet public
   with core.public_report (before core.report_places), alternately.
2. Cold connections (cause 2): on each of --trials new connections of the application role, for
   each way (no warm-up, and each WARM_UPS entry), the warm-up's own time, then the first page's
   statement three times. Prints the medians.
"""

import argparse
import asyncio
import statistics
import time

import psycopg

from bench.common import database
from bench.graphql_pages import WARSAW_BBOX
from store import staff
from store.reports import BBox, ReportFilter
from store.staff import OfficerUnit, page_statement

UNIT = "kwp-14"

# Cheap statements that load what the page's planning and first execution need: the catalog
# entries of the tables, indexes and functions it touches, and the PL/pgSQL functions compiled.
WARM_UPS = {
    "catalog + functions": """
        SELECT core.public_report_at(r, pl), core.deadline_state(r.read_at, r.created_at, d.due_soon),
               core.officer_handles(NULL, ARRAY[]::text[], r.county_code, r.police_unit_id),
               o.id
        FROM core.reports AS r
        JOIN core.report_places AS pl ON pl.report_id = r.id
        LEFT JOIN open.reports AS o ON o.id = r.id
        CROSS JOIN core.workflow_deadlines AS d
        LIMIT 1""",
}


async def unit(conn: psycopg.AsyncConnection) -> OfficerUnit:
    row = await (await conn.execute(
        "SELECT id, level, area_code, core.unit_counties(id) FROM core.police_units WHERE id = %s",
        [UNIT])).fetchone()
    return OfficerUnit(*row)


async def trial(url: str, warm_up: str | None, officer: OfficerUnit) -> tuple[float, list[float]]:
    query, params = page_statement(ReportFilter(bbox=BBox(**WARSAW_BBOX)), officer, True, 101,
                                   None, False)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        if warm_up is not None:
            await (await conn.execute(warm_up)).fetchall()
        warm_s = time.perf_counter() - start
        pages = []
        for _ in range(3):
            start = time.perf_counter()
            await (await conn.execute(query, params, prepare=False)).fetchall()
            pages.append(time.perf_counter() - start)
        return warm_s, pages


KEPT = "WHEN pl.report_id IS NOT NULL"
COMPUTED = "WHEN false"   # the kept place never used: core.public_report for every unpublished row


async def kept_places(url: str, officer: OfficerUnit, pages: int) -> None:
    old_sql = staff.PAGE_SQL.replace(KEPT, COMPUTED)
    assert old_sql != staff.PAGE_SQL
    f = ReportFilter(bbox=BBox(**WARSAW_BBOX))
    times: dict[str, list[float]] = {"kept place": [], "computed (before)": []}
    unpublished: list[int] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        after = None
        for turn in range(pages + 2):          # the first two warm the connection up
            query, params = page_statement(f, officer, True, 100, after, False)
            staff.PAGE_SQL, kept_sql = old_sql, staff.PAGE_SQL
            try:
                old_query, _ = page_statement(f, officer, True, 100, after, False)
            finally:
                staff.PAGE_SQL = kept_sql
            results = {}
            ways = [("kept place", query), ("computed (before)", old_query)]
            for way, statement in (ways if turn % 2 == 0 else ways[::-1]):
                start = time.perf_counter()
                results[way] = (await (await conn.execute(statement, params, prepare=False)
                                       ).fetchone())[1]
                if turn >= 2:
                    times[way].append(time.perf_counter() - start)
            assert results["kept place"] == results["computed (before)"], f"page {turn} differs"
            rows = results["kept place"]
            ids = [row["id"] for row in rows]
            if turn >= 2:
                unpublished.append((await (await conn.execute(
                    "SELECT count(*) FROM unnest(%s::uuid[]) AS k(id) "
                    "WHERE NOT EXISTS (SELECT FROM open.reports AS o WHERE o.id = k.id)",
                    [ids])).fetchone())[0])
            if len(rows) < 100:
                break
            after = (rows[-1]["occurred_at"], rows[-1]["id"])
    for way, values in times.items():
        print(f"{way:18} page p50 {statistics.median(values) * 1000:6.1f} ms, "
              f"p95 {statistics.quantiles(values, n=20)[-1] * 1000:6.1f} ms, first page "
              f"{values[0] * 1000:6.1f} ms ({len(values)} pages, identical rows)")
    print(f"rows not yet public per page: median {statistics.median(unpublished)}, "
          f"first page {unpublished[0]}")


async def measure(url: str, trials: int, pages: int) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        officer = await unit(conn)
    await kept_places(url, officer, pages)
    ways: dict[str, str | None] = {"no warm-up": None} | dict(WARM_UPS)
    results: dict[str, list[tuple[float, list[float]]]] = {way: [] for way in ways}
    for _ in range(trials):   # interleaved, so that the load of the machine hits every way alike
        for way, warm_up in ways.items():
            results[way].append(await trial(url, warm_up, officer))
    for way, runs in results.items():
        def median_ms(values: list[float]) -> float:
            return statistics.median(values) * 1000
        print(f"{way:22} warm-up {median_ms([w for w, _ in runs]):6.1f} ms | page on the new "
              f"connection: 1st {median_ms([p[0] for _, p in runs]):6.1f}, "
              f"2nd {median_ms([p[1] for _, p in runs]):6.1f}, "
              f"3rd {median_ms([p[2] for _, p in runs]):6.1f} ms (medians of {trials})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--pages", type=int, default=30)
    args = parser.parse_args()
    with database(args.database_url, args.reports) as urls:
        asyncio.run(measure(urls.app, args.trials, args.pages))


if __name__ == "__main__":
    main()
