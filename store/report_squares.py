"""Counts of public reports over a big bbox from the counts kept per coarse square
(store/sql/29_report_squares.sql): squares of 1, 4, 16 and 64 km of the EPSG:2180 lattice, one
row each with its count and its (category, status) groups, and a lon/lat extent that holds it,
and one row a square and month with its (category, status, day) groups (migration 0024).

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
With a date range, a held square counts from its months: n of the months wholly inside the
range, the day groups of the (at most two) months its ends cut, so what it reads still grows
with the perimeter (and the months of the range), not with the reports.
Answered here: a bbox with categories, statuses and a date range (GraphQL) or `category_id` and
`status` properties and a `datetime` (OGC: whole days, as its page compares the day). Areas and
the source are left to the cells or the totals."""

from datetime import date
from typing import TYPE_CHECKING, Any

from psycopg import sql

if TYPE_CHECKING:
    from store.reports import ReportFilter

SIZES_M = (1000, 4000, 16000, 64000)  # as core.report_square_sizes(), finest first
MARGIN_DEG = 1e-4  # about 10 m; far above the 2e-6 of single-precision boxes

# open.report_squares_count (store/sql/29_report_squares.sql) walks the squares: a PL/pgSQL
# function, so that its statements are planned once a session.
COUNT = """SELECT open.report_squares_count(%(west)s, %(south)s, %(east)s, %(north)s, {categories},
                                   {statuses}, {first}, {last}, {exact}, {margin}) AS total"""
NO_DATE = sql.SQL("NULL::date")


def _statement(categories: sql.Composable, statuses: sql.Composable, exact: bool,
               first: sql.Composable = NO_DATE, last: sql.Composable = NO_DATE) -> sql.Composed:
    return sql.SQL(COUNT).format(categories=categories, statuses=statuses, first=first, last=last,
                                 exact=sql.Literal(exact), margin=sql.Literal(MARGIN_DEG))


def answers(f: "ReportFilter | None") -> bool:
    """Whether the squares answer this filter exactly: a bbox, with or without categories,
    statuses and a date range, nothing else."""
    return f is not None and f.bbox is not None and f.source is None and f.area_code is None


def count_statement(f: "ReportFilter") -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of the public reports matching the filter (see answers), as
    store.reports counts them (`&&`); parameters named as store.reports names them."""
    assert answers(f) and f.bbox is not None
    params: dict[str, Any] = {"west": f.bbox.west, "south": f.bbox.south, "east": f.bbox.east,
                              "north": f.bbox.north}
    # the filter's optional values, each a parameter of its own name or NULL, in the
    # function's order: categories, statuses, first and last day
    values: list[sql.Composable] = []
    for name, cast in (("categories", "text[]"), ("statuses", "text[]"),
                       ("occurred_from", "date"), ("occurred_to", "date")):
        value = getattr(f, name)
        values.append(sql.SQL(f"NULL::{cast}" if value is None else f"%({name})s::{cast}"))
        if value is not None:
            params[name] = value
    categories, statuses, first, last = values
    return _statement(categories, statuses, False, first, last), params


OGC_SQUARE_COLUMNS = frozenset({"category_id", "status"})


def ogc_answers(bbox: list[float], properties: list[tuple[str, str]]) -> bool:
    """Whether the squares count OGC items within `bbox` filtered by these properties (each of
    category_id and status at most once)."""
    names = [name for name, _ in properties]
    return len(bbox) == 4 and all(name in OGC_SQUARE_COLUMNS for name in names) \
        and len(set(names)) == len(names)


def ogc_count_statement(bbox: list[float], properties: list[tuple[str, str]],
                        days: tuple[date | None, date | None] = (None, None)
                        ) -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of open.ogc_reports' rows within `bbox` (CRS84, edges exact as
    ST_Intersects, as report_cells.ogc_count_statement) whose every property equals its value
    (see ogc_answers) and whose day is within `days` (first, last; None: open), the days of the
    OGC `datetime` as the page compares them (`occurred_on` >= first and <= last)."""
    params: dict[str, Any] = dict(zip(("west", "south", "east", "north"), bbox, strict=True))
    first, last = (sql.SQL(f"%({name})s::date") if day is not None else NO_DATE
                   for name, day in (("first_day", days[0]), ("last_day", days[1])))
    params |= {name: day for name, day in (("first_day", days[0]), ("last_day", days[1]))
               if day is not None}
    values = dict(properties)
    categories = statuses = sql.SQL("NULL")
    if "category_id" in values:
        categories = sql.SQL("ARRAY[%(category)s::text]")
        params["category"] = values["category_id"]
    if "status" in values:
        statuses = sql.SQL("ARRAY[%(status)s::text]")
        params["status"] = values["status"]
    return _statement(categories, statuses, True, first, last), params
