"""The KMZB workflow (issue 13, points 1-4): `new` until an officer opens it, verdicts,
not-confirmed reports off the public map, forwarding to a named body, the 24 categories with
descriptions required and retired ones kept, deadlines, and the police's response times as
k-suppressed open statistics."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from store.audit import event_hash
from store.privacy import PrivacyPolicy, Publication, apply_policy
from tests.support import WARSAW, codes, gql, insert_report, token
from tests.test_graphql_workflow import STATUS, report_input, submit

OPEN = "mutation($id: ID!) { openReport(id: $id) { id status } }"
FORWARD = """mutation($id: ID!, $s: String!, $to: String) {
    setReportStatus(id: $id, status: $s, forwardTo: $to) { id status forwardedTo } }"""
DEADLINES = """query($id: ID!) { report(id: $id) { status deadlines {
    submittedAt readBy readAt readState verifyBy verifiedAt verifyState } } }"""
HISTORY = """query($id: ID!) { report(id: $id) { history { kind toStatus comment forwardedTo } } }"""
OFFICER_UNIT = "kwp-14"         # Masovian voivodeship unit: handles Warsaw
OTHER_UNIT = "kpp-1201"         # Kraków


def officer(settings: Settings, unit: str = OFFICER_UNIT) -> str:
    return token(settings, "officer", unit)


async def test_opening_reads_a_new_report_once_and_puts_it_under_verification(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = (await submit(graphql_client))["data"]["submitReport"]["report"]
    assert report["status"] == "new"
    assert codes(await gql(graphql_client, OPEN, {"id": report["id"]}, officer(settings, OTHER_UNIT))) == [
        "FORBIDDEN"]
    for _ in range(2):
        body = await gql(graphql_client, OPEN, {"id": report["id"]}, officer(settings))
        assert body["data"]["openReport"]["status"] == "under_verification", body
    events = app_conn.execute("SELECT kind, from_status, to_status FROM core.report_events "
                              "WHERE report_id = %s ORDER BY seq", [report["id"]]).fetchall()
    assert events == [("created", None, None), ("opened", None, None),
                      ("status_changed", "new", "under_verification")]
    body = await gql(graphql_client, DEADLINES, {"id": report["id"]}, officer(settings))
    deadlines = body["data"]["report"]["deadlines"]
    submitted = datetime.fromisoformat(deadlines["submittedAt"])
    assert datetime.fromisoformat(deadlines["readBy"]) - submitted == timedelta(days=2)
    assert datetime.fromisoformat(deadlines["verifyBy"]) - submitted == timedelta(days=5)
    assert deadlines["readAt"] is not None and deadlines["readState"] == "MET"
    assert deadlines["verifiedAt"] is None and deadlines["verifyState"] == "PENDING"


async def test_deadline_states_overdue_and_missed(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=6)
    unread = insert_report(app_conn, created_at=long_ago)
    soon = insert_report(app_conn, created_at=datetime.now(UTC) - timedelta(days=2) + timedelta(hours=3))
    late = insert_report(app_conn, created_at=long_ago)
    await gql(graphql_client, STATUS, {"id": str(late), "s": "confirmed"}, officer(settings))
    states = {}
    for name, report in (("unread", unread), ("soon", soon), ("late", late)):
        body = await gql(graphql_client, DEADLINES, {"id": str(report)}, officer(settings))
        d = body["data"]["report"]["deadlines"]
        states[name] = (d["readState"], d["verifyState"])
    assert states == {"unread": ("OVERDUE", "OVERDUE"), "soon": ("DUE_SOON", "PENDING"),
                      "late": ("MISSED", "MISSED")}


async def test_not_confirmed_leaves_the_public_map_and_counts_but_stays_on_the_list(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        public_conn: psycopg.Connection, urls, clean_reports: None) -> None:
    reports = [insert_report(app_conn, status="under_verification") for _ in range(3)]
    counted = "SELECT coalesce(sum(n), 0) FROM core.area_counts WHERE area_code = '14'"
    assert public_conn.execute("SELECT count(*) FROM open.reports WHERE id = ANY(%s)",
                               [reports]).fetchone()[0] == 3
    before = app_conn.execute(counted).fetchone()[0]
    body = await gql(graphql_client, STATUS, {"id": str(reports[0]), "s": "not_confirmed"}, officer(settings))
    assert body["data"]["setReportStatus"]["status"] == "not_confirmed", body
    assert public_conn.execute("SELECT count(*) FROM open.reports WHERE id = %s",
                               [reports[0]]).fetchone()[0] == 0
    assert app_conn.execute(counted).fetchone()[0] == before - 1
    listed = await gql(graphql_client, """query { staffReports(filter: {statuses: ["not_confirmed"]}) {
        edges { node { id } } } }""", None, officer(settings))
    assert [e["node"]["id"] for e in listed["data"]["staffReports"]["edges"]] == [str(reports[0])]
    # The policy can keep them public (config/privacy.yml publication.not_confirmed).
    with psycopg.connect(urls.app) as conn:
        assert apply_policy(conn, PrivacyPolicy(publication=Publication(not_confirmed=True)))
        try:
            assert public_conn.execute("SELECT status FROM open.reports WHERE id = %s",
                                       [reports[0]]).fetchone() == ("not_confirmed",)
        finally:
            assert apply_policy(conn, PrivacyPolicy())
    assert public_conn.execute("SELECT count(*) FROM open.reports WHERE id = %s",
                               [reports[0]]).fetchone()[0] == 0


async def test_forwarding_names_a_body_from_the_list(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = str(insert_report(app_conn, status="confirmed"))
    bodies = await gql(graphql_client, "{ forwardBodies { id namePl active } }")
    road = {"id": "road-manager", "namePl": "zarządca drogi", "active": True}
    assert road in bodies["data"]["forwardBodies"]
    who = officer(settings)
    missing = await gql(graphql_client, FORWARD, {"id": report, "s": "confirmed_forwarded"}, who)
    assert codes(missing) == ["BAD_USER_INPUT"] and "forwardTo" in missing["errors"][0]["message"]
    unknown = await gql(graphql_client, FORWARD,
                        {"id": report, "s": "confirmed_forwarded", "to": "nasa"}, who)
    assert codes(unknown) == ["BAD_USER_INPUT"]
    misplaced = await gql(graphql_client, FORWARD, {"id": report, "s": "confirmed_eliminated",
                                                    "to": "road-manager"}, who)
    assert codes(misplaced) == ["BAD_USER_INPUT"]
    done = await gql(graphql_client, FORWARD, {"id": report, "s": "confirmed_forwarded",
                                               "to": "road-manager"}, who)
    assert done["data"]["setReportStatus"] == {"id": report, "status": "confirmed_forwarded",
                                               "forwardedTo": "road-manager"}
    # the history names the body as data (the pages say it in the reader's language), the
    # comment is the officer's own; the chain covers the body
    event = app_conn.execute("SELECT comment, forwarded_to FROM core.report_events WHERE report_id = %s "
                             "ORDER BY seq DESC LIMIT 1", [report]).fetchone()
    assert event == (None, "road-manager")
    history = await gql(graphql_client, HISTORY, {"id": report}, who)
    assert history["data"]["report"]["history"][-1] == {
        "kind": "status_changed", "toStatus": "confirmed_forwarded", "comment": None,
        "forwardedTo": "road-manager"}
    stored = app_conn.execute(
        "SELECT previous_hash, seq, kind, from_status, to_status, actor, at, comment, forwarded_to, hash "
        "FROM core.report_events WHERE report_id = %s ORDER BY seq DESC LIMIT 1", [report]).fetchone()
    previous, seq, *content, forwarded_to, digest = stored
    assert bytes(digest) == event_hash(previous, uuid.UUID(report), seq, *content, forwarded_to)
    assert bytes(digest) != event_hash(previous, uuid.UUID(report), seq, *content, None)


async def test_the_24_categories_a_required_description_and_a_retired_category(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        public_conn: psycopg.Connection, clean_reports: None) -> None:
    body = await gql(graphql_client,
                     "{ categories { id namePl descriptionRequired } statuses { id colour } }")
    categories = {c["id"]: c for c in body["data"]["categories"]}
    assert len(categories) == 24
    assert categories["unguarded-level-crossing"]["namePl"] == "Niestrzeżony przejazd kolejowy"
    assert categories["dangerous-waters"]["namePl"] == "Miejsca niebezpieczne na wodach"
    assert categories["unguarded-rail-crossing"]["namePl"] == "Niestrzeżone przejście przez tory"
    assert [c for c, v in categories.items() if v["descriptionRequired"]] == ["dangerous-entertainment"]
    assert {s["id"]: s["colour"] for s in body["data"]["statuses"]} == {
        "new": "#15803d", "under_verification": "#a16207", "confirmed": "#b91c1c",
        "not_confirmed": "#4b5563", "confirmed_eliminated": "#1d4ed8", "confirmed_forwarded": "#7e22ce"}

    refused = await submit(graphql_client, categoryId="dangerous-entertainment", description=None)
    assert codes(refused) == ["BAD_USER_INPUT"] and "description" in refused["errors"][0]["message"]
    blank = await submit(graphql_client, categoryId="dangerous-entertainment", description="   ")
    assert codes(blank) == ["BAD_USER_INPUT"]
    accepted = await submit(graphql_client, categoryId="dangerous-entertainment",
                            description="Loud illegal rave with fireworks")
    assert "errors" not in accepted, accepted

    # Retired: off the form, its reports kept in history and in the public layer.
    kept = insert_report(app_conn, category="begging", status="confirmed", published=True)
    admin = token(settings, "admin")
    retire = 'mutation($a: Boolean!) { setCategoryActive(id: "begging", active: $a) { active } }'
    await gql(graphql_client, retire, {"a": False}, admin)
    try:
        form = await gql(graphql_client, "{ categories { id } }")
        assert "begging" not in {c["id"] for c in form["data"]["categories"]}
        assert codes(await submit(graphql_client, categoryId="begging")) == ["BAD_USER_INPUT"]
        assert public_conn.execute("SELECT category_id FROM open.reports WHERE id = %s",
                                   [kept]).fetchone() == ("begging",)
        everything = await gql(graphql_client, "{ categories(includeInactive: true) { id active } }")
        assert {"id": "begging", "active": False} in everything["data"]["categories"]
    finally:
        await gql(graphql_client, retire, {"a": True}, admin)


RESPONSE_TIMES = """query($u: ID, $from: Date, $to: Date) { responseTimes(policeUnitId: $u,
    monthFrom: $from, monthTo: $to) { policeUnitId month reports read readMedianHours readP90Hours
    readInTimePercent verified verifyMedianHours verifyP90Hours verifiedInTimePercent } }"""


def unit_report(conn: psycopg.Connection, created: datetime, read_h: float | None,
                verify_h: float | None, unit: str = "kpp-1405") -> None:
    report = insert_report(conn, created_at=created, occurred_at=created - timedelta(hours=1))
    conn.execute("UPDATE core.reports SET police_unit_id = %s, read_at = %s, verified_at = %s "
                 "WHERE id = %s",
                 [unit, created + timedelta(hours=read_h) if read_h is not None else None,
                  created + timedelta(hours=verify_h) if verify_h is not None else None, report])


async def test_response_times_are_open_statistics_suppressed_below_k_for_finished_months(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection,
        public_conn: psycopg.Connection, clean_reports: None) -> None:
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=10)).replace(
        day=10, hour=12, minute=0, second=0, microsecond=0)
    # kpp-1405: 4 reports last month, read after 1, 2, 3, 60 hours; 2 verified (below k = 3).
    for read_h, verify_h in ((1, 10), (2, 200), (3, None), (60, None)):
        unit_report(app_conn, last_month, read_h, verify_h)
    # kpp-1201: 2 reports only: no row at all.
    for _ in range(2):
        unit_report(app_conn, last_month, 1, 2, unit="kpp-1201")
    # This month: never shown while it runs.
    for _ in range(5):
        unit_report(app_conn, datetime.now(UTC) - timedelta(minutes=5), 1, 2)
    body = await gql(graphql_client, RESPONSE_TIMES, {})
    assert "errors" not in body, body
    rows = body["data"]["responseTimes"]
    assert rows == [{
        "policeUnitId": "kpp-1405", "month": last_month.date().replace(day=1).isoformat(),
        "reports": 4, "read": 4, "readMedianHours": 2.5, "readP90Hours": 42.9,
        "readInTimePercent": 75.0, "verified": None, "verifyMedianHours": None,
        "verifyP90Hours": None, "verifiedInTimePercent": None}]
    by_parent = await gql(graphql_client, RESPONSE_TIMES, {"u": "kwp-14"})
    assert [r["policeUnitId"] for r in by_parent["data"]["responseTimes"]] == ["kpp-1405"]
    # The public role reads it, and nothing below k is there.
    smallest = public_conn.execute("SELECT min(reports), min(read), min(verified) "
                                   "FROM open.response_times").fetchone()
    assert smallest[0] >= 3 and (smallest[1] is None or smallest[1] >= 3)
    bad = await gql(graphql_client, RESPONSE_TIMES, {"from": "2026-05-01", "to": "2026-01-01"})
    assert codes(bad) == ["BAD_USER_INPUT"]

    # The same figures as an OGC API Features collection, with the unit's area as geometry.
    items = await graphql_client.get("/ogc/collections/police-response-times/items",
                                     params={"f": "json"})
    assert items.status_code == 200, items.text
    features = items.json()["features"]
    assert [f["id"] for f in features] == [f"kpp-1405:{rows[0]['month']}"]
    props = features[0]["properties"]
    assert (props["reports"], props["read_median_hours"], props["verified"]) == (4, 2.5, None)
    assert features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize("status", ["confirmed", "not_confirmed"])
async def test_a_verdict_on_a_new_report_opens_it_first(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None, status: str) -> None:
    report = insert_report(app_conn, lon=WARSAW[0], lat=WARSAW[1])
    body = await gql(graphql_client, STATUS, {"id": str(report), "s": status}, officer(settings))
    assert body["data"]["setReportStatus"]["status"] == status
    read_at, verified_at = app_conn.execute("SELECT read_at, verified_at FROM core.reports WHERE id = %s",
                                            [report]).fetchone()
    assert read_at is not None and verified_at is not None and read_at <= verified_at


def test_report_input_defaults_are_valid_for_the_new_rules() -> None:
    assert report_input()["description"]


WORK = """query($text: String, $states: [DeadlineState!]) {
    staffReports(text: $text, deadlineStates: $states) {
        edges { node { id deadlines { readState verifyState } } } } }"""


def listed(body: dict) -> list[str]:
    assert "errors" not in body, body
    return sorted(e["node"]["id"] for e in body["data"]["staffReports"]["edges"])


async def test_the_work_list_filters_by_words_and_deadline_state(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    now = datetime.now(UTC)
    dogs = str(insert_report(app_conn, description="Trzy wałęsające się PSY przy szkole 100%_sure",
                             created_at=now - timedelta(days=3)))
    cars = str(insert_report(app_conn, description="Wyścigi samochodów nocą", created_at=now))
    read = str(insert_report(app_conn, description="psy i koty", created_at=now - timedelta(days=1)))
    await gql(graphql_client, OPEN, {"id": read}, officer(settings))
    who = officer(settings)
    assert listed(await gql(graphql_client, WORK, {"text": "psy"}, who)) == sorted([dogs, read])
    assert listed(await gql(graphql_client, WORK, {"text": "  PSY   szkole "}, who)) == [dogs]
    assert listed(await gql(graphql_client, WORK, {"text": "100%_"}, who)) == [dogs]
    assert listed(await gql(graphql_client, WORK, {"text": "Tr_y"}, who)) == []   # no wildcards
    assert listed(await gql(graphql_client, WORK, {"text": "%"}, who)) == [dogs]
    assert listed(await gql(graphql_client, WORK, {"states": ["OVERDUE"]}, who)) == [dogs]
    assert listed(await gql(graphql_client, WORK, {"states": ["PENDING"]}, who)) == sorted([cars, read])
    body = await gql(graphql_client, WORK, {"states": ["OVERDUE"]}, who)
    assert body["data"]["staffReports"]["edges"][0]["node"]["deadlines"] == {
        "readState": "OVERDUE", "verifyState": "PENDING"}
    too_many = await gql(graphql_client, WORK, {"text": " ".join(["w"] * 11)}, who)
    assert codes(too_many) == ["BAD_USER_INPUT"]
    anonymous = await gql(graphql_client, WORK, {"text": "psy"})
    assert codes(anonymous) == ["UNAUTHENTICATED"] or codes(anonymous) == ["FORBIDDEN"]


async def test_marking_abusive_and_internal_notes(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        public_conn: psycopg.Connection, clean_reports: None) -> None:
    report = insert_report(app_conn, status="confirmed", published=True)
    assert public_conn.execute("SELECT count(*) FROM open.reports WHERE id = %s", [report]).fetchone()[0] == 1
    mark = 'mutation($id: ID!) { markReportAbusive(id: $id, comment: "spam") { id } }'
    note = 'mutation($id: ID!, $t: String!) { addReportNote(id: $id, text: $t) { id } }'
    assert codes(await gql(graphql_client, mark, {"id": str(report)}, officer(settings, OTHER_UNIT))) == [
        "FORBIDDEN"]
    assert "errors" not in await gql(graphql_client, mark, {"id": str(report)}, officer(settings))
    public = "SELECT count(*) FROM open.reports WHERE id = %s"
    assert public_conn.execute(public, [report]).fetchone()[0] == 0
    again = await gql(graphql_client, mark, {"id": str(report)}, officer(settings))
    assert codes(again) == ["BAD_USER_INPUT"]
    assert "errors" not in await gql(graphql_client, note, {"id": str(report), "t": "called the school"},
                                     officer(settings))
    assert codes(await gql(graphql_client, note, {"id": str(report), "t": "  "}, officer(settings))) == [
        "BAD_USER_INPUT"]
    events = app_conn.execute("SELECT kind, comment FROM core.report_events WHERE report_id = %s "
                              "ORDER BY seq", [report]).fetchall()
    assert events[-2:] == [("marked_abusive", "spam"), ("note", "called the school")]
