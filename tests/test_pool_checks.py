"""The pools' check at checkout (gateway.maintenance.connection_alive): no round trip, yet a
connection the server has closed (a restart, a terminated backend) is never handed out."""

import asyncio

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.maintenance import connection_alive
from store.locations import DatabaseUrls


async def terminated(urls: DatabaseUrls, pid: int) -> None:
    """Ends a backend of the public role (a role may end its own backends)."""
    async with await psycopg.AsyncConnection.connect(urls.public, autocommit=True) as other:
        await other.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_a_connection_the_server_closed_fails_the_check(urls: DatabaseUrls) -> None:
    async with await psycopg.AsyncConnection.connect(urls.public, autocommit=True) as conn:
        await connection_alive(conn)
        await terminated(urls, conn.info.backend_pid)
        for _ in range(50):   # the server's goodbye reaches the socket a moment later
            try:
                await connection_alive(conn)
            except psycopg.OperationalError:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("a terminated connection passed the check")


async def test_the_pool_hands_out_a_live_connection_after_one_was_closed(urls: DatabaseUrls) -> None:
    async with AsyncConnectionPool(urls.public, min_size=1, max_size=1, check=connection_alive) as pool:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
        await terminated(urls, pid)
        await asyncio.sleep(0.2)
        async with pool.connection() as conn:
            assert (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0] != pid


async def test_a_healthy_idle_connection_is_checked_without_a_round_trip(urls: DatabaseUrls) -> None:
    async with await psycopg.AsyncConnection.connect(urls.public) as conn:   # as the pools keep them
        await conn.execute("SELECT 'the last statement'")
        await conn.rollback()
        await connection_alive(conn)
        with psycopg.connect(urls.admin, autocommit=True) as admin:
            # pg_stat_activity shows a backend's last statement: the rollback, not a check's query
            last = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                 [conn.info.backend_pid]).fetchone()[0]
            assert last == "ROLLBACK"
