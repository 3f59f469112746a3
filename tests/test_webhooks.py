"""Webhooks to partners (issue 15, point 8), end to end: a real receiver (uvicorn on a free port)
gets each status change of the partner's reports, signed; it is down for a while and still gets
them; a wrong secret fails verification; the officer's change never waits for it; an admin reads
the attempts (`threatmap partner deliveries`)."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import cli
from gateway.settings import Settings
from gateway.webhooks import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from store.locations import DatabaseUrls
from store.partners import add_partner
from store.webhooks import outbox_states
from tests.support import eventually, free_port, gql, running_app, served, token

OFFICER_UNIT = "kwp-14"   # handles Warsaw
OPEN = "mutation($id: ID!) { openReport(id: $id) { id status } }"
STATUS = "mutation($id: ID!, $s: String!) { setReportStatus(id: $id, status: $s) { id status } }"


class Receiver:
    """A partner's endpoint: records what it gets; may answer slowly."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.delay_s = 0.0
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.received.append({"headers": dict(request.headers), "body": body})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return Response(status_code=204)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "webhook_delivery": True, "webhook_allow_http": True, "webhook_allow_private": True,
        "webhook_interval_s": 0.1,
        "webhook_backoff_base_s": 0.2, "webhook_backoff_max_s": 0.5, "webhook_timeout_s": 2.0,
        "partner_rate_limit": "10000/minute"})


