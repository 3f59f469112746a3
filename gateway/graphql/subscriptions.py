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

from gateway.graphql.errors import ApiError
from store.notify import CLOSED, GAP


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
