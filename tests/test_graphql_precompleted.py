"""The pages of reports (public `reports`, officers' `staffReports`) completed without
graphql-core's per-field machinery (gateway.graphql.precompleted) answer exactly what the
ordinary completion answers: the same bytes for aliases, fragments, @skip/@include, __typename,
nested category and areas, private fields, cursors, filters and errors, on a real PostGIS. Each
document is sent twice to one app, once with the precompleting executor and once with
strawberry's own, and the documents the lighter path understands must actually take it."""

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pytest

from gateway.graphql.precompleted import PrecompletingExecutor
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import (
    PAGE_DOCUMENTS,
    PAGE_OF_EVERYTHING_IN_A_BBOX,
    PAGE_REFUSALS,
    WARSAW_BBOX,
    Ask,
    answers_as_before,
    page_reports,
    same_bytes,
    two_executors,
    walked_pages,
)


class CountingExecutor(PrecompletingExecutor):
    """The precompleting executor, counting the results it completed itself."""

    precompleted: ClassVar[int] = 0

    def precomplete(self, *args: Any) -> Any:
        value = super().precomplete(*args)
        CountingExecutor.precompleted += 1
        return value


@pytest.fixture(scope="module")
def public_reports(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    with page_reports(urls) as ids:
        yield ids


@pytest.fixture(scope="module")
async def both(settings: Settings, public_reports: list[uuid.UUID]) -> AsyncIterator[Ask]:
    """ask(query, variables) -> (precompleted answer, ordinary answer, whether precompleted):
    the precompleting executor alone (the app's own writes the anonymous public page in SQL,
    tests/test_graphql_sql_page.py)."""
    async with two_executors(settings, CountingExecutor, lambda: CountingExecutor.precompleted) as ask:
        yield ask


async def same(both: Ask, query: str, variables: dict[str, Any] | None = None,
               role: str | None = None) -> tuple[dict, bool]:
    return await same_bytes(both, query, variables, role)


# Documents the lighter path understands (tests/support.py).
UNDERSTOOD = PAGE_DOCUMENTS


@pytest.mark.parametrize("name", list(UNDERSTOOD))
async def test_understood_documents_take_the_lighter_path_with_the_same_answer(
        both: Any, name: str) -> None:
    query, variables = UNDERSTOOD[name]
    body, taken = await same(both, query, variables)
    assert "errors" not in body, body
    assert taken


async def test_the_page_has_every_report_it_should(both: Any, public_reports: list[uuid.UUID]) -> None:
    body, taken = await same(both, "{ reports(first: 100) { edges { node { id } } } }")
    assert taken
    assert {e["node"]["id"] for e in body["data"]["reports"]["edges"]} == {str(i) for i in public_reports}


async def test_paging_with_cursors_gives_the_same_pages(both: Any, public_reports: list[uuid.UUID]) -> None:
    seen = await walked_pages(both, PAGE_OF_EVERYTHING_IN_A_BBOX, {"bbox": WARSAW_BBOX, "first": 3})
    assert len(seen) == len(set(seen)) == 8   # the Warsaw reports: two of every three


# Documents with errors, or fields the lighter path leaves to graphql-core (tests/support.py).
ORDINARY = PAGE_REFUSALS


@pytest.mark.parametrize("name", list(ORDINARY))
async def test_errors_and_other_fields_answer_as_before(both: Any, name: str) -> None:
    await answers_as_before(both, name)


# -- the work list -------------------------------------------------------------------------------
STAFF_PAGE = """query($after: String) { staffReports(first: 5, after: $after) {
    totalCount pageInfo { endCursor hasNextPage }
    edges { cursor node { __typename id status occurredOn occurredAt description contact source
        forwardedTo exactLocation { longitude latitude geojson } location { longitude latitude }
        deadlines { submittedAt readBy readAt readState verifyBy verifiedAt verifyState }
        category { id } areas { code } } } } }"""


@pytest.mark.parametrize("role", ["officer", "analyst"])
async def test_the_work_list_takes_the_lighter_path_with_the_same_answer(both: Any, role: str) -> None:
    after, seen = None, 0
    for _ in range(5):
        body, taken = await same(both, STAFF_PAGE, {"after": after}, role)
        assert "errors" not in body, body
        assert taken
        page = body["data"]["staffReports"]
        seen += len(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen >= 8   # the Warsaw reports at least (an analyst sees all twelve)


async def test_the_work_list_with_fragments_and_aliases(both: Any) -> None:
    body, taken = await same(both, """query($no: Boolean!) { w: staffReports(first: 3) {
        e: edges { n: node { ...Private t: occurredAt @skip(if: $no) } } } }
        fragment Private on Report { d: description exactLocation @include(if: $no) { latitude } }""",
                             {"no": False}, "officer")
    assert "errors" not in body and taken


async def test_the_work_list_with_history_answers_as_before(both: Any) -> None:
    body, taken = await same(both, "{ staffReports(first: 2) { edges { node { id history { kind } } } } }",
                             None, "officer")
    assert "errors" not in body and not taken


async def test_private_fields_on_the_public_page_of_an_officer_answer_as_before(both: Any) -> None:
    body, taken = await same(both, "{ reports(first: 3) { edges { node { id description } } } }",
                             None, "officer")
    assert not taken and body["data"] is not None
