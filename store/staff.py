"""The police's work list from core (published or not) and the officer's unit.

One statement per page, private columns included (the caller primes its private DataLoader
with them), keyset paged on the exact time. An officer's scope is the one rule
core.officer_handles (store/sql/17_officer_rule.sql), given the unit's counties as
values so that the planner sees them (index scans of reports_county_occurred for a small
county, of the covering reports_worklist for a large scope)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from store.reports import ReportFilter, shared_conditions
from store.rows import Row, fetch

OFFICER_UNIT_SQL = """
SELECT id, level, area_code, core.unit_counties(id) AS counties
FROM core.police_units WHERE id = %s
"""

# The caller's scope, on core.reports AS r.
OFFICER_SCOPE = sql.SQL(
    "core.officer_handles(%(unit_id)s, %(unit_counties)s::text[], r.county_code, r.police_unit_id)")

# The page: the keys first (an index-only scan of reports_worklist, which carries the point for a
# bbox since migration 0031), then each row with its public projection (open.reports when
# published, else as the public layer would show it: at its kept public place,
# core.report_places, whose county lookup is the cost of core.public_report; computed in full
# only for a report without one) and its private columns.
PAGE_SQL = """
SELECT {total} AS total,
       (SELECT coalesce(json_agg(page ORDER BY page.occurred_at {direction}, page.id {direction}),
                        '[]'::json)
        FROM (SELECT r.id, (x.p).category_id, (x.p).status, (x.p).occurred_on, (x.p).date_precision,
                     (x.p).county_code, (x.p).voivodeship_code, (x.p).police_unit_id,
                     ST_X((x.p).geom) AS longitude, ST_Y((x.p).geom) AS latitude,
                     r.occurred_at, ST_X(r.geom) AS exact_longitude, ST_Y(r.geom) AS exact_latitude,
                     r.description, r.contact, r.source, r.county_code AS core_county_code,
                     r.police_unit_id AS core_police_unit_id, {handled} AS handled,
                     r.created_at, r.read_at, r.verified_at, r.forwarded_to,
                     r.created_at + d.read_within AS read_by, r.created_at + d.verify_within AS verify_by,
                     core.deadline_state(r.read_at, r.created_at + d.read_within, d.due_soon) AS read_state,
                     core.deadline_state(r.verified_at, r.created_at + d.verify_within, d.due_soon)
                         AS verify_state
              FROM (SELECT r.id FROM core.reports AS r
                    WHERE {where} AND {keyset}
                    ORDER BY r.occurred_at {direction}, r.id {direction}
                    LIMIT %(limit)s) AS k
              JOIN core.reports AS r ON r.id = k.id
              CROSS JOIN core.workflow_deadlines AS d
              LEFT JOIN open.reports AS o ON o.id = r.id
              LEFT JOIN core.report_places AS pl ON pl.report_id = r.id
              CROSS JOIN LATERAL (SELECT CASE WHEN o.id IS NOT NULL THEN o
                                              WHEN pl.report_id IS NOT NULL
                                                  THEN core.public_report_at(r, pl)
                                              ELSE core.public_report(r) END AS p OFFSET 0) AS x
              ) AS page) AS rows
