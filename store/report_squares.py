"""Counts of public reports over a big bbox from the counts kept per coarse square
(store/sql/29_report_squares.sql): squares of 1, 4, 16 and 64 km of the EPSG:2180 lattice, one
row each with its count and its (category, status) groups, and a lon/lat extent that holds it.

From the 64 km squares down, a square whose extent the bbox holds counts whole, one the bbox
misses is skipped, and one an edge of the bbox crosses is split into its 16 squares of the next
size; the 1 km squares an edge crosses are counted from their cells (store/report_cells.py's
conditions, the same operators as the public page). Every public point is the centre of a cell
of the same lattice, inside exactly one square of each size, so each report counts once: the
count is exact, and what it reads grows with the bbox's perimeter, not its area (the cells
alone summed every cell of the bbox: 100,000+ for a Masovia-sized one at 1,000,000 reports).

"Holds" and "misses" are decided with a margin of MARGIN_DEG inside and outside the bbox, so
neither depends on how the page compares a point on an edge (`&&` on single-precision boxes for
GraphQL, exact for OGC): a square within the margin of an edge is split, and its cells decide.
Answered here: a bbox with categories and statuses (GraphQL) or `category_id` and `status`
properties (OGC). Dates, areas and the source are left to the cells or the totals."""

from typing import TYPE_CHECKING, Any

from psycopg import sql

from store import report_cells

if TYPE_CHECKING:
    from store.reports import ReportFilter

SIZES_M = (1000, 4000, 16000, 64000)  # as core.report_square_sizes(), finest first
MARGIN_DEG = 1e-4  # about 10 m; far above the 2e-6 of single-precision boxes

BOUNDS = """SELECT %(west)s::float8 - {m} AS ow, %(south)s::float8 - {m} AS os,
       %(east)s::float8 + {m} AS oe, %(north)s::float8 + {m} AS onn,
       %(west)s::float8 + {m} AS iw, %(south)s::float8 + {m} AS isth,
       %(east)s::float8 - {m} AS ie, %(north)s::float8 - {m} AS inn"""
# the squares of the biggest size the bbox does not miss, and whether it holds them
TOP = """SELECT q.*, (q.west >= b.iw AND q.east <= b.ie AND q.south >= b.isth AND q.north <= b.inn) AS held
FROM open.report_squares AS q CROSS JOIN b
WHERE q.size_m = {size} AND {rows}
  AND q.east >= b.ow AND q.west <= b.oe AND q.north >= b.os AND q.south <= b.onn"""
# the same for the 16 squares of each square of the size above that it neither holds nor misses
# (each child one probe of the primary key)
SPLIT = """SELECT q.*, (q.west >= b.iw AND q.east <= b.ie AND q.south >= b.isth AND q.north <= b.inn) AS held
FROM {parent} AS p
CROSS JOIN generate_series(0, 3) AS i CROSS JOIN generate_series(0, 3) AS j
JOIN open.report_squares AS q ON q.size_m = {size} AND q.sx = p.sx * 4 + i AND q.sy = p.sy * 4 + j
CROSS JOIN b
WHERE NOT p.held AND {rows}
  AND q.east >= b.ow AND q.west <= b.oe AND q.north >= b.os AND q.south <= b.onn"""
HELD = "(SELECT coalesce(sum(q.n), 0) FROM {level} AS q WHERE q.held)"
HELD_GROUPS = """(SELECT coalesce(sum(g.k), 0) FROM {level} AS q
 CROSS JOIN LATERAL unnest(q.categories, q.statuses, q.counts) AS g (category_id, status, k)
 WHERE q.held AND {groups})"""
# the cells of the finest squares an edge crosses (each cell in its own square only)
EDGE_CELLS = """SELECT {total} AS total
FROM {finest} AS s
JOIN open.report_cells AS c ON c.geom && ST_MakeEnvelope(s.west, s.south, s.east, s.north, 4326)
{unnest}
WHERE NOT s.held AND {cells}
  AND floor(ST_X(ST_Transform(c.geom, 2180)) / {size}) = s.sx
  AND floor(ST_Y(ST_Transform(c.geom, 2180)) / {size}) = s.sy"""
UNNEST = """CROSS JOIN LATERAL unnest(c.categories, c.statuses, c.days, c.counts)
    AS g (category_id, status, occurred_on, k)"""


def answers(f: "ReportFilter | None") -> bool:
    """Whether the squares answer this filter exactly: a bbox, with or without categories and
    statuses, nothing else."""
    return (f is not None and f.bbox is not None and f.source is None and f.area_code is None
            and f.occurred_from is None and f.occurred_to is None)


