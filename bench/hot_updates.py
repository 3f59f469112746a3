"""`python -m bench.hot_updates ADMIN_URL N`: whether status changes stay on their heap page
(issue 16, point 5; migration 0025). N public reports 'under_verification' -> 'confirmed', one
`UPDATE core.reports SET status` each (as bench/privacy_refresh.py's workload); printed: how many
of the resulting updates of open.reports and core.report_cells were HOT (pg_stat_user_tables'
n_tup_upd and n_tup_hot_upd) and how many public rows left their heap block. Changes the data:
run it on a copy.
"""

import argparse
import time

import psycopg

STATS = """SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
           WHERE relid IN ('open.reports'::regclass, 'core.report_cells'::regclass) ORDER BY 1"""
BLOCKS = "SELECT id, (ctid::text::point)[0] FROM open.reports WHERE id = ANY (%s)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the owner's URL (reads ctid and pg_stat_user_tables)")
    parser.add_argument("count", type=int)
    args = parser.parse_args(argv)
    with psycopg.connect(args.url, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM open.reports WHERE status = 'under_verification' "
            "ORDER BY md5(id::text) LIMIT %s", [args.count])]
        blocks = dict(conn.execute(BLOCKS, [ids]).fetchall())
        conn.execute("SELECT pg_stat_force_next_flush()")
        before = {r[0]: r[1:] for r in conn.execute(STATS)}
        started = time.monotonic()
        for report in ids:
            conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])
        took = time.monotonic() - started
        time.sleep(1.5)   # the counters of the session's last transaction
        conn.execute("SELECT pg_stat_force_next_flush()")
        after = {r[0]: r[1:] for r in conn.execute(STATS)}
        now = dict(conn.execute(BLOCKS, [ids]).fetchall())
        options = conn.execute("SELECT reloptions FROM pg_class "
                               "WHERE oid = 'open.reports'::regclass").fetchone()[0]
        left = sum(1 for report in ids if now.get(report) != blocks.get(report))
        print(f"{len(ids)} status changes in {took:.1f} s; open.reports options {options}; "
              f"rows that left their heap block {left}")
        for table, (updates, hot) in after.items():
            updates, hot = updates - before[table][0], hot - before[table][1]
            print(f"  {table}: {updates} updates, {hot} HOT ({100 * hot / updates if updates else 0:.0f} %)")


if __name__ == "__main__":
    main()
