"""The reporting and verification workflow: citizens submit and follow a report with a
tracking token; officers change its status (KMZB state machine) and hand it between units."""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from limits import parse
from psycopg import AsyncConnection
from strawberry.file_uploads import Upload
from strawberry.types import Info

from gateway.graphql import validation
from gateway.graphql.auth import Role
from gateway.graphql.errors import BadInput, Conflict, Forbidden, NotFound, RateLimited
from gateway.graphql.photos import PhotosUnavailable, cleaned, read_uploads, uploads_digest
from gateway.graphql.reports import Report
from gateway.graphql.tracking import derived_token, random_token, token_hash, tracking_key
from photos.storage import StorageError
from store import reports as store_reports
from store.reports import Submission


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


def _parse_id(value: strawberry.ID) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadInput("id must be a report's UUID.", field="id") from None


async def _rate_limit(info: Info, limit_text: str, name: str, what: str) -> None:
    """Counts one call of `name` for the client; RATE_LIMITED past the limit."""
    context = info.context
    limit = parse(limit_text)
    if not await context.limiter.hit(limit, name, context.client):
        raise RateLimited(f"Too many {what} from this address (limit {limit}); try again later.")


def _checked(info: Info, data: SubmitReportInput) -> Submission:
    """The submission with every check that needs no database (BAD_USER_INPUT otherwise)."""
    settings = info.context.settings
    validation.coordinates(data.longitude, data.latitude)
    occurred = validation.occurred_at(data.occurred_at, settings.report_max_age_days)
    description = validation.text(data.description, "description", validation.MAX_DESCRIPTION)
    return Submission(
        category=data.category_id, lon=data.longitude, lat=data.latitude,
        occurred_at=occurred.astimezone(UTC),
        description=description,
        contact=validation.text(data.contact, "contact", validation.MAX_CONTACT, single_line=True),
    )


async def _check_in_database(info: Info, data: SubmitReportInput, submission: Submission) -> None:
    """The category takes reports and the point is in Poland (BAD_USER_INPUT otherwise)."""
    check = await store_reports.check_submission(info.context.runtime.app_pool, submission)
    validation.in_database(check, data.category_id, submission.description)


async def _acknowledged(info: Info, key: str, payload_hash: str, token: str) -> Report | None:
    """The report already stored under this key (a retry), or None when the key is new.

    A retry gets the same report; its token is the one derived now, which the stored hash
    matches unless the report was stored before tokens were derived or the secret changed: then
    the token cannot be shown again (only its hash is kept), and it is never replaced."""
    stored = await store_reports.by_idempotency_key(info.context.runtime.app_pool, key)
    if stored is None:
        return None
    if stored["payload_hash"] != payload_hash:
        raise Conflict("This idempotencyKey was used for a different report; use a new "
                       "key for a new report.", field="idempotencyKey")
    stored_hash = stored["tracking_token_hash"]
    if stored_hash is None or bytes(stored_hash) != token_hash(token):
        raise Conflict("This report was acknowledged already and its tracking token cannot be "
                       "shown again.", field="idempotencyKey")
    row = await store_reports.projected_report(info.context.runtime.app_pool, stored["id"])
    return Report.from_row(row)


