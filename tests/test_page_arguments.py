"""gateway.graphql.page_arguments reads the public page's arguments from graphql-core's coerced
values exactly as the resolver reads them after strawberry's converter (the same store filter,
page size, order and cursor), and gives up (Unsupported) or raises the resolver's own error
where the resolver would refuse: the ordinary path then answers (tests/test_graphql_sql_page.py
holds the bytes of those answers)."""

import asyncio
from typing import Any

import pytest
from graphql import GraphQLError, parse
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from gateway.graphql.page_arguments import page_arguments
from gateway.graphql.precompleted import Unsupported
from gateway.graphql.reports import ReportOrder, decode_cursor, store_filter
from gateway.graphql.schema import build_schema
from gateway.settings import Settings

SCHEMA = build_schema(Settings())
FIELD = SCHEMA._schema.query_type.fields["reports"]
CURSOR = "b2NjdXJyZWRfb25fZGVzY3wyMDI2LTAzLTA1fDBiOWQ0YzVlLTNmMGEtNGMxZS05YTU3LTJkOGU2ZjdhMWIyYw=="
SIGNATURE = ("$bbox: BBox, $first: Int, $after: String, $cats: [String!], $st: [String!], "
             "$from: Date, $to: Date, $area: String")


def coerced(arguments: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """graphql-core's values of `reports(<arguments>)`, as the executor gets them."""
    operation = parse(f"query({SIGNATURE}) {{ reports{arguments} {{ totalCount }} }}").definitions[0]
    values = get_variable_values(SCHEMA._schema, operation.variable_definitions, variables or {})
    assert not isinstance(values, list), values   # coercion errors: not this module's business
    return get_argument_values(FIELD, operation.selection_set.selections[0], values)


def as_the_resolver_reads_them(values: dict[str, Any]) -> tuple[Any, int, bool, Any]:
    """strawberry's converter, then the resolver's own checks and store filter."""
    definition = FIELD.extensions["strawberry-definition"]
    args = convert_arguments(values, definition.arguments,
                             scalar_registry=SCHEMA.schema_converter.scalar_registry,
                             config=SCHEMA.config)
    order = args["order_by"]
    after = args.get("after")
    f = asyncio.run(store_filter(None, args.get("filter")))  # type: ignore[arg-type]
    return (f, args["first"], order is ReportOrder.OCCURRED_ON_DESC,
            decode_cursor(after, order) if after is not None else None)


SAME = {
    "no arguments": ("", None),
    "an empty filter": ("(filter: {})", None),
    "a null filter": ("(filter: null)", None),
    "everything as literals": ("""(first: 7, orderBy: OCCURRED_ON_ASC, filter: {
        bbox: {west: 20, south: 52, east: 21.5, north: 52.5}, categories: ["vandalism"],
        statuses: ["NEW", "confirmed"], occurredFrom: "2026-03-01", occurredTo: "2026-03-31",
        areaCode: "14"})""", None),
    "everything as variables": ("""(first: $first, after: $after, filter: {bbox: $bbox,
        categories: $cats, statuses: $st, occurredFrom: $from, occurredTo: $to, areaCode: $area})""",
                                {"first": 0, "after": CURSOR, "cats": [], "st": ["UNDER_VERIFICATION"],
                                 "bbox": {"west": 20, "south": 52, "east": 21, "north": 53},
                                 "from": "2026-01-01", "to": None, "area": None}),
    "a page of 500, the most": ("(first: 500)", None),
}


@pytest.mark.parametrize("name", SAME)
def test_the_arguments_are_read_as_the_resolver_reads_them(name: str) -> None:
    values = coerced(*SAME[name])
    args = page_arguments(values)
    assert (args.filter, args.first, args.newest_first, args.cursor) == as_the_resolver_reads_them(values)


def test_lists_are_copies_of_the_default_graphql_core_shares() -> None:
    values = coerced("(filter: {categories: $cats})", {"cats": ["vandalism"]})
    args = page_arguments(values)
    assert args.filter is not None and args.filter.categories == ["vandalism"]
    assert args.filter.categories is not values["filter"]["categories"]


LEFT_TO_THE_RESOLVER = {
    "first out of range": "(first: 501)",
    "a negative first": "(first: -1)",
    "the source filter (checked against the database)": '(filter: {source: "citizen"})',
}


@pytest.mark.parametrize("name", LEFT_TO_THE_RESOLVER)
def test_what_the_resolver_refuses_or_checks_is_left_to_it(name: str) -> None:
    with pytest.raises(Unsupported):
        page_arguments(coerced(LEFT_TO_THE_RESOLVER[name]))


@pytest.mark.parametrize("values", [
    {"first": 1, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC, "filter": None, "last": 1},
    {"first": True, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC, "filter": None},
    {"first": 1, "after": None, "orderBy": "occurred_on_desc", "filter": None},
    {"first": 1, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC, "filter": {"near": 1}},
    {"first": 1, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC,
     "filter": {"bbox": {"west": 1.0, "south": 2.0, "east": 3.0}}},
    {"first": 1, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC,
     "filter": {"statuses": "new"}},
    {"first": 1, "after": None, "orderBy": ReportOrder.OCCURRED_ON_DESC,
     "filter": {"occurredFrom": "2026-01-01"}},
])
def test_values_not_of_the_schema_it_knows_are_left_to_the_ordinary_path(values: dict) -> None:
    with pytest.raises(Unsupported):
        page_arguments(values)


REFUSED = {
    "a bbox turned around": "(filter: {bbox: {west: 21, south: 52, east: 20, north: 53}})",
    "a bbox beyond the poles": "(filter: {bbox: {west: 20, south: 52, east: 21, north: 91}})",
    "a cursor that is not one": '(after: "nope")',
    "a cursor of another ordering": f'(orderBy: OCCURRED_ON_ASC, after: "{CURSOR}")',
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_refusal_is_the_resolvers_own_error(name: str) -> None:
    values = coerced(REFUSED[name])
    with pytest.raises(GraphQLError) as ours:
        page_arguments(values)
    with pytest.raises(GraphQLError) as resolvers:
        as_the_resolver_reads_them(values)
    assert (ours.value.message, ours.value.extensions) == (resolvers.value.message,
                                                           resolvers.value.extensions)
    assert ours.value.extensions["code"] == "BAD_USER_INPUT"
