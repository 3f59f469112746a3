"""Reports in core, as the GraphQL door reads and writes them: the public page (one statement
per page), one report by id, the projected read-back, the private rows and the audit trail
(batched by ANY(%s) for the DataLoaders), submission with its idempotency key, the citizen's
tracking token, and an officer's status change and hand-over with their events.

Every function takes plain values (and a pool, or a connection when the caller holds a
transaction) and returns dict rows; checks that need no database stay with the caller."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from store import report_totals
from store.rows import Row, fetch, fetch_on


@dataclass(frozen=True)
class BBox:
    """Longitude/latitude (EPSG:4326), checked by the caller: finite, west < east, south < north."""
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class ReportFilter:
    """A page's filter as plain values; statuses are ids (lower-case), source a known one."""
    bbox: BBox | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    area_code: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Page:
    total: int | None   # None when not asked for (counting costs)
    rows: list[Row]     # up to limit rows: one more than a page tells whether another follows


# -- the public page ---------------------------------------------------------------------------

PUBLIC_COLUMNS = sql.SQL("""r.id, r.category_id, r.status, r.occurred_on, r.date_precision,
       r.county_code, r.voivodeship_code, r.police_unit_id,
       ST_X(r.geom) AS longitude, ST_Y(r.geom) AS latitude""")

BBOX_CONDITION = sql.SQL("r.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)")


def reads_core(f: ReportFilter | None) -> bool:
    """Whether a public page with this filter must join core (a private column, the source):
    then only staff may run it, through the application pool."""
    return f is not None and f.source is not None


def shared_conditions(f: ReportFilter) -> tuple[list[sql.Composable], dict[str, Any]]:
    """The conditions that read the same on open.reports and core.reports (alias r): bbox,
    categories, statuses. Dates and areas differ (public day and cell vs exact time and point)."""
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if f.bbox is not None:
        conditions.append(BBOX_CONDITION)
        params |= {"west": f.bbox.west, "south": f.bbox.south, "east": f.bbox.east,
                   "north": f.bbox.north}
    if f.categories is not None:
        conditions.append(sql.SQL("r.category_id = ANY(%(categories)s)"))
        params["categories"] = f.categories
    if f.statuses is not None:
        conditions.append(sql.SQL("r.status = ANY(%(statuses)s)"))
        params["statuses"] = f.statuses
    return conditions, params


def public_conditions(f: ReportFilter | None) -> tuple[list[sql.Composable], dict[str, Any]]:
    """WHERE conditions on open.reports (alias r; core.reports as c when reads_core)."""
    if f is None:
        return [], {}
    conditions, params = shared_conditions(f)
    if f.occurred_from is not None:
        conditions.append(sql.SQL("r.occurred_on >= %(occurred_from)s"))
        params["occurred_from"] = f.occurred_from
    if f.occurred_to is not None:
        conditions.append(sql.SQL("r.occurred_on <= %(occurred_to)s"))
        params["occurred_to"] = f.occurred_to
    if f.area_code is not None:
        conditions.append(sql.SQL("(r.county_code = %(area)s OR r.voivodeship_code = %(area)s)"))
        params["area"] = f.area_code
    if f.source is not None:
        conditions.append(sql.SQL("c.source = %(source)s"))
        params["source"] = f.source
    return conditions, params


def public_page_statement(f: ReportFilter | None, descending: bool, limit: int,
                          after: tuple[date, uuid.UUID] | None,
                          with_total: bool) -> tuple[sql.Composed, dict[str, Any]]:
    """The one statement of a public page: the total (if asked) and the rows as JSON, keyset
    paged on (occurred_on, id) after the given key."""
    conditions, params = public_conditions(f)
    source = sql.SQL("open.reports AS r") + (
        sql.SQL(" JOIN core.reports AS c ON c.id = r.id") if reads_core(f) else sql.SQL(""))
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    keyset = sql.SQL("(r.occurred_on, r.id) {} (%(after_day)s, %(after_id)s)").format(
        sql.SQL("<" if descending else ">")) if after is not None else sql.SQL("true")
    direction = sql.SQL("DESC" if descending else "ASC")
    total = sql.SQL("NULL::bigint")
    if with_total:
        # From the totals kept per area or the counts kept per cell when they answer the filter
        # (all but the source): the same number, without reading every matching report
        # (store/report_totals.py).
        kept = report_totals.count_statement(f)
        total = (sql.SQL("({})").format(kept[0]) if kept is not None else
                 sql.SQL("(SELECT count(*) FROM {source} WHERE {where})").format(source=source, where=where))
        params |= kept[1] if kept is not None else {}
    query = sql.SQL("""
SELECT {total} AS total,
       (SELECT coalesce(json_agg(page), '[]'::json) FROM (
            SELECT {columns} FROM {source}
            WHERE {where} AND {keyset}
            ORDER BY r.occurred_on {direction}, r.id {direction}
            LIMIT %(limit)s) AS page) AS rows
""").format(total=total, columns=PUBLIC_COLUMNS, source=source, where=where, keyset=keyset,
            direction=direction)
    if after is not None:
        params["after_day"], params["after_id"] = after
    params["limit"] = limit
    return query, params


