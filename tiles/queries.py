"""The tile SQL: one statement per tile, ST_AsMVT made in the database from the `open` layer.

Each layer is one readable SELECT; a tile concatenates the layers it shows (MVT layers are
independent messages, so concatenated bytes are a valid tile). The statement also returns the
data version it saw, in the same snapshot, so a cached tile is keyed by what it shows.
Filters add bound conditions; without filters the precomputed pyramid (store/sql/50_tile_pyramid.sql)
serves, with area outlines clipped per tile in advance (store/sql/55_area_tiles.sql).
"""

from psycopg import sql

from tiles.addresses import AREAS_MAX_ZOOM, REPORTS_MIN_ZOOM, TileAddress, area_level
from tiles.filters import TileFilters

EXTENT = 4096
BUFFER = 64
REPORT_ID_MIN_ZOOM = 15  # report ids only where tiles hold few points: keeps tiles compact
# Below REPORT_ID_MIN_ZOOM a point tells nothing but its cell centre, category, status and date,
# and the pins of one cell stand on one another: each public point (a lattice cell's centre)
# travels as ONE feature (issue 16.5) with the number of its reports (`count`, those matching
# the filters), the most frequent (category, status) of them for the pin, and the newest day
# (`date`). It is read from the counts kept per cell (open.report_cells,
# store/sql/27_cell_counts.sql), so a tile has at most one feature a cell and costs the same
# however many reports its cells hold. From REPORT_ID_MIN_ZOOM, where a person picks one
# report (its id, its page), one feature a report.
# Points are sorted by id (random, public): in the order open.reports stores them they would come
# in the order they were published, which for a batch, or a rebuilt layer, is the order submitted.
# Cells and areas are sorted too: the same data gives the same bytes whatever plan or physical
# order the database uses (the ETag, and the PMTiles archive's checksum, stay put).

ENVELOPE = sql.SQL("ST_TileEnvelope(%(z)s, %(x)s, %(y)s)")
SEARCH = sql.SQL("ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {margin})").format(
    margin=sql.Literal(BUFFER / EXTENT))

DENSITY = """
SELECT ST_AsMVT(t, 'density', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(d.centre_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           d.count, d.top_category, d.categories
    FROM open.tile_density AS d
    WHERE d.cell_m = %(cell_m)s AND d.centre_3857 && {search}
    ORDER BY d.cx, d.cy
) AS t
"""

DENSITY_FILTERED = """
SELECT ST_AsMVT(t, 'density', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(centre_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           sum(n)::integer AS count,
           (array_agg(category_id ORDER BY n DESC, category_id))[1] AS top_category,
           jsonb_object_agg(category_id, n) AS categories
    FROM (SELECT d.cx, d.cy, d.centre_3857, d.category_id, sum(d.count)::integer AS n
          FROM open.report_density AS d
          WHERE d.cell_m = %(cell_m)s AND d.centre_3857 && {search} {conditions}
          GROUP BY d.cx, d.cy, d.centre_3857, d.category_id) AS per_category
    GROUP BY cx, cy, centre_3857
    ORDER BY cx, cy
) AS t
"""

# The outlines come clipped in advance, per tile (store/sql/55_area_tiles.sql: open.area_tiles holds
# ST_AsMVTGeom of each area with this extent and buffer), so the layer only joins the counts.
AREAS = """
SELECT ST_AsMVT(t, 'areas', {extent}, 'geom') FROM (
    SELECT s.geom, a.area_code AS code, a.area_name AS name, a.level, a.count, a.top_category
    FROM open.area_tiles AS s
    JOIN open.tile_areas AS a ON a.area_code = s.code
    WHERE s.z = %(z)s AND s.x = %(x)s AND s.y = %(y)s AND a.level = %(area_level)s
    ORDER BY s.code
) AS t
"""

AREAS_FILTERED = """
SELECT ST_AsMVT(t, 'areas', {extent}, 'geom') FROM (
    SELECT g.geom, c.code, c.name, c.level, c.count, c.top_category
    FROM open.area_tiles AS g
    CROSS JOIN LATERAL (
        SELECT area_code AS code, area_name AS name, level, sum(n)::integer AS count,
               (array_agg(category_id ORDER BY n DESC, category_id))[1] AS top_category
        FROM (SELECT s.area_code, s.area_name, s.level, s.category_id, sum(s.count)::integer AS n
              FROM open.area_statistics AS s
              WHERE s.area_code = g.code AND s.level = %(area_level)s {conditions}
              GROUP BY s.area_code, s.area_name, s.level, s.category_id) AS per_category
        GROUP BY area_code, area_name, level
    ) AS c
    WHERE g.z = %(z)s AND g.x = %(x)s AND g.y = %(y)s
    ORDER BY c.code
) AS t
"""