def register(urls: DatabaseUrls, url: str, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[Any, str, str]:
    """A partner with its key, its webhook set through the CLI (which prints the secret once)."""
    name = f"Gmina {uuid.uuid4().hex[:6]}"
    with psycopg.connect(urls.app) as conn:
        partner_id, key = add_partner(conn, name, "local_government")
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    monkeypatch.setenv("THREATMAP_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("THREATMAP_WEBHOOK_ALLOW_PRIVATE", "true")
    capsys.readouterr()
    cli.main(["partner", "webhook", "set", name, url])
    secret = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    return partner_id, key, secret


async def submit(http: httpx.AsyncClient, key: str, count: int) -> list[str]:
    occurred = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    lines = [json.dumps({"external_id": f"W-{uuid.uuid4().hex}", "category": "vandalism",
                         "longitude": 21.0 + n * 0.001, "latitude": 52.23, "occurred_at": occurred})
             for n in range(count)]
    answer = await http.post("/partners/v1/reports", content="\n".join(lines), headers={
        "X-Api-Key": key, "Content-Type": "application/x-ndjson"})
    assert answer.json()["created"] == count, answer.text
    return [r["id"] for r in answer.json()["results"]]


async def test_signed_events_survive_a_receiver_outage_and_verify_only_with_the_secret(
        webhook_settings: Settings, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_reports: None) -> None:
    receiver, port = Receiver(), free_port()
    partner_id, key, secret = register(urls, f"http://127.0.0.1:{port}/hook", monkeypatch, capsys)
    officer = token(webhook_settings, "officer", OFFICER_UNIT)
    async with running_app(webhook_settings) as (http, application):
        pool = application.state.runtime.app_pool
        reports = await submit(http, key, 2)
        async with served(receiver.app, port):
            opened = await gql(http, OPEN, {"id": reports[0]}, officer)
            assert opened["data"]["openReport"]["status"] == "under_verification", opened
            assert await eventually(lambda: _count(receiver, 1), timeout=10)
        # The receiver is down: the next changes are tried, fail, and wait.
        confirmed = await gql(http, STATUS, {"id": reports[0], "s": "confirmed"}, officer)
        assert confirmed["data"]["setReportStatus"]["status"] == "confirmed", confirmed
        await gql(http, OPEN, {"id": reports[1]}, officer)
        assert await eventually(lambda: _failed_attempts(pool, partner_id, 2), timeout=10)
        assert len(receiver.received) == 1
        async with served(receiver.app, port):   # back: the retries get through
            assert await eventually(lambda: _all_delivered(pool, partner_id, 3), timeout=15)
        states = await outbox_states(pool, partner_id)
        assert all(s["attempts"] >= 2 for s in states[1:])

    events = receiver.events()
    assert sorted((e["report"]["id"], e["report"]["previous_status"], e["report"]["status"])
                  for e in events) == sorted([(reports[0], "new", "under_verification"),
                                              (reports[0], "under_verification", "confirmed"),
                                              (reports[1], "new", "under_verification")])
    assert {e["type"] for e in events} == {"report.status_changed"}
    assert all(set(e["report"]) == {"id", "external_id", "status", "previous_status"} for e in events)
    for got, event in zip(receiver.received, events, strict=True):
        headers = got["headers"]
        assert headers[EVENT_HEADER.lower()] == event["id"]
        assert verify(secret, headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()],
                      got["body"])
        assert not verify("wrong-" + secret, headers[TIMESTAMP_HEADER.lower()],
                          headers[SIGNATURE_HEADER.lower()], got["body"])
        assert abs(int(headers[TIMESTAMP_HEADER.lower()]) - time.time()) < 60

    # The admin sees each attempt: the refused connections, then the 204s.
    capsys.readouterr()
    cli.main(["partner", "deliveries", str(partner_id), "--json"])
    log = json.loads(capsys.readouterr().out)
    assert len(log) == 3 and {row["state"] for row in log} == {"delivered"}
    attempts = [a for row in log for a in row["attempt_log"]]
    assert any(a["error"] and a["http_status"] is None for a in attempts)
    assert sum(a["http_status"] == 204 for a in attempts) == 3
    assert all(a["duration_ms"] >= 0 and a["url"].endswith("/hook") for a in attempts)


async def test_the_officers_change_does_not_wait_for_a_slow_receiver(
        webhook_settings: Settings, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_reports: None) -> None:
    receiver, port = Receiver(), free_port()
    receiver.delay_s = 1.5   # well below the webhook timeout: the attempt succeeds, slowly
    # (a loaded CI machine adds its own delay: the timeout leaves room for it)
    slow = webhook_settings.model_copy(update={"webhook_timeout_s": 8.0})
    _, key, _ = register(urls, f"http://127.0.0.1:{port}/hook", monkeypatch, capsys)
    officer = token(slow, "officer", OFFICER_UNIT)
    async with running_app(slow) as (http, _), served(receiver.app, port):
        reports = await submit(http, key, 3)
        for report in reports:
            started = time.monotonic()
            body = await gql(http, OPEN, {"id": report}, officer)
            assert body["data"]["openReport"]["status"] == "under_verification", body
            assert time.monotonic() - started < 1.0
        assert await eventually(lambda: _count(receiver, 3), timeout=40)


async def test_an_event_still_undelivered_after_the_retry_window_is_marked_failed(
        webhook_settings: Settings, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_reports: None) -> None:
    partner_id, key, _ = register(urls, f"http://127.0.0.1:{free_port()}/hook", monkeypatch, capsys)
    short = webhook_settings.model_copy(update={"webhook_retry_h": 1.5 / 3600})   # 1.5 s
    async with running_app(short) as (http, application):
        pool = application.state.runtime.app_pool
        reports = await submit(http, key, 1)
        await gql(http, OPEN, {"id": reports[0]}, token(short, "officer", OFFICER_UNIT))

        async def failed() -> bool:
            return [s["state"] for s in await outbox_states(pool, partner_id)] == ["failed"]

        assert await eventually(failed, timeout=15)
        attempts = (await outbox_states(pool, partner_id))[0]["attempts"]
        assert attempts >= 2
        await asyncio.sleep(1)   # and it is tried no more
        assert (await outbox_states(pool, partner_id))[0]["attempts"] == attempts
    capsys.readouterr()
    cli.main(["partner", "deliveries", str(partner_id), "--state", "failed"])
    assert "failed" in capsys.readouterr().out


async def test_a_process_with_delivery_off_leaves_the_outbox_to_the_others(
        webhook_settings: Settings, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clean_reports: None) -> None:
    receiver, port = Receiver(), free_port()
    partner_id, key, _ = register(urls, f"http://127.0.0.1:{port}/hook", monkeypatch, capsys)
    quiet = webhook_settings.model_copy(update={"webhook_delivery": False})
    async with served(receiver.app, port):
        async with running_app(quiet) as (http, application):
            pool = application.state.runtime.app_pool
            reports = await submit(http, key, 1)
            await gql(http, OPEN, {"id": reports[0]}, token(quiet, "officer", OFFICER_UNIT))
            await asyncio.sleep(1.5)   # 15 of the deliverer's intervals
            states = await outbox_states(pool, partner_id)
            assert [(s["state"], s["attempts"]) for s in states] == [("pending", 0)], states
            assert receiver.received == []
        async with running_app(webhook_settings):   # a process that delivers
            assert await eventually(lambda: _count(receiver, 1), timeout=10)


async def test_a_private_target_is_refused_unless_allowed(
        settings: Settings, urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(urls.app) as conn:
        add_partner(conn, "Fundacja SSRF", "ngo")
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    for url, why in [("http://example.org/hook", "https://"),
                     ("https://127.0.0.1/hook", "loopback"), ("https://169.254.169.254/", "private")]:
        with pytest.raises(SystemExit, match=why):
            cli.main(["partner", "webhook", "set", "Fundacja SSRF", url])


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def _failed_attempts(pool: Any, partner_id: Any, n: int) -> bool:
    """At least n events have had a failed attempt."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(DISTINCT o.id) FROM core.webhook_attempts a "
            "JOIN core.webhook_outbox o ON o.id = a.outbox_id "
            "WHERE o.partner_id = %s AND a.error IS NOT NULL", [partner_id])
        return (await cur.fetchone())[0] >= n


async def _all_delivered(pool: Any, partner_id: Any, n: int) -> bool:
    states = await outbox_states(pool, partner_id)
    return [s["state"] for s in states] == ["delivered"] * n
