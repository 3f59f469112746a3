"""Parsing and validating GraphQL documents without holding up the event loop (issue 10, point 5).

graphql-core parses and validates in pure Python: a 60 KB document costs tens of milliseconds of
CPU, and 50 of them at once from one client held `/health` and every other client for seconds.
`DocumentChecker` treats documents in three ways:

- known ones (same text and options, parsed and validated before): from a cache, at once;
- small ones (below `large_bytes`): parsed and validated on the event loop, then cached (for
  realistic ones a few milliseconds; the validation budget below keeps even a contrived one of
  a kilobyte to tens of milliseconds);
- large ones: parsed and validated on one worker thread, at most `per_client` at a time for each
  client address (the next ones wait their turn; past WAITING_PER_SLOT times that, RATE_LIMITED
  at once), and not cached (a flood of unique documents would only evict the clients' own and
  hold their syntax trees in memory).

One worker thread, not more: Python runs one thread at a time, and each extra worker would take
a share of the interpreter from the event loop. With the per-client bound, one client's flood
occupies the worker for at most `per_client` documents ahead of anyone else's. While the worker
parses, the event loop waits for the interpreter at each of its steps up to the switch interval
(5 ms by default, several steps a request): the checker lowers it to SWITCH_INTERVAL_S, which
cut `/health`'s time during a flood about fourfold in a trial (suite hardening of bench/).

The cost of a document is not its size: repeating a field (`{ statuses { id id id ... } }`)
makes graphql-core's overlapping-fields rule compare every pair, until its complexity budget runs
out and validation is aborted. Its default budget (500,000 units) let a 900-byte document take
40 ms and an 8 KB one 1.7 s of CPU; the budget here (VALIDATION_BUDGET) is 25 times what any of
our clients' documents, GraphiQL's introspection query included, needs.

`CheckedDocuments` is the schema extension that uses it; it replaces strawberry's ParserCache and
ValidationCache (same role, same 128 entries). `valid_document` tells gateway.graphql.known_page
which texts passed under the app's parse options and rules: those of the first document checked,
as every operation of an app runs the same extensions (a document checked under others is not
counted).
"""

import asyncio
import concurrent.futures
import contextlib
import functools
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql import OperationType as CoreOperationType
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from gateway.graphql.errors import RateLimited, with_code

CACHE_SIZE = 128
# graphql-core's overlapping-fields work budget (its module attribute is how it is set, for the
# process): every document of ours and GraphQL's introspection query validate within 200 units.
VALIDATION_BUDGET = 5_000
# How long a thread runs before the interpreter passes to another that waits (sys.setswitchinterval).
SWITCH_INTERVAL_S = 0.0005
# Large documents of one client that may wait for their turn, per slot; more get RATE_LIMITED.
WAITING_PER_SLOT = 16


@dataclass(frozen=True)
class Checked:
    """A document parsed and validated: the tree (None if it could not be parsed or was
    refused) and the errors (syntax, validation, or the refusal)."""
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


def check(schema: GraphQLSchema, query: str, options: dict[str, Any], rules: tuple[type, ...]
          ) -> Checked:
    """Parse and validate: pure, safe to run on any thread."""
    try:
        document = parse(query, **options)
    except GraphQLError as error:
        return Checked(None, (error,))
    return Checked(document, tuple(validate_document(schema, document, rules)))


@dataclass
class _Client:
    """One client's large documents: `slots` lets `per_client` of them to the worker at once;
    `count` is those in parsing plus those waiting for a slot."""
    slots: asyncio.Semaphore
    count: int = 0