async def public_page(pool: AsyncConnectionPool, f: ReportFilter | None, descending: bool,
                      limit: int, after: tuple[date, uuid.UUID] | None, with_total: bool) -> Page:
    """A page of open.reports (joined to core when reads_core: give the application pool)."""
    query, params = public_page_statement(f, descending, limit, after, with_total)
    # Never prepared: after five runs on a connection PostgreSQL may settle on a generic plan,
    # planned without the bbox; counting a city bbox then took 260 ms instead of 110 ms
    # (bench/RESULTS.md, suite graphql).
    result = (await fetch(pool, query, params, prepare=False))[0]
    rows = [row | {"occurred_on": date.fromisoformat(row["occurred_on"])} for row in result["rows"]]
    return Page(total=result["total"], rows=rows)


PUBLIC_BY_ID = sql.SQL("SELECT {} FROM open.reports AS r WHERE r.id = %s").format(PUBLIC_COLUMNS)

# Any report by id as the public layer would show it (also before it is published): for staff
# and for the citizen who submitted it, never for an anonymous reader.
PROJECTED_SQL = """
SELECT p.id, p.category_id, p.status, p.occurred_on, p.date_precision, p.county_code,
       p.voivodeship_code, p.police_unit_id, ST_X(p.geom) AS longitude, ST_Y(p.geom) AS latitude
FROM core.reports AS r CROSS JOIN LATERAL core.public_report(r) AS p
WHERE r.id = %s
"""


async def public_report(pool: AsyncConnectionPool, report_id: uuid.UUID) -> Row | None:
    """A published report as open.reports shows it (the public pool suffices)."""
    rows = await fetch(pool, PUBLIC_BY_ID, [report_id])
    return rows[0] if rows else None


async def projected_report(pool: AsyncConnectionPool, report_id: uuid.UUID) -> Row | None:
    """Any report as the public layer would show it, published or not (application pool)."""
    rows = await fetch(pool, PROJECTED_SQL, [report_id])
    return rows[0] if rows else None


async def projected(conn: AsyncConnection, report_id: Any) -> Row:
    """projected_report inside the caller's transaction (the read-back after a change)."""
    return (await fetch_on(conn, PROJECTED_SQL, [report_id]))[0]


# -- private rows and the audit trail, for the DataLoaders --------------------------------------

# `handled`: whether the officer's unit (unit_id; NULL for anyone else) handles the report, by
# the one rule core.officer_handles (store/sql/17_officer_rule.sql).
PRIVATE_SQL = """
SELECT r.id, ST_X(r.geom) AS longitude, ST_Y(r.geom) AS latitude, r.occurred_at, r.description,
       r.contact, r.source, r.county_code, r.police_unit_id, r.created_at, r.read_at,
       r.verified_at, r.forwarded_to,
       r.created_at + d.read_within AS read_by, r.created_at + d.verify_within AS verify_by,
       core.deadline_state(r.read_at, r.created_at + d.read_within, d.due_soon) AS read_state,
       core.deadline_state(r.verified_at, r.created_at + d.verify_within, d.due_soon) AS verify_state,
       core.officer_handles(%(unit_id)s, (SELECT core.unit_counties(%(unit_id)s)), r.county_code,
                            r.police_unit_id) IS TRUE AS handled
FROM core.reports AS r CROSS JOIN core.workflow_deadlines AS d
WHERE r.id = ANY(%(ids)s::uuid[])
"""
HISTORY_SQL = """
SELECT report_id, kind, from_status, to_status, actor, at, comment, forwarded_to
FROM core.report_events WHERE report_id = ANY(%s::uuid[]) ORDER BY report_id, at, id
"""


