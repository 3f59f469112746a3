"""The anonymous public page of reports answered by one statement: PostgreSQL writes the whole
`reports` value (store.public_pages), the way PostGraphile and Hasura answer a query.

The request flows as any other (HTTP, persisted queries, parsing and validation from the caches,
the extensions, rate limits, the access log and metrics); only the execution of the root field
`reports` changes, and only for a caller without a token. Its selection, collected by
graphql-core itself (aliases, fragments, `@skip`/`@include` with variables, `__typename`,
response order), becomes a tuple of `Pick`s, and the statement of that selection (built once,
cached by store.public_pages) runs with the request's arguments bound: one connection, one
round trip, no Report objects, no cursor encoding, no completion in Python. The database writes
the value as JSON text as the response's encoder would (characters beyond ASCII escaped here),
and the text goes into the response as it is (gateway.graphql.raw_json) when the view writes
it; anyone else gets it parsed.

Anything it does not understand is left to the path below it (gateway.graphql.precompleted,
then graphql-core): a field outside store.public_pages.FIELDS (private fields, policeUnit), a
field with arguments, @defer/@stream, a token, the `source` filter, an argument the resolver
would refuse (it reports the error), or a page the database finds incomplete (a null for a
non-null field...). A database error is reported as the resolver would report it, at the same
path.
"""

import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, ClassVar

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    get_named_type,
    is_enum_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gateway.graphql import raw_json
from gateway.graphql.page_arguments import page_arguments
from gateway.graphql.precompleted import PrecompletingExecutor, Unsupported
from gateway.graphql.raw_json import RawJson
from store import public_pages

ENTRY = ("Query", "reports")
# Where gateway.graphql.known_page leaves, in the request's scope, the (statement, parameters,
# error) of a page the database refused in front of the view: the executor reports that error
# for the same statement instead of running it again.
FAILED_PAGE_KEY = "threatmap.graphql_failed_page"
# The picks of a `reports` field node (a document comes from gateway.graphql.documents' cache:
# the same text, the same nodes), by node identity; each entry holds its node, so that an id is
# not reused while its entry lives.
_PICKS: OrderedDict[tuple[int, tuple[tuple[str, Any], ...]],
                    tuple[FieldNode, tuple[public_pages.Pick, ...] | None]] = OrderedDict()
PICKS_CACHED = 256


