"""Counts of public reports from the cells kept per public point (store/sql/27_cell_counts.sql),
for GraphQL's totalCount with a bbox (store/report_totals.py picks them, or the totals kept per
area for no bbox or all of Poland) and OGC's numberMatched.

Every public point is the centre of its lattice cell, so a bbox selects whole cells, and the
county and voivodeship of a report are those of its cell: a filter on bbox, area, categories,
statuses and days is answered exactly from one row a cell (with its (category, status, day)
groups) instead of one row a report. The conditions read as those of the public page
(store/reports.py) on the same columns with the same operators, so the count is the same:
bbox is `geom && ST_MakeEnvelope(west, south, east, north, 4326)`: edges included, and as
`&&` compares single-precision boxes, a point within about 2e-6 degrees outside an edge too.
Only the report source (a private column) cannot be answered here."""

from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from store.rows import fetch

if TYPE_CHECKING:
    from store.reports import ReportFilter

CELL_BBOX = sql.SQL("c.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)")
CELL_AREA = sql.SQL("(c.county_code = %(area)s OR c.voivodeship_code = %(area)s)")

TOTAL = "SELECT coalesce(sum(c.n), 0)::bigint AS total FROM open.report_cells AS c WHERE {cells}"
TOTAL_OF_GROUPS = """
SELECT coalesce(sum(g.k), 0)::bigint AS total
FROM open.report_cells AS c
CROSS JOIN LATERAL unnest(c.categories, c.statuses, c.days, c.counts)
    AS g (category_id, status, occurred_on, k)
WHERE {cells} AND {groups}"""


def answers(f: "ReportFilter | None") -> bool:
    """Whether the cells answer this filter exactly (all but the private source)."""
    return f is None or f.source is None


def count_statement(f: "ReportFilter | None") -> tuple[sql.Composed, dict[str, Any]] | None:
    """One SELECT of the number of public reports matching the filter (None when the cells
    cannot answer it: count open.reports then). Parameters are named as store.reports names
    them, so the statement can be a scalar subquery of the public page's."""
    if not answers(f):
        return None
    cells: list[sql.Composable] = []
    groups: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if f is not None:
        if f.bbox is not None:
            cells.append(CELL_BBOX)
            params |= {"west": f.bbox.west, "south": f.bbox.south, "east": f.bbox.east,
                       "north": f.bbox.north}
        if f.area_code is not None:
            cells.append(CELL_AREA)
            params["area"] = f.area_code
        # Each group condition has a cell condition that skips, without unnesting its groups,
        # a cell that cannot match (none of the categories or statuses, nothing that recent).
        if f.categories is not None:
            cells.append(sql.SQL("c.categories && %(categories)s::text[]"))
            groups.append(sql.SQL("g.category_id = ANY(%(categories)s)"))
            params["categories"] = f.categories
        if f.statuses is not None:
            cells.append(sql.SQL("c.statuses && %(statuses)s::text[]"))
            groups.append(sql.SQL("g.status = ANY(%(statuses)s)"))
            params["statuses"] = f.statuses
        if f.occurred_from is not None:
            cells.append(sql.SQL("c.last_day >= %(occurred_from)s"))
            groups.append(sql.SQL("g.occurred_on >= %(occurred_from)s"))
            params["occurred_from"] = f.occurred_from
        if f.occurred_to is not None:
            groups.append(sql.SQL("g.occurred_on <= %(occurred_to)s"))
            params["occurred_to"] = f.occurred_to
    where = sql.SQL(" AND ").join(cells) if cells else sql.SQL("true")
    if not groups:
        return sql.SQL(TOTAL).format(cells=where), params
    return sql.SQL(TOTAL_OF_GROUPS.strip()).format(cells=where,
                                                   groups=sql.SQL(" AND ").join(groups)), params


async def count_matched(pool: AsyncConnectionPool, f: "ReportFilter | None") -> int | None:
    """The number of public reports matching the filter, from the cells (the public pool
    suffices); None when the cells cannot answer it (the source)."""
    statement = count_statement(f)
    if statement is None:
        return None
    query, params = statement
    return (await fetch(pool, query, params, prepare=False))[0]["total"]


# OGC API Features' numberMatched (ogc/provider.py, `cell_counts`): items of open.ogc_reports
# (open.reports' rows and points) filtered by a CRS84 bbox and `?property=value`. The OGC bbox is
# ST_Intersects (exact, edges included), not the && above, so the count tests the cell's point
# the same way (every report of a cell has that very point): for a point and a box that is
# west <= x <= east and south <= y <= north, written so, after the index's &&, because
# ST_Intersects' planner cost (10,000 a row) made PostgreSQL start a parallel worker for a city
# box, 30 ms where the count itself takes 2. Each property compares as the page compares it
# (`column = value`, the value as text). Other properties are not answered here.
OGC_CELL_COLUMNS = frozenset({"county_code", "voivodeship_code", "date_precision"})
OGC_GROUP_COLUMNS = {  # the group's column, and a condition that skips a cell without unnesting
    "category_id": "{value} = ANY(c.categories)",
    "status": "{value} = ANY(c.statuses)",
    "occurred_on": "c.last_day >= {value}",
}
# The cells `c` within a bbox (ST_Intersects of a point, written so that the GiST index finds
# them and the exact test is two comparisons); the placeholders' names are the caller's.
CELLS_IN_BBOX = ("c.geom && ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326) "
                 "AND ST_X(c.geom) BETWEEN {west} AND {east} AND ST_Y(c.geom) BETWEEN {south} AND {north}")


def cells_in_bbox(west: str = "west", south: str = "south", east: str = "east",
                  north: str = "north") -> sql.Composed:
    """CELLS_IN_BBOX with the parameters of these names."""
    return sql.SQL(CELLS_IN_BBOX).format(west=sql.Placeholder(west), south=sql.Placeholder(south),
                                         east=sql.Placeholder(east), north=sql.Placeholder(north))


OGC_BBOX = cells_in_bbox()


def ogc_answers(properties: list[tuple[str, str]]) -> bool:
    """Whether the cells count OGC items filtered by these `?property=value` (and any bbox)."""
    return all(name in OGC_CELL_COLUMNS or name in OGC_GROUP_COLUMNS for name, _ in properties)


def ogc_count_statement(bbox: list[float], properties: list[tuple[str, str]]
                        ) -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of open.ogc_reports' rows within `bbox` (minx, miny, maxx, maxy
    in CRS84, or empty) whose every property equals its value; see ogc_answers."""
    cells: list[sql.Composable] = [OGC_BBOX] if bbox else []
    groups: list[sql.Composable] = []
    params: dict[str, Any] = dict(zip(("west", "south", "east", "north"), bbox, strict=True)) if bbox else {}
    for i, (name, value) in enumerate(properties):
        placeholder = sql.Placeholder(f"value_{i}")
        params[f"value_{i}"] = value
        if name in OGC_CELL_COLUMNS:
            cells.append(sql.SQL("c.{} = {}").format(sql.Identifier(name), placeholder))
        else:
            cells.append(sql.SQL(OGC_GROUP_COLUMNS[name]).format(value=placeholder))
            groups.append(sql.SQL("g.{} = {}").format(sql.Identifier(name), placeholder))
    where = sql.SQL(" AND ").join(cells) if cells else sql.SQL("true")
    if not groups:
        return sql.SQL(TOTAL).format(cells=where), params
    return sql.SQL(TOTAL_OF_GROUPS.strip()).format(cells=where, groups=sql.SQL(" AND ").join(groups)), params
