"""The one way the store's query modules run a statement on the asyncio pools: dict rows."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.abc import Query
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

Row = dict[str, Any]


async def fetch(pool: AsyncConnectionPool, query: Query, params: Any = None,
                prepare: bool | None = None) -> list[Row]:
    async with pool.connection() as conn:
        return await fetch_on(conn, query, params, prepare)


async def fetch_on(conn: AsyncConnection, query: Query, params: Any = None,
                   prepare: bool | None = None) -> list[Row]:
    """`prepare=False` for statements whose best plan depends on the values: psycopg prepares a
    statement after its 5th run on a connection, and PostgreSQL may then settle on a generic plan."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchall() if cur.description else []
