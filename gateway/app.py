"""The composition root: one Starlette application with every door mounted in it."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.graphql import graphql_app
from gateway.graphql.subscriptions import CHANNEL as REPORT_EVENTS
from gateway.health import health
from gateway.maintenance import privacy_jobs_forever
from gateway.settings import PROJECT_ROOT, Settings
from gateway.state import Runtime
from ogc.service import OgcService
from store.database import ManagedDatabase, external_urls
from store.notify import ChannelListener
from store.setup import prepare_database

log = logging.getLogger(__name__)


async def index(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "service": "threatmap",
        "description": "Public-safety threat map: citizen reports verified by the police, "
                       "published anonymized.",
        "links": {"health": f"{base}/health", "graphql": f"{base}/graphql"},
    })


def _pool(url: str, settings: Settings, name: str) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        url, name=name, min_size=1, max_size=settings.pool_max_size, open=False,
        check=AsyncConnectionPool.check_connection, reconnect_timeout=0,
        kwargs={"connect_timeout": 5, "application_name": f"threatmap-{name}"},
    )


def lifespan(settings: Settings, ogc: OgcService):
    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        managed = None
        if settings.database_url:
            urls = external_urls(settings.database_url, settings.public_database_url)
        else:
            managed = ManagedDatabase(settings.data_dir, settings.database_name)
            urls = await asyncio.to_thread(managed.start)
        try:
            await asyncio.to_thread(prepare_database, urls, settings.config_dir,
                                    settings.demo_on_first_start)
            runtime = Runtime(settings, urls, _pool(urls.app, settings, "app"),
                              _pool(urls.public, settings, "public"), managed,
                              # one LISTEN connection (public role) for every subscription
                              report_events=ChannelListener(urls.public, REPORT_EVENTS))
            await runtime.app_pool.open(wait=True, timeout=30)
            await runtime.public_pool.open(wait=True, timeout=30)
            await runtime.report_events.start()
            app.state.runtime = runtime
            await ogc.start(runtime.public_pool)
            jobs = asyncio.create_task(
                privacy_jobs_forever(runtime.app_pool, settings.maintenance_interval_s))
            try:
                yield
            finally:
                await ogc.stop()
                await runtime.report_events.stop()
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs
                await runtime.public_pool.close()
                await runtime.app_pool.close()
        finally:
            if managed:
                await asyncio.to_thread(managed.stop)

    return run


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    graphql = graphql_app(settings)
    ogc = OgcService(PROJECT_ROOT / "pygeoapi-config.yml", settings.base_url)
    return Starlette(
        routes=[
            Route("/", index),
            Route("/health", health),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/ogc", routes=ogc.routes()),
        ],
        lifespan=lifespan(settings, ogc),
    )