class DocumentChecker:
    """The cache, the worker thread and each client's large documents in work. Used from the
    event loop only (the worker runs `check`, which touches none of this)."""

    def __init__(self, large_bytes: int, per_client: int, cache_size: int = CACHE_SIZE) -> None:
        self.large_bytes = large_bytes
        self.per_client = per_client
        self.cache_size = cache_size
        self._cache: OrderedDict[Hashable, Checked] = OrderedDict()
        # Valid documents by text, under `_usual` (options and rules), as long as the cache.
        self._valid: OrderedDict[str, DocumentNode] = OrderedDict()
        self._usual: tuple[Hashable, tuple[type, ...]] | None = None
        self._clients: dict[str, _Client] = {}
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="graphql-documents")
        # Both process-wide: graphql-core reads the budget from its module, the interpreter has
        # one switch interval.
        overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_BUDGET
        if large_bytes:
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))

    @property
    def most_waiting(self) -> int:
        """Large documents of one client that may wait for a slot; more are refused."""
        return WAITING_PER_SLOT * self.per_client

    def valid_document(self, query: str) -> DocumentNode | None:
        """The document of `query` if it was parsed and found valid under the app's options and
        rules (and is still remembered), else None."""
        document = self._valid.get(query)
        if document is not None:
            self._valid.move_to_end(query)
        return document

    def _remember_valid(self, query: str, options: Hashable, rules: tuple[type, ...],
                        result: Checked) -> None:
        if result.errors or result.document is None:
            return
        if self._usual is None:
            self._usual = (options, rules)
        if self._usual == (options, rules):
            self._valid[query] = result.document
            if len(self._valid) > self.cache_size:
                self._valid.popitem(last=False)

    def is_large(self, query: str) -> bool:
        return 0 < self.large_bytes <= len(query)

    def in_work(self, client: str) -> int:
        """Large documents of `client` being parsed or waiting for their turn."""
        entry = self._clients.get(client)
        return entry.count if entry else 0

    async def checked(self, schema: GraphQLSchema, query: str, options: dict[str, Any],
                      rules: tuple[type, ...], client: str) -> Checked:
        option_items = tuple(sorted(options.items()))
        key = (query, option_items, rules)
        known = self._cache.get(key)
        if known is not None:
            self._cache.move_to_end(key)
            return known
        if not self.is_large(query):
            result = check(schema, query, options, rules)
            self._cache[key] = result
            self._remember_valid(query, option_items, rules, result)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return result
        work = functools.partial(check, schema, query, options, rules)
        if not self.per_client:
            return await asyncio.wrap_future(self._worker.submit(work))
        if self.in_work(client) >= self.per_client + self.most_waiting:
            return Checked(None, (RateLimited(
                f"This client has {self.in_work(client)} large GraphQL documents (of "
                f"{self.large_bytes} bytes or more) being parsed or waiting; send the next "
                "one when one of them has been answered."),))
        return await self._in_turn(client, work)

    async def _in_turn(self, client: str, work: Callable[[], Checked]) -> Checked:
        """`work` on the worker once one of the client's slots is free: one client's flood
        waits on its own slots, so the worker's queue holds at most `per_client` of its
        documents ahead of another client's. Waiting, rather than refusing at once, also slows
        the flood down: a refused client would send the next document at once."""
        entry = self._clients.setdefault(client, _Client(asyncio.Semaphore(self.per_client)))
        entry.count += 1
        try:
            await entry.slots.acquire()
        except BaseException:   # the client went away while waiting
            self._done(client, entry, holding=False)
            raise
        # The slot is given back when the work ends (or is cancelled before it starts), not
        # when the caller stops waiting: a client that hangs up does not free the worker.
        loop = asyncio.get_running_loop()
        future = self._worker.submit(work)
        future.add_done_callback(lambda _: self._done_soon(loop, client, entry))
        return await asyncio.wrap_future(future)

    def _done_soon(self, loop: asyncio.AbstractEventLoop, client: str, entry: _Client) -> None:
        """On the worker thread: the counts are the loop's to change."""
        with contextlib.suppress(RuntimeError):   # the loop has closed: nothing left to count
            loop.call_soon_threadsafe(self._done, client, entry, True)

    def _done(self, client: str, entry: _Client, holding: bool) -> None:
        if holding:
            entry.slots.release()
        entry.count -= 1
        if entry.count == 0 and self._clients.get(client) is entry:
            del self._clients[client]


def stand_in(operation_name: str | None, allowed: Any) -> DocumentNode:
    """A one-field operation of an allowed type, for a document that could not be parsed or
    was refused: strawberry reads the operation type before validation, and the validation
    hook then answers with the errors (a pre-execution error: nothing runs). Raising from the
    parse hook instead would end a WebSocket operation without an answer."""
    allowed = set(allowed)
    kind = next(iter(allowed)) if allowed and OperationType.QUERY not in allowed else OperationType.QUERY
    return DocumentNode(definitions=(OperationDefinitionNode(
        operation=CoreOperationType(kind.value),
        name=NameNode(value=operation_name) if operation_name else None,
        variable_definitions=(), directives=(),
        selection_set=SelectionSetNode(selections=(FieldNode(
            name=NameNode(value="__typename"), arguments=(), directives=()),))),))


class CheckedDocuments(SchemaExtension):
    """Parse and validate through a DocumentChecker (listed where ParserCache and
    ValidationCache were, after the extensions that set the token limit and the rules)."""

    def __init__(self, checker: DocumentChecker) -> None:
        self.checker = checker
        self.result: Checked | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        # (a query that is not text is left to strawberry, which answers it with an error)
        if context.graphql_document is None and isinstance(context.query, str) and context.query:
            client = getattr(context.context, "client", None) or "unknown"
            self.result = await self.checker.checked(
                context.schema._schema, context.query, dict(context.parse_options),
                tuple(context.validation_rules), client)
            context.graphql_document = self.result.document or stand_in(
                context.operation_name, context.allowed_operations)
        yield

    def on_validate(self) -> Iterator[None]:
        if self.result is not None:
            # Each error with its code (BAD_USER_INPUT for the limits) for WebSocket clients
            # too, whose answers do not pass through the HTTP view's process_result; copies, as
            # the cached errors are shared. A syntax error stays one: graphql-transport-ws
            # closes the connection on it (4400), as the protocol has it.
            self.execution_context.pre_execution_errors = [
                error if isinstance(error, GraphQLSyntaxError) else with_code(error)
                for error in self.result.errors]
        yield
