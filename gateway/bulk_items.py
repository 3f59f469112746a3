"""The partners' bulk batch (POST /partners/v1/reports) read and checked item by item, with no
database: the body (NDJSON or a JSON array, optionally gzip) into items, each item into a
Submission with its external id or into the reasons it is refused, each naming its field.

The rules are submitReport's own (gateway/graphql/validation.py), applied here through the same
functions; their GraphQL field names are given the bulk format's names."""

import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.graphql import validation
from gateway.graphql.errors import BadInput
from store.reports import Submission
from store.text import unfit_character

NDJSON = "application/x-ndjson"
JSON = "application/json"
FIELDS = ("external_id", "category", "longitude", "latitude", "occurred_at", "description", "contact")
REQUIRED = ("external_id", "category", "longitude", "latitude", "occurred_at")
MAX_EXTERNAL_ID = 200
# The GraphQL names validation.py reports, in the bulk format's words.
_NAMES = {"categoryId": "category", "occurredAt": "occurred_at"}


class BatchError(Exception):
    """The batch as a whole cannot be taken (nothing is written): an HTTP status and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Reason:
    field: str
    message: str


@dataclass
class Item:
    """One item of a batch: its place, the external id if one could be read, and either the
    checked submission or the reasons it was refused."""
    index: int
    external_id: str | None = None
    submission: Submission | None = None
    reasons: list[Reason] = field(default_factory=list)

    def refuse(self, field_name: str, message: str) -> None:
        self.submission = None
        self.reasons.append(Reason(field_name, message))

    def reasons_for(self, field_name: str) -> list[Reason]:
        return [reason for reason in self.reasons if reason.field == field_name]


def media_type(content_type: str | None) -> str:
    """NDJSON or JSON from a Content-Type header; 415 for anything else."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in (NDJSON, "application/jsonl", "application/jsonlines"):
        return NDJSON
    if kind == JSON:
        return JSON
    raise BatchError(415, f"Send the batch as {NDJSON} (one report a line) or {JSON} (an array "
                          f"of reports), not {kind or 'no Content-Type'!r}.")


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """A gzip body decoded, refused (413) as soon as it grows past max_bytes (a gzip bomb never
    fills memory), 400 when it is not gzip."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decoder.decompress(body, max_bytes + 1)
        if len(data) > max_bytes or decoder.unconsumed_tail:
            raise BatchError(413, f"The batch is larger than {max_bytes} bytes once decoded; "
                                  "send it in smaller requests.")
        if not decoder.eof:
            raise BatchError(400, "The gzip body ends early.")
    except zlib.error as error:
        raise BatchError(400, f"The body is not valid gzip ({error}).") from None
    return data


def decode(body: bytes, kind: str, max_items: int) -> list[tuple[Any, str | None]]:
    """The batch's items as decoded JSON values, each with why it could not be decoded (a line of
    NDJSON that is not JSON is one refused item; a JSON array that is not JSON refuses all)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BatchError(400, f"The batch is not UTF-8 (byte {error.start}).") from None
    if kind == JSON:
        try:
            values = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise BatchError(400, f"The body is not JSON: {error}.") from None
        if not isinstance(values, list):
            raise BatchError(400, "A JSON batch is an array of reports.")
        _count(len(values), max_items)
        return [(value, None) for value in values]
    lines = [line for line in text.splitlines() if line.strip()]
    _count(len(lines), max_items)
    items: list[tuple[Any, str | None]] = []
    for line in lines:
        try:
            items.append((json.loads(line), None))
        except (ValueError, RecursionError) as error:
            items.append((None, f"This line is not JSON: {error}."))
    return items


def _count(count: int, max_items: int) -> None:
    if count == 0:
        raise BatchError(422, "The batch has no reports.")
    if count > max_items:
        raise BatchError(413, f"The batch has {count} reports; the limit is {max_items} a request: "
                              "send it in smaller requests.")


def checked(index: int, value: Any, decode_error: str | None, max_age_days: int,
            now: datetime | None = None) -> Item:
    """One item checked as submitReport checks a report, every field (all reasons at once)."""
    item = Item(index)
    if decode_error is not None:
        item.refuse("(item)", decode_error)
        return item
    if not isinstance(value, dict):
        item.refuse("(item)", "An item is a JSON object with external_id, category, longitude, "
                              "latitude, occurred_at and optionally description and contact.")
        return item
    for key in value:
        if key not in FIELDS:
            # echoed as the field's name only when it can be written back (no NUL, no lone surrogate)
            name = key[:100] if unfit_character(key) is None else "(unknown field)"
            item.refuse(name, f"Unknown field; the fields are {', '.join(FIELDS)}.")
    for key in REQUIRED:
        if value.get(key) is None:
            item.refuse(key, "This field is required.")
    for key in ("external_id", "category", "occurred_at", "description", "contact"):
        found = value.get(key)
        if found is not None and not isinstance(found, str):
            item.refuse(key, "This field is text (a JSON string).")
        elif isinstance(found, str) and (why := unfit_character(found)):
            item.refuse(key, f"This field {why}.")
    for key in ("longitude", "latitude"):
        found = value.get(key)
        if found is not None and (isinstance(found, bool) or not isinstance(found, int | float)):
            item.refuse(key, "This field is a number (degrees, EPSG:4326).")
    external_id = value.get("external_id")
    if isinstance(external_id, str) and not item.reasons_for("external_id"):
        external_id = external_id.strip()
        if not 1 <= len(external_id) <= MAX_EXTERNAL_ID or not external_id.isprintable():
            item.refuse("external_id", f"external_id is 1 to {MAX_EXTERNAL_ID} printable characters.")
        else:
            item.external_id = external_id
    if item.reasons:
        return item
    return _validated(item, value, max_age_days, now)


def _validated(item: Item, value: dict[str, Any], max_age_days: int, now: datetime | None) -> Item:
    """The typed fields through submitReport's own checks (validation.py)."""
    lon, lat = float(value["longitude"]), float(value["latitude"])
    occurred: datetime | None = None
    checks = {
        "coordinates": lambda: validation.coordinates(lon, lat),
        "description": lambda: validation.text(value.get("description"), "description",
                                               validation.MAX_DESCRIPTION),
        "contact": lambda: validation.text(value.get("contact"), "contact", validation.MAX_CONTACT,
                                           single_line=True),
    }
    results: dict[str, Any] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except BadInput as error:
            _refuse(item, error)
    try:
        occurred = validation.occurred_at(_datetime(value["occurred_at"]), max_age_days, now)
    except BadInput as error:
        _refuse(item, error)
    if item.reasons or occurred is None:
        return item
    item.submission = Submission(category=value["category"].strip(), lon=lon, lat=lat,
                                 occurred_at=occurred.astimezone(UTC),
                                 description=results["description"], contact=results["contact"])
    return item


def _datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput("occurred_at is an ISO 8601 time with its offset, e.g. "
                       "2026-11-25T18:30:00+01:00.", field="occurred_at") from None
    return value


def _refuse(item: Item, error: BadInput) -> None:
    name = (error.extensions or {}).get("field") or "(item)"
    message = error.message
    for graphql_name, bulk_name in _NAMES.items():
        message = message.replace(graphql_name, bulk_name)
    item.refuse(_NAMES.get(name, name), message)
