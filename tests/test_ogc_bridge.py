"""ogc.bridge: pygeoapi's worker threads running queries on the app's event loop."""

import asyncio

import pytest

from ogc.bridge import PublicDatabase


async def test_a_query_that_outlives_its_deadline_is_cancelled_not_left_running() -> None:
    cancelled = asyncio.Event()

    async def slow_query() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    database = PublicDatabase(pool=None, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await asyncio.to_thread(database.run, slow_query(), 0.2)
    await asyncio.wait_for(cancelled.wait(), timeout=5)
