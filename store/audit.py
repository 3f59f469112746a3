"""The audit of report histories: every chain of events recomputed, the first break named.

Each event's hash covers its content and the hash of the event before it (the migration
`0009_report_event_chain.sql` defines the format, `0019` adds the forwarded-to body;
`event_hash` here is its independent twin, so the check does not trust a function stored in the
database it checks). A break is any of:
an event whose content no longer gives its hash (altered), a gap in the places or a
`previous_hash` that is not the hash of the event before (deleted, inserted or reordered),
a history that does not begin with `created`, and a report whose status is not where its history
ends (the newest events deleted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Reports with their events, in chain order; LEFT JOIN so a report without any event shows up.
CHAINS_SQL = """
SELECT r.id AS report_id, r.status AS report_status,
       e.id, e.seq, e.kind, e.from_status, e.to_status, e.actor, e.at, e.comment,
       e.forwarded_to, e.previous_hash, e.hash
FROM core.reports AS r
LEFT JOIN core.report_events AS e ON e.report_id = r.id
WHERE %(ids)s::uuid[] IS NULL OR r.id = ANY(%(ids)s::uuid[])
ORDER BY r.id, e.seq
"""


def _field(value: str | None) -> str:
    return "-" if value is None else f"{len(value)}:{value}"


def event_hash(previous: bytes | None, report_id: UUID, seq: int, kind: str,
               from_status: str | None, to_status: str | None, actor: str, at: datetime,
               comment: str | None, forwarded_to: str | None = None) -> bytes:
    micros = (at - EPOCH) // timedelta(microseconds=1)
    content = "|".join([
        previous.hex() if previous is not None else "-", str(report_id), str(seq), _field(kind),
        _field(from_status), _field(to_status), _field(actor), str(micros), _field(comment),
    ])
    nine = hashlib.sha256(content.encode()).digest()
    if forwarded_to is None:
        return nine
    # the body forwarded to (migration 0019): over the nine fields' hash, so older events keep theirs
    return hashlib.sha256(f"{nine.hex()}|{_field(forwarded_to)}".encode()).digest()


@dataclass(frozen=True)
class Break:
    report_id: UUID
    event_id: int | None
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"report {self.report_id}"
        if self.event_id is not None:
            where += f", event {self.event_id} (place {self.seq})"
        return f"{where}: {self.reason}"


@dataclass
class AuditResult:
    reports: int = 0
    events: int = 0
    first_break: Break | None = None
    breaks: int = 0  # broken histories


def _check_report(report_id: UUID, status: str, events: list[dict[str, Any]]) -> Iterator[Break]:
    if not events:
        yield Break(report_id, None, None, "the report has no history")
        return
    previous: bytes | None = None
    last_status: str | None = None
    for expected_seq, event in enumerate(events, start=1):
        eid, seq = event["id"], event["seq"]
        if expected_seq == 1 and event["kind"] != "created":
            yield Break(report_id, eid, seq, f"the history begins with '{event['kind']}', not 'created'")
        if seq != expected_seq:
            yield Break(report_id, eid, seq,
                        f"place {seq} where {expected_seq} was expected: an event before it is missing")
            return
        if event["previous_hash"] != previous:
            yield Break(report_id, eid, seq,
                        "its link does not match the event before it: an event was removed or replaced")
            return
        recomputed = event_hash(previous, report_id, seq, event["kind"], event["from_status"],
                                event["to_status"], event["actor"], event["at"], event["comment"],
                                event["forwarded_to"])
        if recomputed != event["hash"]:
            yield Break(report_id, eid, seq, "its content does not match its hash: the event was altered")
            return
        previous = event["hash"]
        if event["to_status"] is not None:
            last_status = event["to_status"]
    if last_status is not None and last_status != status:
        yield Break(report_id, events[-1]["id"], events[-1]["seq"],
                    f"the report is '{status}' but its history ends at '{last_status}': "
                    "the newest events are missing")


def verify(conn: psycopg.Connection, progress: Callable[[int], None] | None = None,
           report_ids: list[UUID] | None = None) -> AuditResult:
    """Checks every chain (or those of `report_ids`), streaming: a server-side cursor keeps
    memory flat at any size."""
    result = AuditResult()

    def close(report_id: UUID | None, status: str, events: list[dict[str, Any]]) -> None:
        if report_id is None:
            return
        result.reports += 1
        found = next(_check_report(report_id, status, events), None)  # a history's first break
        if found is not None:
            result.breaks += 1
            if result.first_break is None:
                result.first_break = found
        if progress and result.reports % 10_000 == 0:
            progress(result.reports)

    with conn.transaction(), conn.cursor("audit_chains", row_factory=psycopg.rows.dict_row) as cur:
        cur.itersize = 5_000
        cur.execute(CHAINS_SQL, {"ids": report_ids})
        current: UUID | None = None
        status = ""
        events: list[dict[str, Any]] = []
        for row in cur:
            if row["report_id"] != current:
                close(current, status, events)
                current, status, events = row["report_id"], row["report_status"], []
            if row["id"] is not None:
                result.events += 1
                events.append(row)
        close(current, status, events)
    return result