async def private_rows(pool: AsyncConnectionPool, ids: Sequence[str], unit_id: str | None) -> list[Row]:
    """The private columns of these reports, each with `handled` for the officer's unit."""
    return await fetch(pool, PRIVATE_SQL, {"ids": list(ids), "unit_id": unit_id})


async def history(pool: AsyncConnectionPool, ids: Sequence[str]) -> list[Row]:
    """The events of these reports, by report, oldest first."""
    return await fetch(pool, HISTORY_SQL, [list(ids)])


# -- the citizen: submission and the tracking token ---------------------------------------------

# The database's checks of submissions, for one or many at once (the partners' bulk door):
# whether the category takes reports and needs a description, whether the point is in Poland,
# and, if not, whether it would be with longitude and latitude exchanged. Rows in input order.
CHECK_SUBMISSIONS_SQL = """
SELECT c.active AS category_active, c.description_required,
       EXISTS (SELECT FROM core.areas WHERE level = 'voivodeship'
               AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326))) AS inside,
       EXISTS (SELECT FROM core.areas WHERE level = 'voivodeship'
               AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(i.lat, i.lon), 4326))) AS swapped
FROM unnest(%(category)s::text[], %(lon)s::float8[], %(lat)s::float8[])
     WITH ORDINALITY AS i(category, lon, lat, n)
LEFT JOIN core.categories AS c ON c.id = i.category
ORDER BY i.n
"""
INSERT_SQL = """
WITH inserted AS (
    INSERT INTO core.reports (category_id, status, geom, occurred_at, description, contact, source,
                              idempotency_key, payload_hash, tracking_token_hash, partner_id,
                              external_id, media_url)
    VALUES (%(category)s, (SELECT id FROM core.statuses WHERE is_initial),
            ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(occurred_at)s, %(description)s,
            %(contact)s, %(source)s, %(key)s, %(payload)s, %(token)s, %(partner_id)s,
            %(external_id)s, %(media_url)s)
    ON CONFLICT DO NOTHING   -- the key (or, for the same key and payload, the token) is taken
    RETURNING id, status
), created AS (
    INSERT INTO core.report_events (report_id, kind, to_status, actor)
    SELECT id, 'created', NULL, %(actor)s FROM inserted
)
SELECT id FROM inserted
"""
# A retry of an acknowledged submission is found by its key before anything is counted or
# written (gateway/graphql/workflow.py); its tracking token is derived from the key, so the
# stored hash already matches it and nothing changes.
BY_KEY_SQL = """
SELECT id, payload_hash, tracking_token_hash FROM core.reports WHERE idempotency_key = %s
"""
BY_TOKEN_SQL = "SELECT id, closed_at FROM core.reports WHERE tracking_token_hash = %s"


@dataclass(frozen=True)
class Submission:
    """A citizen's (or a partner's) report, checked by the caller (coordinates, time in UTC,
    texts). A partner's carries its id, the source of its kind (store.partners), and what
    Open311 may send besides: the partner's own id of the report, a media URL (never fetched)."""
    category: str
    lon: float
    lat: float
    occurred_at: datetime
    description: str | None
    contact: str | None
    source: str = "citizen"
    partner_id: int | None = None
    external_id: str | None = None
    media_url: str | None = None

    def values(self) -> dict[str, Any]:
        """What the payload hash of an idempotent retry is computed from: a citizen's as it
        always was, a partner's with its own fields."""
        values = {"category": self.category, "lon": self.lon, "lat": self.lat,
                  "occurred_at": self.occurred_at, "description": self.description,
                  "contact": self.contact}
        if self.partner_id is not None:
            values |= {"partner_id": self.partner_id, "external_id": self.external_id,
                       "media_url": self.media_url}
        return values

    def row(self) -> dict[str, Any]:
        """The columns INSERT_SQL writes besides the key, payload hash and token."""
        return self.values() | {
            "source": self.source, "partner_id": self.partner_id, "external_id": self.external_id,
            "media_url": self.media_url,
            "actor": "citizen" if self.partner_id is None else f"partner:{self.partner_id}"}


