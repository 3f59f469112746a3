"""Documents that describe the tileset: TileJSON 3.0, a MapLibre style, OGC API Tiles metadata."""

from typing import TYPE_CHECKING

import mercantile

from store.catalogue import Catalogue
from tiles.addresses import AREAS_MAX_ZOOM, COUNTIES_MIN_ZOOM, POLAND_BOUNDS, REPORTS_MIN_ZOOM

if TYPE_CHECKING:
    from tiles.service import TileService

# Names and marks only, no sentence: the tiles door does not negotiate a language, and a map
# page says it in its own (gateway/static/map/basemap.js overrides it per source). The areas'
# geometry is GUGiK's register of boundaries (PRG), converted by polska-geojson, whose MIT licence
# asks for its notice (config/poland/LICENSE); the MIT licence is the conversion's, not GUGiK's.
ATTRIBUTION = "threatmap | PRG © GUGiK, polska-geojson © Piotr Patrzyk (MIT)"
NAME = "threatmap reports"
DESCRIPTION = ("Anonymized public-safety reports: points at the centre of their public grid cell "
               f"from zoom {REPORTS_MIN_ZOOM}, density cells and area counts (counts below k "
               "suppressed) below it.")
CENTRE = [19.4, 52.0, 5]
WEB_MERCATOR_QUAD = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
OGC_TILES = "/ogc/collections/reports/tiles"


def vector_layers(service: "TileService") -> list[dict]:
    per_category = {c.id: "Number" for c in service.catalogue.categories}
    max_zoom = service.config.max_zoom
    return [
        {"id": "reports", "minzoom": REPORTS_MIN_ZOOM, "maxzoom": max_zoom,
         "description": "Public reports at their public cell centre: from zoom 15 one point a report; "
                        "below, one point a cell for all its reports (those matching the filters).",
         "fields": {"category": "String (below zoom 15: the cell's most frequent category and "
                                "status together)",
                    "status": "String",
                    "date": "String: YYYY-MM-DD, or YYYY-MM for sensitive categories (below zoom "
                            "15: the newest)",
                    "count": "Number (below zoom 15: how many reports the point stands for)",
                    "id": "String (from zoom 15)"}},
        {"id": "density", "minzoom": 0, "maxzoom": REPORTS_MIN_ZOOM - 1,
         "description": "Grid cells (centre points) with report counts; counts below k are not shown.",
         "fields": {"count": "Number", "top_category": "String", **per_category}},
        {"id": "areas", "minzoom": 0, "maxzoom": AREAS_MAX_ZOOM,
         "description": f"Voivodeships, counties from zoom {COUNTIES_MIN_ZOOM}, with report counts.",
         "fields": {"code": "String", "name": "String", "level": "String", "count": "Number",
                    "top_category": "String"}},
        {"id": "police_statistics", "minzoom": 0, "maxzoom": AREAS_MAX_ZOOM,
         "description": "With stat=KIND: the areas by that kind of police statistic over the months of "
                        "from/to (counts from 1 to k-1 left out), with the rate per 100,000 residents.",
         "fields": {"code": "String", "name": "String", "level": "String", "kind": "String",
                    "count": "Number", "residents": "Number", "rate_per_100k": "Number"}},
        {"id": "road_sections", "minzoom": 0, "maxzoom": max_zoom,
         "description": "With roads=true: road sections with at least k incidents (lines).",
         "fields": {"id": "Number", "road": "String", "km_from": "Number", "km_to": "Number",
                    "period_from": "String: YYYY-MM", "period_to": "String: YYYY-MM",
                    "incidents": "Number", "deaths": "Number", "injuries": "Number"}},
    ]


def tilejson(base: str, query: str, service: "TileService") -> dict:
    return {
        "tilejson": "3.0.0",
        "name": NAME,
        "description": DESCRIPTION,
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/reports/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": 0,
        "maxzoom": service.config.max_zoom,
        "bounds": list(POLAND_BOUNDS),
        "center": CENTRE,
        "vector_layers": vector_layers(service),
    }


