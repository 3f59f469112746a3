"""The schema runner: migrations applied once and never changed after, the database code
(store/sql) re-applied whenever its text changes. Each test builds a database of its own in the
session's cluster, from copies of store/migrations and store/sql it may edit."""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from gateway.cli import main
from store.channels import REPORT_EVENTS
from store.cluster import SUPERUSER
from store.errors import StoreSetupError
from store.locations import DatabaseUrls, ManagedDatabase, create_database
from store.migrate import MIGRATIONS_DIR, SQL_DIR, sql_files, sql_status, status, upgrade


@dataclass
class Scratch:
    """An empty database and editable copies of the runner's two folders."""
    url: str
    migrations: Path
    sql: Path
    managed: ManagedDatabase
    dbname: str

    def upgrade(self):
        return upgrade(self.url, self.migrations, self.sql)

    def schema(self) -> list[str]:
        dump = subprocess.run(
            [self.managed.cluster.bindir / "pg_dump", "--schema-only",
             "--exclude-table=public.threatmap_*", self.url],
            capture_output=True, text=True, check=True).stdout
        # \restrict and \unrestrict carry a random key per dump.
        return [line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))]

    def function_source(self, name: str) -> str:
        with psycopg.connect(self.url) as conn:
            return conn.execute("SELECT prosrc FROM pg_proc WHERE oid = %s::regproc",
                                [name]).fetchone()[0]


@pytest.fixture
def scratch(managed_db: ManagedDatabase, tmp_path: Path, request: pytest.FixtureRequest,
            drop_db: Callable[[str], None]) -> Iterator[Scratch]:
    dbname = f"migrations_{request.node.name[:40]}"
    drop_db(dbname)
    create_database(managed_db.cluster, dbname)
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations")
    shutil.copytree(SQL_DIR, tmp_path / "sql")
    yield Scratch(managed_db.cluster.url(SUPERUSER, dbname), tmp_path / "migrations",
                  tmp_path / "sql", managed_db, dbname)
    drop_db(dbname)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_new_database_gets_every_migration_and_every_code_file(scratch: Scratch) -> None:
    done = scratch.upgrade()
    assert [m.path.name for m in done.migrations] == sorted(p.name for p in scratch.migrations.glob("*.sql"))
    assert [f.name for f in done.sql_files] == [f.name for f in sql_files(scratch.sql)]
    assert all(state.current for state in sql_status(scratch.url, scratch.sql))
    again = scratch.upgrade()
    assert again.migrations == [] and again.sql_files == []


def test_applying_the_code_twice_changes_nothing(scratch: Scratch) -> None:
    scratch.upgrade()
    before = scratch.schema()
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        conn.execute("DELETE FROM public.threatmap_sql_files")   # forget it was applied
    assert len(scratch.upgrade().sql_files) == len(sql_files(scratch.sql))
    assert scratch.schema() == before


def test_a_changed_code_file_is_reapplied_on_the_next_start(scratch: Scratch) -> None:
    scratch.upgrade()
    replace_in(scratch.sql / "20_projection.sql", "SELECT r.published_at IS NOT NULL AND NOT r.abusive",
               "SELECT r.published_at IS NOT NULL AND NOT r.abusive  -- changed")
    assert [s.file.name for s in sql_status(scratch.url, scratch.sql) if not s.current] == [
        "20_projection.sql"]
    done = scratch.upgrade()
    assert done.migrations == []
    assert [f.name for f in done.sql_files] == [f.name for f in sql_files(scratch.sql)]  # all, in order
    assert "-- changed" in scratch.function_source("core.is_public")
    assert scratch.upgrade().sql_files == []


def test_a_new_code_file_is_applied(scratch: Scratch) -> None:
    scratch.upgrade()
    (scratch.sql / "80_extra.sql").write_text(
        "SET LOCAL ROLE threatmap_app;\n"
        "CREATE OR REPLACE FUNCTION core.extra() RETURNS integer LANGUAGE sql AS $$ SELECT 42 $$;\n")
    assert "80_extra.sql" in [f.name for f in scratch.upgrade().sql_files]
    with psycopg.connect(scratch.url) as conn:
        assert conn.execute("SELECT core.extra()").fetchone()[0] == 42
        owner = conn.execute("SELECT proowner::regrole::text FROM pg_proc "
                             "WHERE oid = 'core.extra'::regproc").fetchone()[0]
    assert owner == "threatmap_app"


