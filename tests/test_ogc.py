"""OGC API Features at /ogc: pygeoapi in our app, reading only the anonymized `open` layer."""

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import OGC_COLLECTIONS as COLLECTIONS
from tests.support import PUBLISHED_KRAKOW as KRAKOW
from tests.support import PUBLISHED_WARSAW as WARSAW
from tests.support import insert_report

GEOJSON = {"Accept": "application/geo+json"}


async def items(client: httpx.AsyncClient, collection: str, **params: str | int) -> httpx.Response:
    return await client.get(f"/ogc/collections/{collection}/items", params={"f": "json", **params})


async def test_landing_page_conformance_and_openapi(client: httpx.AsyncClient) -> None:
    landing = await client.get("/ogc/", params={"f": "json"})
    assert landing.status_code == 200
    assert {"service-desc", "conformance", "data"} <= {link["rel"] for link in landing.json()["links"]}
    conformance = (await client.get("/ogc/conformance", params={"f": "json"})).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance
    openapi = await client.get("/ogc/openapi", params={"f": "json"})
    assert openapi.status_code == 200
    assert "/collections/reports/items" in openapi.json()["paths"]


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_each_collection_is_described_and_serves_items(client: httpx.AsyncClient, published: dict,
                                                               collection: str) -> None:
    described = await client.get(f"/ogc/collections/{collection}", params={"f": "json"})
    assert described.status_code == 200
    body = described.json()
    assert any(link["rel"] == "license" and "creativecommons.org/licenses/by/4.0" in link["href"]
               for link in body["links"])
    if collection == "categories":   # no geometry, no spatial extent
        assert "spatial" not in body.get("extent", {})
    else:
        assert body["extent"]["spatial"]["bbox"][0] == pytest.approx([14.07, 49.0, 24.15, 54.84])
    response = await items(client, collection, limit=5)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "FeatureCollection"
    assert response.json()["features"], f"{collection} served no features"
    html = await client.get(f"/ogc/collections/{collection}/items", params={"f": "html", "limit": 2})
    assert html.status_code == 200 and "<html" in html.text.lower()


async def test_titles_are_english_and_polish(client: httpx.AsyncClient) -> None:
    english = (await client.get("/ogc/collections/reports", params={"f": "json", "lang": "en"})).json()
    polish = (await client.get("/ogc/collections/reports", params={"f": "json", "lang": "pl"})).json()
    assert english["title"] == "Threat reports (anonymized)"
    assert polish["title"] == "Zgłoszenia zagrożeń (zanonimizowane)"
    assert "zagrożenia" in polish["keywords"]


async def test_reports_temporal_extent_starts_with_the_data(client: httpx.AsyncClient,
                                                            published: dict) -> None:
    extent = (await client.get("/ogc/collections/reports", params={"f": "json"})).json()["extent"]
    begin, end = extent["temporal"]["interval"][0]
    assert begin.startswith("2026-03-01") and end is None


async def test_paging_follows_next_links_to_the_end(client: httpx.AsyncClient, published: dict) -> None:
    seen: list[str] = []
    url: str | None = "/ogc/collections/reports/items?f=json&limit=2"
    pages = 0
    while url:
        page = (await client.get(url.replace("http://127.0.0.1:8000", ""))).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
        assert pages < 10
    assert sorted(seen) == sorted(str(i) for i in published.values())
    assert len(set(seen)) == len(seen)


async def test_single_item_and_unknown_item(client: httpx.AsyncClient, published: dict) -> None:
    report = published["warsaw"]
    item = await client.get(f"/ogc/collections/reports/items/{report}", params={"f": "json"})
    assert item.status_code == 200
    assert item.json()["id"] == str(report)
    for missing in (uuid.uuid4(), "not-a-uuid", "1' OR '1'='1"):
        response = await client.get(f"/ogc/collections/reports/items/{missing}", params={"f": "json"})
        assert response.status_code == 404, missing
        assert response.json()["code"] == "NotFound"


