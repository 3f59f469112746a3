"""How fast the police react, per unit and month (open.response_times, store/sql/65_response_times.sql):
finished months only, every figure over at least k reports."""

from dataclasses import dataclass
from datetime import date

from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

RESPONSE_TIMES_SQL = """
SELECT t.police_unit_id, u.name AS police_unit_name, t.month, t.reports, t.read,
       t.read_median_hours, t.read_p90_hours, t.read_in_time_percent, t.verified,
       t.verify_median_hours, t.verify_p90_hours, t.verified_in_time_percent
FROM open.response_times AS t
JOIN open.police_units AS u ON u.id = t.police_unit_id
WHERE (%(unit)s::text IS NULL OR t.police_unit_id = %(unit)s
       OR u.parent_id = %(unit)s)
  AND (%(month_from)s::date IS NULL OR t.month >= %(month_from)s)
  AND (%(month_to)s::date IS NULL OR t.month <= %(month_to)s)
ORDER BY t.month, t.police_unit_id
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class ResponseTimesFilter:
    police_unit_id: str | None = None  # this unit and the units under it
    month_from: date | None = None
    month_to: date | None = None
    limit: int = 1000


async def response_times(pool: AsyncConnectionPool, f: ResponseTimesFilter) -> list[Row]:
    # The plan depends on whether a unit is named (an index on the unit) or not (every report).
    return await fetch(pool, RESPONSE_TIMES_SQL, {"unit": f.police_unit_id, "month_from": f.month_from,
                                                  "month_to": f.month_to, "limit": f.limit},
                       prepare=False)
