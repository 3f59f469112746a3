"""Public reads from a streaming standby, and what happens when it lags or is down.

With THREATMAP_PUBLIC_DATABASE_URL naming a standby, the public pool is a `StandbyReads`: every
door that reads `open` (tiles, GraphQL, OGC, the catalogue, the snapshots) gets its connections
from the standby while the standby is up and at most `max_lag_s` behind, and from the primary's
public role (THREATMAP_PUBLIC_PRIMARY_URL; the same role, the same schema `open`, so nothing
more is readable) while it is not. The decision is availability: the map keeps answering, with
data never older than max_lag_s; only when the primary is down too do the doors answer 503
with Retry-After, as they do without a standby. A check every `check_s` measures the lag
(store.replica.replay_lag_s); a standby that refuses a connection is left at once, and is taken
back once a check finds it up and within the lag again.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from store.replica import replay_lag_s

log = logging.getLogger(__name__)

STANDBY = "standby"
PRIMARY = "primary"


class StandbyReads(AsyncConnectionPool):
    """The public pool on the standby (this pool) with the primary's public pool behind it."""

    def __init__(self, conninfo: str, *, fallback: AsyncConnectionPool, max_lag_s: float,
                 check_s: float = 1.0, acquire_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(conninfo, **kwargs)
        self.fallback = fallback
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self.acquire_s = acquire_s     # longest wait for a standby connection before the primary
        self.reading_from = PRIMARY    # until the first check finds the standby fit
        self.lag_s: float | None = None
        self._monitor: asyncio.Task | None = None

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """The primary's pool as asked; this one without waiting (a standby that is down at the
        start must not close it for good: it fills once the standby answers)."""
        await self.fallback.open(wait=wait, timeout=timeout)
        await super().open(wait=False)
        await self.check_standby()
        if self._monitor is None:
            self._monitor = asyncio.create_task(self._check_forever())

    async def close(self, timeout: float = 5.0) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        await super().close(timeout)
        await self.fallback.close(timeout)

    async def check(self) -> None:
        await super().check()
        await self.fallback.check()

    @contextlib.asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
        conn = None
        if self.reading_from == STANDBY:
            try:
                conn = await self.getconn(timeout=min(timeout or self.acquire_s, self.acquire_s))
            except psycopg.OperationalError as error:   # PoolTimeout, PoolClosed too
                self._switch(PRIMARY, f"no connection to the standby ({error})")
        if conn is None:
            async with self.fallback.connection(timeout) as primary:
                yield primary
            return
        try:
            async with conn:
                yield conn
        finally:
            await self.putconn(conn)

    async def check_standby(self) -> None:
        """One check: the standby's lag, and where the reads go from now."""
        try:
            async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                       connect_timeout=2) as conn:
                lag = await replay_lag_s(conn)
        except psycopg.Error as error:
            self.lag_s = None
            self._switch(PRIMARY, f"the standby does not answer ({error})")
            return
        self.lag_s = lag
        if lag is not None and lag > self.max_lag_s:
            self._switch(PRIMARY, f"the standby is {lag:.1f} s behind (at most {self.max_lag_s} s)")
        else:
            self._switch(STANDBY, "the standby is up and within the lag")

    def _switch(self, to: str, why: str) -> None:
        if to != self.reading_from:
            log.warning("public reads from the %s: %s", to, why)
            self.reading_from = to

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            await self.check_standby()
