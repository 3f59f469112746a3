"""The Open311 GeoReport v2 door at /open311/v2 (issue 15, point 6), over HTTP with the real app
and PostGIS: discovery, services, service definitions, POST requests with a partner's key, GET
requests and tokens, JSON and XML, the error format, per-key rate limits, and an attacker's view
(no description, contact, media, exact point or time; nobody else's unpublished reports)."""

import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from store import partners
from tests.support import WARSAW, free_port, gql, running_app, token

BASE = "/open311/v2"
DESCRIPTION = "Ciemne przejście, ktoś zbił latarnię przy ul. Prywatnej 7"
EMAIL = "jan.prywatny@example.org"
MEDIA = "https://media.example.org/photo-prywatne.jpg"
POINT = (21.0123456, 52.2298765)   # in Warsaw (kpp-1405 handles it)
STATUS = """mutation($id: ID!, $s: String!) { setReportStatus(id: $id, status: $s) { id status } }"""


@pytest.fixture(scope="module")
async def open311(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as (http, _):
        yield http


@pytest.fixture
def keys(app_conn: psycopg.Connection) -> dict[str, Any]:
    """Two partners, each with a key: a municipal guard and an NGO."""
    guard_id, guard = partners.add_partner(app_conn, "Straż Miejska m.st. Warszawy", "municipal_guard")
    ngo_id, ngo = partners.add_partner(app_conn, "Fundacja Bezpieczna Ulica", "ngo")
    return {"guard": guard, "guard_id": guard_id, "ngo": ngo, "ngo_id": ngo_id}


def post_fields(key: str | None, **changes: Any) -> dict[str, Any]:
    fields = {"api_key": key, "service_code": "vandalism", "lat": POINT[1], "long": POINT[0],
              "description": DESCRIPTION, "email": EMAIL, "first_name": "Jan",
              "last_name": "Prywatny", "phone": "+48 600 100 200", "media_url": MEDIA}
    fields |= changes
    return {k: v for k, v in fields.items() if v is not None}


async def create(http: httpx.AsyncClient, key: str | None, fmt: str = "json",
                 **changes: Any) -> httpx.Response:
    return await http.post(f"{BASE}/requests.{fmt}", data=post_fields(key, **changes))


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict[str, str | None]]:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    document = ET.fromstring(response.content)
    assert document.tag == root
    return [{child.tag: child.text for child in element} for element in document.findall(item)]


def assert_error(response: httpx.Response, status: int, words: str, fmt: str = "json") -> None:
    assert response.status_code == status, response.text
    if fmt == "json":
        body = response.json()
        assert len(body) == 1 and body[0]["code"] == status and words in body[0]["description"], body
    else:
        errors = xml_items(response, "errors", "error")
        assert len(errors) == 1 and errors[0]["code"] == str(status), errors
        assert words in errors[0]["description"], errors


def assert_nothing_private(text: str) -> None:
    for secret in (DESCRIPTION, EMAIL, "Prywatny", "600 100 200", MEDIA, "media.example.org",
                   f"{POINT[0]:.5f}", f"{POINT[1]:.5f}"):
        assert secret not in text, secret


# -- discovery and services ----------------------------------------------------------------------
async def test_discovery_in_json_and_xml(open311: httpx.AsyncClient) -> None:
    body = (await open311.get(f"{BASE}/discovery.json")).json()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    document = ET.fromstring((await open311.get(f"{BASE}/discovery.xml")).content)
    assert document.tag == "discovery"
    assert [f.text for f in document.findall("endpoints/endpoint/formats/format")] == [
        "text/xml", "application/json"]
    assert document.findtext("endpoints/endpoint/type") == "production"


