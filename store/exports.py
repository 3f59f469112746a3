"""The statements the open-data snapshots (downloads.snapshot) read: the public layer as rows for
files, and which tiles of the public tileset have content.

Every statement reads schema `open` only and is run as the public role. The statements are built
with their values inlined as literals (`psycopg.sql.Literal`), because COPY takes no bound
parameters and ogr2ogr takes one SQL text. Rows come sorted by a public key (the report's random
id, the cell, the area), never in the order they were published.
"""

from dataclasses import dataclass
from datetime import date

from psycopg import sql

# A file of reports: a month of occurrence, or every report (None).
Period = tuple[date, date] | None

# One session setting for every export connection: the public role's statement timeout (5 s)
# is for requests; COPY of a million rows is one statement.
SESSION_OPTIONS = "-c statement_timeout=0 -c jit=off"


def _period(column: str, period: Period, alias: str = "r") -> sql.Composable:
    if period is None:
        return sql.SQL("true")
    start, end = period
    return sql.SQL("{col} BETWEEN {start} AND {end}").format(
        col=sql.Identifier(alias, column), start=sql.Literal(start), end=sql.Literal(end))


COPY_CSV = "COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)"
# COPY's CSV format with a delimiter and a quote character that JSON text never holds unescaped
# (control characters are escaped in JSON strings): each value comes out as it is, one a line.
COPY_LINES = "COPY ({}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"


def copy_csv(statement: sql.Composable) -> sql.Composed:
    """The statement's rows as CSV with a header line (RFC 4180 quoting)."""
    return sql.SQL(COPY_CSV).format(statement)


def copy_lines(statement: sql.Composable) -> sql.Composed:
    """A one-column text statement's values, one per line, unquoted and unescaped."""
    return sql.SQL(COPY_LINES).format(statement)


# -- reports ------------------------------------------------------------------------------------
# The public fields of a report, with its public point as longitude/latitude (WGS 84) and as
# x/y in EPSG:2180 (the privacy grid's own system: the cell centre, to the centimetre).
REPORT_FIELDS = """
    r.id, {coordinates}
    r.category_id, r.status, r.occurred_on, r.date_precision, r.cell_m,
    r.voivodeship_code, r.county_code, r.police_unit_id
"""
LON_LAT = ("round(ST_X(r.geom)::numeric, 7)::float8 AS longitude, "
           "round(ST_Y(r.geom)::numeric, 7)::float8 AS latitude,")
X_Y = "round(ST_X(p.p)::numeric, 2)::float8 AS x_2180, round(ST_Y(p.p)::numeric, 2)::float8 AS y_2180,"
# The geometry column: as it is (for ogr2ogr, which reads PostGIS types), or as WKB.
GEOMETRY = {None: "", "geom": ", r.geom", "wkb": ", ST_AsBinary(r.geom) AS geometry"}

REPORTS = """
SELECT {fields}{geometry}
FROM open.reports AS r CROSS JOIN LATERAL (SELECT ST_Transform(r.geom, 2180) AS p) AS p
WHERE {period}
ORDER BY r.id
"""

# One GeoJSON feature per line (made by PostgreSQL: Python only moves the bytes).
REPORTS_GEOJSON = """
SELECT json_build_object(
    'type', 'Feature', 'id', r.id,
    'geometry', ST_AsGeoJSON(r.geom, 7)::json,
    'properties', json_build_object(
        'id', r.id, 'category_id', r.category_id, 'status', r.status,
        'occurred_on', r.occurred_on, 'date_precision', r.date_precision, 'cell_m', r.cell_m,
        'voivodeship_code', r.voivodeship_code, 'county_code', r.county_code,
        'police_unit_id', r.police_unit_id,
        'x_2180', round(ST_X(p.p)::numeric, 2)::float8,
        'y_2180', round(ST_Y(p.p)::numeric, 2)::float8))::text
FROM open.reports AS r CROSS JOIN LATERAL (SELECT ST_Transform(r.geom, 2180) AS p) AS p
WHERE {period}
ORDER BY r.id
"""

REPORTS_SUMMARY = """
SELECT n, first_day, last_day, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT count(*) AS n, min(r.occurred_on) AS first_day, max(r.occurred_on) AS last_day,
             ST_Extent(r.geom) AS e
      FROM open.reports AS r WHERE {period}) AS s
"""

REPORT_DATES = "SELECT min(occurred_on), max(occurred_on) FROM open.reports"


def reports(period: Period, *, lon_lat: bool, geometry: str | None) -> sql.Composed:
    """The reports of a period as rows: for CSV (lon_lat, no geometry), GeoPackage (geometry
    "geom") and GeoParquet ("wkb")."""
    fields = sql.SQL(REPORT_FIELDS.strip()).format(
        coordinates=sql.SQL((LON_LAT if lon_lat else "") + X_Y))
    return sql.SQL(REPORTS.strip()).format(
        fields=fields, geometry=sql.SQL(GEOMETRY[geometry]), period=_period("occurred_on", period))


def reports_geojson(period: Period) -> sql.Composed:
    return sql.SQL(REPORTS_GEOJSON.strip()).format(period=_period("occurred_on", period))


def reports_summary(period: Period) -> sql.Composed:
    """count, first and last day, and the bounding box (lon/lat) of a period's reports."""
    return sql.SQL(REPORTS_SUMMARY.strip()).format(period=_period("occurred_on", period))


# -- aggregates -----------------------------------------------------------------------------------
DENSITY = """
SELECT d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.count,
       (d.cx + 0.5)::float8 * d.cell_m AS centre_x_2180,
       (d.cy + 0.5)::float8 * d.cell_m AS centre_y_2180{geometry}
FROM open.report_density AS d
WHERE {period}
ORDER BY d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month
"""

