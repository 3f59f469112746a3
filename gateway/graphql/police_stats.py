"""Police statistics (issue 15, pillar 1): counts per kind, area and month with rates per
100,000 residents, the dangerous road sections as GeoJSON, and one area's citizens' reports
beside the police's figures. Open data, from `open` (store/sql/90_police_stats.sql): counts from
1 to k-1 are left out."""

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.graphql.categories import AreaLevel
from gateway.graphql.errors import BadInput
from store import police_stats as store_police_stats

MAX_ROWS = 10000


@strawberry.type(description="A kind of police statistic (config/statistic_kinds.yml).")
class StatisticKind:
    id: strawberry.ID
    group_id: str
    name_pl: str
    name_en: str
    since: date | None = strawberry.field(description="The first month the police report it, if later.")


@strawberry.type(description="The police's count of one kind in one area and month.")
class PoliceStatistic:
    area_code: str
    area_name: str
    level: str
    kind: str
    month: date
    count: int = strawberry.field(description="0, or at least k (smaller counts are left out).")
    residents: int | None = strawberry.field(description="The area's residents (GUS), if imported.")
    rate_per_100k: float | None = strawberry.field(description="count per 100,000 residents.")


@strawberry.type(description="A road section with its incidents over a period (at least k incidents).")
class RoadSection:
    id: strawberry.ID
    road: str
    km_from: float
    km_to: float
    period_from: date
    period_to: date = strawberry.field(description="The period's last month.")
    incidents: int
    deaths: int | None = strawberry.field(description="null when from 1 to k-1.")
    injuries: int | None = strawberry.field(description="null when from 1 to k-1.")
    length_km: float
    geometry: JSON = strawberry.field(description="The line as a GeoJSON geometry (EPSG:4326).")


@strawberry.type(description="One subject of a comparison: a report category or a statistic kind.")
class ComparisonItem:
    subject: str = strawberry.field(description="The category id (citizens) or the kind (police).")
    name_pl: str | None
    name_en: str | None
    count: int = strawberry.field(description="The sum of the published monthly figures.")


@strawberry.type(description="For one area and period, side by side: citizens' public reports per "
                             "category and the police's statistics per kind.")
class AreaComparison:
    area_code: str
    area_name: str
    level: str
    month_from: date
    month_to: date
    citizens: list[ComparisonItem]
    police: list[ComparisonItem]


def _first_of_month(value: date | None) -> date | None:
    return value.replace(day=1) if value else None


def _months(month_from: date | None, month_to: date | None) -> tuple[date | None, date | None]:
    start, end = _first_of_month(month_from), _first_of_month(month_to)
    if start and end and start > end:
        raise BadInput("monthFrom is after monthTo.", argument="monthFrom")
    return start, end


def _limit(first: int) -> int:
    if not 1 <= first <= MAX_ROWS:
        raise BadInput(f"first must be from 1 to {MAX_ROWS}.", argument="first")
    return first


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


@strawberry.type
class PoliceStatsQuery:
    @strawberry.field(description="The kinds of police statistics.")
    async def statistic_kinds(self, info: Info) -> list[StatisticKind]:
        rows = await store_police_stats.kinds(info.context.runtime.public_pool)
        return [StatisticKind(id=row["id"], group_id=row["group_id"], name_pl=row["name_pl"],
                              name_en=row["name_en"], since=row["since"]) for row in rows]

    @strawberry.field(description="Police statistics by kind, area and month (counts from 1 to k-1 "
                                  "left out), with rates per 100,000 residents.")
    async def police_statistics(self, info: Info, kinds: list[str] | None = None,
                                area_code: str | None = None, level: AreaLevel | None = None,
                                month_from: date | None = None, month_to: date | None = None,
                                first: int = 1000) -> list[PoliceStatistic]:
        start, end = _months(month_from, month_to)
        rows = await store_police_stats.statistics(
            info.context.runtime.public_pool,
            store_police_stats.StatisticsFilter(kinds=kinds, area=area_code,
                                                level=level.value if level else None,
                                                month_from=start, month_to=end, limit=_limit(first)))
        return [PoliceStatistic(**{**row, "rate_per_100k": _number(row["rate_per_100k"])}) for row in rows]

    @strawberry.field(description="Road sections by incidents (most first), with their lines as GeoJSON.")
    async def road_sections(self, info: Info, road: str | None = None, min_incidents: int | None = None,
                            month_from: date | None = None, month_to: date | None = None,
                            first: int = 1000) -> list[RoadSection]:
        start, end = _months(month_from, month_to)
        rows = await store_police_stats.road_sections(
            info.context.runtime.public_pool,
            store_police_stats.RoadSectionsFilter(road=road, min_incidents=min_incidents, month_from=start,
                                                  month_to=end, limit=_limit(first)))
        return [RoadSection(**{**row, "id": strawberry.ID(str(row["id"])), "km_from": float(row["km_from"]),
                               "km_to": float(row["km_to"]), "length_km": float(row["length_km"])})
                for row in rows]

    @strawberry.field(description="For one area and period (months, both ends included), citizens' "
                                  "reports per category next to police statistics per kind.")
    async def area_comparison(self, info: Info, area_code: str, month_from: date,
                              month_to: date) -> AreaComparison | None:
        start, end = _months(month_from, month_to)
        pool = info.context.runtime.public_pool
        area = await store_police_stats.area(pool, area_code)
        if area is None:
            return None
        rows = await store_police_stats.comparison(pool, area_code, start, end)

        def side(name: str) -> list[ComparisonItem]:
            return [ComparisonItem(subject=r["subject"], name_pl=r["name_pl"], name_en=r["name_en"],
                                   count=r["count"]) for r in rows if r["side"] == name]
        return AreaComparison(area_code=area["code"], area_name=area["name"], level=area["level"],
                              month_from=start, month_to=end, citizens=side("citizens"),
                              police=side("police"))
