"""GET /health: 200 when the database answers through the public role, 503 with a reason if not."""

import asyncio

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse

HEALTH_TIMEOUT_S = 3.0


async def health(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            async with runtime.public_pool.connection(timeout=HEALTH_TIMEOUT_S) as conn:
                row = await (await conn.execute("SELECT version FROM open.data_version")).fetchone()
    except (psycopg.Error, PoolTimeout, TimeoutError):
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": "5", "Cache-Control": "no-store"})
    return JSONResponse({"status": "ok", "database": "ok", "data_version": row[0]},
                        headers={"Cache-Control": "no-store"})
