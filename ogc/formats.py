"""Items as CSV (`f=csv`) that a spreadsheet or GDAL can place on a map.

pygeoapi's own CSV formatter writes the properties only: no id and no coordinates. Ours writes,
for every feature, `id`, then `longitude` and `latitude` (WGS 84 degrees; for a line or an area,
a point inside it: shapely's representative point), then `x` and `y` in the requested CRS when
`crs` asks for a projected one (EPSG:2180, PUWG 1992: x the easting, y the northing, in the
order GDAL and QGIS read them), then the properties. A collection without geometry (categories)
gets `id` and its properties. Registered per collection in pygeoapi-config.yml (`formatters`),
under the name of the formatter it replaces.
"""

import csv
import functools
import io
from typing import Any

import pyproj
from pygeoapi.formatter.base import BaseFormatter, FormatterSerializationError
from shapely.errors import ShapelyError
from shapely.geometry import shape

from ogc.bridge import lookup

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEGREE_DIGITS = 7   # about 1 cm
METRE_DIGITS = 2


@functools.cache
def _crs(uri: str) -> pyproj.CRS:
    return pyproj.CRS.from_user_input(uri)


@functools.cache
def _to_lonlat(uri: str, always_xy: bool) -> pyproj.Transformer:
    """From coordinates as the provider wrote them (the CRS's own axis order unless always_xy)."""
    return pyproj.Transformer.from_crs(_crs(uri), _crs(CRS84), always_xy=always_xy)


def _northing_first(uri: str) -> bool:
    return _crs(uri).axis_info[0].direction.lower() in ("north", "south")


def _point(geometry: dict[str, Any] | None) -> tuple[float, float] | None:
    if not geometry:
        return None
    if geometry.get("type") == "Point":
        first, second = geometry["coordinates"][:2]
        return float(first), float(second)
    try:
        inside = shape(geometry).representative_point()
    except (ShapelyError, ValueError, TypeError, KeyError, IndexError):
        return None
    return (inside.x, inside.y) if not inside.is_empty else None


class CsvFormatter(BaseFormatter):
    """`f=csv` with id and coordinates (see the module's doc)."""

    def __init__(self, formatter_def: dict[str, Any]) -> None:
        super().__init__({"name": "CSV", "geom": True, "attachment": formatter_def.get("attachment", False)})
        self.mimetype = "text/csv; charset=utf-8"
        self.f = "csv"
        self.extension = "csv"

    def write(self, options: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> bytes:
        options, data = options or {}, data or {}
        provider = options.get("provider_def") or {}
        features = data.get("features", [])
        has_geometry = bool(provider.get("geom_field"))
        crs_uri = options.get("content_crs") or provider.get("storage_crs") or CRS84
        projected = has_geometry and _crs(crs_uri).is_projected
        columns = ["id", *(["longitude", "latitude"] if has_geometry else []),
                   *(["x", "y"] if projected else []), *self._properties(features, provider)]
        try:
            rows = self._rows(features, crs_uri, bool(provider.get("always_xy")), has_geometry, projected)
        except (pyproj.exceptions.ProjError, ValueError, TypeError) as error:
            raise FormatterSerializationError(f"CSV: coordinates cannot be written: {error}") from None
        output = io.StringIO()
        writer = csv.DictWriter(output, columns, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return output.getvalue().encode("utf-8")

    @staticmethod
    def _properties(features: list[dict[str, Any]], provider: dict[str, Any]) -> list[str]:
        if features:
            return [name for name in features[0].get("properties", {}) if name != "id"]
        try:   # no feature: the header still names the columns (GDAL reads the layer's fields)
            columns = lookup(provider["data"]).columns[provider["table"]]
        except (KeyError, LookupError):
            return []
        return [name for name in columns if name not in ("id", provider.get("geom_field"))]

    @staticmethod
    def _rows(features: list[dict[str, Any]], crs_uri: str, always_xy: bool, has_geometry: bool,
              projected: bool) -> list[dict[str, Any]]:
        points = [_point(f.get("geometry")) if has_geometry else None for f in features]
        placed = [p for p in points if p is not None]
        lonlat = iter([])
        if placed:
            longitudes, latitudes = _to_lonlat(crs_uri, always_xy).transform(
                [p[0] for p in placed], [p[1] for p in placed])
            lonlat = iter(zip(longitudes, latitudes, strict=True))
        swap = projected and not always_xy and _northing_first(crs_uri)
        rows = []
        for feature, point in zip(features, points, strict=True):
            row = {**feature.get("properties", {}), "id": feature.get("id")}
            if point is not None:
                longitude, latitude = next(lonlat)
                row["longitude"] = round(longitude, DEGREE_DIGITS)
                row["latitude"] = round(latitude, DEGREE_DIGITS)
                if projected:
                    x, y = (point[1], point[0]) if swap else point
                    row["x"], row["y"] = round(x, METRE_DIGITS), round(y, METRE_DIGITS)
            rows.append(row)
        return rows
