"""POST /partners/v1/reports: a partner's reports in bulk (issue 15, point 7; README "Bulk ingest").

NDJSON (one report a line) or a JSON array, optionally gzip (Content-Encoding: gzip), up to
partner_bulk_max_items reports. Every item is checked as submitReport checks a report (the same
functions: gateway/graphql/validation.py, store.reports.check_submissions); the valid ones are
written set-based and idempotently by (partner, external id) (store/partner_reports.py); the
answer lists a result per item, in order: `created` or `already_present` with our id, or
`rejected` with reasons naming the fields. A batch as a whole is refused (nothing written) only
when it cannot be read: 400, 413 (too many reports, too large), 415, 422 (empty).

Rate limits: each request counts against the partner's key limit (gateway.partner_auth), and its
reports (items) against partner_bulk_rate_limit, so that a batch of 10,000 weighs what 10,000
single reports weigh; a batch past the item limit gets 429 and nothing is written.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from gateway.bulk_items import BatchError, Item, checked, decode, gunzip, media_type
from gateway.graphql import validation
from gateway.graphql.errors import BadInput
from gateway.partner_auth import PartnerKeyRejected, PartnerRateLimited, partner_from_request
from gateway.rate_limits import rate_limit_storage
from gateway.settings import Settings
from store import partner_reports
from store.errors import RETRY_AFTER_S, is_unavailable
from store.partners import Partner
from store.reports import check_submissions

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it passes max_bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise BatchError(413, f"The body is larger than {max_bytes} bytes; send smaller batches.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BatchError(413, f"The body is larger than {max_bytes} bytes; send smaller batches.")
        chunks.append(chunk)
    return b"".join(chunks)


class BulkDoor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limit = parse(settings.partner_bulk_rate_limit)
        self.limiter = MovingWindowRateLimiter(rate_limit_storage(settings.rate_limit_storage))

    async def handle(self, request: Request) -> Response:
        try:
            partner = await partner_from_request(request)
            if partner is None:
                return _error(401, "Send the partner's API key (Authorization: Bearer <key> or "
                                   "X-Api-Key).", {"WWW-Authenticate": "Bearer"})
            items = await self._read(request)
            if not await self.limiter.hit(self.limit, "partner-bulk", str(partner.id), cost=len(items)):
                return _error(429, f"Too many reports from this partner (limit {self.limit}, counted "
                                   "per report); nothing was written. Try again later.",
                              {"Retry-After": "60"})
            return JSONResponse(await self._ingest(request, partner, items))
        except PartnerKeyRejected as error:
            return _error(401, str(error), {"WWW-Authenticate": "Bearer"})
        except PartnerRateLimited as error:
            return _error(429, str(error), {"Retry-After": "60"})
        except BatchError as error:
            return _error(error.status, error.message)
        except ClientDisconnect:
            return _error(400, "The body was cut short.")
        except Exception as error:
            if is_unavailable(error):
                return _error(503, "The database is unavailable; nothing was lost: send the batch "
                                   "again later.", {"Retry-After": str(RETRY_AFTER_S)})
            raise

    async def _read(self, request: Request) -> list[Item]:
        kind = media_type(request.headers.get("content-type"))
        body = await _body(request, self.settings.partner_bulk_max_bytes)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            body = gunzip(body, self.settings.partner_bulk_max_bytes)
        elif encoding not in ("identity", ""):
            raise BatchError(415, f"Content-Encoding {encoding!r} is not taken; send gzip or none.")
        values = decode(body, kind, self.settings.partner_bulk_max_items)
        return [checked(index, value, why, self.settings.report_max_age_days)
                for index, (value, why) in enumerate(values)]

    async def _ingest(self, request: Request, partner: Partner, items: list[Item]) -> dict[str, Any]:
        pool = request.app.state.runtime.app_pool
        valid = [item for item in items if item.submission is not None]
        checks = await check_submissions(pool, [item.submission for item in valid]) if valid else []
        first: dict[str, Item] = {}   # external id -> the first valid item with it
        for item, check in zip(valid, checks, strict=True):
            assert item.submission is not None and item.external_id is not None
            try:
                validation.in_database(check, item.submission.category, item.submission.description)
            except BadInput as error:
                item.refuse({"categoryId": "category"}.get(error.extensions["field"],
                                                          error.extensions["field"]), error.message)
                continue
            first.setdefault(item.external_id, item)
        written = await partner_reports.write(
            pool, partner.id, partner.source, f"partner:{partner.id}",
            [(external_id, item.submission) for external_id, item in first.items()
             if item.submission is not None])
        results = []
        counts = {"created": 0, "already_present": 0, "rejected": 0}
        for item in items:
            result: dict[str, Any] = {"index": item.index, "external_id": item.external_id}
            if item.submission is None:
                result |= {"result": "rejected",
                           "reasons": [{"field": r.field, "message": r.message} for r in item.reasons]}
            elif first.get(item.external_id) is item and item.external_id in written.created:
                result |= {"result": "created", "id": str(written.created[item.external_id])}
            else:   # there before, or written by an earlier item of this batch
                report_id = written.created.get(item.external_id) or written.present.get(item.external_id)
                result |= {"result": "already_present", "id": str(report_id)}
            counts[result["result"]] += 1
            results.append(result)
        return {**counts, "results": results}


def bulk_reports(settings: Settings) -> Endpoint:
    """The endpoint (gateway/app.py mounts it at /partners/v1/reports, POST)."""
    return BulkDoor(settings).handle
