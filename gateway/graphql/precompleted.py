"""A lighter completion of the public page of reports: the same JSON, without graphql-core's
per-field machinery.

graphql-core completes a result field by field: for each of the ~1,500 fields of a page of 100
reports it builds a resolve-info, calls the field's resolver through strawberry's wrapper and
completes the value (bench/RESULTS.md, suite `graphql`). For the public `reports` connection
almost every field is a plain attribute of an object the page resolver has already built (the
nodes' category and areas are prefetched for the whole page). This executor completes such a
result directly: the selections are collected by graphql-core itself (`collect_subfields`:
aliases, fragments, `@skip`/`@include` with variables, `__typename`, response order), leaves are
coerced by the schema's own scalars and enums, objects pass their `is_type_of` check, and only
fields that cannot fail or wait are read here: basic fields (no resolver, no extension) and the
few resolvers named in `PURE_FIELDS`, each with a pure equivalent. Anything else (a field with
arguments or a resolver of its own, @defer, a missing prefetched value, a null where the schema
says non-null, an unexpected value) makes it give up, before any output, and graphql-core
completes the result the ordinary way, errors included. The schema is untouched.
"""

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# (type, field) -> the value the field's resolver returns for a source, computed without info;
# it raises Unsupported where the resolver would have to load or check something.
PureField = Callable[[Any], Any]
PURE_FIELDS: dict[tuple[str, str], PureField] = {}

# The fields whose results are completed here: the public page of reports.
ENTRY_FIELDS = frozenset({("Query", "reports")})


class Unsupported(Exception):
    """This result needs graphql-core's ordinary completion."""


def pure_field(type_name: str, field_name: str) -> Callable[[PureField], PureField]:
    """Registers the pure equivalent of a field's resolver (a decorator)."""
    def register(function: PureField) -> PureField:
        PURE_FIELDS[(type_name, field_name)] = function
        return function
    return register


def _basic_getter(field: GraphQLField) -> PureField | None:
    """The resolver of a basic strawberry field (an attribute read), else None."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field.resolve
    if definition is None or resolve is None or not getattr(resolve, "_is_default", False):
        return None
    if not getattr(definition, "is_basic_field", False):
        return None
    return lambda source: resolve(source, None)


def _typename(name: str) -> PureField:
    return lambda _source: name


# One entry of a plan: response key, how to read the value, its type, the field's selections.
Step = tuple[str, PureField, GraphQLOutputType, FieldDetailsList]


class PrecompletingExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, completing the fields of ENTRY_FIELDS directly when it can."""

    def complete_value(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                       info: GraphQLResolveInfo, path: Path, result: Any,
                       position_context: Any) -> Any:
        # only for the field's own (outer) type, so that a fallback does not try again inside
        if return_type is info.return_type and (info.parent_type.name, info.field_name) in ENTRY_FIELDS:
            try:
                return self.precomplete(return_type, field_details_list, result)
            except Unsupported:
                pass
        return super().complete_value(return_type, field_details_list, info, path, result,
                                      position_context)

    def precomplete(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                    result: Any) -> Any:
        """The completed value of an entry field's result, or Unsupported."""
        return self._complete(return_type, field_details_list, result)

    def _complete(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                  value: Any) -> Any:
        if is_non_null_type(return_type):
            completed = self._complete(return_type.of_type, field_details_list, value)
            if completed is None:
                raise Unsupported
            return completed
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise Unsupported
        if is_list_type(return_type):
            if not isinstance(value, list | tuple):
                raise Unsupported
            item_type = return_type.of_type
            return [self._complete(item_type, field_details_list, item) for item in value]
        if is_leaf_type(return_type):
            coerced = return_type.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise Unsupported
            return coerced
        if is_object_type(return_type):
            if return_type.is_type_of is not None and return_type.is_type_of(value, None) is not True:
                raise Unsupported
            return {key: self._complete(field_type, details, read(value))
                    for key, read, field_type, details in self._plan(return_type, field_details_list)}
        raise Unsupported   # interfaces and unions: resolved the ordinary way

    def _plan(self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> list[Step]:
        """What to read for each response key of an object's selections (once per request and
        selection: graphql-core memoizes the collection on the same list for every list item)."""
        plans: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, list[Step]]]
        plans = self.__dict__.setdefault("_precompleted_plans", {})
        key = (object_type, id(field_details_list))
        cached = plans.get(key)
        if cached is not None:
            return cached[1]
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported
        plan: list[Step] = []
        for response_key, details in collected.grouped_field_set.items():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None
                   for d in details):
                raise Unsupported
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((response_key, _typename(object_type.name),
                             self.schema.get_field(object_type, name).type, details))  # type: ignore[union-attr]
                continue
            field = object_type.fields.get(name)
            if field is None or field.args or details[0].node.arguments:
                raise Unsupported
            read = PURE_FIELDS.get((object_type.name, name)) or _basic_getter(field)
            if read is None:
                raise Unsupported
            plan.append((response_key, read, field.type, details))
        plans[key] = (field_details_list, plan)   # the list kept alive: its id stays unique
        return plan


__all__ = ["PURE_FIELDS", "PrecompletingExecutor", "Unsupported", "pure_field"]
