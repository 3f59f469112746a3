"""The work list as rows for a CSV export (issue 13, point 9), and the record of each export.

The rows are those of `staffReports` (store/staff.py): the same filter conditions and the same
scope rule (core.officer_handles for an officer; everything for analysts and admins), newest
exact time first, without paging. First the matching rows are counted (up to one past the
maximum) and the export recorded with that count, in one short transaction; then the rows are
read in a read-only REPEATABLE READ transaction through a server-side cursor, never more than the
maximum. The two are one after the other, never holding two connections at once (a full pool
would otherwise make concurrent exports wait on each other); reports that arrive in between may
be in the file beyond the recorded count.

Times are local (the privacy policy's time zone, Europe/Warsaw) as `YYYY-MM-DD HH:MM:SS`, which
spreadsheets read as dates.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from store.reports import ReportFilter
from store.rows import Row, fetch, fetch_on
from store.staff import OfficerUnit, WorkFilter, work_list_where

# The private columns every export carries, and the one only some roles get.
PRIVATE_FIELDS = ("occurred_at", "longitude", "latitude", "description", "source")
CONTACT = "contact"

LOCAL = "'YYYY-MM-DD HH24:MI:SS'"

ROWS_SQL = """
SELECT r.id, r.status, r.category_id AS category,
       to_char(r.occurred_at AT TIME ZONE p.timezone, {local}) AS occurred_at,
       round(ST_X(r.geom)::numeric, 6) AS longitude, round(ST_Y(r.geom)::numeric, 6) AS latitude,
       r.county_code, a.name AS county, r.police_unit_id, u.name AS police_unit,
       to_char((r.created_at + d.read_within) AT TIME ZONE p.timezone, {local}) AS read_by,
       core.deadline_state(r.read_at, r.created_at + d.read_within, d.due_soon) AS read_state,
       to_char(r.read_at AT TIME ZONE p.timezone, {local}) AS read_at,
       to_char((r.created_at + d.verify_within) AT TIME ZONE p.timezone, {local}) AS verify_by,
       core.deadline_state(r.verified_at, r.created_at + d.verify_within, d.due_soon) AS verify_state,
       to_char(r.verified_at AT TIME ZONE p.timezone, {local}) AS verified_at,
       r.forwarded_to, r.description, {contact} AS contact, r.source
FROM core.reports AS r
CROSS JOIN core.workflow_deadlines AS d
CROSS JOIN core.privacy_policy AS p
LEFT JOIN core.areas AS a ON a.code = r.county_code
LEFT JOIN core.police_units AS u ON u.id = r.police_unit_id
WHERE {where}
ORDER BY r.occurred_at DESC, r.id DESC
LIMIT %(cap)s
"""

# How many rows match, counted up to one past the maximum (enough to refuse, no more).
COUNT_SQL = "SELECT count(*) AS n FROM (SELECT 1 FROM core.reports AS r WHERE {where} LIMIT %(cap)s) AS c"

RECORD_SQL = """
INSERT INTO core.staff_exports (actor, role, police_unit_id, filters, row_count, private_fields)
VALUES (%s, %s, %s, %s::jsonb, %s, %s)
RETURNING id, at
"""

LIST_SQL = """
SELECT id, actor, role, police_unit_id, at, filters, row_count, private_fields
FROM core.staff_exports ORDER BY at DESC, id DESC LIMIT %s
"""


def _where(f: ReportFilter | None, w: WorkFilter | None, unit: OfficerUnit | None
           ) -> tuple[sql.Composable, dict[str, Any]]:
    """The conditions of store.staff.page_statement: the same filters, the same scope."""
    return work_list_where(f, w, unit)


@dataclass(frozen=True)
class ExportQuery:
    f: ReportFilter | None
    w: WorkFilter | None
    unit: OfficerUnit | None   # None: every report (analysts, admins)
    with_contact: bool

    @property
    def private_fields(self) -> list[str]:
        return [*PRIVATE_FIELDS, *([CONTACT] if self.with_contact else [])]


async def begin(conn: AsyncConnection) -> None:
    """The rows' snapshot: one read-only REPEATABLE READ transaction for the whole file."""
    # The pool's connections are not autocommit: psycopg has begun a transaction before this,
    # its first statement, which sets the transaction's level (not the connection's default).
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def count(conn: AsyncConnection, q: ExportQuery, cap: int) -> int:
    """Matching rows, at most cap + 1 (more than cap: too many to export)."""
    where, params = _where(q.f, q.w, q.unit)
    rows = await fetch_on(conn, sql.SQL(COUNT_SQL).format(where=where), params | {"cap": cap + 1},
                          prepare=False)
    return rows[0]["n"]


async def rows(conn: AsyncConnection, q: ExportQuery, cap: int, batch: int = 1000) -> AsyncIterator[Row]:
    """At most `cap` rows, through a server-side cursor (`batch` rows per round trip); inside
    begin()."""
    where, params = _where(q.f, q.w, q.unit)
    contact = sql.SQL("r.contact" if q.with_contact else "NULL::text")
    query = sql.SQL(ROWS_SQL).format(where=where, contact=contact, local=sql.SQL(LOCAL))
    async with conn.cursor(name="staff_export", row_factory=dict_row) as cur:
        cur.itersize = batch
        await cur.execute(query, params | {"cap": cap})
        async for row in cur:
            yield row


async def record(conn: AsyncConnection, actor: str, role: str, unit_id: str | None,
                 filters: dict[str, Any], row_count: int, private_fields: list[str]) -> Row:
    """Writes the record of an export (the caller commits it before any row is sent)."""
    found = await fetch_on(conn, RECORD_SQL, [actor, role, unit_id, json.dumps(filters), row_count,
                                              private_fields])
    return found[0]


async def recorded(pool: AsyncConnectionPool, limit: int = 100) -> list[Row]:
    """The newest export records."""
    return await fetch(pool, LIST_SQL, [limit])


__all__ = ["CONTACT", "PRIVATE_FIELDS", "ExportQuery", "begin", "count", "record", "recorded", "rows"]
