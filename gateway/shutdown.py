"""Stopping the app's parts in a bounded time.

Each part (the OGC service, the tile listener, the report-event listener, background jobs, the
pools) is stopped as one step; a step that has not finished after its time is logged by name
and left behind, so that one stuck part cannot keep the process (and, under `threatmap serve`,
the managed PostgreSQL cluster) from stopping. Seen twice under heavy load on a 2-core machine:
the test app's shutdown passed asgi-lifespan's 60 s limit, the stuck part unknown; the log now
names it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)

STEP_TIMEOUT_S = 10.0


async def stop_step(name: str, step: Awaitable[None], timeout_s: float = STEP_TIMEOUT_S) -> bool:
    """Runs one shutdown step; returns False (and logs) when it failed or did not end in time."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()   # asked once; not waited for: a step that ignores it stays behind
        log.error("shutdown: %s did not finish in %.0f s; going on without it", name, timeout_s)
        return False
    if not task.cancelled() and task.exception() is not None:
        log.error("shutdown: %s failed", name, exc_info=task.exception())
        return False
    return True


async def cancel_task(task: asyncio.Task) -> None:
    """Cancels a background task and waits for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
