"""The citizen's status page (issue 12, point 6): through the tracking token, the report's status
over time with the statuses' Polish and English names and the dates, and nothing an officer
wrote or is: no names, no comments, no hand-overs, no other report (docs/photos.md)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from gateway.settings import Settings
from tests.support import CONFIG_DIR, WARSAW, codes, gql, token

SUBMIT = """mutation($input: SubmitReportInput!) { submitReport(input: $input) {
    trackingToken report { id } } }"""
STATUS = """mutation($id: ID!, $s: String!, $c: String) {
    setReportStatus(id: $id, status: $s, comment: $c) { id status } }"""
ASSIGN = """mutation($id: ID!, $u: String!) { assignReport(id: $id, policeUnitId: $u,
    comment: "handed over by Sergeant Kowalski") { id } }"""
TRACK = """query($t: String!) { reportByToken(token: $t) {
    id status statusHistory { at status { id namePl nameEn isClosed } }
    history { kind fromStatus toStatus at actor comment } } }"""
OFFICER_SUBJECT = "test-officer"   # tests.support.token's subject: the actor the trail records


def statuses_config() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((CONFIG_DIR / "statuses.yml").read_text(encoding="utf-8"))
    return {s["id"]: s for s in data["statuses"]}


async def new_report(client: httpx.AsyncClient, description: str = "Broken street light") -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = await gql(client, SUBMIT, {"input": {
        "categoryId": "illegal-dumping", "longitude": WARSAW[0], "latitude": WARSAW[1],
        "occurredAt": occurred, "description": description, "contact": "me@example.org"}})
    assert "errors" not in body, body
    return body["data"]["submitReport"]


async def test_the_token_shows_each_status_with_its_names_and_date(
        graphql_client: httpx.AsyncClient, settings: Settings, clean_reports: None) -> None:
    before = datetime.now(UTC)
    mine = await new_report(graphql_client)
    other = await new_report(graphql_client, "someone else's report")
    warsaw = token(settings, "officer", "kpp-1405")
    report_id = mine["report"]["id"]
    assert "errors" not in await gql(graphql_client, STATUS, {"id": report_id, "s": "confirmed",
                                                             "c": "internal: informant Nowak"}, warsaw)
    assert "errors" not in await gql(graphql_client, ASSIGN, {"id": report_id, "u": "kwp-14"}, warsaw)
    # Handed up to the voivodeship command, it is theirs to close.
    voivodeship = token(settings, "officer", "kwp-14")
    assert "errors" not in await gql(graphql_client, STATUS, {"id": report_id, "s": "confirmed_eliminated",
                                                             "c": "patrol 7 cleared it"}, voivodeship)
    body = await gql(graphql_client, TRACK, {"t": mine["trackingToken"]})
    assert "errors" not in body, body
    report = body["data"]["reportByToken"]
    assert report["id"] == report_id and report["status"] == "confirmed_eliminated"
    names = statuses_config()
    steps = report["statusHistory"]
    assert [s["status"]["id"] for s in steps] == ["new", "under_verification", "confirmed",
                                                  "confirmed_eliminated"]
    for step in steps:
        expected = names[step["status"]["id"]]
        assert step["status"]["namePl"] == expected["name_pl"]
        assert step["status"]["nameEn"] == expected["name_en"]
        assert step["status"]["isClosed"] == bool(expected.get("closed"))
    times = [datetime.fromisoformat(s["at"]) for s in steps]
    assert all(t.tzinfo is not None for t in times)
    assert before - timedelta(seconds=5) <= times[0] <= times[1] <= times[2] <= times[3] <= datetime.now(UTC)
    # Nothing an officer wrote or is, nothing of the other report.
    text = json.dumps(body)
    for secret in ("Nowak", "patrol 7", "Kowalski", "kwp-14", OFFICER_SUBJECT, "officer",
                   other["report"]["id"], "someone else", "me@example.org"):
        assert secret not in text, secret
    assert all(event["actor"] is None and event["comment"] is None for event in report["history"])


async def test_a_new_report_has_one_step(graphql_client: httpx.AsyncClient, clean_reports: None) -> None:
    mine = await new_report(graphql_client)
    body = await gql(graphql_client, TRACK, {"t": mine["trackingToken"]})
    [step] = body["data"]["reportByToken"]["statusHistory"]
    assert step["status"] == {"id": "new", "namePl": "zgłoszone", "nameEn": "reported", "isClosed": False}


async def test_an_unknown_token_finds_nothing(graphql_client: httpx.AsyncClient) -> None:
    body = await gql(graphql_client, TRACK, {"t": "not-a-token"})
    assert body == {"data": {"reportByToken": None}}


@pytest.mark.parametrize("who", [None, "admin"])
async def test_the_status_history_is_not_public(
        who: str | None, graphql_client: httpx.AsyncClient, settings: Settings,
        app_conn: Any, clean_reports: None) -> None:
    mine = await new_report(graphql_client)
    app_conn.execute("UPDATE core.reports SET published_at = now() WHERE id = %s", [mine["report"]["id"]])
    query = "query($id: ID!) { report(id: $id) { id statusHistory { at } } }"
    body = await gql(graphql_client, query, {"id": mine["report"]["id"]},
                     token(settings, who) if who else None)
    assert body["data"]["report"]["id"] == mine["report"]["id"]   # the public report is there
    assert codes(body) == ["FORBIDDEN"] and body["data"]["report"]["statusHistory"] is None


async def test_staff_see_the_same_status_history(
        graphql_client: httpx.AsyncClient, settings: Settings, clean_reports: None) -> None:
    mine = await new_report(graphql_client)
    analyst = token(settings, "analyst")
    await gql(graphql_client, STATUS, {"id": mine["report"]["id"], "s": "not_confirmed"},
              token(settings, "officer", "kpp-1405"))
    query = "query($id: ID!) { report(id: $id) { statusHistory { status { id } } } }"
    body = await gql(graphql_client, query, {"id": mine["report"]["id"]}, analyst)
    assert [s["status"]["id"] for s in body["data"]["report"]["statusHistory"]] == [
        "new", "under_verification", "not_confirmed"]
