"""tiles.filters: the optional tile filters, parsed from the query, checked against the
catalogue, and keyed canonically (the cache key and the ETag depend on it). No database."""

from datetime import date

import pytest
from starlette.datastructures import QueryParams

from tiles.errors import BadTileRequest
from tiles.filters import TileFilters, parse_filters

CATEGORIES = frozenset({"vandalism", "speeding", "poaching"})
STATUSES = frozenset({"under_verification", "confirmed", "rejected"})


def parse(query: str) -> TileFilters:
    return parse_filters(QueryParams(query), CATEGORIES, STATUSES)


def refusal(query: str) -> str:
    with pytest.raises(BadTileRequest) as caught:
        parse(query)
    return str(caught.value)


def test_no_filters_are_empty_with_an_empty_key() -> None:
    filters = parse("")
    assert filters == TileFilters() and filters.empty
    assert filters.key == "" and filters.digest == "all" and filters.query_items() == []


def test_other_parameters_are_not_filters() -> None:
    assert parse("f=mvt&v=3").empty


def test_lists_are_split_trimmed_deduplicated_and_sorted() -> None:
    filters = parse("categories=speeding, vandalism,,speeding&categories=poaching&statuses=confirmed")
    assert filters.categories == ("poaching", "speeding", "vandalism")
    assert filters.statuses == ("confirmed",)
    assert not filters.empty


def test_equal_filters_have_equal_keys_whatever_the_url_order() -> None:
    one = parse("categories=vandalism,speeding&statuses=confirmed&from=2026-01-01")
    other = parse("from=2026-01-01&statuses=confirmed&categories=speeding&categories=vandalism")
    assert one == other and one.key == other.key and one.digest == other.digest
    assert one.key == "categories=speeding,vandalism&statuses=confirmed&from=2026-01-01"


def test_different_filters_have_different_keys_and_digests() -> None:
    variants = [parse(q) for q in ("categories=vandalism", "categories=speeding", "statuses=confirmed",
                                   "from=2026-01-01", "to=2026-01-01", "")]
    assert len({f.key for f in variants}) == len(variants)
    assert len({f.digest for f in variants}) == len(variants)


def test_the_query_items_give_back_a_query_that_parses_to_the_same_filters() -> None:
    filters = parse("to=2026-02-01&statuses=rejected,confirmed&from=2026-01-01&categories=poaching")
    assert parse(str(QueryParams(filters.query_items()))) == filters


def test_unknown_ids_are_refused_naming_them_and_the_known_ones() -> None:
    message = refusal("categories=vandalism,arson,burglary")
    assert "unknown categories: arson, burglary" in message
    assert "known: poaching, speeding, vandalism" in message
    assert "unknown statuses: published" in refusal("statuses=published")


def test_ids_are_matched_exactly() -> None:
    assert "VANDALISM" in refusal("categories=VANDALISM")


def test_dates_are_iso_days() -> None:
    filters = parse("from=2026-01-01&to=2026-01-31")
    assert (filters.date_from, filters.date_to) == (date(2026, 1, 1), date(2026, 1, 31))
    assert parse("from=").date_from is None


@pytest.mark.parametrize("query, name", [("from=yesterday", "from"), ("to=2026-13-01", "to"),
                                         ("from=01.02.2026", "from")])
def test_a_date_that_is_not_a_day_is_refused_naming_the_parameter(query: str, name: str) -> None:
    assert refusal(query).startswith(f"{name} must be a date YYYY-MM-DD")


def test_from_after_to_is_refused_but_one_day_is_fine() -> None:
    assert "from must not be after to" in refusal("from=2026-02-01&to=2026-01-31")
    one_day = parse("from=2026-02-01&to=2026-02-01")
    assert one_day.date_from == one_day.date_to == date(2026, 2, 1)