async def check_submission(pool: AsyncConnectionPool, submission: Submission) -> Row:
    """category_active (None: no such category), description_required, inside (Poland), swapped
    (inside with longitude and latitude exchanged)."""
    return (await check_submissions(pool, [submission]))[0]


async def check_submissions(pool: AsyncConnectionPool, submissions: Sequence[Submission]) -> list[Row]:
    """check_submission of each, in one statement; rows in the same order."""
    return await fetch(pool, CHECK_SUBMISSIONS_SQL, {
        "category": [s.category for s in submissions], "lon": [s.lon for s in submissions],
        "lat": [s.lat for s in submissions]}, prepare=False)


async def by_idempotency_key(pool: AsyncConnectionPool, key: str) -> Row | None:
    """id, payload_hash and tracking_token_hash of the report stored under this key, if any."""
    rows = await fetch(pool, BY_KEY_SQL, [key])
    return rows[0] if rows else None


async def submit(pool: AsyncConnectionPool, submission: Submission, key: str | None,
                 payload_hash: str, token_hash: bytes) -> Row | None:
    """Stores the report with its event and returns it projected; None when the key is taken
    already (a concurrent submission with the same key: look it up with by_idempotency_key)."""
    async with pool.connection() as conn:
        return await submit_on(conn, submission, key, payload_hash, token_hash)


async def submit_on(conn: AsyncConnection, submission: Submission, key: str | None,
                    payload_hash: str, token_hash: bytes) -> Row | None:
    """submit, in the caller's transaction (the report's photos are written in the same one)."""
    params = submission.row() | {"key": key, "payload": payload_hash, "token": token_hash}
    rows = await fetch_on(conn, INSERT_SQL, params)
    return await projected(conn, rows[0]["id"]) if rows else None


async def by_token(pool: AsyncConnectionPool, token_hash: bytes) -> Row | None:
    """The report a tracking token belongs to, projected."""
    async with pool.connection() as conn:
        rows = await fetch_on(conn, BY_TOKEN_SQL, [token_hash])
        return await projected(conn, rows[0]["id"]) if rows else None


async def lock_by_token(conn: AsyncConnection, token_hash: bytes) -> Row | None:
    """id and closed_at of the token's report, locked for the caller's transaction."""
    rows = await fetch_on(conn, BY_TOKEN_SQL + " FOR UPDATE", [token_hash])
    return rows[0] if rows else None


# -- officers: status changes and hand-over, each with its event ------------------------------

EVENT_SQL = """
INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, comment, forwarded_to)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
# `handled` by the one rule core.officer_handles, for the officer's unit.
LOCK_SQL = """
SELECT r.id, r.status, r.county_code, r.police_unit_id,
       (SELECT is_initial FROM core.statuses WHERE id = r.status) AS is_new,
       core.officer_handles(%(unit_id)s, (SELECT core.unit_counties(%(unit_id)s)), r.county_code,
                            r.police_unit_id) IS TRUE AS handled
FROM core.reports AS r
WHERE r.id = %(id)s FOR UPDATE OF r
"""
TRANSITION_SQL = """
SELECT EXISTS (SELECT FROM core.statuses WHERE id = %(to)s) AS known,
       EXISTS (SELECT FROM core.status_transitions WHERE from_status = %(from)s AND to_status = %(to)s)
           AS allowed,
       coalesce((SELECT is_forwarding FROM core.statuses WHERE id = %(to)s), false) AS forwarding,
       EXISTS (SELECT FROM core.forward_bodies WHERE id = %(body)s AND active) AS body_known
"""
SET_STATUS_SQL = """
UPDATE core.reports SET status = %(to)s, forwarded_to = coalesce(%(body)s, forwarded_to)
WHERE id = %(id)s
"""
# The first opening: read now, and a new report under verification (or straight to the status
# of the officer's verdict, given in the same action: see set_status).
OPEN_SQL = """
UPDATE core.reports
SET read_at = coalesce(read_at, now()),
    status = CASE WHEN status = (SELECT id FROM core.statuses WHERE is_initial)
                  THEN coalesce(%(then)s, 'under_verification') ELSE status END,
    forwarded_to = coalesce(%(body)s, forwarded_to)
