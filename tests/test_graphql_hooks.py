"""gateway.graphql.hooks runs schema extensions exactly as strawberry does (hooks entered in
the extensions' order, left in reverse, generators, async generators and plain functions alike,
an error raised inside passing through them, results merged), with the wrappers made once per
extension class: the same operations on strawberry's Schema and on CachedHooksSchema log the
same events and give the same answers."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from gateway.graphql.hooks import CachedHooksSchema

LOG: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        LOG.append("operation: generators in")
        yield
        LOG.append(f"operation: generators out, errors {len(self.execution_context.result.errors or [])}")

    def on_validate(self) -> Iterator[None]:
        LOG.append("validate: generators in")
        yield
        LOG.append("validate: generators out")

    def get_results(self) -> dict[str, Any]:
        return {"generators": id(self) != 0}


class AsyncGenerators(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:
        LOG.append("parse: async in")
        yield
        LOG.append("parse: async out")

    async def on_execute(self) -> AsyncIterator[None]:
        LOG.append("execute: async in")
        try:
            yield
        except Exception as error:   # never reached: graphql-core catches resolver errors
            LOG.append(f"execute: async saw {error}")
            raise
        LOG.append("execute: async out")


class Plain(SchemaExtension):
    def on_execute(self) -> None:   # a plain function: strawberry's own wrapping
        LOG.append("execute: plain")

    async def get_results(self) -> dict[str, Any]:
        return {"plain": 1}


class Refuses(SchemaExtension):
    """Answers without executing when the variables ask for it, as RefuseBadCredentials does."""

    def on_execute(self) -> Iterator[None]:
        LOG.append("execute: refuses in")
        if (self.execution_context.variables or {}).get("refuse"):
            from graphql import ExecutionResult, GraphQLError
            self.execution_context.result = ExecutionResult(data=None, errors=[GraphQLError("no")])
        yield
        LOG.append("execute: refuses out")


class Counter(SchemaExtension):
    """One extension made per request (a factory): its own state each time."""

    def __init__(self) -> None:
        self.seen = 0

    def on_operation(self) -> Iterator[None]:
        self.seen += 1
        LOG.append(f"operation: counter {self.seen}")
        yield


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, fail: bool = False) -> str:
        LOG.append("resolver")
        if fail:
            raise ValueError("failed")
        return "hi"


EXTENSIONS = [Generators, AsyncGenerators, Plain, Refuses, lambda: Counter()]
OPERATIONS = {
    "answered": ("{ hello }", None),
    "a resolver error": ("{ hello(fail: true) }", None),
    "a validation error": ("{ nope }", None),
    "a syntax error": ("{ hello", None),
    "refused by an extension": ("query($refuse: Boolean) { hello }", {"refuse": True}),
}


async def run(schema: strawberry.Schema, query: str, variables: dict | None) -> tuple[list[str], Any]:
    LOG.clear()
    result = await schema.execute(query, variable_values=variables)
    errors = [e.message for e in result.errors or []]
    return list(LOG), (result.data, errors, result.extensions)


@pytest.mark.parametrize("name", OPERATIONS)
async def test_hooks_run_as_strawberry_runs_them(name: str) -> None:
    strawberrys = strawberry.Schema(query=Query, extensions=EXTENSIONS)
    ours = CachedHooksSchema(query=Query, extensions=EXTENSIONS)
    query, variables = OPERATIONS[name]
    for _ in range(2):   # the second time from the cache of wrappers
        expected = await run(strawberrys, query, variables)
        assert await run(ours, query, variables) == expected
        assert expected[0]   # the hooks did run


async def test_each_request_gets_its_own_extensions() -> None:
    ours = CachedHooksSchema(query=Query, extensions=EXTENSIONS)
    for _ in range(3):
        log, _ = await run(ours, "{ hello }", None)
        assert "operation: counter 1" in log
