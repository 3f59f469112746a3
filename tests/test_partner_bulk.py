"""POST /partners/v1/reports: a partner's bulk ingest over HTTP, against the real app and PostGIS
(issue 15, point 7)."""

import asyncio
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from store.locations import DatabaseUrls
from store.partners import add_partner
from tests.support import gql, running_app, token

URL = "/partners/v1/reports"
OCCURRED = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
OFFICER_UNIT = "kwp-14"   # handles Warsaw


def item(n: int, **changes: Any) -> dict[str, Any]:
    """A valid report near Warsaw, external id P-<n>."""
    return {"external_id": f"P-{n}", "category": "vandalism", "longitude": 20.9 + (n % 100) * 0.002,
            "latitude": 52.2 + (n // 100 % 100) * 0.001, "occurred_at": OCCURRED,
            "description": f"report {n}", "contact": "guard@example.pl"} | changes


def ndjson(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(i) for i in items).encode()


@pytest.fixture(scope="module")
def partner(urls: DatabaseUrls) -> tuple[Any, str]:
    with psycopg.connect(urls.app) as conn:
        return add_partner(conn, f"Straż Miejska {uuid.uuid4().hex[:6]}", "municipal_guard")


@pytest.fixture(scope="module")
async def app(settings: Settings):
    bulk = settings.model_copy(update={"partner_bulk_rate_limit": "1000000/hour",
                                       "partner_rate_limit": "10000/minute"})
    async with running_app(bulk) as (http, _):
        yield http


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_batch_of_10000_with_duplicates_and_invalid_items_gets_exact_results(
        app: httpx.AsyncClient, partner: tuple[Any, str], app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    partner_id, key = partner
    items: list[Any] = [item(n) for n in range(9000)]
    expected: dict[int, tuple[str, Any]] = {n: ("created", None) for n in range(9000)}
    # 500 repeats of earlier external ids (the first one of each is written)
    for n in range(500):
        expected[len(items)] = ("already_present", f"P-{n * 7}")
        items.append(item(n * 7, description="sent twice"))
    # 500 invalid, each for a named reason
    bad = [({"category": "no-such-category"}, "category"),
           ({"longitude": 13.0, "latitude": 48.0}, "longitude"),
           ({"occurred_at": "2020-01-01T00:00:00+01:00"}, "occurred_at"),
           ({"external_id": ""}, "external_id"),
           ({"description": "x" * 4001}, "description"), ({"unknown": 1}, "unknown"),
           ({"category": "dangerous-entertainment", "description": None}, "description"),
           ({"longitude": 52.2, "latitude": 21.0}, "longitude"), ({"latitude": "52"}, "latitude"),
           ({"contact": "a\u0000b"}, "contact")]
    for n in range(500):
        changes, field = bad[n % len(bad)]
        expected[len(items)] = ("rejected", field)
        items.append(item(20_000 + n, **changes))
    items.insert(9500, "not an object")   # one more: a JSON value that is no report
    expected = {(i if i < 9500 else i + 1): v for i, v in expected.items()}
    expected[9500] = ("rejected", "(item)")
    items = items[:10_000]
    expected = {i: v for i, v in expected.items() if i < 10_000}

    answer = await app.post(URL, content=ndjson(items), headers=auth(key) | {
        "Content-Type": "application/x-ndjson"}, timeout=300)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(10_000))
    ids: dict[str, str] = {}
    for r in results:
        want, detail = expected[r["index"]]
        assert r["result"] == want, r
        if want == "created":
            ids[r["external_id"]] = r["id"]
        elif want == "already_present":
            assert r["id"] == ids[detail], r
        else:
            assert detail in [reason["field"] for reason in r["reasons"]], r
            assert all(reason["message"] for reason in r["reasons"])
    counts = {k: sum(1 for v in expected.values() if v[0] == k)
              for k in ("created", "already_present", "rejected")}
    assert {k: body[k] for k in counts} == counts
    stored = app_conn.execute("SELECT count(*), count(DISTINCT source), min(source) FROM core.reports "
                              "WHERE partner_id = %s", [partner_id]).fetchone()
    assert stored == (9000, 1, "municipal_guard")
    # every report got its `created` event, by the partner
    assert app_conn.execute("SELECT count(*) FROM core.report_events e "
                            "JOIN core.reports r ON r.id = e.report_id "
                            "WHERE r.partner_id = %s AND e.kind = 'created' AND e.actor = %s",
                            [partner_id, f"partner:{partner_id}"]).fetchone()[0] == 9000

    # A retry adds nothing: every item that was written is already present, with the same id.
    again = await app.post(URL, content=ndjson(items), headers=auth(key) | {
        "Content-Type": "application/x-ndjson"}, timeout=300)
    body = again.json()
    assert (body["created"], body["already_present"], body["rejected"]) == (
        0, counts["created"] + counts["already_present"], counts["rejected"])
    for r in body["results"]:
        if r["result"] == "already_present":
            assert r["id"] == ids[r["external_id"]]
    assert app_conn.execute("SELECT count(*) FROM core.reports WHERE partner_id = %s",
                            [partner_id]).fetchone()[0] == 9000


async def test_concurrent_retries_write_each_report_once(
        app: httpx.AsyncClient, partner: tuple[Any, str], app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    partner_id, key = partner
    batch = json.dumps([item(50_000 + n) for n in range(300)])
    answers = await asyncio.gather(*(app.post(URL, content=batch, headers=auth(key) | {
        "Content-Type": "application/json"}, timeout=120) for _ in range(4)))
    bodies = [a.json() for a in answers]
    assert sum(b["created"] for b in bodies) == 300
    assert all(b["created"] + b["already_present"] == 300 for b in bodies)
    ids = {r["external_id"]: r["id"] for r in bodies[0]["results"]}
    assert all({r["external_id"]: r["id"] for r in b["results"]} == ids for b in bodies)
    assert app_conn.execute("SELECT count(*) FROM core.reports WHERE partner_id = %s",
                            [partner_id]).fetchone()[0] == 300


async def test_bulk_reports_reach_the_public_layer_as_single_ones(
        app: httpx.AsyncClient, partner: tuple[Any, str], settings: Settings,
        public_conn: psycopg.Connection, clean_reports: None) -> None:
    _, key = partner
    answer = await app.post(URL, content=gzip.compress(ndjson([item(60_000)])), headers=auth(key) | {
        "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    report = answer.json()["results"][0]["id"]
    assert public_conn.execute("SELECT count(*) FROM open.reports WHERE id = %s", [report]).fetchone()[0] == 0
    opened = await gql(app, "mutation($id: ID!) { openReport(id: $id) { id status } }", {"id": report},
                       token(settings, "officer", OFFICER_UNIT))
    assert opened["data"]["openReport"]["status"] == "under_verification", opened
    row = public_conn.execute("SELECT status, county_code FROM open.reports WHERE id = %s",
                              [report]).fetchone()
    # the county, found by the same trigger as for a citizen's report
    assert row[0] == "under_verification" and row[1] is not None


async def test_the_door_refuses_without_a_key_a_bad_key_and_unreadable_batches(
        app: httpx.AsyncClient, partner: tuple[Any, str]) -> None:
    _, key = partner
    nd = {"Content-Type": "application/x-ndjson"}
    assert (await app.post(URL, content=ndjson([item(1)]), headers=nd)).status_code == 401
    wrong = await app.post(URL, content=ndjson([item(1)]), headers=nd | auth("tm_nothing_x"))
    assert wrong.status_code == 401
    cases = [({"Content-Type": "text/csv"}, b"a,b", 415),
             (nd, b"", 422),
             ({"Content-Type": "application/json"}, b"[1, 2", 400),
             ({"Content-Type": "application/json"},
              json.dumps([item(n) for n in range(10_001)]).encode(), 413),
             (nd | {"Content-Encoding": "gzip"}, b"not gzip", 400),
             (nd | {"Content-Encoding": "br"}, b"x", 415)]
    for headers, body, status in cases:
        answer = await app.post(URL, content=body, headers=headers | auth(key))
        assert answer.status_code == status, (headers, answer.text)
        assert answer.json()["error"]


async def test_the_item_rate_limit_counts_reports_and_writes_nothing_past_it(
        settings: Settings, partner: tuple[Any, str], app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    partner_id, key = partner
    limited = settings.model_copy(update={"partner_bulk_rate_limit": "5/hour",
                                          "partner_rate_limit": "10000/minute"})
    async with running_app(limited) as (http, _):
        headers = auth(key) | {"Content-Type": "application/x-ndjson"}
        first = await http.post(URL, content=ndjson([item(70_000 + n) for n in range(4)]), headers=headers)
        assert first.json()["created"] == 4
        second = await http.post(URL, content=ndjson([item(70_010 + n) for n in range(2)]), headers=headers)
        assert second.status_code == 429 and "per report" in second.json()["error"]
    assert app_conn.execute("SELECT count(*) FROM core.reports WHERE partner_id = %s",
                            [partner_id]).fetchone()[0] == 4
