"""Publication of reports dated by month (sensitive categories), watched from outside.

A sensitive report's public date is its month, so the moment it appears in the public layer must
tell no more than that: every such report submitted in one local month (Europe/Warsaw) appears
at the same moment, once the month has ended and the delay (`publication.after_hours`, 24 h)
has passed, whether or not the police have taken it up. As in test_privacy.py, reports are
written into core with controlled submission times, the publication job is run, and the public
role looks at `open`.
"""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from store.privacy import load_policy
from tests.support import CONFIG_DIR, insert_report

pytestmark = pytest.mark.usefixtures("clean_reports")

SENSITIVE = "minors-at-risk"
POLICY = load_policy(CONFIG_DIR / "privacy.yml")
ZONE = ZoneInfo(POLICY.timezone)


def is_public(conn: psycopg.Connection, report: uuid.UUID) -> bool:
    return conn.execute("SELECT count(*) FROM open.reports WHERE id = %s", [report]).fetchone()[0] == 1


def public_status(conn: psycopg.Connection, report: uuid.UUID) -> str | None:
    row = conn.execute("SELECT status FROM open.reports WHERE id = %s", [report]).fetchone()
    return row[0] if row else None


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    """The start of the local month `months_back` before the one `moment` falls in."""
    local = moment.astimezone(ZONE)
    year, month = local.year, local.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=ZONE)


def last_closed_month(now: datetime) -> tuple[datetime, datetime]:
    """The latest local month that ended at least the delay ago: [start, end)."""
    end = month_start(now - POLICY.publish_after)
    return month_start(end, 1), end


def publish(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT core.publish_due_reports()").fetchone()[0]


def test_a_taken_up_sensitive_report_is_not_published_at_once(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """The police read a report within 2 days: publishing it when they do would date its
    submission to a few days. An ordinary report still appears when the police take it up."""
    sensitive = insert_report(app_conn, category=SENSITIVE)
    ordinary = insert_report(app_conn)
    for report in (sensitive, ordinary):
        app_conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])
    assert public_status(public_conn, ordinary) == "confirmed"
    assert not is_public(public_conn, sensitive)
    publish(app_conn)
    assert not is_public(public_conn, sensitive)


def test_sensitive_reports_wait_for_the_end_of_their_month_not_the_hour(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    now = app_conn.execute("SELECT now()").fetchone()[0]
    _, open_month = last_closed_month(now)
    # Submitted at the very start of a month that has not ended the delay ago: at least 24 hours
    # old, its clock hour long over, and yet not due (an ordinary report of that hour is).
    early = max(open_month, now - timedelta(hours=30))
    waiting = insert_report(app_conn, category=SENSITIVE, created_at=early)
    taken_up = insert_report(app_conn, category=SENSITIVE, created_at=early, status="confirmed")
    ordinary = insert_report(app_conn, created_at=now - timedelta(hours=30))
    publish(app_conn)
    assert is_public(public_conn, ordinary)
    assert not is_public(public_conn, waiting)
    assert not is_public(public_conn, taken_up)


def test_a_month_of_sensitive_reports_is_published_together_after_it_ends(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """The first and the last second of a month, taken up or not: one batch, one moment."""
    now = app_conn.execute("SELECT now()").fetchone()[0]
    start, end = last_closed_month(now)
    month = [insert_report(app_conn, category=SENSITIVE, created_at=start),
             insert_report(app_conn, category=SENSITIVE, created_at=start + (end - start) / 2,
                           status="confirmed"),
             insert_report(app_conn, category=SENSITIVE, created_at=end - timedelta(seconds=1))]
    abusive = insert_report(app_conn, category=SENSITIVE, created_at=start, abusive=True)
    after = insert_report(app_conn, category=SENSITIVE, created_at=end)
    assert not any(is_public(public_conn, report) for report in month)
    assert publish(app_conn) >= len(month)
    assert all(is_public(public_conn, report) for report in month)
    assert public_status(public_conn, month[1]) == "confirmed"
    assert not is_public(public_conn, abusive)
    assert not is_public(public_conn, after)
    months = public_conn.execute(
        "SELECT DISTINCT date_precision FROM open.reports WHERE id = ANY(%s)", [month]).fetchall()
    assert months == [("month",)]


def test_a_category_no_longer_sensitive_publishes_its_taken_up_reports(
        app_conn: psycopg.Connection, public_conn: psycopg.Connection) -> None:
    """Its reports are dated by day from then on, and the police's take-up publishes them: those
    taken up while they waited for their month go out with the next publication."""
    report = insert_report(app_conn, category="vandalism")
    try:
        app_conn.execute("UPDATE core.categories SET sensitive = true WHERE id = 'vandalism'")
        app_conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])
        assert not is_public(public_conn, report)
    finally:
        app_conn.execute("UPDATE core.categories SET sensitive = false WHERE id = 'vandalism'")
    publish(app_conn)
    assert public_status(public_conn, report) == "confirmed"
