"""`python -m bench.kept_layout DATABASE_URL [--rounds 30]`: where the kept GeoJSON texts of the
OGC items fast path should live (issue 16, points 3 and 5; migration 0026), side by side in one
run: in a table of their own, open.report_features, read alone by its point (ALONE: the door's
page of a bbox alone until it came in point order, store/ogc_items.py KEPT_BY_POINT) or joined
to the page's ids from open.reports (a page with other filters, KEPT_JOINED), against inline, a
column of open.reports (the first shape of 0026). All three in id order.

The inline layout is built here, in a transaction rolled back at the end: a copy of open.reports
with each row's kept text, in the same spatial order, with its key and GiST index (a table, not
a temporary one: a temporary table's pages go through the session's 8 MB of temp_buffers). Each
box of the ogc suite (six city boxes, six small viewports) at limit 100 and 1000 runs the three
pages alternately, `--rounds` times each (the second is store.ogc_items' own statement);
printed: the median ms of each (the client's clock, a prepared statement), their ratios to
inline, and the buffers of one EXPLAIN (ANALYZE, BUFFERS). Then what the width costs the readers
that scan the table: a count of every row by status on each layout.
DATABASE_URL: the owner role (threatmap_app) or a superuser; nothing is kept."""

import argparse
import statistics
import time

import psycopg
from psycopg import sql

from bench.ogc_items import BOXES, bbox_text
from store import ogc_items

Statement = sql.Composable | str

# a bbox's page in id order from open.report_features alone, by its point
ALONE = """
SELECT count(*) AS n, coalesce(string_agg(page.feature, ',' ORDER BY page.id), '') AS features
FROM (SELECT id, feature FROM open.report_features WHERE {where} ORDER BY id
      LIMIT %(limit)s OFFSET %(offset)s) AS page"""
# ALONE's page on the copy with the texts inline
INLINE = """
SELECT count(*), coalesce(string_agg(page.feature, ',' ORDER BY page.id), '')
FROM (SELECT id, feature FROM reports_inline WHERE {where} ORDER BY id
      LIMIT %(limit)s OFFSET %(offset)s) AS page"""
SCAN = "SELECT status, count(*) FROM {table} GROUP BY status"

INLINE_COPY = """
CREATE TABLE public.reports_inline WITH (fillfactor = 90) AS
SELECT r.*, f.feature FROM open.reports AS r JOIN open.report_features AS f USING (id)
ORDER BY r.geom, r.id"""


def timed(conn: psycopg.Connection, statement: Statement, rounds: int, params: dict | None = None,
          prepare: bool = True) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        conn.execute(statement, params, prepare=prepare).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def buffers(conn: psycopg.Connection, statement: Statement, params: dict | None = None) -> int:
    explain = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}").format(
        sql.SQL(statement) if isinstance(statement, str) else statement)
    plan = conn.execute(explain, params).fetchone()[0][0]["Plan"]
    return sum(plan.get(f"{kind} {what} Blocks", 0)
               for kind in ("Shared", "Local") for what in ("Hit", "Read"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    with psycopg.connect(args.url) as conn:
        conn.execute(INLINE_COPY)
        conn.execute("ALTER TABLE reports_inline ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ON reports_inline USING gist (geom)")
        conn.execute("ANALYZE reports_inline")
        print("| box | limit | alone ms | joined ms | inline ms | alone / inline | joined / inline "
              "| buffers alone, joined, inline |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for kind, boxes in BOXES.items():
            for limit in (100, 1000):
                for name, box in boxes.items():
                    where = sql.SQL("geom && ST_MakeEnvelope({}, 4326)").format(sql.SQL(bbox_text(box)))
                    statements = [sql.SQL(ALONE).format(where=where), ogc_items.kept_statement(where),
                                  sql.SQL(INLINE).format(where=where)]
                    params = {"limit": limit, "offset": 0}
                    pages = [conn.execute(statement, params).fetchone() for statement in statements]
                    assert pages[0] == pages[1] == pages[2], name
                    ms = [0.0, 0.0, 0.0]
                    for _ in range(3):   # alternately, so that all see the same machine
                        for i, statement in enumerate(statements):
                            ms[i] += timed(conn, statement, args.rounds, params) / 3
                    print(f"| {kind}: {name} | {limit} | {ms[0]:.2f} | {ms[1]:.2f} | {ms[2]:.2f} | "
                          f"{ms[0] / ms[2]:.2f} | {ms[1] / ms[2]:.2f} | "
                          f"{', '.join(str(buffers(conn, s, params)) for s in statements)} |", flush=True)
        for table in ("open.reports", "reports_inline"):
            statement = SCAN.format(table=table)
            print(f"{table}: {pg_size(conn, table)}, every row counted by status "
                  f"{timed(conn, statement, 5):.0f} ms (median of 5), {buffers(conn, statement)} buffers")
        conn.rollback()


def pg_size(conn: psycopg.Connection, table: str) -> str:
    return conn.execute("SELECT pg_size_pretty(pg_relation_size(%s::regclass))", [table]).fetchone()[0]


if __name__ == "__main__":
    main()
