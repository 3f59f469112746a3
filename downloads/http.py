"""The /downloads door: the snapshot files (downloads.snapshot) and a listing page.

Only the files the manifest names are served (and the manifest itself): a path that is not one
of them, `..` and the like included, is a 404 without the file system being asked. A file comes
with its media type, `Content-Disposition: attachment` with a descriptive name, a strong ETag
(its SHA-256, from the manifest, while the file on disk is the one the manifest describes),
Last-Modified (when its content last changed), 304 on a matching If-None-Match or
If-Modified-Since, and byte ranges (206; If-Range honoured) as PMTiles readers need them.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from downloads.manifest import MANIFEST_NAME, ManifestFile, downloads_dir, read_manifest
from downloads.page import listing_page

CACHE_CONTROL = "public, max-age=300"
BaseUrl = Callable[[Request], str]


def _not_found() -> JSONResponse:
    return JSONResponse({"code": "not_found", "detail": "no such download; see /downloads"},
                        status_code=404, headers={"Cache-Control": "no-store"})


def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC),
                           usegmt=True)


def etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def not_modified_since(header: str, modified: str) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    changed = datetime.fromisoformat(modified.replace("Z", "+00:00")).replace(microsecond=0)
    return since.tzinfo is not None and changed <= since


class DownloadEndpoints:
    def __init__(self, data_dir: Path, base_url: BaseUrl) -> None:
        self.data_dir = Path(data_dir)
        self.root = downloads_dir(self.data_dir).resolve()
        self.base_url = base_url

    async def listing(self, request: Request) -> Response:
        return listing_page(request, read_manifest(self.data_dir), self.base_url(request))

    async def file(self, request: Request) -> Response:
        path = request.path_params["path"]
        if path == MANIFEST_NAME:
            target = self.root / MANIFEST_NAME
            if not target.is_file():
                return _not_found()
            return FileResponse(target, media_type="application/json",
                                headers={"Cache-Control": "no-cache"})
        entry = read_manifest(self.data_dir).find(path)
        if entry is None:
            return _not_found()
        target = (self.root / entry.path).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return _not_found()
        return self._answer(request, entry, target)

    def _answer(self, request: Request, entry: ManifestFile, target: Path) -> Response:
        stat = target.stat()
        headers = {"Cache-Control": CACHE_CONTROL}
        if stat.st_size == entry.size:
            # The manifest describes this file (a new one of another size would be mid-swap).
            headers["ETag"] = f'"{entry.sha256}"'
            headers["Last-Modified"] = http_date(entry.modified)
            if_none_match = request.headers.get("if-none-match")
            if_modified_since = request.headers.get("if-modified-since")
            if (if_none_match and etag_matches(if_none_match, headers["ETag"])) or (
                    if_none_match is None and if_modified_since
                    and not_modified_since(if_modified_since, entry.modified)):
                return Response(status_code=304, headers=headers)
        return FileResponse(target, media_type=entry.media_type, headers=headers,
                            filename=entry.name, stat_result=stat)


def routes(data_dir: Path, base_url: BaseUrl) -> list[BaseRoute]:
    endpoints = DownloadEndpoints(data_dir, base_url)
    return [
        Route("/downloads", endpoints.listing, methods=["GET"]),
        Route("/downloads/", endpoints.listing, methods=["GET"]),
        Route("/downloads/{path:path}", endpoints.file, methods=["GET"]),
    ]
