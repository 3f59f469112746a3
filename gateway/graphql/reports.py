"""Reports: the public projection for everyone, private fields for those allowed to see them,
and the Relay connection that pages through the public layer in one statement per page."""

import asyncio
import base64
import binascii
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from operator import itemgetter
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from gateway.graphql.auth import Role
from gateway.graphql.categories import Area, AreaLevel, Category, PoliceUnit, Status
from gateway.graphql.errors import BadInput, Forbidden, NotFound
from gateway.graphql.photos import ReportPhoto, report_photos
from gateway.graphql.precompleted import Unsupported, pure_field
from store import reports as store_reports

DEFAULT_PAGE = 100
MAX_PAGE = 500

@strawberry.type
class Point:
    longitude: float
    latitude: float

    @strawberry.field(description="The point as a GeoJSON geometry (EPSG:4326).")
    def geojson(self) -> JSON:
        return point_geojson(self)


@pure_field("Point", "geojson")
def point_geojson(point: Point, _context: Any = None) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [point.longitude, point.latitude]}


@strawberry.enum
class DatePrecision(Enum):
    DAY = "day"
    MONTH = "month"


@strawberry.type
class ReportHistoryEvent:
    kind: str
    from_status: str | None
    to_status: str | None
    at: datetime
    actor: str | None = strawberry.field(description="Null for the citizen's own view.")
    comment: str | None
    forwarded_to: str | None = strawberry.field(
        default=None, description="The body a status change forwarded the report to (an id of "
                                  "`forwardBodies`); null for the citizen's own view. Events "
                                  "before this field said it in their comment.")


@strawberry.enum(description="Where a report stands against a deadline.")
class DeadlineState(Enum):
    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"


@strawberry.type(description="KMZB's deadlines: read within 2 days of submission, verified within "
                             "5 (config/statuses.yml).")
class ReportDeadlines:
    submitted_at: datetime
    read_by: datetime
    read_at: datetime | None
    read_state: DeadlineState
    verify_by: datetime
    verified_at: datetime | None
    verify_state: DeadlineState

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ReportDeadlines":
        return cls(submitted_at=row["created_at"], read_by=row["read_by"], read_at=row["read_at"],
                   read_state=DeadlineState(row["read_state"]), verify_by=row["verify_by"],
                   verified_at=row["verified_at"], verify_state=DeadlineState(row["verify_state"]))


@strawberry.type(description="A change of a report's status, as the citizen may see it.")
class StatusChange:
    at: datetime
    status: Status = strawberry.field(description="The status from then on, with its names.")


def status_changes(events: list[dict[str, Any]], current: str) -> list[tuple[datetime, str]]:
    """(time, status) from the audit trail: the creation with the status the report had then
    (the first change's `from`, or the current status if it never changed), then each change."""
    changes = [e for e in events if e["kind"] == "status_changed"]
    first = changes[0]["from_status"] if changes else current
    created = [(e["at"], first) for e in events if e["kind"] == "created"][:1]
    return created + [(e["at"], e["to_status"]) for e in changes]


# The private fields, each from the private row (the resolvers and their pure equivalents).
PRIVATE_PICKS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "exactLocation": lambda row: Point(longitude=row["longitude"], latitude=row["latitude"]),
    "occurredAt": itemgetter("occurred_at"), "description": itemgetter("description"),
    "contact": itemgetter("contact"), "source": itemgetter("source"),
    "deadlines": ReportDeadlines.from_row, "forwardedTo": itemgetter("forwarded_to"),
}


