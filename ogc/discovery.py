"""What /ogc says about itself, made honest: the conformance classes that truly work, the links
and OpenAPI paths that let a client find the vector tiles (served by tiles/http.py, not pygeoapi).

pygeoapi builds /conformance from its providers (`pygeoapi.api.conformance`): it declares Part 4
create-replace-delete for every feature provider although every write here is a 405, and not
Part 3's filter classes, so QGIS never sends a filter. It knows nothing of our tile engine, so it
neither declares OGC API Tiles nor links the `reports` tilesets.
"""

import json
from typing import Any

from pygeoapi.api import API, APIRequest
from pygeoapi.formats import F_HTML
from pygeoapi.util import render_j2_template, to_json

from tiles.metadata import OGC_TILES

FEATURES = "http://www.opengis.net/spec/ogcapi-features-{part}/1.0/conf/{name}"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/{name}"
TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}"

# Each class is exercised by a request in tests/test_ogc_discovery.py. Not declared, because
# ogc/cql.py does not compile them: accent-insensitive comparison (ACCENTI), temporal functions
# (only T_BEFORE, T_AFTER, T_EQUALS and T_DURING), array functions, custom functions; nor Part 4
# (collections are read-only).
CONFORMANCE = sorted([
    *(FEATURES.format(part=1, name=n) for n in ("core", "geojson", "html", "oas30")),
    FEATURES.format(part=2, name="crs"),
    *(FEATURES.format(part=3, name=n) for n in ("filter", "features-filter", "queryables",
                                                "queryables-query-parameters")),
    *(CQL2.format(name=n) for n in ("cql2-text", "cql2-json", "basic-cql2",
                                    "advanced-comparison-operators", "case-insensitive-comparison",
                                    "basic-spatial-functions", "spatial-functions", "arithmetic")),
    *(TILES.format(name=n) for n in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")),
])

TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
TILE_COLLECTIONS = {"reports"}   # collections with a vector tileset (tiles.ogc_routes)


def conformance(api: API, request: APIRequest) -> tuple[dict, int, str]:
    """GET /conformance, as pygeoapi's, with our list (pygeoapi.api.conformance)."""
    document = {"conformsTo": CONFORMANCE}
    headers = request.get_response_headers(**api.api_headers)
    if request.format == F_HTML:
        return headers, 200, render_j2_template(api.tpl_config, api.config["server"]["templates"],
                                                "conformance.html", document, request.locale)
    return headers, 200, to_json(document, api.pretty_print)


def tileset_links(api: API, collection: dict[str, Any]) -> None:
    """Adds the vector tilesets link to a collection that has one (GeoNetwork-UI, QGIS look for it)."""
    if collection.get("id") in TILE_COLLECTIONS:
        links = collection.setdefault("links", [])
        if not any(link.get("rel") == TILESETS_VECTOR for link in links):
            links.append({"rel": TILESETS_VECTOR, "type": "application/json",
                          "title": "Vector tilesets (Mapbox Vector Tiles)",
                          "href": f"{api.base_url}/collections/{collection['id']}/tiles"})


def _json_object(request: APIRequest, content: Any) -> dict | None:
    """pygeoapi's answer as a JSON object, or None when it is HTML, bytes or anything else."""
    if request.format == F_HTML or not isinstance(content, str):
        return None
    try:
        document = json.loads(content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def with_tileset_links(api: API, request: APIRequest, content: Any) -> Any:
    """pygeoapi's /collections or /collections/{id} JSON answer with the tilesets links added."""
    document = _json_object(request, content)
    if document is None:
        return content
    without_geometry = {name for name, resource in api.config["resources"].items()
                        if not any(p.get("geom_field") for p in resource.get("providers", [])
                                   if p.get("type") == "feature")}
    for collection in document.get("collections", [document]):
        if isinstance(collection, dict):
            tileset_links(api, collection)
            if collection.get("id") in without_geometry:
                # pygeoapi requires a spatial extent in the configuration and writes it out; a
                # collection without geometry (categories) has none.
                extent = collection.get("extent", {})
                extent.pop("spatial", None)
                if not extent:
                    collection.pop("extent", None)
    return to_json(document, api.pretty_print)


# Landing page links to what this service does not offer (pygeoapi links them always).
ABSENT = ("/processes", "/jobs")


def without_absent_links(api: API, request: APIRequest, content: Any) -> Any:
    """pygeoapi's landing page JSON without its links to /processes (a 404 here)."""
    document = _json_object(request, content)
    if document is None:
        return content
    if isinstance(document.get("links"), list):
        document["links"] = [link for link in document["links"]
                             if not str(link.get("href", "")).split("?")[0].endswith(ABSENT)]
    return to_json(document, api.pretty_print)


def _get(summary: str, parameters: list[dict], media: str, description: str) -> dict:
    return {"get": {"summary": summary, "tags": ["reports"], "parameters": parameters,
                    "responses": {"200": {"description": description,
                                          "content": {media: {"schema": {"type": "object"}
                                                              if "json" in media else
                                                              {"type": "string", "format": "binary"}}}},
                                  "400": {"description": "Bad request"}}}}


def _path_parameter(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 0}}


def add_tile_paths(openapi: dict[str, Any]) -> dict[str, Any]:
    """The OGC API Tiles paths of tiles/http.py and the tile matrix sets, in pygeoapi's OpenAPI."""
    paths = openapi.setdefault("paths", {})
    tile = [_path_parameter("tileMatrix", "Zoom level"), _path_parameter("tileRow", "Row (y)"),
            _path_parameter("tileCol", "Column (x)")]
    paths[OGC_TILES.removeprefix("/ogc")] = _get(
        "Vector tilesets of reports", [], "application/json", "The list of tilesets")
    paths[OGC_TILES.removeprefix("/ogc") + "/WebMercatorQuad"] = _get(
        "The WebMercatorQuad vector tileset of reports", [], "application/json", "Tileset metadata")
    paths[OGC_TILES.removeprefix("/ogc") + "/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"] = _get(
        "A vector tile of reports", tile, "application/vnd.mapbox-vector-tile",
        "The tile (204 when empty)")
    for tms in ("/tileMatrixSets", "/TileMatrixSets"):
        paths.setdefault(tms, _get("Tile matrix sets", [], "application/json",
                                   "The list of tiling schemes"))
        paths.setdefault(tms + "/{tileMatrixSetId}", _get(
            "A tile matrix set", [{"name": "tileMatrixSetId", "in": "path", "required": True,
                                   "schema": {"type": "string"}}],
            "application/json", "The tiling scheme"))
    return openapi
