"""The reporting and verification workflow through HTTP: submitting (idempotency, validation,
rate limit), the citizen's token, the officers' state machine and hand-over, admin, limits."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from tests.support import WARSAW, codes, gql, insert_report, running_app, token

SUBMIT = """mutation($input: SubmitReportInput!, $key: String) {
    submitReport(input: $input, idempotencyKey: $key) {
        trackingToken report { id status category { id } location { longitude latitude } } } }"""
KRAKOW = (19.94, 50.06)


def report_input(**changes: Any) -> dict[str, Any]:
    occurred = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    return {"categoryId": "illegal-dumping", "longitude": WARSAW[0], "latitude": WARSAW[1],
            "occurredAt": occurred, "description": "Rubbish dumped by the river",
            "contact": "citizen@example.org"} | changes


async def submit(client: httpx.AsyncClient, key: str | None = None, **changes: Any) -> dict[str, Any]:
    return await gql(client, SUBMIT, {"input": report_input(**changes), "key": key})


async def test_submit_stores_the_report_and_only_a_hash_of_the_token(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    body = await submit(graphql_client)
    assert "errors" not in body, body
    payload = body["data"]["submitReport"]
    assert payload["report"]["status"] == "new"
    assert payload["report"]["location"] != {"longitude": WARSAW[0], "latitude": WARSAW[1]}
    row = app_conn.execute("SELECT description, contact, tracking_token_hash, source FROM core.reports "
                           "WHERE id = %s", [payload["report"]["id"]]).fetchone()
    assert row[:2] == ("Rubbish dumped by the river", "citizen@example.org")
    assert payload["trackingToken"].encode() not in bytes(row[2]) and len(row[2]) == 32
    assert row[3] == "citizen"
    events = app_conn.execute("SELECT kind, actor FROM core.report_events WHERE report_id = %s",
                              [payload["report"]["id"]]).fetchall()
    assert events == [("created", "citizen")]


async def test_same_key_same_payload_is_the_same_report(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    fixed = report_input()
    first = await gql(graphql_client, SUBMIT, {"input": fixed, "key": "key-1"})
    again = await gql(graphql_client, SUBMIT, {"input": fixed, "key": "key-1"})
    assert first["data"]["submitReport"]["report"]["id"] == again["data"]["submitReport"]["report"]["id"]
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 1
    # Only a hash is kept: the replay hands out the token again (derived from the key), and it works.
    newest = again["data"]["submitReport"]["trackingToken"]
    found = await gql(graphql_client, "query($t: String!) { reportByToken(token: $t) { id } }",
                      {"t": newest})
    assert found["data"]["reportByToken"]["id"] == first["data"]["submitReport"]["report"]["id"]


async def test_same_key_different_payload_is_a_conflict(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    assert "errors" not in await submit(graphql_client, key="key-2")
    body = await submit(graphql_client, key="key-2", description="something else")
    assert codes(body) == ["CONFLICT"]
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 1


async def test_concurrent_submissions_with_one_key_make_one_report(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    fixed = report_input()
    bodies = await asyncio.gather(*[gql(graphql_client, SUBMIT, {"input": fixed, "key": "key-3"})
                                    for _ in range(8)])
    assert all("errors" not in b for b in bodies), bodies
    assert len({b["data"]["submitReport"]["report"]["id"] for b in bodies}) == 1
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 1
    assert app_conn.execute("SELECT count(*) FROM core.report_events").fetchone()[0] == 1


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"longitude": WARSAW[1], "latitude": WARSAW[0]}, "longitude", "swapped"),
    ({"longitude": 2.35, "latitude": 48.85}, "longitude", "outside Poland"),
    ({"longitude": 200.0}, "longitude", "between -180 and 180"),
    ({"latitude": 95.0}, "latitude", "between -90 and 90"),
    ({"categoryId": "no-such-thing"}, "categoryId", "no category"),
    ({"occurredAt": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "occurredAt", "future"),
    ({"occurredAt": (datetime.now(UTC) - timedelta(days=400)).isoformat()}, "occurredAt", "days ago"),
    ({"occurredAt": "2026-01-01T10:00:00"}, "occurredAt", "time zone"),
    ({"description": "x" * 4001}, "description", "limit is 4000"),
    ({"contact": "y" * 501}, "contact", "limit is 500"),
    ({"description": "bell\x07"}, "description", "control character"),
    ({"contact": "a\nb"}, "contact", "control character"),
])
async def test_each_validation_error_is_bad_user_input(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None,
        changes: dict[str, Any], field: str, words: str) -> None:
    body = await submit(graphql_client, **changes)
    assert codes(body) == ["BAD_USER_INPUT"], body
    error = body["errors"][0]
    assert words in error["message"] and error["extensions"]["field"] == field
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 0


async def test_non_finite_and_mistyped_values_are_bad_user_input(graphql_client: httpx.AsyncClient) -> None:
    for changes in ({"longitude": "east"}, {"occurredAt": "yesterday"}, {"latitude": None}):
        body = await submit(graphql_client, **changes)
        assert codes(body) == ["BAD_USER_INPUT"], body
    body = await gql(graphql_client, """mutation { submitReport(input: {categoryId: "vandalism",
        longitude: 1e999, latitude: 52, occurredAt: "2026-01-01T00:00:00Z"}) { trackingToken } }""")
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_inactive_category_is_refused_and_only_admin_may_change_it(
        graphql_client: httpx.AsyncClient, settings: Settings, clean_reports: None) -> None:
    mutation = 'mutation($a: Boolean!) { setCategoryActive(id: "begging", active: $a) { active } }'
    for who in (None, token(settings, "officer", "kpp-1405"), token(settings, "analyst")):
        assert codes(await gql(graphql_client, mutation, {"a": False}, who)) == ["FORBIDDEN"]
    admin = token(settings, "admin")
    try:
        assert (await gql(graphql_client, mutation, {"a": False}, admin))["data"] == {
            "setCategoryActive": {"active": False}}
        body = await submit(graphql_client, categoryId="begging")
        assert codes(body) == ["BAD_USER_INPUT"] and "no longer" in body["errors"][0]["message"]
    finally:
        await gql(graphql_client, mutation, {"a": True}, admin)


STATUS = """mutation($id: ID!, $s: String!, $c: String) {
    setReportStatus(id: $id, status: $s, comment: $c) { id status } }"""


async def test_state_machine_and_audit_trail(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn))
    officer = token(settings, "officer", "kpp-1405")
    body = await gql(graphql_client, STATUS, {"id": report, "s": "confirmed_eliminated"}, officer)
    assert codes(body) == ["BAD_USER_INPUT"] and "cannot go" in body["errors"][0]["message"]
    body = await gql(graphql_client, STATUS, {"id": report, "s": "solved"}, officer)
    assert codes(body) == ["BAD_USER_INPUT"] and "no status" in body["errors"][0]["message"]
    for status in ("confirmed", "confirmed_eliminated"):
        body = await gql(graphql_client, STATUS, {"id": report, "s": status, "c": "checked"}, officer)
        assert body["data"]["setReportStatus"]["status"] == status, body
    body = await gql(graphql_client, STATUS, {"id": report, "s": "confirmed"}, officer)
    assert codes(body) == ["BAD_USER_INPUT"]
    events = app_conn.execute("SELECT from_status, to_status, actor, comment FROM core.report_events "
                              "WHERE report_id = %s ORDER BY id", [report]).fetchall()
    assert events == [  # a new report is opened first: read, and under verification
        (None, None, "officer:test-officer@kpp-1405", None),
        ("new", "under_verification", "officer:test-officer@kpp-1405", None),
        ("under_verification", "confirmed", "officer:test-officer@kpp-1405", "checked"),
        ("confirmed", "confirmed_eliminated", "officer:test-officer@kpp-1405", "checked")]
    assert app_conn.execute("SELECT status FROM open.reports WHERE id = %s", [report]).fetchone() == (
        "confirmed_eliminated",)


async def test_who_may_change_status(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn))
    variables = {"id": report, "s": "confirmed"}
    for who in (None, token(settings, "analyst"), token(settings, "admin"),
                token(settings, "officer", "kpp-1201"), token(settings, "officer", "kpp-9999")):
        assert codes(await gql(graphql_client, STATUS, variables, who)) == ["FORBIDDEN"]
    missing = {"id": "00000000-0000-0000-0000-000000000000", "s": "confirmed"}
    assert codes(await gql(graphql_client, STATUS, missing, token(settings, "officer", "kwp-14"))) == [
        "NOT_FOUND"]
    body = await gql(graphql_client, STATUS, variables, token(settings, "officer", "kwp-14"))
    assert body["data"]["setReportStatus"]["status"] == "confirmed"


async def test_assign_hands_the_report_to_another_unit(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn))
    assign = """mutation($id: ID!, $u: String!) { assignReport(id: $id, policeUnitId: $u,
        comment: "their case") { id } }"""
    krakow = token(settings, "officer", "kpp-1201")
    assert codes(await gql(graphql_client, STATUS, {"id": report, "s": "confirmed"}, krakow)) == [
        "FORBIDDEN"]
    assert codes(await gql(graphql_client, assign, {"id": report, "u": "kpp-1201"}, krakow)) == [
        "FORBIDDEN"]
    warsaw = token(settings, "officer", "kpp-1405")
    assert codes(await gql(graphql_client, assign, {"id": report, "u": "kpp-0000"}, warsaw)) == [
        "NOT_FOUND"]
    assert "errors" not in await gql(graphql_client, assign, {"id": report, "u": "kpp-1201"}, warsaw)
    body = await gql(graphql_client, STATUS, {"id": report, "s": "confirmed"}, krakow)
    assert body["data"]["setReportStatus"]["status"] == "confirmed"
    assert app_conn.execute("SELECT kind, comment FROM core.report_events WHERE report_id = %s "
                            "ORDER BY id LIMIT 1", [report]).fetchone() == ("assigned",
                                                                             "to kpp-1201: their case")


async def test_citizen_token_shows_status_history_and_takes_information_while_open(
        graphql_client: httpx.AsyncClient, settings: Settings, clean_reports: None) -> None:
    payload = (await submit(graphql_client))["data"]["submitReport"]
    tracking = payload["trackingToken"]
    add = """mutation($t: String!, $x: String!) { addReportInformation(token: $t, text: $x) {
        history { kind actor comment } } }"""
    body = await gql(graphql_client, add, {"t": tracking, "x": "It is still there"})
    assert body["data"]["addReportInformation"]["history"] == [
        {"kind": "created", "actor": None, "comment": None},
        {"kind": "information_added", "actor": None, "comment": "It is still there"}]
    by_token = """query($t: String!) { reportByToken(token: $t) { status history { kind toStatus } } }"""
    officer = token(settings, "officer", "kpp-1405")
    await gql(graphql_client, STATUS, {"id": payload["report"]["id"], "s": "not_confirmed",
                                       "c": "internal note"}, officer)
    body = await gql(graphql_client, by_token, {"t": tracking})
    assert body["data"]["reportByToken"]["status"] == "not_confirmed"
    assert "internal note" not in json.dumps(body)
    for field in ("description", "contact", "exactLocation { latitude }"):
        query = "query($t: String!) { reportByToken(token: $t) { FIELD } }".replace("FIELD", field)
        assert codes(await gql(graphql_client, query, {"t": tracking})) == ["FORBIDDEN"]
    body = await gql(graphql_client, add, {"t": tracking, "x": "more"})
    assert codes(body) == ["BAD_USER_INPUT"] and "closed" in body["errors"][0]["message"]
    assert (await gql(graphql_client, by_token, {"t": "wrong"}))["data"]["reportByToken"] is None
    assert codes(await gql(graphql_client, add, {"t": "wrong", "x": "hi"})) == ["NOT_FOUND"]


async def test_rate_limit_counts_aliases_and_ignores_untrusted_forwarded_for(
        settings: Settings, clean_reports: None) -> None:
    limited = settings.model_copy(update={"submit_rate_limit": "3/minute"})
    one = report_input()
    async with running_app(limited, peer=("203.0.113.7", 4000)) as (client, _):
        aliased = "mutation($i: SubmitReportInput!) { " + " ".join(
            f"a{n}: submitReport(input: $i) {{ trackingToken }}" for n in range(5)) + " }"
        body = await gql(client, aliased, {"i": one})
        assert sorted(codes(body)) == ["RATE_LIMITED", "RATE_LIMITED"], body
        assert [body["data"][f"a{n}"] is not None for n in range(5)] == [True] * 3 + [False] * 2
        body = await gql(client, SUBMIT, {"input": one}, headers={"X-Forwarded-For": "198.51.100.1"})
        assert codes(body) == ["RATE_LIMITED"]
    trusting = limited.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    async with running_app(trusting, peer=("10.1.2.3", 4000)) as (client, _):
        for n in range(2):
            for _ in range(3):
                body = await gql(client, SUBMIT, {"input": one},
                                 headers={"X-Forwarded-For": f"198.51.100.{n}, 10.9.9.9"})
                assert "errors" not in body, body
        body = await gql(client, SUBMIT, {"input": one}, headers={"X-Forwarded-For": "198.51.100.0"})
        assert codes(body) == ["RATE_LIMITED"]


async def test_request_limits(graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    huge = await graphql_client.post("/graphql", content=b"{" + b" " * (settings.graphql_max_body_bytes + 1),
                                     headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def chunks():
        for _ in range(settings.graphql_max_body_bytes // 1024 + 2):
            yield b" " * 1024
    streamed = await graphql_client.post("/graphql", content=chunks(),
                                         headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    async with running_app(settings.model_copy(update={"graphql_max_depth": 3})) as (shallow, _):
        body = await gql(shallow, "{ reports { edges { node { category { id } } } } }")
    assert codes(body) == ["BAD_USER_INPUT"] and "depth" in body["errors"][0]["message"]
    nested = "{ reports { edges { node { policeUnit { area { code } } } } } }"
    body = await gql(graphql_client, "query { a: statuses { id } " + " ".join(
        f"x{n}: statuses {{ id }}" for n in range(40)) + " }")
    assert codes(body) == ["BAD_USER_INPUT"] and "aliases" in body["errors"][0]["message"]
    body = await gql(graphql_client, "{ statuses { id " + "id " * 4000 + "} }")
    assert codes(body) == ["BAD_USER_INPUT"] and "token" in body["errors"][0]["message"].lower()
    assert "errors" not in await gql(graphql_client, nested)


async def test_syntax_errors_have_a_code_and_no_suggestions_for_anonymous(
        graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    body = await gql(graphql_client, "{ statusez { id } }")
    assert codes(body) == ["BAD_USER_INPUT"] and "Did you mean" not in body["errors"][0]["message"]
    body = await gql(graphql_client, "{ statusez { id } }", token=token(settings, "analyst"))
    assert "Did you mean" in body["errors"][0]["message"]
    body = await gql(graphql_client, "{ statuses { id ")
    assert codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic eDp5", "", "Bearer"])
async def test_a_bad_authorization_header_does_not_buy_field_suggestions(
        graphql_client: httpx.AsyncClient, header: str) -> None:
    """Suggestions map the private fields that introspection (off) would list: a caller whose
    header names no valid token is anonymous for them too."""
    body = await gql(graphql_client, "{ reports { edges { node { descriptio contac } } } }",
                     headers={"Authorization": header})
    assert body["errors"]
    for error in body["errors"]:
        assert "Did you mean" not in error["message"], error


async def test_unexpected_errors_are_masked(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn, published=True))
    app_conn.execute("ALTER TABLE core.report_events RENAME TO report_events_away")
    try:
        body = await gql(graphql_client, "query($id: ID!) { report(id: $id) { history { kind } } }",
                         {"id": report}, token(settings, "analyst"))
    finally:
        app_conn.execute("ALTER TABLE core.report_events_away RENAME TO report_events")
    assert codes(body) == ["INTERNAL"]
    assert "report_events" not in json.dumps(body)


def test_token_command_mints_a_token_the_gateway_accepts(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli import main
    from gateway.graphql.auth import viewer_from_header

    monkeypatch.setenv("THREATMAP_JWT_SECRET", "a-secret-for-this-test-only-32-bytes-long")
    main(["token", "--role", "officer", "--unit", "kpp-1401", "--hours", "8"])
    minted = capsys.readouterr().out.strip()
    viewer = viewer_from_header("a-secret-for-this-test-only-32-bytes-long", f"Bearer {minted}")
    assert viewer is not None and (viewer.role, viewer.unit) == ("officer", "kpp-1401")
    with pytest.raises(SystemExit, match="police unit"):
        main(["token", "--role", "officer"])


INTROSPECT = "{ __schema { types { name } } }"


async def test_introspection_is_on_by_default_and_a_setting_turns_it_off(
        graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    body = await gql(graphql_client, INTROSPECT)
    assert "Report" in {t["name"] for t in body["data"]["__schema"]["types"]}
    async with running_app(settings.model_copy(update={"graphql_introspection": False})) as (http, _):
        for _ in range(2):   # the second time from the validation cache
            body = await gql(http, INTROSPECT)
            assert set(codes(body)) == {"BAD_USER_INPUT"} and body.get("data") is None, body
            body = await gql(http, '{ __type(name: "Report") { fields { name } } }',
                             token=token(settings, "analyst"))
            assert set(codes(body)) == {"BAD_USER_INPUT"} and "description" not in json.dumps(body)
        assert "errors" not in await gql(http, "{ statuses { id } }")