async def test_services_in_polish_by_default_and_english_by_locale(open311: httpx.AsyncClient) -> None:
    polish = (await open311.get(f"{BASE}/services.json")).json()
    english = (await open311.get(f"{BASE}/services.json", params={"locale": "en_GB"})).json()
    by_code = {s["service_code"]: s for s in polish}
    assert by_code["dangerous-entertainment"]["service_name"] == (
        "Miejsce niebezpiecznej działalności rozrywkowej")
    assert by_code["dangerous-entertainment"]["metadata"] is True
    assert by_code["vandalism"]["metadata"] is False
    assert {s["service_code"]: s["service_name"] for s in english}["dangerous-entertainment"] == (
        "Dangerous entertainment venue")
    assert set(polish[0]) == {"service_code", "service_name", "description", "metadata", "type",
                              "keywords", "group"}
    assert all(s["type"] == "realtime" for s in polish)
    services = xml_items(await open311.get(f"{BASE}/services.xml"), "services", "service")
    assert [s["service_code"] for s in services] == [s["service_code"] for s in polish]
    assert {s["service_code"]: s["metadata"] for s in services}["dangerous-entertainment"] == "true"


async def test_service_definition_carries_the_description_rule(open311: httpx.AsyncClient) -> None:
    body = (await open311.get(f"{BASE}/services/dangerous-entertainment.json",
                              params={"locale": "en"})).json()
    assert body["service_code"] == "dangerous-entertainment"
    [attribute] = body["attributes"]
    assert attribute | {"description": None, "datatype_description": None} == {
        "variable": True, "code": "description", "datatype": "text", "required": True, "order": 1,
        "description": None, "datatype_description": None}
    assert "description" in attribute["description"]
    assert (await open311.get(f"{BASE}/services/vandalism.json")).json() == {
        "service_code": "vandalism", "attributes": []}
    document = ET.fromstring((await open311.get(f"{BASE}/services/dangerous-entertainment.xml")).content)
    assert document.tag == "service_definition"
    assert document.findtext("attributes/attribute/required") == "true"
    assert document.findtext("attributes/attribute/code") == "description"
    assert_error(await open311.get(f"{BASE}/services/no-such.json"), 404, "no service")
    assert_error(await open311.get(f"{BASE}/services/no-such.xml"), 404, "no service", "xml")


