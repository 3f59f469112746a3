"""GraphQL reads through HTTP: reference data, the public reports connection, private fields
by role, tokens, statistics, and what an anonymous caller can never get."""

import asyncio

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from tests.support import WARSAW, codes, gql, insert_report, token

KRAKOW = (19.94, 50.06)
PRIVATE_FIELDS = ("exactLocation { longitude latitude }", "occurredAt", "description", "contact",
                  "history { kind }", "source")


async def test_reference_data(graphql_client: httpx.AsyncClient) -> None:
    body = await gql(graphql_client, """{
        categories { id nameEn sensitive group { id } }
        category(id: "vandalism") { nameEn }
        statuses { id isInitial next }
        areas(level: VOIVODESHIP) { code name }
        policeUnits { id area { code } }
    }""")
    data = body["data"]
    assert "errors" not in body
    assert len(data["categories"]) == 24
    assert data["category"] == {"nameEn": "Vandalism"}
    initial = next(s for s in data["statuses"] if s["isInitial"])
    assert initial["id"] == "new"
    assert initial["next"] == ["under_verification"]
    assert len(data["areas"]) == 16
    assert {"id": "kpp-1405", "area": {"code": "1405"}} in data["policeUnits"]


async def test_graphql_get_and_graphiql(graphql_client: httpx.AsyncClient) -> None:
    got = await graphql_client.get("/graphql", params={"query": "{ statuses { id } }"})
    assert got.status_code == 200 and len(got.json()["data"]["statuses"]) == 6
    ide = await graphql_client.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    refused = await graphql_client.get("/graphql", params={
        "query": 'mutation { setCategoryActive(id: "x", active: true) { id } }'})
    assert refused.status_code == 400 and "mutation" in refused.text.lower()


async def test_public_report_is_the_cell_centre_and_day(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, public_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = insert_report(app_conn, published=True)
    body = await gql(graphql_client, """query($id: ID!) { report(id: $id) {
        id status occurredOn datePrecision category { id } areas { code level } policeUnit { id }
        location { longitude latitude geojson } } }""", {"id": str(report)})
    got = body["data"]["report"]
    lon, lat = public_conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM open.reports WHERE id = %s",
                                   [report]).fetchone()
    assert (got["location"]["longitude"], got["location"]["latitude"]) == (lon, lat)
    assert (lon, lat) != WARSAW
    assert got["location"]["geojson"] == {"type": "Point", "coordinates": [lon, lat]}
    assert got["datePrecision"] == "DAY" and got["category"] == {"id": "vandalism"}
    assert {a["code"] for a in got["areas"]} == {"14", "1405"}


