"""GET /staff/export.csv: the work list as CSV (issue 13, point 9), with a staff bearer token.

Who gets what:
- officers: the reports their unit handles (the scope of `staffReports`), every private field,
  the citizen's contact included (they are the ones who call back);
- analysts: every report, the exact point and time, description and source, but never the
  contact (they count, they do not call);
- admins and anyone else: 403. Admins manage the catalogue and read the record of exports
  (`threatmap audit exports`); that the one who audits exports cannot export is deliberate.

The filters are those of `staffReports`, as query parameters (repeatable where plural): status,
category, deadline (PENDING, DUE_SOON, OVERDUE, MET, MISSED), from and to (YYYY-MM-DD, the local
day of the exact time), area (TERYT code), text (words of the description), bbox
(minx,miny,maxx,maxy in EPSG:4326). Any other parameter, or a bad value, is a 422 naming it.
`delimiter=semicolon` writes `;` between fields (what Excel set to Polish expects when a file is
opened by a double click); the default is the comma of RFC 4180.

The file is UTF-8 with a byte order mark: Excel reads a CSV without one as Windows-1250 in Poland
and garbles ą, ę, ł...; other readers (pandas, LibreOffice, QGIS) skip it. A cell a spreadsheet
would run as a formula (starting with =, +, -, @, tab or carriage return: a citizen's
description can be anything) is written with a leading apostrophe (OWASP "CSV injection").

Each export is recorded (and committed) before its first row is sent (core.staff_exports: who,
when, the filters, the rows matching then, the private fields); an export of more than
`staff_export_max_rows` rows is refused with 422 (narrow the filters) and not recorded.
"""

import csv
import io
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.graphql.auth import Role, Viewer, viewer_from_request
from gateway.graphql.errors import Unauthenticated
from gateway.oidc import OidcVerifier
from gateway.state import Runtime
from store import reference, staff_exports
from store import staff as store_staff
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S
from store.reports import BBox, ReportFilter
from store.text import long_number, unfit_character

EXPORT_ROLES = (Role.OFFICER, Role.ANALYST)
DEADLINE_STATES = ("PENDING", "DUE_SOON", "OVERDUE", "MET", "MISSED")
PARAMETERS = {"status", "category", "deadline", "from", "to", "area", "text", "bbox", "delimiter"}
DELIMITERS = {"comma": ",", "semicolon": ";"}
MAX_VALUES = 50          # of one repeatable parameter
MAX_WORDS = 10           # as staffReports' `text`
MAX_TEXT = 200
AREA_CODE = re.compile(r"\d{2}(\d{2})?")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH_ROWS = 500
LOCAL_ZONE = ZoneInfo("Europe/Warsaw")   # the file's date; the rows' times use the policy's zone

COLUMNS = ["id", "status", "category", "occurred_at", "longitude", "latitude", "county_code", "county",
           "police_unit_id", "police_unit", "read_by", "read_state", "read_at", "verify_by",
           "verify_state", "verified_at", "forwarded_to", "description", "contact", "source"]

NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


class BadExport(ValueError):
    """A parameter the export cannot take; the message names it."""


def _refusal(status: int, message: str, **headers: str) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type="application/json",
                    headers={**NO_STORE, **headers})


@dataclass
class ExportRequest:
    """The query parameters checked: the store's filters, and the same as JSON for the record."""
    f: ReportFilter | None
    w: store_staff.WorkFilter | None
    delimiter: str
    recorded: dict[str, Any] = field(default_factory=dict)


