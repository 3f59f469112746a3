"""The anonymous public page of reports written by PostgreSQL in one statement
(gateway.graphql.sql_page, store.public_pages) answers exactly what the ordinary completion
answers: the same bytes for every selection a public page allows (aliases, fragments,
@skip/@include with variables, __typename, category and group, areas, location and geojson,
pageInfo, totalCount), cursors in both orders, filters, empty pages and errors, on a real PostGIS.
Each document is sent twice to one app, once with the app's executor and once with strawberry's
own, and the documents the statement claims must actually be answered by it."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql.context import Context, Loaders
from gateway.graphql.sql_page import SqlPageExecutor
from gateway.settings import Settings
from store import public_pages, report_totals
from store.locations import DatabaseUrls
from store.reports import BBox, ReportFilter
from tests.support import (
    PAGE_DOCUMENTS,
    PAGE_REFUSALS,
    SQL_PAGE_DOCUMENTS,
    WARSAW_BBOX,
    Ask,
    answers_as_before,
    graphql_view,
    insert_report,
    page_reports,
    running_app,
    same_bytes,
    two_executors,
    walked_pages,
)


class CountingSqlExecutor(SqlPageExecutor):
    """The app's executor, counting the pages it answered in SQL."""

    sql_pages: ClassVar[int] = 0

    def took_sql_path(self) -> None:
        CountingSqlExecutor.sql_pages += 1


