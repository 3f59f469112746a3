"""Stopping the app's parts in a bounded time.

Each part (the OGC service, the tile listener, the report-event listener, background jobs, the
pools) is stopped as one step; a step that has not finished in its time is logged by name and
left behind, and the whole stays within a budget below asgi-lifespan's and uvicorn's waits, so
one stuck part cannot hold up the rest of the shutdown, the managed PostgreSQL cluster's stop
included. (A part that ignores cancellation can still delay the interpreter's own exit.) Seen
twice under heavy load on a 2-core machine: the test app's shutdown passed asgi-lifespan's 60 s
limit, the stuck part unknown; the log now names it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Coroutine

log = logging.getLogger(__name__)

STEP_TIMEOUT_S = 10.0
BUDGET_S = 40.0


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


async def stop_in_order(steps: list[tuple[str, Coroutine[None, None, None]]],
                        budget_s: float = BUDGET_S, step_s: float = STEP_TIMEOUT_S) -> bool:
    """Runs the steps one after the other, each within step_s and all within about budget_s
    (a step started late gets what is left, at least a second); True when all went well."""
    deadline = time.monotonic() + budget_s
    ok = True
    for name, step in steps:
        left = deadline - time.monotonic()
        ok = await stop_step(name, step, max(1.0, min(step_s, left))) and ok
    return ok


async def cancel_task(task: asyncio.Task) -> None:
    """Cancels a background task and waits for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