REPORTS = """
SELECT ST_AsMVT(t, 'reports', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(r.geom_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           {id} r.category_id AS category, r.status,
           CASE WHEN r.date_precision = 'month' THEN to_char(r.occurred_on, 'YYYY-MM')
                ELSE to_char(r.occurred_on, 'YYYY-MM-DD') END AS date
    FROM open.reports AS r
    WHERE r.geom_3857 && {search} {conditions}
    ORDER BY r.id
) AS t
"""

# Police statistics (issue 15): the areas of the zoom's level by one kind, summed over the months
# of from/to (each month's published count: 0 or at least k), with the rate per 100,000 residents.
POLICE_STATISTICS = """
SELECT ST_AsMVT(t, 'police_statistics', {extent}, 'geom') FROM (
    SELECT g.geom, s.code, s.name, s.level, s.kind, s.count, s.residents,
           CASE WHEN s.residents > 0 THEN round(s.count * 100000.0 / s.residents, 2)::float8 END
               AS rate_per_100k
    FROM open.area_tiles AS g
    CROSS JOIN LATERAL (
        SELECT p.area_code AS code, p.area_name AS name, p.level, p.offence AS kind,
               sum(p.count)::integer AS count, max(p.residents) AS residents
        FROM open.police_statistics AS p
        WHERE p.area_code = g.code AND p.level = %(area_level)s AND p.offence = %(stat)s {conditions}
        GROUP BY p.area_code, p.area_name, p.level, p.offence
    ) AS s
    WHERE g.z = %(z)s AND g.x = %(x)s AND g.y = %(y)s
    ORDER BY s.code
) AS t
"""

ROAD_SECTIONS = """
SELECT ST_AsMVT(t, 'road_sections', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(r.geom_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           r.id, r.road, r.km_from::float8 AS km_from, r.km_to::float8 AS km_to,
           to_char(r.period_from, 'YYYY-MM') AS period_from, to_char(r.period_to, 'YYYY-MM') AS period_to,
           r.incidents, r.deaths, r.injuries
    FROM open.road_sections AS r
    WHERE r.geom_3857 && {search} {conditions}
    ORDER BY r.id
) AS t
"""

# One feature a public point (see REPORT_ID_MIN_ZOOM), unfiltered: what the cell row holds.
REPORTS_BY_CELL = """
SELECT ST_AsMVT(t, 'reports', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(c.geom_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           c.top_category AS category, c.top_status AS status,
           CASE WHEN c.date_precision = 'month' THEN to_char(c.last_day, 'YYYY-MM')
                ELSE to_char(c.last_day, 'YYYY-MM-DD') END AS date,
           c.n AS count
    FROM open.report_cells AS c
    WHERE c.geom_3857 && {search}
    ORDER BY c.geom_3857, c.date_precision, c.county_code, c.voivodeship_code
) AS t
"""

# The same with filters: count, top (category, status) and newest day of the cell's (category,
# status, day) groups that match them (the same ranking as core.report_cell_rows).
REPORTS_BY_CELL_FILTERED = """
SELECT ST_AsMVT(t, 'reports', {extent}, 'geom') FROM (
    SELECT ST_AsMVTGeom(c.geom_3857, {envelope}, {extent}, {buffer}, true) AS geom,
           f.category, f.status,
           CASE WHEN c.date_precision = 'month' THEN to_char(f.last_day, 'YYYY-MM')
                ELSE to_char(f.last_day, 'YYYY-MM-DD') END AS date,
           f.count
    FROM open.report_cells AS c
    CROSS JOIN LATERAL (
        SELECT sum(p.k)::integer AS count, max(p.last_day) AS last_day,
               (array_agg(p.category_id ORDER BY p.k DESC, p.category_id, p.status))[1] AS category,
               (array_agg(p.status ORDER BY p.k DESC, p.category_id, p.status))[1] AS status
        FROM (SELECT g.category_id, g.status, sum(g.k) AS k, max(g.occurred_on) AS last_day
              FROM unnest(c.categories, c.statuses, c.days, c.counts)
                   AS g (category_id, status, occurred_on, k)
              WHERE true {conditions}
              GROUP BY 1, 2) AS p
    ) AS f
    WHERE c.geom_3857 && {search} {cells} AND f.count IS NOT NULL
    ORDER BY c.geom_3857, c.date_precision, c.county_code, c.voivodeship_code
) AS t
"""

TILE = "SELECT (SELECT version FROM open.data_version), {layers}"


