"""GeoJSON items written by PostgreSQL (issue 16, point 3): for every request, the same JSON as
pygeoapi's own path (ogc/geojson_items.py), timeStamp aside; the requests answered before
pygeoapi (ogc/fast_items.py) byte for byte as pygeoapi's path with PostgreSQL's features writes
them; other formats stay pygeoapi's."""

import random
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import PUBLISHED_KRAKOW, insert_varied_reports, running_app

KRAKOW_BOX = "19.8,49.95,20.1,50.15"
SMALL_BOX = "19.92,50.055,19.956,50.069"   # a city centre at zoom 15, as bench/ogc_items.py SMALL
EMPTY_BOX = "14.0,49.0,14.036,49.014"
# PostgreSQL's json_build_object writes ' : ' between a key and its value; pygeoapi's to_json ':'.
WRITTEN_BY_POSTGRESQL = '"type" : "Feature"'


@pytest.fixture(scope="module")
def varied(urls: DatabaseUrls, published: dict) -> Iterator[None]:
    """Beside `published`: 40 reports in and around Kraków over categories, statuses and days, so
    that paging, sorting, and each filter select different features."""
    rng = random.Random(16)
    start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = insert_varied_reports(conn, rng, 40, around=PUBLISHED_KRAKOW, dx=0.08, dy=0.05, start=start,
                                    days=40)
    yield
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


