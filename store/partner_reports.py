"""A partner's reports written in bulk (POST /partners/v1/reports): set-based, idempotent by
(partner, external id).

One statement inserts a chunk of reports with ON CONFLICT DO NOTHING on the unique constraint
reports_partner_external_id (migration 0013) and their `created` events, so every trigger a single
report runs (store/sql/30_publication.sql: county, publication, open.reports and the aggregates;
the event chain) runs for each of them exactly as for submitReport. The reports that were there
already are looked up first (a retry inserts nothing), and those a concurrent copy of the batch
wrote meanwhile (ON CONFLICT waits for it, then skips them) are read back after.

Chunks of CHUNK reports each commit on their own: each `created` event takes a transaction-level
advisory lock (store/sql/47_event_chain.sql), and 10,000 of them in one transaction could
overflow PostgreSQL's shared lock table (max_locks_per_transaction x max_connections: 6,400
slots by default); shorter transactions also hold the constraint's locks for less time. A
batch cut short by an error is safe to send again."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from store.reports import Submission
from store.rows import fetch_on

CHUNK = 1000

INSERT_SQL = """
WITH items AS (
    SELECT * FROM unnest(%(external_id)s::text[], %(category)s::text[], %(lon)s::float8[],
                         %(lat)s::float8[], %(occurred_at)s::timestamptz[], %(description)s::text[],
                         %(contact)s::text[])
             WITH ORDINALITY AS i(external_id, category, lon, lat, occurred_at, description, contact, n)
), inserted AS (
    INSERT INTO core.reports (category_id, status, geom, occurred_at, description, contact, source,
                              partner_id, external_id)
    SELECT category, (SELECT id FROM core.statuses WHERE is_initial),
           ST_SetSRID(ST_MakePoint(lon, lat), 4326), occurred_at, description, contact,
           %(source)s, %(partner)s, external_id
    FROM items ORDER BY n
    ON CONFLICT (partner_id, external_id) DO NOTHING
    RETURNING id, external_id
), created AS (
    INSERT INTO core.report_events (report_id, kind, to_status, actor)
    SELECT id, 'created', NULL, %(actor)s FROM inserted
)
SELECT id, external_id FROM inserted
"""
PRESENT_SQL = """
SELECT id, external_id FROM core.reports
WHERE partner_id = %(partner)s AND external_id = ANY(%(external_id)s::text[])
"""


@dataclass(frozen=True)
class Written:
    created: dict[str, Any]   # external id -> our id, written now
    present: dict[str, Any]   # external id -> our id, there before


async def write(pool: AsyncConnectionPool, partner_id: Any, source: str, actor: str,
                items: Sequence[tuple[str, Submission]]) -> Written:
    """Writes the (external id, submission) pairs (external ids unique among them) for the
    partner; returns which were created and which were there already, with our ids."""
    created: dict[str, Any] = {}
    present: dict[str, Any] = {}
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        async with pool.connection() as conn:   # one transaction a chunk, committed at its end
            # What is there already is looked up first: a retried batch then inserts nothing
            # (the BEFORE INSERT triggers would otherwise run for every row before its conflict).
            present |= await _present(conn, partner_id, [external_id for external_id, _ in chunk])
            new = [(external_id, s) for external_id, s in chunk if external_id not in present]
            if not new:
                continue
            rows = await fetch_on(conn, INSERT_SQL, _params(new) | {
                "source": source, "partner": partner_id, "actor": actor}, prepare=False)
            created |= {row["external_id"]: row["id"] for row in rows}
            raced = [external_id for external_id, _ in new if external_id not in created]
            if raced:   # written meanwhile by a concurrent copy of the batch
                present |= await _present(conn, partner_id, raced)
    return Written(created, present)


def _params(items: Sequence[tuple[str, Submission]]) -> dict[str, Any]:
    return {"external_id": [external_id for external_id, _ in items],
            "category": [s.category for _, s in items], "lon": [s.lon for _, s in items],
            "lat": [s.lat for _, s in items], "occurred_at": [s.occurred_at for _, s in items],
            "description": [s.description for _, s in items], "contact": [s.contact for _, s in items]}


async def _present(conn: Any, partner_id: Any, external_ids: list[str]) -> dict[str, Any]:
    rows = await fetch_on(conn, PRESENT_SQL, {"partner": partner_id, "external_id": external_ids})
    return {row["external_id"]: row["id"] for row in rows}
