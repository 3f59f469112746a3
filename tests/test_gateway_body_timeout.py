"""gateway.body_timeout: a multipart body (a report with photos, up to 16 MB from a phone) has
its own, longer time limit; every other body keeps the short one."""

import asyncio
from typing import Any

import pytest

from gateway.body_timeout import BodyTimeout


async def status_of(content_type: bytes, pause_s: float) -> int:
    """The status a body in two parts, `pause_s` apart, gets through a BodyTimeout of 0.3 s
    (multipart: 3 s)."""
    parts = [{"type": "http.request", "body": b"a", "more_body": True},
             {"type": "http.request", "body": b"b", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(pause_s)
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (message := await receive())["type"] == "http.request" and message.get("more_body"):
            pass
        if message["type"] == "http.disconnect":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    scope = {"type": "http", "method": "POST", "path": "/graphql",
             "headers": [(b"content-type", content_type)]}
    await BodyTimeout(app, timeout_s=0.3, multipart_timeout_s=3)(scope, receive, send)
    return sent[0]["status"]


@pytest.mark.parametrize(("content_type", "status"), [
    (b"application/json", 408), (b"multipart/form-data; boundary=x", 200),
    (b"Multipart/Form-Data;boundary=x", 200), (b"text/plain", 408)])
async def test_multipart_bodies_have_longer(content_type: bytes, status: int) -> None:
    assert await status_of(content_type, pause_s=0.25) == status


async def test_a_multipart_body_past_its_own_limit_gets_408() -> None:
    assert await status_of(b"multipart/form-data; boundary=x", pause_s=1.6) == 408