@strawberry.type
class Report:
    id: strawberry.ID
    status: str
    occurred_on: date = strawberry.field(description="Local day (or month, see datePrecision).")
    date_precision: DatePrecision
    location: Point = strawberry.field(description="The public point: the centre of a grid cell.")
    category_id: strawberry.Private[str]
    area_codes: strawberry.Private[list[str]]
    police_unit_id: strawberry.Private[str | None]
    owner_view: strawberry.Private[bool] = False
    # Set by a page that fetched them for all its nodes at once (prefetch_related): category and
    # areas then resolve without a coroutine per node; otherwise through the DataLoaders.
    known_category: strawberry.Private[Category | None] = None
    known_areas: strawberry.Private[list[Area] | None] = None

    @classmethod
    def from_row(cls, row: dict[str, Any], owner_view: bool = False) -> "Report":
        return cls(id=strawberry.ID(str(row["id"])), status=row["status"],
                   occurred_on=row["occurred_on"], date_precision=DatePrecision(row["date_precision"]),
                   location=Point(longitude=row["longitude"], latitude=row["latitude"]),
                   category_id=row["category_id"],
                   area_codes=[c for c in (row["voivodeship_code"], row["county_code"]) if c],
                   police_unit_id=row["police_unit_id"], owner_view=owner_view)

    # category and areas are sync resolvers that return the prefetched value, or else an awaitable
    # (graphql-core awaits it): 100 nodes then cost no coroutines, tasks or futures.
    @strawberry.field
    def category(self, info: Info) -> Category:
        if self.known_category is not None:
            return self.known_category
        return self._load_category(info)  # type: ignore[return-value]

    async def _load_category(self, info: Info) -> Category:
        return Category.from_row(await info.context.loaders.categories.load(self.category_id))

    @strawberry.field(description="Voivodeship and county of the public point.")
    def areas(self, info: Info) -> list[Area]:
        if self.known_areas is not None:
            return self.known_areas
        return self._load_areas(info)  # type: ignore[return-value]

    async def _load_areas(self, info: Info) -> list[Area]:
        rows = await info.context.loaders.areas.load_many(self.area_codes)
        return [Area.from_row(r) for r in rows if r]

    @strawberry.field
    async def police_unit(self, info: Info) -> PoliceUnit | None:
        if self.police_unit_id is None:
            return None
        row = await info.context.loaders.units.load(self.police_unit_id)
        return PoliceUnit.from_row(row) if row else None

    async def _private(self, info: Info) -> dict[str, Any]:
        """The private row, for an analyst, or an officer whose unit handles the report."""
        context = info.context
        viewer = context.require(Role.OFFICER, Role.ANALYST)
        row = await context.loaders.private.load(context.private_key(str(self.id)))
        if row is None:
            raise NotFound("The report no longer exists.")
        if viewer.role is Role.OFFICER:
            await context.officer_unit()   # a token whose unit does not exist is refused
            if not row["handled"]:
                raise Forbidden("This report is outside your police unit's area.")
        return row

    def _private_now(self, info: Info) -> dict[str, Any] | None:
        return self.private_row_now(info.context)

    def private_row_now(self, context: Any) -> dict[str, Any] | None:
        """_private without waiting, when the row is already loaded (a work-list page primes the
        private DataLoader) and so is an officer's unit: the same checks and errors. None when
        something is still to be loaded, or the row is missing: _private then decides."""
        viewer = context.require(Role.OFFICER, Role.ANALYST)
        future = context.loaders.private.cache_map.get(context.private_key(str(self.id)))
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        row = future.result()
        if row is None:
            return None
        if viewer.role is Role.OFFICER:
            if not context.officer_unit_known:
                return None
            if not row["handled"]:
                raise Forbidden("This report is outside your police unit's area.")
        return row

    def _private_field(self, info: Info, pick: Callable[[dict[str, Any]], Any]) -> Any:
        """A private field's value, at once when the row is at hand (no coroutine per field and
        node), else an awaitable of it (graphql-core awaits what a sync resolver returns)."""
        row = self._private_now(info)
        if row is not None:
            return pick(row)

        async def later() -> Any:
            return pick(await self._private(info))
        return later()

    @strawberry.field(description="Private: the exact point as reported.")
    def exact_location(self, info: Info) -> Point | None:
        return self._private_field(info, PRIVATE_PICKS["exactLocation"])

    @strawberry.field(description="Private: the exact time of the event.")
    def occurred_at(self, info: Info) -> datetime | None:
        return self._private_field(info, PRIVATE_PICKS["occurredAt"])

    @strawberry.field(description="Private.")
    def description(self, info: Info) -> str | None:
        return self._private_field(info, PRIVATE_PICKS["description"])

    @strawberry.field(description="Private: erased after the retention period.")
    def contact(self, info: Info) -> str | None:
        return self._private_field(info, PRIVATE_PICKS["contact"])

    @strawberry.field(description="Private.")
    def source(self, info: Info) -> str | None:
        return self._private_field(info, PRIVATE_PICKS["source"])

    @strawberry.field(description="Private: the read-by and verify-by deadlines and where the "
                                  "report stands against them.")
    def deadlines(self, info: Info) -> ReportDeadlines | None:
        return self._private_field(info, PRIVATE_PICKS["deadlines"])

    @strawberry.field(description="Private: the body outside the police it was forwarded to.")
    def forwarded_to(self, info: Info) -> str | None:
        return self._private_field(info, PRIVATE_PICKS["forwardedTo"])

    @strawberry.field(description="Private: the audit trail (the citizen's token shows a summary).")
    async def history(self, info: Info) -> list[ReportHistoryEvent] | None:
        if not self.owner_view:
            await self._private(info)
        rows = await info.context.loaders.history.load(str(self.id))
        if self.owner_view:   # the citizen: no internal notes, not even that one exists
            rows = [r for r in rows if r["kind"] != "note"]
        return [ReportHistoryEvent(
            kind=r["kind"], from_status=r["from_status"], to_status=r["to_status"], at=r["at"],
            actor=None if self.owner_view else r["actor"],
            comment=r["comment"] if not self.owner_view or r["kind"] == "information_added" else None,
            forwarded_to=None if self.owner_view else r["forwarded_to"],
        ) for r in rows]


    @strawberry.field(description=(
        "The status over time, oldest first: the creation, then each status change, with the "
        "status's names (no officer, no comment, no hand-over). The citizen's token "
        "(reportByToken) and staff see it."))
    async def status_history(self, info: Info) -> list[StatusChange] | None:
        if not self.owner_view:
            await self._private(info)
        loaders = info.context.loaders
        changes = status_changes(await loaders.history.load(str(self.id)), self.status)
        rows = await loaders.statuses.load_many([status for _, status in changes])
        return [StatusChange(at=at, status=Status.from_row(row))
                for (at, _), row in zip(changes, rows, strict=True) if row is not None]

    @strawberry.field(description="Private (officers of the unit, analysts; never the citizen's "
                                  "token): the photos sent with the report, without metadata.")
    async def photos(self, info: Info) -> list[ReportPhoto] | None:
        await self._private(info)
        return await report_photos(info, str(self.id))