@pytest.fixture(scope="module")
async def pygeoapi_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the GeoJSON items written by pygeoapi, feature by feature, as before."""
    async with running_app(settings.model_copy(update={"ogc_items_in_database": False})) as (http, _):
        yield http


REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("reports", {"f": "json"}),
    ("reports", {}),                                            # no f: JSON all the same
    ("reports", {"f": "json", "limit": 7}),
    ("reports", {"f": "json", "limit": 7, "offset": 7}),
    ("reports", {"f": "json", "limit": 7, "offset": 42}),       # the last, partial page
    ("reports", {"f": "json", "limit": 5, "offset": 1000}),     # past the end
    ("reports", {"f": "json", "bbox": KRAKOW_BOX, "limit": 10}),
    ("reports", {"f": "json", "bbox": "19.93,50.05,19.95,50.07"}),  # a small viewport
    ("reports", {"f": "json", "bbox": "0,0,0.001,0.001"}),       # nothing there
    ("reports", {"f": "json", "datetime": "2026-02-10/2026-02-20"}),
    ("reports", {"f": "json", "datetime": "2026-03-05"}),
    ("reports", {"f": "json", "category_id": "speeding", "limit": 4}),
    ("reports", {"f": "json", "status": "confirmed", "sortby": "-occurred_on", "limit": 9}),
    ("reports", {"f": "json", "sortby": "category_id,-occurred_on", "limit": 12, "offset": 3}),
    ("reports", {"f": "json", "properties": "category_id,occurred_on", "limit": 5}),
    ("reports", {"f": "json", "properties": "category_name_pl", "skipGeometry": "true"}),
    ("reports", {"f": "json", "skipGeometry": "true", "limit": 3}),
    ("reports", {"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/2180", "limit": 5}),
    ("reports", {"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/4326", "limit": 5}),
    ("reports", {"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "limit": 5}),
    ("reports", {"f": "json", "bbox": "5.4e6,2.2e6,5.6e6,2.3e6", "limit": 5,
                 "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2180"}),
    ("reports", {"f": "json", "filter": "category_id = 'vandalism' AND occurred_on >= DATE('2026-02-15')",
                 "filter-lang": "cql2-text", "limit": 6}),
    ("reports", {"f": "json", "filter": "S_INTERSECTS(geom, BBOX(19.9, 50.0, 20.0, 50.1))", "limit": 6}),
    ("reports", {"f": "json", "filter": '{"op": "in", "args": [{"property": "status"}, ["new"]]}',
                 "filter-lang": "cql2-json"}),
    ("reports", {"f": "json", "lang": "en", "limit": 3}),
    ("reports", {"f": "json", "limit": 20000}),                 # throttled to the maximum
    # the shapes answered before pygeoapi (ogc/fast_items.py), at its edges
    ("reports", {"f": "json", "bbox": KRAKOW_BOX, "limit": 10, "offset": 10}),   # prev and next
    ("reports", {"f": "json", "bbox": KRAKOW_BOX, "limit": 1000}),              # one whole page
    ("reports", {"bbox": KRAKOW_BOX, "limit": 5, "status": "confirmed"}),
    ("reports", {"f": "json", "bbox": KRAKOW_BOX, "category_id": "speeding", "status": "new"}),
    ("reports", {"f": "json", "limit": "0010", "offset": "3"}),
    ("reports", {"f": "json", "bbox": "19.8, 49.95, 20.1, 50.15", "limit": 4}),  # spaces pygeoapi reads
    ("reports", {"f": "json", "bbox": "19.8,49.95,0,20.1,50.15,0", "limit": 4}),  # 6 numbers: pygeoapi
    ("reports", {"f": "json", "bbox": SMALL_BOX, "limit": 100}),                # small viewports
    ("reports", {"f": "json", "bbox": SMALL_BOX, "limit": 1000}),
    ("reports", {"f": "json", "bbox": SMALL_BOX, "limit": 2, "offset": 2}),
    ("reports", {"f": "json", "bbox": EMPTY_BOX, "limit": 100}),                # empty pages
    ("reports", {"f": "json", "bbox": KRAKOW_BOX, "limit": 10, "offset": 500}),
    ("reports", {"f": "json", "bbox": "20.1,49.95,19.8,50.15"}),                 # minx > maxx
    ("reports", {"f": "json", "status": "no-such-status", "limit": 3}),
    ("reports", {"f": "json", "id": "not-a-uuid"}),                             # the database refuses
    ("reports", {"f": "JSON", "limit": 3}),
    ("reports", {"f": "json", "limit": 0}),
    ("reports", {"f": "json", "limit": ""}),
    ("reports", {"f": "json", "offset": "1.5"}),
    ("reports", {"f": "json", "bbox": ""}),
    # what pygeoapi refuses, refused alike
    ("reports", {"f": "json", "limit": "many"}),
    ("reports", {"f": "json", "offset": -1}),
    ("reports", {"f": "json", "bbox": "1,2,3"}),
    ("reports", {"f": "json", "datetime": "yesterday"}),
    ("reports", {"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}),
    ("reports", {"f": "json", "sortby": "description"}),
    ("reports", {"f": "json", "filter": "category_id = "}),
    ("nothing-here", {"f": "json"}),
    # the other collections: composite ids, areas, no geometry
    ("report-density", {"f": "json", "limit": 10}),
    ("report-density", {"f": "json", "bbox": KRAKOW_BOX, "sortby": "-count"}),
    ("area-statistics", {"f": "json", "limit": 5}),
    ("area-totals", {"f": "json", "limit": 5}),
    ("police-units", {"f": "json", "limit": 3, "offset": 2}),
    ("police-units", {"f": "json", "properties": "name", "level": "kwp", "limit": 4}),
    ("police-response-times", {"f": "json", "limit": 3}),
    ("categories", {"f": "json", "limit": 8}),
    ("categories", {"f": "json", "sortby": "-sort_order", "group_id": "road-safety"}),
]


# Request headers the two paths must read alike: languages and formats asked for by Accept.
HEADERS: list[dict[str, str]] = [
    {"Accept-Language": "en-GB,en;q=0.8"},
    {"Accept-Language": "de"},
    {"Accept": "application/json"},
    {"Accept": "application/geo+json, application/json;q=0.9"},
    {"Accept": "*/*", "Accept-Language": "pl"},
]


def comparable(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "timeStamp"}


@pytest.mark.parametrize(("collection", "params"), REQUESTS,
                         ids=[f"{c}-{i}" for i, (c, _) in enumerate(REQUESTS)])
async def test_both_paths_give_the_same_json(client: httpx.AsyncClient, pygeoapi_client: httpx.AsyncClient,
                                             varied: None, collection: str, params: dict[str, Any]) -> None:
    path = f"/ogc/collections/{collection}/items"
    ours = await client.get(path, params=params)
    theirs = await pygeoapi_client.get(path, params=params)
    assert ours.status_code == theirs.status_code, (ours.text[:300], theirs.text[:300])
    for header in ("content-type", "content-crs", "content-language"):
        assert ours.headers.get(header) == theirs.headers.get(header), header
    body = ours.json()
    assert comparable(body) == comparable(theirs.json())
    if ours.status_code == 200 and body["features"]:
        assert WRITTEN_BY_POSTGRESQL in ours.text     # the fast path answered, not pygeoapi
        assert WRITTEN_BY_POSTGRESQL not in theirs.text


@pytest.mark.parametrize("headers", HEADERS, ids=[str(i) for i in range(len(HEADERS))])
async def test_both_paths_read_the_request_headers_alike(client: httpx.AsyncClient,
                                                         pygeoapi_client: httpx.AsyncClient, varied: None,
                                                         headers: dict[str, str]) -> None:
    path, params = "/ogc/collections/reports/items", {"bbox": KRAKOW_BOX, "limit": 5}
    ours = await client.get(path, params=params, headers=headers)
    theirs = await pygeoapi_client.get(path, params=params, headers=headers)
    assert ours.status_code == theirs.status_code == 200
    for header in ("content-type", "content-crs", "content-language"):
        assert ours.headers.get(header) == theirs.headers.get(header), header
    assert comparable(ours.json()) == comparable(theirs.json())


@pytest.fixture(scope="module")
async def noting_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """The app as served, whose pygeoapi items handler also notes that it was called (and what for)."""
    async with running_app(settings) as (http, app):
        called: list[str] = []
        pygeoapis = app.state.ogc.items_handler

        def noted(api: Any, request: Any, dataset: str) -> tuple:
            called.append(dataset)
            return pygeoapis(api, request, dataset)

        app.state.ogc.items_handler = noted
        yield http, called


@pytest.fixture
def without_pygeoapi_items(noting_app: tuple[httpx.AsyncClient, list[str]]
                           ) -> tuple[httpx.AsyncClient, list[str]]:
    """noting_app, nothing noted yet."""
    noting_app[1].clear()
    return noting_app


@pytest.mark.parametrize(("params", "headers"), [
    ({"f": "json", "bbox": KRAKOW_BOX, "limit": 100}, {}),
    ({"bbox": KRAKOW_BOX, "limit": 1000, "offset": 3}, {"Accept": "application/geo+json"}),
    ({"f": "json", "category_id": "speeding"}, {"Accept-Language": "en"}),
])
async def test_the_common_requests_are_answered_before_pygeoapi(
        without_pygeoapi_items: tuple[httpx.AsyncClient, list[str]], varied: None,
        params: dict[str, Any], headers: dict[str, str]) -> None:
    http, called = without_pygeoapi_items
    response = await http.get("/ogc/collections/reports/items", params=params, headers=headers)
    assert response.status_code == 200 and response.json()["numberReturned"] > 0
    assert called == []


@pytest.mark.parametrize("params", [
    {"f": "json", "sortby": "-occurred_on"}, {"f": "json", "datetime": "2026-02-10/.."},
    {"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/2180"}, {"f": "json", "lang": "en"},
    {"f": "html"}, {"f": "json", "limit": "many"},
])
async def test_every_other_request_is_pygeoapis(without_pygeoapi_items: tuple[httpx.AsyncClient, list[str]],
                                                varied: None, params: dict[str, Any]) -> None:
    http, called = without_pygeoapi_items
    await http.get("/ogc/collections/reports/items", params=params)
    assert called == ["reports"]


async def test_accept_geojson_is_written_by_postgresql(client: httpx.AsyncClient, varied: None) -> None:
    response = await client.get("/ogc/collections/reports/items", params={"limit": 3},
                                headers={"Accept": "application/geo+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert WRITTEN_BY_POSTGRESQL in response.text and response.json()["numberReturned"] == 3


@pytest.mark.parametrize(("params", "headers", "media_type"), [
    ({"f": "html"}, {}, "text/html"),
    ({}, {"Accept": "text/html"}, "text/html"),
    ({"f": "csv"}, {}, "text/csv"),
    ({}, {"Accept": "text/csv"}, "text/csv"),
    ({"f": "jsonld"}, {}, "application/ld+json"),
])
async def test_other_formats_stay_pygeoapis(client: httpx.AsyncClient, pygeoapi_client: httpx.AsyncClient,
                                            varied: None, params: dict, headers: dict,
                                            media_type: str) -> None:
    path = "/ogc/collections/reports/items"
    ours = await client.get(path, params={"limit": 4, **params}, headers=headers)
    theirs = await pygeoapi_client.get(path, params={"limit": 4, **params}, headers=headers)
    assert ours.status_code == theirs.status_code == 200
    assert ours.headers["content-type"].startswith(media_type)
    assert "threatmap-features-" not in ours.text and WRITTEN_BY_POSTGRESQL not in ours.text
    if media_type != "text/html":   # HTML pages carry the time they were made
        assert _without_timestamp(ours.text) == _without_timestamp(theirs.text)


def _without_timestamp(text: str) -> str:
    return re.sub(r'"timeStamp":\s*"[^"]*"', "", text)


async def test_a_single_item_is_pygeoapis(client: httpx.AsyncClient, pygeoapi_client: httpx.AsyncClient,
                                          varied: None) -> None:
    first = (await client.get("/ogc/collections/reports/items", params={"f": "json", "limit": 1})).json()
    identifier = first["features"][0]["id"]
    ours = await client.get(f"/ogc/collections/reports/items/{identifier}", params={"f": "json"})
    theirs = await pygeoapi_client.get(f"/ogc/collections/reports/items/{identifier}", params={"f": "json"})
    assert ours.status_code == 200 and ours.json() == theirs.json()
    assert first["features"][0] == {key: value for key, value in ours.json().items() if key != "links"}


@pytest.fixture(scope="module")
async def in_database_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with every items request answered by pygeoapi, its features written by PostgreSQL
    (ogc.geojson_items): what the requests answered before pygeoapi must be, to the byte."""
    async with running_app(settings.model_copy(update={"ogc_items_before_pygeoapi": False})) as (http, _):
        yield http


