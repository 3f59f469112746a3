"""`python -m bench.ogc_dated_counts DATABASE_URL [--rounds N]`: numberMatched of OGC `reports`
with a bbox and a `datetime` (issue 16 review, mends16): before, the planner's estimate
(EXPLAIN, as ogc/provider.py `_matched` runs it; count(*) when the estimate is at most
EXACT_BELOW); now the squares' months (store.report_squares.ogc_count_statement). For four
boxes and four ranges ending on the last public day: count(*), the estimate and what
numberMatched said before, the squares' count (it must equal count(*)), and p50 ms of the
estimate, of count(*) and of the squares' count, alternating, N rounds after one warm-up, on
the public role. DATABASE_URL: the owner role (threatmap_app); nothing is written."""

import argparse
import json
from datetime import date, timedelta

import psycopg

from bench.common import percentile, timed_ms
from ogc.provider import EXACT_BELOW
from store import report_squares
from store.locations import external_urls

BOXES = {"Warsaw": [20.85, 52.10, 21.27, 52.37], "Krakow": [19.79, 49.97, 20.22, 50.13],
         "Masovia-sized": [19.25, 51.0, 23.15, 53.5], "Poland": [14.0, 49.0, 24.2, 54.9]}
WHERE = ("ST_Intersects(geom, ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)) "
         "AND occurred_on >= %(t0)s AND occurred_on <= %(t1)s")


def ranges(last: date) -> dict[str, tuple[date, date]]:
    return {"a day": (last, last), "a month": (last.replace(day=1), last),
            "90 days": (last - timedelta(days=89), last),
            "a year from the 10th": (date(last.year - 1, last.month, 10), last)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="the owner role (threatmap_app)")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with psycopg.connect(external_urls(args.database_url, None).public, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        last = conn.execute("SELECT max(occurred_on) FROM open.ogc_reports").fetchone()[0]
        print(f"EXACT_BELOW = {EXACT_BELOW}; last public day {last}\n"
              "| bbox | datetime | count(*) | estimate before | numberMatched before | now (squares) "
              "| estimate p50 ms | count(*) p50 ms | squares p50 / p95 ms |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for box_name, bbox in BOXES.items():
            for range_name, (first, end) in ranges(last).items():
                params = dict(zip(("west", "south", "east", "north"), bbox, strict=True))
                params |= {"t0": first, "t1": end}
                squares, squares_params = report_squares.ogc_count_statement(bbox, [], (first, end))
                statements = {"estimate": ("EXPLAIN (FORMAT JSON) SELECT 1 FROM open.ogc_reports "
                                           "WHERE " + WHERE, params),
                              "count": ("SELECT count(*) FROM open.ogc_reports WHERE " + WHERE, params),
                              "squares": (squares.as_string(conn), squares_params)}
                times: dict[str, list[float]] = {name: [] for name in statements}
                values = {}
                for run in range(1 + args.rounds):
                    for name, (query, values_) in statements.items():
                        ms, row = timed_ms(lambda q=query, v=values_:
                                           conn.execute(q, v, prepare=False).fetchone())
                        if run:
                            times[name].append(ms)
                        values[name] = row[0]
                plan = values["estimate"]
                estimate = int((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]["Plan Rows"])
                exact = values["count"]
                before = exact if estimate <= EXACT_BELOW else max(estimate, 101)
                assert values["squares"] == exact, (box_name, range_name, values["squares"], exact)
                p50 = {name: percentile(sorted(t), 50) for name, t in times.items()}
                print(f"| {box_name} | {range_name} | {exact:,} | {estimate:,} | {before:,} "
                      f"| {values['squares']:,} "
                      f"| {p50['estimate']:.1f} | {p50['count']:.1f} | {p50['squares']:.1f} / "
                      f"{percentile(sorted(times['squares']), 95):.1f} |", flush=True)


if __name__ == "__main__":
    main()