def _payload_hash(values: dict[str, Any]) -> str:
    canonical = json.dumps({k: v.isoformat() if isinstance(v, datetime) else v
                            for k, v in sorted(values.items())}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


EXPECTED_STATUS = ("The status the caller saw (optional): when the report has another one now, "
                   "because someone changed it meanwhile, nothing is done and the answer is "
                   "CONFLICT with `currentStatus`.")

ExpectedStatus = Annotated[str | None, strawberry.argument(description=EXPECTED_STATUS)]


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="The report a tracking token belongs to (status and history).")
    async def report_by_token(self, info: Info, token: str) -> Report | None:
        await _rate_limit(info, info.context.settings.tracking_rate_limit, "tracking",
                          "tracking-token requests")
        row = await store_reports.by_token(info.context.runtime.app_pool, token_hash(token))
        return Report.from_row(row, owner_view=True) if row else None


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Report a threat. Send an idempotencyKey (a random UUID) "
                                     "so that a retried request never makes a second report and "
                                     "gets the same trackingToken (and is never RATE_LIMITED). "
                                     "`photos`: up to 3 JPEG, PNG or WebP files of at most 5 MB, "
                                     "sent as a multipart request (docs/photos.md); a refused "
                                     "photo refuses the whole report.")
    async def submit_report(self, info: Info, input: SubmitReportInput,
                            idempotency_key: str | None = None,
                            photos: list[Upload] | None = None) -> SubmitReportPayload | None:
        key = validation.idempotency_key(idempotency_key)
        submission = _checked(info, input)
        settings = info.context.settings
        desk = info.context.runtime.photos
        assert desk is not None   # set by the lifespan
        contents = await read_uploads(photos, settings.photo_max_count, settings.photo_max_bytes)
        values = submission.values()
        if contents:   # without photos the payload (and so a retry's token) is as it always was
            values |= {"photos": uploads_digest(contents)}
        payload_hash = _payload_hash(values)
        token = (random_token() if key is None else derived_token(
            tracking_key(settings.tracking_secret or settings.jwt_secret), key, payload_hash))
        # A retry of an acknowledged submission is answered before anything is counted.
        if key is not None and (report := await _acknowledged(info, key, payload_hash, token)):
            return SubmitReportPayload(report=report, tracking_token=token)
        # Photos are decoded and checked before the report rate limit counts: a refused photo
        # leaves the citizen free to send again at once.
        clean_photos = []
        if contents:   # decoding costs CPU: its own, looser, limit counts every try
            await _rate_limit(info, settings.photo_rate_limit, "photos", "reports with photos")
            clean_photos = await cleaned(desk, contents)
        await _rate_limit(info, settings.submit_rate_limit, "submitReport", "reports")
        await _check_in_database(info, input, submission)
        try:
            row = await desk.submit(info.context.runtime.app_pool, submission, key, payload_hash,
                                    token_hash(token), clean_photos)
        except StorageError as error:
            raise PhotosUnavailable("The photo storage is unavailable; nothing was stored. "
                                          "Try again later.") from error
        if row is None:   # the key was taken meanwhile (a concurrent submission)
            if key is None or not (report := await _acknowledged(info, key, payload_hash, token)):
                raise Conflict("This idempotencyKey is being used; try again.", field="idempotencyKey")
            return SubmitReportPayload(report=report, tracking_token=token)
        return SubmitReportPayload(report=Report.from_row(row), tracking_token=token)

    @strawberry.mutation(description="The citizen adds information to an open report.")
    async def add_report_information(self, info: Info, token: str, text: str) -> Report | None:
        await _rate_limit(info, info.context.settings.tracking_rate_limit, "tracking",
                          "tracking-token requests")
        comment = validation.text(text, "text", validation.MAX_COMMENT)
        if comment is None:
            raise BadInput("text is empty.", field="text")
        async with info.context.runtime.app_pool.connection() as conn:
            report = await store_reports.lock_by_token(conn, token_hash(token))
            if report is None:
                raise NotFound("No report has this tracking token.")
            if report["closed_at"] is not None:
                raise BadInput("The report is closed: information can no longer be added.")
            await store_reports.add_event(conn, report["id"], "information_added", None, None,
                                          "citizen", comment)
            return Report.from_row(await store_reports.projected(conn, report["id"]), owner_view=True)

    @strawberry.mutation(description="Officer: open a report. The first opening records that it "
                                      "was read, and moves a new report to under verification.")
    async def open_report(self, info: Info, id: strawberry.ID) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            await store_reports.open_report(conn, report, actor)

        return await _officer_change(info, id, None, change)

    @strawberry.mutation(description="Officer: move a report along the verification workflow (a "
                                      "new report is opened first). Forwarding outside the police "
                                      "names the body: `forwardTo`, one of `forwardBodies`.")
    async def set_report_status(self, info: Info, id: strawberry.ID, status: str,
                                comment: str | None = None, forward_to: str | None = None,
                                expected_status: ExpectedStatus = None) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            # A new report is opened by the same action: the verdict is checked from where
            # opening takes it.
            start = store_reports.OPENED_STATUS if report["is_new"] else report["status"]
            if report["is_new"] and status == start:
                await store_reports.open_report(conn, report, actor)
                return
            check = await store_reports.transition(conn, start, status, forward_to)
            if not check["known"]:
                raise BadInput(f"There is no status {status!r}; see `statuses`.", field="status")
            if not check["allowed"]:
                raise BadInput(f"A report cannot go from {report['status']!r} to {status!r}; see "
                               "`statuses { next }`.", field="status")
            if check["forwarding"] and not check["body_known"]:
                raise BadInput(f"{status!r} hands the report outside the police: name the body in "
                               "forwardTo, one of `forwardBodies`.", field="forwardTo")
            if not check["forwarding"] and forward_to is not None:
                raise BadInput(f"forwardTo is only for a status that hands the report outside the "
                               f"police, not {status!r}.", field="forwardTo")
            if report["is_new"]:
                await store_reports.open_report(conn, report, actor, then=status, forward_to=forward_to)
                await store_reports.status_event(conn, report["id"], start, status, actor, note,
                                                 forward_to)
            else:
                await store_reports.open_report(conn, report, actor)
                await store_reports.set_status(conn, report["id"], report["status"], status, actor,
                                               note, forward_to)

        return await _officer_change(info, id, comment, change, expected_status)

    @strawberry.mutation(description="Officer: mark a report abusive (false, offensive, spam): it "
                                      "leaves the public layer and is never published.")
    async def mark_report_abusive(self, info: Info, id: strawberry.ID, comment: str | None = None,
                                  expected_status: ExpectedStatus = None) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            if not await store_reports.mark_abusive(conn, report["id"], actor, note):
                raise BadInput("The report is marked abusive already.", field="id")

        return await _officer_change(info, id, comment, change, expected_status)

    @strawberry.mutation(description="Officer: an internal note on a report (in its history for "
                                      "staff; never shown to the citizen or the public).")
    async def add_report_note(self, info: Info, id: strawberry.ID, text: str) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            if not note:
                raise BadInput("text is empty.", field="text")
            await store_reports.add_note(conn, report["id"], actor, note)

        return await _officer_change(info, id, text, change)

    @strawberry.mutation(description="Officer: hand a report to another police unit.")
    async def assign_report(self, info: Info, id: strawberry.ID, police_unit_id: str,
                            comment: str | None = None,
                            expected_status: ExpectedStatus = None) -> Report | None:
        async def change(conn: AsyncConnection, report: dict[str, Any], actor: str, note: str | None) -> None:
            if not await store_reports.police_unit_exists(conn, police_unit_id):
                raise NotFound(f"There is no police unit {police_unit_id!r}.", field="policeUnitId")
            await store_reports.assign(conn, report["id"], police_unit_id, actor, note)

        return await _officer_change(info, id, comment, change, expected_status)


