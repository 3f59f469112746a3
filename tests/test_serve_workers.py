"""`threatmap serve --workers N` (issue 16, point 2): the maintenance jobs run once a period across
the processes, one at a time, under an advisory lock (store.schedule), against a real PostGIS and
real uvicorn worker processes."""

import itertools
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.maintenance import PRIVACY_JOB
from gateway.settings import Settings
from store.locations import DatabaseUrls
from store.schedule import exclusive_run, runs
from tests.support import free_port, serve_env, stop_process, threatmap_command, wait_healthy

pytestmark = pytest.mark.scale

# -- the lock and the period, in one process -------------------------------------------------------

async def test_a_job_runs_in_one_process_at_a_time_and_once_a_period(urls: DatabaseUrls) -> None:
    async with (AsyncConnectionPool(urls.app, min_size=1, max_size=2) as one,
                AsyncConnectionPool(urls.app, min_size=1, max_size=2) as other):
        async with exclusive_run(one, "lock_test", 60) as first:
            assert first
            async with exclusive_run(other, "lock_test", 0.001) as second:
                assert not second          # the lock is taken: even a due job waits
        async with exclusive_run(other, "lock_test", 60) as again:
            assert not again               # free, but run less than a period ago
        async with exclusive_run(other, "lock_test", 0.001) as due:
            assert due
        assert len(await runs(one, "lock_test")) == 2


# -- two worker processes ----------------------------------------------------------------------------

@pytest.fixture
def two_workers(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = serve_env(settings, tmp_path, port, THREATMAP_MAINTENANCE_INTERVAL_S="1")
    process = subprocess.Popen([*threatmap_command(), "serve", "--workers", "2"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("w"))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def privacy_runs_since(urls: DatabaseUrls, since: datetime) -> list[tuple[str, datetime]]:
    with psycopg.connect(urls.app) as conn:
        return conn.execute("SELECT worker, started_at FROM core.maintenance_runs "
                            "WHERE job = %s AND started_at >= %s ORDER BY started_at",
                            [PRIVACY_JOB, since]).fetchall()


def test_two_workers_run_the_privacy_jobs_once_a_period_not_twice(
        two_workers: str, urls: DatabaseUrls) -> None:
    for _ in range(10):   # both workers answer on the one address (each with its own pools)
        assert httpx.get(f"{two_workers}/health", timeout=5).status_code == 200
    with psycopg.connect(urls.app) as conn:
        since = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    time.sleep(6)
    with psycopg.connect(urls.app) as conn:
        until = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    done = [run for run in privacy_runs_since(urls, since) if run[1] <= until]
    periods = (until - since).total_seconds()   # THREATMAP_MAINTENANCE_INTERVAL_S=1
    # each worker loops every second; together they ran the jobs about once a second (not twice),
    # and never twice within one period
    assert periods / 2 <= len(done) <= periods + 1, (periods, done)
    gaps = [(b[1] - a[1]).total_seconds() for a, b in itertools.pairwise(done)]
    assert all(gap >= 0.999 for gap in gaps), gaps
    print(f"{len(done)} runs in {periods:.1f} s by {sorted({worker for worker, _ in done})}")
