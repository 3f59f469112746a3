"""Checks on what citizens send: each failure is a BAD_USER_INPUT naming the field."""

import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.graphql.errors import BadInput

MAX_DESCRIPTION = 4000
MAX_CONTACT = 500
MAX_COMMENT = 4000
MAX_IDEMPOTENCY_KEY = 200
CLOCK_SKEW = timedelta(minutes=5)
ALLOWED_CONTROLS = {"\n", "\t", "\r"}


def text(value: str | None, field: str, limit: int, *, single_line: bool = False) -> str | None:
    """Trimmed text within its length, free of control characters; empty becomes None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise BadInput(f"{field} is {len(value)} characters long; the limit is {limit}.", field=field)
    allowed = set() if single_line else ALLOWED_CONTROLS
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            raise BadInput(f"{field} contains a control character (U+{ord(ch):04X}).", field=field)
    return value


def coordinates(longitude: float, latitude: float) -> None:
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        raise BadInput("longitude and latitude must be finite numbers.", field="longitude")
    if not -180 <= longitude <= 180:
        raise BadInput("longitude must be between -180 and 180 (degrees, EPSG:4326).", field="longitude")
    if not -90 <= latitude <= 90:
        hint = " Are longitude and latitude swapped?" if -90 <= longitude <= 90 else ""
        raise BadInput(f"latitude must be between -90 and 90 (degrees, EPSG:4326).{hint}",
                       field="latitude")


def occurred_at(value: datetime, max_age_days: int, now: datetime | None = None) -> datetime:
    if value.tzinfo is None:
        raise BadInput("occurredAt needs a time zone offset, e.g. 2026-11-25T18:30:00+01:00.",
                       field="occurredAt")
    now = now or datetime.now(UTC)
    if value > now + CLOCK_SKEW:
        raise BadInput("occurredAt is in the future.", field="occurredAt")
    if value < now - timedelta(days=max_age_days):
        raise BadInput(f"occurredAt is more than {max_age_days} days ago; older events are not "
                       "taken through this form.", field="occurredAt")
    return value


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not value or len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise BadInput(f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters "
                       "(a UUID is a good choice).", field="idempotencyKey")
    return value


@dataclass(frozen=True)
class Terms:
    """How a door names what the database check speaks of, so that one set of rules answers in
    each door's words (GraphQL's categories, Open311's services)."""
    code: str          # the parameter naming the category
    thing: str         # what a category is called
    items: str         # what a report is called
    see: str           # where the list of categories is
    description_hint: str
    swapped_hint: str


GRAPHQL_TERMS = Terms(
    code="category", thing="category", items="reports", see="see `categories`",
    description_hint=" of what happened",
    swapped_hint=" The point would be in Poland with longitude and latitude swapped: send longitude "
                 "(about 14 to 24) and latitude (about 49 to 55).")


def in_database(check: dict, category: str, description: str | None, terms: Terms = GRAPHQL_TERMS
                ) -> None:
    """The rules on a submission's database check (store.reports.check_submissions): the
    category takes reports and, if it needs one, there is a description; the point is in Poland.
    Shared by submitReport, the partners' bulk door (gateway/partner_bulk.py) and Open311."""
    if check["category_active"] is None:
        raise BadInput(f"There is no {terms.code} {category!r}; {terms.see}.", field="categoryId")
    if not check["category_active"]:
        raise BadInput(f"The {terms.thing} {category!r} no longer takes {terms.items}.",
                       field="categoryId")
    if check["description_required"] and not description:
        raise BadInput(f"{terms.items.capitalize()} of the {terms.thing} {category!r} need a "
                       f"description{terms.description_hint}.", field="description")
    if not check["inside"]:
        hint = terms.swapped_hint if check["swapped"] else ""
        raise BadInput(f"The point is outside Poland.{hint}", field="longitude")