class SqlPageExecutor(PrecompletingExecutor):
    """The precompleting executor, with the anonymous `reports` field written by PostgreSQL."""

    # The executor's own count of pages it answered in SQL (tests assert the path is taken).
    answered: ClassVar[int] = 0

    def execute_field(self, parent_type: GraphQLObjectType, source: Any,
                      field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        if path.prev is None and (parent_type.name, field_details_list[0].node.name.value) == ENTRY:
            try:
                statement, params = self.page_statement(parent_type, field_details_list)
            except Exception:   # Unsupported, a refused argument, a selection not written
                pass
            else:
                return self._answer(statement, params, parent_type, source, field_details_list,
                                    path, position_context)
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

    def page_statement(self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
                       ) -> tuple[str, dict[str, Any]]:
        """The statement and parameters of this page, or an exception: the ordinary path."""
        context = self.context_value
        if (getattr(context, "viewer", True) is not None or getattr(context, "auth_error", None)
                or getattr(self.middleware_manager, "middlewares", None)):
            raise Unsupported
        details = field_details_list[0]
        if details.fragment_variable_values is not None:
            raise Unsupported
        field = parent_type.fields[ENTRY[1]]
        definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if definition is None or definition.extensions or definition.permission_classes:
            raise Unsupported
        # graphql-core's coerced values, read as the resolver reads its converted arguments
        # (gateway.graphql.page_arguments: not strawberry's generic converter)
        args = page_arguments(get_argument_values(field, details.node, self.variable_values))
        picks = self._known_picks(field, field_details_list)
        return public_pages.page(picks, args.filter, args.newest_first, args.first, args.cursor)

    def _known_picks(self, field: GraphQLField, field_details_list: FieldDetailsList
                     ) -> tuple[public_pages.Pick, ...]:
        """_picks of the field's selection, once per (field node, Boolean variables: those
        @skip and @include read) for as long as the cache keeps it."""
        node = field_details_list[0].node
        if len(field_details_list) > 1:   # the field twice under one key: not cached
            return self._selection_picks(field, field_details_list)
        key = (id(node), tuple((name, value) for name, value in self.variable_values.coerced.items()
                               if value is None or isinstance(value, bool)))
        known = _PICKS.get(key)
        if known is None or known[0] is not node:
            try:
                known = (node, self._selection_picks(field, field_details_list))
            except Unsupported:
                known = (node, None)
            _PICKS[key] = known
            if len(_PICKS) > PICKS_CACHED:
                _PICKS.popitem(last=False)
        else:
            _PICKS.move_to_end(key)
        if known[1] is None:
            raise Unsupported
        return known[1]

    def _selection_picks(self, field: GraphQLField, field_details_list: FieldDetailsList
                         ) -> tuple[public_pages.Pick, ...]:
        named = get_named_type(field.type)
        if not is_object_type(named):
            raise Unsupported
        return self._picks(named, field_details_list)

    def _picks(self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
               ) -> tuple[public_pages.Pick, ...]:
        """What to write under each response key of an object's selections."""
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported
        picks = []
        for key, details in collected.grouped_field_set.items():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None
                   or any(directive.name.value == "stream" for directive in d.node.directives or ())
                   for d in details):
                raise Unsupported
            name = details[0].node.name.value
            if name == "__typename":
                picks.append(public_pages.Pick(key, name, typename=object_type.name))
                continue
            field = object_type.fields.get(name)
            if (field is None or field.args or details[0].node.arguments
                    or not public_pages.writes(object_type.name, name)):
                raise Unsupported
            named = get_named_type(field.type)
            sub: tuple[public_pages.Pick, ...] = ()
            names: tuple[tuple[str, str], ...] = ()
            if is_object_type(named):
                sub = self._picks(named, details)
            elif is_enum_type(named):
                names = tuple((value.value, enum_name) for enum_name, value in named.values.items())
                if not all(isinstance(stored, str) for stored, _ in names):
                    raise Unsupported
            picks.append(public_pages.Pick(key, name, is_non_null_type(field.type), named.name,
                                           sub, names))
        return tuple(picks)

    async def _answer(self, statement: str, params: dict[str, Any], parent_type: GraphQLObjectType,
                      source: Any, field_details_list: FieldDetailsList, path: Path,
                      position_context: Any) -> Any:
        field = parent_type.fields[ENTRY[1]]
        context = self.context_value
        try:
            failed = _failed_before(context, statement, params)
            if failed is not None:
                raise failed
            text = await public_pages.page_text(context.runtime.public_pool, statement, params)
        except Exception as raw_error:   # as graphql-core reports a resolver's error
            self.handle_field_error(raw_error, field.type, field_details_list, path)
            return None
        if text is None:   # incomplete: the ordinary path answers, errors included
            value = super().execute_field(parent_type, source, field_details_list, path,
                                          position_context)
            return await value if isinstance(value, Awaitable) else value
        self.took_sql_path()
        # the text as it is where the view writes the answer (gateway.graphql.raw_json)
        if getattr(context, "raw_json", False):
            return RawJson(raw_json.ensure_ascii(text))
        return json.loads(text)

    def took_sql_path(self) -> None:
        SqlPageExecutor.answered += 1


def _failed_before(context: Any, statement: str, params: dict[str, Any]) -> Exception | None:
    """The error the database gave this very page in front of the view (taken: once)."""
    scope = getattr(getattr(context, "request", None), "scope", None)
    failed = scope.get(FAILED_PAGE_KEY) if isinstance(scope, dict) else None
    if failed is None or failed[0] != statement or failed[1] != params:
        return None
    del scope[FAILED_PAGE_KEY]
    return failed[2]


__all__ = ["FAILED_PAGE_KEY", "SqlPageExecutor"]
