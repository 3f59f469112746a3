"""Relay cursors of the two report lists: the public `reports` (gateway.graphql.reports: the
ordering and the public day) and the officers' `staffReports` (gateway.graphql.staff: the exact
time). A cursor is opaque to clients, and one that was not handed out for this list and this
ordering is a BAD_USER_INPUT on `after`, never a crash. No database; paging through GraphQL is
in test_graphql_reads.py and test_graphql_staff.py."""

import base64
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gateway.graphql import reports, staff
from gateway.graphql.errors import BadInput
from gateway.graphql.reports import ReportOrder

REPORT = uuid.UUID("0b9d4c5e-3f0a-4c1e-9a57-2d8e6f7a1b2c")
DESC, ASC = ReportOrder.OCCURRED_ON_DESC, ReportOrder.OCCURRED_ON_ASC


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def refused(decode, cursor: str, order: ReportOrder) -> BadInput:
    with pytest.raises(BadInput) as caught:
        decode(cursor, order)
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    assert caught.value.extensions["argument"] == "after"
    return caught.value


# -- public list ---------------------------------------------------------------------------------
@pytest.mark.parametrize("order", list(ReportOrder))
def test_a_public_cursor_gives_back_its_day_and_report(order: ReportOrder) -> None:
    cursor = reports.encode_cursor(order, date(2026, 3, 5), REPORT)
    assert reports.decode_cursor(cursor, order) == (date(2026, 3, 5), REPORT)


def test_a_public_cursor_is_url_safe_text() -> None:
    cursor = reports.encode_cursor(DESC, date(2026, 3, 5), REPORT)
    assert cursor.isascii() and not set(cursor) & set("+/ ")


def test_a_public_cursor_holds_no_more_than_the_public_day() -> None:
    """The public list is ordered by the public day: its cursor must not carry an exact time."""
    raw = base64.urlsafe_b64decode(reports.encode_cursor(DESC, date(2026, 3, 5), REPORT)).decode()
    assert raw == f"occurred_on_desc|2026-03-05|{REPORT}"


def test_a_public_cursor_of_the_other_ordering_is_refused() -> None:
    cursor = reports.encode_cursor(DESC, date(2026, 3, 5), REPORT)
    assert "ordering" in refused(reports.decode_cursor, cursor, ASC).message


@pytest.mark.parametrize("cursor", [
    "", "not base64 at all!", b64("occurred_on_desc|2026-03-05"), b64(f"occurred_on_desc|yesterday|{REPORT}"),
    b64("occurred_on_desc|2026-03-05|not-a-uuid"), b64(f"occurred_on_desc|2026-03-05|{REPORT}|extra"),
    base64.urlsafe_b64encode(b"\xff\xfe|\x00").decode(),
])
def test_a_made_up_public_cursor_is_refused(cursor: str) -> None:
    refused(reports.decode_cursor, cursor, DESC)


# -- officers' list ------------------------------------------------------------------------------
@pytest.mark.parametrize("order", list(ReportOrder))
def test_a_staff_cursor_gives_back_the_exact_time_and_report(order: ReportOrder) -> None:
    moment = datetime(2026, 3, 5, 14, 37, 12, 345678, tzinfo=timezone(timedelta(hours=1)))
    at, report = staff.decode_cursor(staff.encode_cursor(order, moment, REPORT), order)
    assert (at, report) == (moment, REPORT) and at.utcoffset() == timedelta(hours=1)


def test_a_staff_cursor_of_the_other_ordering_is_refused() -> None:
    cursor = staff.encode_cursor(DESC, datetime(2026, 3, 5, tzinfo=UTC), REPORT)
    assert "staffReports" in refused(staff.decode_cursor, cursor, ASC).message


def test_the_two_lists_do_not_take_each_others_cursors() -> None:
    public = reports.encode_cursor(DESC, date(2026, 3, 5), REPORT)
    private = staff.encode_cursor(DESC, datetime(2026, 3, 5, tzinfo=UTC), REPORT)
    refused(staff.decode_cursor, public, DESC)
    refused(reports.decode_cursor, private, DESC)


def test_a_staff_cursor_without_a_time_zone_is_refused() -> None:
    naive = b64(f"staff|occurred_on_desc|2026-03-05T14:37:00|{REPORT}")
    refused(staff.decode_cursor, naive, DESC)


@pytest.mark.parametrize("cursor", [
    "", "%%%", b64(f"staff|occurred_on_desc|{REPORT}"), b64(f"staff|occurred_on_desc|noon|{REPORT}"),
    b64("staff|occurred_on_desc|2026-03-05T14:37:00+00:00|42"),
    b64(f"public|occurred_on_desc|2026-03-05T14:37:00+00:00|{REPORT}"),
])
def test_a_made_up_staff_cursor_is_refused(cursor: str) -> None:
    refused(staff.decode_cursor, cursor, DESC)
