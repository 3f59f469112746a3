"""Decoding tiles as a client does: MVT bytes to features with Web Mercator coordinates."""

import mapbox_vector_tile
import mercantile

EXTENT = 4096


def decode(data: bytes, z: int, x: int, y: int) -> dict[str, list[dict]]:
    """Layers of a tile, each feature with its properties and its points in EPSG:3857 metres."""
    bounds = mercantile.xy_bounds(mercantile.Tile(x, y, z))
    width = bounds.right - bounds.left

    def to_mercator(px: float, py: float) -> tuple[float, float]:
        return bounds.left + px / EXTENT * width, bounds.top - py / EXTENT * width

    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True,
                                                               "transformer": to_mercator})
    return {name: layer["features"] for name, layer in layers.items()}


def pixel_m(z: int) -> float:
    return 2 * 20037508.342789244 / 2**z / EXTENT
