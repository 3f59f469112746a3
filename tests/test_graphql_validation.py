"""gateway.graphql.validation: what citizens send, checked field by field; every refusal is a
BAD_USER_INPUT naming the field. No database; the same checks through GraphQL are in
test_graphql_workflow.py."""

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.graphql import validation
from gateway.graphql.errors import BadInput

NOW = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)


def refused(call, *args, **kwargs) -> BadInput:
    with pytest.raises(BadInput) as caught:
        call(*args, **kwargs)
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    return caught.value


# -- free text -----------------------------------------------------------------------------------
def test_text_is_trimmed_and_empty_text_is_none() -> None:
    assert validation.text("  a broken lamp \n", "description", 100) == "a broken lamp"
    assert validation.text("   \n\t ", "description", 100) is None
    assert validation.text("", "description", 100) is None
    assert validation.text(None, "description", 100) is None


def test_text_at_its_limit_passes_and_one_more_character_is_refused() -> None:
    assert validation.text("x" * 10, "comment", 10) == "x" * 10
    error = refused(validation.text, "x" * 11, "comment", 10)
    assert error.extensions["field"] == "comment"
    assert "11 characters" in error.message and "limit is 10" in error.message


def test_the_limit_counts_the_trimmed_text() -> None:
    assert validation.text("  " + "x" * 10 + "  ", "comment", 10) == "x" * 10


def test_line_breaks_and_tabs_are_allowed_in_multi_line_text() -> None:
    assert validation.text("line one\r\nline\ttwo", "description", 100) == "line one\r\nline\ttwo"


@pytest.mark.parametrize("control", ["\n", "\t", "\r"])
def test_a_single_line_field_refuses_line_breaks_and_tabs(control: str) -> None:
    error = refused(validation.text, f"jan{control}kowalski", "contact", 100, single_line=True)
    assert error.extensions["field"] == "contact" and f"U+{ord(control):04X}" in error.message


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\u200b", "\u202e", "\ufeff", "\ue000"])
def test_control_format_and_private_use_characters_are_refused(character: str) -> None:
    error = refused(validation.text, f"a{character}b", "description", 100)
    assert error.extensions["field"] == "description"
    assert f"U+{ord(character):04X}" in error.message


def test_letters_of_any_script_and_emoji_pass() -> None:
    text = "Zażółć gęślą jaźń — ДТП 🚗"
    assert validation.text(text, "description", 100) == text


# -- coordinates -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lon, lat", [(-180, -90), (180, 90), (0, 0), (21.01, 52.23)])
def test_coordinates_within_the_world_pass(lon: float, lat: float) -> None:
    assert validation.coordinates(lon, lat) is None


@pytest.mark.parametrize("lon, lat", [(math.nan, 52), (21, math.inf), (-math.inf, 52)])
def test_coordinates_must_be_finite(lon: float, lat: float) -> None:
    assert refused(validation.coordinates, lon, lat).extensions["field"] == "longitude"


@pytest.mark.parametrize("lon", [-180.0001, 180.0001, 1000])
def test_longitude_out_of_range_names_longitude(lon: float) -> None:
    assert refused(validation.coordinates, lon, 52).extensions["field"] == "longitude"


def test_latitude_out_of_range_names_latitude_and_suspects_a_swap() -> None:
    swapped = refused(validation.coordinates, 52.23, 121.01)
    assert swapped.extensions["field"] == "latitude" and "swapped" in swapped.message
    wrong = refused(validation.coordinates, 120, 95)
    assert wrong.extensions["field"] == "latitude" and "swapped" not in wrong.message


# -- time ------------------------------------------------------------------------------------------
def test_a_recent_time_with_an_offset_passes_unchanged() -> None:
    warsaw = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 25, 17, 0, tzinfo=warsaw)
    assert validation.occurred_at(when, 30, now=NOW) is when


def test_a_time_without_an_offset_is_refused() -> None:
    error = refused(validation.occurred_at, datetime(2026, 11, 25, 17, 0), 30, now=NOW)
    assert error.extensions["field"] == "occurredAt" and "time zone" in error.message


def test_the_future_is_refused_beyond_a_little_clock_skew() -> None:
    assert validation.occurred_at(NOW + validation.CLOCK_SKEW, 30, now=NOW)
    error = refused(validation.occurred_at, NOW + validation.CLOCK_SKEW + timedelta(seconds=1), 30, now=NOW)
    assert error.extensions["field"] == "occurredAt" and "future" in error.message


def test_events_older_than_the_limit_are_refused() -> None:
    assert validation.occurred_at(NOW - timedelta(days=30), 30, now=NOW)
    error = refused(validation.occurred_at, NOW - timedelta(days=30, seconds=1), 30, now=NOW)
    assert error.extensions["field"] == "occurredAt" and "30 days" in error.message


def test_without_a_given_now_the_clock_is_used() -> None:
    assert validation.occurred_at(datetime.now(UTC) - timedelta(hours=1), 30)
    refused(validation.occurred_at, datetime.now(UTC) + timedelta(hours=1), 30)


# -- idempotency keys ------------------------------------------------------------------------------
def test_an_idempotency_key_is_optional_and_kept_as_given() -> None:
    assert validation.idempotency_key(None) is None
    key = "7f1c1c4e-5b1a-4d53-9c57-0b3f3f1f4a10"
    assert validation.idempotency_key(key) == key
    assert validation.idempotency_key("k" * validation.MAX_IDEMPOTENCY_KEY)


@pytest.mark.parametrize("key", ["", "k" * (validation.MAX_IDEMPOTENCY_KEY + 1), "a\nb", "a\x00b",
                                 "a\u200bb"])
def test_an_empty_long_or_unprintable_key_is_refused(key: str) -> None:
    assert refused(validation.idempotency_key, key).extensions["field"] == "idempotencyKey"
