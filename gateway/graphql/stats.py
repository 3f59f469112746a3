"""Report counts by category, status, area and month (store/stats.py): each bucket, and each
total with `totals: true`, is the true number of public reports it covers, summed from the
unsuppressed counts, and is left out when that number is below k."""

from datetime import date
from enum import Enum
from typing import Annotated

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
    summed_over: list[StatsDimension] = strawberry.field(
        default_factory=list,
        description="The grouped dimensions this row is a total over (their fields are null): "
                    "empty for a bucket; with `totals: true`, e.g. [CATEGORY] for an area's total "
                    "over every category, and every grouped dimension for the overall total.")


@strawberry.type
class StatsQuery:
    @strawberry.field(description="Report counts grouped by the given dimensions. Each count is "
                                  "the true number of public reports in its bucket, left out when "
                                  "below the privacy threshold k (so a total is never a sum of "
                                  "suppressed parts).")
    async def stats(self, info: Info, group_by: list[StatsDimension],
                    filter: StatsFilter | None = None,
                    totals: Annotated[bool, strawberry.argument(
                        description="Also the totals over every subset of the grouped dimensions "
                                    "(per area, per category, ..., overall), each counted from "
                                    "the reports and left out below k on its own.")] = False
                    ) -> list[StatsBucket]:
        f = filter or StatsFilter()
        dims = list(dict.fromkeys(group_by))
        if f.month_from and f.month_to and f.month_from > f.month_to:
            raise BadInput("monthFrom is after monthTo.", argument="filter")
        wanted = store_stats.StatsFilter(
            level=f.level.value, categories=f.categories,
            statuses=status_ids(f.statuses) if f.statuses is not None else None,
            area_code=f.area_code, month_from=f.month_from, month_to=f.month_to)
        rows = await store_stats.counts(info.context.runtime.public_pool, [d.value for d in dims],
                                        wanted, totals=totals)
        return [StatsBucket(category=r["category_id"], status=r["status"], area_code=r["area_code"],
                            area_name=r["area_name"], month=r["month"], count=r["count"],
                            summed_over=[StatsDimension(d) for d in r["summed_over"]])
                for r in rows]
