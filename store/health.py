"""The health probe's one statement: the public data version, through the public role."""

from psycopg_pool import AsyncConnectionPool

DATA_VERSION_SQL = "SELECT version FROM open.data_version"


async def data_version(pool: AsyncConnectionPool, timeout_s: float) -> int:
    """Waits at most timeout_s for a connection (psycopg_pool.PoolTimeout after)."""
    async with pool.connection(timeout=timeout_s) as conn:
        return (await (await conn.execute(DATA_VERSION_SQL)).fetchone())[0]