@pytest.fixture(scope="module")
def public_reports(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    with page_reports(urls) as ids:
        yield ids


@pytest.fixture(scope="module")
async def both(settings: Settings, public_reports: list[uuid.UUID]) -> AsyncIterator[Ask]:
    """ask(query, variables, role) -> (app's answer, ordinary answer, whether SQL answered)."""
    async with two_executors(settings, CountingSqlExecutor, lambda: CountingSqlExecutor.sql_pages) as ask:
        yield ask


async def same(both: Ask, query: str, variables: dict[str, Any] | None = None,
               role: str | None = None) -> tuple[dict, bool]:
    return await same_bytes(both, query, variables, role)


EVERYTHING = """query($bbox: BBox, $after: String, $first: Int!, $order: ReportOrder!) {
  reports(filter: {bbox: $bbox}, first: $first, after: $after, orderBy: $order) {
    __typename totalCount
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { __typename id status occurredOn datePrecision
        category { __typename id namePl nameEn colour icon sensitive active descriptionRequired
                   group { __typename id namePl nameEn } }
        areas { __typename code level name parentCode }
        location { __typename longitude latitude geojson } } } } }"""

# Documents the statement answers: those of the precompleted path, and more.
ANSWERED = {
    **PAGE_DOCUMENTS,
    **SQL_PAGE_DOCUMENTS,
    "every field, the whole country": (EVERYTHING, {"first": 100, "order": "OCCURRED_ON_DESC"}),
    "every field, oldest first": (EVERYTHING, {"first": 100, "order": "OCCURRED_ON_ASC"}),
    "the default page, no arguments": ("{ reports { totalCount edges { cursor node { id } } } }", None),
    "one field under two keys, and one key twice": ("""{ reports(first: 3) {
        a: edges { node { id id status } } b: edges { cursor } edges { node { occurredOn } }
        t: totalCount totalCount } }""", None),
    "two pages side by side": ("""{ a: reports(first: 2) { edges { node { id } } }
        b: reports(first: 2, orderBy: OCCURRED_ON_ASC) { edges { node { id } } pageInfo { endCursor } } }""",
                               None),
}


@pytest.mark.parametrize("name", list(ANSWERED))
async def test_answered_documents_are_written_by_the_database_with_the_same_bytes(
        both: Any, name: str) -> None:
    query, variables = ANSWERED[name]
    body, taken = await same(both, query, variables)
    assert "errors" not in body, body
    assert taken


async def test_the_page_has_every_report_it_should(both: Any, public_reports: list[uuid.UUID]) -> None:
    body, taken = await same(both, "{ reports(first: 500) { edges { node { id } } } }")
    assert taken
    assert {e["node"]["id"] for e in body["data"]["reports"]["edges"]} >= {str(i) for i in public_reports}


@pytest.mark.parametrize("order", ["OCCURRED_ON_DESC", "OCCURRED_ON_ASC"])
async def test_paging_with_cursors_gives_the_same_pages(both: Any, order: str) -> None:
    seen = await walked_pages(both, EVERYTHING, {"bbox": WARSAW_BBOX, "first": 2, "order": order})
    assert len(seen) == len(set(seen)) == 8   # the Warsaw reports: two of every three


# Documents with errors, or fields the statement leaves to the ordinary path (tests/support.py).
ORDINARY = PAGE_REFUSALS


@pytest.mark.parametrize("name", list(ORDINARY))
async def test_errors_and_other_fields_answer_as_before(both: Any, name: str) -> None:
    await answers_as_before(both, name)


@pytest.mark.parametrize("role", ["officer", "analyst"])
async def test_a_token_takes_the_ordinary_path(both: Any, role: str) -> None:
    body, taken = await same(both, EVERYTHING, {"first": 5, "order": "OCCURRED_ON_DESC"}, role)
    assert "errors" not in body and not taken


# -- the statement's completeness ----------------------------------------------------------------
async def test_a_page_the_schema_would_refuse_is_not_complete(
        urls: DatabaseUrls, public_reports: list[uuid.UUID]) -> None:
    """A value without a name in the enum (as if the schema lost one) makes the page incomplete,
    so the ordinary path answers (and reports the error); with the names, it is complete."""
    precision = ("day", "DAY"), ("month", "MONTH")

    def picks(names: tuple[tuple[str, str], ...]) -> tuple[public_pages.Pick, ...]:
        node = public_pages.Pick("node", "node", True, "Report", (
            public_pages.Pick("id", "id", True, "ID"),
            public_pages.Pick("datePrecision", "datePrecision", True, "DatePrecision", names=names)))
        return (public_pages.Pick("edges", "edges", True, "ReportEdge", (node,)),)

    params = public_pages.page_params(None, 100, None)
    async with AsyncConnectionPool(urls.public, min_size=1, max_size=1) as pool:
        whole = await public_pages.page_text(
            pool, public_pages.page_statement(picks(precision), frozenset(), True, False), params)
        assert whole is not None
        assert {e["node"]["datePrecision"] for e in json.loads(whole)["edges"]} == {"DAY", "MONTH"}
        assert await public_pages.page_text(
            pool, public_pages.page_statement(picks(precision[:1]), frozenset(), True, False), params) is None


def test_fields_outside_the_list_are_not_written() -> None:
    with pytest.raises(ValueError):
        public_pages.page_statement((public_pages.Pick("edges", "edges", True, "ReportEdge", (
            public_pages.Pick("node", "node", True, "Report", (
                public_pages.Pick("d", "description", False, "String"),)),)),),
            frozenset(), True, False)
    with pytest.raises(ValueError):
        public_pages.page_statement((public_pages.Pick("totalCount", "totalCount", False, "Int"),),
                                    frozenset({"source"}), True, False)


def test_the_filter_fields_are_the_statement_cache_key() -> None:
    assert public_pages.filter_fields(None) == frozenset()
    assert public_pages.filter_fields(ReportFilter(bbox=BBox(20, 50, 21, 51), occurred_from=date(2026, 1, 1))
                                      ) == {"bbox", "occurred_from"}


async def test_one_document_with_other_variables_gets_its_own_selection(both: Any) -> None:
    """The selection is cached per document node and the Boolean variables @skip/@include
    read: the same text with the values turned around selects the other fields."""
    query = """query($a: Boolean!, $b: Boolean!, $first: Int!) { reports(first: $first) {
        totalCount @include(if: $a) edges { node { id @skip(if: $b) status @include(if: $b) } } } }"""
    seen = []
    for a, b in ((True, False), (False, True), (True, False), (False, False)):
        body, taken = await same(both, query, {"a": a, "b": b, "first": 2 + a + b})
        assert taken and "errors" not in body
        node = body["data"]["reports"]["edges"][0]["node"]
        seen.append(("totalCount" in body["data"]["reports"], *node))
    assert seen == [(True, "id"), (False, "status"), (True, "id"), (False, "id")]


async def test_an_unfit_literal_is_refused_every_time(both: Any) -> None:
    """RefuseUnfitText remembers what it found in a document: the second request of the same
    text is refused as the first was, before the page is written."""
    query = '{ reports(filter: {areaCode: "1\\u0000"}) { totalCount } }'
    for _ in range(2):
        body, taken = await same(both, query)
        assert not taken and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(("f", "source"), [
    (None, "open.report_totals"),                                     # all of Poland: the totals
    (ReportFilter(area_code="14"), "open.report_totals"),             # an area
    (ReportFilter(bbox=BBox(19.0, 51.0, 22.9, 53.5)), "open.report_squares_count"),   # Masovia-sized
    (ReportFilter(bbox=BBox(20.85, 52.10, 21.27, 52.37), occurred_from=date(2026, 9, 4)),
     "open.report_squares_count"),                                    # a city, last 90 days
    (ReportFilter(bbox=BBox(20.85, 52.10, 20.90, 52.13)), "open.report_cells"),       # a few streets
])
def test_total_count_comes_from_the_source_the_ordinary_page_counts_from(
        f: ReportFilter | None, source: str) -> None:
    """The page's totalCount reads what store.report_totals picks for the filter (the same
    statement as store.reports' page), not the cells for everything."""
    total = (public_pages.Pick("totalCount", "totalCount", True, "Int"),)
    statement, params = public_pages.page(total, f, True, 10, None)
    kept, kept_params = report_totals.count_statement(f)
    assert kept.as_string() in statement and source in statement
    assert params.items() >= kept_params.items()
    edges_only = public_pages.page((public_pages.Pick("edges", "edges", True, "ReportEdge", ()),),
                                   f, True, 10, None)[0]
    assert "report_" not in edges_only   # no count when totalCount is not asked for


# -- text that needs escaping: the database writes it as json.dumps does ------------------------
ODD_NAME = 'Zaśmiecanie „lasu” "cytat" \\ ukośnik\ttab\nnowa\x7f\x01 🦊 € 𝄞'


@pytest.fixture(scope="module")
def odd_category(urls: DatabaseUrls) -> Iterator[str]:
    """A category (and group) whose names need every kind of escape, with one public report."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("INSERT INTO core.category_groups (id, name_pl, name_en) VALUES "
                     "('odd-group', %s, %s)", [ODD_NAME, "Group \"odd\"\u2028"])
        conn.execute("INSERT INTO core.categories (id, group_id, name_pl, name_en, colour, icon) "
                     "VALUES ('odd-names', 'odd-group', %s, %s, '#00ff00', 'odd')",
                     [ODD_NAME, ODD_NAME[::-1]])
        report = insert_report(conn, category="odd-names", published=True)
    yield "odd-names"
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = %s", [report])
        conn.execute("DELETE FROM core.categories WHERE id = 'odd-names'")
        conn.execute("DELETE FROM core.category_groups WHERE id = 'odd-group'")


async def test_names_that_need_escapes_are_written_as_the_ordinary_path_writes_them(
        both: Any, odd_category: str) -> None:
    body, taken = await same(both, """query($c: [String!]) { reports(filter: {categories: $c}) {
        edges { node { id category { id namePl nameEn colour icon group { id namePl nameEn } }
                       areas { code level name parentCode } } } } }""", {"c": [odd_category]})
    assert taken
    assert [e["node"]["category"]["namePl"] for e in body["data"]["reports"]["edges"]] == [ODD_NAME]


async def test_the_text_is_handed_over_as_it_is_only_to_the_view(
        settings: Settings, public_reports: list[uuid.UUID]) -> None:
    """Without the view's encoder (a context that does not say `raw_json`), the executor hands
    over the parsed value, equal to the ordinary one."""
    async with running_app(settings) as (_, app):
        schema = graphql_view(app).schema
        runtime = app.state.runtime
        query = "{ reports(first: 3) { edges { node { id location { longitude latitude } } } } }"
        results = []
        for executor in (CountingSqlExecutor, StrawberryGraphQLCoreExecutionContext):
            schema.execution_context_class = executor
            before = CountingSqlExecutor.sql_pages
            result = await schema.execute(query, context_value=Context(
                request=None, response=None, runtime=runtime, viewer=None, auth_error=None,
                client="test", limiter=None, loaders=Loaders.create(runtime)))
            results.append((result.data, CountingSqlExecutor.sql_pages > before))
        assert results[0] == (results[1][0], True)
