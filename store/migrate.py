"""Ordered SQL migrations, each applied once in its own transaction and recorded.

A tiny runner on purpose: the migrations are plain SQL files (store/migrations/NNNN_name.sql),
and the well-kept runners we looked at (yoyo, alembic) either want Python migration modules or
their own URL parsing, which does not take our socket URLs; this one is 60 lines.
An advisory lock makes concurrent starts (several gateway replicas) safe.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LOCK_ID = 0x7468726D  # "thrm"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS public.threatmap_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: datetime | None


def available(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        migrations.append(Migration(version, name, path))
    return migrations


def _ensure_table(conn: psycopg.Connection) -> None:
    # Checked first: CREATE ... IF NOT EXISTS needs CREATE on public even when the table exists.
    if conn.execute("SELECT to_regclass('public.threatmap_migrations')").fetchone()[0] is None:
        conn.execute(CREATE_TABLE)


def status(url: str) -> list[MigrationState]:
    with psycopg.connect(url, autocommit=True) as conn:
        _ensure_table(conn)
        applied = dict(conn.execute("SELECT version, applied_at FROM public.threatmap_migrations"))
    return [MigrationState(m, applied.get(m.version)) for m in available()]


def migrate(url: str) -> list[Migration]:
    """Applies the pending migrations in order; returns those it applied."""
    done: list[Migration] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
        try:
            _ensure_table(conn)
            applied = {row[0] for row in conn.execute(
                "SELECT version FROM public.threatmap_migrations")}
            for migration in available():
                if migration.version in applied:
                    continue
                with conn.transaction():
                    conn.execute(migration.path.read_text())
                    conn.execute("RESET ROLE")
                    conn.execute(
                        "INSERT INTO public.threatmap_migrations (version, name) VALUES (%s, %s)",
                        [migration.version, migration.name])
                done.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])
    return done
