"""What a tile request is answered with, once the tile's bytes are known: status, headers and
body (ETag, 304 on a matching If-None-Match, 204 when empty, gzip when accepted). The Starlette
endpoints and the cache-hit shortcut (tiles.shortcut) both answer through here."""

from dataclasses import dataclass

from tiles.addresses import TileAddress
from tiles.cache import TileBody
from tiles.filters import TileFilters
from tiles.service import TileService

MVT = "application/vnd.mapbox-vector-tile"
CORS = {"Access-Control-Allow-Origin": "*"}
# gateway.security_headers adds this to every other answer; a cache hit is answered before it.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class TileReply:
    status: int
    headers: dict[str, str]
    content: bytes       # empty for 204 and 304; Content-Type is MVT whenever it is not


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def tile_reply(service: TileService, address: TileAddress, filters: TileFilters, body: TileBody,
               if_none_match: str | None, accept_encoding: str) -> TileReply:
    headers = {"ETag": f'W/"{body.etag}-{filters.digest}"',
               "Cache-Control": f"public, max-age={service.config.max_age_s}",
               "Vary": "Accept-Encoding", **CORS, **NOSNIFF}
    if etag_matches(if_none_match, headers["ETag"]):
        return TileReply(304, headers, b"")
    if not body.raw:
        return TileReply(204, headers, b"")
    if "gzip" not in accept_encoding:
        return TileReply(200, headers, body.raw)
    fresh = not body.has_gzip
    content = body.gzipped
    if fresh:
        service.note_gzipped(address, filters)   # the cached entry grew by its gzip form
    headers["Content-Encoding"] = "gzip"
    return TileReply(200, headers, content)
