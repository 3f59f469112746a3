"""store.pool_check: the pools' checkout check sends nothing for a healthy idle connection and
still replaces one the server has dropped. Real PostgreSQL, real pools."""

import asyncio

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from store import pool_check
from store.locations import DatabaseUrls


def backend_queries(admin: psycopg.Connection, pid: int) -> str:
    return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


async def test_a_healthy_idle_connection_is_checked_without_a_round_trip(urls: DatabaseUrls) -> None:
    async with await psycopg.AsyncConnection.connect(urls.public) as conn:   # as the pools keep them
        await conn.execute("SELECT 'the last statement'")
        await conn.rollback()
        await pool_check.check_connection(conn)
        with psycopg.connect(urls.admin, autocommit=True) as admin:
            # pg_stat_activity shows a backend's last statement: the rollback, not the pool's empty query
            assert backend_queries(admin, conn.info.backend_pid) == "ROLLBACK"


async def test_a_dropped_connection_fails_the_check(urls: DatabaseUrls) -> None:
    async with await psycopg.AsyncConnection.connect(urls.public, autocommit=True) as conn:
        with psycopg.connect(urls.admin, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid]).fetchone()[0]
        await asyncio.sleep(0.2)   # the server's goodbye reaches the socket
        with pytest.raises(psycopg.OperationalError):
            await pool_check.check_connection(conn)


async def test_the_pool_replaces_a_dropped_connection_before_a_request_gets_it(urls: DatabaseUrls) -> None:
    async with AsyncConnectionPool(urls.public, min_size=1, max_size=1, check=pool_check.check_connection,
                                   open=False) as pool:
        await pool.open(wait=True)
        async with pool.connection() as conn:
            first = conn.info.backend_pid
        with psycopg.connect(urls.admin, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", [first]).fetchone()[0]
        await asyncio.sleep(0.2)
        async with pool.connection() as conn:
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
            assert conn.info.backend_pid != first