# Requests answered before pygeoapi: small viewports, empty pages, full pages (numberMatched from
# the cells), links with prev and next, property filters, languages and Accept.
FAST: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"f": "json", "bbox": SMALL_BOX, "limit": 100}, {}),
    ({"f": "json", "bbox": SMALL_BOX, "limit": 1000}, {}),
    ({"bbox": SMALL_BOX, "limit": 100}, {"Accept": "application/geo+json"}),
    ({"f": "json", "bbox": SMALL_BOX, "limit": 2}, {}),                          # next
    ({"f": "json", "bbox": SMALL_BOX, "limit": 2, "offset": 2}, {}),             # prev and next
    ({"f": "json", "bbox": SMALL_BOX, "limit": 100, "offset": 1}, {}),           # prev, the last page
    ({"f": "json", "bbox": EMPTY_BOX, "limit": 100}, {}),                        # nothing there
    ({"f": "json", "bbox": KRAKOW_BOX, "limit": 10, "offset": 500}, {}),         # past the end
    ({"f": "json", "bbox": KRAKOW_BOX, "limit": 10, "offset": 10}, {"Accept-Language": "en"}),
    ({"f": "json", "bbox": KRAKOW_BOX, "limit": 3, "status": "confirmed"}, {}),
    ({"f": "json", "bbox": KRAKOW_BOX, "category_id": "speeding", "limit": 1000}, {}),
    ({"f": "json", "limit": 5, "offset": 5}, {"Accept-Language": "de"}),        # no bbox: the estimate path
    ({"limit": 4}, {"Accept": "*/*", "Accept-Language": "pl"}),
]


@pytest.mark.parametrize(("params", "headers"), FAST, ids=[str(i) for i in range(len(FAST))])
async def test_the_fast_path_writes_pygeoapis_bytes(
        without_pygeoapi_items: tuple[httpx.AsyncClient, list[str]], in_database_client: httpx.AsyncClient,
        varied: None, params: dict[str, Any], headers: dict[str, str]) -> None:
    http, called = without_pygeoapi_items
    path = "/ogc/collections/reports/items"
    ours = await http.get(path, params=params, headers=headers)
    theirs = await in_database_client.get(path, params=params, headers=headers)
    assert called == [], "pygeoapi answered, not the fast path"
    assert ours.status_code == theirs.status_code == 200
    for header in ("content-type", "content-crs", "content-language", "content-length",
                   "content-security-policy"):
        assert ours.headers.get(header) == theirs.headers.get(header), header
    assert _without_timestamp(ours.text) == _without_timestamp(theirs.text)
    assert re.search(r'"timeStamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"}$', ours.text)


@pytest.mark.parametrize(("bbox", "properties"), [
    (KRAKOW_BOX, {}), (SMALL_BOX, {}), (KRAKOW_BOX, {"status": "confirmed"}),
    ("19.9,50.0,20.0,50.1", {"category_id": "speeding"}), (EMPTY_BOX, {}),
])
async def test_number_matched_is_exact_on_full_and_last_pages(client: httpx.AsyncClient, varied: None,
                                                              public_conn: psycopg.Connection, bbox: str,
                                                              properties: dict[str, str]) -> None:
    west, south, east, north = (float(v) for v in bbox.split(","))
    conditions = "".join(f" AND {name} = %({name})s" for name in properties)
    exact = public_conn.execute(
        "SELECT count(*) FROM open.ogc_reports WHERE ST_Intersects(geom, ST_MakeEnvelope("
        f"%(w)s, %(s)s, %(e)s, %(n)s, 4326)){conditions}",
        {"w": west, "s": south, "e": east, "n": north, **properties}).fetchone()[0]
    for limit in (1, 1000):   # a full page (counted from the cells) and the last (counted free)
        body = (await client.get("/ogc/collections/reports/items",
                                 params={"f": "json", "bbox": bbox, "limit": limit, **properties})).json()
        assert body["numberMatched"] == exact
        assert body["numberReturned"] == min(limit, exact)
        assert any(link["rel"] == "next" for link in body["links"]) == (exact > limit)


@pytest.mark.parametrize("offset", ["9223372036854775807", "100000000000000000000"])
@pytest.mark.parametrize("bbox", [SMALL_BOX, KRAKOW_BOX])
async def test_a_huge_offset_is_an_empty_page_or_a_clear_error(client: httpx.AsyncClient, varied: None,
                                                               bbox: str, offset: str) -> None:
    """A small viewport's page computes with its offset (store/ogc_items.py KEPT_BY_POINT): an
    offset past bigint gives an empty page or a 400, never a 500."""
    response = await client.get("/ogc/collections/reports/items",
                                params={"f": "json", "bbox": bbox, "offset": offset, "limit": 10})
    assert response.status_code in (200, 400), response.text[:500]
    if response.status_code == 200:
        assert response.json()["features"] == []
