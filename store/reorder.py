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
the end, in publication order. This module restores the order of the whole table, in one of two ways:

- online, with pg_repack (the Debian package postgresql-15-repack; the client and the server's
  extension of the same version, a superuser): it copies the table in the order of its point
  into a new heap while a trigger logs every change made meanwhile, builds the indexes, replays
  the log by the table's key and swaps the two heaps in the catalogue. Readers and writers go on
  all the while; each of the two ACCESS EXCLUSIVE locks (to add the trigger, to swap) lasts
  moments. The table keeps its OID, its triggers, grants, views and settings (fillfactor).
  At 5,000,000 reports CLUSTER held open.reports for 83 s (bench/RESULTS.md);
- CLUSTER (a new heap written in the order of a B-tree on the point, every index rebuilt) under
  an ACCESS EXCLUSIVE lock, so the readers of that table wait while it runs. open.reports and
  open.report_features have no B-tree on the point: one is built for the CLUSTER in the same
  transaction and dropped again; core.report_cells' key begins with its point.

By default (AUTO) online where pg_repack can run, else CLUSTER. Either way a VACUUM (ANALYZE)
follows (a new heap has an empty visibility map, which index-only scans of the cells need); it
blocks no one.

Each table is reordered on its own, all or nothing: a failure (the lock not granted within
the lock timeout, because a long read or a writer holds the table) leaves that table and the
ones after it as they were. Nothing a reader sees changes: the same rows, in a different place
on disk (the public role cannot read ctid).
"""

import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

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


# How a table is rewritten (see the module's docstring).
AUTO, ONLINE, CLUSTER = "auto", "online", "cluster"
METHODS = (AUTO, ONLINE, CLUSTER)
REPACK = "pg_repack"
# libpq's environment variables for the keys of a connection string pg_repack is given through
# them (its --dbname does not read a URL).
LIBPQ_ENV = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
             "password": "PGPASSWORD", "passfile": "PGPASSFILE", "dbname": "PGDATABASE",
             "service": "PGSERVICE", "options": "PGOPTIONS", "application_name": "PGAPPNAME",
             "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE",
             "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
             "sslcrl": "PGSSLCRL", "requiressl": "PGREQUIRESSL", "gssencmode": "PGGSSENCMODE",
             "target_session_attrs": "PGTARGETSESSIONATTRS", "krbsrvname": "PGKRBSRVNAME"}


class ReorderLocked(RuntimeError):
    """The table's lock was not granted within the lock timeout: nothing was changed."""


class ReorderFailed(RuntimeError):
    """The table could not be rewritten (pg_repack said why): nothing was changed in it."""


class OnlineUnavailable(RuntimeError):
    """pg_repack cannot run here (the reason); CLUSTER still can."""


@dataclass(frozen=True)
class Repack:
    """The pg_repack client and the matching extension on the server."""
    binary: str
    version: str


VERSION_SQL = """
SELECT current_setting('server_version_num')::int / 10000,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       (SELECT default_version FROM pg_available_extensions WHERE name = 'pg_repack'),
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_repack')
"""


def repack_tool(conn: psycopg.Connection) -> Repack:
    """pg_repack if it can reorder this database's tables online, else OnlineUnavailable."""
    major, superuser, available, installed = conn.execute(VERSION_SQL).fetchone()
    binary = shutil.which(REPACK) or str(Path(f"/usr/lib/postgresql/{major}/bin/{REPACK}"))
    if not Path(binary).is_file():
        raise OnlineUnavailable(f"no {REPACK} program here (Debian: apt-get install "
                                f"postgresql-{major}-repack)")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             check=False).stdout.split()[-1:]
    if not version:
        raise OnlineUnavailable(f"{binary} --version said nothing")
    if available is None:
        raise OnlineUnavailable(f"the database server has no {REPACK} extension (Debian: "
                                f"postgresql-{major}-repack on the server)")
    if (installed or available) != version[0]:
        raise OnlineUnavailable(f"{binary} is {version[0]}, the server's extension "
                                f"{installed or available}: they must be the same version")
    if not superuser:
        raise OnlineUnavailable(f"{REPACK} needs a superuser, and this connection's user is not")
    return Repack(binary, version[0])


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
    # the ACCESS EXCLUSIVE lock: how long the table's readers waited (CLUSTER), or None
    # (online: two locks of moments)
    locked_s: float | None
    rewrite_s: float
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


def _relfilenode(conn: psycopg.Connection, table: Table) -> int:
    return conn.execute("SELECT pg_relation_filenode(%s::regclass)", [table.name]).fetchone()[0]


