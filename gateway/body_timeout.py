"""A request body must arrive within a time limit; a client that trickles it gets 408.

Neither uvicorn nor h11/httptools bounds the time a client takes to send a body: one sending a
byte a second holds its connection (and the task reading it) for as long as it likes, and keeps a
graceful shutdown waiting. This ASGI middleware gives every HTTP request `timeout_s` from its
start to receive its whole body. When the time is up while the app waits for more, it answers
`408 Request Timeout` (with `Connection: close`, so the server drops the connection), and tells
the app the client has gone (`http.disconnect`); whatever the app sends or raises afterwards is
dropped. Only waits for the body count: an app that does not read it, or a response that
streams after it, is never cut.
"""

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphql.multipart import is_multipart

log = logging.getLogger(__name__)

BODY = b'{"error": "request_timeout", "detail": "The request body did not arrive in time."}'


class BodyTimeout:
    """`timeout_s` for every body; `multipart_timeout_s`, when given, for a multipart one (photos
    sent with a report: up to 16 MB from a phone on a slow uplink)."""

    def __init__(self, app: ASGIApp, timeout_s: float, multipart_timeout_s: float | None = None) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.multipart_timeout_s = multipart_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timeout_s = (self.multipart_timeout_s if self.multipart_timeout_s is not None
                     and is_multipart(scope) else self.timeout_s)
        deadline = time.monotonic() + timeout_s
        started = timed_out = body_done = False

        async def bounded_receive() -> Message:
            nonlocal timed_out, body_done
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:   # a wait for the client to go (streaming responses): not bounded
                return await receive()
            try:
                async with asyncio.timeout_at(_loop_deadline(deadline)):
                    message = await receive()
            except TimeoutError:
                pass
            else:
                body_done = message["type"] != "http.request" or not message.get("more_body")
                return message
            timed_out = True
            client = scope.get("client")
            log.warning("a request body from %s did not arrive within %.0f s: 408",
                        f"{client[0]}:{client[1]}" if client else "a client", timeout_s)
            if not started:
                await _send_timeout(send)
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
            # The app failed on the disconnect it was told of; the client has its 408.


def _loop_deadline(deadline: float) -> float:
    """A time.monotonic() deadline on the running loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


async def _send_timeout(send: Send) -> None:
    await send({"type": "http.response.start", "status": 408,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": BODY})
