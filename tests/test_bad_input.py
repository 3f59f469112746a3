"""Bad input gets a clear refusal, never a 5xx (issue 10, point 2): JSON bodies of the wrong
shape, numbers of thousands of digits, NUL bytes and lone surrogates, at every door. A 400 (or a
GraphQL error with the code BAD_USER_INPUT) that says what is wrong."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from tests.support import codes, gql_raw, json_body, token

HUGE = "1" * 5000                   # past Python's int-parsing limit (4300 digits)
NUL = "\x00"
SURROGATE = "\ud800"                # a lone surrogate: no character, UTF-8 cannot encode it
BAD_TEXT = {"nul": (NUL, "U+0000"), "surrogate": (SURROGATE, "U+D800")}
A_UUID = "6f1c8f1e-6a3b-4c55-9d4e-2b7f0a1c3d5e"


def assert_refused(response: httpx.Response, *words: str) -> str:
    """A 4xx (never a 5xx) whose body says something of `words`; returns the body's text."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    text = response.text
    for word in words:
        assert word.lower() in text.lower(), (word, text)
    return text


def assert_bad_user_input(response: httpx.Response, *words: str) -> dict[str, Any]:
    """A GraphQL answer whose one error is BAD_USER_INPUT and says `words`, and no data."""
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert not body.get("data"), body
    message = body["errors"][0]["message"]
    for word in words:
        assert word in message, (word, message)
    return body


# --- GraphQL: the shape of the JSON body ------------------------------------------------------
@pytest.mark.parametrize("body", [b"null", b'"a string"', b"42", b"-1.5", b"true", b"false"])
async def test_a_json_body_that_is_not_an_object_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    assert_refused(await gql_raw(client, body), "JSON object")


@pytest.mark.parametrize("body", [b"\x80", b'{"query": "\xff"}', b'["\xc3"]'])
async def test_a_json_body_that_is_not_utf8_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    """Found by tests/test_fuzz.py (a 500: UnicodeDecodeError)."""
    assert_refused(await gql_raw(client, body))


async def test_a_json_body_nested_too_deep_to_parse_is_a_400(client: httpx.AsyncClient) -> None:
    deep = b'{"query": "{ statuses { id } }", "variables": {"x": ' + b"[" * 30000 + b"]" * 30000 + b"}}"
    assert_refused(await gql_raw(client, deep), "nested")


# --- GraphQL: numbers of thousands of digits --------------------------------------------------
@pytest.mark.parametrize("query", [
    "query($v: Int!) { reports(first: $v) { totalCount } }",
    "query($v: Float!) { reports(filter: {bbox: {west: $v, south: 50, east: 21, north: 53}}) "
    "{ totalCount } }",
    "query($v: ID!) { report(id: $v) { id } }",
    "query($v: ID!) { category(id: $v) { id } }",
], ids=["Int", "Float", "ID", "category-ID"])
async def test_a_variable_of_thousands_of_digits_is_a_400(client: httpx.AsyncClient, query: str) -> None:
    body = b'{"query": ' + json_body(query) + b', "variables": {"v": ' + HUGE.encode() + b"}}"
    assert_refused(await gql_raw(client, body), "5000 digits")


async def test_a_literal_of_thousands_of_digits_is_bad_user_input(client: httpx.AsyncClient) -> None:
    response = await gql_raw(client, json_body({"query": f"{{ reports(first: {HUGE}) {{ totalCount }} }}"}))
    assert_bad_user_input(response, "Int")


async def test_a_get_with_a_variable_of_thousands_of_digits_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={
        "query": "query($v: Int!) { reports(first: $v) { totalCount } }", "variables": f'{{"v": {HUGE}}}'})
    assert_refused(response, "5000 digits")


# --- GraphQL: NUL and lone surrogates in every string argument --------------------------------
def _recent() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


SUBMIT = ("mutation($s: String!, $at: DateTime!) {{ submitReport({key}input: {{{fields}}}) "
          "{{ trackingToken }} }}")
SUBMIT_FIELDS = {"categoryId": '"vandalism"', "longitude": "21.01", "latitude": "52.23",
                 "occurredAt": "$at"}


def _submit(field: str | None = None, key: bool = False) -> str:
    fields = SUBMIT_FIELDS | ({field: "$s"} if field else {})
    return SUBMIT.format(key="idempotencyKey: $s, " if key else "",
                         fields=", ".join(f"{name}: {value}" for name, value in fields.items()))


