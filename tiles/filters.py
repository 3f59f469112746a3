"""The optional tile filters (categories, statuses, from, to): parsed, checked, and keyed."""

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from starlette.datastructures import QueryParams

from tiles.errors import BadTileRequest

FILTER_PARAMS = ("categories", "statuses", "from", "to")


@dataclass(frozen=True)
class TileFilters:
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.categories or self.statuses or self.date_from or self.date_to)

    @cached_property
    def key(self) -> str:
        """Canonical text of the filters: equal filters give equal keys whatever the URL order."""
        return "&".join(f"{name}={value}" for name, value in self.query_items())

    @cached_property
    def digest(self) -> str:
        return hashlib.blake2s(self.key.encode(), digest_size=6).hexdigest() if self.key else "all"

    def query_items(self) -> list[tuple[str, str]]:
        items = []
        if self.categories:
            items.append(("categories", ",".join(self.categories)))
        if self.statuses:
            items.append(("statuses", ",".join(self.statuses)))
        if self.date_from:
            items.append(("from", self.date_from.isoformat()))
        if self.date_to:
            items.append(("to", self.date_to.isoformat()))
        return items


def _ids(params: QueryParams, name: str, known: frozenset[str]) -> tuple[str, ...]:
    values = [v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip()]
    unknown = sorted(set(values) - known)
    if unknown:
        raise BadTileRequest(f"unknown {name}: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return tuple(sorted(set(values)))


def _date(params: QueryParams, name: str) -> date | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadTileRequest(f"{name} must be a date YYYY-MM-DD, got {text!r}") from None


def parse_filters(params: QueryParams, categories: frozenset[str], statuses: frozenset[str]
                  ) -> TileFilters:
    filters = TileFilters(_ids(params, "categories", categories), _ids(params, "statuses", statuses),
                          _date(params, "from"), _date(params, "to"))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadTileRequest("from must not be after to")
    return filters
