"""The privacy jobs on the asyncio pool, as the server runs them periodically (the command
line runs the same functions through store.privacy)."""

from psycopg_pool import AsyncConnectionPool

PUBLISH_SQL = "SELECT core.publish_due_reports()"
PURGE_SQL = "SELECT core.purge_contacts()"


async def run_privacy_jobs(pool: AsyncConnectionPool) -> tuple[int, int]:
    """Publishes the reports due by the delay and erases contacts past retention, in one
    transaction; returns how many of each."""
    async with pool.connection() as conn, conn.transaction():
        published = (await (await conn.execute(PUBLISH_SQL)).fetchone())[0]
        erased = (await (await conn.execute(PURGE_SQL)).fetchone())[0]
    return published, erased
