"""The periodic privacy jobs the server runs: publish reports due by the delay, erase old contacts."""

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway.metrics import JobMetrics
from store import jobs
from store.errors import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)


async def run_privacy_jobs(pool: AsyncConnectionPool) -> tuple[int, int]:
    published, erased = await jobs.run_privacy_jobs(pool)
    if published or erased:
        log.info("privacy jobs: %d reports published, %d contacts erased", published, erased)
    return published, erased


async def privacy_jobs_forever(pool: AsyncConnectionPool, interval_s: float,
                               metrics: JobMetrics | None = None) -> None:
    """Runs the jobs every interval; a database outage is logged and retried, never fatal, and
    so is any other database error (logged as an error: it will not go away by itself). Each
    run is counted in `metrics` (gateway.metrics) by its outcome."""
    while True:
        outcome = "failed"
        try:
            published, erased = await run_privacy_jobs(pool)
            if metrics:
                metrics.ran(published, erased)
            outcome = "ok"
        except DATABASE_UNAVAILABLE as error:
            outcome = "skipped"
            log.warning("privacy jobs skipped: %s", error)
        except psycopg.Error:
            log.exception("privacy jobs failed")
        if metrics and outcome != "ok":
            metrics.runs.labels(outcome).inc()
        await asyncio.sleep(interval_s)


POOL_CHECK_INTERVAL_S = 2.0


async def pools_checked_forever(pools: list[AsyncConnectionPool],
                                interval_s: float = POOL_CHECK_INTERVAL_S) -> None:
    """Drops broken idle connections every few seconds.

    After a database restart every idle connection is dead; psycopg_pool finds that out one
    connection per request, backing off 1, 2, 4... seconds between them, so requests would time
    out for a while after the database is back. Checking the idle ones in the background keeps
    recovery to a couple of seconds.
    """
    while True:
        await asyncio.sleep(interval_s)
        for pool in pools:
            try:
                await pool.check()
            except DATABASE_UNAVAILABLE as error:
                log.debug("pool check of %s failed: %s", pool.name, error)
