"""The public page's arguments read straight from graphql-core's coerced values, for the page
written by PostgreSQL (gateway.graphql.sql_page).

strawberry's generic converter (`convert_arguments`) walks the argument types for every request:
it resolves each input field's annotation, converts names and builds the `ReportFilter` and
`BBox` inputs, ~0.2 ms of CPU of a request whose whole fixed cost is ~2.5 ms (bench/RESULTS.md,
branch `gqlfix16`). The types of `reports`' arguments are fixed, and graphql-core has already
coerced and checked them against the schema (defaults filled in, ints made floats, enums made
`ReportOrder`), so what is left is to check them as the resolver does and turn them into the
store's plain values.

Anything not exactly as expected (a key this module does not know, a value of another type: the
schema changed under it) is `Unsupported`, and so is what the resolver would refuse or check with
the database (`first` out of range, the `source` filter): the ordinary path then answers it, with
its own errors. A bbox turned around and a bad cursor raise the resolver's own BadInput, which
sql_page also leaves to the ordinary path.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.graphql.precompleted import Unsupported
from gateway.graphql.reports import MAX_PAGE, ReportOrder, checked_bbox, decode_cursor, status_ids
from store import reports as store_reports

# The filter's input fields by their GraphQL names (ReportFilter in gateway.graphql.reports).
FILTER_FIELDS = frozenset({"bbox", "categories", "statuses", "occurredFrom", "occurredTo",
                           "areaCode", "source"})
ARGUMENTS = frozenset({"filter", "first", "after", "orderBy"})
BBOX_FIELDS = ("west", "south", "east", "north")


@dataclass(frozen=True)
class PageArguments:
    """What the store's page needs from `reports(filter, first, after, orderBy)`."""
    filter: store_reports.ReportFilter | None
    first: int
    newest_first: bool
    cursor: tuple[date, Any] | None


def page_arguments(values: dict[str, Any]) -> PageArguments:
    """The page's arguments from graphql-core's `get_argument_values` (GraphQL names)."""
    if not values.keys() <= ARGUMENTS:
        raise Unsupported
    first, after, order = values.get("first"), values.get("after"), values.get("orderBy")
    if (type(first) is not int or not 0 <= first <= MAX_PAGE
            or not isinstance(order, ReportOrder) or not isinstance(after, str | None)):
        raise Unsupported   # the resolver refuses these (or a default changed)
    return PageArguments(filter=_store_filter(values.get("filter")), first=first,
                         newest_first=order is ReportOrder.OCCURRED_ON_DESC,
                         cursor=decode_cursor(after, order) if after is not None else None)


def _store_filter(f: Any) -> store_reports.ReportFilter | None:
    """gateway.graphql.reports.store_filter without the source (a private column: the ordinary
    path answers it, with its checks and errors)."""
    if f is None:
        return None
    if not isinstance(f, dict) or not f.keys() <= FILTER_FIELDS or f.get("source") is not None:
        raise Unsupported
    bbox = f.get("bbox")
    categories, statuses = _strings(f.get("categories")), _strings(f.get("statuses"))
    occurred_from, occurred_to, area_code = f.get("occurredFrom"), f.get("occurredTo"), f.get("areaCode")
    if (not isinstance(occurred_from, date | None) or not isinstance(occurred_to, date | None)
            or not isinstance(area_code, str | None)):
        raise Unsupported
    return store_reports.ReportFilter(
        bbox=_bbox(bbox) if bbox is not None else None,
        categories=categories, statuses=status_ids(statuses) if statuses is not None else None,
        occurred_from=occurred_from, occurred_to=occurred_to, area_code=area_code)


def _bbox(b: Any) -> store_reports.BBox:
    if not isinstance(b, dict) or b.keys() != set(BBOX_FIELDS):
        raise Unsupported
    values = [b[name] for name in BBOX_FIELDS]
    if not all(type(v) is float for v in values):
        raise Unsupported
    return checked_bbox(*values)


def _strings(items: Any) -> list[str] | None:
    """A list of strings as its own copy (graphql-core hands every request the same default
    list), or None."""
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise Unsupported
    return list(items)


__all__ = ["PageArguments", "page_arguments"]
