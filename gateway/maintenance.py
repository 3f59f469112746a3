"""The periodic privacy jobs the server runs: publish reports due by the delay, erase old contacts
and, with them, old photos."""

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool

from gateway.photos import erase_photos_past_retention
from photos.storage import PhotoStorage, StorageError
from store import jobs
from store.errors import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)


async def run_privacy_jobs(pool: AsyncConnectionPool) -> tuple[int, int]:
    published, erased = await jobs.run_privacy_jobs(pool)
    if published or erased:
        log.info("privacy jobs: %d reports published, %d contacts erased", published, erased)
    return published, erased


async def erase_old_photos(pool: AsyncConnectionPool, storage: PhotoStorage) -> int:
    erased = await erase_photos_past_retention(pool, storage)
    if erased:
        log.info("privacy jobs: %d photos erased", erased)
    return erased


async def privacy_jobs_forever(pool: AsyncConnectionPool, interval_s: float,
                               photos: PhotoStorage | None = None) -> None:
    """Runs the jobs every interval; a database outage is logged and retried, never fatal, and
    so is any other database error (logged as an error: it will not go away by itself), and a
    photo storage that cannot delete (the photos stay listed for erasure: the next run retries)."""
    while True:
        try:
            await run_privacy_jobs(pool)
            if photos is not None:
                await erase_old_photos(pool, photos)
        except DATABASE_UNAVAILABLE as error:
            log.warning("privacy jobs skipped: %s", error)
        except psycopg.Error:
            log.exception("privacy jobs failed")
        except StorageError as error:
            log.error("photos past retention could not be erased yet: %s", error)
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