async def test_bbox_selects_by_the_public_point(client: httpx.AsyncClient, published: dict) -> None:
    krakow = (await items(client, "reports", bbox="19.8,50.0,20.1,50.1")).json()
    assert {f["id"] for f in krakow["features"]} == {str(published[f"krakow-{i}"]) for i in range(5)}


async def test_datetime_and_property_filters(client: httpx.AsyncClient, published: dict) -> None:
    assert len((await items(client, "reports", datetime="2026-03-05")).json()["features"]) == 6
    assert (await items(client, "reports", datetime="2026-03-06/..")).json()["features"] == []
    by_voivodeship = await items(client, "reports", voivodeship_code="12")
    assert by_voivodeship.status_code == 200
    assert len(by_voivodeship.json()["features"]) == 5


async def test_properties_and_sortby(client: httpx.AsyncClient, published: dict) -> None:
    response = await items(client, "reports", properties="status,county_code", sortby="-county_code")
    features = response.json()["features"]
    assert all(set(f["properties"]) == {"status", "county_code"} for f in features)
    counties = [f["properties"]["county_code"] for f in features]
    assert counties == sorted(counties, reverse=True)


async def test_output_in_epsg_2180_and_bbox_crs(client: httpx.AsyncClient, published: dict) -> None:
    crs = "http://www.opengis.net/def/crs/EPSG/0/2180"
    response = await items(client, "reports", crs=crs, bbox="19.8,50.0,20.1,50.1")
    assert response.headers["Content-Crs"] == f"<{crs}>"
    northing, easting = response.json()["features"][0]["geometry"]["coordinates"]
    # EPSG:2180 is northing first; Kraków lies near N 244 000, E 566 000
    assert 240_000 < northing < 250_000 and 560_000 < easting < 570_000
    # bbox-crs coordinates come in the CRS's axis order (OGC API Features Part 2): N, E
    in_2180 = await items(client, "reports", **{"bbox-crs": crs, "bbox": "240000,560000,250000,570000"})
    assert len(in_2180.json()["features"]) == 5
    latlon = await items(client, "reports", crs="http://www.opengis.net/def/crs/EPSG/0/4326",
                         bbox="19.8,50.0,20.1,50.1")
    lat, lon = latlon.json()["features"][0]["geometry"]["coordinates"]
    assert 50 < lat < 50.1 and 19.8 < lon < 20.1
    mercator = await items(client, "reports", crs="http://www.opengis.net/def/crs/EPSG/0/3857",
                           bbox="19.8,50.0,20.1,50.1")
    x, _ = mercator.json()["features"][0]["geometry"]["coordinates"]
    assert 2_200_000 < x < 2_240_000


async def test_cql2_text_and_json_filters(client: httpx.AsyncClient, published: dict) -> None:
    text = await items(client, "reports",
                       filter="voivodeship_code = '12' AND occurred_on >= DATE('2026-03-01')")
    assert text.status_code == 200, text.text
    assert len(text.json()["features"]) == 5
    spatial = await items(client, "reports", filter="S_INTERSECTS(geom, BBOX(20.9, 52.1, 21.1, 52.3))")
    assert [f["id"] for f in spatial.json()["features"]] == [str(published["warsaw"])]
    cql_json = {"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "new"]},
                                      {"op": "like", "args": [{"property": "county_code"}, "14%"]}]}
    posted = await client.post("/ogc/collections/reports/items?f=json", content=json.dumps(cql_json),
                               headers={"Content-Type": "application/query-cql-json"})
    assert posted.status_code == 200, posted.text
    assert [f["id"] for f in posted.json()["features"]] == [str(published["warsaw"])]


