"""Against a real uvicorn: the subscription delivers an event caused by a mutation on another
connection, and a page of reports costs the same number of SQL statements whatever its size."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
import websockets

from gateway.app import create_app
from gateway.settings import Settings
from store.database import DatabaseUrls
from tests.conftest import WARSAW, insert_report, running_app
from tests.graphql_helpers import gql, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def live_url(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def wait_for_listener(urls: DatabaseUrls) -> None:
    async with await psycopg.AsyncConnection.connect(urls.admin, autocommit=True) as conn:
        for _ in range(100):
            cur = await conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                     "'threatmap-subscription' AND query LIKE 'LISTEN%%'")
            if (await cur.fetchone())[0]:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the subscription never listened")


async def next_message(ws: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


async def test_subscription_delivers_an_event_from_another_connection(
        live_url: str, settings: Settings, urls: DatabaseUrls, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn))
    other = str(insert_report(app_conn, category="poaching"))
    async with websockets.connect(f"ws://{live_url}/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await next_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": """
            subscription { reportEvents(filter: {categories: ["vandalism"]}) {
                kind reportId category status countyCode } }"""}}))
        await wait_for_listener(urls)
        officer = token(settings, "officer", "kpp-1405")
        async with httpx.AsyncClient(base_url=f"http://{live_url}") as http:
            for changed in (other, report):
                body = await gql(http, """mutation($id: ID!) { setReportStatus(id: $id,
                    status: "confirmed") { status } }""", {"id": changed}, officer)
                assert "errors" not in body, body
        message = await next_message(ws)
    assert message["type"] == "next", message
    assert message["payload"]["data"]["reportEvents"] == {
        "kind": "ADDED", "reportId": report, "category": "vandalism", "status": "confirmed",
        "countyCode": "1405"}
    assert "description" not in json.dumps(message)


class CountingPool:
    """Counts statements run through a pool's connections (instrumentation, not a stand-in)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    @contextlib.asynccontextmanager
    async def connection(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with self.pool.connection(*args, **kwargs) as conn:
            counter = self

            class Cursor:
                def __init__(self, cursor: Any) -> None:
                    self.cursor = cursor

                async def __aenter__(self) -> "Cursor":
                    await self.cursor.__aenter__()
                    return self

                async def __aexit__(self, *exc: Any) -> None:
                    await self.cursor.__aexit__(*exc)

                async def execute(self, *a: Any, **k: Any) -> Any:
                    counter.statements += 1
                    return await self.cursor.execute(*a, **k)

                def __getattr__(self, name: str) -> Any:
                    return getattr(self.cursor, name)

            class Connection:
                def cursor(self, *a: Any, **k: Any) -> Cursor:
                    return Cursor(conn.cursor(*a, **k))

                async def execute(self, *a: Any, **k: Any) -> Any:
                    counter.statements += 1
                    return await conn.execute(*a, **k)

                def __getattr__(self, name: str) -> Any:
                    return getattr(conn, name)

            yield Connection()


async def test_a_page_costs_a_constant_number_of_statements(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    for i in range(120):
        insert_report(app_conn, lon=WARSAW[0] + (i % 12) * 0.05, lat=WARSAW[1] + (i // 12) * 0.05,
                      category=("vandalism", "poaching", "speeding")[i % 3], published=True)
    query = """query($n: Int!) { reports(first: $n) { totalCount pageInfo { endCursor }
        edges { node { id category { id nameEn } areas { code name } policeUnit { id }
                       location { longitude latitude } } } } }"""
    async with running_app(settings) as (client, app):
        runtime = app.state.runtime
        counted = {}
        for size in (1, 10, 100):
            public, private = CountingPool(runtime.public_pool), CountingPool(runtime.app_pool)
            runtime.public_pool, runtime.app_pool = public, private
            try:
                body = await gql(client, query, {"n": size})
            finally:
                runtime.public_pool, runtime.app_pool = public.pool, private.pool
            assert "errors" not in body and len(body["data"]["reports"]["edges"]) == size
            counted[size] = (public.statements, private.statements)
    # The page, then one batch each for categories, areas and police units (none here).
    assert counted[1] == counted[10] == counted[100] == (3, 0), counted
