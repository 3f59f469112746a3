"""`python -m bench.ogc_counts [--database-url URL] [--reports N] [--repeat N]`: numberMatched of
OGC items pages with no bbox (issue 16 review, polish16): what the count costs next to the page.

Not a suite of bench/RESULTS.md (no wrk): one client, N requests a case. For each case: the
items request through the app (limit 100, numberMatched on: the page and its count), the count's
own statement as the app now runs it, the planner's estimate that answered before (EXPLAIN), and
count(*) of the view (the naive exact count), each as the public role, median of N; and whether
the app's numberMatched equals count(*). Uses the managed benchmark cluster (bench/.work/data)
unless a database URL is given; the reading goes in bench/RESULTS.md by hand.
"""

import argparse
import statistics
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench.common import database, repeated_ms
from bench.ogc_items import our_server
from store import report_totals

TOTAL_VIEW = "SELECT features AS total FROM open.{}"
COUNT = "SELECT count(*) AS total FROM open.{} WHERE {}"
ESTIMATE = "EXPLAIN (FORMAT JSON) SELECT 1 FROM open.{} WHERE {}"


def _equal(properties: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The page's conditions (`datetime` as an open-ended range of occurred_on)."""
    where = " AND ".join([f"{name} = %s" if name != "datetime" else "occurred_on >= %s::date"
                          for name, _ in properties] or ["true"])
    return where, [value.split("/")[0] for _, value in properties]


# (name, collection, view, query parameters, the count's statement as the app runs it)
CASES: list[tuple[str, str, str, list[tuple[str, str]], Callable[[], tuple[Any, Any]]]] = [
    ("reports, no filter", "reports", "ogc_reports", [],
     lambda: report_totals.ogc_count_statement([])),
    ("reports, category", "reports", "ogc_reports", [("category_id", "vandalism")],
     lambda: report_totals.ogc_count_statement([("category_id", "vandalism")])),
    ("reports, category+status", "reports", "ogc_reports", [("category_id", "vandalism"), ("status", "new")],
     lambda: report_totals.ogc_count_statement([("category_id", "vandalism"), ("status", "new")])),
    ("reports, datetime 2026-01-01/..", "reports", "ogc_reports", [("datetime", "2026-01-01/..")],
     lambda: report_totals.ogc_count_statement([], (date(2026, 1, 1), None))),
    ("density, no filter", "report-density", "ogc_report_density", [],
     lambda: (TOTAL_VIEW.format("ogc_report_density_total"), {})),
    ("density, category", "report-density", "ogc_report_density", [("category_id", "vandalism")],
     lambda: (COUNT.format("ogc_report_density", "category_id = %s"), ["vandalism"])),
    ("density, status", "report-density", "ogc_report_density", [("status", "confirmed")],
     lambda: (COUNT.format("ogc_report_density", "status = %s"), ["confirmed"])),
]


def median_ms(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, outcome = repeated_ms(work, repeat)
    return statistics.median(times), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with database(args.database_url, args.reports) as urls, \
            psycopg.connect(urls.public, autocommit=True) as conn, \
            our_server(urls.app) as base, httpx.Client(base_url=base, timeout=60) as client:
        print("case | app page of 100 with numberMatched | its count's statement | "
              "estimate before (EXPLAIN) | count(*) of the view | numberMatched = count(*)", flush=True)
        for name, collection, view, properties, statement in CASES:
            params = {"f": "json", "limit": 100, **dict(properties)}
            page_ms, response = median_ms(
                lambda c=collection, p=params: client.get(f"/ogc/collections/{c}/items", params=p),
                args.repeat)
            query, values = statement()
            count_ms, _ = median_ms(lambda q=query, v=values: conn.execute(q, v).fetchone(), args.repeat)
            where, plain = _equal(properties)
            estimate = sql.SQL(ESTIMATE.format(view, where))
            exact_count = sql.SQL(COUNT.format(view, where))
            estimate_ms, _ = median_ms(lambda q=estimate, v=plain: conn.execute(q, v).fetchone(), args.repeat)
            exact_ms, exact = median_ms(lambda q=exact_count, v=plain: conn.execute(q, v).fetchone()[0],
                                        max(1, args.repeat // 3))
            matched = response.json().get("numberMatched")
            print(f"{name} | {page_ms:.1f} ms | {count_ms:.2f} ms | {estimate_ms:.2f} ms | "
                  f"{exact_ms:.1f} ms | {matched} = {exact}: {matched == exact}", flush=True)

if __name__ == "__main__":
    main()