"""


@dataclass(frozen=True)
class OfficerUnit:
    id: str
    level: str
    area_code: str
    counties: list[str]   # core.unit_counties: the unit's counties and the units of its area


async def officer_unit(pool: AsyncConnectionPool, unit_id: str) -> OfficerUnit | None:
    rows = await fetch(pool, OFFICER_UNIT_SQL, [unit_id])
    return OfficerUnit(**rows[0]) if rows else None


@dataclass(frozen=True)
class WorkFilter:
    """What only the work list filters on: words of the description (every word, in any case),
    and where reports stand against their pending deadline (read-by until read, then verify-by)."""
    words: list[str] | None = None
    deadline_states: list[str] | None = None   # pending, due_soon, overdue, met, missed


# The state of the deadline a report waits for: read-by until it is read, then verify-by.
PENDING_DEADLINE_STATE = sql.SQL(
    "(SELECT CASE WHEN r.read_at IS NULL "
    "THEN core.deadline_state(r.read_at, r.created_at + d.read_within, d.due_soon) "
    "ELSE core.deadline_state(r.verified_at, r.created_at + d.verify_within, d.due_soon) END "
    "FROM core.workflow_deadlines AS d)")


def work_conditions(w: WorkFilter | None) -> tuple[list[sql.Composable], dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if w is None:
        return conditions, params
    for i, word in enumerate(w.words or []):
        name = f"word_{i}"
        conditions.append(sql.SQL("r.description ILIKE {} ESCAPE '\\'").format(sql.Placeholder(name)))
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[name] = f"%{escaped}%"
    if w.deadline_states is not None:
        conditions.append(PENDING_DEADLINE_STATE + sql.SQL(" = ANY(%(deadline_states)s)"))
        params["deadline_states"] = w.deadline_states
    return conditions, params


def staff_conditions(f: ReportFilter | None) -> tuple[list[sql.Composable], dict[str, Any]]:
    """WHERE conditions on core.reports (alias r): the exact point, the local day of the exact
    time (the policy's time zone), the report's own county and its voivodeship."""
    if f is None:
        return [], {}
    conditions, params = shared_conditions(f)
    if f.occurred_from is not None:
        conditions.append(sql.SQL("r.occurred_at >= %(occurred_from)s::date::timestamp AT TIME ZONE "
                                  "(SELECT timezone FROM core.privacy_policy)"))
        params["occurred_from"] = f.occurred_from
    if f.occurred_to is not None:
        conditions.append(sql.SQL("r.occurred_at < (%(occurred_to)s::date + 1)::timestamp AT TIME ZONE "
                                  "(SELECT timezone FROM core.privacy_policy)"))
        params["occurred_to"] = f.occurred_to
    if f.area_code is not None:
        conditions.append(sql.SQL("(r.county_code = %(area)s OR r.county_code IN "
                                  "(SELECT code FROM core.areas WHERE parent_code = %(area)s))"))
        params["area"] = f.area_code
    if f.source is not None:
        conditions.append(sql.SQL("r.source = %(source)s"))
        params["source"] = f.source
    return conditions, params


def work_list_where(f: ReportFilter | None, w: WorkFilter | None, unit: OfficerUnit | None
                    ) -> tuple[sql.Composable, dict[str, Any]]:
    """The work list's WHERE (the filters, and the officer's scope; `unit` None: every report),
    shared by its pages and its CSV export (store.staff_exports)."""
    conditions, params = staff_conditions(f)
    more, more_params = work_conditions(w)
    conditions += more
    params |= more_params
    if unit is not None:
        conditions.insert(0, OFFICER_SCOPE)
        params |= {"unit_id": unit.id, "unit_counties": unit.counties}
    return (sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")), params


def page_statement(f: ReportFilter | None, unit: OfficerUnit | None, descending: bool, limit: int,
                   after: tuple[datetime, uuid.UUID] | None,
                   with_total: bool, w: WorkFilter | None = None) -> tuple[sql.Composed, dict[str, Any]]:
    """The one statement of a work-list page; `unit` None: every report (an analyst)."""
    where, params = work_list_where(f, w, unit)
    keyset = sql.SQL("(r.occurred_at, r.id) {} (%(after_at)s, %(after_id)s)").format(
        sql.SQL("<" if descending else ">")) if after is not None else sql.SQL("true")
    total = (sql.SQL("(SELECT count(*) FROM core.reports AS r WHERE {})").format(where)
             if with_total else sql.SQL("NULL::bigint"))
    # handled: true on an officer's page (the scope is the rule), null on an analyst's
    handled = sql.SQL("{} IS TRUE").format(OFFICER_SCOPE) if unit is not None else sql.SQL("NULL::boolean")
    query = sql.SQL(PAGE_SQL).format(total=total, where=where, keyset=keyset, handled=handled,
                                     direction=sql.SQL("DESC" if descending else "ASC"))
    if after is not None:
        params["after_at"], params["after_id"] = after
    params["limit"] = limit
    return query, params


def _split(row: Row) -> tuple[Row, Row]:
    """A page row as the public projection, and as the private DataLoader holds it."""
    occurred_at = datetime.fromisoformat(row["occurred_at"])
    public = row | {"occurred_on": datetime.fromisoformat(row["occurred_on"]).date()}
    private = {"id": row["id"], "longitude": row["exact_longitude"], "latitude": row["exact_latitude"],
               "occurred_at": occurred_at, "description": row["description"],
               "contact": row["contact"], "source": row["source"],
               "county_code": row["core_county_code"],
               "police_unit_id": row["core_police_unit_id"], "handled": row["handled"],
               "forwarded_to": row["forwarded_to"], "read_state": row["read_state"],
               "verify_state": row["verify_state"]}
    for moment in ("created_at", "read_at", "verified_at", "read_by", "verify_by"):
        private[moment] = datetime.fromisoformat(row[moment]) if row[moment] else None
    return public, private


@dataclass(frozen=True)
class WorkPage:
    total: int | None
    rows: list[tuple[Row, Row]]   # (public projection, private row) per report


async def work_list(pool: AsyncConnectionPool, f: ReportFilter | None, unit: OfficerUnit | None,
                    descending: bool, limit: int, after: tuple[datetime, uuid.UUID] | None,
                    with_total: bool, w: WorkFilter | None = None) -> WorkPage:
    query, params = page_statement(f, unit, descending, limit, after, with_total, w)
    # Never prepared: a generic plan (no unit area, no bbox values) took 0.4-2 s where the
    # custom one takes 5-40 ms on a million reports.
    result = (await fetch(pool, query, params, prepare=False))[0]
    return WorkPage(total=result["total"], rows=[_split(row) for row in result["rows"]])


__all__ = ["OfficerUnit", "WorkFilter", "WorkPage", "officer_unit", "page_statement", "work_list"]
