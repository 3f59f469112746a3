"""GET /: the map page (MapLibre GL JS shipped in tiles/static, no CDN)."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def static_files() -> StaticFiles:
    """Mount at /tiles/static."""
    return StaticFiles(directory=STATIC_DIR)


async def map_page(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})