# (name, query with a variable $s of the string argument, the caller's role or None)
STRING_ARGUMENTS = [
    ("category.id", "query($s: ID!) { category(id: $s) { id } }", None),
    ("report.id", "query($s: ID!) { report(id: $s) { id } }", None),
    ("reports.after", "query($s: String) { reports(after: $s) { totalCount } }", None),
    ("reports.categories", "query($s: String!) { reports(filter: {categories: [\"vandalism\", $s]}) "
                           "{ totalCount } }", None),
    ("reports.statuses", "query($s: String!) { reports(filter: {statuses: [$s]}) { totalCount } }", None),
    ("reports.areaCode", "query($s: String) { reports(filter: {areaCode: $s}) { totalCount } }", None),
    ("reports.source", "query($s: String) { reports(filter: {source: $s}) { totalCount } }", "analyst"),
    ("staffReports.categories", "query($s: String!) { staffReports(filter: {categories: [$s]}) "
                                "{ totalCount } }", "analyst"),
    ("staffReports.areaCode", "query($s: String!) { staffReports(filter: {areaCode: $s}) "
                              "{ totalCount } }", "analyst"),
    ("staffReports.after", "query($s: String!) { staffReports(after: $s) { totalCount } }", "analyst"),
    ("stats.categories", "query($s: String!) { stats(groupBy: [CATEGORY], filter: {categories: [$s]}) "
                         "{ count } }", None),
    ("stats.statuses", "query($s: String!) { stats(groupBy: [STATUS], filter: {statuses: [$s]}) "
                       "{ count } }", None),
    ("stats.areaCode", "query($s: String!) { stats(groupBy: [AREA], filter: {areaCode: $s}) { count } }",
     None),
    ("reportByToken.token", "query($s: String!) { reportByToken(token: $s) { id } }", None),
    ("submitReport.categoryId", _submit("categoryId"), None),
    ("submitReport.description", _submit("description"), None),
    ("submitReport.contact", _submit("contact"), None),
    ("submitReport.idempotencyKey", _submit(key=True), None),
    ("addReportInformation.token",
     "mutation($s: String!) { addReportInformation(token: $s, text: \"more\") { id } }", None),
    ("addReportInformation.text",
     "mutation($s: String!) { addReportInformation(token: \"t\", text: $s) { id } }", None),
    ("setReportStatus.id", "mutation($s: ID!) { setReportStatus(id: $s, status: \"confirmed\") { id } }",
     "officer"),
    ("setReportStatus.status",
     f"mutation($s: String!) {{ setReportStatus(id: \"{A_UUID}\", status: $s) {{ id }} }}", "officer"),
    ("setReportStatus.comment", f"mutation($s: String!) {{ setReportStatus(id: \"{A_UUID}\", "
                                "status: \"confirmed\", comment: $s) { id } }", "officer"),
    ("assignReport.id", "mutation($s: ID!) { assignReport(id: $s, policeUnitId: \"kpp-1405\") { id } }",
     "officer"),
    ("assignReport.policeUnitId",
     f"mutation($s: String!) {{ assignReport(id: \"{A_UUID}\", policeUnitId: $s) {{ id }} }}", "officer"),
    ("setCategoryActive.id", "mutation($s: ID!) { setCategoryActive(id: $s, active: true) { id } }",
     "admin"),
]


@pytest.mark.parametrize("kind", list(BAD_TEXT))
@pytest.mark.parametrize(("name", "query", "role"), STRING_ARGUMENTS, ids=[c[0] for c in STRING_ARGUMENTS])
async def test_nul_or_a_lone_surrogate_in_any_string_argument_is_bad_user_input(
        graphql_client: httpx.AsyncClient, settings: Settings, name: str, query: str, role: str | None,
        kind: str) -> None:
    character, code_point = BAD_TEXT[kind]
    variables = {"s": f"vandal{character}ism"}
    if "$at" in query:
        variables["at"] = _recent()
    bearer = token(settings, role, "kpp-1405" if role == "officer" else None) if role else None
    response = await gql_raw(graphql_client, json_body({"query": query, "variables": variables}), bearer)
    body = assert_bad_user_input(response, code_point)
    assert body["errors"][0]["extensions"].get("variable") == "s"