async def test_cql2_during_an_interval_selects_by_day(client: httpx.AsyncClient, published: dict) -> None:
    march = await items(client, "reports", filter="occurred_on T_DURING "
                        "INTERVAL('2026-03-01T00:00:00Z','2026-03-31T00:00:00Z')")
    assert march.status_code == 200, march.text
    assert len(march.json()["features"]) == 6
    april = {"op": "t_during",
             "args": [{"property": "occurred_on"}, {"interval": ["2026-04-01", "2026-04-30"]}]}
    posted = await client.post("/ogc/collections/reports/items?f=json", content=json.dumps(april),
                               headers={"Content-Type": "application/query-cql-json"})
    assert posted.status_code == 200, posted.text
    assert posted.json()["features"] == []
    open_ended = {**april, "args": [{"property": "occurred_on"}, {"interval": ["2026-03-01", ".."]}]}
    refused = await client.post("/ogc/collections/reports/items?f=json", content=json.dumps(open_ended),
                                headers={"Content-Type": "application/query-cql-json"})
    assert_ogc_error(refused, 400)


async def test_queryables_list_only_public_columns(client: httpx.AsyncClient) -> None:
    queryables = (await client.get("/ogc/collections/reports/queryables", params={"f": "json"})).json()
    names = set(queryables["properties"])
    assert {"category_id", "status", "occurred_on", "county_code"} <= names
    assert not names & {"description", "contact", "occurred_at", "created_at", "source", "geom_exact"}


def assert_ogc_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "description"}
    text = response.text.lower()
    for leak in ("select ", "psycopg", "postgres", "traceback", "open.ogc_", "syntax error at"):
        assert leak not in text, f"database text in error body: {response.text}"


async def test_huge_limit_is_capped(client: httpx.AsyncClient, published: dict) -> None:
    response = await items(client, "reports", limit=10**9)
    assert response.status_code == 200
    assert response.json()["numberReturned"] <= 10000


