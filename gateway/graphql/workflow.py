"""The reporting and verification workflow: citizens submit and follow a report with a
tracking token; officers change its status (KMZB state machine) and hand it between units."""

import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import strawberry
from limits import parse
from psycopg import AsyncConnection
from strawberry.types import Info

from gateway.graphql import db, validation
from gateway.graphql.auth import Role
from gateway.graphql.errors import BadInput, Conflict, Forbidden, NotFound, RateLimited
from gateway.graphql.reports import PROJECTED_SQL, Report

CHECK_SUBMISSION_SQL = """
SELECT (SELECT active FROM core.categories WHERE id = %(category)s) AS category_active,
       EXISTS (SELECT FROM core.areas WHERE level = 'voivodeship'
               AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))) AS inside,
       EXISTS (SELECT FROM core.areas WHERE level = 'voivodeship'
               AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lat)s, %(lon)s), 4326))) AS swapped
"""
INSERT_SQL = """
WITH inserted AS (
    INSERT INTO core.reports (category_id, status, geom, occurred_at, description, contact, source,
                              idempotency_key, payload_hash, tracking_token_hash)
    VALUES (%(category)s, (SELECT id FROM core.statuses WHERE is_initial),
            ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(occurred_at)s, %(description)s,
            %(contact)s, 'citizen', %(key)s, %(payload)s, %(token)s)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, status
), created AS (
    INSERT INTO core.report_events (report_id, kind, to_status, actor)
    SELECT id, 'created', NULL, 'citizen' FROM inserted
)
SELECT id FROM inserted
"""
# A repeated submission gets the same report and a new token (only a hash is kept, so the first
# token cannot be handed out again; the newest one is the one that works).
REPLAY_SQL = """
UPDATE core.reports SET tracking_token_hash = %(token)s
WHERE idempotency_key = %(key)s AND payload_hash = %(payload)s
RETURNING id
"""
BY_TOKEN_SQL = "SELECT id, closed_at FROM core.reports WHERE tracking_token_hash = %s"
LOCK_SQL = """
SELECT r.id, r.status, r.county_code, a.parent_code AS voivodeship_code, r.police_unit_id
FROM core.reports AS r LEFT JOIN core.areas AS a ON a.code = r.county_code
WHERE r.id = %s FOR UPDATE OF r
"""
TRANSITION_SQL = """
SELECT EXISTS (SELECT FROM core.statuses WHERE id = %(to)s) AS known,
       EXISTS (SELECT FROM core.status_transitions WHERE from_status = %(from)s AND to_status = %(to)s)
           AS allowed
"""
SET_STATUS_SQL = "UPDATE core.reports SET status = %s WHERE id = %s"
ASSIGN_SQL = "UPDATE core.reports SET police_unit_id = %s WHERE id = %s"
EVENT_SQL = """
INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, comment)
VALUES (%s, %s, %s, %s, %s, %s)
"""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@strawberry.input
class SubmitReportInput:
    category_id: str
    longitude: float
    latitude: float
    occurred_at: datetime
    description: str | None = None
    contact: str | None = strawberry.field(default=None,
                                           description="Optional; erased after the retention period.")


@strawberry.type
class SubmitReportPayload:
    report: Report
    tracking_token: str = strawberry.field(
        description="Shown once: keep it to follow the report (reportByToken).")


async def _projected(conn: AsyncConnection, report_id: Any, owner_view: bool = False) -> Report:
    rows = await db.fetch_on(conn, PROJECTED_SQL, [report_id])
    return Report.from_row(rows[0], owner_view=owner_view)


def _parse_id(value: strawberry.ID) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadInput("id must be a report's UUID.", field="id") from None


async def _rate_limit(info: Info) -> None:
    context = info.context
    limit = parse(context.settings.submit_rate_limit)
    if not await context.limiter.hit(limit, "submitReport", context.client):
        raise RateLimited(f"Too many reports from this address (limit {limit}); try again later.")


async def _validated(info: Info, data: SubmitReportInput) -> dict[str, Any]:
    settings = info.context.settings
    validation.coordinates(data.longitude, data.latitude)
    occurred = validation.occurred_at(data.occurred_at, settings.report_max_age_days)
    values = {
        "category": data.category_id, "lon": data.longitude, "lat": data.latitude,
        "occurred_at": occurred.astimezone(UTC),
        "description": validation.text(data.description, "description", validation.MAX_DESCRIPTION),
        "contact": validation.text(data.contact, "contact", validation.MAX_CONTACT, single_line=True),
    }
    check = (await db.fetch(info.context.runtime.app_pool, CHECK_SUBMISSION_SQL, values))[0]
    if check["category_active"] is None:
        raise BadInput(f"There is no category {data.category_id!r}; see `categories`.",
                       field="categoryId")
    if not check["category_active"]:
        raise BadInput(f"The category {data.category_id!r} no longer takes reports.", field="categoryId")
    if not check["inside"]:
        hint = (" The point would be in Poland with longitude and latitude swapped: send "
                "longitude (about 14 to 24) and latitude (about 49 to 55)." if check["swapped"] else "")
        raise BadInput(f"The point is outside Poland.{hint}", field="longitude")
    return values


