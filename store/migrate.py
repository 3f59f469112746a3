"""Bringing the schema up to date: ordered migrations (data), then the current code (store/sql).

Two kinds of SQL file, as Flyway's versioned and repeatable migrations:
- store/migrations/NNNN_name.sql move data (tables, columns, indexes, constraints, roles). Each
  is applied once, in its own transaction, and recorded with its sha256; an applied migration
  that has changed since is refused at start, naming the file (a change goes in a new one).
- store/sql/NN_concern.sql hold the current text of every function, trigger and view, one file
  per concern, each idempotent (CREATE OR REPLACE). When any file's checksum differs from the
  one recorded, a file is new or gone, or a migration was applied, ALL files are re-applied in
  name order, in one transaction: replacing one object may need others of other files, and a
  migration may have dropped a view to change the table under it.
The directories are scanned: adding a file is all it takes. Migrations run first, so a migration
must not need store/sql (on a new database it does not exist yet): a function a table needs (in
a CHECK, a default, an index) belongs to the migrations, and a view in the way of a change of
its table is dropped by the migration (re-created by store/sql right after).

A tiny runner on purpose: the well-kept runners we looked at (yoyo, alembic) either want Python
migration modules or their own URL parsing, which does not take our socket URLs. An advisory
lock makes concurrent starts (several gateway replicas) safe.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg

from store.errors import StoreSetupError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQL_DIR = Path(__file__).parent / "sql"
LOCK_ID = 0x7468726D  # "thrm"

MIGRATIONS_TABLE = """
CREATE TABLE public.threatmap_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    checksum    text
)
"""
SQL_FILES_TABLE = """
CREATE TABLE public.threatmap_sql_files (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

# The migrations squashed into 0002_baseline (main at 774f736, before any deployment). A database
# they built has the baseline's schema (scripts/compare-schema.py shows it), so its records are
# rewritten as the baseline's and its code re-applied; one built by only some of them is refused.
BASELINE = "0002"
SQUASHED = {
    "0002": "core", "0003": "open", "0005": "rebuild_once_per_report",
    "0010": "open_hardening", "0011": "density_totals", "0012": "count_in_one_statement",
    "0020": "report_events_notify", "0021": "staff_report_indexes", "0030": "ogc_views",
    "0040": "tile_pyramid", "0041": "tile_change_regions", "0042": "pyramid_cheaper_per_report",
    "0043": "pyramid_room_for_updates", "0044": "area_tiles", "0060": "announce_in_id_order",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @cached_property
    def checksum(self) -> str:
        return _sha256(self.path)

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


@dataclass(frozen=True)
class SqlFile:
    name: str
    path: Path

    @cached_property
    def checksum(self) -> str:
        return _sha256(self.path)


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: datetime | None
    changed: bool = False  # applied, and the file differs from what was applied: start refused


@dataclass(frozen=True)
class SqlFileState:
    file: SqlFile
    applied_at: datetime | None
    current: bool  # the database holds this very text


@dataclass(frozen=True)
class Upgrade:
    migrations: list[Migration] = field(default_factory=list)
    sql_files: list[SqlFile] = field(default_factory=list)  # empty when the code was current


@dataclass(frozen=True)
class _Record:
    name: str
    checksum: str | None
    applied_at: datetime


def available(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        migrations.append(Migration(version, name, path))
    return migrations


def sql_files(folder: Path = SQL_DIR) -> list[SqlFile]:
    """The code files in application order (their names sort in it: 10_..., 20_...)."""
    return [SqlFile(path.name, path) for path in sorted(folder.glob("*.sql"))]


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is not None


def _ensure_tables(conn: psycopg.Connection) -> None:
    # Checked first: CREATE ... IF NOT EXISTS needs CREATE on public even when the table exists.
    if not _exists(conn, "public.threatmap_migrations"):
        conn.execute(MIGRATIONS_TABLE)
    elif conn.execute("SELECT NOT EXISTS (SELECT FROM pg_attribute WHERE attname = 'checksum' "
                      "AND attrelid = 'public.threatmap_migrations'::regclass)").fetchone()[0]:
        conn.execute("ALTER TABLE public.threatmap_migrations ADD COLUMN checksum text")
    if not _exists(conn, "public.threatmap_sql_files"):
        conn.execute(SQL_FILES_TABLE)


def _recorded(conn: psycopg.Connection, migrations: list[Migration]
              ) -> tuple[dict[str, _Record], bool]:
    """The applied migrations by version, with squashed ones read as the baseline; and whether
    they were squashed ones (their records still to be rewritten)."""
    if not _exists(conn, "public.threatmap_migrations"):
        return {}, False
    # to_jsonb: also reads a table made before the checksum column (status must not alter it).
    records = {version: _Record(name, checksum, at) for version, name, checksum, at in conn.execute(
        "SELECT version, name, to_jsonb(m)->>'checksum', applied_at FROM public.threatmap_migrations AS m")}
    squashed = {v for v, r in records.items() if SQUASHED.get(v) == r.name}
    if not squashed:
        return records, False
    if squashed != set(SQUASHED):
        missing = ", ".join(f"{v}_{SQUASHED[v]}" for v in sorted(set(SQUASHED) - squashed))
        raise StoreSetupError(
            f"This database was built by migrations that have since been squashed into "
            f"{BASELINE}_baseline, but not by all of them (missing: {missing}). Bring it up to "
            f"date with threatmap as of commit 774f736 first, or start from an empty database.")
    last = max(records[v].applied_at for v in squashed)
    for version in squashed:
        del records[version]
    baseline = next(m for m in migrations if m.version == BASELINE)
    records[BASELINE] = _Record(baseline.name, baseline.checksum, last)
    return records, True


def _is_changed(migration: Migration, record: _Record) -> bool:
    return record.name != migration.name or (
        record.checksum is not None and record.checksum != migration.checksum)


def status(url: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[MigrationState]:
    migrations = available(migrations_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        records, _ = _recorded(conn, migrations)
    return [MigrationState(m, records[m.version].applied_at if m.version in records else None,
                           m.version in records and _is_changed(m, records[m.version]))
            for m in migrations]


def sql_status(url: str, sql_dir: Path = SQL_DIR) -> list[SqlFileState]:
    with psycopg.connect(url, autocommit=True) as conn:
        recorded: dict[str, tuple[str, datetime]] = {}
        if _exists(conn, "public.threatmap_sql_files"):
            recorded = {name: (checksum, at) for name, checksum, at in conn.execute(
                "SELECT name, checksum, applied_at FROM public.threatmap_sql_files")}
    return [SqlFileState(f, recorded[f.name][1] if f.name in recorded else None,
                         f.name in recorded and recorded[f.name][0] == f.checksum)
            for f in sql_files(sql_dir)]


def _execute_file(conn: psycopg.Connection, path: Path) -> None:
    try:
        conn.execute(path.read_text())
        conn.execute("RESET ROLE")
    except psycopg.Error as error:
        raise StoreSetupError(f"Applying store/{path.parent.name}/{path.name} failed: {error}") from error


def _check_unchanged(migrations: list[Migration], records: dict[str, _Record]) -> None:
    for migration in migrations:
        record = records.get(migration.version)
        if record is not None and _is_changed(migration, record):
            raise StoreSetupError(
                f"store/migrations/{migration.path.name} has changed since it was applied to this "
                f"database (as {migration.version}_{record.name}, sha256 {record.checksum}; now "
                f"{migration.checksum}). An applied migration must stay as it was: restore it and "
                f"put the change in a new migration (or, for a function, trigger or view, in "
                f"store/sql/).")


def _record_squashed_as_baseline(conn: psycopg.Connection, migrations: list[Migration]) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM public.threatmap_migrations WHERE version = ANY(%s)",
                     [list(SQUASHED)])
        baseline = next(m for m in migrations if m.version == BASELINE)
        conn.execute("INSERT INTO public.threatmap_migrations (version, name, checksum) "
                     "VALUES (%s, %s, %s)", [baseline.version, baseline.name, baseline.checksum])
        conn.execute("GRANT SELECT ON public.threatmap_sql_files TO threatmap_app")
        conn.execute("DELETE FROM public.threatmap_sql_files")  # their code: re-applied below


def _apply_migrations(conn: psycopg.Connection, migrations: list[Migration],
                      records: dict[str, _Record]) -> list[Migration]:
    done: list[Migration] = []
    for migration in migrations:
        if migration.version in records:
            continue
        with conn.transaction():
            _execute_file(conn, migration.path)
            conn.execute(
                "INSERT INTO public.threatmap_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                [migration.version, migration.name, migration.checksum])
            # The code is re-applied after any migration, even when no file changed; forgetting
            # its record in the same transaction makes that hold should this run stop before.
            conn.execute("DELETE FROM public.threatmap_sql_files")
        done.append(migration)
    return done


def _apply_sql_files(conn: psycopg.Connection, files: list[SqlFile]) -> list[SqlFile]:
    recorded = dict(conn.execute("SELECT name, checksum FROM public.threatmap_sql_files").fetchall())
    if recorded == {f.name: f.checksum for f in files}:
        return []
    with conn.transaction():
        for sql_file in files:
            _execute_file(conn, sql_file.path)
        conn.execute("DELETE FROM public.threatmap_sql_files")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO public.threatmap_sql_files (name, checksum) VALUES (%s, %s)",
                            [(f.name, f.checksum) for f in files])
    return files


def upgrade(url: str, migrations_dir: Path = MIGRATIONS_DIR, sql_dir: Path = SQL_DIR) -> Upgrade:
    """Applies the pending migrations in order, then the code files if they are not current."""
    migrations = available(migrations_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
        try:
            _ensure_tables(conn)
            records, squashed = _recorded(conn, migrations)
            _check_unchanged(migrations, records)
            if squashed:
                _record_squashed_as_baseline(conn, migrations)
            _record_missing_checksums(conn, migrations, records)
            applied = _apply_migrations(conn, migrations, records)
            return Upgrade(applied, _apply_sql_files(conn, sql_files(sql_dir)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])


def _record_missing_checksums(conn: psycopg.Connection, migrations: list[Migration],
                              records: dict[str, _Record]) -> None:
    """Migrations applied before checksums were kept: their current text is taken as applied."""
    params: list[Any] = [(m.checksum, m.version) for m in migrations
                         if m.version in records and records[m.version].checksum is None]
    if params:
        with conn.cursor() as cur:
            cur.executemany("UPDATE public.threatmap_migrations SET checksum = %s WHERE version = %s",
                            params)


def migrate(url: str) -> list[Migration]:
    """upgrade(), returning the migrations it applied."""
    return upgrade(url).migrations