OfficerChange = Callable[[AsyncConnection, dict[str, Any], str, str | None], Awaitable[None]]


async def _officer_change(info: Info, report_id: strawberry.ID, comment: str | None,
                          change: OfficerChange, expected_status: str | None = None) -> Report:
    """One officer's change to one report, in one transaction: the role and the comment checked,
    the report locked and checked to be in the unit's area (and, when the caller says which
    status it saw, still in that status: else CONFLICT, nothing changed), the change made (with
    its event), and the report read back."""
    context = info.context
    viewer = context.require(Role.OFFICER)
    note = validation.text(comment, "comment", validation.MAX_COMMENT)
    async with context.runtime.app_pool.connection() as conn:
        report = await _locked(context, conn, _parse_id(report_id), viewer.unit)
        if expected_status is not None and report["status"] != expected_status:
            raise Conflict(f"The report's status is {report['status']!r} now, not {expected_status!r}: "
                           "someone changed it meanwhile. Read it again and decide.",
                           field="expectedStatus", currentStatus=report["status"])
        await change(conn, report, viewer.actor, note)
        return Report.from_row(await store_reports.projected(conn, report["id"]))


async def _locked(context: Any, conn: AsyncConnection, report_id: uuid.UUID,
                  unit_id: str) -> dict[str, Any]:
    """The report row, locked for the change, if the officer's unit handles it."""
    report = await store_reports.lock_for_officer(conn, report_id, unit_id)
    if report is None:
        raise NotFound("There is no such report.")
    await context.officer_unit()   # a token whose unit does not exist is refused
    if not report["handled"]:
        raise Forbidden("This report is outside your police unit's area.")
    return report