# A page's nodes carry their category and areas (prefetch_related): the page can then be
# completed without graphql-core's per-field machinery (gateway.graphql.precompleted).
@pure_field("Report", "category")
def known_category(report: Report, _context: Any) -> Category:
    if report.known_category is None:
        raise Unsupported
    return report.known_category


@pure_field("Report", "areas")
def known_areas(report: Report, _context: Any) -> list[Area]:
    if report.known_areas is None:
        raise Unsupported
    return report.known_areas


def _primed(pick: Callable[[dict[str, Any]], Any]) -> Callable[[Report, Any], Any]:
    """A private field's value from the row a work-list page primed (private_row_now: the same
    role and area checks, which raise as the resolver would; nothing primed: Unsupported)."""
    def read(report: Report, context: Any) -> Any:
        row = report.private_row_now(context)
        if row is None:
            raise Unsupported
        return pick(row)
    return read


for _name, _pick in PRIVATE_PICKS.items():
    pure_field("Report", _name)(_primed(_pick))


@strawberry.input
class BBox:
    west: float
    south: float
    east: float
    north: float


@strawberry.input
class ReportFilter:
    bbox: BBox | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    area_code: str | None = None
    source: str | None = strawberry.field(default=None,
                                          description="Officers and analysts only.")


@strawberry.enum
class ReportOrder(Enum):
    OCCURRED_ON_DESC = "occurred_on_desc"
    OCCURRED_ON_ASC = "occurred_on_asc"


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ReportEdge:
    cursor: str
    node: Report


@strawberry.type
class ReportConnection:
    edges: list[ReportEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="Reports matching the filter.")


def encode_cursor(order: ReportOrder, occurred_on: date, report_id: Any) -> str:
    raw = f"{order.value}|{occurred_on.isoformat()}|{report_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, order: ReportOrder) -> tuple[date, uuid.UUID]:
    try:
        kind, day, report_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if kind != order.value:
            raise ValueError
        return date.fromisoformat(day), uuid.UUID(report_id)
    except (ValueError, binascii.Error, UnicodeError):
        raise BadInput("`after` is not a cursor of this ordering: use an endCursor you were given.",
                       argument="after") from None


def bbox_value(b: BBox) -> store_reports.BBox:
    return checked_bbox(b.west, b.south, b.east, b.north)


def checked_bbox(west: float, south: float, east: float, north: float) -> store_reports.BBox:
    """The bbox as the store's value, or BAD_USER_INPUT for one turned around or out of range."""
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
            -180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadInput("bbox needs finite west < east in [-180, 180] and south < north in "
                       "[-90, 90] (longitude/latitude, EPSG:4326).", argument="filter.bbox")
    return store_reports.BBox(west, south, east, north)


def status_ids(statuses: list[str]) -> list[str]:
    """Status ids are lower-case (`under_verification`); `UNDER_VERIFICATION` means the same."""
    return [s.lower() for s in statuses]


async def check_source(info: Info, source: str) -> str:
    """A known report source (the database's list, core.report_sources())."""
    sources = await info.context.report_sources()
    if source not in sources:
        raise BadInput(f"source must be one of {', '.join(sources)}.", argument="filter.source")
    return source


async def store_filter(info: Info, f: ReportFilter | None) -> store_reports.ReportFilter | None:
    """The filter checked, as the store's plain values."""
    if f is None:
        return None
    return store_reports.ReportFilter(
        bbox=bbox_value(f.bbox) if f.bbox is not None else None, categories=f.categories,
        statuses=status_ids(f.statuses) if f.statuses is not None else None,
        occurred_from=f.occurred_from, occurred_to=f.occurred_to, area_code=f.area_code,
        source=await check_source(info, f.source) if f.source is not None else None)