@pytest.mark.parametrize("params", [
    {"limit": "many"}, {"limit": "-1"}, {"offset": "-5"},
    {"bbox": "21,52,20,53"}, {"bbox": "20,53,21,52"}, {"bbox": "a,b,c,d"}, {"bbox": "1,2,3"},
    {"crs": "http://www.opengis.net/def/crs/EPSG/0/999999"}, {"crs": "nonsense"},
    {"bbox": "20,52,21,53", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/27700"},
    {"datetime": "yesterday"},
    {"filter": "status = "}, {"filter": "status === 'x'"}, {"filter": "S_INTERSECTS(geom, POINT(1))"},
    {"filter": "description = 'x'"}, {"filter": "occurred_at > DATE('2020-01-01')"},
    {"filter": "no_such_function(status) = 'x'"}, {"filter": "cell_m / 0 = 1"},
    {"filter": "cell_m = 'not a number'"}, {"filter": "status > 5"},
    {"sortby": "description"}, {"sortby": "-occurred_at"}, {"properties": "status,contact"},
    {"description": "x"}, {"contact": "x"}, {"occurred_at": "2026-03-05T14:37:00Z"},
    {"filter-lang": "sql"},
])
async def test_bad_input_is_a_400_with_an_ogc_exception(client: httpx.AsyncClient, published: dict,
                                                          params: dict[str, str]) -> None:
    assert_ogc_error(await items(client, "reports", **params), 400)


async def test_malformed_cql2_json_is_a_400(client: httpx.AsyncClient) -> None:
    for body in ("{not json", json.dumps({"op": "=", "args": [{"property": "contact"}, "x"]}),
                 json.dumps({"op": "frobnicate", "args": []})):
        response = await client.post("/ogc/collections/reports/items?f=json", content=body,
                                     headers={"Content-Type": "application/query-cql-json"})
        assert_ogc_error(response, 400)


async def test_unknown_collection_is_a_404(client: httpx.AsyncClient) -> None:
    assert_ogc_error(await client.get("/ogc/collections/core.reports", params={"f": "json"}), 404)
    assert_ogc_error(await items(client, "no-such-collection"), 404)


@pytest.mark.parametrize("attack", [
    "status = 'x'' OR 1=1 --'",
    "status = 'under_verification'; DROP TABLE open.reports; --'",
    "\"status\" = 'x\" OR \"1\"=\"1'",
    "status LIKE '%'' OR ''1''=''1'",
])
async def test_injection_attempts_match_literally(client: httpx.AsyncClient, published: dict,
                                                  attack: str) -> None:
    response = await items(client, "reports", filter=attack)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["features"] == []


async def test_injection_in_sortby_properties_and_names(client: httpx.AsyncClient, published: dict) -> None:
    for params in ({"sortby": "status;DROP TABLE open.reports"}, {"properties": "status\",\"1"},
                   {'status" OR 1=1 --': "x"}, {"status": "x' OR '1'='1"}):
        response = await items(client, "reports", **params)
        assert response.status_code in (200, 400)
        if response.status_code == 200:
            assert response.json()["features"] == []
    assert len((await items(client, "reports")).json()["features"]) == 6


@pytest.fixture
async def own_app(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app of this test's own, whose pools the test may break."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app, http


async def test_statement_timeout_is_a_503(own_app: tuple[Starlette, httpx.AsyncClient], published: dict,
                                          urls: DatabaseUrls) -> None:
    app, client = own_app
    pool = app.state.runtime.public_pool
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        conn.execute("ALTER ROLE threatmap_public SET statement_timeout = '1ms'")
    try:
        await pool.drain()  # new connections get the new timeout
        response = await items(client, "reports", limit=10000,
                               filter="S_INTERSECTS(geom, BBOX(14, 49, 25, 55)) AND cell_m * 2 > 0")
        assert_ogc_error(response, 503)
    finally:
        with psycopg.connect(urls.admin, autocommit=True) as conn:
            conn.execute("ALTER ROLE threatmap_public SET statement_timeout = '5s'")
        await pool.drain()


async def test_database_down_is_a_503(own_app: tuple[Starlette, httpx.AsyncClient], published: dict) -> None:
    app, client = own_app
    await app.state.runtime.public_pool.close()
    assert_ogc_error(await items(client, "reports"), 503)
    assert_ogc_error(await client.get("/ogc/collections/reports/items/" + str(published["warsaw"]),
                                      params={"f": "json"}), 503)


# -- privacy, from the outside ---------------------------------------------------------------

async def test_a_2m_bbox_around_an_exact_point_matches_nothing(client: httpx.AsyncClient,
                                                               published: dict) -> None:
    lon, lat = WARSAW
    d_lon, d_lat = 1 / 71_000, 1 / 111_000  # about 1 m each way at 52° N
    tiny = f"{lon - d_lon},{lat - d_lat},{lon + d_lon},{lat + d_lat}"
    for collection in ("reports", "report-density"):
        assert (await items(client, collection, bbox=tiny)).json()["features"] == []
    cql = f"S_INTERSECTS(geom, BBOX({lon - d_lon}, {lat - d_lat}, {lon + d_lon}, {lat + d_lat}))"
    assert (await items(client, "reports", filter=cql)).json()["features"] == []


async def test_every_feature_is_a_cell_centre_with_public_fields(client: httpx.AsyncClient,
                                                                 published: dict,
                                                                 public_conn: psycopg.Connection) -> None:
    public = {"category_id", "category_name_en", "category_name_pl", "category_group_id", "status",
              "occurred_on", "date_precision", "cell_m", "voivodeship_code", "county_code",
              "police_unit_id"}
    features = (await items(client, "reports", limit=100)).json()["features"]
    assert len(features) == 6
    for feature in features:
        assert set(feature["properties"]) == public
        lon, lat = feature["geometry"]["coordinates"]
        cell = feature["properties"]["cell_m"]
        # the point is the centre of its cell in the EPSG:2180 grid
        x, y = public_conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 2180) AS p",
            [lon, lat]).fetchone()
        assert abs((x / cell) % 1 - 0.5) < 1e-3 and abs((y / cell) % 1 - 0.5) < 1e-3
        assert (lon, lat) != pytest.approx(WARSAW) and (lon, lat) != pytest.approx(KRAKOW)
        assert "T" not in feature["properties"]["occurred_on"]


