"""GET /health: 200 when the database answers through the public role, 503 with a reason if not."""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from store.errors import DATABASE_UNAVAILABLE
from store.health import data_version

HEALTH_TIMEOUT_S = 3.0


async def health(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            version = await data_version(runtime.public_pool, HEALTH_TIMEOUT_S)
    except DATABASE_UNAVAILABLE:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": "5", "Cache-Control": "no-store"})
    return JSONResponse({"status": "ok", "database": "ok", "data_version": version},
                        headers={"Cache-Control": "no-store"})