# -- the walk: POST with a key, read back, an officer's change -----------------------------------
async def test_full_walk_json_and_xml(open311: httpx.AsyncClient, settings: Settings,
                                      keys: dict[str, Any], app_conn: psycopg.Connection,
                                      clean_reports: None) -> None:
    created = await create(open311, keys["guard"])
    assert created.status_code == 201, created.text
    [answer] = created.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id", "token"}
    report_id = answer["service_request_id"]
    row = app_conn.execute(
        "SELECT source, partner_id, description, contact, media_url, ST_X(geom), ST_Y(geom), status "
        "FROM core.reports WHERE id = %s", [report_id]).fetchone()
    assert row == ("municipal_guard", keys["guard_id"], DESCRIPTION,
                   f"Jan Prywatny, {EMAIL}, +48 600 100 200", MEDIA, POINT[0], POINT[1], "new")
    assert app_conn.execute("SELECT actor FROM core.report_events WHERE report_id = %s",
                            [report_id]).fetchone() == (f"partner:{keys['guard_id']}",)

    # the token leads to the request
    assert (await open311.get(f"{BASE}/tokens/{answer['token']}.json")).json() == [
        {"service_request_id": report_id, "token": answer["token"]}]
    assert xml_items(await open311.get(f"{BASE}/tokens/{answer['token']}.xml"), "service_requests",
                     "request") == [{"service_request_id": report_id, "token": answer["token"]}]
    assert_error(await open311.get(f"{BASE}/tokens/not-a-token.json"), 404, "token")

    # not published yet: the public does not see it, its partner does (and no other partner)
    assert_error(await open311.get(f"{BASE}/requests/{report_id}.json"), 404, "no public request")
    assert_error(await open311.get(f"{BASE}/requests/{report_id}.json",
                                   params={"api_key": keys["ngo"]}), 404, "no public request")
    own = await open311.get(f"{BASE}/requests/{report_id}.json", params={"api_key": keys["guard"]})
    [request] = own.json()
    assert (request["status"], request["status_notes"], request["service_code"]) == (
        "open", "zgłoszone", "vandalism")
    assert request["description"] is None and request["media_url"] is None
    assert_nothing_private(own.text)
    listed = (await open311.get(f"{BASE}/requests.json", params={"api_key": keys["guard"]})).json()
    assert [r["service_request_id"] for r in listed] == [report_id]
    assert (await open311.get(f"{BASE}/requests.json", params={"api_key": keys["ngo"]})).json() == []
    assert (await open311.get(f"{BASE}/requests.json")).json() == []

    # an officer takes it up through GraphQL: it is published, its status follows
    officer = token(settings, "officer", "kpp-1405")
    for status in ("confirmed", "confirmed_eliminated"):
        body = await gql(open311, STATUS, {"id": report_id, "s": status}, officer)
        assert body["data"]["setReportStatus"]["status"] == status, body
    own = (await open311.get(f"{BASE}/requests/{report_id}.json",
                             headers={"X-Api-Key": keys["guard"]}, params={"locale": "en"})).json()
    assert (own[0]["status"], own[0]["status_notes"]) == ("closed", "confirmed, eliminated")
    public = await open311.get(f"{BASE}/requests/{report_id}.json")
    [view] = public.json()
    assert (view["status"], view["service_request_id"]) == ("closed", report_id)
    assert view["updated_datetime"] is None
    assert view["requested_datetime"][10:] in ("T00:00:00+01:00", "T00:00:00+02:00")   # Polish midnight
    assert_nothing_private(public.text)
    public_xml = await open311.get(f"{BASE}/requests/{report_id}.xml")
    [item] = xml_items(public_xml, "service_requests", "request")
    assert (item["service_request_id"], item["status"], item["description"]) == (report_id, "closed", None)
    assert_nothing_private(public_xml.text)

    # GET requests: by id, service code, status, dates
    async def ids(**params: Any) -> list[str]:
        return [r["service_request_id"]
                for r in (await open311.get(f"{BASE}/requests.json", params=params)).json()]

    assert await ids() == [report_id]
    assert await ids(status="closed") == [report_id] and await ids(status="open") == []
    assert await ids(service_code="vandalism,begging") == [report_id]
    assert await ids(service_code="begging") == []
    assert await ids(start_date="2020-01-01T00:00:00Z", end_date="2020-02-01T00:00:00Z") == []
    assert await ids(service_request_id=f"{report_id},{uuid.uuid4()}", status="open") == [report_id]
    listed_xml = await open311.get(f"{BASE}/requests.xml", params={"status": "closed"})
    assert [r["service_request_id"] for r in xml_items(listed_xml, "service_requests", "request")] == [
        report_id]
    assert_nothing_private(listed_xml.text)


