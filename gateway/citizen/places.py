"""The offline base map's data, from the shipped boundaries (config/poland): the voivodeship
and county polygons as GeoJSON, and their names as places (a label point and a bounding box)
for the map's labels and its search."""

import json
from functools import cache
from pathlib import Path

from shapely.geometry import shape

# level -> the file in config/poland
BOUNDARY_FILES = {"voivodeships": "wojewodztwa-min.geojson", "counties": "powiaty-min.geojson"}
LEVEL_NAMES = {"voivodeships": "voivodeship", "counties": "county"}


@cache
def boundaries(config_dir: Path, level: str) -> bytes:
    """The polygons of `level` as GeoJSON bytes (only their names kept as properties)."""
    data = json.loads((config_dir / "poland" / BOUNDARY_FILES[level]).read_text(encoding="utf-8"))
    features = [{"type": "Feature", "geometry": f["geometry"],
                 "properties": {"name": f["properties"]["nazwa"]}} for f in data["features"]]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode()


def _rounded(values: tuple[float, ...]) -> list[float]:
    return [round(v, 4) for v in values]


@cache
def places(config_dir: Path) -> bytes:
    """Every voivodeship and county as a GeoJSON point (a point inside it, for its label) with
    its name, level and bounding box: the map labels them and searches them by name."""
    features = []
    for level, file in BOUNDARY_FILES.items():
        data = json.loads((config_dir / "poland" / file).read_text(encoding="utf-8"))
        for feature in data["features"]:
            polygon = shape(feature["geometry"])
            point = polygon.representative_point()
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": _rounded((point.x, point.y))},
                "properties": {"name": feature["properties"]["nazwa"], "level": LEVEL_NAMES[level],
                               "bbox": _rounded(polygon.bounds)},
            })
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode()
