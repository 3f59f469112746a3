"""What /ogc declares is what works (issue 11, points 3 and 4): each conformance class is
exercised by a request, and a GeoNetwork-UI style client finds the vector tiles by links alone."""

import json

import httpx
import mercantile
import pytest

from ogc.discovery import CONFORMANCE, TILESETS_VECTOR
from tests.support import PUBLISHED_KRAKOW as KRAKOW
from tests.support import decode_tile

FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
MVT = "application/vnd.mapbox-vector-tile"
ITEMS = "/ogc/collections/reports/items"


async def ids(client: httpx.AsyncClient, collection: str = "reports", **params: str) -> list[str]:
    answer = await client.get(f"/ogc/collections/{collection}/items", params={"f": "json", **params})
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


async def cql_json(client: httpx.AsyncClient, document: dict) -> list[str]:
    answer = await client.post(ITEMS + "?f=json", content=json.dumps(document),
                               headers={"Content-Type": "application/query-cql-json"})
    assert answer.status_code == 200, answer.text
    return [f["id"] for f in answer.json()["features"]]


async def test_conformance_declares_exactly_our_list_in_json_and_html(client: httpx.AsyncClient) -> None:
    declared = (await client.get("/ogc/conformance", params={"f": "json"})).json()["conformsTo"]
    assert declared == CONFORMANCE
    assert not [c for c in declared if "ogcapi-features-4" in c or "create-replace-delete" in c]
    for needed in (FEATURES.format(3, "filter"), FEATURES.format(3, "features-filter"),
                   CQL2 + "basic-cql2", TILES + "core", TILES + "mvt"):
        assert needed in declared
    page = await client.get("/ogc/conformance", params={"f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert FEATURES.format(3, "features-filter") in page.text
    assert "create-replace-delete" not in page.text


async def test_features_core_geojson_html_oas30_and_crs(client: httpx.AsyncClient, published: dict) -> None:
    items = await client.get(ITEMS, params={"f": "json"})
    assert items.status_code == 200 and items.json()["type"] == "FeatureCollection"    # core, geojson
    page = await client.get(ITEMS, params={"f": "html"})
    assert page.headers["content-type"].startswith("text/html")                      # html
    openapi = (await client.get("/ogc/openapi", params={"f": "json"})).json()
    assert openapi["openapi"].startswith("3.0")                                      # oas30
    crs = await client.get(ITEMS, params={"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/2180"})
    assert crs.status_code == 200                                                    # Part 2 crs
    assert crs.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/2180>"


async def test_part3_filter_queryables_and_their_query_parameters(client: httpx.AsyncClient,
                                                                 published: dict) -> None:
    queryables = await client.get("/ogc/collections/reports/queryables", params={"f": "json"})
    assert "status" in queryables.json()["properties"]                               # queryables
    warsaw = [str(published["warsaw"])]
    assert await ids(client, voivodeship_code="14") == warsaw              # queryables-query-parameters
    assert await ids(client, filter="voivodeship_code = '14'", **{"filter-lang": "cql2-text"}) == warsaw
    assert await cql_json(client, {"op": "=", "args": [{"property": "voivodeship_code"}, "14"]}) == warsaw


async def test_cql2_basic_advanced_and_case_insensitive(client: httpx.AsyncClient, published: dict) -> None:
    warsaw = [str(published["warsaw"])]
    basic = "NOT (voivodeship_code <> '14') AND county_code IS NOT NULL AND occurred_on >= DATE('2026-01-01')"
    assert await ids(client, filter=basic) == warsaw                                 # basic-cql2
    assert await ids(client, filter="county_code LIKE '14%'") == warsaw              # advanced comparison
    assert await ids(client, filter="voivodeship_code IN ('14', '02')") == warsaw
    assert len(await ids(client, filter="voivodeship_code BETWEEN '10' AND '13'")) == 5
    assert await ids(client, filter="CASEI(voivodeship_code) = CASEI('14')") == warsaw  # casei
    assert len(await ids(client, filter="CASEI(status) = CASEI('NEW')")) >= 1
    # LIKE between two CASEI (issue 11, 5: it was a 500)
    under = await ids(client, filter="CASEI(status) LIKE CASEI('NE%')")
    assert under and under == await ids(client, filter="status LIKE 'ne%'")
    assert await cql_json(client, {"op": "like", "args": [{"property": "county_code"}, "14%"]}) == warsaw


async def test_cql2_spatial_functions(client: httpx.AsyncClient, published: dict) -> None:
    warsaw = [str(published["warsaw"])]
    assert await ids(client, filter="S_INTERSECTS(geom, BBOX(20.9, 52.1, 21.1, 52.3))") == warsaw
    assert await ids(client, filter="S_WITHIN(geom, POLYGON((20.9 52.1, 21.1 52.1, 21.1 52.3, "
                                    "20.9 52.3, 20.9 52.1)))") == warsaw          # spatial-functions
    krakow = await ids(client, filter="S_DISJOINT(geom, POLYGON((20.9 52.1, 21.1 52.1, 21.1 52.3, "
                                      "20.9 52.3, 20.9 52.1)))")
    assert len(krakow) == 5 and warsaw[0] not in krakow
    near_krakow = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [
        KRAKOW[0] - 0.05, KRAKOW[1] - 0.05, KRAKOW[0] + 0.05, KRAKOW[1] + 0.05]}]}
    assert len(await cql_json(client, near_krakow)) == 5


