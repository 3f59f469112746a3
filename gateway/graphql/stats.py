"""Statistics from the anonymized aggregates (open.area_statistics): cells below k are absent
there, so every sum here is a sum of published counts and tells nothing more than they do."""

from datetime import date
from enum import Enum

import strawberry
from psycopg import sql
from strawberry.types import Info

from gateway.graphql import db
from gateway.graphql.categories import AreaLevel
from gateway.graphql.errors import BadInput
from gateway.graphql.reports import status_ids


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
        conditions = [sql.SQL("s.level = %(level)s")]
        params: dict[str, object] = {"level": f.level.value}
        if f.categories is not None:
            conditions.append(sql.SQL("s.category_id = ANY(%(categories)s)"))
            params["categories"] = f.categories
        if f.statuses is not None:
            conditions.append(sql.SQL("s.status = ANY(%(statuses)s)"))
            params["statuses"] = status_ids(f.statuses)
        if f.area_code is not None:
            conditions.append(sql.SQL("s.area_code IN (SELECT code FROM open.areas "
                                      "WHERE code = %(area)s OR parent_code = %(area)s)"))
            params["area"] = f.area_code
        if f.month_from is not None:
            conditions.append(sql.SQL("s.month >= %(month_from)s"))
            params["month_from"] = f.month_from
        if f.month_to is not None:
            conditions.append(sql.SQL("s.month <= %(month_to)s"))
            params["month_to"] = f.month_to
        if f.month_from and f.month_to and f.month_from > f.month_to:
            raise BadInput("monthFrom is after monthTo.", argument="filter")
        columns = [sql.SQL("s.{} AS {}").format(sql.Identifier(d.value), sql.Identifier(d.value))
                   for d in dims]
        if StatsDimension.AREA in dims:
            columns.append(sql.SQL("min(s.area_name) AS area_name"))
        keys = [sql.Identifier("s", d.value) for d in dims]
        query = sql.SQL("SELECT {columns} sum(s.count)::bigint AS count FROM open.area_statistics AS s "
                        "WHERE {where} {group} ORDER BY {order}").format(
            columns=sql.SQL("").join(c + sql.SQL(", ") for c in columns),
            where=sql.SQL(" AND ").join(conditions),
            group=sql.SQL("GROUP BY ") + sql.SQL(", ").join(keys) if keys else sql.SQL(""),
            order=sql.SQL(", ").join(keys) if keys else sql.SQL("1"))
        rows = await db.fetch(info.context.runtime.public_pool, query, params)
        return [StatsBucket(category=r.get("category_id"), status=r.get("status"),
                            area_code=r.get("area_code"), area_name=r.get("area_name"),
                            month=r.get("month"), count=r["count"])
                for r in rows if r["count"] is not None]
