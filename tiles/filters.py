"""The optional tile filters (categories, statuses, from, to): parsed, checked, and keyed. And the
optional police statistics layers (issue 15): `stat=KIND` adds a choropleth of the areas by that
kind of police statistic (over the months of from/to), `roads=true` the road sections' lines."""

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from starlette.datastructures import QueryParams

from tiles.errors import BadTileRequest

FILTER_PARAMS = ("categories", "statuses", "from", "to", "stat", "roads")


@dataclass(frozen=True)
class TileFilters:
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    stat: str | None = None     # a kind of police statistic: the police_statistics layer
    roads: bool = False         # the road_sections layer

    @property
    def empty(self) -> bool:
        """No filter of the reports (the statistics layers do not filter them)."""
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
        if self.stat:
            items.append(("stat", self.stat))
        if self.roads:
            items.append(("roads", "true"))
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


def _stat(params: QueryParams, kinds: frozenset[str]) -> str | None:
    stat = (params.get("stat") or "").strip()
    if stat and stat not in kinds:
        raise BadTileRequest(f"unknown stat: {stat[:40]}; known: {', '.join(sorted(kinds))}")
    return stat or None


def _flag(params: QueryParams, name: str) -> bool:
    text = (params.get(name) or "").strip().lower()
    if text not in ("", "true", "false", "1", "0"):
        raise BadTileRequest(f"{name} must be true or false, got {text[:40]!r}")
    return text in ("true", "1")


def parse_filters(params: QueryParams, categories: frozenset[str], statuses: frozenset[str],
                  kinds: frozenset[str] = frozenset()) -> TileFilters:
    filters = TileFilters(_ids(params, "categories", categories), _ids(params, "statuses", statuses),
                          _date(params, "from"), _date(params, "to"), _stat(params, kinds),
                          _flag(params, "roads"))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadTileRequest("from must not be after to")
    return filters