def _repack(conn: psycopg.Connection, url: str, table: Table, wait_s: int, repack: Repack
            ) -> str | None:
    """pg_repack of one table in the order of its point, without its ANALYZE (the VACUUM
    (ANALYZE) follows) and without cancelling anyone: when it cannot get a lock within the
    timeout it leaves the table as it was. Returns None when the table was rewritten, or what
    pg_repack said when it could not get a lock; ReorderFailed for anything else that left the
    table as it was."""
    settings = conninfo_to_dict(url)
    unknown = sorted(set(settings) - set(LIBPQ_ENV))
    if unknown:
        raise ReorderFailed(f"the database URL's {', '.join(unknown)} cannot be passed to {REPACK}")
    # what the URL names, over the environment's own PG* variables (as libpq reads the two)
    env = os.environ | {LIBPQ_ENV[key]: str(value) for key, value in settings.items()}
    before = _relfilenode(conn, table)
    done = subprocess.run(
        [repack.binary, f"--table={table.name}", f"--order-by={table.point}", "--no-kill-backend",
         f"--wait-timeout={wait_s}", "--no-analyze", "--elevel=WARNING"],
        env=env, capture_output=True, text=True, check=False)
    said = " ".join((done.stderr + done.stdout).split())
    if done.returncode != 0:
        raise ReorderFailed(f"{REPACK} failed on {table.name} ({said or done.returncode}); nothing "
                            "was changed in it")
    if _relfilenode(conn, table) != before:
        return None
    if "timed out" in said:   # its lock not granted within --wait-timeout (--no-kill-backend)
        return said
    raise ReorderFailed(f"{REPACK} left {table.name} as it was: {said or 'it said nothing'}")


def reorder(url: str, lock_timeout_s: float = 2.0, say: Say | None = None,
            tables: tuple[Table, ...] = TABLES, method: str = AUTO) -> list[Reordered]:
    """Rewrites each table in the spatial order (see the module's docstring), online or with
    CLUSTER. Raises ReorderLocked when a table's lock is not granted within lock_timeout_s
    (readers and the publication job wait at most that long behind the command's lock request),
    OnlineUnavailable when `method` is ONLINE and pg_repack cannot run."""
    say = say or (lambda _: None)
    done: list[Reordered] = []
    with psycopg.connect(url, autocommit=True) as conn:
        repack = None
        if method != CLUSTER:
            try:
                repack = repack_tool(conn)
            except OnlineUnavailable as why:
                if method == ONLINE:
                    raise
                say(f"CLUSTER, not online: {why}")
            else:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_repack")
        for table in tables:
            rows, megabytes = conn.execute(SIZE_SQL, {"table": table.name}).fetchone()
            before = locality(conn, table)
            counted = f"about {rows:,} rows" if rows >= 0 else "rows not counted yet (never analyzed)"
            say(f"{table.name}: {counted}, {megabytes:,.0f} MB; around sampled points {before}; "
                + ("rewriting in spatial order online (pg_repack: readers and writers go on)"
                   if repack else "rewriting in spatial order (its readers wait meanwhile)"))
            started = time.monotonic()
            locked_s: float | None = None
            if repack is not None:
                wait_s = max(1, math.ceil(lock_timeout_s))   # pg_repack waits whole seconds
                said = _repack(conn, url, table, wait_s, repack)
                if said is not None:
                    raise _locked(table, wait_s, done, said)
            else:
                try:
                    locked_s = _cluster(conn, table, lock_timeout_s)
                except psycopg.errors.LockNotAvailable as error:
                    raise _locked(table, lock_timeout_s, done,
                                  error.diag.message_primary or "") from error
            rewrite_s = time.monotonic() - started
            say(f"{table.name}: rewritten in {rewrite_s:.1f} s "
                + ("(online: readers held only for moments)" if locked_s is None
                   else "(readers waited up to this long)") + "; vacuuming")
            started = time.monotonic()
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(
                sql.Identifier(*table.name.split("."))))
            vacuum_s = time.monotonic() - started
            after = locality(conn, table)
            done.append(Reordered(table.name, rows, float(megabytes), before, after, locked_s,
                                  rewrite_s, vacuum_s))
            say(f"{table.name}: vacuumed and analyzed in {vacuum_s:.1f} s; around sampled "
                f"points now {after}")
    return done


def _locked(table: Table, lock_timeout_s: float, done: list[Reordered], said: str) -> ReorderLocked:
    return ReorderLocked(
        f"{table.name} is in use: its lock was not granted within {lock_timeout_s:g} s ({said}); "
        "nothing was changed in it"
        + (f" (already reordered: {', '.join(d.table for d in done)})" if done else "")
        + ". Try again when it is quieter, or with a longer --lock-timeout-s")
