"""`python -m bench.density_items [--database-url URL] [--repeat N]`: the OGC `report-density`
collection's pages (issue 16, dens16), through the app, next to the page statement as it was
before (ordered by the view's computed id), run as the public role.

Not a suite of bench/RESULTS.md (no wrk): one client, N requests a case, the median and the
slowest, and the status codes. Cases: the unfiltered page at offsets 0, 1,000, 10,000 and
100,000 (limit 10, pygeoapi's default), a city bbox (Gdańsk), a bbox around Poland, a property
filter (category_id), and one item by id. Uses the managed benchmark cluster (bench/.work/data)
unless a database URL is given; the reading goes in bench/RESULTS.md by hand.
"""

import argparse
import statistics

import httpx
import psycopg

from bench.common import database, timed_ms
from bench.ogc_items import our_server

BASE = "/ogc/collections/report-density/items?f=json"
CASES = {
    "unfiltered": "",
    "offset 1000": "&offset=1000",
    "offset 10000": "&offset=10000",
    "offset 100000": "&offset=100000",
    "bbox city": "&bbox=18.5,54.3,18.7,54.45",
    "bbox Poland": "&bbox=14,49,24.2,54.9",
    "category": "&category_id=vandalism",
}
# The page statement before dens16 (ogc/provider.py ordered by the computed id), as the public role:
# The view as it was (store/sql/70_ogc_views.sql before dens16), written out.
BEFORE = ("SELECT id, cell_m, cx, cy, category_id, status, month, count, ST_AsGeoJSON(geom, 7)::json "
          "FROM (SELECT concat_ws(':', cell_m, cx, cy, category_id, status, month) AS id, cell_m, cx, cy, "
          "category_id, status, month, count, geom FROM open.report_density) AS v "
          "WHERE {where} ORDER BY id LIMIT 10 OFFSET {offset}")
BEFORE_CASES = {
    "unfiltered": ("true", 0),
    "offset 10000": ("true", 10000),
    "bbox city": ("ST_Intersects(geom, ST_MakeEnvelope(18.5, 54.3, 18.7, 54.45, 4326))", 0),
    "category": ("category_id = 'vandalism'", 0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-before", action="store_true")
    args = parser.parse_args()
    with database(args.database_url, args.reports) as urls:
        if not args.skip_before:
            with psycopg.connect(urls.public, autocommit=True) as conn:
                for case, (where, offset) in BEFORE_CASES.items():
                    times, outcomes = [], []
                    for _ in range(max(1, args.repeat // 2)):
                        def run(statement: str = BEFORE.format(where=where, offset=offset)) -> str:
                            try:
                                conn.execute(statement).fetchall()
                                return "ok"
                            except psycopg.errors.QueryCanceled:
                                return "timeout"
                        ms, outcome = timed_ms(run)
                        times.append(ms)
                        outcomes.append(outcome)
                    print(f"before (SQL, public role) | {case} | median {statistics.median(times):.0f} ms | "
                          f"max {max(times):.0f} ms | {','.join(sorted(set(outcomes)))}", flush=True)
        with our_server(urls.app) as base, httpx.Client(base_url=base, timeout=60) as client:
            first = client.get(BASE).json()["features"][0]["id"]
            cases = CASES | {"by id": None}
            for case, query in cases.items():
                path = (f"/ogc/collections/report-density/items/{first}?f=json" if query is None
                        else BASE + query)
                client.get(path)  # warm
                times, statuses, matched = [], set(), None
                for _ in range(args.repeat):
                    ms, response = timed_ms(lambda path=path: client.get(path))
                    times.append(ms)
                    statuses.add(response.status_code)
                    if response.status_code == 200 and query is not None:
                        matched = response.json().get("numberMatched")
                print(f"after (app) | {case} | median {statistics.median(times):.0f} ms | "
                      f"max {max(times):.0f} ms | {sorted(statuses)} | numberMatched {matched}", flush=True)


if __name__ == "__main__":
    main()