async def test_unpublished_report_is_invisible_to_anonymous(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    report = insert_report(app_conn, published=False)
    body = await gql(graphql_client, "query($id: ID!) { report(id: $id) { id } }", {"id": str(report)})
    assert body["data"]["report"] is None
    body = await gql(graphql_client, "{ reports { totalCount edges { node { id } } } }")
    assert body["data"]["reports"] == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("field", PRIVATE_FIELDS)
async def test_anonymous_gets_forbidden_on_each_private_field(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None,
        field: str) -> None:
    insert_report(app_conn, published=True)
    for query in ("{ reports { edges { node { id FIELD } } } }".replace("FIELD", field),
                  "query($id: ID!) { report(id: $id) { id FIELD } }".replace("FIELD", field)):
        report = str(app_conn.execute("SELECT id FROM core.reports").fetchone()[0])
        body = await gql(graphql_client, query, {"id": report} if "$id" in query else None)
        assert codes(body) == ["FORBIDDEN"], body
        text = str(body)
        assert "a private description" not in text and "private@example.org" not in text
        assert str(WARSAW[0]) not in text


async def test_anonymous_filters_and_orderings_never_reveal_an_exact_point(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, public_conn: psycopg.Connection,
        clean_reports: None) -> None:
    insert_report(app_conn, published=True)
    cell = public_conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM open.reports").fetchone()
    tiny = {"west": WARSAW[0] - 1e-6, "south": WARSAW[1] - 1e-6,
            "east": WARSAW[0] + 1e-6, "north": WARSAW[1] + 1e-6}
    around_cell = {"west": cell[0] - 1e-6, "south": cell[1] - 1e-6,
                   "east": cell[0] + 1e-6, "north": cell[1] + 1e-6}
    query = """query($f: ReportFilter, $o: ReportOrder!) { reports(filter: $f, orderBy: $o) {
        totalCount edges { node { location { longitude latitude } occurredOn } } } }"""
    seen = []
    for order in ("OCCURRED_ON_DESC", "OCCURRED_ON_ASC"):
        for f in (None, {"bbox": tiny}, {"bbox": around_cell}, {"areaCode": "1405"},
                  {"categories": ["vandalism"]}):
            body = await gql(graphql_client, query, {"f": f, "o": order})
            assert "errors" not in body, body
            seen += [e["node"]["location"] for e in body["data"]["reports"]["edges"]]
            if f and "bbox" in f and f["bbox"] is tiny:
                assert body["data"]["reports"]["totalCount"] == 0
    assert seen and all((p["longitude"], p["latitude"]) == cell for p in seen)
    body = await gql(graphql_client, '{ reports(filter: {source: "citizen"}) { totalCount } }')
    assert codes(body) == ["FORBIDDEN"]


async def test_officer_sees_private_fields_in_own_area_only(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    warsaw = insert_report(app_conn, published=True)
    krakow = insert_report(app_conn, lon=KRAKOW[0], lat=KRAKOW[1], published=True)
    query = """query($id: ID!) { report(id: $id) { description contact occurredAt
        exactLocation { longitude latitude } history { kind } } }"""
    for unit in ("kpp-1405", "kwp-14"):
        body = await gql(graphql_client, query, {"id": str(warsaw)}, token(settings, "officer", unit))
        assert "errors" not in body, body
        got = body["data"]["report"]
        assert got["description"] == "a private description"
        assert (got["exactLocation"]["longitude"], got["exactLocation"]["latitude"]) == WARSAW
    body = await gql(graphql_client, query, {"id": str(krakow)}, token(settings, "officer", "kpp-1405"))
    assert set(codes(body)) == {"FORBIDDEN"} and body["data"]["report"]["description"] is None
    body = await gql(graphql_client, query, {"id": str(krakow)}, token(settings, "analyst"))
    assert "errors" not in body and body["data"]["report"]["contact"] == "private@example.org"
    body = await gql(graphql_client, query, {"id": str(krakow)}, token(settings, "admin"))
    assert set(codes(body)) == {"FORBIDDEN"}


async def test_staff_see_unpublished_reports_by_id(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    report = insert_report(app_conn, published=False)
    body = await gql(graphql_client, "query($id: ID!) { report(id: $id) { status description } }",
                     {"id": str(report)}, token(settings, "officer", "kpp-1405"))
    assert body["data"]["report"] == {"status": "new",
                                      "description": "a private description"}


@pytest.mark.parametrize("header", [
    "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer ",
])
async def test_bad_tokens_are_unauthenticated(graphql_client: httpx.AsyncClient, header: str) -> None:
    body = await gql(graphql_client, "{ statuses { id } }", headers={"Authorization": header})
    assert codes(body) == ["UNAUTHENTICATED"] and body.get("data") is None


async def test_expired_and_forged_tokens_are_unauthenticated(
        graphql_client: httpx.AsyncClient, settings: Settings) -> None:
    expired = token(settings, "analyst", hours=-1)
    someone_else = settings.model_copy(update={"jwt_secret": "someone-elses-secret-key-of-32-bytes!"})
    forged = token(someone_else, "analyst")
    for bad in (expired, forged):
        body = await gql(graphql_client, "{ statuses { id } }", token=bad)
        assert codes(body) == ["UNAUTHENTICATED"], body
    assert "expired" in (await gql(graphql_client, "{ statuses { id } }", token=expired)
                         )["errors"][0]["message"]


async def test_pagination_walks_every_report_once(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    ids = {str(insert_report(app_conn, lon=WARSAW[0] + i * 0.01, published=True)) for i in range(7)}
    seen: list[str] = []
    after = None
    while True:
        body = await gql(graphql_client, """query($after: String) { reports(first: 3, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }""", {"after": after})
        page = body["data"]["reports"]
        assert page["totalCount"] == 7
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize(("args", "fragment"), [
    ("first: 501", "first"), ("first: -1", "first"), ('after: "garbage"', "after"),
    ("filter: {bbox: {west: 30, south: 50, east: 20, north: 52}}", "bbox"),
])
async def test_bad_page_arguments(graphql_client: httpx.AsyncClient, args: str, fragment: str) -> None:
    body = await gql(graphql_client, "{ reports(ARGS) { totalCount } }".replace("ARGS", args))
    assert codes(body) == ["BAD_USER_INPUT"] and fragment in body["errors"][0]["message"]


async def test_stats_are_suppressed_below_k(
        graphql_client: httpx.AsyncClient, app_conn: psycopg.Connection, clean_reports: None) -> None:
    for _ in range(3):
        insert_report(app_conn, published=True)
    insert_report(app_conn, category="poaching", published=True)
    body = await gql(graphql_client, """{ stats(groupBy: [CATEGORY, AREA],
        filter: {level: COUNTY}) { category areaCode areaName count } }""")
    assert body["data"]["stats"] == [{"category": "vandalism", "areaCode": "1405",
                                      "areaName": "powiat Warszawa", "count": 3}]
    body = await gql(graphql_client, "{ stats(groupBy: []) { count } }")
    assert body["data"]["stats"] == [{"count": 4}]  # the poaching report counts in the total
    for spelling in ("new", "NEW"):  # as in reports' filter
        body = await gql(graphql_client, "query($s: [String!]) { stats(groupBy: [STATUS], "
                                         "filter: {statuses: $s}) { status count } }", {"s": [spelling]})
        assert body["data"]["stats"] == [{"status": "new", "count": 4}], spelling


async def test_source_filter_for_analysts(
        graphql_client: httpx.AsyncClient, settings: Settings, app_conn: psycopg.Connection,
        clean_reports: None) -> None:
    insert_report(app_conn, published=True)
    query = """query($s: String!) { reports(filter: {source: $s}) { totalCount } }"""
    analyst = token(settings, "analyst")
    assert (await gql(graphql_client, query, {"s": "citizen"}, analyst))["data"]["reports"] == {
        "totalCount": 1}
    assert (await gql(graphql_client, query, {"s": "ngo"}, analyst))["data"]["reports"] == {
        "totalCount": 0}
    assert codes(await gql(graphql_client, query, {"s": "rumour"}, analyst)) == ["BAD_USER_INPUT"]


async def test_database_down_is_unavailable_not_internal_and_recovers(
        graphql_client, managed_db, settings: Settings) -> None:
    graphql_client_settings = settings
    managed_db.cluster.stop()
    try:
        body = await gql(graphql_client, "{ categories { id } }")
        assert codes(body) == ["UNAVAILABLE"]
        assert "psycopg" not in str(body) and "socket" not in str(body)
    finally:
        managed_db.cluster.start()
    # Recovered within seconds: the app drops the dead connections in the background.
    for _ in range(20):
        body = await gql(graphql_client, '{ categories { id } staffReports(first: 1) { totalCount } }',
                         token=token(graphql_client_settings, "analyst"))
        if "errors" not in body:
            break
        await asyncio.sleep(0.5)
    assert "errors" not in body and len(body["data"]["categories"]) == 24
