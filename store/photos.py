"""Photos of reports in core (issue 12, point 5): the rows that name the stored bytes, written in
the report's transaction, read for officers (by report, batched for the DataLoader; one photo
with whether the officer's unit handles its report), and erased past retention."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from store.rows import Row, fetch, fetch_on


@dataclass(frozen=True)
class StoredPhoto:
    """A photo as written: its place in the report, its storage key, what the bytes are."""
    position: int
    storage_key: str
    media_type: str
    byte_size: int
    width: int
    height: int
    sha256: bytes


INSERT_SQL = """
INSERT INTO core.report_photos (report_id, position, storage_key, media_type, byte_size, width,
                                height, sha256)
SELECT %(report_id)s, * FROM unnest(%(positions)s::smallint[], %(keys)s::text[],
                                    %(media_types)s::text[], %(sizes)s::integer[],
                                    %(widths)s::integer[], %(heights)s::integer[],
                                    %(hashes)s::bytea[])
"""
COLUMNS = ("p.id, p.report_id, p.position, p.media_type, p.byte_size, p.width, p.height, p.sha256, "
           "p.created_at")
BY_REPORTS_SQL = f"""
SELECT {COLUMNS} FROM core.report_photos AS p
WHERE p.report_id = ANY(%s::uuid[]) ORDER BY p.report_id, p.position
"""
# `handled`: whether the officer's unit (NULL for an analyst) handles the photo's report, by the
# one rule core.officer_handles (store/sql/17_officer_rule.sql).
FOR_STAFF_SQL = f"""
SELECT {COLUMNS}, p.storage_key,
       core.officer_handles(%(unit_id)s, (SELECT core.unit_counties(%(unit_id)s)), r.county_code,
                            r.police_unit_id) IS TRUE AS handled
FROM core.report_photos AS p JOIN core.reports AS r ON r.id = p.report_id
WHERE p.id = %(id)s
"""
PAST_RETENTION_SQL = "SELECT id, report_id, storage_key FROM core.photos_past_retention(%s)"
ERASE_SQL = "SELECT core.erase_photos(%s::uuid[]) AS erased"


async def insert(conn: AsyncConnection, report_id: uuid.UUID, photos: Sequence[StoredPhoto]) -> None:
    """The photos' rows, in the caller's transaction (the report's)."""
    if not photos:
        return
    await fetch_on(conn, INSERT_SQL, {
        "report_id": report_id, "positions": [p.position for p in photos],
        "keys": [p.storage_key for p in photos], "media_types": [p.media_type for p in photos],
        "sizes": [p.byte_size for p in photos], "widths": [p.width for p in photos],
        "heights": [p.height for p in photos], "hashes": [p.sha256 for p in photos]})


async def of_reports(pool: AsyncConnectionPool, report_ids: Sequence[str]) -> list[Row]:
    """The photos of these reports, by report and position (no storage keys)."""
    return await fetch(pool, BY_REPORTS_SQL, [list(report_ids)])


async def for_staff(pool: AsyncConnectionPool, photo_id: uuid.UUID, unit_id: str | None) -> Row | None:
    """One photo with its storage key and `handled` for the officer's unit (None: an analyst)."""
    rows = await fetch(pool, FOR_STAFF_SQL, {"id": photo_id, "unit_id": unit_id})
    return rows[0] if rows else None


async def past_retention(pool: AsyncConnectionPool, max_rows: int) -> list[Row]:
    """id, report_id, storage_key of photos whose report is past the retention period."""
    return await fetch(pool, PAST_RETENTION_SQL, [max_rows])


async def erase(pool: AsyncConnectionPool, photo_ids: Sequence[uuid.UUID]) -> int:
    """Deletes these photos' rows (their bytes are gone already), one event per report."""
    async with pool.connection() as conn:
        return (await fetch_on(conn, ERASE_SQL, [list(photo_ids)]))[0]["erased"]