@pytest.mark.parametrize("kind", list(BAD_TEXT))
async def test_bad_text_deep_in_a_variable_or_as_an_object_key_is_bad_user_input(
        client: httpx.AsyncClient, kind: str) -> None:
    character, code_point = BAD_TEXT[kind]
    query = "query($f: ReportFilter) { reports(filter: $f) { totalCount } }"
    for bad in ({"categories": ["vandalism", "x", f"y{character}"]}, {f"area{character}Code": "14"}):
        response = await gql_raw(client, json_body({"query": query, "variables": {"f": bad}}))
        assert_bad_user_input(response, code_point)


async def test_nul_in_a_string_literal_of_the_document_is_bad_user_input(client: httpx.AsyncClient) -> None:
    for query in ('{ category(id: "vandal\\u0000ism") { id } }',
                  'query($c: [String!] = ["\\u0000"]) { reports(filter: {categories: $c}) { totalCount } }',
                  '{ stats(groupBy: [AREA], filter: {areaCode: """14\u0000""" }) { count } }'):
        assert_bad_user_input(await gql_raw(client, json_body({"query": query})), "U+0000")


async def test_good_text_in_every_script_still_passes(graphql_client: httpx.AsyncClient) -> None:
    query = "query($s: ID!) { category(id: $s) { id } }"
    for text in ("Zażółć gęślą jaźń", "ДТП 🚗", "\ufeff", "tab\tand\nline"):
        response = await gql_raw(graphql_client, json_body({"query": query, "variables": {"s": text}}))
        assert response.status_code == 200 and response.json() == {"data": {"category": None}}, response.text


# --- tiles: addresses and filters -------------------------------------------------------------
TILE_PATHS = [
    "/tiles/reports/{z}/{x}/{y}.mvt",
    "/ogc/collections/reports/tiles/WebMercatorQuad/{z}/{y}/{x}",
]


@pytest.mark.parametrize("template", TILE_PATHS, ids=["xyz", "ogc"])
@pytest.mark.parametrize("where", ["z", "x", "y"])
async def test_a_tile_address_of_thousands_of_digits_is_a_400(client: httpx.AsyncClient, template: str,
                                                              where: str) -> None:
    address = {"z": "3", "x": "1", "y": "2"} | {where: HUGE}
    assert_refused(await client.get(template.format(**address)), "digits")


@pytest.mark.parametrize("path", [*(t.format(z=3, x=4, y=2) for t in TILE_PATHS), "/tiles/reports.json"],
                         ids=["xyz", "ogc", "tilejson"])
@pytest.mark.parametrize("param", ["categories", "statuses", "from", "to"])
async def test_nul_in_a_tile_filter_is_a_400(client: httpx.AsyncClient, path: str, param: str) -> None:
    for value in (NUL, f"2026-01-01{NUL}", f"vandalism,{NUL}"):
        assert_refused(await client.get(path, params={param: value}), param)


async def test_nul_in_the_format_of_an_ogc_tile_is_a_400(client: httpx.AsyncClient) -> None:
    assert_refused(await client.get(TILE_PATHS[1].format(z=3, x=4, y=2), params={"f": f"mvt{NUL}"}), "f")


