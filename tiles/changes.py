"""Which tiles a change of the public layer touches.

A change note (store/sql/40_tile_notices.sql) gives the public places (EPSG:3857 cell centres) of the changed
reports and their area codes. A tile shows a change when:
- reports layer (z >= 12): a changed place lies in the tile's buffered envelope;
- density layer (z < 12): the centre of the density cell holding a changed place lies there.
  That centre is within half a cell diagonal of the place (in EPSG:2180 metres, at most
  1.25 cell widths in Web Mercator metres at Poland's latitudes), so the envelope is widened
  by DENSITY_REACH cell widths instead of projecting the place into the grid;
- areas layer (z < 12): the bounding box of a changed county (z 7-11) or voivodeship (z < 7)
  meets the buffered envelope.
Every test is on the safe side: a tile evicted for nothing costs one render, a tile kept
wrongly would be stale, so the bounds only ever widen.
"""

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tiles.addresses import AREAS_MAX_ZOOM, COUNTIES_MIN_ZOOM, REPORTS_MIN_ZOOM, density_level
from tiles.queries import BUFFER, EXTENT

WORLD_HALF = 20037508.342789244
DENSITY_REACH = 1.3   # cell widths: > sqrt(2)/2 * 1/cos(55.4°) * 1.001 (EPSG:2180 scale)
SLACK_M = 2.0         # places come rounded to the metre

Box = tuple[float, float, float, float]   # xmin, ymin, xmax, ymax in EPSG:3857 metres


@dataclass(frozen=True)
class Change:
    version: int
    points: tuple[tuple[float, float], ...] = ()
    areas: tuple[str, ...] = ()
    everything: bool = False


def parse_note(payload: str) -> Change | None:
    """A note from channel threatmap_open_tiles, or None when it is not one."""
    try:
        note = json.loads(payload)
        version = int(note["version"])
        if note.get("everything"):
            return Change(version, everything=True)
        points = tuple((float(x), float(y)) for x, y in note.get("points", []))
        areas = tuple(str(code) for code in note.get("areas", []))
    except (ValueError, TypeError, KeyError):
        return None
    return Change(version, points, areas)


def _tile_width(z: int) -> float:
    return 2 * WORLD_HALF / 2**z


def _ranges(box: Box, z: int, reach: float) -> tuple[range, range]:
    """Columns and rows of the tiles at zoom z whose envelope, widened by `reach` metres,
    meets `box`."""
    width = _tile_width(z)
    last = 2**z - 1
    xmin, ymin, xmax, ymax = box
    x0 = max(0, math.floor((xmin - reach + WORLD_HALF) / width))
    x1 = min(last, math.floor((xmax + reach + WORLD_HALF) / width))
    y0 = max(0, math.floor((WORLD_HALF - ymax - reach) / width))
    y1 = min(last, math.floor((WORLD_HALF - ymin + reach) / width))
    return range(x0, x1 + 1), range(y0, y1 + 1)


@dataclass(frozen=True)
class TileRange:
    z: int
    xs: range
    ys: range

    def __contains__(self, xy: tuple[int, int]) -> bool:
        return xy[0] in self.xs and xy[1] in self.ys

    def __len__(self) -> int:
        return len(self.xs) * len(self.ys)


class ChangeGeometry:
    """Knows the density levels and the areas' bounding boxes, and turns a change into the tile
    ranges it touches."""

    def __init__(self, levels: list[int], area_boxes: Mapping[str, tuple[str, Box]], max_zoom: int
                 ) -> None:
        self.levels = levels
        self.area_boxes = area_boxes   # code -> (level, box)
        self.max_zoom = max_zoom

    def knows_all_areas(self, change: Change) -> bool:
        return all(code in self.area_boxes for code in change.areas)

    def ranges(self, change: Change, zooms: range | None = None) -> Iterator[TileRange]:
        """Tile ranges, zoom by zoom, holding every tile the change touches (and maybe a few
        more). Callers handle change.everything themselves."""
        for z in zooms if zooms is not None else range(self.max_zoom + 1):
            buffer = _tile_width(z) * BUFFER / EXTENT + SLACK_M
            reach = buffer
            if z < REPORTS_MIN_ZOOM:
                reach += DENSITY_REACH * density_level(z, self.levels)
            for x, y in change.points:
                xs, ys = _ranges((x, y, x, y), z, reach)
                yield TileRange(z, xs, ys)
            if z <= AREAS_MAX_ZOOM:
                wanted = "county" if z >= COUNTIES_MIN_ZOOM else "voivodeship"
                for code in change.areas:
                    level, box = self.area_boxes[code]
                    if level == wanted:
                        xs, ys = _ranges(box, z, buffer)
                        yield TileRange(z, xs, ys)

    def touches(self, change: Change, z: int, x: int, y: int) -> bool:
        if change.everything or not self.knows_all_areas(change):
            return True
        return any((x, y) in r for r in self.ranges(change, range(z, z + 1)))
