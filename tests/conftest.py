"""Fixtures that start real things: one throwaway PostGIS cluster per test session, the app
over HTTP (ASGI, with its lifespan), and connections as the application and public roles."""

import asyncio
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import Settings
from store.locations import DatabaseUrls, ManagedDatabase, drop_database
from store.setup import prepare_database
from tests.support import CONFIG_DIR, PUBLISHED_KRAKOW, PUBLISHED_WARSAW, insert_report, running_app


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def managed_db() -> Iterator[ManagedDatabase]:
    # THREATMAP_TEST_ROOT: where the throwaway folder goes (default the system's temporary folder)
    root = Path(tempfile.mkdtemp(prefix="threatmap-test-", dir=os.environ.get("THREATMAP_TEST_ROOT")))
    os.chmod(root, 0o755)
    managed = ManagedDatabase(root / "data", "threatmap_test")
    # A run stopped by SIGTERM (a CI timeout, `timeout`) ends like Ctrl-C: pytest then runs the
    # finalizers, and the throwaway cluster does not outlive the run.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        managed.start()
        yield managed
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a second TERM must not cut the clean-up short
        managed.cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the session's async fixtures: the apps they start (`client`,
    `graphql_client`, ...) read their pools and LISTEN connections in it, and it runs only
    while an async test or fixture awaits."""
    return asyncio.get_running_loop()


@pytest.fixture(scope="session")
def drop_db(managed_db: ManagedDatabase, session_loop: asyncio.AbstractEventLoop
            ) -> Callable[[str], None]:
    """Drops a database of the session's cluster (if it exists) from sync code, with the
    session's event loop running meanwhile.

    Since PostgreSQL 15 DROP DATABASE waits until every backend of the cluster has absorbed a
    barrier (PROCSIGNAL_BARRIER_SMGRRELEASE), and a backend blocked sending notices to a client
    that does not read (wait event ClientWrite) absorbs none. The session's apps LISTEN, and
    their reader is `session_loop`, paused during sync tests: after a sync test that changes
    many reports (tests/test_report_cells.py) their backends' sockets are full and a plain drop
    waits forever (wait event ProcSignalBarrier), WITH (FORCE) or not, as that only ends the
    dropped database's own connections. So the drop runs in a thread while the loop goes on
    and its listeners read. For sync tests and fixtures only: in async code the loop already
    runs, and `await asyncio.to_thread(drop_database, ...)` does the same."""
    def drop(dbname: str) -> None:
        session_loop.run_until_complete(asyncio.to_thread(drop_database, managed_db.cluster, dbname))
    return drop


@pytest.fixture(scope="session")
def urls(managed_db: ManagedDatabase) -> DatabaseUrls:
    prepare_database(managed_db.urls, CONFIG_DIR)
    return managed_db.urls


@pytest.fixture(scope="session")
def settings(urls: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of an app that uses the test database as an external one (app role), with rate
    limits high enough for tests that submit and follow many reports (the defaults, one report
    per address a day, are tested in test_submission_limits.py); the test clients' host
    (http://testserver) is an allowed Host."""
    return Settings(database_url=urls.app, public_database_url=urls.public,
                    data_dir=tmp_path_factory.mktemp("unused-data-dir"), config_dir=CONFIG_DIR,
                    maintenance_interval_s=3600, submit_rate_limit="10000/hour",
                    # a test's sync statement must not wait long on a task its own paused
                    # event loop holds in a transaction (the loop runs only during async tests)
                    idle_in_transaction_timeout_s=10,
                    tracking_rate_limit="10000/minute", allowed_hosts=["testserver"],
                    photo_rate_limit="10000/hour",
                    downloads_enabled=False,   # tests/test_downloads.py writes its own
                    # The session's apps live through the whole run: a deliverer of theirs (no
                    # http:// targets, 30 s backoff) would take tests/test_webhooks.py's events.
                    webhook_delivery=False)



@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
def app_conn(urls: DatabaseUrls) -> Iterator[psycopg.Connection]:
    """A connection as the application role, autocommit: what it writes, the app sees."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        yield conn


@pytest.fixture
def public_conn(urls: DatabaseUrls) -> Iterator[psycopg.Connection]:
    with psycopg.connect(urls.public, autocommit=True) as conn:
        yield conn


@pytest.fixture
def clean_reports(urls: DatabaseUrls) -> Iterator[None]:
    """Removes every report after the test (the triggers empty the public layer with them)."""
    yield
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports")


# --- GraphQL (issue 4) -----------------------------------------------------------------------
@pytest.fixture(scope="session")
async def graphql_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a submitReport rate limit high enough not to get in the tests' way."""
    async with running_app(settings.model_copy(update={"submit_rate_limit": "10000/hour"})) as (http, _):
        yield http


# --- OGC API Features ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def published(urls: DatabaseUrls) -> Iterator[dict[str, uuid.UUID]]:
    """Five public reports in Kraków (one cell, so the density grid shows them) and one in
    Warsaw, each with a private description and contact."""
    occurred = datetime(2026, 3, 5, 14, 37, tzinfo=UTC)
    krakow, warsaw = PUBLISHED_KRAKOW, PUBLISHED_WARSAW
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = {f"krakow-{i}": insert_report(conn, lon=krakow[0] + i * 1e-5, lat=krakow[1],
                                            category="vandalism", occurred_at=occurred,
                                            created_at=occurred, published=True)
               for i in range(5)}
        ids["warsaw"] = insert_report(conn, lon=warsaw[0], lat=warsaw[1], category="vandalism",
                                      occurred_at=occurred, created_at=occurred, published=True)
    yield ids
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [list(ids.values())])