def test_a_new_migration_is_followed_by_the_code_even_unchanged(scratch: Scratch) -> None:
    """A migration may drop a view to change the table under it; the code brings it back."""
    scratch.upgrade()
    (scratch.migrations / "0099_drop_a_view.sql").write_text(
        "SET LOCAL ROLE threatmap_app;\nDROP VIEW open.ogc_categories;\n")
    done = scratch.upgrade()
    assert [m.name for m in done.migrations] == ["drop_a_view"]
    assert len(done.sql_files) == len(sql_files(scratch.sql))
    with psycopg.connect(scratch.url) as conn:
        assert conn.execute("SELECT to_regclass('open.ogc_categories')").fetchone()[0] is not None
        assert conn.execute("SELECT has_table_privilege('threatmap_public', 'open.ogc_categories', "
                            "'SELECT')").fetchone()[0]


def test_a_changed_applied_migration_is_refused_naming_the_file(scratch: Scratch) -> None:
    scratch.upgrade()
    replace_in(scratch.migrations / "0002_baseline.sql", "CREATE INDEX reports_status",
               "CREATE INDEX reports_status_renamed")
    with pytest.raises(StoreSetupError, match=r"store/migrations/0002_baseline\.sql has changed since "
                                              r"it was applied.*put the change in a new migration"):
        scratch.upgrade()
    assert [s.migration.name for s in status(scratch.url, scratch.migrations) if s.changed] == ["baseline"]


def test_a_failing_code_file_is_named_and_changes_nothing(scratch: Scratch) -> None:
    scratch.upgrade()
    replace_in(scratch.sql / "20_projection.sql", "SELECT r.published_at IS NOT NULL AND NOT r.abusive",
               "SELECT r.published_at IS NOT NULL AND NOT r.abusive  -- changed")
    (scratch.sql / "85_broken.sql").write_text("SET LOCAL ROLE threatmap_app;\nSELECT no_such_thing;\n")
    with pytest.raises(StoreSetupError, match=r"store/sql/85_broken\.sql failed.*no_such_thing"):
        scratch.upgrade()
    assert "-- changed" not in scratch.function_source("core.is_public")   # rolled back together


def test_a_database_built_by_only_some_squashed_migrations_is_refused(scratch: Scratch) -> None:
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.threatmap_migrations (version text PRIMARY KEY, "
                     "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO public.threatmap_migrations (version, name) "
                     "VALUES ('0002', 'core'), ('0003', 'open')")
    with pytest.raises(StoreSetupError, match=r"squashed into 0002_baseline.*missing: 0005_"):
        scratch.upgrade()


def test_db_status_lists_the_code_files_as_current(urls: DatabaseUrls, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", urls.app)
    main(["db", "status"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sql/")]
    assert [line.split(":")[0] for line in lines] == [f"sql/{f.name}" for f in sql_files()]
    assert not any("changed" in line for line in lines)


@pytest.mark.timeout(120)
def test_a_database_drops_while_the_session_apps_listeners_are_behind(
        client: httpx.AsyncClient, managed_db: ManagedDatabase, drop_db: Callable[[str], None]
        ) -> None:
    """A sync test that changes many reports leaves the session apps' LISTEN backends blocked
    writing notices their paused event loop does not read; DROP DATABASE still ends (it
    waits for every backend of the cluster, see the drop_db fixture)."""
    create_database(managed_db.cluster, "migrations_listeners_behind")
    # A real event (the `refreshed` a rebuild of open.reports sends, store/sql/45_report_events.sql,
    # which subscribers read by its kind), padded so that a few hundred notices fill the socket.
    event = json.dumps({"kind": "refreshed", "pad": "x" * 7000})
    with psycopg.connect(managed_db.urls.admin, autocommit=True) as conn:   # the apps' database
        def writing() -> int:
            return conn.execute("SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event = 'ClientWrite'").fetchone()[0]
        deadline = time.monotonic() + 60
        while not writing():   # notices until the listener's socket is full (a few 100 kB)
            assert time.monotonic() < deadline, "no backend got blocked writing to its client"
            for _ in range(50):
                conn.execute("SELECT pg_notify(%s, %s)", [REPORT_EVENTS, event])
            time.sleep(0.1)
    drop_db("migrations_listeners_behind")
    with psycopg.connect(managed_db.cluster.url(SUPERUSER, "postgres")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = "
                            "'migrations_listeners_behind'").fetchone()[0] == 0
