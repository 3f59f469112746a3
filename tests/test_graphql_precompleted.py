"""The pages of reports (public `reports`, officers' `staffReports`) completed without
graphql-core's per-field machinery (gateway.graphql.precompleted) answer exactly what the
ordinary completion answers: the same bytes for aliases, fragments, @skip/@include, __typename,
nested category and areas, private fields, cursors, filters and errors, on a real PostGIS. Each
document is sent twice to one app, once with the precompleting executor and once with
strawberry's own, and the documents the lighter path understands must actually take it."""

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import psycopg
import pytest
from starlette.routing import Route
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql.precompleted import PrecompletingExecutor
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import WARSAW, insert_report, running_app, token

KRAKOW = (19.94, 50.06)
WARSAW_BBOX = {"west": 20.85, "south": 52.10, "east": 21.27, "north": 52.37}


class CountingExecutor(PrecompletingExecutor):
    """The precompleting executor, counting the results it completed itself."""

    precompleted: ClassVar[int] = 0

    def precomplete(self, *args: Any) -> Any:
        value = super().precomplete(*args)
        CountingExecutor.precompleted += 1
        return value


@pytest.fixture(scope="module")
def public_reports(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    """Twelve public reports over a few days, categories (one sensitive: by month), statuses
    and two cities."""
    start = datetime(2026, 3, 5, 14, 37, tzinfo=UTC)
    places = [WARSAW, KRAKOW, (21.05, 52.25)]
    categories = ["vandalism", "illegal-dumping", "minors-at-risk", "poaching"]
    statuses = ["new", "under_verification", "confirmed"]
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = [insert_report(conn, lon=places[i % 3][0] + i * 1e-3, lat=places[i % 3][1],
                             category=categories[i % 4], status=statuses[i % 3],
                             occurred_at=start - timedelta(days=i // 2), created_at=start,
                             published=True)
               for i in range(12)]
    yield ids
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


@pytest.fixture(scope="module")
async def both(settings: Settings, public_reports: list[uuid.UUID]
               ) -> AsyncIterator[Any]:
    """ask(query, variables) -> (precompleted answer, ordinary answer, whether precompleted)."""
    async with running_app(settings) as (http, app):
        graphql = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
        while not hasattr(graphql, "schema"):   # through the ASGI wrappers (body limit, preflight)
            graphql = graphql.app
        schema = graphql.schema

        async def post(query: str, variables: dict[str, Any] | None, role: str | None) -> httpx.Response:
            unit = "kwp-14" if role == "officer" else None
            headers = {"Authorization": f"Bearer {token(settings, role, unit)}"} if role else {}
            return await http.post("/graphql", json={"query": query, "variables": variables or {}},
                                   headers=headers)

        async def ask(query: str, variables: dict[str, Any] | None = None, role: str | None = None
                      ) -> tuple[httpx.Response, httpx.Response, bool]:
            # (the precompleting executor alone: the app's own writes the anonymous public page
            # in SQL, tests/test_graphql_sql_page.py)
            app_executor = schema.execution_context_class
            schema.execution_context_class = CountingExecutor
            try:
                before = CountingExecutor.precompleted
                fast = await post(query, variables, role)
                taken = CountingExecutor.precompleted > before
                schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
                plain = await post(query, variables, role)
            finally:
                schema.execution_context_class = app_executor
            return fast, plain, taken
        yield ask


async def same(both: Any, query: str, variables: dict[str, Any] | None = None,
               role: str | None = None) -> tuple[dict, bool]:
    fast, plain, taken = await both(query, variables, role)
    assert fast.status_code == plain.status_code
    assert fast.text == plain.text   # the same bytes: values, key order, errors and their paths
    return fast.json(), taken


FULL_PAGE = """query($bbox: BBox!, $after: String, $first: Int!) {
  reports(filter: {bbox: $bbox}, first: $first, after: $after) {
    totalCount pageInfo { endCursor hasNextPage hasPreviousPage startCursor }
    edges { cursor node { id status occurredOn datePrecision
                          category { id namePl nameEn colour icon sensitive active descriptionRequired
                                     group { id namePl nameEn } }
                          areas { code level name parentCode }
                          location { longitude latitude geojson } } } } }"""

# Documents the lighter path understands.
UNDERSTOOD = {
    "the suite's page": (FULL_PAGE, {"bbox": WARSAW_BBOX, "first": 100}),
    "a page of 3 from the whole country": (FULL_PAGE.replace("filter: {bbox: $bbox}, ", "")
                                           .replace("$bbox: BBox!, ", ""), {"first": 3}),
    "aliases everywhere": ("""{ r: reports(first: 4, orderBy: OCCURRED_ON_ASC) {
        n: totalCount e: edges { c: cursor x: node { key: id s: status
        cat: category { i: id } a: areas { c: code } p: location { lon: longitude } } }
        pi: pageInfo { more: hasNextPage } } }""", None),
    "two pages side by side and the same field twice": ("""{
        a: reports(first: 2) { edges { node { id id status } } edges { node { occurredOn } } }
        b: reports(first: 2, orderBy: OCCURRED_ON_ASC) { edges { node { id } } } }""", None),
    "named and inline fragments, nested": ("""
        query { ...Root }
        fragment Root on Query { reports(first: 5) { ...Conn } }
        fragment Conn on ReportConnection {
          totalCount edges { ... on ReportEdge { cursor node { ...Node } } } }
        fragment Node on Report { id ... { status category { ...Cat } } areas { ... on Area { code } } }
        fragment Cat on Category { id group { id } }""", None),
    "@skip and @include with variables and literals": ("""
        query($yes: Boolean!, $no: Boolean!) { reports(first: 3) {
          totalCount @skip(if: $yes)
          pageInfo @include(if: $yes) { hasNextPage endCursor @skip(if: true) }
          edges { node { id @include(if: $no) status ...F @include(if: $yes)
                         ... @skip(if: $yes) { occurredOn } } } } }
        fragment F on Report { category { id nameEn @skip(if: $no) } }""", {"yes": True, "no": False}),
    "__typename at every level": ("""{ __typename reports(first: 2) { __typename
        pageInfo { __typename } edges { __typename node { __typename id
        category { __typename group { __typename } } areas { __typename } location { __typename } } } } }""",
                                  None),
    "a filter on categories, statuses, days and area": ("""{ reports(first: 10, filter: {
        categories: ["vandalism", "minors-at-risk"], statuses: ["NEW", "confirmed"],
        occurredFrom: "2026-03-01", occurredTo: "2026-03-31", areaCode: "14"}) {
        totalCount edges { node { id status occurredOn datePrecision areas { code } } } } }""", None),
    "other root fields beside the page": ("""{ statuses { id } reports(first: 2) { edges { node { id } } }
        categories { id } }""", None),
    "an empty page": ("{ reports(first: 0) { totalCount pageInfo { hasNextPage startCursor endCursor } "
                      "edges { cursor } } }", None),
    "nothing matches": ("""{ reports(filter: {bbox: {west: 14.2, south: 49.1, east: 14.3, north: 49.2}})
        { totalCount edges { node { id } } pageInfo { endCursor } } }""", None),
}


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
    after, seen = None, []
    for _ in range(10):
        body, taken = await same(both, FULL_PAGE, {"bbox": WARSAW_BBOX, "first": 3, "after": after})
        assert taken
        page = body["data"]["reports"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 8   # the Warsaw reports: two of every three


# Documents with errors, or fields the lighter path leaves to graphql-core.
ORDINARY = {
    "first out of range": ("{ reports(first: 501) { edges { node { id } } } }", None, "BAD_USER_INPUT"),
    "a cursor of another ordering": ("""{ reports(first: 1, orderBy: OCCURRED_ON_ASC,
        after: "b2NjdXJyZWRfb25fZGVzY3wyMDI2LTAzLTA1fDBiOWQ0YzVlLTNmMGEtNGMxZS05YTU3LTJkOGU2ZjdhMWIyYw==")
        { edges { node { id } } } }""", None, "BAD_USER_INPUT"),
    "a bbox turned around": ("""{ reports(filter: {bbox: {west: 21, south: 52, east: 20, north: 53}})
        { edges { node { id } } } }""", None, "BAD_USER_INPUT"),
    "a private field on the public page": ("{ reports(first: 2) { edges { node { id description } } } }",
                                           None, "FORBIDDEN"),
    "a private field behind a fragment": ("""{ reports(first: 2) { edges { node { ...P } } } }
        fragment P on Report { exactLocation { latitude } }""", None, "FORBIDDEN"),
    "the source filter, anonymous": ('{ reports(filter: {source: "citizen"}) { edges { node { id } } } }',
                                     None, "FORBIDDEN"),
    "an invalid document": ("{ reports { edges { node { nope } } } }", None, "BAD_USER_INPUT"),
    "a variable of the wrong type": ("query($first: Int!) { reports(first: $first) { totalCount } }",
                                     {"first": "ten"}, None),
    "the police unit (a loader of its own)": (
        "{ reports(first: 3) { edges { node { id policeUnit { id } } } } }", None, None),
}


@pytest.mark.parametrize("name", list(ORDINARY))
async def test_errors_and_other_fields_answer_as_before(both: Any, name: str) -> None:
    query, variables, code = ORDINARY[name]
    body, taken = await same(both, query, variables)
    assert not taken
    if code is not None:
        assert code in {e.get("extensions", {}).get("code") for e in body["errors"]}, body


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
