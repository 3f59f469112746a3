"""The known anonymous page of reports answered in front of strawberry's view
(gateway.graphql.known_page): the same bytes, status and headers as strawberry's own executor
gives through the view, for every page it takes; everything else (tokens, errors, persisted
queries, other root fields, bodies it does not read) left to the view with the view's answer; a
page the database refuses reported by the view without running the statement again. On a real
PostGIS, through the app's whole ASGI stack."""

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql.known_page import AnonymousPageShortcut
from gateway.graphql.persisted import sha256
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import (
    PAGE_DOCUMENTS,
    PAGE_REFUSALS,
    SQL_PAGE_DOCUMENTS,
    WARSAW_BBOX,
    codes,
    graphql_shortcut,
    graphql_view,
    page_reports,
    running_app,
    token,
)

# Response headers that differ from one request to the next whatever the path.
PER_REQUEST_HEADERS = {"x-request-id", "date"}

Send = Callable[..., Awaitable[httpx.Response]]
# ask(send) -> (the answer with the shortcut, the view's answer with strawberry's executor, taken)
Ask = Callable[[Send], Awaitable[tuple[httpx.Response, httpx.Response, bool]]]


@pytest.fixture(scope="module")
def public_reports(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    with page_reports(urls) as ids:
        yield ids


@pytest.fixture(scope="module")
async def app(settings: Settings, public_reports: list[uuid.UUID]
              ) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with running_app(settings) as running:
        yield running


@pytest.fixture
def ask(app: tuple[httpx.AsyncClient, Any]) -> Ask:
    http, asgi = app
    shortcut = graphql_shortcut(asgi)
    schema = graphql_view(asgi).schema

    async def both(send: Send) -> tuple[httpx.Response, httpx.Response, bool]:
        # The view's answer first (strawberry's own executor, no shortcut): the document is
        # then one the app has validated, as a client's second page finds it.
        own = schema.execution_context_class
        schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
        shortcut.enabled = False
        try:
            plain = await send(http)
        finally:
            schema.execution_context_class = own
            shortcut.enabled = True
        before = AnonymousPageShortcut.answered
        fast = await send(http)
        return fast, plain, AnonymousPageShortcut.answered > before
    return both


def posted(query: str, variables: dict[str, Any] | None = None, **more: Any) -> Send:
    body = {"query": query, "variables": variables or {}, **more}
    return lambda http: http.post("/graphql", json=body)


def same(fast: httpx.Response, plain: httpx.Response) -> dict[str, Any]:
    """The same status, headers (but those of each request) and bytes; the body."""
    assert fast.status_code == plain.status_code
    assert fast.text == plain.text
    assert ({k: v for k, v in fast.headers.items() if k not in PER_REQUEST_HEADERS}
            == {k: v for k, v in plain.headers.items() if k not in PER_REQUEST_HEADERS})
    return fast.json()


# PAGE_DOCUMENTS with more than one root response key: the view's (its executor writes them)
SEVERAL_ROOT_KEYS = {"two pages side by side and the same field twice", "__typename at every level",
                     "an empty filter, a null one, a bbox of integers",
                     "other root fields beside the page"}
MORE_PAGES = {
    **SQL_PAGE_DOCUMENTS,
    "an alias at the root": ("{ mine: reports(first: 2) { edges { node { id } } } }", None),
    "a string with characters beyond ASCII in a literal": (
        '{ reports(first: 2, filter: {categories: ["wandalizm-ąę"]}) { totalCount } }', None),
}


@pytest.mark.parametrize("name", [*PAGE_DOCUMENTS, *MORE_PAGES])
async def test_a_known_page_is_answered_in_front_of_the_view_with_the_same_bytes(
        ask: Ask, name: str) -> None:
    query, variables = {**PAGE_DOCUMENTS, **MORE_PAGES}[name]
    fast, plain, taken = await ask(posted(query, variables))
    body = same(fast, plain)
    assert "errors" not in body, body
    assert taken == (name not in SEVERAL_ROOT_KEYS)


async def test_the_walk_of_a_bbox_page_by_page(ask: Ask, public_reports: list[uuid.UUID]) -> None:
    query = """query($bbox: BBox!, $after: String) { reports(filter: {bbox: $bbox}, first: 5,
        after: $after) { pageInfo { endCursor hasNextPage } edges { cursor node { id } } } }"""
    after, seen = None, []
    for _ in range(10):
        fast, plain, taken = await ask(posted(query, {"bbox": WARSAW_BBOX, "after": after}))
        page = same(fast, plain)["data"]["reports"]
        assert taken
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # the Warsaw reports, two of every three, each once
    assert len(seen) == len(set(seen)) == 8 and set(seen) <= {str(i) for i in public_reports}


async def test_graphql_response_media_type_as_the_client_prefers(ask: Ask) -> None:
    query = "{ reports(first: 2) { edges { node { id } } } }"
    for accept, media_type in (("application/graphql-response+json", "application/graphql-response+json"),
                               ("application/json;q=0.5, application/graphql-response+json",
                                "application/graphql-response+json"),
                               ("application/json", "application/json"), ("*/*", "application/json")):
        body = {"query": query}
        fast, plain, taken = await ask(lambda http, body=body, accept=accept: http.post(
            "/graphql", json=body, headers={"Accept": accept}))
        same(fast, plain)
        assert taken and fast.headers["content-type"] == media_type


async def test_a_body_sent_in_pieces_is_read_whole(ask: Ask) -> None:
    text = json.dumps({"query": "{ reports(first: 3) { edges { node { id status } } } }"}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(text), 7):
            yield text[start:start + 7]

    def send(http: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return http.post("/graphql", content=pieces(), headers={"Content-Type": "application/json"})
    fast, plain, taken = await ask(send)
    assert "errors" not in same(fast, plain) and taken


async def test_a_document_the_app_has_not_validated_goes_to_the_view_once(
        app: tuple[httpx.AsyncClient, Any]) -> None:
    http, _ = app
    query = f"{{ reports(first: 1) {{ edges {{ node {{ id }} }} }} }} # {uuid.uuid4()}"
    answers = []
    for _ in range(2):
        before = AnonymousPageShortcut.answered
        response = await http.post("/graphql", json={"query": query})
        answers.append((response.text, AnonymousPageShortcut.answered > before))
    assert [taken for _, taken in answers] == [False, True]
    assert answers[0][0] == answers[1][0]


def refusals(settings: Settings) -> dict[str, tuple[Send, str | None]]:
    """Requests the shortcut leaves to the view: name -> (send, the error code or None)."""
    page = "{ reports(first: 2) { edges { node { id } } } }"
    officer = {"Authorization": f"Bearer {token(settings, 'officer', 'kwp-14')}"}
    two_operations = "query A { reports(first: 1) { totalCount } } query B { reports { totalCount } }"
    return {
        **{name: (posted(query, variables), code)
           for name, (query, variables, code) in PAGE_REFUSALS.items()},
        "an officer's token": (lambda http: http.post("/graphql", json={"query": page},
                                                      headers=officer), None),
        "a token that is not one": (lambda http: http.post(
            "/graphql", json={"query": page}, headers={"Authorization": "Bearer nope"}), "UNAUTHENTICATED"),
        "a persisted query": (posted(page, extensions={"persistedQuery": {
            "version": 1, "sha256Hash": sha256(page)}}), None),
        "two operations, none named": (posted(two_operations), None),
        "an operation name the document does not have": (posted(two_operations, operationName="C"), None),
        "an operation name that is not text": (posted(page, operationName=7), None),
        "variables that are not an object": (posted(page, variables=[1]), None),
        "a list variable over the limit": (posted(
            "query($c: [String!]) { reports(filter: {categories: $c}) { totalCount } }",
            {"c": ["vandalism"] * (settings.graphql_max_list_items + 1)}), "BAD_USER_INPUT"),
        "a NUL in a variable": (posted("query($c: [String!]) { reports(filter: {categories: $c}) "
                                       "{ totalCount } }", {"c": ["a\u0000b"]}), "BAD_USER_INPUT"),
        "a NUL in a literal": (posted('{ reports(after: "a\\u0000b") { totalCount } }'), "BAD_USER_INPUT"),
        "a key the body should not have": (posted(page, foo=1), None),
        "a batch": (lambda http: http.post("/graphql", json=[{"query": page}]), None),
        "JSON that is not an object": (lambda http: http.post(
            "/graphql", content=b'"text"', headers={"Content-Type": "application/json"}), None),
        "JSON that does not parse": (lambda http: http.post(
            "/graphql", content=b'{"query": ', headers={"Content-Type": "application/json"}), None),
        "a body in Latin-1": (lambda http: http.post(
            "/graphql", content=json.dumps({"query": page}).encode(),
            headers={"Content-Type": "application/json; charset=latin-1"}), None),
        "a GET": (lambda http: http.get("/graphql", params={"query": page}), None),
        "a mutation": (posted('mutation { openReport(id: "nope") { id } }'), None),
        "a subscription": (posted("subscription { reportEvents { __typename } }"), None),
    }


async def test_what_the_shortcut_does_not_read_gets_the_views_answer(ask: Ask, settings: Settings) -> None:
    for name, (send, code) in refusals(settings).items():
        fast, plain, taken = await ask(send)
        assert not taken, name
        assert fast.status_code == plain.status_code and fast.text == plain.text, name
        if code is not None:
            assert code in codes(fast.json()), (name, fast.text)


async def test_a_page_the_database_refuses_is_reported_by_the_view_without_running_it_again(
        app: tuple[httpx.AsyncClient, Any], urls: DatabaseUrls) -> None:
    """open.reports locked: the page statement waits out the public role's statement timeout
    (5 s, migration 0001) once, and the view reports that very error at the field's path."""
    http, asgi = app
    shortcut = graphql_shortcut(asgi)
    query = "{ reports(first: 2) { edges { node { id } } } }"
    await http.post("/graphql", json={"query": query})   # the document is known
    answers = []
    for enabled in (True, False):
        shortcut.enabled = enabled
        try:
            with psycopg.connect(urls.admin) as locker:
                locker.execute("LOCK TABLE open.reports IN ACCESS EXCLUSIVE MODE")
                before = AnonymousPageShortcut.answered
                start = time.perf_counter()
                response = await http.post("/graphql", json={"query": query})
                answers.append((response, time.perf_counter() - start,
                                AnonymousPageShortcut.answered > before))
                locker.rollback()
        finally:
            shortcut.enabled = True
    (fast, fast_s, fast_taken), (plain, plain_s, _) = answers
    assert not fast_taken
    assert fast.status_code == plain.status_code == 200
    assert fast.json() == plain.json()
    assert fast.json()["data"] is None and fast.json()["errors"][0]["path"] == ["reports"]
    # once the timeout, not twice
    assert 4.5 < fast_s < 8 and 4.5 < plain_s < 8, (fast_s, plain_s)
