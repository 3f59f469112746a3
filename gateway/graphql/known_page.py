"""The anonymous public page of reports answered in front of strawberry: a POST of a document the
app has already parsed and validated, whose one root field is `reports`, gets the page the
database writes (gateway.graphql.sql_page) without strawberry's view, its nine extensions'
hook phases and graphql-core's execution around it.

Why: the page written by PostgreSQL left a fixed ~4 ms of Python a request around one statement
(bench/RESULTS.md, suite `graphql`: 2.0-2.4 x its SQL floor at 1,000,000 and 5,000,000 reports
against a goal of 2 x). A map client asks for the same document page after page, so this path
takes what those layers would decide from what they have already decided once:

- the body is read as the view reads it (gateway.graphql.request_body: the same refusals go to
  the view), with only `query`, `variables` and `operationName` in it, no token at all (the
  `Authorization` header is absent) and JSON's media type;
- the document is one the app's DocumentChecker validated under the app's rules
  (gateway.graphql.documents, `valid_document`): parsing, the limits on depth, aliases and tokens
  and every validation rule were met on the way in;
- the variables pass the extensions' own checks (gateway.graphql.list_limit,
  gateway.graphql.input_text) and graphql-core coerces them (Executor.build);
- graphql-core collects the root selection (aliases, fragments, @skip/@include with variables),
  which must be one response key for `reports`, and the page's statement comes from
  gateway.graphql.sql_page's own executor (its selection picks, the resolver's argument checks).

Anything else, at any step, goes to the view with the very body it sent: an error is always
answered by the ordinary path, with its message, code and status. One exception keeps a failing
statement from running twice: when the database refuses the page (an outage, a timeout), the
error is handed to the ordinary path (`FAILED_PAGE_KEY` in the request's scope), whose page
executor reports it at the field's path as if it had run the statement itself. The answer is
the bytes the view writes: `{"data":{key: page}}` (gateway.graphql.raw_json), JSON's media type
or GraphQL's, as the client's Accept prefers (gateway.graphql.media). The middlewares (metrics,
logs, headers, timeouts, CORS) run around both paths alike.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import GraphQLSchema, OperationType
from graphql.execution.collect_fields import collect_fields
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphql import raw_json
from gateway.graphql.documents import DocumentChecker
from gateway.graphql.input_text import unfit_literal, unfit_variable
from gateway.graphql.list_limit import oversized_list
from gateway.graphql.media import GRAPHQL_RESPONSE, JSON, wants_graphql_response
from gateway.graphql.request_body import decode
from gateway.graphql.sql_page import ENTRY, FAILED_PAGE_KEY, SqlPageExecutor
from store import public_pages

# The keys of a request body this path reads; any other (extensions: persisted queries) goes to
# the view.
BODY_KEYS = frozenset({"query", "variables", "operationName"})


@dataclass(frozen=True)
class AnonymousCaller:
    """What sql_page's executor asks of the context: nobody signed in, no token refused."""
    viewer: None = None
    auth_error: None = None
    raw_json: bool = True


ANONYMOUS = AnonymousCaller()


class NotOurs(Exception):
    """The request is the view's to answer."""


class AnonymousPageShortcut:
    """ASGI: the known anonymous page in front of `view` (the GraphQL view, which answers every
    other request, and this one whenever the shortcut does not)."""

    # Pages answered here (tests assert the path is taken; bench/graphql_pages.py turns it off).
    answered: ClassVar[int] = 0

    def __init__(self, view: ASGIApp, schema: GraphQLSchema, checker: DocumentChecker,
                 max_list_items: int) -> None:
        self.app = view
        self.core_schema = schema
        self.checker = checker
        self.max_list_items = max_list_items
        self.enabled = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.enabled and scope["type"] == "http" and scope["method"] == "POST"
                and _anonymous_json(scope["headers"])):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        replay = _replaying(messages, receive)
        try:
            statement, params, key = self._page(body)
        except Exception:   # NotOurs, or whatever the view would refuse: the view answers
            await self.app(scope, replay, send)
            return
        try:
            text = await public_pages.page_text(scope["app"].state.runtime.public_pool,
                                                statement, params)
        except Exception as error:   # reported by the view's page executor, not run again
            scope[FAILED_PAGE_KEY] = (statement, params, error)
            text = None
        if text is None:
            await self.app(scope, replay, send)
            return
        AnonymousPageShortcut.answered += 1
        answer = raw_json.dumps({"data": {key: raw_json.RawJson(raw_json.ensure_ascii(text))}})
        await _send_json(send, answer.encode(), _media_type(scope["headers"]))

    def _page(self, body: bytes) -> tuple[str, dict[str, Any], str]:
        """The page's statement, its parameters and the response key, or an exception."""
        request = decode(body)
        if not isinstance(request, dict) or not request.keys() <= BODY_KEYS:
            raise NotOurs
        query, variables = request.get("query"), request.get("variables")
        operation_name = request.get("operationName")
        if (not isinstance(query, str) or not isinstance(variables, dict | None)
                or not isinstance(operation_name, str | None)):
            raise NotOurs
        document = self.checker.valid_document(query)
        if (document is None or oversized_list(variables, self.max_list_items) is not None
                or unfit_variable(variables) is not None or unfit_literal(document) is not None):
            raise NotOurs
        executor = SqlPageExecutor.build(self.core_schema, document, None, ANONYMOUS, variables,
                                         operation_name)
        if isinstance(executor, list) or executor.operation.operation != OperationType.QUERY:
            raise NotOurs   # variables that do not fit, an unknown operation name, a mutation
        root = self.core_schema.query_type
        collected = collect_fields(self.core_schema, executor.fragments, executor.variable_values,
                                   root, executor.operation, executor.hide_suggestions)
        if (len(collected.grouped_field_set) != 1 or collected.new_defer_usages
                or collected.forbidden_directive_instances):
            raise NotOurs
        ((key, details),) = collected.grouped_field_set.items()
        if details[0].node.name.value != ENTRY[1]:
            raise NotOurs
        statement, params = executor.page_statement(root, details)
        return statement, params, key


def _anonymous_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """A JSON body (one Content-Type, application/json, UTF-8 if a charset is named) and no
    Authorization header (a token, good or bad, is the view's to check)."""
    content_types = []
    for name, value in headers:
        if name == b"authorization":
            return False
        if name == b"content-type":
            content_types.append(value)
    if len(content_types) != 1:
        return False
    media, *params = content_types[0].decode("latin-1").lower().split(";")
    return media.strip() == JSON and all(p.strip() in ("charset=utf-8", "charset=\"utf-8\"")
                                         for p in params)


def _media_type(headers: list[tuple[bytes, bytes]]) -> str:
    accept = b", ".join(value for name, value in headers if name == b"accept")
    return GRAPHQL_RESPONSE if wants_graphql_response(accept.decode("latin-1")) else JSON


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """The request's messages up to the end of its body (or a disconnect) and the body."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive giving `messages` again, then what `receive` gives."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()
    return replay


async def _send_json(send: Send, body: bytes, media_type: str) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"content-type", media_type.encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["AnonymousPageShortcut"]
