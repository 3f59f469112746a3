"""The tile door over HTTP: XYZ tiles, TileJSON, the MapLibre style, OGC API Tiles paths."""

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S
from tiles.addresses import TileAddress, parse_address
from tiles.errors import BadTileRequest
from tiles.filters import TileFilters, parse_filters
from tiles.metadata import ogc_tileset, ogc_tilesets, style, tilejson
from tiles.reply import CORS, MVT, tile_reply
from tiles.service import TileService

log = logging.getLogger(__name__)


def _bad(error: BadTileRequest) -> JSONResponse:
    return JSONResponse({"code": "bad_request", "detail": str(error)}, status_code=400,
                        headers={"Cache-Control": "no-store", **CORS})


BaseUrl = Callable[[Request], str]   # the public base URL links start with, for a request


class TileEndpoints:
    def __init__(self, service: TileService, base_url: BaseUrl) -> None:
        self.service = service
        self.base_url = base_url

    def _filters(self, request: Request) -> TileFilters:
        return parse_filters(request.query_params, self.service.category_ids, self.service.status_ids,
                             self.service.kind_ids)

    async def _respond(self, request: Request, address: TileAddress, filters: TileFilters) -> Response:
        try:
            # The tag is the tile's content: a revalidation is answered from the cache, or by
            # making the tile, never from a version number that could outlive the bytes.
            body = await self.service.tile(address, filters)
        except DATABASE_UNAVAILABLE as error:
            log.warning("tile %s failed: %s", address, error)
            return JSONResponse({"code": "unavailable", "detail": "the tile could not be made now"},
                                status_code=503, headers={"Retry-After": str(RETRY_AFTER_S),
                                                          "Cache-Control": "no-store", **CORS})
        reply = tile_reply(self.service, address, filters, body, request.headers.get("if-none-match"),
                           request.headers.get("accept-encoding", ""))
        return Response(reply.content, status_code=reply.status, headers=reply.headers,
                        media_type=MVT if reply.content else None)

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
        document = tilejson(self.base_url(request), query, self.service)
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=300", **CORS})

    async def style(self, request: Request) -> Response:
        return JSONResponse(style(self.base_url(request), self.service.catalogue),
                            headers={"Cache-Control": "public, max-age=300", **CORS})

    async def ogc_tilesets(self, request: Request) -> Response:
        return JSONResponse(ogc_tilesets(self.base_url(request)), headers=CORS)

    async def ogc_tileset(self, request: Request) -> Response:
        return JSONResponse(ogc_tileset(self.base_url(request), self.service), headers=CORS)


def routes(service: TileService, base_url: BaseUrl) -> list[BaseRoute]:
    """The /tiles routes (mount them at /tiles); `base_url` gives the links' public base."""
    endpoints = TileEndpoints(service, base_url)
    return [
        Route("/reports/{z}/{x}/{y}.mvt", endpoints.xyz_tile, methods=["GET"]),
        Route("/reports.json", endpoints.tilejson, methods=["GET"]),
        Route("/style.json", endpoints.style, methods=["GET"]),
    ]


def ogc_routes(service: TileService, base_url: BaseUrl) -> list[BaseRoute]:
    """OGC API Tiles paths of the same engine; list them before any /ogc mount."""
    endpoints = TileEndpoints(service, base_url)
    base = "/ogc/collections/reports/tiles"
    return [
        Route(base, endpoints.ogc_tilesets, methods=["GET"]),
        Route(f"{base}/WebMercatorQuad", endpoints.ogc_tileset, methods=["GET"]),
        Route(base + "/WebMercatorQuad/{matrix}/{row}/{col}", endpoints.ogc_tile, methods=["GET"]),
    ]
