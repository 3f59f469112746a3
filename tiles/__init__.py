"""Vector tiles of the `open` layer: MVT made in the database, cached tile by tile."""

from tiles.http import ogc_routes, routes
from tiles.page import static_files
from tiles.service import TileConfig, TileService
from tiles.shortcut import CachedTileShortcut

__all__ = ["CachedTileShortcut", "TileConfig", "TileService", "ogc_routes", "routes", "static_files"]
