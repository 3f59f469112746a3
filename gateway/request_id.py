"""The request id: taken from the client's X-Request-ID when it is a sane token (a proxy or a
client tracing its own calls), else made here; echoed in the response and carried by every log
line written while the request is served (gateway.logs reads it from the context variable)."""

import re
import uuid
from contextvars import ContextVar

HEADER = b"x-request-id"
# Letters, digits and a few separators, at most 128: UUIDs, ULIDs, nginx's $request_id, AWS's
# Root=1-... ids. Anything else (spaces, quotes, control characters, a novel) is not echoed
# into headers and logs: the request gets an id of ours instead.
SANE = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")

current: ContextVar[str | None] = ContextVar("threatmap_request_id", default=None)


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The id of a request with these (ASGI) headers."""
    for name, value in headers:
        if name == HEADER:
            if SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex
