"""/ogc/openapi (issue 11, point 6): a valid OpenAPI 3.0 document (openapi-spec-validator) that
resolves offline (no reference leaves this server, every local one resolves), lists no OPTIONS
operation, documents the filter parameters, the CRS list and the tiles paths; and the landing page
and collections that go with it: no link to /processes, no spatial extent without geometry."""

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from ogc.openapi import references, resolve

EPSG2180 = "http://www.opengis.net/def/crs/EPSG/0/2180"
COLLECTIONS = ["reports", "report-density", "area-statistics", "police-units", "categories"]
TIMED = {"reports", "report-density", "area-statistics"}
WITHOUT_GEOMETRY = {"categories"}


@pytest.fixture(scope="module")
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/ogc/openapi", params={"f": "json"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0")
    validate(document)   # raises OpenAPIValidationError, naming the place


def test_no_reference_leaves_the_server_and_every_one_resolves(document: dict[str, Any]) -> None:
    refs = [holder["$ref"] for holder in references(document)]
    assert len(refs) > 100
    remote = sorted({ref for ref in refs if not ref.startswith("#/")})
    assert not remote, f"references to other sites: {remote}"
    for ref in set(refs):
        assert resolve(document, ref) is not None, ref


def test_no_options_operation_is_listed(document: dict[str, Any]) -> None:
    listed = [path for path, item in document["paths"].items() if "options" in item]
    assert not listed


async def test_every_listed_get_without_path_parameters_answers(client: httpx.AsyncClient,
                                                                document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        if "{" not in path and "get" in item:
            answer = await client.get(f"/ogc{path}", params={"f": "json"})
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])


def _names(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    return {resolve(document, p["$ref"])["name"] if "$ref" in p else p["name"]
            for p in operation["parameters"]}


def test_items_document_filter_and_the_crs_list(document: dict[str, Any]) -> None:
    spatial = {"crs", "bbox", "bbox-crs", "filter-crs"}
    for collection in COLLECTIONS:
        names = _names(document, document["paths"][f"/collections/{collection}/items"]["get"])
        assert {"filter", "filter-lang", "sortby", "limit", "offset", "properties"} <= names
        assert ("datetime" in names) == (collection in TIMED), (collection, names)
        if collection in WITHOUT_GEOMETRY:   # refused with a 400 there: not offered
            assert not names & spatial, (collection, names)
        else:
            assert spatial <= names, (collection, names)
        post = document["paths"][f"/collections/{collection}/items"]["post"]
        assert "application/query-cql-json" in post["requestBody"]["content"]
    parameters = document["components"]["parameters"]
    assert parameters["filter-lang"]["schema"]["enum"] == ["cql2-text", "cql2-json"]
    for name in ("crs", "bbox-crs", "filter-crs"):
        assert EPSG2180 in parameters[name]["schema"]["enum"], name


def test_the_tiles_paths_are_listed(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "/collections/reports/tiles" in paths
    tile = paths["/collections/reports/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"]["get"]
    assert "application/vnd.mapbox-vector-tile" in tile["responses"]["200"]["content"]
    assert "/tileMatrixSets" in paths


def test_only_used_tags_are_declared(document: dict[str, Any]) -> None:
    declared = {tag["name"] for tag in document["tags"]}
    assert "processes" not in declared and "stac" not in declared and "reports" in declared


async def test_the_landing_page_links_only_what_answers(client: httpx.AsyncClient) -> None:
    landing = (await client.get("/ogc/", params={"f": "json"})).json()
    hrefs = [link["href"] for link in landing["links"]]
    assert not [h for h in hrefs if "/processes" in h or "/jobs" in h]
    for href in hrefs:
        if href.startswith("http://testserver"):
            # pygeoapi writes the landing page's own links without the slash: /ogc redirects
            # to /ogc/ (a client follows it); everything must end in a 200.
            answer = await client.get(href.replace("http://testserver", ""), follow_redirects=True)
            assert answer.status_code == 200, (href, answer.status_code)


async def test_a_collection_without_geometry_declares_no_spatial_extent(client: httpx.AsyncClient) -> None:
    categories = (await client.get("/ogc/collections/categories", params={"f": "json"})).json()
    assert "spatial" not in categories.get("extent", {})
    reports = (await client.get("/ogc/collections/reports", params={"f": "json"})).json()
    assert reports["extent"]["spatial"]["bbox"]
    collections = (await client.get("/ogc/collections", params={"f": "json"})).json()["collections"]
    listed = {c["id"]: c for c in collections}
    assert "spatial" not in listed["categories"].get("extent", {})
    assert listed["police-units"]["extent"]["spatial"]["bbox"]
