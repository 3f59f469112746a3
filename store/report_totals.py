"""The count of public reports from the cheapest exact source, for GraphQL's totalCount: the
totals kept per area, category, status and day or month (store/sql/28_report_totals.sql) when
the filter has no bbox or a bbox around every public point, else the counts kept per coarse
square and month (store/report_squares.py) for a bbox that is not small with no area filter, else
the counts kept per cell (store/report_cells.py), which answer any bbox exactly.

A count from the totals reads, for one area (all of Poland, a voivodeship or a county), the
year rows of the whole years within the date range, the month rows of the whole months left at
its ends and the day rows of the days left at theirs: its cost is bounded by the categories,
statuses and a few dozen periods, not by the reports. The sum over every cell, the source
before, grew with the data (56 ms for all of Poland at 100,000 reports against a 6 ms page,
bench/RESULTS.md)."""

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from psycopg import sql

from store import report_cells, report_squares

if TYPE_CHECKING:
    from store.reports import ReportFilter

NATIONAL = "PL"  # the totals' area of all of Poland (area codes are TERYT digits)
# A bbox narrower or lower than this (degrees) goes to the cells without asking whether it holds
# every public point: only a database of one city's reports (the tests) would say yes, and
# there the cells are cheap; a map viewport then skips the probes and the planning of both
# sources.
TOTALS_MIN_BBOX_DEG = 1.0
# A bbox at least this wide and high (degrees) with no area filter is counted from the squares
# kept per coarse square and month (store/report_squares.py): what they read grows with the
# bbox's perimeter, where the cells read its whole area (bench/RESULTS.md, branches pyramid16
# and dates16).
SQUARES_MIN_BBOX_DEG = 0.1

# Whether the bbox holds every public point: the westmost, eastmost, southmost and northmost
# cell centres, each one nearest-neighbour probe of the cells' index (distance to a meridian or
# a parallel far outside is exactly the distance in longitude or latitude). No cell: false.
HOLDS_EVERY_POINT = """(SELECT ST_X(c.geom) FROM open.report_cells AS c
     ORDER BY c.geom <-> 'SRID=4326;LINESTRING(-1000 -1000, -1000 1000)'::geometry LIMIT 1) >= %(west)s
 AND (SELECT ST_X(c.geom) FROM open.report_cells AS c
     ORDER BY c.geom <-> 'SRID=4326;LINESTRING(1000 -1000, 1000 1000)'::geometry LIMIT 1) <= %(east)s
 AND (SELECT ST_Y(c.geom) FROM open.report_cells AS c
     ORDER BY c.geom <-> 'SRID=4326;LINESTRING(-1000 -1000, 1000 -1000)'::geometry LIMIT 1) >= %(south)s
 AND (SELECT ST_Y(c.geom) FROM open.report_cells AS c
     ORDER BY c.geom <-> 'SRID=4326;LINESTRING(-1000 1000, 1000 1000)'::geometry LIMIT 1) <= %(north)s"""

TOTAL = """SELECT coalesce(sum(t.n), 0)::bigint AS total
FROM open.report_totals AS t
WHERE t.area_code = %(totals_area)s AND {conditions} AND ({periods})"""
PERIOD = "(t.period = %({period})s AND t.period_start >= %({start})s AND t.period_start < %({end})s)"
EITHER = "SELECT CASE WHEN {holds} THEN ({totals}) ELSE ({cells}) END AS total"


OPEN_END = date(date.max.year, 1, 1)


def _year_up(day: date) -> date:
    """The first day of the year of `day` if `day` is one, else of the next (date.max beyond)."""
    if (day.month, day.day) == (1, 1) or day.year == date.max.year:
        return day if (day.month, day.day) == (1, 1) else date.max
    return date(day.year + 1, 1, 1)


