"""gateway.graphql.documents: documents parsed and validated once, large ones on a worker thread,
a bounded number at a time per client; gateway.graphql.list_limit on the variables. No database:
the checker gets the schema and rules the app builds."""

import asyncio
import threading

from graphql import GraphQLSyntaxError, get_introspection_query, parse, specified_rules

from gateway.graphql import documents
from gateway.graphql.documents import DocumentChecker
from gateway.graphql.list_limit import oversized_list
from gateway.graphql.schema import build_schema
from gateway.settings import Settings

SCHEMA = build_schema(Settings())._schema
RULES = tuple(specified_rules)
SMALL = "{ statuses { id } }"


def large(n: int) -> str:
    return SMALL + f"\n# {n} " + "x" * 10_000


async def test_a_known_document_comes_from_the_cache() -> None:
    checker = DocumentChecker(large_bytes=8192, per_client=2)
    first = await checker.checked(SCHEMA, SMALL, {"max_tokens": 100}, RULES, "a")
    again = await checker.checked(SCHEMA, SMALL, {"max_tokens": 100}, RULES, "b")
    assert again is first and first.document is not None and first.errors == ()
    other_options = await checker.checked(SCHEMA, SMALL, {"max_tokens": 5}, RULES, "a")
    assert other_options is not first
    assert isinstance(other_options.errors[0], GraphQLSyntaxError)   # 5 tokens are too few


async def test_large_documents_are_parsed_on_the_worker_thread(monkeypatch) -> None:
    threads: list[str] = []

    def recording_parse(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return parse(*args, **kwargs)

    monkeypatch.setattr(documents, "parse", recording_parse)   # instrumentation: parse still runs
    checker = DocumentChecker(large_bytes=8192, per_client=2)
    await checker.checked(SCHEMA, SMALL, {}, RULES, "a")
    result = await checker.checked(SCHEMA, large(1), {}, RULES, "a")
    assert result.document is not None and result.errors == ()
    assert threads[0] == threading.current_thread().name
    assert threads[1].startswith("graphql-documents")
    # large documents are not kept: an attacker's unique documents would evict the clients' own
    assert await checker.checked(SCHEMA, large(1), {}, RULES, "a") is not result


async def test_a_client_past_its_large_documents_is_refused_and_others_are_not() -> None:
    checker = DocumentChecker(large_bytes=8192, per_client=1)
    first = asyncio.create_task(checker.checked(SCHEMA, large(1), {}, RULES, "10.0.0.1"))
    await asyncio.sleep(0)   # the first is handed to the worker
    assert checker.in_work("10.0.0.1") == 1
    refused = await checker.checked(SCHEMA, large(2), {}, RULES, "10.0.0.1")
    assert refused.document is None and refused.errors[0].extensions["code"] == "RATE_LIMITED"
    other = asyncio.create_task(checker.checked(SCHEMA, large(3), {}, RULES, "10.0.0.2"))
    assert (await first).document is not None and (await other).document is not None
    await asyncio.sleep(0.05)   # the slots are given back by the loop once the work is done
    assert checker.in_work("10.0.0.1") == 0 and checker.in_work("10.0.0.2") == 0
    assert (await checker.checked(SCHEMA, large(2), {}, RULES, "10.0.0.1")).document is not None


async def test_without_a_large_size_everything_is_parsed_on_the_loop_and_unbounded() -> None:
    checker = DocumentChecker(large_bytes=0, per_client=1)
    results = await asyncio.gather(*[checker.checked(SCHEMA, large(n), {}, RULES, "a") for n in range(3)])
    assert all(r.document is not None for r in results)


def test_the_first_list_over_the_bound_is_named_with_its_place() -> None:
    assert oversized_list({"c": list(range(100))}, 100) is None
    assert oversized_list({"c": list(range(101))}, 100) == ("$c", 101)
    assert oversized_list({"f": {"statuses": ["a"] * 500}}, 100) == ("$f.statuses", 500)
    assert oversized_list({"f": [{"x": [[0] * 101]}]}, 100) == ("$f[0].x[0]", 101)
    assert oversized_list(None, 100) is None
    deep: list = []
    for _ in range(100_000):   # nesting does not exhaust the stack
        deep = [deep]
    assert oversized_list({"d": deep}, 100) is None


async def test_validation_work_is_bounded_and_real_documents_stay_within_it() -> None:
    """300 repetitions of one field (under a kilobyte) make the overlapping-fields rule compare
    45,000 pairs: aborted at the budget instead; GraphiQL's introspection query is not."""
    checker = DocumentChecker(large_bytes=0, per_client=0)
    repeated = await checker.checked(SCHEMA, "{ statuses { " + "id " * 300 + "} }", {}, RULES, "a")
    assert [e.message for e in repeated.errors] == ["Validation aborted."]
    introspection = await checker.checked(SCHEMA, get_introspection_query(descriptions=True), {},
                                          RULES, "a")
    assert introspection.errors == ()
