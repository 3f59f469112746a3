"""The count of public reports from the cheapest exact source, for GraphQL's totalCount: the
totals kept per area, category, status and day or month (store/sql/28_report_totals.sql) when
the filter has no bbox or a bbox around every public point, else the counts kept per cell
(store/report_cells.py), which answer any bbox exactly.

A count from the totals reads, for one area (all of Poland, a voivodeship or a county), the
month rows of the whole months within the date range and the day rows of the days outside them
(at most the two months the range cuts): its cost is bounded by the categories, statuses and
months, not by the reports. The sum over every cell, the source before, grew with the data
(56 ms for all of Poland at 100,000 reports against a 6 ms page, bench/RESULTS.md)."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from psycopg import sql

from store import report_cells

if TYPE_CHECKING:
    from store.reports import ReportFilter

NATIONAL = "PL"  # the totals' area of all of Poland (area codes are TERYT digits)

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
WHOLE_MONTHS = sql.SQL("(t.period = 'month' AND t.period_start >= %(months_from)s "
                       "AND t.period_start < %(months_to)s)")
DAYS = "(t.period = 'day' AND t.period_start BETWEEN %({first})s AND %({last})s)"
EITHER = "SELECT CASE WHEN {holds} THEN ({totals}) ELSE ({cells}) END AS total"


@dataclass(frozen=True)
class Periods:
    """A date range as whole months [months_from, months_to) (none when equal) and the days
    outside them: (first, last) ranges, both days included."""
    months_from: date
    months_to: date
    days: list[tuple[date, date]]


def _next_month(day: date) -> date:
    if (day.year, day.month) == (date.max.year, 12):
        return date.max
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def periods(first: date | None, last: date | None) -> Periods:
    """The whole months and the remaining days of the range first..last (None: open)."""
    months_from = date.min if first is None or first.day == 1 else _next_month(first)
    if last is None:
        months_to = date.max
    elif last.day == calendar.monthrange(last.year, last.month)[1]:
        months_to = _next_month(last)
    else:
        months_to = last.replace(day=1)
    if months_from >= months_to:  # within one month, or across the end of one: days only
        assert first is not None and last is not None
        return Periods(months_from, months_from, [(first, last)])
    days = []
    if first is not None and first < months_from:
        days.append((first, months_from - timedelta(days=1)))
    if last is not None and months_to <= last:
        days.append((months_to, last))
    return Periods(months_from, months_to, days)


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
    p = periods(None if f is None else f.occurred_from, None if f is None else f.occurred_to)
    parts: list[sql.Composable] = []
    if p.months_from < p.months_to:
        parts.append(WHOLE_MONTHS)
        params |= {"months_from": p.months_from, "months_to": p.months_to}
    for i, (first, last) in enumerate(p.days):
        parts.append(sql.SQL(DAYS.format(first=f"days_from_{i}", last=f"days_to_{i}")))
        params |= {f"days_from_{i}": first, f"days_to_{i}": last}
    query = sql.SQL(TOTAL).format(conditions=sql.SQL(" AND ").join(conditions),
                                  periods=sql.SQL(" OR ").join(parts))
    return query, params


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
    # A bbox: the totals when it holds every public point (the whole country, or more), decided
    # in the statement; CASE runs only the branch it takes.
    query = sql.SQL(EITHER).format(holds=sql.SQL(HOLDS_EVERY_POINT), totals=totals[0], cells=cells[0])
    return query, cells[1] | totals[1]
