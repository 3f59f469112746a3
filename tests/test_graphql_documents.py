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


async def test_a_clients_large_documents_wait_their_turn_and_others_pass_them() -> None:
    """per_client=1: one of the client's documents on the worker, the next ones waiting for it;
    another client's document goes to the worker meanwhile, ahead of them."""
    checker = DocumentChecker(large_bytes=8192, per_client=1)
    flood = [asyncio.create_task(checker.checked(SCHEMA, large(n), {}, RULES, "10.0.0.1"))
             for n in range(5)]
    await asyncio.sleep(0)   # all five registered: one on the worker, four waiting
    assert checker.in_work("10.0.0.1") == 5
    other = await checker.checked(SCHEMA, large(100), {}, RULES, "10.0.0.2")
    assert other.document is not None
    assert sum(task.done() for task in flood) <= 2   # it did not wait for the whole flood
    assert all([(await task).document is not None for task in flood])
    await asyncio.sleep(0.05)   # the slots are given back by the loop once the work is done
    assert checker.in_work("10.0.0.1") == 0 and checker.in_work("10.0.0.2") == 0


async def test_a_client_past_its_waiting_room_is_refused_at_once() -> None:
    checker = DocumentChecker(large_bytes=8192, per_client=1)
    allowed = 1 + checker.most_waiting
    queued = [asyncio.create_task(checker.checked(SCHEMA, large(n), {}, RULES, "10.0.0.1"))
              for n in range(allowed)]
    await asyncio.sleep(0)
    refused = await checker.checked(SCHEMA, large(allowed), {}, RULES, "10.0.0.1")
    assert refused.document is None and refused.errors[0].extensions["code"] == "RATE_LIMITED"
    assert (await checker.checked(SCHEMA, large(1000), {}, RULES, "10.0.0.2")).document is not None
    assert all([(await task).document is not None for task in queued])


async def test_a_client_that_hangs_up_while_waiting_leaves_no_count() -> None:
    checker = DocumentChecker(large_bytes=8192, per_client=1)
    first = asyncio.create_task(checker.checked(SCHEMA, large(1), {}, RULES, "10.0.0.1"))
    waiting = asyncio.create_task(checker.checked(SCHEMA, large(2), {}, RULES, "10.0.0.1"))
    await asyncio.sleep(0)
    waiting.cancel()
    await first
    await asyncio.sleep(0.05)
    assert checker.in_work("10.0.0.1") == 0


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