async def test_cql2_arithmetic(client: httpx.AsyncClient, published: dict) -> None:
    counts = await client.get("/ogc/collections/area-statistics/items",
                              params={"f": "json", "filter": "count * 2 >= 10 AND count - 1 < 1000"})
    assert counts.status_code == 200, counts.text
    features = counts.json()["features"]
    assert features and all(f["properties"]["count"] >= 5 for f in features)


@pytest.mark.parametrize("cql", ["ACCENTI(status) = ACCENTI('x')", "A_CONTAINS(status, ('x'))",
                                 "occurred_on T_MEETS DATE('2026-03-05')"])
async def test_classes_we_do_not_declare_are_refused(client: httpx.AsyncClient, cql: str) -> None:
    answer = await client.get(ITEMS, params={"f": "json", "filter": cql})
    assert answer.status_code == 400, answer.text
    assert not [c for c in CONFORMANCE if c.endswith(("accent-insensitive-comparison",
                                                      "array-functions", "temporal-functions"))]


async def test_writes_are_405_as_conformance_says(client: httpx.AsyncClient) -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [21, 52]},
               "properties": {}}
    posted = await client.post(ITEMS, json=feature, headers={"Content-Type": "application/geo+json"})
    assert posted.status_code == 405
    assert (await client.delete(ITEMS + "/x")).status_code == 405


async def test_openapi_lists_the_tiles_paths(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/ogc/openapi", params={"f": "json"})).json()["paths"]
    assert {"/collections/reports/tiles", "/collections/reports/tiles/WebMercatorQuad",
            "/collections/reports/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}",
            "/tileMatrixSets"} <= set(paths)


def _link(links: list[dict], rel: str) -> dict:
    matches = [link for link in links if link["rel"] == rel
               and link.get("type", "application/json") == "application/json"]
    assert matches, f"no {rel} link in {links}"
    return matches[0]


async def _get_json(client: httpx.AsyncClient, href: str) -> dict:
    answer = await client.get(href, params={"f": "json"}, headers={"Accept": "application/json"})
    assert answer.status_code == 200, f"{href}: {answer.text}"
    return answer.json()


async def test_a_geonetwork_ui_style_client_finds_one_vector_tile_collection(
        client: httpx.AsyncClient, published: dict) -> None:
    landing = await _get_json(client, "/ogc/")
    schemes = await _get_json(client, _link(landing["links"],
                                            "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes")["href"])
    assert "WebMercatorQuad" in [t["id"] for t in schemes["tileMatrixSets"]]
    assert (await _get_json(client, "/ogc/tileMatrixSets/WebMercatorQuad"))["id"] == "WebMercatorQuad"
    collections = await _get_json(client, _link(landing["links"], "data")["href"])
    vector = [c for c in collections["collections"]
              if any(link["rel"] == TILESETS_VECTOR for link in c["links"])]
    assert [c["id"] for c in vector] == ["reports"]
    collection = await _get_json(client, _link(vector[0]["links"], "self")["href"])
    tilesets = await _get_json(client, _link(collection["links"], TILESETS_VECTOR)["href"])
    tileset_link = _link(tilesets["tilesets"][0]["links"], "self")
    tileset = await _get_json(client, tileset_link["href"])
    template = next(link["href"] for link in tileset["links"]
                    if link["rel"] == "item" and link["type"] == MVT)
    t = mercantile.tile(*KRAKOW, 12)
    url = template.format(tileMatrix=t.z, tileRow=t.y, tileCol=t.x)
    tile = await client.get(url)
    assert tile.status_code == 200 and tile.headers["content-type"] == MVT
    assert decode_tile(tile.content, t.z, t.x, t.y)


async def test_features_are_served_as_geojson(client: httpx.AsyncClient, published: dict) -> None:
    """Issue 11, 5: items and an item as application/geo+json; other JSON stays application/json."""
    items = await client.get(ITEMS, params={"f": "json", "limit": 1})
    assert items.status_code == 200 and items.headers["content-type"] == "application/geo+json"
    item = await client.get(f"{ITEMS}/{published['warsaw']}", params={"f": "json"})
    assert item.status_code == 200 and item.headers["content-type"] == "application/geo+json"
    collections = await client.get("/ogc/collections", params={"f": "json"})
    assert collections.headers["content-type"].startswith("application/json")
