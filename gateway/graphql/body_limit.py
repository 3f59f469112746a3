"""A size limit on what a client sends to the GraphQL door (Starlette sets none): an HTTP body
past the limit gets 413, whether the client declares the length or streams the body; a WebSocket
message past it closes the connection with 1009 (Message Too Big), before the GraphQL handler
decodes or runs it (issue 10, point 3). `threatmap serve` also gives uvicorn the same limit
(`ws_max_size`, gateway.cli), which refuses such a frame before reading it; this check holds
whatever server runs the app."""

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphql.multipart import is_multipart

log = logging.getLogger(__name__)

MESSAGE_TOO_BIG = 1009


class BodyTooLarge(Exception):
    pass


def _too_big(message: Message, max_bytes: int) -> bool:
    """Whether a WebSocket message has more than `max_bytes` bytes (text counted as UTF-8; a
    text longer in characters is not encoded to know it)."""
    if message.get("bytes") is not None:
        return len(message["bytes"]) > max_bytes
    text = message.get("text") or ""
    return len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes


class BodySizeLimit:
    """`max_bytes` for every body, but `multipart_max_bytes` for a multipart request (file
    uploads: gateway.graphql.multipart), when given."""

    def __init__(self, app: ASGIApp, max_bytes: int, multipart_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.multipart_max_bytes = multipart_max_bytes

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps({"errors": [{
            "message": f"The request body is larger than {max_bytes} bytes.",
            "extensions": {"code": "BAD_USER_INPUT"}}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = (self.multipart_max_bytes if self.multipart_max_bytes is not None
                     and is_multipart(scope) else self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, max_bytes)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        closed = False

        async def limited_receive() -> Message:
            nonlocal closed
            if closed:
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            message = await receive()
            if message["type"] == "websocket.receive" and _too_big(message, self.max_bytes):
                closed = True
                client = scope.get("client")
                log.warning("a WebSocket message from %s was larger than %d bytes: closed with %d",
                            f"{client[0]}:{client[1]}" if client else "a client", self.max_bytes,
                            MESSAGE_TOO_BIG)
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG,
                            "reason": f"message larger than {self.max_bytes} bytes"})
                # The handler sees the client gone: its operations are cancelled.
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        async def guarded_send(message: Message) -> None:
            if not closed:   # after the close, whatever the handler still sends is dropped
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
