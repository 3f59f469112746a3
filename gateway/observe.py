"""The outermost middleware: a request id for every request, one access line when it ends, its
count and latency in the metrics, and the last word on an unexpected exception.

One pass for the three (a pure ASGI middleware, no BaseHTTPMiddleware): the request id is set in
a context variable before anything else runs, so every log line written while the request is
served carries it (gateway.logs); it is echoed in X-Request-ID. The access line is INFO for
every answer a client caused (2xx-4xx), WARNING for 503 (the database away: retry), ERROR for
other 5xx. It names method, path (never the query string: it may carry a tracking token), status,
duration, door and the request id; not the client's address (reporters' addresses are no one's
business in the logs; the proxy in front keeps its own access log if it must).

An exception no handler caught is logged here once, at ERROR with its traceback and the request
id, and answered 500 (so uvicorn does not log it a second time without the id).
"""

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import request_id
from gateway.metrics import RequestMetrics, door

log = logging.getLogger("threatmap.access")
errors = logging.getLogger("threatmap.errors")

INTERNAL_ERROR = b"Internal Server Error"
CLIENT_CLOSED = 499


def access_level(status: int) -> int:
    if status < 500:
        return logging.INFO
    return logging.WARNING if status == 503 else logging.ERROR


class Observe:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        rid = request_id.request_id(scope["headers"])
        token = request_id.current.set(rid)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, rid)
            else:   # a WebSocket: its log lines carry the id of the request that opened it
                await self.app(scope, receive, send)
        finally:
            request_id.current.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        start = time.perf_counter()
        status = 500
        started = False
        header = (request_id.HEADER, rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            status = status if started else CLIENT_CLOSED   # gone before the answer (nginx's 499)
            raise
        except Exception:
            errors.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = 500
            if not started:
                await send({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(INTERNAL_ERROR)).encode()), header]})
                await send({"type": "http.response.body", "body": INTERNAL_ERROR})
        finally:
            seconds = time.perf_counter() - start
            name = door(scope["path"])
            if self.metrics is not None:
                self.metrics.observe(name, status, seconds)
            level = access_level(status)
            if log.isEnabledFor(level):
                log.log(level, "%s %s %d %.1f ms (%s)", scope["method"], scope["path"], status,
                        seconds * 1000, name,
                        extra={"method": scope["method"], "path": scope["path"], "status": status,
                               "duration_ms": round(seconds * 1000, 2), "door": name})
