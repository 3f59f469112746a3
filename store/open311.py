"""The queries of the Open311 GeoReport v2 door (issue 15, point 6; open311/): the services (our
categories) and the service requests (our reports).

Anyone reads the public layer only: open.reports through the public pool (the cell's centre, the
public day, no description, contact or media). A partner also reads its own reports, published
or not, through the same projection (core.public_report), with the application pool.
Open311's two statuses are mapped from ours by the statuses' `is_closed` (config/statuses.yml):
closed = not confirmed, confirmed and eliminated, confirmed and forwarded; open = the rest.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch

SERVICES_SQL = """
SELECT id, name_pl, name_en, group_name_pl, group_name_en, description_required
FROM open.categories WHERE active ORDER BY sort_order, id
"""
SERVICE_SQL = """
SELECT id, name_pl, name_en, group_name_pl, group_name_en, description_required, active
FROM open.categories WHERE id = %s
"""

# The columns of a request as the public layer shows it (p: an open.reports row, public or
# projected), with the names of its category, status and police unit.
REQUEST_COLUMNS = """
p.id, p.category_id, p.status, p.occurred_on, p.date_precision,
ST_X(p.geom) AS longitude, ST_Y(p.geom) AS latitude,
c.name_pl AS service_name_pl, c.name_en AS service_name_en,
s.name_pl AS status_name_pl, s.name_en AS status_name_en, s.is_closed,
u.name AS agency
"""
REQUEST_JOINS = """
JOIN open.categories AS c ON c.id = p.category_id
JOIN open.statuses AS s ON s.id = p.status
LEFT JOIN open.police_units AS u ON u.id = p.police_unit_id
"""
# Ids, when given, override every other filter (as the specification says).
PUBLIC_REQUESTS_SQL = f"""
SELECT {REQUEST_COLUMNS}, NULL::timestamptz AS requested_at, NULL::timestamptz AS updated_at,
       false AS own
FROM open.reports AS p {REQUEST_JOINS}
WHERE CASE WHEN %(ids)s::uuid[] IS NOT NULL THEN p.id = ANY(%(ids)s::uuid[]) ELSE
          (%(codes)s::text[] IS NULL OR p.category_id = ANY(%(codes)s::text[]))
          AND (%(closed)s::boolean IS NULL OR s.is_closed = %(closed)s::boolean)
          AND p.occurred_on BETWEEN %(start)s::date AND %(end)s::date END
ORDER BY p.occurred_on DESC, p.id
LIMIT %(limit)s
"""
# A partner's own reports, projected as the public layer shows them (published or not), with
# the exact times of their submission and last change: the partner sent them.
OWN_REQUESTS_SQL = f"""
SELECT {REQUEST_COLUMNS}, r.created_at AS requested_at, r.updated_at, true AS own
FROM core.reports AS r CROSS JOIN LATERAL core.public_report(r) AS p {REQUEST_JOINS}
WHERE r.partner_id = %(partner)s AND
      CASE WHEN %(ids)s::uuid[] IS NOT NULL THEN r.id = ANY(%(ids)s::uuid[]) ELSE
          (%(codes)s::text[] IS NULL OR r.category_id = ANY(%(codes)s::text[]))
          AND (%(closed)s::boolean IS NULL OR s.is_closed = %(closed)s::boolean)
          AND r.created_at >= %(start)s::date AND r.created_at < %(end)s::date + 1 END
ORDER BY r.created_at DESC, r.id
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class RequestQuery:
    """GET requests, checked by the door: ids override the rest; closed None is both."""
    ids: list[uuid.UUID] | None
    codes: list[str] | None
    closed: bool | None
    start: date
    end: date
    limit: int

    def params(self) -> dict[str, object]:
        return {"ids": self.ids, "codes": self.codes, "closed": self.closed, "start": self.start,
                "end": self.end, "limit": self.limit}


async def services(pool: AsyncConnectionPool) -> list[Row]:
    """The categories that take reports (public pool)."""
    return await fetch(pool, SERVICES_SQL)


async def service(pool: AsyncConnectionPool, code: str) -> Row | None:
    """One category (public pool), active or not; None when there is none."""
    rows = await fetch(pool, SERVICE_SQL, [code])
    return rows[0] if rows else None


async def public_requests(pool: AsyncConnectionPool, query: RequestQuery) -> list[Row]:
    """Published reports (public pool), newest first."""
    # Never prepared: the plan depends on which filters are set.
    return await fetch(pool, PUBLIC_REQUESTS_SQL, query.params(), prepare=False)


async def own_requests(pool: AsyncConnectionPool, partner_id: int, query: RequestQuery) -> list[Row]:
    """The partner's own reports, published or not (application pool), newest first."""
    return await fetch(pool, OWN_REQUESTS_SQL, query.params() | {"partner": partner_id},
                       prepare=False)


def merged(public: list[Row], own: list[Row], limit: int) -> list[Row]:
    """Public rows and the partner's own (its own view wins for its reports), newest first."""
    by_id = {row["id"]: row for row in public} | {row["id"]: row for row in own}

    def newest(row: Row) -> tuple[date, str]:
        day = row["requested_at"].date() if isinstance(row["requested_at"], datetime) else row["occurred_on"]
        return day, str(row["id"])

    return sorted(by_id.values(), key=newest, reverse=True)[:limit]
