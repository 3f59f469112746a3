"""Errors with a code: one exception type per meaning, turned into GraphQL errors whose
`extensions.code` a client can switch on; anything unexpected is masked as INTERNAL."""

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import MaskErrors, SchemaExtension

from store.errors import RETRY_AFTER_S, is_unavailable

log = logging.getLogger(__name__)


class ApiError(GraphQLError):
    code = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **details})


class BadInput(ApiError):
    code = "BAD_USER_INPUT"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Conflict(ApiError):
    code = "CONFLICT"


class RateLimited(ApiError):
    code = "RATE_LIMITED"


def _is_expected(error: GraphQLError) -> bool:
    """Errors about the request (parsing, validation, variables: no path yet) and our coded
    ones are the client's to see; anything else raised while resolving is not."""
    original = error.original_error
    return original is None or error.path is None or isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """MaskErrors that keeps our coded errors and GraphQL's own validation errors, and gives
    the masked ones the INTERNAL code (the original goes to the log, never to the client)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _is_expected(error),
                         error_message="Internal error: the request could not be completed.")

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        # Like every HTTP door (/health, tiles, OGC), an answer that says UNAVAILABLE tells the
        # client when to retry. The status stays 200: GraphQL over HTTP with application/json.
        # (Over a WebSocket the context's response is the socket: nothing to set.)
        response = getattr(self.execution_context.context, "response", None)
        errors = getattr(self.execution_context.result, "errors", None) or ()
        if isinstance(response, Response) and any(_unavailable(e) for e in errors):
            response.headers["Retry-After"] = str(RETRY_AFTER_S)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        # The database is down, overloaded, or the statement ran past the role's timeout
        # (store.errors): the request may succeed later, so a code to retry on, not INTERNAL.
        if is_unavailable(error.original_error):
            log.warning("database unavailable in GraphQL at %s: %s", error.path, error.original_error)
            masked.message = ("The database is unavailable or the query took too long; "
                              "try again later, or narrow the query.")
            masked.extensions = {"code": "UNAVAILABLE"}
            return masked
        log.error("unexpected error in GraphQL at %s", error.path, exc_info=error.original_error)
        masked.extensions = {"code": "INTERNAL"}
        return masked


def _unavailable(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") == "UNAVAILABLE" or is_unavailable(error.original_error)


class NoSuggestionsForAnonymous(SchemaExtension):
    """The "Did you mean ...?" of validation errors would map the schema, private fields
    included, that introspection (off) does not: cut for every caller without a valid token
    (none, or a malformed, forged or expired one), over HTTP and WebSocket alike."""

    def on_validate(self) -> Iterator[None]:
        # CheckedDocuments, listed before this in build_schema, has validated already: its list
        # and errors are shared with later callers, so this caller gets cut copies.
        errors = self.execution_context.pre_execution_errors
        if errors and getattr(self.execution_context.context, "viewer", None) is None:
            self.execution_context.pre_execution_errors = [_without_suggestion(e) for e in errors]
        yield


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    if " Did you mean" not in error.message:
        return error
    return _copy(error, error.message[: error.message.index(" Did you mean")], error.extensions)


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any] | None) -> GraphQLError:
    """The same error (place, path, cause) with another message or extensions: errors may be
    shared (ValidationCache), so they are copied, never edited."""
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=error.original_error, extensions=extensions)


def with_code(error: GraphQLError) -> GraphQLError:
    """Every error leaves with a code: those without one are about the document or its
    variables (syntax, validation, limits), so BAD_USER_INPUT."""
    extensions = dict(error.extensions or {})
    extensions.setdefault("code", "BAD_USER_INPUT")
    return _copy(error, error.message, extensions)
