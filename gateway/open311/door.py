"""The Open311 GeoReport v2 door at /open311/v2 (issue 15, point 6; README "Partners and Open311").

- `GET discovery`, `GET services`, `GET services/{code}` (the service definition: the rule that a
  category needs a description, as an attribute), `GET requests`, `GET requests/{id}`,
  `GET tokens/{token}`: anyone; without a partner's API key the public layer only (open.reports
  through the public pool: the cell's centre, the public day, no description, contact or media,
  404 for a report that is not public). With a key, also the partner's own reports.
- `POST requests`: a partner's API key is required (403 without). The report goes the way a
  citizen's does (gateway.graphql.validation, store.reports.submit: the checks, Poland only, the
  tracking token, idempotency with the `idempotency_key` extension), with the partner's kind as
  its source. `media_url` is stored as text and never fetched. Addresses are not supported.
- Every path ends in `.json` or `.xml`; errors are in the specification's error format.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import i18n
from gateway.graphql import validation
from gateway.graphql.errors import BadInput
from gateway.graphql.tracking import derived_token, random_token, token_hash, tracking_key
from gateway.open311.render import Open311Error, document, error, split_format
from gateway.partner_auth import PartnerKeyRejected, PartnerRateLimited, partner_from_request
from gateway.state import Runtime
from store import open311 as store_open311
from store import reports as store_reports
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S
from store.open311 import RequestQuery
from store.partners import Partner
from store.reports import Submission
from store.text import long_number, unfit_character

log = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00Z"   # when this door's endpoints last changed (discovery)
MAX_RESULTS = 1000                   # the specification's suggested page size
DEFAULT_DAYS = 90                    # GET requests without dates: the last 90 days
MAX_DAYS = 366                       # the longest start_date..end_date range
MAX_IDS = 1000
MAX_MEDIA_URL = 2000
TIMEZONE = ZoneInfo("Europe/Warsaw")  # the public day is a Polish day
OPEN311_TERMS = validation.Terms(
    code="service_code", thing="service", items="requests", see="see GET services",
    description_hint=" (see its service definition)",
    swapped_hint=" It would be in Poland with lat and long swapped.")


@dataclass(frozen=True)
class Open311Config:
    publisher: str
    contact_email: str
    tracking_secret: str


def _lang(params: dict[str, str]) -> str:
    """Open311's `locale` (pl, en, en_US, pl-PL ...) chooses the language; Polish by default."""
    return i18n.supported(params.get("locale")) or i18n.DEFAULT_LANGUAGE


def _gettext(lang: str) -> Callable[[str], str]:
    return i18n.translations("open311", lang).gettext


def _checked_text(params: dict[str, str]) -> None:
    """Text no query can take is refused here, before any handler uses it (store/text.py)."""
    for key, value in params.items():
        for what, text in (("parameter name", key), (key, value)):
            if reason := unfit_character(text) or long_number(text):
                raise Open311Error(400, f"The {what} {reason}.")


async def _params(request: Request) -> dict[str, str]:
    """The query string's parameters, and a POST's form fields over them."""
    params = dict(request.query_params)
    if request.method == "POST":
        try:
            form: FormData = await request.form()
        except Exception as failure:   # a broken multipart body: python-multipart's own errors
            raise Open311Error(400, "The body must be application/x-www-form-urlencoded "
                                    "(or multipart/form-data) fields.") from failure
        params |= {key: value for key, value in form.items() if isinstance(value, str)}
    _checked_text(params)
    return params


async def _partner(request: Request) -> Partner | None:
    try:
        return await partner_from_request(request)
    except PartnerKeyRejected as failure:
        raise Open311Error(403, "Invalid api_key: it is unknown or revoked.") from failure
    except PartnerRateLimited as failure:
        raise Open311Error(429, str(failure), {"Retry-After": "60"}) from failure


def _public_day(day: date) -> str:
    """The public day as the specification's date-time: midnight, Polish time (the time of a
    report is never public)."""
    return datetime.combine(day, time(), TIMEZONE).isoformat()