def _colour_by_category(catalogue: Catalogue, field: str) -> list:
    pairs = [item for c in catalogue.categories for item in (c.id, c.colour)]
    return ["match", ["get", field], *pairs, "#555555"]


def style(base: str, catalogue: Catalogue) -> dict:
    density_colour = _colour_by_category(catalogue, "top_category")
    return {
        "version": 8,
        "name": NAME,
        "metadata": {"threatmap:legend": [
            {"id": c.id, "name_en": c.name_en, "name_pl": c.name_pl, "colour": c.colour}
            for c in catalogue.categories]},
        "center": CENTRE[:2],
        "zoom": 5.5,
        "sources": {"threatmap": {"type": "vector", "url": f"{base}/tiles/reports.json"}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f1ea"}},
            {"id": "areas-fill", "type": "fill", "source": "threatmap", "source-layer": "areas",
             "paint": {"fill-color": "#d8d2c4", "fill-opacity": 0.5}},
            {"id": "areas-line", "type": "line", "source": "threatmap", "source-layer": "areas",
             "paint": {"line-color": "#8a8170", "line-width": 0.8}},
            {"id": "density", "type": "circle", "source": "threatmap", "source-layer": "density",
             "paint": {
                 "circle-color": density_colour,
                 "circle-opacity": 0.75,
                 "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]],
                                   1, 2, 10, 6, 40, 14],
             }},
            {"id": "reports", "type": "circle", "source": "threatmap", "source-layer": "reports",
             "paint": {
                 "circle-color": _colour_by_category(catalogue, "category"),
                 "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 16, 6],
                 "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.5,
             }},
        ],
    }


def _link(href: str, rel: str, media: str, title: str, templated: bool = False) -> dict:
    link = {"href": href, "rel": rel, "type": media, "title": title}
    if templated:
        link["templated"] = True
    return link


def ogc_tilesets(base: str) -> dict:
    return {
        "links": [_link(f"{base}{OGC_TILES}", "self", "application/json", "Tilesets of reports")],
        "tilesets": [{
            "title": NAME,
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": WEB_MERCATOR_QUAD,
            "links": [
                _link(f"{base}{OGC_TILES}/WebMercatorQuad", "self", "application/json",
                      "WebMercatorQuad tileset"),
                _link(WEB_MERCATOR_QUAD, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                      "application/json", "WebMercatorQuad definition"),
                _link(f"{base}{OGC_TILES}/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                      "item", "application/vnd.mapbox-vector-tile", "Tiles", templated=True),
            ],
        }],
    }


def _limits(z: int) -> dict:
    west, south, east, north = POLAND_BOUNDS
    top_left, bottom_right = mercantile.tile(west, north, z), mercantile.tile(east, south, z)
    return {"tileMatrix": str(z), "minTileRow": top_left.y, "maxTileRow": bottom_right.y,
            "minTileCol": top_left.x, "maxTileCol": bottom_right.x}


def ogc_tileset(base: str, service: "TileService") -> dict:
    west, south, east, north = POLAND_BOUNDS
    return {
        "title": NAME,
        "description": DESCRIPTION,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "tileMatrixSetLimits": [_limits(z) for z in range(service.config.max_zoom + 1)],
        "layers": [{"id": layer["id"], "dataType": "vector", "minTileMatrix": str(layer["minzoom"]),
                    "maxTileMatrix": str(layer["maxzoom"]),
                    "propertiesSchema": {"type": "object", "properties": {
                        name: {"type": "number" if kind == "Number" else "string"}
                        for name, kind in layer["fields"].items()}}}
                   for layer in vector_layers(service)],
        "links": [
            _link(f"{base}{OGC_TILES}/WebMercatorQuad", "self", "application/json", "This tileset"),
            _link(WEB_MERCATOR_QUAD, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                  "application/json", "WebMercatorQuad definition"),
            _link(f"{base}{OGC_TILES}/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                  "item", "application/vnd.mapbox-vector-tile", "Tiles", templated=True),
            _link(f"{base}/tiles/reports.json", "describedby", "application/json", "TileJSON"),
        ],
    }