def _fields(selections: list[Selection]) -> list[SelectedField]:
    """The fields of a selection set, fragments flattened, @skip/@include applied (to fields and
    fragments alike)."""
    fields = []
    for s in selections:
        skipped = s.directives.get("skip", {}).get("if") is True
        if skipped or s.directives.get("include", {}).get("if") is False:
            continue
        if isinstance(s, SelectedField):
            fields.append(s)
        else:
            fields += _fields(s.selections)
    return fields


def selected(info: Info, *path: str) -> set[str]:
    """The names of the fields asked for at `path` below this field (through fragments):
    selected(info) for its own fields, selected(info, "edges", "node") for a connection's nodes."""
    fields = [child for field in info.selected_fields for child in _fields(field.selections)]
    for name in path:
        fields = [child for field in fields if field.name == name for child in _fields(field.selections)]
    return {field.name for field in fields}


def selects_total(info: Info) -> bool:
    """Whether totalCount is asked for (directly or through fragments): counting costs."""
    return "totalCount" in selected(info)


async def prefetch_related(info: Info, reports: list[Report]) -> None:
    """Category and areas of a page's nodes, when asked for, through the same DataLoaders (one
    statement each for the page, all at once) but awaited here once, so that each node
    resolves them synchronously. The police units are loaded in the same round (each node still
    reads its unit from the loader, now without waiting for the database). On any failure the
    nodes are left to the DataLoaders, whose cached results then give each node what it would
    have got without this."""
    wanted = selected(info, "edges", "node") & {"category", "areas", "policeUnit"}
    if not reports or not wanted:
        return
    loaders = info.context.loaders
    category_ids = list(dict.fromkeys(r.category_id for r in reports)) if "category" in wanted else []
    area_codes = list(dict.fromkeys(c for r in reports for c in r.area_codes)) if "areas" in wanted else []
    unit_ids = (list(dict.fromkeys(r.police_unit_id for r in reports if r.police_unit_id))
                if "policeUnit" in wanted else [])
    try:
        category_rows, area_rows, _ = await asyncio.gather(loaders.categories.load_many(category_ids),
                                                           loaders.areas.load_many(area_codes),
                                                           loaders.units.load_many(unit_ids))
    except Exception:  # the nodes' own resolvers meet (and report) the same error
        return
    categories = {key: Category.from_row(row) for key, row in zip(category_ids, category_rows, strict=True)
                  if row is not None}
    areas = {key: Area.from_row(row) for key, row in zip(area_codes, area_rows, strict=True)
             if row is not None}
    for report in reports:
        if "category" in wanted:
            report.known_category = categories.get(report.category_id)
        if "areas" in wanted:
            report.known_areas = [areas[c] for c in report.area_codes if c in areas]


@strawberry.type
class ReportQuery:
    @strawberry.field(description="Public reports, newest first, a Relay connection.")
    async def reports(self, info: Info, filter: ReportFilter | None = None, first: int = DEFAULT_PAGE,
                      after: str | None = None,
                      order_by: ReportOrder = ReportOrder.OCCURRED_ON_DESC) -> ReportConnection:
        context = info.context
        if not 0 <= first <= MAX_PAGE:
            raise BadInput(f"first must be between 0 and {MAX_PAGE}.", argument="first")
        f = await store_filter(info, filter)
        pool = context.runtime.public_pool
        if store_reports.reads_core(f):
            context.require(Role.OFFICER, Role.ANALYST)
            pool = context.runtime.app_pool
        cursor = decode_cursor(after, order_by) if after is not None else None
        page = await store_reports.public_page(pool, f, order_by is ReportOrder.OCCURRED_ON_DESC,
                                               first + 1, cursor, selects_total(info))
        rows = page.rows
        edges = [ReportEdge(cursor=encode_cursor(order_by, r["occurred_on"], r["id"]),
                            node=Report.from_row(r)) for r in rows[:first]]
        await prefetch_related(info, [edge.node for edge in edges])
        return ReportConnection(
            edges=edges, total_count=page.total,
            page_info=PageInfo(has_next_page=len(rows) > first, has_previous_page=after is not None,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="One report: public ones for everyone; staff also see unpublished.")
    async def report(self, info: Info, id: strawberry.ID) -> Report | None:
        context = info.context
        try:
            report_id = uuid.UUID(str(id))
        except ValueError:
            raise BadInput("id must be a report's UUID.", argument="id") from None
        if context.viewer is not None and context.viewer.role in (Role.OFFICER, Role.ANALYST):
            row = await store_reports.projected_report(context.runtime.app_pool, report_id)
        else:
            row = await store_reports.public_report(context.runtime.public_pool, report_id)
        return Report.from_row(row) if row else None


__all__ = ["AreaLevel", "Report", "ReportConnection", "ReportFilter", "ReportQuery"]
