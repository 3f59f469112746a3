"""Counts from the anonymized aggregates (open.area_statistics): cells below k are absent
there, so every sum is a sum of published counts and tells nothing more than they do."""

from dataclasses import dataclass
from datetime import date

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

# The columns of open.area_statistics one may group by.
DIMENSIONS = ("category_id", "status", "area_code", "month")


@dataclass(frozen=True)
class StatsFilter:
    level: str                       # the areas counted in: voivodeship or county
    categories: list[str] | None = None
    statuses: list[str] | None = None  # ids (lower-case)
    area_code: str | None = None     # this area and the counties in it
    month_from: date | None = None
    month_to: date | None = None


def statement(dimensions: list[str], f: StatsFilter) -> tuple[sql.Composed, dict[str, object]]:
    """One grouped SELECT: a column per dimension (area_name beside area_code) and the sum."""
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"not a statistics dimension: {sorted(unknown)}")
    conditions = [sql.SQL("s.level = %(level)s")]
    params: dict[str, object] = {"level": f.level}
    if f.categories is not None:
        conditions.append(sql.SQL("s.category_id = ANY(%(categories)s)"))
        params["categories"] = f.categories
    if f.statuses is not None:
        conditions.append(sql.SQL("s.status = ANY(%(statuses)s)"))
        params["statuses"] = f.statuses
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
    columns = [sql.SQL("s.{} AS {}").format(sql.Identifier(d), sql.Identifier(d)) for d in dimensions]
    if "area_code" in dimensions:
        columns.append(sql.SQL("min(s.area_name) AS area_name"))
    keys = [sql.Identifier("s", d) for d in dimensions]
    query = sql.SQL("SELECT {columns} sum(s.count)::bigint AS count FROM open.area_statistics AS s "
                    "WHERE {where} {group} ORDER BY {order}").format(
        columns=sql.SQL("").join(c + sql.SQL(", ") for c in columns),
        where=sql.SQL(" AND ").join(conditions),
        group=sql.SQL("GROUP BY ") + sql.SQL(", ").join(keys) if keys else sql.SQL(""),
        order=sql.SQL(", ").join(keys) if keys else sql.SQL("1"))
    return query, params


async def counts(pool: AsyncConnectionPool, dimensions: list[str], f: StatsFilter) -> list[Row]:
    """Rows with the dimensions' columns, area_name (with area_code) and count (public pool)."""
    query, params = statement(dimensions, f)
    return await fetch(pool, query, params)
