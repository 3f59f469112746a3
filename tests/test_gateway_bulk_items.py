"""gateway/bulk_items.py: the partners' bulk batch read and checked item by item (no database)."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.bulk_items import JSON, NDJSON, BatchError, checked, decode, gunzip, media_type

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
GOOD = {"external_id": "A-1", "category": "vandalism", "longitude": 21.01, "latitude": 52.23,
        "occurred_at": "2026-12-01T18:30:00+01:00", "description": "Graffiti", "contact": "a@b.pl"}


def check(value: object) -> list[tuple[str, str]]:
    item = checked(0, value, None, 30, NOW)
    return [(r.field, r.message) for r in item.reasons]


def test_a_good_item_becomes_a_submission_in_utc() -> None:
    item = checked(7, GOOD, None, 30, NOW)
    assert item.reasons == [] and item.index == 7 and item.external_id == "A-1"
    assert item.submission is not None
    assert item.submission.occurred_at == datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert (item.submission.category, item.submission.lon, item.submission.lat) == ("vandalism", 21.01, 52.23)


def test_every_bad_field_is_named_at_once() -> None:
    reasons = check({"external_id": "", "longitude": "21", "latitude": True, "colour": "red",
                     "occurred_at": 5, "description": 3})
    fields = sorted(field for field, _ in reasons)
    assert fields == ["category", "colour", "description", "external_id", "latitude", "longitude",
                      "occurred_at"]


def test_submit_reports_rules_apply_with_the_bulk_names() -> None:
    assert [f for f, _ in check(GOOD | {"longitude": 200})] == ["longitude"]
    assert [f for f, _ in check(GOOD | {"latitude": 95})] == ["latitude"]
    assert [f for f, _ in check(GOOD | {"longitude": float("inf")})] == ["longitude"]
    assert check(GOOD | {"occurred_at": "2026-12-01T18:30:00"}) == [
        ("occurred_at", "occurred_at needs a time zone offset, e.g. 2026-11-25T18:30:00+01:00.")]
    assert [f for f, _ in check(GOOD | {"occurred_at": "yesterday"})] == ["occurred_at"]
    future = (NOW + timedelta(hours=1)).isoformat()
    assert check(GOOD | {"occurred_at": future}) == [("occurred_at", "occurred_at is in the future.")]
    old = (NOW - timedelta(days=31)).isoformat()
    assert [f for f, _ in check(GOOD | {"occurred_at": old})] == ["occurred_at"]
    assert [f for f, _ in check(GOOD | {"description": "x" * 4001})] == ["description"]
    assert [f for f, _ in check(GOOD | {"contact": "a\nb"})] == ["contact"]
    assert [f for f, _ in check(GOOD | {"description": "nul \x00"})] == ["description"]
    assert [f for f, _ in check(GOOD | {"external_id": "x" * 201})] == ["external_id"]


def test_empty_description_is_none_and_contact_optional() -> None:
    item = checked(0, {k: v for k, v in GOOD.items() if k != "contact"} | {"description": "  "},
                   None, 30, NOW)
    assert item.submission is not None
    assert item.submission.description is None and item.submission.contact is None


def test_not_an_object_and_a_line_that_is_not_json_are_items_refused() -> None:
    assert check([1, 2])[0][0] == "(item)"
    item = checked(3, None, "This line is not JSON: x.", 30, NOW)
    assert item.submission is None and item.reasons[0].field == "(item)"


def test_ndjson_lines_each_an_item_and_blank_lines_skipped() -> None:
    body = (json.dumps(GOOD) + "\n\n{oops\n" + json.dumps(GOOD) + "\n").encode()
    values = decode(body, NDJSON, 10)
    assert [why is None for _, why in values] == [True, False, True]


def test_a_json_array_is_all_or_nothing_to_read() -> None:
    assert len(decode(json.dumps([GOOD, GOOD]).encode(), JSON, 10)) == 2
    for body, status in [(b"[{", 400), (b'{"a": 1}', 400), (b"[]", 422), (b"\xff", 400)]:
        with pytest.raises(BatchError) as refused:
            decode(body, JSON, 10)
        assert refused.value.status == status


def test_too_many_items_is_413() -> None:
    with pytest.raises(BatchError) as refused:
        decode(json.dumps([GOOD] * 11).encode(), JSON, 10)
    assert refused.value.status == 413 and "limit is 10" in refused.value.message
    with pytest.raises(BatchError):
        decode(("{}\n" * 11).encode(), NDJSON, 10)


def test_media_types() -> None:
    assert media_type("application/x-ndjson; charset=utf-8") == NDJSON
    assert media_type("application/json") == JSON
    with pytest.raises(BatchError) as refused:
        media_type("text/csv")
    assert refused.value.status == 415


def test_gzip_is_decoded_and_a_bomb_stops_at_the_limit() -> None:
    assert gunzip(gzip.compress(b"hello"), 100) == b"hello"
    with pytest.raises(BatchError) as refused:
        gunzip(gzip.compress(b"\0" * 10_000_000), 1000)
    assert refused.value.status == 413
    with pytest.raises(BatchError) as refused:
        gunzip(b"not gzip", 1000)
    assert refused.value.status == 400