WHERE id = %(id)s AND read_at IS NULL
RETURNING status
"""
ASSIGN_SQL = "UPDATE core.reports SET police_unit_id = %s WHERE id = %s"
MARK_ABUSIVE_SQL = "UPDATE core.reports SET abusive = true WHERE id = %s AND NOT abusive RETURNING id"
OPENED_STATUS = "under_verification"   # where opening a new report takes it (config/statuses.yml)
UNIT_EXISTS_SQL = "SELECT 1 FROM core.police_units WHERE id = %s"


async def add_event(conn: AsyncConnection, report_id: Any, kind: str, from_status: str | None,
                    to_status: str | None, actor: str, comment: str | None,
                    forwarded_to: str | None = None) -> None:
    await fetch_on(conn, EVENT_SQL, [report_id, kind, from_status, to_status, actor, comment,
                                     forwarded_to])


async def lock_for_officer(conn: AsyncConnection, report_id: uuid.UUID, unit_id: str) -> Row | None:
    """id, status, county_code, police_unit_id and `handled` (by the officer's unit) of the
    report, locked for the caller's transaction; None if there is no such report."""
    rows = await fetch_on(conn, LOCK_SQL, {"id": report_id, "unit_id": unit_id})
    return rows[0] if rows else None


async def transition(conn: AsyncConnection, from_status: str, to_status: str,
                     body: str | None = None) -> Row:
    """known (the target status exists), allowed (the workflow has this step), forwarding (it
    hands the report outside the police) and body_known (`body` is an active forward body)."""
    return (await fetch_on(conn, TRANSITION_SQL, {"from": from_status, "to": to_status,
                                                  "body": body}))[0]


async def set_status(conn: AsyncConnection, report_id: Any, from_status: str, to_status: str,
                     actor: str, comment: str | None, forward_to: str | None = None) -> None:
    """The change and its event."""
    await fetch_on(conn, SET_STATUS_SQL, {"to": to_status, "body": forward_to, "id": report_id})
    await status_event(conn, report_id, from_status, to_status, actor, comment, forward_to)


async def status_event(conn: AsyncConnection, report_id: Any, from_status: str, to_status: str,
                       actor: str, comment: str | None, forward_to: str | None = None) -> None:
    """A status change's event; forwarding names the body in it (`forwarded_to`: the pages say
    it in the reader's language; events before migration 0019 said it in their comment)."""
    await add_event(conn, report_id, "status_changed", from_status, to_status, actor, comment,
                    forward_to or None)


async def open_report(conn: AsyncConnection, report: Row, actor: str, then: str | None = None,
                      forward_to: str | None = None) -> Row:
    """Records the first opening of a locked report (event `opened`); a new report moves to under
    verification, with its event, and, when the officer gives a verdict in the same action
    (`then`), on to it in one change with the verdict's event as well (one public change, not a
    passing yellow). Returns the report with its status now."""
    rows = await fetch_on(conn, OPEN_SQL, {"id": report["id"], "then": then, "body": forward_to})
    if not rows:
        return report
    await add_event(conn, report["id"], "opened", None, None, actor, None)
    if rows[0]["status"] != report["status"]:
        await add_event(conn, report["id"], "status_changed", report["status"], OPENED_STATUS, actor, None)
    return report | {"status": rows[0]["status"], "opened_from": report["status"]}


async def mark_abusive(conn: AsyncConnection, report_id: Any, actor: str, comment: str | None) -> bool:
    """Marks the report abusive (it leaves the public layer and is never published), with its
    event; False when it was marked already."""
    if not await fetch_on(conn, MARK_ABUSIVE_SQL, [report_id]):
        return False
    await add_event(conn, report_id, "marked_abusive", None, None, actor, comment)
    return True


async def add_note(conn: AsyncConnection, report_id: Any, actor: str, text: str) -> None:
    """An officer's internal note: an event of the report's history, never shown to the citizen."""
    await add_event(conn, report_id, "note", None, None, actor, text)


async def police_unit_exists(conn: AsyncConnection, unit_id: str) -> bool:
    return bool(await fetch_on(conn, UNIT_EXISTS_SQL, [unit_id]))


async def assign(conn: AsyncConnection, report_id: Any, unit_id: str, actor: str,
                 comment: str | None) -> None:
    """Hands the report to the unit; the event's comment names the unit."""
    await fetch_on(conn, ASSIGN_SQL, [unit_id, report_id])
    await add_event(conn, report_id, "assigned", None, None, actor,
                    f"to {unit_id}" + (f": {comment}" if comment else ""))
