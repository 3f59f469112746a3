"""Outage answers (issue 10, point 8): with the database down, every door answers within the
pool timeout (settings.pool_timeout_s), not after several of them, and tells the client when
to retry (Retry-After), as /health does. Real outage: the session's PostgreSQL is stopped."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from gateway.maintenance import POOL_CHECK_INTERVAL_S
from gateway.settings import Settings
from store.locations import ManagedDatabase
from tests.support import codes, eventually, running_app

POOL_TIMEOUT_S = 3.0
# A door waits for a connection once: its answer comes within the pool timeout and a little
# work. Two waits in a row (OGC items before the fix: the temporal extents, then the query)
# take twice the pool timeout.
WITHIN_S = POOL_TIMEOUT_S + 2.0
ITEM = uuid.uuid4()

# (door, method, path, body): each needs the database for its answer.
NEED_THE_DATABASE = [
    ("health", "GET", "/health", None),
    ("xyz tile", "GET", "/tiles/reports/10/572/338.mvt", None),
    ("OGC API tile", "GET", "/ogc/collections/reports/tiles/WebMercatorQuad/10/338/572", None),
    ("OGC items, JSON", "GET", "/ogc/collections/reports/items?f=json", None),
    ("OGC items, HTML", "GET", "/ogc/collections/reports/items?f=html", None),
    ("OGC items, CQL2", "GET", "/ogc/collections/reports/items?filter=status%3D%27confirmed%27", None),
    ("OGC item", "GET", f"/ogc/collections/reports/items/{ITEM}?f=json", None),
    ("OGC density items", "GET", "/ogc/collections/report-density/items?f=json", None),
]
GRAPHQL = {"query": "{ reports(first: 5) { totalCount edges { node { id status } } } }"}
# Doors that need no database answer as usual, at once.
NEED_NO_DATABASE = [("link list", "/api"), ("map page", "/"), ("TileJSON", "/tiles/reports.json"),
                    ("style", "/tiles/style.json")]


async def timed(http: httpx.AsyncClient, method: str, path: str, body: dict | None = None
                ) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await http.request(method, path, json=body)
    return response, time.monotonic() - started


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/health")).status_code == 200


@pytest.fixture
async def outage(settings: Settings, managed_db: ManagedDatabase):
    """An app with a short pool timeout, and the database stopped under it (started again after,
    and the app seen to recover)."""
    async with running_app(settings.model_copy(update={"pool_timeout_s": POOL_TIMEOUT_S})) as (http, _):
        assert await healthy(http)
        managed_db.cluster.stop()
        try:
            yield http
        finally:
            managed_db.cluster.start()
        assert await eventually(lambda: healthy(http), timeout=30), "the app did not recover"


async def test_every_door_answers_an_outage_within_the_pool_timeout_with_retry_after(
        outage: httpx.AsyncClient) -> None:
    slow, wrong = [], []
    for door, method, path, body in NEED_THE_DATABASE:
        response, took = await timed(outage, method, path, body)
        if took >= WITHIN_S:
            slow.append(f"{door}: {took:.1f} s")
        if response.status_code != 503 or response.headers.get("retry-after") != "5":
            wrong.append(f"{door}: {response.status_code} Retry-After={response.headers.get('retry-after')}")
    assert not wrong and not slow, (wrong, f"later than {WITHIN_S} s (pool timeout {POOL_TIMEOUT_S} s)",
                                     slow)


async def test_graphql_says_unavailable_within_the_pool_timeout_with_retry_after(
        outage: httpx.AsyncClient) -> None:
    # GraphQL over HTTP (application/json): the status stays 200, the error has the code.
    response, took = await timed(outage, "POST", "/graphql", GRAPHQL)
    assert response.status_code == 200
    assert codes(response.json()) and set(codes(response.json())) == {"UNAVAILABLE"}, response.text
    assert response.headers.get("retry-after") == "5"
    assert took < WITHIN_S, f"{took:.1f} s"


async def test_doors_that_need_no_database_answer_at_once_during_an_outage(
        outage: httpx.AsyncClient) -> None:
    for door, path in NEED_NO_DATABASE:
        response, took = await timed(outage, "GET", path)
        assert response.status_code == 200, door
        assert took < 1.0, f"{door}: {took:.1f} s"


async def test_ogc_collections_answer_within_the_pool_timeout_during_an_outage(
        outage: httpx.AsyncClient) -> None:
    # The collection's description is known without the database (its temporal extent as last
    # measured); it waits for the database once at most.
    for path in ("/ogc/collections?f=json", "/ogc/collections/reports?f=json"):
        response, took = await timed(outage, "GET", path)
        assert response.status_code == 200, (path, response.text[:300])
        assert took < WITHIN_S, f"{path}: {took:.1f} s"


# Long enough for psycopg_pool's default backoff (a try 1, 3, 7, 15, 31 s after the first
# failure) to leave its next try 10 s or more after the database is back.
LONG_OUTAGE_S = 20.0
# One background check of the pools (2 s), a try that failed as the server was starting (1 s)
# and the connection itself.
RECOVERS_WITHIN_S = POOL_CHECK_INTERVAL_S + 3.0


async def test_both_pools_are_back_within_seconds_of_the_end_of_a_long_outage(
        settings: Settings, managed_db: ManagedDatabase) -> None:
    """The first requests after an outage get answers, not UNAVAILABLE (as a test of the session's
    apps once did, 20 s after this file's outages had ended): the pools' reconnection attempts
    give up soon and the background check starts them afresh (gateway.maintenance)."""
    async with running_app(settings) as (http, app):
        assert await public_pool_answers(http) and await app_pool_answers(app)
        managed_db.cluster.stop()
        try:
            await asyncio.sleep(LONG_OUTAGE_S)
        finally:
            managed_db.cluster.start()
        back = time.monotonic()
        assert await eventually(lambda: public_pool_answers(http), timeout=30), "public pool"
        public_s = time.monotonic() - back
        assert await eventually(lambda: app_pool_answers(app), timeout=30), "app pool"
        app_s = time.monotonic() - back
    assert max(public_s, app_s) < RECOVERS_WITHIN_S, (
        f"the public pool answered {public_s:.1f} s, the app pool {app_s:.1f} s after the "
        f"database was back")


async def public_pool_answers(http: httpx.AsyncClient) -> bool:
    """A public GraphQL page (the public pool) with data and no error."""
    body = (await http.post("/graphql", json=GRAPHQL)).json()
    return bool(body.get("data")) and not body.get("errors")


async def app_pool_answers(app: Any) -> bool:
    """A statement through the application's pool, as its doors get connections."""
    try:
        async with app.state.runtime.app_pool.connection() as conn:
            await conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:   # PoolTimeout too
        return False
