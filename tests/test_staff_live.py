"""The officers' live work list (issue 13, point 10): `staffReportEvents` over graphql-transport-ws
with the bearer token in connection_init, against a real uvicorn. An officer of county A hears of
a report submitted in A and not of one in B; a report handed away is REMOVED for the old unit and
ADDED for the new; anonymous callers and admins are refused. The Python reading of the rule agrees
with core.officer_handles."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from gateway.app import create_app
from gateway.graphql.subscriptions import staff_event_kind
from gateway.settings import Settings
from store.staff import OfficerUnit
from tests.support import WARSAW, free_port, gql, next_message, served, token

KRAKOW = (19.94, 50.06)
SUBSCRIBE = "subscription { staffReportEvents { kind reportId status countyCode } }"
SUBMIT = """mutation($input: SubmitReportInput!) { submitReport(input: $input) { report { id } } }"""


@pytest.fixture(scope="module")
async def live(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(settings.model_copy(update={"port": port, "submit_rate_limit": "10000/hour"}))
    async with served(app, port, proxy_headers=False, lifespan="on"):
        yield f"127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def subscribed(live: str, bearer: str | None) -> AsyncIterator[Any]:
    async with websockets.connect(f"ws://{live}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert (await next_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        yield ws


async def wait_until_subscribed(urls: Any, *sockets: Any) -> None:
    """Announces `refreshed` on the channel until every socket has heard it."""
    waiting = set(sockets)
    async with await psycopg.AsyncConnection.connect(urls.admin, autocommit=True) as conn:
        for _ in range(100):
            await conn.execute("SELECT pg_notify('threatmap_staff_events', '{\"kind\": \"refreshed\"}')")
            for ws in list(waiting):
                with contextlib.suppress(TimeoutError):
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.1))
                    assert message["payload"]["data"]["staffReportEvents"]["kind"] == "REFRESHED", message
                    waiting.discard(ws)
            if not waiting:
                break
        else:
            raise AssertionError("a subscription never heard the listener's notices")
    for ws in sockets:
        with contextlib.suppress(TimeoutError):
            while True:
                await asyncio.wait_for(ws.recv(), timeout=0.3)


async def events(ws: Any, timeout: float = 1.5) -> list[dict[str, Any]]:
    """Every event that arrives within `timeout` of the last, past REFRESHED ones."""
    found = []
    with contextlib.suppress(TimeoutError):
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
            assert message["type"] == "next", message
            assert "description" not in json.dumps(message)
            event = message["payload"]["data"]["staffReportEvents"]
            if event["kind"] != "REFRESHED":
                found.append(event)
    return found


async def submit(http: httpx.AsyncClient, lon: float, lat: float) -> str:
    body = await gql(http, SUBMIT, {"input": {
        "categoryId": "illegal-dumping", "longitude": lon, "latitude": lat,
        "occurredAt": "2026-12-01T10:00:00+00:00", "description": "secret words"}})
    assert "errors" not in body, body
    return body["data"]["submitReport"]["report"]["id"]


async def test_an_officer_hears_of_the_county_s_reports_only(
        live: str, settings: Settings, urls, clean_reports: None) -> None:
    async with (subscribed(live, token(settings, "officer", "kpp-1405")) as warsaw,
                subscribed(live, token(settings, "officer", "kpp-1201")) as krakow,
                subscribed(live, token(settings, "analyst")) as analyst,
                httpx.AsyncClient(base_url=f"http://{live}") as http):
        await wait_until_subscribed(urls, warsaw, krakow, analyst)
        in_warsaw = await submit(http, *WARSAW)
        in_krakow = await submit(http, *KRAKOW)
        assert await events(warsaw) == [{"kind": "ADDED", "reportId": in_warsaw, "status": "new",
                                         "countyCode": "1405"}]
        assert [e["reportId"] for e in await events(krakow)] == [in_krakow]
        assert {e["reportId"] for e in await events(analyst, 0.5)} == {in_warsaw, in_krakow}

        # Opened, then handed from Warsaw's county unit to Kraków's: a change for Warsaw while it
        # is Warsaw's; handed over, still in Warsaw's county (the work list's rule: a county unit
        # keeps the reports of its county), and ADDED for Kraków's unit.
        officer = token(settings, "officer", "kpp-1405")
        body = await gql(http, "mutation($id: ID!) { openReport(id: $id) { status } }",
                         {"id": in_warsaw}, officer)
        assert "errors" not in body, body
        assert [(e["kind"], e["status"]) for e in await events(warsaw)] == [("CHANGED", "under_verification")]
        assert await events(krakow, 0.5) == []
        body = await gql(http, """mutation($id: ID!) { assignReport(id: $id, policeUnitId: "kpp-1201") {
            id } }""", {"id": in_warsaw}, officer)
        assert "errors" not in body, body
        assert [e["kind"] for e in await events(krakow)] == ["ADDED"]
        assert [e["kind"] for e in await events(warsaw, 0.5)] == ["REMOVED"]   # handed outside its area


async def test_anonymous_and_admin_callers_are_refused(live: str, settings: Settings) -> None:
    for bearer in (None, token(settings, "admin")):
        async with subscribed(live, bearer) as ws:
            message = await next_message(ws)
            assert message["type"] == "error" or (
                message["type"] == "next" and message["payload"]["errors"][0]["extensions"]["code"]
                == "FORBIDDEN"), message


UNIT_1405 = OfficerUnit(id="kpp-1405", level="county", area_code="1405", counties=["1405"])


@pytest.mark.parametrize(("event", "kind"), [
    ({"kind": "added", "county": "1405", "unit": None}, "added"),
    ({"kind": "added", "county": "1201", "unit": None}, None),
    ({"kind": "added", "county": "1201", "unit": "kpp-1405"}, "added"),
    ({"kind": "changed", "county": "1405", "unit": None, "old_county": "1405", "old_unit": None}, "changed"),
    ({"kind": "changed", "county": "1201", "unit": "kpp-1201", "old_county": "1201", "old_unit": "kpp-1405"},
     "removed"),
    ({"kind": "changed", "county": "1201", "unit": "kpp-1405", "old_county": "1201", "old_unit": None},
     "added"),
    ({"kind": "changed", "county": "1201", "unit": None, "old_county": "1201", "old_unit": None}, None),
    ({"kind": "refreshed"}, "refreshed"),
])
def test_the_notice_rule_reads_a_change_for_a_unit(event: dict[str, Any], kind: str | None) -> None:
    assert staff_event_kind(event, UNIT_1405) == kind


def test_the_python_rule_agrees_with_core_officer_handles(urls) -> None:
    cases = [("1405", None), ("1201", None), ("1201", "kpp-1405"), ("1405", "kpp-1201"), (None, None)]
    with psycopg.connect(urls.app) as conn:
        for county, assigned in cases:
            in_sql = conn.execute("SELECT coalesce(core.officer_handles('kpp-1405', "
                                  "core.unit_counties('kpp-1405'), %s, %s), false)",
                                  [county, assigned]).fetchone()[0]
            event = {"kind": "added", "county": county, "unit": assigned}
            assert (staff_event_kind(event, UNIT_1405) == "added") == in_sql, (county, assigned)