AREA_STATISTICS = """
SELECT s.area_code, s.level, s.area_name, s.category_id, s.status, s.month, s.count
FROM open.area_statistics AS s
WHERE {period}
ORDER BY s.level DESC, s.area_code, s.category_id, s.status, s.month
"""

POLICE_STATISTICS = """
SELECT s.area_code, s.level, s.area_name, s.offence, s.month, s.count, s.residents, s.rate_per_100k
FROM open.police_statistics AS s
WHERE {period}
ORDER BY s.level DESC, s.area_code, s.offence, s.month
"""

# Road sections (issue 15) whose period overlaps the snapshot's.
ROAD_SECTIONS = """
SELECT r.id, r.road, r.km_from, r.km_to, r.period_from, r.period_to, r.incidents, r.deaths, r.injuries,
       r.length_km, r.geom
FROM open.road_sections AS r
WHERE {period}
ORDER BY r.road, r.km_from, r.period_from
"""

AREAS = """
SELECT a.code AS area_code, a.level, a.name AS area_name, a.parent_code, a.geom
FROM open.areas AS a
ORDER BY a.level DESC, a.code
"""

CATEGORIES = """
SELECT c.id, c.group_id, c.group_name_pl, c.group_name_en, c.name_pl, c.name_en, c.colour,
       c.icon, c.sensitive{text}, c.active{text}, c.sort_order
FROM open.categories AS c
ORDER BY c.sort_order, c.id
"""


def density(period: Period, *, geometry: bool) -> sql.Composed:
    """Density cells (counts of at least k) per cell, category, status and month."""
    return sql.SQL(DENSITY.strip()).format(geometry=sql.SQL(", d.geom" if geometry else ""),
                                           period=_period("month", period, "d"))


def area_statistics(period: Period) -> sql.Composed:
    return sql.SQL(AREA_STATISTICS.strip()).format(period=_period("month", period, "s"))


def police_statistics(period: Period) -> sql.Composed:
    return sql.SQL(POLICE_STATISTICS.strip()).format(period=_period("month", period, "s"))


def road_sections(period: Period) -> sql.Composed:
    if period is None:
        overlap: sql.Composable = sql.SQL("true")
    else:
        overlap = sql.SQL("r.period_to >= {start} AND r.period_from <= {end}").format(
            start=sql.Literal(period[0]), end=sql.Literal(period[1]))
    return sql.SQL(ROAD_SECTIONS.strip()).format(period=overlap)


def areas() -> sql.Composed:
    return sql.Composed([sql.SQL(AREAS.strip())])


def categories(*, text_booleans: bool = False) -> sql.Composed:
    """The catalogue; booleans as true/false text for CSV (COPY writes t/f)."""
    return sql.SQL(CATEGORIES.strip()).format(text=sql.SQL("::text" if text_booleans else ""))


def report_dates() -> sql.Composed:
    return sql.Composed([sql.SQL(REPORT_DATES)])


def density_levels() -> sql.Composed:
    return sql.Composed([sql.SQL(DENSITY_LEVELS)])


# -- the tileset ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileGrid:
    """What a zoom's tiles are made of: z, its density level (cell_m) below the switch zoom, the
    area level when it shows areas, and the search margin of a tile (its buffer, as a fraction
    of the tile's width)."""
    z: int
    cell_m: int | None
    area_level: str | None
    margin: float


# The tiles whose search box (the tile grown by the margin, as tiles.queries searches) holds a
# point; Web Mercator half-width 20037508.342789244 m.
POINT_TILES = """
SELECT DISTINCT tx, ty FROM (
    SELECT (ST_X(g) + 20037508.342789244) / {size} AS fx,
           (20037508.342789244 - ST_Y(g)) / {size} AS fy
    FROM ({points}) AS points(g)
) AS f,
LATERAL generate_series(greatest(0, floor(fx - {margin})::integer),
                        least({last}, floor(fx + {margin})::integer)) AS tx,
LATERAL generate_series(greatest(0, floor(fy - {margin})::integer),
                        least({last}, floor(fy + {margin})::integer)) AS ty
"""
DENSITY_LEVELS = "SELECT density_cell_m FROM open.privacy_policy"
DENSITY_POINTS = "SELECT centre_3857 FROM open.tile_density WHERE cell_m = {cell_m}"
REPORT_POINTS = "SELECT DISTINCT geom_3857 FROM open.reports"
AREA_TILES = """
SELECT DISTINCT s.x, s.y FROM open.area_tiles AS s
JOIN open.tile_areas AS a ON a.area_code = s.code
WHERE s.z = {z} AND a.level = {level}
"""


def content_tiles(grid: TileGrid) -> sql.Composed:
    """x, y of every tile of zoom grid.z that may have content (a superset: a tile rendered
    empty is skipped), from the density pyramid, the area outlines and the reports."""
    size = 2 * 20037508.342789244 / 2 ** grid.z
    # a hair more than the buffer: a point on the edge of the search box is found
    margin = grid.margin + 1e-9
    if grid.cell_m is not None:
        points = sql.SQL(DENSITY_POINTS).format(cell_m=sql.Literal(grid.cell_m))
    else:
        points = sql.SQL(REPORT_POINTS)
    statement = sql.SQL(POINT_TILES.strip()).format(
        size=sql.Literal(size), margin=sql.Literal(margin), last=sql.Literal(2 ** grid.z - 1),
        points=points)
    if grid.area_level is not None:
        statement = sql.SQL("{} UNION {}").format(statement, sql.SQL(AREA_TILES.strip()).format(
            z=sql.Literal(grid.z), level=sql.Literal(grid.area_level)))
    return statement
