"""The managed cluster comes back: a task of the app's lifespan restarts its PostgreSQL if it dies.

Every `interval_s` the watchdog looks at the postmaster the service started (its pid file and
/proc). When it has gone (killed, crashed, out of memory), it logs why at WARNING and starts the
cluster again with `pg_ctl start`, which copes with the stale pid file a kill -9 leaves. A start
can fail for a while (the dead server's last backends may still hold its shared memory); it is
retried at every check. Meanwhile the doors answer 503 / UNAVAILABLE, and the pools' own checks
(gateway/maintenance.py) reconnect once the server is back.
Only a cluster this process started is watched: one it merely reused belongs to another process.
"""

import asyncio
import contextlib
import logging
import threading

from store.locations import ManagedDatabase

log = logging.getLogger(__name__)

REPEAT_FAILURE_LOG_EVERY = 30   # a failing restart is logged at its first attempt, then this often


class ClusterWatchdog:
    def __init__(self, managed: ManagedDatabase, interval_s: float = 1.0) -> None:
        self.managed = managed
        self.interval_s = interval_s
        self.restarts = 0
        self._task: asyncio.Task | None = None
        self._starting = threading.Lock()   # held while pg_ctl start runs in its thread

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster watchdog")

    async def stop(self) -> None:
        """Ends the watch, waiting for a restart in progress (the cluster's stop comes next)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._starting.acquire)
        self._starting.release()

    async def _run(self) -> None:
        cluster = self.managed.cluster
        last_pid = cluster.postmaster_pid()
        failures = 0
        while True:
            await asyncio.sleep(self.interval_s)
            pid = await asyncio.to_thread(cluster.postmaster_pid)
            if pid is not None:
                last_pid, failures = pid, 0
                continue
            if failures == 0:
                log.warning("the managed PostgreSQL in %s has stopped: its postmaster (pid %s) "
                            "is gone (killed or crashed; see %s). Starting it again.",
                            cluster.pgdata, last_pid, cluster.pgdata / "server.log")
            try:
                await asyncio.to_thread(self._restart)
            except Exception as error:   # any failure is retried at the next check
                if failures % REPEAT_FAILURE_LOG_EVERY == 0:
                    log.warning("restarting the managed PostgreSQL failed (retrying every "
                                "%.0f s): %s", self.interval_s, error)
                failures += 1
                continue
            self.restarts += 1
            failures = 0
            last_pid = cluster.postmaster_pid()
            log.warning("the managed PostgreSQL is running again (postmaster pid %s)", last_pid)

    def _restart(self) -> None:
        with self._starting:
            self.managed.start()
