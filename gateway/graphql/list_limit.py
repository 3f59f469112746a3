"""A bound on every list a client sends (issue 10, point 3): the filters' categories and
statuses, stats' groupBy, any list argument to come. Lists written in the document are refused by
a validation rule (cached with the rest of validation); lists in the variables are refused before
graphql-core coerces them, item by item, which for a list of a million items took seconds of the
event loop. Both answer BAD_USER_INPUT naming the place, over HTTP and WebSocket alike.
"""

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, ListValueNode, ValidationRule
from strawberry.extensions import SchemaExtension

CODE = {"code": "BAD_USER_INPUT"}


def list_size_rule(max_items: int) -> type[ValidationRule]:
    """A validation rule refusing list literals of more than `max_items` values."""

    class ListSizeLimit(ValidationRule):
        def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
            if len(node.values) > max_items:
                self.report_error(GraphQLError(
                    f"A list argument has {len(node.values)} items; the limit is {max_items}.",
                    node, extensions=dict(CODE)))

    return ListSizeLimit


def oversized_list(variables: Any, max_items: int) -> tuple[str, int] | None:
    """The place (`$filter.categories`) and length of the first list longer than `max_items`
    in the variables, or None. Iterative: nesting depth cannot exhaust the stack."""
    if not isinstance(variables, dict):
        return None
    pending: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while pending:
        place, value = pending.pop()
        if isinstance(value, list):
            if len(value) > max_items:
                return place, len(value)
            pending += [(f"{place}[{i}]", item) for i, item in enumerate(value)
                        if isinstance(item, dict | list)]
        elif isinstance(value, dict):
            pending += [(f"{place}.{key}", item) for key, item in value.items()
                        if isinstance(item, dict | list)]
    return None


class BoundedListVariables(SchemaExtension):
    """Refuses an operation whose variables hold a list longer than the limit: a pre-execution
    error, so nothing is coerced or run (queries, mutations and subscriptions alike)."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            found = oversized_list(context.variables, self.max_items)
            if found is not None:
                place, length = found
                context.pre_execution_errors = [GraphQLError(
                    f"{place} is a list of {length} items; a list argument takes at most "
                    f"{self.max_items}.", extensions={**CODE, "argument": place})]
        yield
