"""Backup and restore with pg_dump / pg_restore (`threatmap db backup FILE`, `threatmap db restore
FILE`): one custom-format archive of the whole database (core, open, the migration ledger, the
PostGIS extension), restored into a new, empty database.

pg_dump holds what lives in the database, not what lives in the cluster: the two roles, their
settings (the public role's read-only default and statement timeout) and the database's own
privileges (CONNECT, TEMPORARY) are cluster or database properties. `restore` makes them again
before and after pg_restore, as migrations 0001 and 0004 made them, so that a restored database
has the same privacy boundary (the public role reads `open` only) as the one dumped.
"""

import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from store.cluster import find_bindir
from store.errors import StoreSetupError

# As store/migrations/0001_roles_and_schemas.sql: the roles are cluster-wide.
ROLES_SQL = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'threatmap_app') THEN
        CREATE ROLE threatmap_app LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'threatmap_public') THEN
        CREATE ROLE threatmap_public LOGIN NOINHERIT;
    END IF;
END $$;
ALTER ROLE threatmap_public SET default_transaction_read_only = on;
ALTER ROLE threatmap_public SET statement_timeout = '5s'
"""
# As 0001 and 0004: the privileges on the database itself, which pg_restore does not carry.
DATABASE_GRANTS_SQL = """
GRANT CONNECT ON DATABASE {db} TO threatmap_app, threatmap_public;
REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC;
GRANT TEMPORARY ON DATABASE {db} TO threatmap_app, CURRENT_USER
"""
IS_EMPTY_SQL = "SELECT NOT EXISTS (SELECT FROM pg_namespace WHERE nspname IN ('core', 'open'))"


def _tool(name: str) -> str:
    """pg_dump / pg_restore of the installed server (its version), else the one on PATH."""
    try:
        candidate = find_bindir() / name
        if candidate.exists():
            return str(candidate)
    except StoreSetupError:
        pass
    found = shutil.which(name)
    if not found:
        raise StoreSetupError(f"{name} was not found: install the PostgreSQL client "
                              "(on Debian: apt-get install postgresql-client)")
    return found


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StoreSetupError(f"{what} failed:\n{(result.stderr or result.stdout).strip()}")


def backup(admin_url: str, archive: Path) -> None:
    """The whole database into `archive` (pg_dump's custom format; pg_restore reads it)."""
    _run([_tool("pg_dump"), "--format=custom", "--file", str(archive), "--dbname", admin_url],
         "pg_dump")


def restore(admin_url: str, archive: Path) -> None:
    """`archive` into the database `admin_url` names, which must exist and hold no threatmap
    schema yet; as a role that may create roles and the PostGIS extension (a superuser)."""
    dbname = conninfo_to_dict(admin_url).get("dbname")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute(IS_EMPTY_SQL).fetchone()[0]:
            raise StoreSetupError(f"database {dbname!r} already holds threatmap's schemas: restore "
                                  "into a new, empty database (createdb), never over a live one")
        conn.execute(ROLES_SQL)
    _run([_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--dbname", admin_url,
          str(archive)], "pg_restore")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        current = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(sql.SQL(DATABASE_GRANTS_SQL).format(db=sql.Identifier(current)))