# --- OGC API Features ----------------------------------------------------------------------------
async def ogc_items(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get("/ogc/collections/reports/items", params={"f": "json", **params})


@pytest.mark.parametrize("params", [
    {"limit": HUGE}, {"offset": HUGE}, {"bbox": f"{HUGE},50,21,53"}, {"bbox": f"20,50,21,{HUGE}"},
    {"datetime": f"{HUGE}-01-01"}, {"filter": f"cell_m = {HUGE}"}, {"county_code": HUGE},
], ids=["limit", "offset", "bbox-first", "bbox-last", "datetime", "filter", "property"])
async def test_ogc_numbers_of_thousands_of_digits_are_a_400(client: httpx.AsyncClient,
                                                             params: dict[str, str]) -> None:
    response = await ogc_items(client, **params)
    assert response.status_code == 400, (response.status_code, response.text)
    assert "5000 digits" in response.text and "set_int_max_str_digits" not in response.text


async def test_ogc_item_ids_of_thousands_of_digits_are_a_400(client: httpx.AsyncClient) -> None:
    for collection in ("reports", "area-statistics", "report-density", "categories", "police-units"):
        response = await client.get(f"/ogc/collections/{collection}/items/{HUGE}", params={"f": "json"})
        assert response.status_code == 400, (collection, response.status_code, response.text)
        assert "5000 digits" in response.text


@pytest.mark.parametrize("collection", ["reports", "area-statistics", "report-density", "categories",
                                        "police-units"])
@pytest.mark.parametrize("form", ["json", "html"])
async def test_nul_in_an_ogc_item_id_is_a_400(client: httpx.AsyncClient, collection: str, form: str) -> None:
    for item in ("%00", "vandal%00ism", "14%00:vandalism:confirmed:2026-03-01"):
        response = await client.get(f"/ogc/collections/{collection}/items/{item}", params={"f": form})
        assert response.status_code == 400, (item, response.status_code, response.text)
        assert "U+0000" in response.text


@pytest.mark.parametrize("cql", ["category_id = 'vandal\x00ism'", "county_code LIKE '\x00%'",
                                 "status IN ('confirmed', '\x00')", "casei(status) = '\x00'"])
async def test_nul_in_a_cql2_text_filter_is_a_400(client: httpx.AsyncClient, cql: str) -> None:
    assert "U+0000" in assert_refused(await ogc_items(client, filter=cql))


@pytest.mark.parametrize("kind", list(BAD_TEXT))
@pytest.mark.parametrize("collection", ["reports", "categories"])
async def test_nul_or_a_lone_surrogate_in_a_cql2_json_body_is_a_400(client: httpx.AsyncClient, kind: str,
                                                                    collection: str) -> None:
    character, code_point = BAD_TEXT[kind]
    for cql in ({"op": "=", "args": [{"property": "status"}, f"confirmed{character}"]},
                {"op": "like", "args": [{"property": "id"}, f"{character}%"]},
                {"op": "in", "args": [{"property": "id"}, ["a", character]]}):
        response = await client.post(f"/ogc/collections/{collection}/items?f=json", content=json_body(cql),
                                     headers={"Content-Type": "application/query-cql-json"})
        assert response.status_code == 400, (cql, response.status_code, response.text)
        assert code_point in response.text


@pytest.mark.parametrize("cql", [
    {"op": "like", "args": [{"property": "status"}, 5]},
    {"op": "like", "args": [{"property": "geom"}, {"property": "geom"}]},
    {"op": "s_intersects", "args": [{"property": "geom"}, {"type": "Polygon", "coordinates": [[1, 2]]}]},
    {"op": "=", "args": [{"property": "geom"}, ""]},
    "cell_m LIKE 5", "S_INTERSECTS(geom, POLYGON((1 2, 3 4)))", "geom = 'x'", "geom IN ('a', 'b')",
])
async def test_a_cql2_filter_the_compiler_cannot_use_is_a_400(client: httpx.AsyncClient, cql: Any) -> None:
    """Found by tests/test_fuzz.py (500s): a LIKE without a text pattern, an invalid geometry, the
    geometry compared with text (PostGIS fails reading the text as a geometry)."""
    if isinstance(cql, str):
        response = await ogc_items(client, filter=cql)
    else:
        response = await client.post("/ogc/collections/reports/items?f=json", content=json_body(cql),
                                     headers={"Content-Type": "application/query-cql-json"})
    assert response.status_code == 400, (response.status_code, response.text)


@pytest.mark.parametrize("param", ["sortby", "properties", "crs", "bbox-crs", "datetime", "bbox", "limit",
                                   "offset", "filter-lang", "filter-crs", "resulttype", "skipGeometry",
                                   "lang", "f", "county_code", "category_id", "id"])
@pytest.mark.parametrize("collection", ["reports", "categories"])
async def test_nul_in_any_ogc_query_parameter_is_a_400(client: httpx.AsyncClient, param: str,
                                                       collection: str) -> None:
    response = await client.get(f"/ogc/collections/{collection}/items", params={param: f"x{NUL}y"})
    assert response.status_code == 400, (response.status_code, response.text)
    assert "U+0000" in response.text


@pytest.mark.parametrize("path", ["/ogc/collections/reports", "/ogc/collections/reports/queryables",
                                  "/ogc/collections/reports/schema", "/ogc/", "/ogc/conformance",
                                  "/ogc/collections/categories/items/vandalism"])
async def test_nul_anywhere_in_an_ogc_url_is_a_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, params={"f": f"json{NUL}"})
    assert response.status_code == 400, (response.status_code, response.text)
    assert "U+0000" in (await client.get(path, params={"f": "json", "x": NUL})).text
    if "reports" in path:
        response = await client.get(path.replace("reports", "rep%00orts"), params={"f": "json"})
        assert response.status_code == 400, (response.status_code, response.text)