@pytest.mark.parametrize("name", ["description", "contact", "occurred_at", "created_at", "published_at",
                                  "source", "external_id", "abusive", "geom_3857", "tracking_token_hash"])
async def test_private_names_are_refused_everywhere(client: httpx.AsyncClient, published: dict,
                                                    name: str) -> None:
    for params in ({"filter": f"{name} IS NOT NULL"}, {"filter": f"{name} = 'x'"}, {"sortby": name},
                   {"properties": name}, {name: "x"}):
        assert_ogc_error(await items(client, "reports", **params), 400)


@pytest.mark.parametrize("collection", ["report-density", "area-statistics"])
async def test_composite_id_finds_its_item_and_nothing_else(client: httpx.AsyncClient, published: dict,
                                                             collection: str) -> None:
    page = (await items(client, collection, limit=5)).json()
    assert page["features"]
    for feature in page["features"]:
        item = await client.get(f"/ogc/collections/{collection}/items/{feature['id']}", params={"f": "json"})
        assert item.status_code == 200
        assert item.json()["id"] == feature["id"]
        assert item.json()["properties"] == feature["properties"]
    parts = page["features"][0]["id"].split(":")
    wrong = [":".join([*parts, "x"]), ":".join(parts[:-1]), ":".join(["x", *parts[1:]]),
             ":".join(["0" + parts[0], *parts[1:]]), ":".join(["99999999999", *parts[1:]]),
             ":".join([*parts[:-1], "2026-13-01"]), ":".join([*parts[:-1], parts[-1].replace("-", "")]),
             ":".join([*parts[:-2], "' OR '1'='1", parts[-1]]), "1' OR '1'='1"]
    for identifier in wrong:
        response = await client.get(f"/ogc/collections/{collection}/items/{identifier}", params={"f": "json"})
        assert response.status_code == 404, identifier
        assert response.json()["code"] == "NotFound"


async def test_guessing_ids_of_unpublished_and_abusive_reports_finds_nothing(
        client: httpx.AsyncClient, app_conn: psycopg.Connection) -> None:
    """An attacker who learnt an id (their own fresh report, a leaked link) tries every door that
    takes one: the item, a CQL2 filter and a property filter on it (counted), GraphQL `report`."""
    fresh = insert_report(app_conn)
    spam = insert_report(app_conn, status="confirmed", abusive=True)
    withdrawn = insert_report(app_conn, status="confirmed", published=True)
    found = await client.get(f"/ogc/collections/reports/items/{withdrawn}", params={"f": "json"})
    assert found.status_code == 200   # the same request finds a public report
    app_conn.execute("UPDATE core.reports SET abusive = true WHERE id = %s", [withdrawn])
    try:
        for report in (fresh, spam, withdrawn):
            item = await client.get(f"/ogc/collections/reports/items/{report}", params={"f": "json"})
            assert item.status_code == 404, report
            for params in ({"filter": f"id = '{report}'"}, {"id": str(report)}):
                hits = await items(client, "reports", resulttype="hits", **params)
                assert hits.status_code == 200 and hits.json()["numberMatched"] == 0, params
            cql_json = {"op": "=", "args": [{"property": "id"}, str(report)]}
            posted = await client.post("/ogc/collections/reports/items?f=json", content=json.dumps(cql_json),
                                       headers={"Content-Type": "application/query-cql-json"})
            assert posted.status_code == 200 and posted.json()["features"] == []
            body = (await client.post("/graphql", json={"query": "query($id: ID!) { report(id: $id) { id } }",
                                                        "variables": {"id": str(report)}})).json()
            assert body == {"data": {"report": None}}
    finally:
        app_conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [[fresh, spam, withdrawn]])
