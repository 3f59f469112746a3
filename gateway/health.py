"""GET /health: 200 when the database answers through the public role, 503 with a reason if not.
With public reads from a standby, it says where they go now and the standby's lag."""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.public_reads import StandbyReads
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S
from store.health import data_version

HEALTH_TIMEOUT_S = 3.0


async def health(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    # Never longer than any other door waits for a connection (settings.pool_timeout_s).
    timeout_s = min(HEALTH_TIMEOUT_S, runtime.settings.pool_timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            version = await data_version(runtime.public_pool, timeout_s)
    except DATABASE_UNAVAILABLE:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"})
    body = {"status": "ok", "database": "ok", "data_version": version}
    pool = runtime.public_pool
    if isinstance(pool, StandbyReads):   # where the public reads go now (gateway.public_reads)
        body |= {"public_reads": pool.reading_from, "standby_lag_s": pool.lag_s}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
