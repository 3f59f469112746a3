"""The tile door over HTTP: XYZ tiles, TileJSON, the MapLibre style, OGC API Tiles paths."""

import logging
from urllib.parse import urlencode

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tiles.errors import BadTileRequest
from tiles.filters import TileFilters, parse_filters
from tiles.grid import TileAddress, parse_address
from tiles.metadata import ogc_tileset, ogc_tilesets, style, tilejson
from tiles.service import TileService

log = logging.getLogger(__name__)

MVT = "application/vnd.mapbox-vector-tile"
CORS = {"Access-Control-Allow-Origin": "*"}


def _bad(error: BadTileRequest) -> JSONResponse:
    return JSONResponse({"code": "bad_request", "detail": str(error)}, status_code=400,
                        headers={"Cache-Control": "no-store", **CORS})


def base_url(request: Request) -> str:
    configured = request.app.state.runtime.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


class TileEndpoints:
    def __init__(self, service: TileService) -> None:
        self.service = service

    def _filters(self, request: Request) -> TileFilters:
        return parse_filters(request.query_params, self.service.category_ids, self.service.status_ids)

    def _headers(self, version: int, filters: TileFilters) -> dict[str, str]:
        return {"ETag": f'W/"{version}-{filters.digest}"',
                "Cache-Control": f"public, max-age={self.service.config.max_age_s}",
                "Vary": "Accept-Encoding", **CORS}

    async def _respond(self, request: Request, address: TileAddress, filters: TileFilters) -> Response:
        try:
            revalidating = request.headers.get("if-none-match")
            if revalidating:  # answered from the data version alone, without making the tile
                headers = self._headers(await self.service.version(), filters)
                if _etag_matches(revalidating, headers["ETag"]):
                    return Response(status_code=304, headers=headers)
            body = await self.service.tile(address, filters)
        except (psycopg.Error, PoolTimeout) as error:
            log.warning("tile %s failed: %s", address, error)
            return JSONResponse({"code": "unavailable", "detail": "the tile could not be made now"},
                                status_code=503, headers={"Retry-After": "5", "Cache-Control": "no-store",
                                                          **CORS})
        headers = self._headers(body.version, filters)
        if _etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        if not body.raw:
            return Response(status_code=204, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            fresh = not body.has_gzip
            content = body.gzipped
            if fresh:
                self.service.note_gzipped(address, filters)
            headers["Content-Encoding"] = "gzip"
        else:
            content = body.raw
        return Response(content, media_type=MVT, headers=headers)

    async def xyz_tile(self, request: Request) -> Response:
        p = request.path_params
        try:
            address = parse_address(p["z"], p["x"], p["y"], self.service.config.max_zoom)
            filters = self._filters(request)
        except BadTileRequest as error:
            return _bad(error)
        return await self._respond(request, address, filters)

    async def ogc_tile(self, request: Request) -> Response:
        p = request.path_params
        try:
            address = parse_address(p["matrix"], p["col"], p["row"], self.service.config.max_zoom)
            filters = self._filters(request)
            if request.query_params.get("f", "mvt") != "mvt":
                raise BadTileRequest("f must be mvt: the only tile format offered")
        except BadTileRequest as error:
            return _bad(error)
        return await self._respond(request, address, filters)

    async def tilejson(self, request: Request) -> Response:
        try:
            filters = self._filters(request)
        except BadTileRequest as error:
            return _bad(error)
        query = f"?{urlencode(filters.query_items(), safe=',')}" if not filters.empty else ""
        document = tilejson(base_url(request), query, self.service)
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300", **CORS})

    async def style(self, request: Request) -> Response:
        return JSONResponse(style(base_url(request), self.service.catalogue),
                            headers={"Cache-Control": "public, max-age=300", **CORS})

    async def ogc_tilesets(self, request: Request) -> Response:
        return JSONResponse(ogc_tilesets(base_url(request)), headers=CORS)

    async def ogc_tileset(self, request: Request) -> Response:
        return JSONResponse(ogc_tileset(base_url(request), self.service), headers=CORS)


def routes(service: TileService) -> list[BaseRoute]:
    """The /tiles routes (mount them at /tiles)."""
    endpoints = TileEndpoints(service)
    return [
        Route("/reports/{z}/{x}/{y}.mvt", endpoints.xyz_tile, methods=["GET"]),
        Route("/reports.json", endpoints.tilejson, methods=["GET"]),
        Route("/style.json", endpoints.style, methods=["GET"]),
    ]


def ogc_routes(service: TileService) -> list[BaseRoute]:
    """OGC API Tiles paths of the same engine; list them before any /ogc mount."""
    endpoints = TileEndpoints(service)
    base = "/ogc/collections/reports/tiles"
    return [
        Route(base, endpoints.ogc_tilesets, methods=["GET"]),
        Route(f"{base}/WebMercatorQuad", endpoints.ogc_tileset, methods=["GET"]),
        Route(base + "/WebMercatorQuad/{matrix}/{row}/{col}", endpoints.ogc_tile, methods=["GET"]),
    ]
