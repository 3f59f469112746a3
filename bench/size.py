"""Suite `size` (issue 16, point 5): how big the benchmark database is, and where.

The database's size (pg_database_size), the rows of the main tables, and the twelve largest
relations with their indexes and TOAST (pg_total_relation_size). No load: run it next to the
latency suites to put their figures beside the size they were measured at.
"""

import psycopg

from bench.common import Context

DATABASE = "SELECT pg_database_size(current_database())"
ROWS = """
SELECT (SELECT count(*) FROM core.reports), (SELECT count(*) FROM open.reports),
       (SELECT count(*) FROM core.report_events), (SELECT count(*) FROM core.density_counts),
       (SELECT count(*) FROM core.tile_density)
"""
LARGEST = """
SELECT c.oid::regclass::text, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
       pg_indexes_size(c.oid)
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 2 DESC LIMIT 12
"""


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def run(ctx: Context) -> dict:
    with psycopg.connect(ctx.urls.admin) as conn:
        total = conn.execute(DATABASE).fetchone()[0]
        reports, public, events, density, pyramid = conn.execute(ROWS).fetchone()
        largest = conn.execute(LARGEST).fetchall()
    lines = [f"Database: {_mb(total)}; {reports:,} reports, {public:,} public, {events:,} events, "
             f"{density:,} density counts, {pyramid:,} pyramid cells.", "",
             "| relation | total | table | indexes |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {_mb(t)} | {_mb(h)} | {_mb(i)} |" for name, t, h, i in largest]
    ctx.say("\n".join(lines))
    return {"results": [], "lines": lines}
