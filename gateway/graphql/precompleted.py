"""A lighter completion of the pages of reports (the public `reports`, the officers'
`staffReports`): the same JSON, without graphql-core's per-field machinery.

graphql-core completes a result field by field: for each of the ~1,500 fields of a page of 100
reports it builds a resolve-info, calls the field's resolver through strawberry's wrapper and
completes the value (bench/RESULTS.md, suite `graphql`). In these two connections almost every
field is a plain attribute of an object the page resolver has already built (the nodes' category
and areas are prefetched for the whole page, the work list primes the private rows). This
executor completes such a result directly: the selections are collected by graphql-core itself
(`collect_subfields`: aliases, fragments, `@skip`/`@include` with variables, `__typename`,
response order), leaves are coerced by the schema's own scalars and enums, objects pass their
`is_type_of` check, and only fields that cannot fail or wait are read here: basic fields (no
resolver, no extension) and the few resolvers named in `PURE_FIELDS`, each with a pure
equivalent. Anything else (a field with arguments or a resolver of its own, @defer, a missing
prefetched value, a pure field that would report an error, a null where the schema says
non-null, an unexpected value) makes it give up, before any output, and graphql-core completes the
result the ordinary way, errors included. The schema is untouched.
"""

from collections.abc import Callable
from operator import attrgetter
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

# How a value is read from its source object.
Read = Callable[[Any], Any]
# (type, field) -> the value the field's resolver returns for a source and the request's
# context, computed without waiting; it raises (anything) where the resolver would have to load
# something, or would report an error: the ordinary completion then runs the resolver.
PureField = Callable[[Any, Any], Any]
PURE_FIELDS: dict[tuple[str, str], PureField] = {}

# The root fields whose results are completed here: the public page of reports and the work list.
ENTRY_FIELDS = frozenset({("Query", "reports"), ("Query", "staffReports")})


class Unsupported(Exception):
    """This result needs graphql-core's ordinary completion."""


def pure_field(type_name: str, field_name: str) -> Callable[[PureField], PureField]:
    """Registers the pure equivalent of a field's resolver (a decorator)."""
    def register(function: PureField) -> PureField:
        PURE_FIELDS[(type_name, field_name)] = function
        return function
    return register


def _basic_getter(field: GraphQLField) -> Read | None:
    """The resolver of a basic strawberry field (an attribute read), else None."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field.resolve
    if definition is None or resolve is None or not getattr(resolve, "_is_default", False):
        return None
    if not getattr(definition, "is_basic_field", False):
        return None
    if getattr(definition, "default_resolver", None) is getattr:   # strawberry's default
        return attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


# A compiled completion: the completed value of one (resolved) value of a type and selection.
Completer = Callable[[Any], Any]


class PrecompletingExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, completing the fields of ENTRY_FIELDS directly when it can."""

    def complete_value(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                       info: GraphQLResolveInfo, path: Path, result: Any,
                       position_context: Any) -> Any:
        # Root fields only (cheap to tell for every other field), and only for the field's own
        # (outer) type, so that a fallback does not try again inside.
        if (path.prev is None and return_type is info.return_type
                and (info.parent_type.name, info.field_name) in ENTRY_FIELDS):
            try:
                return self.precomplete(return_type, field_details_list, result)
            except Exception:   # Unsupported, or a pure field's error: graphql-core reports it
                pass
        return super().complete_value(return_type, field_details_list, info, path, result,
                                      position_context)

    def precomplete(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList,
                    result: Any) -> Any:
        """The completed value of an entry field's result, or Unsupported."""
        return self._completer(return_type, field_details_list)(result)

    def _completer(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList
                   ) -> Completer:
        """The completion of a type and selection as one closure per type (compiled once per
        request, then applied to every item of a list): the steps of graphql-core's
        complete_value, without resolve-infos, paths or awaitables. Unsupported where the
        ordinary completion would report an error or do more than read."""
        non_null = is_non_null_type(return_type)
        if non_null:   # checked by each kind below: only a null value completes to null
            return_type = return_type.of_type
        if is_list_type(return_type):
            item = self._completer(return_type.of_type, field_details_list)

            def list_of(value: Any) -> Any:
                if value is None or value is Undefined or isinstance(value, Exception):
                    return _missing(value, non_null)
                if not isinstance(value, list | tuple):
                    raise Unsupported
                return [item(v) for v in value]
            return list_of
        if is_leaf_type(return_type):
            coerce = return_type.coerce_output_value

            def leaf(value: Any) -> Any:
                if value is None or value is Undefined or isinstance(value, Exception):
                    return _missing(value, non_null)
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    raise Unsupported
                return coerced
            return leaf
        if is_object_type(return_type):
            return self._object_completer(return_type, field_details_list, non_null)
        raise Unsupported   # interfaces and unions: resolved the ordinary way

    def _with_context(self, pure: PureField) -> Read:
        context = self.context_value
        return lambda source: pure(source, context)

    def _object_completer(self, object_type: GraphQLObjectType,
                          field_details_list: FieldDetailsList, non_null: bool) -> Completer:
        """What to read and complete for each response key of an object's selections, collected
        by graphql-core (aliases, fragments, @skip/@include, order)."""
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported
        steps: list[tuple[str, Read, Completer]] = []
        for response_key, details in collected.grouped_field_set.items():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None
                   or any(directive.name.value == "stream" for directive in d.node.directives or ())
                   for d in details):
                raise Unsupported   # incremental delivery, fragment arguments: the ordinary way
            name = details[0].node.name.value
            if name == "__typename":
                steps.append((response_key, _typename(object_type.name), _same))
                continue
            field = object_type.fields.get(name)
            if field is None or field.args or details[0].node.arguments:
                raise Unsupported
            pure = PURE_FIELDS.get((object_type.name, name))
            read = self._with_context(pure) if pure is not None else _basic_getter(field)
            if read is None:
                raise Unsupported
            steps.append((response_key, read, self._completer(field.type, details)))
        is_type_of = object_type.is_type_of

        def complete_object(value: Any) -> Any:
            if value is None or value is Undefined or isinstance(value, Exception):
                return _missing(value, non_null)
            if is_type_of is not None and is_type_of(value, None) is not True:
                raise Unsupported
            return {key: complete(read(value)) for key, read, complete in steps}
        return complete_object


def _missing(value: Any, non_null: bool) -> None:
    """A null (or an error) where a value was expected: null where the schema allows it, else
    the ordinary completion's error."""
    if non_null or isinstance(value, Exception):
        raise Unsupported
    return None


def _typename(name: str) -> Read:
    return lambda _source: name


def _same(value: Any) -> Any:
    return value


__all__ = ["PURE_FIELDS", "PrecompletingExecutor", "Unsupported", "pure_field"]