def _values(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(name)
    if len(values) > MAX_VALUES:
        raise BadExport(f"{name}: at most {MAX_VALUES} values.")
    return values


def _one(request: Request, name: str) -> str | None:
    values = _values(request, name)
    if len(values) > 1:
        raise BadExport(f"{name}: give it once.")
    return values[0] if values else None


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        if not DAY.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BadExport(f"{name}: a date as YYYY-MM-DD, got {value!r}.") from None


def _bbox(value: str | None) -> BBox | None:
    if value is None:
        return None
    try:
        west, south, east, north = (float(part) for part in value.split(","))
    except ValueError:
        raise BadExport(f"bbox: four numbers minx,miny,maxx,maxy (EPSG:4326), got {value!r}.") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
            -180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadExport("bbox: finite minx < maxx in [-180, 180] and miny < maxy in [-90, 90] "
                        "(longitude, latitude).")
    return BBox(west, south, east, north)


def _words(value: str | None) -> list[str] | None:
    if value is None:
        return None
    words = value.split()
    if len(value) > MAX_TEXT or not 1 <= len(words) <= MAX_WORDS:
        raise BadExport(f"text: 1 to {MAX_WORDS} words, at most {MAX_TEXT} characters.")
    return words


async def parse(request: Request, pool: AsyncConnectionPool) -> ExportRequest:
    """The parameters checked against what exists (statuses, categories, areas); BadExport else."""
    params = request.query_params
    unknown = sorted(set(params.keys()) - PARAMETERS)
    if unknown:
        raise BadExport(f"unknown parameter {unknown[0]!r}; the export takes "
                        f"{', '.join(sorted(PARAMETERS))}.")
    for name, value in params.multi_items():
        if reason := unfit_character(value) or long_number(value):
            raise BadExport(f"{name}: {reason}.")
    statuses = [s.lower() for s in _values(request, "status")]
    categories = _values(request, "category")
    deadlines = [d.upper() for d in _values(request, "deadline")]
    occurred_from, occurred_to = _day(_one(request, "from"), "from"), _day(_one(request, "to"), "to")
    area, text = _one(request, "area"), _one(request, "text")
    bbox = _bbox(_one(request, "bbox"))
    delimiter = _one(request, "delimiter") or "comma"
    if delimiter not in DELIMITERS:
        raise BadExport(f"delimiter: comma or semicolon, got {delimiter!r}.")
    if occurred_from and occurred_to and occurred_from > occurred_to:
        raise BadExport("from: after to.")
    if bad := [d for d in deadlines if d not in DEADLINE_STATES]:
        raise BadExport(f"deadline: one of {', '.join(DEADLINE_STATES)}, got {bad[0]!r}.")
    words = _words(text)
    if statuses:
        known = {row["id"] for row in await reference.statuses(pool)}
        if bad := [s for s in statuses if s not in known]:
            raise BadExport(f"status: one of {', '.join(sorted(known))}, got {bad[0]!r}.")
    if categories:
        known = {row["id"] for row in await reference.all_categories(pool)}
        if bad := [c for c in categories if c not in known]:
            raise BadExport(f"category: no category {bad[0]!r} (the ids of `categories` in GraphQL).")
    if area is not None and (not AREA_CODE.fullmatch(area) or not await reference.areas(pool, [area])):
        raise BadExport(f"area: the TERYT code of a voivodeship (2 digits) or county (4), got {area!r}.")
    f = ReportFilter(bbox=bbox, categories=categories or None, statuses=statuses or None,
                     occurred_from=occurred_from, occurred_to=occurred_to, area_code=area)
    w = (store_staff.WorkFilter(words=words, deadline_states=[d.lower() for d in deadlines] or None)
         if words or deadlines else None)
    recorded = {name: params.getlist(name) for name in sorted(set(params.keys())) if name != "delimiter"}
    return ExportRequest(f=f if f != ReportFilter() else None, w=w, delimiter=DELIMITERS[delimiter],
                         recorded=recorded)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


async def _stream(conn: AsyncConnection, q: staff_exports.ExportQuery, delimiter: str, cap: int
                  ) -> AsyncIterator[str]:
    """The file, batch by batch (ExportResponse gives the connection back however it ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    n = 0
    async for row in staff_exports.rows(conn, q, cap):
        writer.writerow([_cell(row[column]) for column in COLUMNS])
        n += 1
        if n % BATCH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


class ExportResponse(StreamingResponse):
    """A streamed export that gives its database connection back to the pool however the
    response ends: sent whole, the client gone mid-way (the stream is cancelled), or gone before
    the first byte (the stream never started, so its own `finally` would never run). The return
    is shielded from the cancellation that a disconnect brings."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], Awaitable[None]],
                 **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                body = self.body_iterator
                if hasattr(body, "aclose"):
                    await body.aclose()   # closes the server-side cursor if it was opened
                await self.release()      # the pool rolls the read-only transaction back


async def _authenticated(request: Request, jwt_secret: str, oidc: OidcVerifier | None
                         ) -> Viewer | Response:
    try:
        viewer = await viewer_from_request(jwt_secret, request.headers.get("authorization"), oidc)
    except Unauthenticated as error:
        return _refusal(401, error.message, **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if viewer is None:
        return _refusal(401, "A staff bearer token is needed (Authorization: Bearer <token>).",
                        **{"WWW-Authenticate": "Bearer"})
    if viewer.role not in EXPORT_ROLES:
        return _refusal(403, "The export of the work list is for officers and analysts.")
    return viewer


def staff_export(jwt_secret: str, oidc: OidcVerifier | None, max_rows: int
                 ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if request.method != "GET":   # (Starlette adds HEAD to GET): an export is recorded, a HEAD is not one
            return _refusal(405, "Use GET.", Allow="GET")
        viewer = await _authenticated(request, jwt_secret, oidc)
        if isinstance(viewer, Response):
            return viewer
        runtime: Runtime = request.app.state.runtime
        pool = runtime.app_pool
        try:
            unit = None
            if viewer.role is Role.OFFICER:
                unit = (await store_staff.officer_unit(pool, viewer.unit)
                        if viewer.unit and not unfit_character(viewer.unit) else None)
                if unit is None:
                    return _refusal(403, f"The token's police unit {viewer.unit!r} does not exist.")
            try:
                asked = await parse(request, pool)
            except BadExport as error:
                return _refusal(422, str(error))
            q = staff_exports.ExportQuery(f=asked.f, w=asked.w, unit=unit,
                                          with_contact=viewer.role is Role.OFFICER)
            async with pool.connection() as short:
                n = await staff_exports.count(short, q, max_rows)
                if n > max_rows:
                    return _refusal(422, f"More than {max_rows:,} reports match: narrow the filters "
                                         "(dates, area, status) and export in parts.")
                await staff_exports.record(short, viewer.actor, viewer.role.value, unit.id if unit else None,
                                           asked.recorded, n, q.private_fields)
            conn = await pool.getconn()
            try:
                await staff_exports.begin(conn)
            except BaseException:
                await pool.putconn(conn)
                raise
        except DATABASE_UNAVAILABLE:
            return _refusal(503, "The database is unavailable; try again later.",
                            **{"Retry-After": str(RETRY_AFTER_S)})
        day = datetime.now(LOCAL_ZONE).date().isoformat()
        return ExportResponse(
            _stream(conn, q, asked.delimiter, max_rows), lambda: pool.putconn(conn),
            media_type="text/csv; charset=utf-8; header=present",
            headers={**NO_STORE, "X-Export-Rows": str(n),
                     "Content-Disposition": f'attachment; filename="threatmap-reports-{day}.csv"'})

    return endpoint
