"""The one way the GraphQL door runs SQL: a pooled connection, a statement, dict rows."""

from typing import Any

from psycopg import AsyncConnection
from psycopg.abc import Query
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


async def fetch(pool: AsyncConnectionPool, query: Query, params: Any = None,
                prepare: bool | None = None) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return await fetch_on(conn, query, params, prepare)


async def fetch_on(conn: AsyncConnection, query: Query, params: Any = None,
                   prepare: bool | None = None) -> list[dict[str, Any]]:
    """`prepare=False` for statements whose best plan depends on the values: psycopg prepares a
    statement after its 5th run on a connection, and PostgreSQL may then settle on a generic plan."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params, prepare=prepare)
        return await cur.fetchall() if cur.description else []
