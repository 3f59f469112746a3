"""The public layer's heap in spatial order (`threatmap db reorder`; issue 16, point 5).

A small bbox or a map tile matches a few hundred public points that lie close together. When
open.reports and core.report_cells are in no spatial order (rows in the order they were
published), each match sits in a heap block of its own: 448 blocks for 450 matches at 1,000,000
reports, 2,188 for 2,224 at 5,000,000, and the bigger the table the fewer of those blocks stay in
shared_buffers. In spatial order the same matches fill a few dozen blocks.

The order is PostGIS's own sort order of geometries, the one `ORDER BY geom` and a B-tree on
a geometry column use: since PostGIS 3.0 the Hilbert curve of the (float) coordinates, with
sortsupport, so sorting millions of points costs about as much as sorting as many integers.
The bulk loader (store/demo_bulk.py) and the full rebuild (core.rebuild_public_layer,
core.rebuild_report_cells) write in this order; what is published afterwards is appended at
the end, in publication order. This module restores the order of the whole table: CLUSTER
(a new heap written in the order of a B-tree on the point, every index rebuilt) under an ACCESS
EXCLUSIVE lock, so the readers of that table wait while it runs, and after it a VACUUM (ANALYZE)
(CLUSTER leaves the visibility map empty, which index-only scans of the cells need) that blocks
no one. open.reports and open.report_features have no B-tree on the point: one is built for the
CLUSTER in the same transaction and dropped again; core.report_cells' key begins with its point.

Each table is reordered in a transaction of its own, all or nothing: a failure (the lock not
granted within lock_timeout, because a long read or a writer holds the table) leaves that
table and the ones after it as they were. Nothing a reader sees changes: the same rows, in a
different place on disk (the public role cannot read ctid).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

Say = Callable[[str], None]


@dataclass(frozen=True)
class Table:
    name: str          # schema.table
    point: str         # the column the order follows
    index: str | None  # a B-tree whose first column is the point, or None: one is made for it


TABLES = (
    Table("open.reports", "geom", None),
    Table("open.report_features", "geom", None),   # an OGC page's kept texts (migration 0026)
    Table("core.report_cells", "geom", "report_cells_key"),
)

# The B-tree made for the CLUSTER of a table without one, dropped in the same transaction.
TEMPORARY_INDEX = "{table}_reorder"


class ReorderLocked(RuntimeError):
    """The table's lock was not granted within the lock timeout: nothing was changed."""


SIZE_SQL = """
SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) / 1048576.0
FROM pg_class AS c WHERE c.oid = %(table)s::regclass
"""

# How well the heap follows the points: around up to 50 points sampled from as many heap blocks,
# a box of +-0.005 degrees (about 550 x 350 m in Poland), its matches and the distinct heap
# blocks they lie in. About 1 match a block is no order (each match costs a block read), tens are
# the spatial order. pg_stats' correlation cannot say it: PostGIS's ANALYZE of a geometry column
# keeps a spatial histogram, not the correlation.
LOCALITY_SQL = """
WITH probes AS (
    SELECT DISTINCT ON ((ctid::text::point)[0]) {point} AS p
    FROM {table} TABLESAMPLE SYSTEM (%(percent)s) REPEATABLE (16)
    ORDER BY (ctid::text::point)[0]
    LIMIT 50
)
SELECT coalesce(sum(m.n), 0), coalesce(sum(m.blocks), 0)
FROM probes
CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT (t.ctid::text::point)[0]) AS blocks
                    FROM {table} AS t WHERE t.{point} && ST_Expand(probes.p, 0.005)) AS m
"""


@dataclass(frozen=True)
class Locality:
    matches: int
    blocks: int

    def __str__(self) -> str:
        per_block = self.matches / self.blocks if self.blocks else 0.0
        return f"{per_block:.1f} matches a heap block ({self.matches:,} in {self.blocks:,})"


