"""One run of a maintenance job at a time, and once a period, across every server process.

Each process (`threatmap serve --workers N`, replicas on other machines) runs the job loops of
gateway.maintenance. Before a run, `exclusive_run` takes the job's session-level advisory lock
(pg_try_advisory_lock) on a connection it keeps for the run, so a second process finds the lock
taken and skips; holding it, it reads the job's last start in core.maintenance_runs: a job that
started less than its period ago (in another process) is not due. A process that dies releases
its lock with its connection.
"""

import contextlib
import os
import socket
from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import AsyncConnectionPool

# the lock key of a job: hashtext() of this prefix and the job's name (one key space per job)
LOCK_PREFIX = "threatmap.maintenance."

TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext(%s))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext(%s))"
DUE_SQL = """
SELECT NOT EXISTS (SELECT 1 FROM core.maintenance_runs
                   WHERE job = %(job)s
                     AND started_at > clock_timestamp() - make_interval(secs => %(period)s))
"""
RECORD_SQL = """
WITH old AS (DELETE FROM core.maintenance_runs
             WHERE job = %(job)s AND started_at < clock_timestamp() - interval '30 days')
INSERT INTO core.maintenance_runs (job, worker) VALUES (%(job)s, %(worker)s)
"""
RUNS_SQL = "SELECT worker, started_at FROM core.maintenance_runs WHERE job = %s ORDER BY started_at"


def worker_name() -> str:
    """host:pid of this process, recorded with each run it makes."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.asynccontextmanager
async def exclusive_run(pool: AsyncConnectionPool, job: str, period_s: float) -> AsyncIterator[bool]:
    """Yields True when this process runs `job` now (lock taken, due, run recorded), else False.

    The lock is held on one pool connection until the block ends; the job itself uses others.
    """
    async with pool.connection() as conn:
        key = LOCK_PREFIX + job
        locked = (await (await conn.execute(TRY_LOCK_SQL, [key])).fetchone())[0]
        if not locked:
            yield False
            return
        try:
            params = {"job": job, "period": period_s, "worker": worker_name()}
            due = (await (await conn.execute(DUE_SQL, params)).fetchone())[0]
            if due:
                await conn.execute(RECORD_SQL, params)
            await conn.commit()   # the run is seen by the others now; no transaction stays open
            yield due
        finally:
            with contextlib.suppress(psycopg.Error):   # a broken connection has dropped it anyway
                await conn.execute(UNLOCK_SQL, [key])
                await conn.commit()


async def runs(pool: AsyncConnectionPool, job: str) -> list[tuple[str, object]]:
    """(worker, started_at) of the job's recorded runs, oldest first."""
    async with pool.connection() as conn:
        return await (await conn.execute(RUNS_SQL, [job])).fetchall()
