"""Partners' webhooks: the URL and secret of each, the outbox of events to send (written by the
trigger of store/sql/94_webhooks.sql), claiming due events, recording attempts, and the
delivery log an admin reads.

Claiming is a lease: one short transaction takes due events with FOR UPDATE SKIP LOCKED (so two
processes never take the same row) and moves their next attempt past the HTTP timeout, then
commits; the POST happens outside any transaction, and its result is recorded after. A process
that dies mid-delivery leaves the event to be taken again when the lease ends (so a receiver
may, rarely, get an event twice: it deduplicates by the event id)."""

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch, fetch_on

SET_SQL = """
INSERT INTO core.partner_webhooks (partner_id, url, secret) VALUES (%(partner)s, %(url)s, %(secret)s)
ON CONFLICT (partner_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, created_at = now()
"""
PARTNER_SQL = "SELECT id FROM core.partners WHERE id::text = %(p)s OR name = %(p)s ORDER BY id LIMIT 2"
# Removing a webhook ends its pending events too (failed: there is nowhere to send them).
REMOVE_SQL = """
WITH ended AS (
    UPDATE core.webhook_outbox SET state = 'failed', finished_at = now()
    WHERE partner_id = %(partner)s AND state = 'pending'
)
DELETE FROM core.partner_webhooks WHERE partner_id = %(partner)s RETURNING partner_id
"""

CLAIM_SQL = """
WITH due AS (
    SELECT o.id FROM core.webhook_outbox AS o
    WHERE o.state = 'pending' AND o.next_attempt_at <= now()
    ORDER BY o.next_attempt_at, o.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE core.webhook_outbox AS o SET next_attempt_at = now() + make_interval(secs => %(lease_s)s)
FROM due, core.partner_webhooks AS w
WHERE o.id = due.id AND w.partner_id = o.partner_id
RETURNING o.id, o.event_id, o.payload, o.attempts, w.url, w.secret
"""
# One attempt recorded, and the event delivered, failed for good (past the retry window), or
# due again after the delay the deliverer chose (exponential backoff with jitter).
RESULT_SQL = """
WITH attempt AS (
    INSERT INTO core.webhook_attempts (outbox_id, url, http_status, error, duration_ms)
    VALUES (%(id)s, %(url)s, %(status)s, %(error)s, %(duration_ms)s)
)
UPDATE core.webhook_outbox
SET attempts = attempts + 1,
    state = CASE WHEN %(delivered)s THEN 'delivered'
                 WHEN created_at + make_interval(secs => %(retry_s)s) <= now() THEN 'failed'
                 ELSE 'pending' END,
    finished_at = CASE WHEN %(delivered)s OR created_at + make_interval(secs => %(retry_s)s) <= now()
                       THEN now() END,
    next_attempt_at = now() + make_interval(secs => %(delay_s)s)
WHERE id = %(id)s
RETURNING state
"""
DELIVERIES_SQL = """
SELECT p.name AS partner, o.event_id, o.report_id, o.payload->>'type' AS type, o.state,
       o.attempts, o.created_at, o.next_attempt_at, o.finished_at,
       coalesce((SELECT json_agg(json_build_object(
                     'at', a.at, 'url', a.url, 'http_status', a.http_status, 'error', a.error,
                     'duration_ms', a.duration_ms) ORDER BY a.at)
                 FROM core.webhook_attempts AS a WHERE a.outbox_id = o.id), '[]') AS attempt_log
FROM core.webhook_outbox AS o JOIN core.partners AS p ON p.id = o.partner_id
WHERE (%(partner)s::text IS NULL OR p.name = %(partner)s OR p.id::text = %(partner)s)
  AND (%(state)s::text IS NULL OR o.state = %(state)s)
ORDER BY o.id DESC
LIMIT %(limit)s
"""


async def claim_due(pool: AsyncConnectionPool, limit: int, lease_s: float) -> list[Row]:
    """Due events (id, event_id, payload, attempts, url, secret), leased for lease_s."""
    return await fetch(pool, CLAIM_SQL, {"limit": limit, "lease_s": lease_s})


async def record(pool: AsyncConnectionPool, outbox_id: int, url: str, delivered: bool,
                 http_status: int | None, error: str | None, duration_ms: int,
                 delay_s: float, retry_s: float) -> str:
    """Records an attempt; returns the event's state now (delivered, failed or pending)."""
    rows = await fetch(pool, RESULT_SQL, {
        "id": outbox_id, "url": url, "status": http_status, "error": error and error[:1000],
        "duration_ms": duration_ms, "delivered": delivered, "delay_s": delay_s, "retry_s": retry_s})
    return rows[0]["state"]


def partner_id(conn: psycopg.Connection, partner: str) -> Any:
    """The id of the partner named by its id or its name; None when there is none (or the name
    is ambiguous)."""
    rows = conn.execute(PARTNER_SQL, {"p": partner.strip()}).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def set_webhook(conn: psycopg.Connection, partner_id: Any, url: str, secret: str) -> None:
    """Registers (or replaces) the partner's webhook (the CLI's `partner webhook set`)."""
    conn.execute(SET_SQL, {"partner": partner_id, "url": url, "secret": secret})


def remove_webhook(conn: psycopg.Connection, partner_id: Any) -> bool:
    return conn.execute(REMOVE_SQL, {"partner": partner_id}).fetchone() is not None


def deliveries(conn: psycopg.Connection, partner: str | None, state: str | None,
               limit: int) -> list[Row]:
    """The newest events (of a partner, by name or id; in a state), each with its attempts."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(DELIVERIES_SQL, {"partner": partner, "state": state, "limit": limit})
        return cur.fetchall()


async def outbox_states(pool: AsyncConnectionPool, partner_id: Any) -> list[Row]:
    """The partner's events, oldest first, with state and attempts (tests, admin reads)."""
    async with pool.connection() as conn:
        return await fetch_on(conn, "SELECT event_id, state, attempts FROM core.webhook_outbox "
                                    "WHERE partner_id = %s ORDER BY id", [partner_id])