def _payload_hash(values: dict[str, Any]) -> str:
    canonical = json.dumps({k: v.isoformat() if isinstance(v, datetime) else v
                            for k, v in sorted(values.items())}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="The report a tracking token belongs to (status and history).")
    async def report_by_token(self, info: Info, token: str) -> Report | None:
        async with info.context.runtime.app_pool.connection() as conn:
            rows = await db.fetch_on(conn, BY_TOKEN_SQL, [token_hash(token)])
            return await _projected(conn, rows[0]["id"], owner_view=True) if rows else None


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Report a threat. Send an idempotencyKey (e.g. a UUID) so "
                                     "that a retried request never makes a second report.")
    async def submit_report(self, info: Info, input: SubmitReportInput,
                            idempotency_key: str | None = None) -> SubmitReportPayload | None:
        await _rate_limit(info)
        key = validation.idempotency_key(idempotency_key)
        values = await _validated(info, input)
        token = secrets.token_urlsafe(32)
        params = values | {"key": key, "payload": _payload_hash(values), "token": token_hash(token)}
        async with info.context.runtime.app_pool.connection() as conn:
            rows = await db.fetch_on(conn, INSERT_SQL, params)
            if not rows:
                rows = await db.fetch_on(conn, REPLAY_SQL, params)
                if not rows:
                    raise Conflict("This idempotencyKey was used for a different report; use a new "
                                   "key for a new report.", field="idempotencyKey")
            report = await _projected(conn, rows[0]["id"])
        return SubmitReportPayload(report=report, tracking_token=token)

    @strawberry.mutation(description="The citizen adds information to an open report.")
    async def add_report_information(self, info: Info, token: str, text: str) -> Report | None:
        comment = validation.text(text, "text", validation.MAX_COMMENT)
        if comment is None:
            raise BadInput("text is empty.", field="text")
        async with info.context.runtime.app_pool.connection() as conn:
            rows = await db.fetch_on(conn, BY_TOKEN_SQL + " FOR UPDATE", [token_hash(token)])
            if not rows:
                raise NotFound("No report has this tracking token.")
            if rows[0]["closed_at"] is not None:
                raise BadInput("The report is closed: information can no longer be added.")
            await db.fetch_on(conn, EVENT_SQL, [rows[0]["id"], "information_added", None, None,
                                                "citizen", comment])
            return await _projected(conn, rows[0]["id"], owner_view=True)

    @strawberry.mutation(description="Officer: move a report along the verification workflow.")
    async def set_report_status(self, info: Info, id: strawberry.ID, status: str,
                                comment: str | None = None) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            check = (await db.fetch_on(conn, TRANSITION_SQL, {"from": report["status"], "to": status}))[0]
            if not check["known"]:
                raise BadInput(f"There is no status {status!r}; see `statuses`.", field="status")
            if not check["allowed"]:
                raise BadInput(f"A report cannot go from {report['status']!r} to {status!r}; see "
                               "`statuses { next }`.", field="status")
            await db.fetch_on(conn, SET_STATUS_SQL, [status, report["id"]])
            await db.fetch_on(conn, EVENT_SQL, [report["id"], "status_changed", report["status"],
                                                status, actor, note])

        return await _officer_change(info, id, comment, change)

    @strawberry.mutation(description="Officer: hand a report to another police unit.")
    async def assign_report(self, info: Info, id: strawberry.ID, police_unit_id: str,
                            comment: str | None = None) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            if not await db.fetch_on(conn, "SELECT 1 FROM core.police_units WHERE id = %s",
                                     [police_unit_id]):
                raise NotFound(f"There is no police unit {police_unit_id!r}.", field="policeUnitId")
            await db.fetch_on(conn, ASSIGN_SQL, [police_unit_id, report["id"]])
            await db.fetch_on(conn, EVENT_SQL, [report["id"], "assigned", None, None, actor,
                                                f"to {police_unit_id}" + (f": {note}" if note else "")])

        return await _officer_change(info, id, comment, change)


OfficerChange = Callable[[AsyncConnection, dict[str, Any], str, str | None], Awaitable[None]]


async def _officer_change(info: Info, report_id: strawberry.ID, comment: str | None,
                          change: OfficerChange) -> Report:
    """One officer's change to one report, in one transaction: the role and the comment checked,
    the report locked and checked to be in the unit's area, the change made (with its event),
    and the report read back."""
    context = info.context
    viewer = context.require(Role.OFFICER)
    note = validation.text(comment, "comment", validation.MAX_COMMENT)
    async with context.runtime.app_pool.connection() as conn:
        report = await _locked(context, conn, _parse_id(report_id))
        await change(conn, report, viewer.actor, note)
        return await _projected(conn, report["id"])


async def _locked(context: Any, conn: AsyncConnection, report_id: uuid.UUID) -> dict[str, Any]:
    """The report row, locked for the change, if the officer's unit handles it."""
    rows = await db.fetch_on(conn, LOCK_SQL, [report_id])
    if not rows:
        raise NotFound("There is no such report.")
    report = rows[0]
    if not await context.may_handle(report["county_code"], report["voivodeship_code"],
                                    report["police_unit_id"]):
        raise Forbidden("This report is outside your police unit's area.")
    return report
