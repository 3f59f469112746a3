"""Statistics from the anonymized aggregates (open.area_statistics): cells below k are absent
there, so every sum here is a sum of published counts and tells nothing more than they do."""

from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from gateway.graphql.categories import AreaLevel
from gateway.graphql.errors import BadInput
from gateway.graphql.reports import status_ids
from store import stats as store_stats


@strawberry.enum
class StatsDimension(Enum):
    CATEGORY = "category_id"
    STATUS = "status"
    AREA = "area_code"
    MONTH = "month"


@strawberry.input
class StatsFilter:
    categories: list[str] | None = None
    statuses: list[str] | None = None
    area_code: str | None = strawberry.field(default=None,
                                             description="This area and the counties in it.")
    level: AreaLevel = strawberry.field(default=AreaLevel.VOIVODESHIP,
                                        description="Areas to count in (each report once per level).")
    month_from: date | None = None
    month_to: date | None = None


@strawberry.type
class StatsBucket:
    category: str | None
    status: str | None
    area_code: str | None
    area_name: str | None
    month: date | None
    count: int


@strawberry.type
class StatsQuery:
    @strawberry.field(description="Report counts grouped by the given dimensions (small counts "
                                  "are suppressed before summing, as in every public layer).")
    async def stats(self, info: Info, group_by: list[StatsDimension],
                    filter: StatsFilter | None = None) -> list[StatsBucket]:
        f = filter or StatsFilter()
        dims = list(dict.fromkeys(group_by))
        if f.month_from and f.month_to and f.month_from > f.month_to:
            raise BadInput("monthFrom is after monthTo.", argument="filter")
        wanted = store_stats.StatsFilter(
            level=f.level.value, categories=f.categories,
            statuses=status_ids(f.statuses) if f.statuses is not None else None,
            area_code=f.area_code, month_from=f.month_from, month_to=f.month_to)
        rows = await store_stats.counts(info.context.runtime.public_pool, [d.value for d in dims],
                                        wanted)
        return [StatsBucket(category=r.get("category_id"), status=r.get("status"),
                            area_code=r.get("area_code"), area_name=r.get("area_name"),
                            month=r.get("month"), count=r["count"])
                for r in rows if r["count"] is not None]
