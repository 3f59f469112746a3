"""The periodic jobs the server runs: publish reports due by the delay, erase old contacts
and, with them, old photos, keep the pools healthy, write the open-data snapshots, deliver the
partners' webhook events.

Every server process runs these loops; the privacy jobs and the snapshots run once a period across
all of them, one process at a time (store.schedule: an advisory lock and the last run's start).
The webhook deliverer claims its events with FOR UPDATE SKIP LOCKED, so processes share the work
without sending an event twice. The pool checks are each process's own."""

import asyncio
import contextlib
import logging
from datetime import timedelta

import psycopg
from psycopg_pool import AsyncConnectionPool

from downloads.snapshot import Cancelled, SnapshotBusy, SnapshotWriter, run_due
from downloads.writers import ExportError
from gateway.metrics import JobMetrics
from gateway.photos import erase_photos_past_retention
from gateway.webhooks import Deliverer
from photos.storage import PhotoStorage, StorageError
from store import jobs
from store.errors import DATABASE_UNAVAILABLE
from store.schedule import exclusive_run

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


# the jobs' names in core.maintenance_runs (store.schedule)
PRIVACY_JOB = "privacy"
SNAPSHOT_JOB = "snapshots"


async def privacy_jobs_forever(pool: AsyncConnectionPool, interval_s: float,
                               photos: PhotoStorage | None = None,
                               metrics: JobMetrics | None = None) -> None:
    """Runs the jobs every interval; a database outage is logged and retried, never fatal, and
    so is any other database error (logged as an error: it will not go away by itself), and a
    photo storage that cannot delete (the photos stay listed for erasure: the next run retries).
    Each run is counted in `metrics` (gateway.metrics) by its outcome; a period another
    process has run already (store.schedule) is not run again ("elsewhere")."""
    while True:
        outcome = "failed"
        try:
            async with exclusive_run(pool, PRIVACY_JOB, interval_s) as ours:
                if ours:
                    published, erased = await run_privacy_jobs(pool)
                    if photos is not None:
                        await erase_old_photos(pool, photos)
                    if metrics:
                        metrics.ran(published, erased)
            outcome = "ok" if ours else "elsewhere"
        except DATABASE_UNAVAILABLE as error:
            outcome = "skipped"
            log.warning("privacy jobs skipped: %s", error)
        except psycopg.Error:
            log.exception("privacy jobs failed")
        except StorageError as error:
            log.error("photos past retention could not be erased yet: %s", error)
        if metrics and outcome != "ok":
            metrics.runs.labels(outcome).inc()
        await asyncio.sleep(interval_s)


POOL_CHECK_INTERVAL_S = 2.0
# How long a pool's own reconnection attempt keeps trying (psycopg_pool's reconnect_timeout).
# Each attempt backs off 1, 2, 4, 8... seconds and, while one is under way, the pool starts no
# other: with its default of 300 s, an outage of 20 s left the next try 10 s or more after the
# database was back, and every request until then waited for its pool timeout (UNAVAILABLE).
# An attempt that gives up this soon is started afresh by pools_checked_forever's next check
# (pool.check grows an empty pool), so the pools are back within about one check interval.
POOL_RECONNECT_TIMEOUT_S = POOL_CHECK_INTERVAL_S


async def connection_alive(conn: psycopg.AsyncConnection) -> None:
    """The pools' check of a connection as it is handed out, without a round trip: it fails
    (and psycopg_pool takes another connection) when the server has closed this one (a restart,
    a terminated backend: libpq reads the EOF that is waiting on the socket). A connection that
    is broken without a word (a network that drops) is found by pools_checked_forever, which
    asks every idle connection every few seconds, instead of one round trip per checkout
    (AsyncConnectionPool.check_connection: a fourth of a public page's statements' time)."""
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the connection is closed")
    # Non-blocking reads of what the server sent meanwhile, if anything: twice, as libpq
    # returns after reading a message (a terminated backend's FATAL) without looking for the
    # EOF behind it.
    for _ in range(2):
        pgconn.consume_input()   # raises OperationalError at EOF
    if pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError("the server closed the connection")


async def pools_checked_forever(pools: list[AsyncConnectionPool],
                                interval_s: float = POOL_CHECK_INTERVAL_S) -> None:
    """Drops broken idle connections every few seconds.

    After a database restart every idle connection is dead; psycopg_pool finds that out one
    connection per request, backing off 1, 2, 4... seconds between them, so requests would time
    out for a while after the database is back. Checking the idle ones in the background, with
    reconnection attempts that give up soon (POOL_RECONNECT_TIMEOUT_S) and are started again by
    the next check, keeps recovery to a couple of seconds.
    """
    while True:
        await asyncio.sleep(interval_s)
        for pool in pools:
            try:
                await pool.check()
            except DATABASE_UNAVAILABLE as error:
                log.debug("pool check of %s failed: %s", pool.name, error)


class SnapshotJob:
    """The open-data snapshots (downloads.snapshot) in the server: every interval, what is due
    (the latest snapshot when a day old, each closed month not yet archived) is written on a
    worker thread; errors are logged and retried at the next check, never fatal. Stopping asks
    the writer to stop at its next file (or next few tiles) and waits for it a while."""

    def __init__(self, writer: SnapshotWriter, interval_s: float, latest_every: timedelta,
                 closed_after_days: int, schedule: AsyncConnectionPool | None = None) -> None:
        self.writer = writer
        # the application pool: each check runs in one process at a time (store.schedule)
        self.schedule = schedule
        self.interval_s = interval_s
        self.latest_every = latest_every
        self.closed_after_days = closed_after_days
        self._task: asyncio.Task | None = None
        self._running: asyncio.Future | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever())

    async def run_once(self) -> list[str]:
        self._running = asyncio.ensure_future(asyncio.to_thread(
            run_due, self.writer, latest_every=self.latest_every,
            closed_after_days=self.closed_after_days))
        done = await asyncio.shield(self._running)
        if done:
            log.info("open-data snapshots written: %s", ", ".join(done))
        return done

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                if self.schedule is None:
                    await self.run_once()
                    continue
                async with exclusive_run(self.schedule, SNAPSHOT_JOB, self.interval_s) as ours:
                    if ours:
                        await self.run_once()
            except Cancelled:
                return
            except SnapshotBusy as error:
                log.info("open-data snapshots skipped: %s", error)
            except DATABASE_UNAVAILABLE as error:
                log.warning("open-data snapshots skipped: %s", error)
            except (psycopg.Error, ExportError, OSError):
                log.exception("open-data snapshots failed")

    async def stop(self, wait_s: float = 30.0) -> None:
        self.writer.stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._running is not None and not self._running.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._running), wait_s)


async def webhooks_forever(deliverer: Deliverer, interval_s: float) -> None:
    """Delivers due webhook events (gateway.webhooks): at once again while whole batches come,
    else after the interval; a database outage or error is logged and retried, never fatal."""
    try:
        while True:
            tried = 0
            try:
                tried = await deliverer.deliver_due()
            except DATABASE_UNAVAILABLE as error:
                log.warning("webhook deliveries skipped: %s", error)
            except psycopg.Error:
                log.exception("webhook deliveries failed")
            if tried < deliverer.batch:
                await asyncio.sleep(interval_s)
    finally:
        await deliverer.close()