def _request_view(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """One report as Open311's service request: the public layer's fields only."""
    own = row["own"]
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if row["is_closed"] else "open",
        "status_notes": row[f"status_name_{lang}"],
        "service_name": row[f"service_name_{lang}"],
        "service_code": row["category_id"],
        "description": None,
        "agency_responsible": row["agency"],
        "service_notice": None,
        "requested_datetime": (row["requested_at"].astimezone(UTC).isoformat() if own
                               else _public_day(row["occurred_on"])),
        "updated_datetime": row["updated_at"].astimezone(UTC).isoformat() if own else None,
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": round(row["latitude"], 6),
        "long": round(row["longitude"], 6),
        "media_url": None,
    }


def _date(params: dict[str, str], name: str) -> date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time, e.g. "
                                "2026-11-25T00:00:00+01:00.") from None
    return (moment.astimezone(TIMEZONE) if moment.tzinfo else moment).date()


def _list(params: dict[str, str], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None or not value.strip():
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) > MAX_IDS:
        raise Open311Error(400, f"{name} lists more than {MAX_IDS} values.")
    return items


def request_query(params: dict[str, str]) -> RequestQuery:
    """GET requests' parameters, checked (400 with the reason otherwise)."""
    ids = None
    if (raw_ids := _list(params, "service_request_id")) is not None:
        try:
            ids = [uuid.UUID(item) for item in raw_ids]
        except ValueError:
            raise Open311Error(400, "service_request_id must list request ids (UUIDs), "
                                    "comma-delimited.") from None
    statuses = _list(params, "status")
    if statuses is not None and not set(statuses) <= {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed or both (comma-delimited).")
    closed = None if statuses is None or len(set(statuses)) == 2 else statuses[0] == "closed"
    end = _date(params, "end_date") or datetime.now(TIMEZONE).date()
    start = _date(params, "start_date") or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise Open311Error(400, "start_date is after end_date.")
    if end - start > timedelta(days=MAX_DAYS):
        raise Open311Error(400, f"start_date to end_date spans more than {MAX_DAYS} days.")
    return RequestQuery(ids=ids, codes=_list(params, "service_code"), closed=closed, start=start,
                        end=end, limit=MAX_RESULTS)


def _payload_hash(values: dict[str, Any]) -> str:
    canonical = json.dumps({k: v.isoformat() if isinstance(v, datetime) else v
                            for k, v in sorted(values.items())}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _contact(params: dict[str, str]) -> str | None:
    """email, phone, first_name, last_name: the report's private contact, on one line."""
    name = " ".join(part for part in (params.get("first_name", "").strip(),
                                      params.get("last_name", "").strip()) if part)
    parts = [part for part in (name, params.get("email", "").strip(), params.get("phone", "").strip())
             if part]
    return validation.text(", ".join(parts), "contact (first_name, last_name, email, phone)",
                           validation.MAX_CONTACT, single_line=True) if parts else None


def _media_url(params: dict[str, str]) -> str | None:
    """An absolute http(s) URL, kept as text: it is never fetched (no request to it, ever)."""
    value = params.get("media_url", "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if len(value) > MAX_MEDIA_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise Open311Error(400, f"media_url must be an http or https URL of at most {MAX_MEDIA_URL} "
                                "characters.")
    return value


def _coordinate(params: dict[str, str], name: str) -> float:
    try:
        return float(params[name])
    except (KeyError, ValueError):
        raise Open311Error(400, f"{name} must be a number (WGS 84 degrees).") from None


def submission(params: dict[str, str], partner: Partner) -> Submission:
    """POST requests' fields as a report of the partner (400 with the reason otherwise)."""
    code = params.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required: one of GET services.")
    if "lat" not in params or "long" not in params:
        if params.get("address_string") or params.get("address_id"):
            raise Open311Error(400, "address_string and address_id are not supported: send the "
                                    "place as lat and long (WGS 84).")
        raise Open311Error(400, "lat and long are required (WGS 84 degrees).")
    lat, lon = _coordinate(params, "lat"), _coordinate(params, "long")
    description = params.get("description") or params.get("attribute[description]")
    try:
        validation.coordinates(lon, lat)
        return Submission(
            category=code, lon=lon, lat=lat,
            occurred_at=datetime.now(UTC).replace(microsecond=0),
            description=validation.text(description, "description", validation.MAX_DESCRIPTION),
            contact=_contact(params), source=partner.source, partner_id=partner.id,
            media_url=_media_url(params))
    except BadInput as failure:
        raise Open311Error(400, failure.message) from None


class Open311Door:
    """The handlers; `runtime` gives the pools once the application has started."""

    def __init__(self, config: Open311Config, runtime: Callable[[], Runtime],
                 base_url: Callable[[Request], str]) -> None:
        self.config = config
        self.runtime = runtime
        self.base_url = base_url
        self.token_key = tracking_key(config.tracking_secret)

    def routes(self) -> list[Route]:
        def route(path: str, handler: Callable[..., Awaitable[Response]],
                  methods: tuple[str, ...] = ("GET",)) -> Route:
            return Route(path, self._answering(handler), methods=list(methods))

        return [
            route("/discovery.{fmt}", self.discovery),
            route("/services.{fmt}", self.services),
            route("/services/{name}", self.service_definition),
            route("/requests.{fmt}", self.requests, ("GET", "POST")),
            route("/requests/{name}", self.one_request),
            route("/tokens/{name}", self.token),
        ]

    def _answering(self, handler: Callable[..., Awaitable[Response]]
                   ) -> Callable[[Request], Awaitable[Response]]:
        """Runs a handler; every failure is answered in the error format of the path's format."""
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt")
            name = request.path_params.get("name")
            try:
                if name is not None:
                    name, fmt = split_format(name)
                elif fmt not in ("json", "xml"):
                    fmt = "json"
                    raise Open311Error(400, "Add the format to the path: .json or .xml.")
                params = await _params(request)
                return await handler(request, fmt, params, *([name] if name is not None else []))
            except Open311Error as failure:
                return error(fmt or "json", failure)
            except DATABASE_UNAVAILABLE:
                log.warning("open311: the database is unavailable", exc_info=True)
                return error(fmt or "json", Open311Error(
                    503, "The service is unavailable; try again shortly.",
                    {"Retry-After": str(RETRY_AFTER_S)}))
        return endpoint

    async def discovery(self, request: Request, fmt: str, params: dict[str, str]) -> Response:
        base = self.base_url(request)
        return document(fmt, "discovery", {
            "changeset": CHANGESET,
            "contact": f"{self.config.publisher} <{self.config.contact_email}>",
            "key_service": f"API keys are issued to partners by the service's administrators "
                           f"({self.config.contact_email}).",
            "endpoints": [{"specification": SPECIFICATION, "url": f"{base}/open311/v2",
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}],
        })

    async def services(self, request: Request, fmt: str, params: dict[str, str]) -> Response:
        lang = _lang(params)
        rows = await store_open311.services(self.runtime().public_pool)
        return document(fmt, "services", [{
            "service_code": row["id"],
            "service_name": row[f"name_{lang}"],
            "description": row[f"name_{lang}"],
            "metadata": row["description_required"],
            "type": "realtime",
            "keywords": row[f"group_name_{lang}"],
            "group": row[f"group_name_{lang}"],
        } for row in rows])

    async def service_definition(self, request: Request, fmt: str, params: dict[str, str],
                                 code: str) -> Response:
        row = await store_open311.service(self.runtime().public_pool, code)
        if row is None:
            raise Open311Error(404, f"There is no service {code!r}; see GET services.")
        _ = _gettext(_lang(params))
        attributes = [{
            "variable": True, "code": "description", "datatype": "text", "required": True,
            "datatype_description": _("Send it as the description field (or attribute[description])."),
            "order": 1,
            "description": _("What happened? Reports of this category need a description."),
        }] if row["description_required"] else []
        return document(fmt, "service_definition", {"service_code": row["id"], "attributes": attributes})

    async def requests(self, request: Request, fmt: str, params: dict[str, str]) -> Response:
        if request.method == "POST":
            return await self.create(request, fmt, params)
        partner = await _partner(request)
        query = request_query(params)
        runtime = self.runtime()
        rows = await store_open311.public_requests(runtime.public_pool, query)
        if partner is not None:
            own = await store_open311.own_requests(runtime.app_pool, partner.id, query)
            rows = store_open311.merged(rows, own, query.limit)
        lang = _lang(params)
        return document(fmt, "service_requests", [_request_view(row, lang) for row in rows])

    async def one_request(self, request: Request, fmt: str, params: dict[str, str],
                          name: str) -> Response:
        partner = await _partner(request)
        try:
            report_id = uuid.UUID(name)
        except ValueError:
            raise Open311Error(404, "There is no public request with this id.") from None
        today = datetime.now(TIMEZONE).date()
        query = RequestQuery(ids=[report_id], codes=None, closed=None, start=today, end=today, limit=1)
        runtime = self.runtime()
        rows = (await store_open311.own_requests(runtime.app_pool, partner.id, query)
                if partner is not None else [])
        rows = rows or await store_open311.public_requests(runtime.public_pool, query)
        if not rows:
            raise Open311Error(404, "There is no public request with this id.")
        return document(fmt, "service_requests", [_request_view(rows[0], _lang(params))])

    async def token(self, request: Request, fmt: str, params: dict[str, str], token: str) -> Response:
        row = await store_reports.by_token(self.runtime().app_pool, token_hash(token)) if token else None
        if row is None:
            raise Open311Error(404, "There is no request with this token.")
        return document(fmt, "service_requests", [{"service_request_id": str(row["id"]),
                                                   "token": token}])

    async def create(self, request: Request, fmt: str, params: dict[str, str]) -> Response:
        partner = await _partner(request)
        if partner is None:
            raise Open311Error(403, "An api_key is required to create a request: partners get one "
                                    "from the service's administrators.")
        report = submission(params, partner)
        try:
            given = validation.idempotency_key(params.get("idempotency_key") or None)
        except BadInput as failure:
            raise Open311Error(400, failure.message.replace("idempotencyKey", "idempotency_key")) from None
        # A partner's keys are its own: they never meet a citizen's or another partner's.
        key = None if given is None else f"partner-{partner.id}:{given}"
        # Open311 sends no time of the event: it is the first receipt's, so a retry's differs
        # and is left out of the payload it is compared by.
        payload_hash = _payload_hash({k: v for k, v in report.values().items() if k != "occurred_at"})
        token = random_token() if key is None else derived_token(self.token_key, key, payload_hash)
        runtime = self.runtime()
        if key is not None and (stored := await self._acknowledged(key, payload_hash, token)):
            return self._created(fmt, params, stored, token)
        await self._check_in_database(report)
        row = await store_reports.submit(runtime.app_pool, report, key, payload_hash, token_hash(token))
        if row is None:   # the key was taken meanwhile (a concurrent retry)
            if key is None or not (stored := await self._acknowledged(key, payload_hash, token)):
                raise Open311Error(409, "This idempotency_key is being used; try again.")
            return self._created(fmt, params, stored, token)
        return self._created(fmt, params, row["id"], token)

    def _created(self, fmt: str, params: dict[str, str], report_id: Any, token: str) -> Response:
        _ = _gettext(_lang(params))
        return document(fmt, "service_requests", [{
            "service_request_id": str(report_id),
            "service_notice": _("Received: the police will verify the report."),
            "account_id": None,
            "token": token,
        }], status=201)

    async def _acknowledged(self, key: str, payload_hash: str, token: str) -> Any:
        """The id of the report stored under this key (a retry), or None when the key is new."""
        stored = await store_reports.by_idempotency_key(self.runtime().app_pool, key)
        if stored is None:
            return None
        if stored["payload_hash"] != payload_hash:
            raise Open311Error(409, "This idempotency_key was used for a different request; use a "
                                    "new key for a new request.")
        stored_hash = stored["tracking_token_hash"]
        if stored_hash is None or bytes(stored_hash) != token_hash(token):
            raise Open311Error(409, "This request was acknowledged already and its token cannot be "
                                    "shown again.")
        return stored["id"]

    async def _check_in_database(self, report: Submission) -> None:
        """validation.in_database's rules, in Open311's words."""
        check = await store_reports.check_submission(self.runtime().app_pool, report)
        try:
            validation.in_database(check, report.category, report.description, OPEN311_TERMS)
        except BadInput as failure:
            raise Open311Error(400, failure.message) from None
