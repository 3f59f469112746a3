"""Report counts by area, category, status and month for the `stats` door.

Every count is summed in the database from the unsuppressed counts and suppressed below k at
its own level (open.report_count_sums, store/sql/60_open_views.sql): a total is the true number
of public reports it covers, not a sum of cells already cut below k. The function runs with its
owner's rights, so the public pool still reads nothing of core itself."""

from dataclasses import dataclass
from datetime import date

from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

# The dimensions one may group by (the columns of open.area_statistics).
DIMENSIONS = ("category_id", "status", "area_code", "month")

SUMS_SQL = """
SELECT category_id, status, area_code, area_name, month, count, summed_over
FROM open.report_count_sums(%(level)s, %(dimensions)s::text[], %(totals)s, %(categories)s::text[],
                            %(statuses)s::text[], %(area)s, %(month_from)s::date, %(month_to)s::date)
"""


@dataclass(frozen=True)
class StatsFilter:
    level: str                       # the areas counted in: voivodeship or county
    categories: list[str] | None = None
    statuses: list[str] | None = None  # ids (lower-case)
    area_code: str | None = None     # this area and the counties in it
    month_from: date | None = None
    month_to: date | None = None


async def counts(pool: AsyncConnectionPool, dimensions: list[str], f: StatsFilter,
                 totals: bool = False) -> list[Row]:
    """Rows with category_id, status, area_code, area_name, month (None where not grouped, or
    summed over), count, and summed_over: the grouped dimensions a total adds up over (empty for
    a bucket; totals come only with `totals`). Public pool."""
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"not a statistics dimension: {sorted(unknown)}")
    # prepare=False: the function plans its one statement for the values it is given.
    return await fetch(pool, SUMS_SQL, {
        "level": f.level, "dimensions": list(dict.fromkeys(dimensions)), "totals": totals,
        "categories": f.categories, "statuses": f.statuses, "area": f.area_code,
        "month_from": f.month_from, "month_to": f.month_to}, prepare=False)