def _statement(rows: list[sql.Composable], cells: list[sql.Composable],
               groups: list[sql.Composable]) -> sql.Composed:
    """The count: `rows` skip the squares without a match (none of the categories or
    statuses), `groups` select the matching (category, status) groups of squares and cells,
    `cells` the cells (report_cells' conditions, with the bbox's)."""
    ctes: list[sql.Composable] = [sql.SQL("b AS ({})").format(
        sql.SQL(BOUNDS).format(m=sql.Literal(MARGIN_DEG)))]
    where_rows = sql.SQL(" AND ").join(rows) if rows else sql.SQL("true")
    parent: sql.Identifier | None = None
    for size in reversed(SIZES_M):
        level = sql.SQL(TOP if parent is None else SPLIT).format(
            parent=parent, size=sql.Literal(size), rows=where_rows)
        parent = sql.Identifier(f"s{size}")
        ctes.append(sql.SQL("{} AS MATERIALIZED ({})").format(parent, level))
    held = sql.SQL(" + ").join(
        sql.SQL(HELD_GROUPS if groups else HELD).format(
            level=sql.Identifier(f"s{size}"), groups=sql.SQL(" AND ").join(groups))
        for size in SIZES_M)
    edge = sql.SQL(EDGE_CELLS).format(
        total=sql.SQL("coalesce(sum(g.k), 0)" if groups else "coalesce(sum(c.n), 0)"),
        finest=sql.Identifier(f"s{SIZES_M[0]}"), size=sql.Literal(SIZES_M[0]),
        unnest=sql.SQL(UNNEST if groups else ""), cells=sql.SQL(" AND ").join(cells + groups))
    return sql.SQL("WITH {ctes}\nSELECT ({held} + ({edge}))::bigint AS total").format(
        ctes=sql.SQL(",\n").join(ctes), held=held, edge=edge)


def count_statement(f: "ReportFilter") -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of the public reports matching the filter (see answers), as
    store.reports counts them; parameters named as store.reports names them."""
    assert answers(f) and f.bbox is not None
    rows: list[sql.Composable] = []
    params: dict[str, Any] = {"west": f.bbox.west, "south": f.bbox.south, "east": f.bbox.east,
                              "north": f.bbox.north}
    cells: list[sql.Composable] = [report_cells.CELL_BBOX]
    groups: list[sql.Composable] = []
    if f.categories is not None:
        rows.append(sql.SQL("q.categories && %(categories)s::text[]"))
        cells.append(sql.SQL("c.categories && %(categories)s::text[]"))
        groups.append(sql.SQL("g.category_id = ANY(%(categories)s)"))
        params["categories"] = f.categories
    if f.statuses is not None:
        rows.append(sql.SQL("q.statuses && %(statuses)s::text[]"))
        cells.append(sql.SQL("c.statuses && %(statuses)s::text[]"))
        groups.append(sql.SQL("g.status = ANY(%(statuses)s)"))
        params["statuses"] = f.statuses
    return _statement(rows, cells, groups), params


OGC_SQUARE_COLUMNS = frozenset({"category_id", "status"})


def ogc_answers(bbox: list[float], properties: list[tuple[str, str]]) -> bool:
    """Whether the squares count OGC items within `bbox` filtered by these properties."""
    return len(bbox) == 4 and all(name in OGC_SQUARE_COLUMNS for name, _ in properties)


def ogc_count_statement(bbox: list[float], properties: list[tuple[str, str]]
                        ) -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of open.ogc_reports' rows within `bbox` (CRS84, exact edges as
    report_cells.ogc_count_statement) whose every property equals its value."""
    params: dict[str, Any] = dict(zip(("west", "south", "east", "north"), bbox, strict=True))
    rows: list[sql.Composable] = []
    cells: list[sql.Composable] = [report_cells.OGC_BBOX]
    groups: list[sql.Composable] = []
    for i, (name, value) in enumerate(properties):
        placeholder = sql.Placeholder(f"value_{i}")
        params[f"value_{i}"] = value
        rows.append(sql.SQL("{} = ANY(q.{})").format(
            placeholder, sql.Identifier("categories" if name == "category_id" else "statuses")))
        cells.append(sql.SQL(report_cells.OGC_GROUP_COLUMNS[name]).format(value=placeholder))
        groups.append(sql.SQL("g.{} = {}").format(sql.Identifier(name), placeholder))
    return _statement(rows, cells, groups), params
