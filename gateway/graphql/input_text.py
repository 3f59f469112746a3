"""Text no argument may carry: refused for the whole operation before anything runs.

A NUL (PostgreSQL text cannot hold it: psycopg refuses the statement) or a lone surrogate
(UTF-8 cannot encode it) in any string argument made resolvers fail with INTERNAL, each where
it first met the database or an encoder. Every string reaches a resolver from one of two
places, the variables and the document's string literals (default values of variables
included), so both are checked here once, for every field, over HTTP and WebSocket alike:
BAD_USER_INPUT naming the variable and the character.
"""

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import BREAK, DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from store.text import unfit_character, unfit_in

CODE = {"code": "BAD_USER_INPUT"}


class _FirstUnfitLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.error: GraphQLError | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> object:
        reason = unfit_character(node.value)
        if reason is None:
            return None
        self.error = GraphQLError(f"A string in the document {reason}.", nodes=node, extensions=CODE)
        return BREAK


def unfit_variable(variables: dict[str, Any] | None) -> GraphQLError | None:
    for name, value in (variables or {}).items():
        reason = unfit_character(name) or unfit_in(value)
        if reason is not None:
            return GraphQLError(f"Variable ${name} {reason}.", extensions={**CODE, "variable": name})
    return None


# Documents come from gateway.graphql.documents' cache: a client paging with the same text gets
# the same DocumentNode, whose literals need one visit (a visit costs ~0.3 ms of a public page's
# CPU). Keyed by identity; each entry holds its document, so that an id is not reused while its
# entry lives.
_LITERALS: OrderedDict[int, tuple[DocumentNode, GraphQLError | None]] = OrderedDict()
LITERALS_CACHED = 256


def unfit_literal(document: DocumentNode | None) -> GraphQLError | None:
    if document is None:
        return None
    known = _LITERALS.get(id(document))
    if known is not None and known[0] is document:
        _LITERALS.move_to_end(id(document))
        return known[1]
    finder = _FirstUnfitLiteral()
    visit(document, finder)
    _LITERALS[id(document)] = (document, finder.error)
    if len(_LITERALS) > LITERALS_CACHED:
        _LITERALS.popitem(last=False)
    return finder.error


class RefuseUnfitText(SchemaExtension):
    """List it after CheckedDocuments: a document that passed validation (none of its errors is
    hidden by this one) and whose text is unfit gets this error instead of being executed."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            error = unfit_variable(context.variables) or unfit_literal(context.graphql_document)
            if error is not None:
                context.pre_execution_errors = [error]
        yield
