"""The police's work list: `staffReports` pages through core (published or not) within what
the caller may handle: an officer's unit's area and the reports handed to the unit; an
analyst's everything. One statement per page, private fields included (they prime the
DataLoader that `Report`'s private fields read), keyset cursors on the exact time."""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

import strawberry
from psycopg import sql
from strawberry.types import Info

from gateway.graphql import db
from gateway.graphql.auth import Role
from gateway.graphql.errors import BadInput
from gateway.graphql.reports import (
    DEFAULT_PAGE,
    MAX_PAGE,
    PageInfo,
    Report,
    ReportConnection,
    ReportEdge,
    ReportFilter,
    ReportOrder,
    check_source,
    prefetch_related,
    selects_total,
    shared_filter_sql,
)

CURSOR_KIND = "staff"

# The caller's scope, on core.reports AS r.
COUNTY_UNIT_SCOPE = sql.SQL("(r.county_code = %(unit_area)s OR r.police_unit_id = %(unit_id)s)")
VOIVODESHIP_UNIT_SCOPE = sql.SQL(
    "(r.county_code IN (SELECT code FROM core.areas WHERE parent_code = %(unit_area)s)"
    " OR r.police_unit_id = %(unit_id)s)")

# The page: the keys first (an index-only scan of reports_worklist unless bbox needs the point),
# then each row with its public projection (open.reports when published, else computed as the
# public layer would show it) and its private columns.
PAGE_SQL = """
SELECT {total} AS total,
       (SELECT coalesce(json_agg(page ORDER BY page.occurred_at {direction}, page.id {direction}),
                        '[]'::json)
        FROM (SELECT r.id, (x.p).category_id, (x.p).status, (x.p).occurred_on, (x.p).date_precision,
                     (x.p).county_code, (x.p).voivodeship_code, (x.p).police_unit_id,
                     ST_X((x.p).geom) AS longitude, ST_Y((x.p).geom) AS latitude,
                     r.occurred_at, ST_X(r.geom) AS exact_longitude, ST_Y(r.geom) AS exact_latitude,
                     r.description, r.contact, r.source, r.county_code AS core_county_code,
                     a.parent_code AS core_voivodeship_code, r.police_unit_id AS core_police_unit_id
              FROM (SELECT r.id FROM core.reports AS r
                    WHERE {where} AND {keyset}
                    ORDER BY r.occurred_at {direction}, r.id {direction}
                    LIMIT %(limit)s) AS k
              JOIN core.reports AS r ON r.id = k.id
              LEFT JOIN open.reports AS o ON o.id = r.id
              CROSS JOIN LATERAL (SELECT CASE WHEN o.id IS NOT NULL THEN o
                                              ELSE core.public_report(r) END AS p OFFSET 0) AS x
              LEFT JOIN core.areas AS a ON a.code = r.county_code) AS page) AS rows
"""


def encode_cursor(order: ReportOrder, occurred_at: datetime, report_id: Any) -> str:
    raw = f"{CURSOR_KIND}|{order.value}|{occurred_at.isoformat()}|{report_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, order: ReportOrder) -> tuple[datetime, uuid.UUID]:
    try:
        kind, ordering, at, report_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(at)
        if kind != CURSOR_KIND or ordering != order.value or moment.tzinfo is None:
            raise ValueError
        return moment, uuid.UUID(report_id)
    except (ValueError, binascii.Error, UnicodeError):
        raise BadInput("`after` is not a staffReports cursor of this ordering: use an endCursor "
                       "you were given.", argument="after") from None


def staff_filter_sql(f: ReportFilter | None) -> tuple[list[sql.Composable], dict[str, Any]]:
    """WHERE conditions on core.reports (alias r): the exact point, the local day of the exact
    time (the policy's time zone), the report's own county and its voivodeship."""
    if f is None:
        return [], {}
    conditions, params = shared_filter_sql(f)
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
        params["source"] = check_source(f.source)
    return conditions, params


def page_sql(conditions: list[sql.Composable], order: ReportOrder, with_total: bool,
             with_cursor: bool) -> sql.Composed:
    desc = order is ReportOrder.OCCURRED_ON_DESC
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    keyset = sql.SQL("(r.occurred_at, r.id) {} (%(after_at)s, %(after_id)s)").format(
        sql.SQL("<" if desc else ">")) if with_cursor else sql.SQL("true")
    total = (sql.SQL("(SELECT count(*) FROM core.reports AS r WHERE {})").format(where)
             if with_total else sql.SQL("NULL::bigint"))
    return sql.SQL(PAGE_SQL).format(total=total, where=where, keyset=keyset,
                                    direction=sql.SQL("DESC" if desc else "ASC"))


def _split(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A page row as Report.from_row wants it, and as the private DataLoader holds it."""
    occurred_at = datetime.fromisoformat(row["occurred_at"])
    public = row | {"occurred_on": datetime.fromisoformat(row["occurred_on"]).date()}
    private = {"id": row["id"], "longitude": row["exact_longitude"], "latitude": row["exact_latitude"],
               "occurred_at": occurred_at, "description": row["description"],
               "contact": row["contact"], "source": row["source"],
               "county_code": row["core_county_code"],
               "voivodeship_code": row["core_voivodeship_code"],
               "police_unit_id": row["core_police_unit_id"]}
    return public, private


@strawberry.type
class StaffQuery:
    @strawberry.field(description=(
        "Officers and analysts: reports as the police work on them, published or not, newest "
        "(exact time) first. An officer gets the reports of the unit's area (a county unit: its "
        "county; a voivodeship unit: its counties) and those handed to the unit; an analyst gets "
        "all. Filters apply to the exact point and time and to the report's own county."))
    async def staff_reports(self, info: Info, filter: ReportFilter | None = None,
                            first: int = DEFAULT_PAGE, after: str | None = None,
                            order_by: ReportOrder = ReportOrder.OCCURRED_ON_DESC) -> ReportConnection:
        context = info.context
        viewer = context.require(Role.OFFICER, Role.ANALYST)
        if not 0 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 0 and {MAX_PAGE}.", argument="first")
        conditions, params = staff_filter_sql(filter)
        if viewer.role is Role.OFFICER:
            unit = await context.officer_unit()
            conditions.insert(0, COUNTY_UNIT_SCOPE if unit["level"] == "county"
                              else VOIVODESHIP_UNIT_SCOPE)
            params |= {"unit_area": unit["area_code"], "unit_id": unit["id"]}
        if after is not None:
            params["after_at"], params["after_id"] = decode_cursor(after, order_by)
        params["limit"] = first + 1
        query = page_sql(conditions, order_by, selects_total(info), after is not None)
        # Never prepared: a generic plan (no unit area, no bbox values) took 0.4-2 s where the
        # custom one takes 5-40 ms on a million reports.
        result = (await db.fetch(context.runtime.app_pool, query, params, prepare=False))[0]
        edges = []
        for row in result["rows"][:first]:
            public, private = _split(row)
            context.loaders.private.prime(str(row["id"]), private)
            edges.append(ReportEdge(cursor=encode_cursor(order_by, private["occurred_at"], row["id"]),
                                    node=Report.from_row(public)))
        await prefetch_related(info, [edge.node for edge in edges])
        return ReportConnection(
            edges=edges, total_count=result["total"],
            page_info=PageInfo(has_next_page=len(result["rows"]) > first,
                               has_previous_page=after is not None,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None))