def _conditions(filters: TileFilters, alias: str, *, by_month: bool) -> sql.Composable:
    """Bound conditions for the filters; the aggregates are monthly, the reports daily."""
    parts: list[sql.Composable] = []
    col = sql.Identifier(alias)
    if filters.categories:
        parts.append(sql.SQL("{}.category_id = ANY(%(categories)s)").format(col))
    if filters.statuses:
        parts.append(sql.SQL("{}.status = ANY(%(statuses)s)").format(col))
    if by_month:
        if filters.date_from:
            parts.append(sql.SQL("{}.month >= date_trunc('month', %(date_from)s::date)").format(col))
        if filters.date_to:
            parts.append(sql.SQL("{}.month <= %(date_to)s::date").format(col))
    else:
        if filters.date_from:
            parts.append(sql.SQL("{}.occurred_on >= %(date_from)s::date").format(col))
        if filters.date_to:
            parts.append(sql.SQL("{}.occurred_on <= %(date_to)s::date").format(col))
    return sql.SQL("").join(sql.SQL(" AND ") + p for p in parts)


def _cell_conditions(filters: TileFilters) -> sql.Composable:
    """Conditions on a cell row (alias c) that skip, without unnesting its groups, a cell none
    of whose groups can match the filters (as store/report_cells.py)."""
    parts: list[sql.Composable] = []
    if filters.categories:
        parts.append(sql.SQL("c.categories && %(categories)s::text[]"))
    if filters.statuses:
        parts.append(sql.SQL("c.statuses && %(statuses)s::text[]"))
    if filters.date_from:
        parts.append(sql.SQL("c.last_day >= %(date_from)s::date"))
    return sql.SQL("").join(sql.SQL(" AND ") + p for p in parts)


def _statistics_conditions(filters: TileFilters, alias: str, *, periods: bool) -> sql.Composable:
    """from/to on the months of a statistic, or on the periods of a road section (overlap)."""
    parts: list[sql.Composable] = []
    col = sql.Identifier(alias)
    first, last = ("period_to", "period_from") if periods else ("month", "month")
    if filters.date_from:
        parts.append(sql.SQL("{}.{} >= date_trunc('month', %(date_from)s::date)").format(
            col, sql.Identifier(first)))
    if filters.date_to:
        parts.append(sql.SQL("{}.{} <= %(date_to)s::date").format(col, sql.Identifier(last)))
    return sql.SQL("").join(sql.SQL(" AND ") + p for p in parts)


def _layer(template: str, **parts: sql.Composable) -> sql.Composable:
    statement = sql.SQL(template.strip()).format(
        extent=sql.Literal(EXTENT), buffer=sql.Literal(BUFFER), envelope=ENVELOPE, search=SEARCH,
        **parts)
    return sql.SQL("coalesce(({}), ''::bytea)").format(statement)


def layers_for(address: TileAddress, filters: TileFilters) -> list[sql.Composable]:
    if address.z >= REPORT_ID_MIN_ZOOM:
        return [_layer(REPORTS, id=sql.SQL("r.id::text AS id,"),
                       conditions=_conditions(filters, "r", by_month=False))]
    if address.z >= REPORTS_MIN_ZOOM:
        if filters.empty:
            return [_layer(REPORTS_BY_CELL)]
        return [_layer(REPORTS_BY_CELL_FILTERED, conditions=_conditions(filters, "g", by_month=False),
                       cells=_cell_conditions(filters))]
    layers = []
    if filters.empty:
        layers.append(_layer(DENSITY))
    else:
        layers.append(_layer(DENSITY_FILTERED, conditions=_conditions(filters, "d", by_month=True)))
    if address.z <= AREAS_MAX_ZOOM:
        if filters.empty:
            layers.append(_layer(AREAS))
        else:
            layers.append(_layer(AREAS_FILTERED, conditions=_conditions(filters, "s", by_month=True)))
    return layers


def statistics_layers(address: TileAddress, filters: TileFilters) -> list[sql.Composable]:
    """The police statistics layers the tile asks for (stat=, roads=)."""
    layers = []
    if filters.stat and address.z <= AREAS_MAX_ZOOM:
        conditions = _statistics_conditions(filters, "p", periods=False)
        layers.append(_layer(POLICE_STATISTICS, conditions=conditions))
    if filters.roads:
        conditions = _statistics_conditions(filters, "r", periods=True)
        layers.append(_layer(ROAD_SECTIONS, conditions=conditions))
    return layers


def tile_statement(address: TileAddress, filters: TileFilters, cell_m: int
                   ) -> tuple[sql.Composable, dict]:
    layers = sql.SQL(" || ").join(layers_for(address, filters) + statistics_layers(address, filters))
    params = {"z": address.z, "x": address.x, "y": address.y, "cell_m": cell_m,
              "area_level": area_level(address.z), "categories": list(filters.categories),
              "statuses": list(filters.statuses), "date_from": filters.date_from,
              "date_to": filters.date_to, "stat": filters.stat}
    return sql.SQL(TILE).format(layers=layers), params
