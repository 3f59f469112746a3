"""Tile addresses: parsing and checking z/x/y, and what each zoom shows."""

from dataclasses import dataclass

import mercantile

from tiles.errors import BadTileRequest

MIN_ZOOM = 0
MAX_ZOOM = 16
REPORTS_MIN_ZOOM = 12      # the switch zoom: reports as points from here, density below it
COUNTIES_MIN_ZOOM = 7      # areas layer: voivodeships below, counties from here
AREAS_MAX_ZOOM = REPORTS_MIN_ZOOM - 1
WORLD_M = 2 * 20037508.342789244
# Poland's extent (lon/lat) with a margin: TileJSON bounds and a fast "no data here" test.
POLAND_BOUNDS = (14.07, 49.0, 24.15, 54.84)
DATA_BOUNDS = (13.5, 48.5, 24.7, 55.4)
# Density cells should be about this many per tile width (about 16 px at 512 px a tile).
CELLS_PER_TILE = 32
# Mercator metres per ground metre at Poland's latitudes (1 / cos 52°).
MERCATOR_SCALE = 1.62


@dataclass(frozen=True)
class TileAddress:
    z: int
    x: int
    y: int

    @property
    def tile(self) -> mercantile.Tile:
        return mercantile.Tile(self.x, self.y, self.z)

    def touches_data(self) -> bool:
        west, south, east, north = mercantile.bounds(self.tile)
        return not (east < DATA_BOUNDS[0] or west > DATA_BOUNDS[2]
                    or north < DATA_BOUNDS[1] or south > DATA_BOUNDS[3])


# No index of a tile at zoom 0 to 16 has more digits than this (leading zeros allowed); a longer
# one is refused before int(), which fails on more than 4300 digits.
MAX_INDEX_DIGITS = 10


def _integer(name: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise BadTileRequest(f"{name} must be a non-negative integer, got {text[:40]!r}")
    if len(text) > MAX_INDEX_DIGITS:
        raise BadTileRequest(f"{name} has {len(text)} digits; a tile index has at most {MAX_INDEX_DIGITS}")
    return int(text)


def parse_address(z: str, x: str, y: str, max_zoom: int = MAX_ZOOM) -> TileAddress:
    """Checks a tile address given as path text; raises BadTileRequest with a clear reason."""
    zi, xi, yi = _integer("z", z), _integer("x", x), _integer("y", y)
    if not MIN_ZOOM <= zi <= max_zoom:
        raise BadTileRequest(f"z must be between {MIN_ZOOM} and {max_zoom}, got {zi}")
    limit = 2 ** zi - 1
    if xi > limit or yi > limit:
        raise BadTileRequest(f"x and y must be between 0 and {limit} at zoom {zi}, got x={xi} y={yi}")
    return TileAddress(zi, xi, yi)


def density_level(z: int, levels: list[int]) -> int:
    """The density cell size for a zoom: the finest level not finer than CELLS_PER_TILE a tile."""
    wanted = WORLD_M / 2 ** z / CELLS_PER_TILE / MERCATOR_SCALE
    fitting = [m for m in sorted(levels) if m >= wanted]
    return fitting[0] if fitting else max(levels)


def area_level(z: int) -> str:
    return "county" if z >= COUNTIES_MIN_ZOOM else "voivodeship"
