"""Fixtures that start real things: one throwaway PostGIS cluster per test session, the app
over HTTP (ASGI, with its lifespan), and connections as the application and public roles."""

import contextlib
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import PROJECT_ROOT, Settings
from store.locations import DatabaseUrls, ManagedDatabase
from store.setup import prepare_database

CONFIG_DIR = PROJECT_ROOT / "config"
WARSAW = (21.012, 52.230)


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
def urls(managed_db: ManagedDatabase) -> DatabaseUrls:
    prepare_database(managed_db.urls, CONFIG_DIR)
    return managed_db.urls


@pytest.fixture(scope="session")
def settings(urls: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of an app that uses the test database as an external one (app role)."""
    return Settings(database_url=urls.app, public_database_url=urls.public,
                    data_dir=tmp_path_factory.mktemp("unused-data-dir"), config_dir=CONFIG_DIR,
                    maintenance_interval_s=3600)


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


def insert_report(conn: psycopg.Connection, *, lon: float = WARSAW[0], lat: float = WARSAW[1],
                  category: str = "vandalism", status: str = "under_verification",
                  occurred_at: datetime | None = None, created_at: datetime | None = None,
                  description: str | None = "a private description",
                  contact: str | None = "private@example.org", published: bool = False,
                  abusive: bool = False) -> uuid.UUID:
    """Writes one report straight into core, as the gateway would."""
    now = datetime.now(UTC)
    created_at = created_at or now
    occurred_at = occurred_at or created_at - timedelta(hours=1)
    row = conn.execute(
        """
        INSERT INTO core.reports (category_id, status, geom, occurred_at, created_at,
                                  description, contact, abusive, published_at)
        VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s, %s)
        RETURNING id
        """,
        [category, status, lon, lat, occurred_at, created_at, description, contact, abusive,
         now if published else None],
    ).fetchone()
    return row[0]


# --- GraphQL (issue 4) -----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def running_app(settings: Settings, peer: tuple[str, int] = ("127.0.0.1", 50000)
                      ) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app of its own (its own rate limiter) and a client whose socket peer is `peer`."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, app


@pytest.fixture(scope="session")
async def graphql_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a submitReport rate limit high enough not to get in the tests' way."""
    async with running_app(settings.model_copy(update={"submit_rate_limit": "10000/hour"})) as (http, _):
        yield http
