"""/tiles/static: MapLibre GL JS shipped with the tiles (no CDN), for the citizen map at /
(gateway/citizen) and any page of this origin."""

from pathlib import Path

from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def static_files() -> StaticFiles:
    """Mount at /tiles/static."""
    return StaticFiles(directory=STATIC_DIR)