async def test_a_retry_with_the_same_idempotency_key_adds_nothing(
        open311: httpx.AsyncClient, keys: dict[str, Any], app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    first = (await create(open311, keys["ngo"], idempotency_key="batch-7-item-1")).json()[0]
    again = (await create(open311, keys["ngo"], idempotency_key="batch-7-item-1")).json()[0]
    assert (again["service_request_id"], again["token"]) == (first["service_request_id"], first["token"])
    assert app_conn.execute("SELECT count(*), min(source) FROM core.reports").fetchone() == (1, "ngo")
    assert_error(await create(open311, keys["ngo"], idempotency_key="batch-7-item-1",
                              description="something else"), 409, "different request")
    # another partner's key of the same text is its own
    other = (await create(open311, keys["guard"], idempotency_key="batch-7-item-1")).json()[0]
    assert other["service_request_id"] != first["service_request_id"]


# -- errors ----------------------------------------------------------------------------------------
async def test_post_needs_a_valid_key(open311: httpx.AsyncClient, keys: dict[str, Any],
                                      app_conn: psycopg.Connection, clean_reports: None) -> None:
    assert_error(await create(open311, None), 403, "api_key is required")
    assert_error(await create(open311, None, "xml"), 403, "api_key is required", "xml")
    assert_error(await create(open311, keys["guard"] + "x"), 403, "Invalid api_key")
    assert_error(await create(open311, "not-a-key", "xml"), 403, "Invalid api_key", "xml")
    key_id = app_conn.execute("SELECT id FROM core.partner_keys WHERE prefix = %s",
                              [keys["guard"][:11]]).fetchone()[0]
    partners.revoke_key(app_conn, key_id)
    assert_error(await create(open311, keys["guard"]), 403, "Invalid api_key")
    # a bad key is refused on reads too (rather than read as no key)
    assert_error(await open311.get(f"{BASE}/requests.json", params={"api_key": "tm_bad"}), 403,
                 "Invalid api_key")
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 0


@pytest.mark.parametrize(("changes", "words"), [
    ({"service_code": None}, "service_code is required"),
    ({"service_code": "no-such"}, "no service_code"),
    ({"lat": None, "long": None, "address_string": "ul. Marszałkowska 1"}, "not supported"),
    ({"lat": None}, "lat and long are required"),
    ({"lat": "north"}, "lat must be a number"),
    ({"lat": "95"}, "latitude must be between"),
    ({"lat": "48.85", "long": "2.35"}, "outside Poland"),
    ({"lat": str(WARSAW[0]), "long": str(WARSAW[1])}, "swapped"),
    ({"service_code": "dangerous-entertainment", "description": None}, "need a description"),
    ({"media_url": "file:///etc/passwd"}, "media_url must be an http"),
    ({"media_url": "https://x.org/" + "a" * 2000}, "media_url must be an http"),
    ({"description": "x" * 4001}, "the limit is 4000"),
    ({"email": "a\x01b@example.org"}, "control character"),
    ({"description": "nul \x00 here"}, "NUL"),
    ({"idempotency_key": "k" * 201}, "idempotency_key must be"),
])
async def test_bad_requests_are_400_with_the_reason(open311: httpx.AsyncClient, keys: dict[str, Any],
                                                    app_conn: psycopg.Connection, changes: dict[str, Any],
                                                    words: str, clean_reports: None) -> None:
    assert_error(await create(open311, keys["ngo"], **changes), 400, words)
    assert_error(await create(open311, keys["ngo"], "xml", **changes), 400, words, "xml")
    assert app_conn.execute("SELECT count(*) FROM core.reports").fetchone()[0] == 0


async def test_bad_reads_are_answered_in_the_error_format(open311: httpx.AsyncClient) -> None:
    assert_error(await open311.get(f"{BASE}/services.yaml"), 400, ".json or .xml")
    assert_error(await open311.get(f"{BASE}/requests/abc"), 400, ".json or .xml")
    assert_error(await open311.get(f"{BASE}/requests/abc.json"), 404, "no public request")
    assert_error(await open311.get(f"{BASE}/requests/{uuid.uuid4()}.xml"), 404, "no public request", "xml")
    for params, words in (({"service_request_id": "1,2"}, "UUIDs"),
                          ({"status": "pending"}, "open, closed"),
                          ({"start_date": "yesterday"}, "ISO 8601"),
                          ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
                           "after end_date"),
                          ({"start_date": "2020-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
                           "more than 366 days"),
                          ({"service_code": "a\x00b"}, "NUL"),
                          ({"start_date": "2" * 200}, "digits")):
        assert_error(await open311.get(f"{BASE}/requests.json", params=params), 400, words)
        assert_error(await open311.get(f"{BASE}/requests.xml", params=params), 400, words, "xml")


async def test_the_rate_limit_counts_per_key(settings: Settings, keys: dict[str, Any]) -> None:
    async with running_app(settings.model_copy(update={"partner_rate_limit": "3/minute"})) as (http, _):
        for _ in range(3):
            answer = await http.get(f"{BASE}/requests.json", params={"api_key": keys["ngo"]})
            assert answer.status_code == 200
        limited = await http.get(f"{BASE}/requests.json", params={"api_key": keys["ngo"]})
        assert_error(limited, 429, "Too many requests with this API key")
        assert limited.headers["retry-after"] == "60"
        assert_error(await create(http, keys["ngo"], "xml"), 429, "limit 3 per 1 minute", "xml")
        # another key, and reads without a key, are not limited by it
        assert (await http.get(f"{BASE}/requests.json", params={"api_key": keys["guard"]})).status_code == 200
        assert (await http.get(f"{BASE}/requests.json")).status_code == 200


# -- the attacker ----------------------------------------------------------------------------------
async def test_no_one_reads_another_partners_unpublished_reports(
        open311: httpx.AsyncClient, keys: dict[str, Any], clean_reports: None) -> None:
    mine = (await create(open311, keys["guard"])).json()[0]["service_request_id"]
    for key in (None, keys["ngo"]):
        params = {"api_key": key} if key else {}
        for fmt in ("json", "xml"):
            assert_error(await open311.get(f"{BASE}/requests/{mine}.{fmt}", params=params), 404,
                         "no public request", fmt)
            listed = await open311.get(f"{BASE}/requests.{fmt}",
                                       params=params | {"service_request_id": mine})
            assert listed.status_code == 200 and mine not in listed.text


async def test_public_answers_show_the_public_layer_only(
        open311: httpx.AsyncClient, settings: Settings, keys: dict[str, Any],
        app_conn: psycopg.Connection, clean_reports: None) -> None:
    """A published report of one partner, read by anyone and by another partner, in both formats:
    the cell's centre and the day only, never what was sent privately."""
    report_id = (await create(open311, keys["guard"])).json()[0]["service_request_id"]
    officer = token(settings, "officer", "kpp-1405")
    assert (await gql(open311, STATUS, {"id": report_id, "s": "confirmed"}, officer))["data"]
    cell = app_conn.execute("SELECT ST_X(geom), ST_Y(geom), occurred_on FROM open.reports WHERE id = %s",
                            [report_id]).fetchone()
    for params in ({}, {"api_key": keys["ngo"]}):
        for path in (f"requests/{report_id}", "requests"):
            json_answer = await open311.get(f"{BASE}/{path}.json", params=params)
            [view] = [r for r in json_answer.json() if r["service_request_id"] == report_id]
            assert (view["long"], view["lat"]) == (round(cell[0], 6), round(cell[1], 6))
            assert view["requested_datetime"].startswith(cell[2].isoformat())
            assert view["updated_datetime"] is None
            assert_nothing_private(json_answer.text)
            xml_answer = await open311.get(f"{BASE}/{path}.xml", params=params)
            assert_nothing_private(xml_answer.text)


async def test_media_url_is_never_fetched(open311: httpx.AsyncClient, keys: dict[str, Any],
                                          app_conn: psycopg.Connection, clean_reports: None) -> None:
    """A server the media URL points at hears nothing: the URL is only stored."""
    import asyncio

    heard: list[bytes] = []

    async def listener(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await reader.read(1000))
        writer.close()

    server = await asyncio.start_server(listener, "127.0.0.1", free_port())
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/photo.jpg"
    async with server:
        created = await create(open311, keys["ngo"], media_url=url)
        assert created.status_code == 201, created.text
        report_id = created.json()[0]["service_request_id"]
        await open311.get(f"{BASE}/requests/{report_id}.json", params={"api_key": keys["ngo"]})
        await asyncio.sleep(0.5)
    assert heard == []
    assert app_conn.execute("SELECT media_url FROM core.reports WHERE id = %s",
                            [report_id]).fetchone() == (url,)
