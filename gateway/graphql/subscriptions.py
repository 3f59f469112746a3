"""Live public changes: PostgreSQL announces each change of open.reports
(store/sql/45_report_events.sql) on a channel; every gateway process listens on one shared
connection (store.notify, started by the app's lifespan) and hands each notice to its
subscriptions, so all replicas deliver the same events. When notices may have been missed (the
database restarted, or a subscriber fell far behind), the subscriber gets a REFRESHED event."""

import json
from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.graphql.auth import Role
from gateway.graphql.errors import ApiError
from store.notify import CLOSED, GAP
from store.staff import OfficerUnit


@strawberry.enum
class ReportEventKind(Enum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"
    REFRESHED = "refreshed"


@strawberry.type
class ReportEvent:
    kind: ReportEventKind = strawberry.field(
        description="REFRESHED: many reports changed at once; reload what you show.")
    report_id: strawberry.ID | None
    category: str | None
    status: str | None
    county_code: str | None
    voivodeship_code: str | None


@strawberry.input
class ReportEventFilter:
    categories: list[str] | None = None
    statuses: list[str] | None = None
    area_code: str | None = None


def matches(event: dict[str, Any], f: ReportEventFilter | None) -> bool:
    if f is None or event["kind"] == "refreshed":
        return True
    return ((f.categories is None or event["category"] in f.categories)
            and (f.statuses is None or event["status"] in f.statuses)
            and (f.area_code is None or f.area_code in (event["county"], event["voivodeship"])))


@strawberry.type
class StaffReportEvent:
    kind: ReportEventKind = strawberry.field(
        description="ADDED: new on the unit's list (submitted, or handed to the unit); REMOVED: off "
                    "it (handed away); CHANGED: acted on; REFRESHED: many changed, reload.")
    report_id: strawberry.ID | None
    status: str | None
    county_code: str | None


def _handles(unit: OfficerUnit, county: str | None, assigned: str | None) -> bool:
    """core.officer_handles (store/sql/17_officer_rule.sql), the work list's rule, applied to a
    notice: the report is handed to the unit, or lies in one of its counties and is not handed to
    a unit outside its area (`unit.counties` holds both, as core.unit_counties returns them).
    Change both together (tests/test_staff_live.py checks that they agree)."""
    return assigned == unit.id or (county is not None and county in unit.counties
                                   and (assigned is None or assigned in unit.counties))


def staff_event_kind(event: dict[str, Any], unit: OfficerUnit | None) -> str | None:
    """What a notice means to an officer of `unit` (None: an analyst, who sees all): its kind, or
    None when the report is not the unit's, neither before nor after the change."""
    if unit is None or event["kind"] == "refreshed":
        return event["kind"]
    now = _handles(unit, event.get("county"), event.get("unit"))
    if event["kind"] == "added":
        return "added" if now else None
    before = _handles(unit, event.get("old_county"), event.get("old_unit"))
    if now and not before:
        return "added"
    if before and not now:
        return "removed"
    return "changed" if now else None


@strawberry.type
class StaffSubscription:
    @strawberry.subscription(description="Officers and analysts: reports of the work list added, "
                                         "changed or handed away, as it happens (an officer hears "
                                         "only of the unit's reports, by the rule of staffReports). "
                                         "Over graphql-transport-ws, the bearer token in the "
                                         "connection_init payload (Authorization).")
    async def staff_report_events(self, info: Info) -> AsyncGenerator[StaffReportEvent, None]:
        context = info.context
        viewer = context.require(Role.OFFICER, Role.ANALYST)
        unit = await context.officer_unit() if viewer.role is Role.OFFICER else None
        listener = context.runtime.staff_events
        if listener is None:
            raise ApiError("Live events are not available in this process.")
        async with listener.subscribe() as queue:
            while (message := await queue.get()) is not CLOSED:
                event = {"kind": "refreshed"} if message is GAP else json.loads(message)
                kind = staff_event_kind(event, unit)
                if kind is None:
                    continue
                yield StaffReportEvent(kind=ReportEventKind(kind), report_id=event.get("id"),
                                       status=event.get("status") if kind != "removed" else None,
                                       county_code=event.get("county") if kind != "removed" else None)


@strawberry.type
class ReportSubscription:
    @strawberry.subscription(description="Public reports added, changed or removed, as it happens.")
    async def report_events(self, info: Info, filter: ReportEventFilter | None = None
                            ) -> AsyncGenerator[ReportEvent, None]:
        listener = info.context.runtime.report_events
        if listener is None:
            raise ApiError("Live events are not available in this process.")
        async with listener.subscribe() as queue:
            while (message := await queue.get()) is not CLOSED:
                event = {"kind": "refreshed"} if message is GAP else json.loads(message)
                if not matches(event, filter):
                    continue
                yield ReportEvent(kind=ReportEventKind(event["kind"]), report_id=event.get("id"),
                                  category=event.get("category"), status=event.get("status"),
                                  county_code=event.get("county"),
                                  voivodeship_code=event.get("voivodeship"))
