"""The tile cache follows the public layer over one LISTEN connection (store.notify's listener):
while that connection is away the cache is not trusted, and when it is back by itself the cache
starts empty, since changes may have gone by unheard."""

import asyncio
import time
from collections.abc import Callable

import httpx
import mercantile
import psycopg
import pytest

from store.locations import DatabaseUrls
from tests.support import WARSAW, decode_tile, insert_report, reports_in, running_app
from tiles.service import LISTENER_NAME

pytestmark = pytest.mark.usefixtures("clean_reports")
TILE = mercantile.tile(*WARSAW, 14)
PATH = f"/tiles/reports/{TILE.z}/{TILE.x}/{TILE.y}.mvt"


async def until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def listeners(urls: DatabaseUrls) -> set[int]:
    """The backends of tile listeners, by the application_name they connect with."""
    with psycopg.connect(urls.admin, autocommit=True) as admin:
        return {pid for pid, in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [LISTENER_NAME])}


def publish(conn: psycopg.Connection, n: int) -> None:
    for _ in range(n):
        insert_report(conn, published=True, status="confirmed")


async def reports_shown(http: httpx.AsyncClient) -> int:
    response = await http.get(PATH)
    assert response.status_code == 200, response.text
    return reports_in(decode_tile(response.content, TILE.z, TILE.x, TILE.y))


async def test_cache_is_not_trusted_while_the_listener_is_away_and_it_comes_back_by_itself(
        settings, urls: DatabaseUrls, app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    others = listeners(urls)   # other apps of this test session have tile listeners too
    async with running_app(settings) as (http, app):
        service = app.state.tile_service
        listener = service.listener
        assert listener is not None and listener.listening.is_set()
        assert await reports_shown(http) == 3
        renders = service.renders
        assert await reports_shown(http) == 3 and service.renders == renders, "not served from cache"
        assert len(service.cache) == 1

        # Away long enough to look at it: the listener's pause before reconnecting.
        listener.retry_s = (2.0, 2.0)
        connections = listener.connections
        ours = listeners(urls) - others
        assert len(ours) == 1, "the tile listener's backend was not found by its name"
        with psycopg.connect(urls.admin, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", [ours.pop()]).fetchone()[0]
        assert await until(lambda: not listener.listening.is_set(), 5), "the loss went unnoticed"

        # Away: each request is made in the database, and nothing is cached.
        assert await reports_shown(http) == 3
        assert await reports_shown(http) == 3
        assert service.renders == renders + 2, "a tile came from the cache while nobody listened"
        publish(app_conn, 1)   # its change note goes by unheard
        assert listener.connections == connections, "back too soon: the checks above saw nothing"

        # Back by itself: the cache starts empty (the missed note), then is used again.
        assert await until(listener.listening.is_set, 15), "the listener did not come back"
        assert listener.connections == connections + 1
        assert len(service.cache) == 0
        assert await reports_shown(http) == 4, "a tile from before the gap was served"
        assert await reports_shown(http) == 4
        assert service.renders == renders + 3, "the cache is not used again after the reconnect"
