"""The periodic privacy jobs the server runs: publish reports due by the delay, erase old contacts."""

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

log = logging.getLogger(__name__)


async def run_privacy_jobs(pool: AsyncConnectionPool) -> tuple[int, int]:
    async with pool.connection() as conn, conn.transaction():
        published = (await (await conn.execute("SELECT core.publish_due_reports()")).fetchone())[0]
        erased = (await (await conn.execute("SELECT core.purge_contacts()")).fetchone())[0]
    if published or erased:
        log.info("privacy jobs: %d reports published, %d contacts erased", published, erased)
    return published, erased


async def privacy_jobs_forever(pool: AsyncConnectionPool, interval_s: float) -> None:
    """Runs the jobs every interval; a database outage is logged and retried, never fatal."""
    while True:
        try:
            await run_privacy_jobs(pool)
        except (psycopg.Error, PoolTimeout) as error:
            log.warning("privacy jobs skipped: %s", error)
        await asyncio.sleep(interval_s)