def locality(conn: psycopg.Connection, table: Table) -> Locality:
    """The heap blocks a small box's matches lie in, around sampled points (see LOCALITY_SQL)."""
    schema, name = table.name.split(".")
    pages = conn.execute("SELECT greatest(relpages, 1) FROM pg_class WHERE oid = %s::regclass",
                         [table.name]).fetchone()[0]
    statement = sql.SQL(LOCALITY_SQL).format(table=sql.Identifier(schema, name),
                                             point=sql.Identifier(table.point))
    matches, blocks = conn.execute(statement, {"percent": min(100.0, 100.0 * 200 / pages)}).fetchone()
    return Locality(int(matches), int(blocks))


@dataclass(frozen=True)
class Reordered:
    table: str
    rows: int
    megabytes: float
    before: Locality
    after: Locality
    locked_s: float       # the ACCESS EXCLUSIVE lock: how long the table's readers waited
    vacuum_s: float


def _cluster(conn: psycopg.Connection, table: Table, lock_timeout_s: float) -> float:
    """CLUSTER in one transaction; returns how long it held the ACCESS EXCLUSIVE lock."""
    schema, name = table.name.split(".")
    with conn.transaction():
        conn.execute("SELECT set_config('lock_timeout', %s, true), "
                     "set_config('maintenance_work_mem', '512MB', true)",
                     [f"{int(lock_timeout_s * 1000)}ms"])
        index = table.index
        if index is None:
            # SHARE lock: readers go on, writers wait until the commit
            index = TEMPORARY_INDEX.format(table=name)
            conn.execute(sql.SQL("CREATE INDEX {} ON {}.{} ({})").format(
                sql.Identifier(index), sql.Identifier(schema), sql.Identifier(name),
                sql.Identifier(table.point)))
        started = time.monotonic()
        conn.execute(sql.SQL("CLUSTER {}.{} USING {}").format(
            sql.Identifier(schema), sql.Identifier(name), sql.Identifier(index)))
        if table.index is None:
            conn.execute(sql.SQL("DROP INDEX {}.{}").format(sql.Identifier(schema),
                                                            sql.Identifier(index)))
    return time.monotonic() - started


def reorder(url: str, lock_timeout_s: float = 2.0, say: Say | None = None,
            tables: tuple[Table, ...] = TABLES) -> list[Reordered]:
    """Rewrites each table in the spatial order (see the module's docstring). Raises
    ReorderLocked when a table's lock is not granted within lock_timeout_s (readers and the
    publication job wait at most that long behind the command's lock request)."""
    say = say or (lambda _: None)
    done = []
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            rows, megabytes = conn.execute(SIZE_SQL, {"table": table.name}).fetchone()
            before = locality(conn, table)
            counted = f"about {rows:,} rows" if rows >= 0 else "rows not counted yet (never analyzed)"
            say(f"{table.name}: {counted}, {megabytes:,.0f} MB; around sampled points "
                f"{before}; rewriting in spatial order (its readers wait meanwhile)")
            try:
                locked_s = _cluster(conn, table, lock_timeout_s)
            except psycopg.errors.LockNotAvailable as error:
                raise ReorderLocked(
                    f"{table.name} is in use: its lock was not granted within {lock_timeout_s:g} s "
                    f"({error.diag.message_primary}); nothing was changed in it"
                    + (f" (already reordered: {', '.join(d.table for d in done)})" if done else "")
                    + ". Try again when it is quieter, or with a longer --lock-timeout-s") from error
            say(f"{table.name}: rewritten in {locked_s:.1f} s (readers waited up to this long); "
                "vacuuming")
            started = time.monotonic()
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(
                sql.Identifier(*table.name.split("."))))
            vacuum_s = time.monotonic() - started
            after = locality(conn, table)
            done.append(Reordered(table.name, rows, float(megabytes), before, after, locked_s,
                                  vacuum_s))
            say(f"{table.name}: vacuumed and analyzed in {vacuum_s:.1f} s; around sampled "
                f"points now {after}")
    return done