def _month_up(day: date) -> date:
    if day.day == 1:
        return day
    if (day.year, day.month) == (date.max.year, 12):
        return date.max
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def periods(first: date | None, last: date | None) -> list[tuple[str, date, date]]:
    """The days first..last (None: open) as (period, start, end): the rows of that period whose
    start is in [start, end), fewest rows first: the whole years, then the whole months of what
    is left at either end, then the days of what is left at their ends. (An open end stops
    before the year 9999, which no report has: one year part, not a year, month and day.)"""
    start = date.min if first is None else first
    end = (OPEN_END if last is None else date.max if last >= date.max
           else last + timedelta(days=1))
    if start >= end:
        return [("day", start, start)]  # an empty range: no row
    years = (_year_up(start), date(end.year, 1, 1))
    if years[0] >= years[1]:
        return _months_and_days(start, end)
    return [("year", *years), *_months_and_days(start, years[0]), *_months_and_days(years[1], end)]


def _months_and_days(start: date, end: date) -> list[tuple[str, date, date]]:
    if start >= end:
        return []
    months = (_month_up(start), end.replace(day=1))
    if months[0] >= months[1]:
        return [("day", start, end)]
    return [("month", *months)] + [("day", a, b) for a, b in ((start, months[0]), (months[1], end))
                                  if a < b]


def totals_statement(f: "ReportFilter | None") -> tuple[sql.Composed, dict[str, Any]]:
    """The count from the totals, for the filter without its bbox (and without the source:
    see count_statement)."""
    area = NATIONAL if f is None or f.area_code is None else f.area_code
    conditions: list[sql.Composable] = [sql.SQL("true")]
    params: dict[str, Any] = {"totals_area": area}
    if f is not None and f.categories is not None:
        conditions.append(sql.SQL("t.category_id = ANY(%(categories)s)"))
        params["categories"] = f.categories
    if f is not None and f.statuses is not None:
        conditions.append(sql.SQL("t.status = ANY(%(statuses)s)"))
        params["statuses"] = f.statuses
    parts: list[sql.Composable] = []
    for i, (period, start, end) in enumerate(_periods(f)):
        names = {"period": f"period_{i}", "start": f"start_{i}", "end": f"end_{i}"}
        parts.append(sql.SQL(PERIOD.format(**names)))
        params |= {names["period"]: period, names["start"]: start, names["end"]: end}
    query = sql.SQL(TOTAL).format(conditions=sql.SQL(" AND ").join(conditions),
                                  periods=sql.SQL(" OR ").join(parts))
    return query, params


def _periods(f: "ReportFilter | None") -> list[tuple[str, date, date]]:
    return periods(None if f is None else f.occurred_from, None if f is None else f.occurred_to)


def count_statement(f: "ReportFilter | None") -> tuple[sql.Composed, dict[str, Any]] | None:
    """One SELECT (`total`) of the number of public reports matching the filter, from the
    totals or the cells, whichever answers it exactly at the lower cost; None when neither
    answers it (the private source: count open.reports then). Parameters are named as
    store.reports names them, so the statement can be a scalar subquery of the public page's."""
    cells = report_cells.count_statement(f)
    if cells is None or (f is not None and f.area_code == NATIONAL):
        return cells  # no area is called PL: the cells count it, as open.reports does (0)
    totals = totals_statement(f)
    if f is None or f.bbox is None:
        return totals
    side = min(f.bbox.east - f.bbox.west, f.bbox.north - f.bbox.south)
    if side >= SQUARES_MIN_BBOX_DEG and report_squares.answers(f):
        cells = report_squares.count_statement(f)
    if side < TOTALS_MIN_BBOX_DEG:
        return cells
    # A bbox: the totals when it holds every public point (the whole country, or more), decided
    # in the statement; CASE runs only the branch it takes.
    query = sql.SQL(EITHER).format(holds=sql.SQL(HOLDS_EVERY_POINT), totals=totals[0], cells=cells[0])
    return query, cells[1] | totals[1]


# count_text's statements by shape (see _shape): a few hundred shapes at the most (which of six
# fields are set, a source, up to five periods), each text built the first time it is asked for.
_TEXTS: dict[tuple[Any, ...], str] = {}


