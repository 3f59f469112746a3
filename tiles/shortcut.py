"""Cache hits answered beneath the framework.

A warm tile costs a dictionary look-up; going through Starlette's middleware stack, router,
Request and Response objects costs several times that. This ASGI wrapper recognises the two
tile paths itself and, when the tile is in the cache, answers at once through the same
tiles.reply as the endpoints (same status, headers, ETag, gzip). Everything else, including
any request it is unsure of (a bad address or filter, HEAD, a miss), goes on to the app, which
answers it the ordinary way: the shortcut can only make a hit faster, never change an answer.
"""

import re

from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from tiles.addresses import TileAddress, parse_address
from tiles.cache import TileBody
from tiles.errors import BadTileRequest
from tiles.filters import TileFilters, parse_filters
from tiles.reply import MVT, tile_reply
from tiles.service import TileService

XYZ = re.compile(r"/tiles/reports/(\d+)/(\d+)/(\d+)\.mvt")
OGC = re.compile(r"/ogc/collections/reports/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)")
NO_FILTERS = TileFilters()
MVT_BYTES = MVT.encode()


class CachedTileShortcut:
    def __init__(self, app: ASGIApp, service: TileService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = self._hit(scope)
            if hit is not None:
                await self._answer(scope, send, *hit)
                return
        await self.app(scope, receive, send)

    def _hit(self, scope: Scope) -> tuple[TileAddress, TileFilters, TileBody] | None:
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if match := XYZ.fullmatch(path):
            z, x, y = match.groups()
        elif match := OGC.fullmatch(path):
            z, y, x = match.groups()
        else:
            return None
        query: bytes = scope["query_string"]
        try:
            address = parse_address(z, x, y, self.service.config.max_zoom)
            if not query:
                filters = NO_FILTERS
            else:
                params = QueryParams(query)
                if params.get("f", "mvt") != "mvt":
                    return None
                filters = parse_filters(params, self.service.category_ids, self.service.status_ids,
                                        self.service.kind_ids)
        except BadTileRequest:
            return None   # the endpoint words the error
        body = self.service.cached(address, filters)
        return None if body is None else (address, filters, body)

    async def _answer(self, scope: Scope, send: Send, address: TileAddress, filters: TileFilters,
                      body: TileBody) -> None:
        if_none_match = accept_encoding = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
        reply = tile_reply(self.service, address, filters, body, if_none_match, accept_encoding or "")
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                   for name, value in reply.headers.items()]
        if reply.content:
            headers += [(b"content-type", MVT_BYTES), (b"content-length", str(len(reply.content)).encode())]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.content})
