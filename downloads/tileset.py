"""The public tileset as one PMTiles archive (z 0-14): the very tiles /tiles serves, made by the
same statements (tiles.queries) in one snapshot of the public layer, for static hosting and
offline maps.

Only tiles with content are rendered: which tiles those can be comes from the density pyramid,
the area outlines and the reports' public points (store.exports.content_tiles), so a country at
zoom 14 costs its few thousand inhabited tiles, not a quarter of a million empty renders. A
candidate that renders empty is skipped. Tiles are written in tile-id (Hilbert) order, gzipped
with a fixed timestamp, so equal data gives an equal archive.
"""

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from downloads.writers import Progress
from store import exports
from tiles.addresses import (
    AREAS_MAX_ZOOM,
    POLAND_BOUNDS,
    REPORTS_MIN_ZOOM,
    TileAddress,
    area_level,
    density_level,
)
from tiles.filters import TileFilters
from tiles.metadata import ATTRIBUTION, CENTRE, DESCRIPTION, NAME, vector_layers
from tiles.queries import BUFFER, EXTENT, tile_statement
from tiles.service import TileConfig, TileService

MAX_ZOOM = 14
PIPELINE = 200   # tile statements sent before their answers are read
NO_FILTERS = TileFilters()


@dataclass(frozen=True)
class TilesetStats:
    tiles: int          # tiles written (with content)
    rendered: int       # candidates rendered
    bytes: int          # tile data before gzip


def grid(z: int, levels: list[int]) -> exports.TileGrid:
    return exports.TileGrid(
        z=z, cell_m=density_level(z, levels) if z < REPORTS_MIN_ZOOM else None,
        area_level=area_level(z) if z <= AREAS_MAX_ZOOM else None, margin=BUFFER / EXTENT)


def candidates(conn: psycopg.Connection, levels: list[int], max_zoom: int) -> list[tuple[int, int, int, int]]:
    """(tile id, z, x, y) of every tile that may have content, in tile-id order."""
    found = []
    for z in range(max_zoom + 1):
        for x, y in conn.execute(exports.content_tiles(grid(z, levels))):
            found.append((zxy_to_tileid(z, x, y), z, x, y))
    found.sort()
    return found


def render(conn: psycopg.Connection, tiles: list[tuple[int, int, int, int]], levels: list[int]
           ) -> list[tuple[int, bytes]]:
    """(tile id, MVT bytes) of each tile, by the tile door's own statement; the statements go in
    one pipeline (no round trip per tile: on a busy machine each wake-up costs)."""
    cursors = []
    with conn.pipeline() as pipeline:
        for tile_id, z, x, y in tiles:
            address = TileAddress(z, x, y)
            if address.touches_data():
                statement, params = tile_statement(address, NO_FILTERS, density_level(z, levels))
                cursors.append((tile_id, conn.execute(statement, params)))
        pipeline.sync()
        return [(tile_id, bytes(cursor.fetchone()[1] or b"")) for tile_id, cursor in cursors]


def metadata(config_dir: Path, max_zoom: int) -> dict:
    layers = vector_layers(TileService(config_dir, TileConfig(max_zoom=max_zoom)))
    for layer in layers:
        layer["maxzoom"] = min(layer["maxzoom"], max_zoom)
    return {"name": NAME, "description": DESCRIPTION, "attribution": ATTRIBUTION,
            "type": "overlay", "format": "pbf", "license": "CC-BY-4.0", "vector_layers": layers}


def write_pmtiles(conn: psycopg.Connection, path: Path, config_dir: Path, max_zoom: int = MAX_ZOOM,
                  progress: Progress | None = None,
                  stop: Callable[[], None] | None = None) -> TilesetStats:
    """Writes the archive from one REPEATABLE READ snapshot of `open` (conn: the public role,
    outside a transaction). Returns what it wrote; no file when there is no tile at all.
    `stop` is called now and then, and raises to abandon the work."""
    rendered = written = raw_bytes = 0
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        levels = conn.execute(exports.density_levels()).fetchone()[0]
        tiles = candidates(conn, levels, max_zoom)
        if progress:
            progress(f"tiles: {len(tiles)} candidate tiles, z 0-{max_zoom}")
        if not tiles:
            return TilesetStats(0, 0, 0)
        with open(path, "wb") as out:
            writer = Writer(out)
            for start in range(0, len(tiles), PIPELINE):
                if stop:
                    stop()   # raises when the snapshot is to stop
                for tile_id, data in render(conn, tiles[start:start + PIPELINE], levels):
                    rendered += 1
                    if data:
                        writer.write_tile(tile_id, gzip.compress(data, mtime=0))
                        written += 1
                        raw_bytes += len(data)
                if progress and (start // PIPELINE) % 25 == 24:
                    progress(f"tiles: {rendered}/{len(tiles)} rendered, {written} with content")
            if not written:
                return TilesetStats(0, rendered, 0)
            west, south, east, north = POLAND_BOUNDS
            writer.finalize({
                "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
                "min_lon_e7": round(west * 1e7), "min_lat_e7": round(south * 1e7),
                "max_lon_e7": round(east * 1e7), "max_lat_e7": round(north * 1e7),
                "center_zoom": CENTRE[2], "center_lon_e7": round(CENTRE[0] * 1e7),
                "center_lat_e7": round(CENTRE[1] * 1e7),
            }, metadata(config_dir, max_zoom))
    return TilesetStats(written, rendered, raw_bytes)
