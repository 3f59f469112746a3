"""The police's work list: `staffReports` pages through core (published or not) within what
the caller may handle: an officer's unit's area and the reports handed to the unit; an
analyst's everything. One statement per page (store/staff.py), private fields included (they
prime the DataLoader that `Report`'s private fields read), keyset cursors on the exact time."""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.graphql import validation
from gateway.graphql.auth import Role
from gateway.graphql.errors import BadInput
from gateway.graphql.reports import (
    DEFAULT_PAGE,
    MAX_PAGE,
    DeadlineState,
    PageInfo,
    Report,
    ReportConnection,
    ReportEdge,
    ReportFilter,
    ReportOrder,
    prefetch_related,
    selects_total,
    store_filter,
)
from store import staff as store_staff

CURSOR_KIND = "staff"


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


MAX_WORDS = 10


def work_filter(text: str | None, states: list[DeadlineState] | None) -> store_staff.WorkFilter | None:
    if text is None and states is None:
        return None
    words = None
    if text is not None:
        checked = validation.text(text, "text", 200, single_line=True) or ""
        words = checked.split()
        if not words or len(words) > MAX_WORDS:
            raise BadInput(f"text must hold 1 to {MAX_WORDS} words.", argument="text")
    return store_staff.WorkFilter(words=words,
                                  deadline_states=[s.value for s in states] if states is not None else None)


@strawberry.type
class StaffQuery:
    @strawberry.field(description=(
        "Officers and analysts: reports as the police work on them, published or not, newest "
        "(exact time) first. An officer gets the reports of the unit's area (a county unit: its "
        "county; a voivodeship unit: its counties) but those handed to a unit outside the area, "
        "and those handed to the unit; an analyst gets all. Filters apply to the exact point and "
        "time and to the report's own county."))
    async def staff_reports(self, info: Info, filter: ReportFilter | None = None,
                            first: int = DEFAULT_PAGE, after: str | None = None,
                            order_by: ReportOrder = ReportOrder.OCCURRED_ON_DESC,
                            text: Annotated[str | None, strawberry.argument(
                                description="Words the description contains (all of them, in any "
                                "case).")] = None,
                            deadline_states: Annotated[list[DeadlineState] | None, strawberry.argument(
                                description="Where reports stand against the deadline they wait "
                                "for: read-by until read, then verify-by.")] = None,
                            ) -> ReportConnection:
        context = info.context
        viewer = context.require(Role.OFFICER, Role.ANALYST)
        if not 0 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 0 and {MAX_PAGE}.", argument="first")
        f = await store_filter(info, filter)
        unit = await context.officer_unit() if viewer.role is Role.OFFICER else None
        cursor = decode_cursor(after, order_by) if after is not None else None
        page = await store_staff.work_list(context.runtime.app_pool, f, unit,
                                           order_by is ReportOrder.OCCURRED_ON_DESC, first + 1, cursor,
                                           selects_total(info), work_filter(text, deadline_states))
        edges = []
        for public, private in page.rows[:first]:
            context.loaders.private.prime(context.private_key(str(public["id"])), private)
            edges.append(ReportEdge(cursor=encode_cursor(order_by, private["occurred_at"], public["id"]),
                                    node=Report.from_row(public)))
        await prefetch_related(info, [edge.node for edge in edges])
        return ReportConnection(
            edges=edges, total_count=page.total,
            page_info=PageInfo(has_next_page=len(page.rows) > first,
                               has_previous_page=after is not None,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None))
