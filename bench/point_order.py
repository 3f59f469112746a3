"""`python -m bench.point_order PUBLIC_DATABASE_URL [--rounds 30]`: the OGC page of a small bbox
in the order of its points, read point by point (store/ogc_items.py KEPT_BY_POINT, the door's
statement since stop 27; issue 16, point 5), against the same box's page in id order from the
same texts (bench.kept_layout ALONE, the door's statement before), side by side in one run.

Each small viewport of the ogc suite, at limit 100 and 1000, on the first page and on the page at
offset 1000 (a client that pages on), runs the two statements alternately, `--rounds` times each
on one connection of the public role as the door sends them: the point order's prepared, the id
order's unprepared (planned for its box each time); printed: the median ms of each (the client's
clock), their ratio, the buffers of one EXPLAIN (ANALYZE, BUFFERS) of each, and the box's public
reports and points. Run it on databases of two sizes for what 5 x the data costs each order
(bench/RESULTS.md), and `statement point-by-point` for the first shape of KEPT_BY_POINT.
Both pages hold the same number of features; which ones differs (the order does)."""

import argparse

import psycopg
from psycopg import sql

from bench.kept_layout import ALONE, buffers, timed
from bench.ogc_items import SMALL
from store import ogc_items

BBOX = sql.SQL("ST_Intersects(geom, ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s, %(by1)s, 4326))")
IN_BOX = ("SELECT count(*), count(DISTINCT geom) FROM open.reports "
          "WHERE ST_Intersects(geom, ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s, %(by1)s, 4326))")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    statements = [ogc_items.features_statement(ogc_items.kept_statement(None)),
                  ogc_items.features_statement(sql.SQL(ALONE).format(where=BBOX))]
    with psycopg.connect(args.url, autocommit=True) as conn:
        print("| box | reports, points | limit | offset | point order ms | id order ms | point / id "
              "| buffers point, id |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, box in SMALL.items():
            box_params = dict(zip(("bx0", "by0", "bx1", "by1"), box, strict=True))
            reports, points = conn.execute(IN_BOX, box_params).fetchone()
            for limit, offset in ((100, 0), (1000, 0), (100, 1000)):
                params = box_params | {"limit": limit, "offset": offset}
                counts = [conn.execute(statement, params).fetchone()[0] for statement in statements]
                assert counts[0] == counts[1], (name, limit, offset, counts)
                ms = [0.0, 0.0]
                for _ in range(3):   # alternately, so that both see the same machine
                    for i, statement in enumerate(statements):
                        ms[i] += timed(conn, statement, args.rounds, params, prepare=i == 0) / 3
                print(f"| {name} | {reports:,}, {points:,} | {limit} | {offset} | {ms[0]:.2f} | "
                      f"{ms[1]:.2f} | {ms[0] / ms[1]:.2f} | "
                      f"{', '.join(str(buffers(conn, s, params)) for s in statements)} |", flush=True)


if __name__ == "__main__":
    main()