def _shape(f: "ReportFilter | None") -> tuple[Any, ...]:
    """What count_statement's text depends on, no more: which fields are set, the choices between
    the sources (an area called PL, the bbox's shorter side against SQUARES_MIN_BBOX_DEG and
    TOTALS_MIN_BBOX_DEG) and the number of the totals' periods (their kinds and days are
    parameters). Change it with count_statement (tests/test_report_cells.py checks the two)."""
    if f is None:
        return ((), False, None, len(_periods(None)))
    fields = tuple(name for name, value in vars(f).items() if value is not None)
    side = None if f.bbox is None else min(f.bbox.east - f.bbox.west, f.bbox.north - f.bbox.south)
    size = None if side is None else (side >= SQUARES_MIN_BBOX_DEG, side >= TOTALS_MIN_BBOX_DEG)
    return fields, f.area_code == NATIONAL, size, len(_periods(f))


def count_params(f: "ReportFilter | None") -> dict[str, Any]:
    """The parameters of count_statement's text for this filter (of every source it may read:
    the statement binds those it names)."""
    params: dict[str, Any] = {"totals_area": NATIONAL if f is None or f.area_code is None
                              else f.area_code}
    if f is not None:
        if f.bbox is not None:
            params |= {"west": f.bbox.west, "south": f.bbox.south, "east": f.bbox.east,
                       "north": f.bbox.north}
        if f.area_code is not None:
            params["area"] = f.area_code
        for name in ("categories", "statuses", "occurred_from", "occurred_to"):
            if (value := getattr(f, name)) is not None:
                params[name] = value
    for i, (period, start, end) in enumerate(_periods(f)):
        params |= {f"period_{i}": period, f"start_{i}": start, f"end_{i}": end}
    return params


def count_text(f: "ReportFilter | None") -> tuple[str, dict[str, Any]] | None:
    """count_statement as text and parameters, the text built once per shape of filter: building
    it took 0.3-1 ms a request (the squares' statement most), against a page of ~10 ms."""
    if f is not None and f.source is not None:
        return None   # as count_statement: the private source
    key = _shape(f)
    text = _TEXTS.get(key)
    if text is None:
        kept = count_statement(f)
        assert kept is not None
        text = _TEXTS[key] = kept[0].as_string()
    return text, count_params(f)


# OGC API Features' numberMatched (ogc/provider.py, `cell_counts`) of open.ogc_reports without a
# bbox, filtered by `?property=value` (each property at most once): the totals of all of Poland
# answer a category, a status and a public day (`occurred_on`, a valid ISO date: PostgreSQL would
# read more spellings than this, and those go to the provider's other counts) or a `datetime`
# range of days, where the cells
# would be summed over the whole country. Each compares as the page compares it (`column =
# value`, the value as text).
OGC_TOTAL_COLUMNS = frozenset({"category_id", "status", "occurred_on"})


def _iso_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def ogc_answers(properties: list[tuple[str, str]]) -> bool:
    """Whether the totals count OGC items (no bbox) filtered by these properties."""
    names = [name for name, _ in properties]
    return all(name in OGC_TOTAL_COLUMNS for name in names) and len(set(names)) == len(names) \
        and all(_iso_day(value) is not None for name, value in properties if name == "occurred_on")


def ogc_count_statement(properties: list[tuple[str, str]],
                        days: tuple[date | None, date | None] = (None, None)
                        ) -> tuple[sql.Composed, dict[str, Any]]:
    """One SELECT (`total`) of open.ogc_reports' rows whose every property equals its value
    (no bbox; see ogc_answers) and whose day is within `days` (first, last; None: open), the
    OGC `datetime` (then `occurred_on` is not among the properties)."""
    from store.reports import ReportFilter  # store.reports imports this module

    values = dict(properties)
    if "occurred_on" in values:
        days = (_iso_day(values["occurred_on"]),) * 2
    return totals_statement(ReportFilter(
        categories=[values["category_id"]] if "category_id" in values else None,
        statuses=[values["status"]] if "status" in values else None,
        occurred_from=days[0], occurred_to=days[1]))
