"""What several test modules share, in one place: places and paths, factories (reports, tokens),
clients (HTTP through ASGI, a real uvicorn on a free port, GraphQL over HTTP and over WebSocket),
tile decoding, and statement counting. Fixtures live in conftest.py; no test module imports
another."""

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import mercantile
import psycopg
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.routing import Route
from starlette.types import ASGIApp
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.app import create_app
from gateway.graphql.auth import Role, mint_token
from gateway.graphql.known_page import AnonymousPageShortcut
from gateway.settings import PROJECT_ROOT, Settings
from store.cluster import ManagedCluster
from store.locations import DatabaseUrls, create_database, managed_urls
from store.setup import prepare_database

CONFIG_DIR = PROJECT_ROOT / "config"
WARSAW = (21.012, 52.230)


# -- factories ----------------------------------------------------------------------------------
def insert_report(conn: psycopg.Connection, *, lon: float = WARSAW[0], lat: float = WARSAW[1],
                  category: str = "vandalism", status: str = "new",
                  occurred_at: datetime | None = None, created_at: datetime | None = None,
                  description: str | None = "a private description",
                  contact: str | None = "private@example.org", published: bool = False,
                  abusive: bool = False) -> uuid.UUID:
    """Writes one report straight into core, as the gateway would."""
    now = datetime.now(UTC)
    created_at = created_at or now
    occurred_at = occurred_at or created_at - timedelta(hours=1)
    row = conn.execute(
        """
        INSERT INTO core.reports (category_id, status, geom, occurred_at, created_at,
                                  description, contact, abusive, published_at)
        VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s, %s)
        RETURNING id
        """,
        [category, status, lon, lat, occurred_at, created_at, description, contact, abusive,
         now if published else None],
    ).fetchone()
    return row[0]


def insert_scattered_reports(conn: psycopg.Connection, rng: random.Random, count: int, *,
                             dx: float, dy: float, categories: list[str], statuses: list[str],
                             start: datetime, days: int = 90) -> list[uuid.UUID]:
    """`count` published reports within dx, dy degrees of central Warsaw, of random categories and
    statuses, each on a random day of `days` from `start` at a random hour around its noon (made
    then too: dates of every month and day for the counts kept per day)."""
    ids = []
    for _ in range(count):
        occurred = start + timedelta(days=rng.randrange(days), hours=rng.uniform(-11, 11))
        ids.append(insert_report(conn, lon=WARSAW[0] + rng.uniform(-dx, dx),
                                 lat=WARSAW[1] + rng.uniform(-dy, dy),
                                 category=rng.choice(categories), status=rng.choice(statuses),
                                 occurred_at=occurred, created_at=occurred, published=True))
    return ids


def insert_varied_reports(conn: psycopg.Connection, rng: random.Random, count: int, *,
                          around: tuple[float, float], dx: float, dy: float, start: datetime,
                          days: int) -> list[uuid.UUID]:
    """`count` published reports within dx, dy degrees of `around`, over three categories, two
    statuses and `days` days from `start`: paging, sorting and each filter select different ones."""
    return [insert_report(conn, lon=around[0] + rng.uniform(-dx, dx), lat=around[1] + rng.uniform(-dy, dy),
                          category=rng.choice(["vandalism", "speeding", "minors-at-risk"]),
                          status=rng.choice(["new", "confirmed"]),
                          occurred_at=start + timedelta(days=rng.randrange(days)), published=True)
            for _ in range(count)]


def token(settings: Settings, role: str, unit: str | None = None, hours: float = 1) -> str:
    """A bearer token the app built from `settings` accepts."""
    return mint_token(settings.jwt_secret, Role(role), f"test-{role}", unit, hours)


# -- the public page of reports, answered two ways -------------------------------------------------
def insert_page_reports(conn: psycopg.Connection, count: int, start: datetime, per_day: int
                        ) -> list[uuid.UUID]:
    """`count` public reports, `per_day` a day back from `start` (the keyset's id breaks ties),
    over four categories (minors-at-risk is sensitive: by month), three statuses and three
    places (Warsaw twice, Kraków)."""
    places = [WARSAW, (19.94, 50.06), (21.05, 52.25)]
    categories = ["vandalism", "illegal-dumping", "minors-at-risk", "poaching"]
    statuses = ["new", "under_verification", "confirmed"]
    return [insert_report(conn, lon=places[i % 3][0] + i * 1e-3, lat=places[i % 3][1],
                          category=categories[i % 4], status=statuses[i % 3],
                          occurred_at=start - timedelta(days=i // per_day), created_at=start,
                          published=True)
            for i in range(count)]


# Columns a rebuild numbers afresh: core.report_cells' own key (migration 0029).
REBUILT_IDS = {"core.report_cells": "id"}


def rows_as_text(conn: psycopg.Connection, table: str) -> list[str]:
    """Every row of `table` as text, sorted: its content as a multiset, but for a key a rebuild
    numbers afresh (REBUILT_IDS)."""
    row = f"to_jsonb(t) - '{REBUILT_IDS[table]}'" if table in REBUILT_IDS else "t"
    return [r[0] for r in conn.execute(f"SELECT ({row})::text FROM {table} AS t ORDER BY 1")]


@contextlib.contextmanager
def page_reports(urls: DatabaseUrls) -> Iterator[list[uuid.UUID]]:
    """Twelve public reports from 2026-03-05, two a day (the keyset's id breaks ties on a day),
    over categories (one sensitive: by month), statuses and two cities: the data PAGE_DOCUMENTS
    are written for; deleted after."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = insert_page_reports(conn, 12, datetime(2026, 3, 5, 14, 37, tzinfo=UTC), 2)
    try:
        yield ids
    finally:
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [ids])


Ask = Callable[..., Awaitable[tuple[httpx.Response, httpx.Response, bool]]]


@contextlib.asynccontextmanager
async def two_executors(settings: Settings, fast: type, counted: Callable[[], int]
                        ) -> AsyncIterator[Ask]:
    """ask(query, variables, role) -> (the answer with the `fast` executor, the answer with
    strawberry's own, whether `counted()` grew during the first): one app, the executor set per
    request, the app's own set back after."""
    async with running_app(settings) as (http, app):
        schema = graphql_view(app).schema
        # the executors are the view's: the shortcut in front of it (its own tests) stays off
        graphql_shortcut(app).enabled = False

        async def post(query: str, variables: dict[str, Any] | None, role: str | None) -> httpx.Response:
            unit = "kwp-14" if role == "officer" else None
            headers = {"Authorization": f"Bearer {token(settings, role, unit)}"} if role else {}
            return await http.post("/graphql", json={"query": query, "variables": variables or {}},
                                   headers=headers)

        async def ask(query: str, variables: dict[str, Any] | None = None, role: str | None = None
                      ) -> tuple[httpx.Response, httpx.Response, bool]:
            own = schema.execution_context_class
            schema.execution_context_class = fast
            try:
                before = counted()
                answer = await post(query, variables, role)
                taken = counted() > before
                schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
                plain = await post(query, variables, role)
            finally:
                schema.execution_context_class = own
            return answer, plain, taken
        yield ask


async def same_bytes(ask: Ask, query: str, variables: dict[str, Any] | None = None,
                     role: str | None = None) -> tuple[dict, bool]:
    """The two answers of `ask` are the same bytes (values, key order, errors and their paths)
    with the same status and Retry-After; returns the body and whether the fast path was taken."""
    fast, plain, taken = await ask(query, variables, role)
    assert fast.status_code == plain.status_code
    assert fast.headers.get("retry-after") == plain.headers.get("retry-after")
    assert fast.text == plain.text
    return fast.json(), taken


async def walked_pages(ask: Ask, query: str, variables: dict[str, Any]) -> list[str]:
    """Follows `reports`' endCursor (at most 10 pages), each page the same bytes on both paths
    and answered by the fast one; returns the node ids seen, in order."""
    after, seen = None, []
    for _ in range(10):
        body, taken = await same_bytes(ask, query, variables | {"after": after})
        assert taken
        page = body["data"]["reports"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return seen


async def answers_as_before(ask: Ask, name: str) -> None:
    """PAGE_REFUSALS[name] is left to the ordinary path, with the same bytes and error code."""
    query, variables, code = PAGE_REFUSALS[name]
    body, taken = await same_bytes(ask, query, variables)
    assert not taken
    if code is not None:
        assert code in {e.get("extensions", {}).get("code") for e in body["errors"]}, body


def graphql_view(app: Any) -> Any:
    """The app's strawberry view at /graphql (through the ASGI wrappers: body limit, preflight,
    the known page's shortcut)."""
    graphql = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    while not hasattr(graphql, "schema"):
        graphql = graphql.app
    return graphql


def graphql_shortcut(app: Any) -> AnonymousPageShortcut:
    """The shortcut in front of the app's GraphQL view (gateway.graphql.known_page)."""
    graphql = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    while not isinstance(graphql, AnonymousPageShortcut):
        graphql = graphql.app
    return graphql


# -- the public page of reports: documents the lighter paths answer (on insert_page_reports'
# reports: 12 from 2026-03-05, 2 a day) ---------------------------------------------------------
WARSAW_BBOX = {"west": 20.85, "south": 52.10, "east": 21.27, "north": 52.37}
PAGE_OF_EVERYTHING_IN_A_BBOX = """query($bbox: BBox!, $after: String, $first: Int!) {
  reports(filter: {bbox: $bbox}, first: $first, after: $after) {
    totalCount pageInfo { endCursor hasNextPage hasPreviousPage startCursor }
    edges { cursor node { id status occurredOn datePrecision
                          category { id namePl nameEn colour icon sensitive active descriptionRequired
                                     group { id namePl nameEn } }
                          areas { code level name parentCode }
                          location { longitude latitude geojson } } } } }"""

PAGE_DOCUMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "the suite's page": (PAGE_OF_EVERYTHING_IN_A_BBOX, {"bbox": WARSAW_BBOX, "first": 100}),
    "a page of 3 from the whole country": (PAGE_OF_EVERYTHING_IN_A_BBOX.replace("filter: {bbox: $bbox}, ", "")
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
    "an empty filter, a null one, a bbox of integers": ("""{
        a: reports(first: 2, filter: {}) { edges { node { id } } }
        b: reports(first: 2, filter: null) { edges { node { id } } }
        c: reports(first: 2, filter: {bbox: {west: 20, south: 52, east: 22, north: 53}}) {
          edges { node { id } } } }""", None),
    "other root fields beside the page": ("""{ statuses { id } reports(first: 2) { edges { node { id } } }
        categories { id } }""", None),
    "an empty page": ("{ reports(first: 0) { totalCount pageInfo { hasNextPage startCursor endCursor } "
                      "edges { cursor } } }", None),
    "nothing matches": ("""{ reports(filter: {bbox: {west: 14.2, south: 49.1, east: 14.3, north: 49.2}})
        { totalCount edges { node { id } } pageInfo { endCursor } } }""", None),
}


# Documents the page written by PostgreSQL answers beside PAGE_DOCUMENTS (its own tests and the
# shortcut's in front of the view)
SQL_PAGE_DOCUMENTS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "the bench's page": ("""query($bbox: BBox!, $after: String) {
        reports(filter: {bbox: $bbox}, first: 100, after: $after) {
        pageInfo { endCursor hasNextPage }
        edges { node { id status occurredOn category { id nameEn } areas { code name }
                       location { longitude latitude } } } } }""", {"bbox": WARSAW_BBOX}),
    "filters in variables, with nulls": ("""query($f: ReportFilter) { reports(first: 10, filter: $f) {
        totalCount edges { node { id } } } }""", {"f": {"bbox": None, "categories": ["poaching"],
                                                      "statuses": None, "areaCode": None}}),
    "only the total": ('{ reports(filter: {areaCode: "12"}) { totalCount } }', None),
}


# -- the public page of reports: documents the lighter paths leave to the ordinary one ------------
# name: (document, variables, the error code expected or None); errors, private fields, the
# police unit (tests/test_graphql_precompleted.py, tests/test_graphql_sql_page.py).
PAGE_REFUSALS: dict[str, tuple[str, dict[str, Any] | None, str | None]] = {
    "first out of range": ("{ reports(first: 501) { edges { node { id } } } }", None, "BAD_USER_INPUT"),
    "a negative first": ("{ reports(first: -1) { edges { node { id } } } }", None, "BAD_USER_INPUT"),
    "a cursor that is not one": ('{ reports(after: "nope") { edges { node { id } } } }', None,
                                 "BAD_USER_INPUT"),
    "a cursor of another ordering": ("""{ reports(first: 1, orderBy: OCCURRED_ON_ASC,
        after: "b2NjdXJyZWRfb25fZGVzY3wyMDI2LTAzLTA1fDBiOWQ0YzVlLTNmMGEtNGMxZS05YTU3LTJkOGU2ZjdhMWIyYw==")
        { edges { node { id } } } }""", None, "BAD_USER_INPUT"),
    "a bbox turned around": ("""{ reports(filter: {bbox: {west: 21, south: 52, east: 20, north: 53}})
        { edges { node { id } } } }""", None, "BAD_USER_INPUT"),
    "a bbox beyond the poles, in the variables": (
        "query($b: BBox) { reports(filter: {bbox: $b}) { edges { node { id } } } }",
        {"b": {"west": 20, "south": 52, "east": 21, "north": 91}}, "BAD_USER_INPUT"),
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
        "{ reports(first: 3) { edges { node { id policeUnit { id name area { code } } } } } }", None, None),
}


# -- the app, in process and on a real port ------------------------------------------------------
@contextlib.asynccontextmanager
async def running_app(settings: Settings, peer: tuple[str, int] = ("127.0.0.1", 50000)
                      ) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app of its own (its own rate limiter) and a client whose socket peer is `peer`."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, app


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uvicorn_server(app: ASGIApp, port: int, **config: Any) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                         **config))


@contextlib.asynccontextmanager
async def served(app: ASGIApp, port: int, startup_timeout: float = 120, **config: Any
                 ) -> AsyncIterator[uvicorn.Server]:
    """`app` served by a real uvicorn on `port` in this event loop, until the block ends."""
    server = uvicorn_server(app, port, **config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        await asyncio.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def app_in_thread(settings: Settings) -> Iterator[str]:
    """The app on a free port, served by uvicorn in a thread of its own (for a browser, or any
    client that needs a real port outside the test's event loop); yields its base URL."""
    port = free_port()
    server = uvicorn_server(create_app(settings.model_copy(update={"port": port})), port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# -- nginx in front -----------------------------------------------------------------------------
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
NGINX_MAIN = """
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
{http}
}}
"""


@contextlib.contextmanager
def nginx_running(http: Callable[[Path, int], str], *, ready_path: str = "/", connections: int = 64,
                  timeout_s: float = 20) -> Iterator[str]:
    """A throwaway nginx (Debian's) on a free port of 127.0.0.1, in the foreground, with a folder
    of its own for the pid, the error log, temporary files and caches. `http(root, port)` gives
    the inside of its `http` block (the servers; it may write files under root to include).
    Yields its base URL once `ready_path` answers at all (any status)."""
    assert NGINX is not None, "nginx is not installed (.ci/run installs it)"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="threatmap-nginx-",
                                     dir=os.environ.get("THREATMAP_TEST_ROOT")) as name:
        root = Path(name)
        root.chmod(0o755)   # nginx's workers run as another user when the tests run as root
        conf = root / "nginx.conf"
        conf.write_text(NGINX_MAIN.format(root=root, connections=connections, http=http(root, port)))
        log = root / "error.log"
        process = subprocess.Popen([NGINX, "-c", str(conf), "-e", str(log)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    httpx.get(f"{base}{ready_path}", timeout=2)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                        raise AssertionError(f"nginx did not start:\n{tail}") from None
                    time.sleep(0.1)
            yield base
        finally:
            stop_process(process)


# -- browsers ------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless Chromium with WebGL in software (MapLibre needs it), in a container without a sandbox.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]


async def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium through Playwright (a browser download does not work here)."""
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=CHROMIUM_ARGS)


async def eventually[T](check: Callable[[], Awaitable[T]], timeout: float = 3.0) -> T:
    """Polls `check` until it returns something true or `timeout` seconds have passed; returns
    its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.02)


# The map page is ready: its MapLibre map exists, has loaded its style and its tiles. `window.map`
# is the page's <div id="map"> (named access) until the module script has replaced it.
MAP_READY = ("window.map && typeof window.map.loaded === 'function' && window.map.loaded() "
             "&& window.map.areTilesLoaded()")


async def wait_in_page(page: Any, expression: str, timeout: float = 60.0) -> None:
    """Polls a JavaScript expression in a Playwright page until it is true. Not Playwright's
    wait_for_function: it evaluates its predicate with eval() in the page, which the pages'
    Content-Security-Policy refuses; page.evaluate comes through DevTools, which CSP lets be."""
    deadline = time.monotonic() + timeout
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression}"
        await asyncio.sleep(0.1)


# -- GraphQL -------------------------------------------------------------------------------------
async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              token: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A GraphQL POST; asserts the HTTP status is 200 and returns the body."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=sent)
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def json_body(document: Any) -> bytes:
    """`document` as JSON with every non-ASCII character escaped, as many clients send it: a
    lone surrogate, which UTF-8 cannot carry (httpx's `json=` fails on it), travels as `\\ud800`."""
    return json.dumps(document).encode("ascii")


async def gql_raw(client: httpx.AsyncClient, body: bytes, token: str | None = None) -> httpx.Response:
    """A GraphQL POST of `body` as it is (see json_body), whatever the answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", content=body, headers=headers)


def codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each error of a GraphQL answer, in order."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def next_message(ws: Any, timeout: float = 10) -> dict[str, Any]:
    """The next graphql-transport-ws message on a WebSocket."""
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))


async def ws_query(ws: Any, op: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One query operation over graphql-transport-ws: its `next` payload (or `error`)."""
    await ws.send(json.dumps({"id": op, "type": "subscribe",
                              "payload": {"query": query, "variables": variables}}))
    message = await next_message(ws)
    if message["type"] == "next":
        assert (await next_message(ws))["type"] == "complete"
    return message


class CountingPool:
    """Counts statements run through a pool's connections (instrumentation, not a stand-in)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)

    @contextlib.asynccontextmanager
    async def connection(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with self.pool.connection(*args, **kwargs) as conn:
            counter = self

            class Cursor:
                def __init__(self, cursor: Any) -> None:
                    self.cursor = cursor

                async def __aenter__(self) -> "Cursor":
                    await self.cursor.__aenter__()
                    return self

                async def __aexit__(self, *exc: Any) -> None:
                    await self.cursor.__aexit__(*exc)

                async def execute(self, *a: Any, **k: Any) -> Any:
                    counter.statements += 1
                    return await self.cursor.execute(*a, **k)

                def __getattr__(self, name: str) -> Any:
                    return getattr(self.cursor, name)

            class Connection:
                def cursor(self, *a: Any, **k: Any) -> Cursor:
                    return Cursor(conn.cursor(*a, **k))

                async def execute(self, *a: Any, **k: Any) -> Any:
                    counter.statements += 1
                    return await conn.execute(*a, **k)

                def __getattr__(self, name: str) -> Any:
                    return getattr(conn, name)

            yield Connection()


# -- OGC API Features ------------------------------------------------------------------------------
# police-response-times is not walked here: it shows only finished months of reports with a unit
# (tests/test_kmzb_workflow.py has its own data for it).
OGC_COLLECTIONS = ["reports", "report-density", "area-statistics", "area-totals", "police-units",
                   "categories"]
# Exact points of the `published` fixture's reports (conftest.py): none on a cell centre.
PUBLISHED_KRAKOW = (19.93712, 50.06143)
PUBLISHED_WARSAW = (21.01234, 52.22977)


# -- tiles, decoded as a client does ------------------------------------------------------------
EXTENT = 4096


def decode_tile(data: bytes, z: int, x: int, y: int) -> dict[str, list[dict]]:
    """Layers of an MVT tile, each feature with its properties and its points in EPSG:3857
    metres."""
    bounds = mercantile.xy_bounds(mercantile.Tile(x, y, z))
    width = bounds.right - bounds.left

    def to_mercator(px: float, py: float) -> tuple[float, float]:
        return bounds.left + px / EXTENT * width, bounds.top - py / EXTENT * width

    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True,
                                                               "transformer": to_mercator})
    return {name: layer["features"] for name, layer in layers.items()}


def reports_in(layers: dict[str, list[dict]]) -> int:
    """How many reports the `reports` layer shows: below zoom 15 a point stands for `count`
    reports sharing its cell, category, status and date (tiles/queries.py)."""
    return sum(f["properties"].get("count", 1) for f in layers.get("reports", []))


# -- photos (issue 12, point 5) ------------------------------------------------------------------
CAMERA_SERIAL = b"SN-123456789"
XMP_PACKET = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
              b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
              b'exif:GPSLatitude="52,13.8N"/></rdf:RDF></x:xmpmeta>')


def camera_exif() -> Any:
    """EXIF as a phone writes it: make, model, orientation, the body's serial, a GPS position."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "TestCam", "Model X", 6   # make, model, orientation
    exif.get_ifd(0x8769)[0xA431] = CAMERA_SERIAL.decode()                # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 13.0, 48.0), "E", (21.0, 0.0, 43.0)
    return exif


def photo_bytes(fmt: str = "JPEG", size: tuple[int, int] = (80, 60), metadata: bool = True) -> bytes:
    """An image in `fmt` (JPEG, PNG, WEBP, GIF...), with EXIF (GPS, serial), XMP, an ICC profile
    and a comment or text chunk where the format carries them."""
    import io

    from PIL import Image, ImageCms
    from PIL.PngImagePlugin import PngInfo

    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 7):   # some structure, so that the encoders have work
        image.putpixel((x, x % size[1]), (10, 200, 40))
    options: dict[str, Any] = {}
    if metadata and fmt in ("JPEG", "PNG", "WEBP"):
        options = {"exif": camera_exif(),
                   "icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()}
        if fmt == "JPEG":
            options |= {"comment": b"secret comment", "xmp": XMP_PACKET}
        elif fmt == "WEBP":
            options["xmp"] = XMP_PACKET
        else:
            text = PngInfo()
            text.add_text("GPS", "52.2300,21.0100")
            options["pnginfo"] = text
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def assert_no_metadata(data: bytes) -> None:
    """No EXIF, GPS, XMP, ICC, comment or text chunk in an image file, by Pillow and by bytes."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif(), dict(image.getexif())
        assert not image.getexif().get_ifd(0x8825)
        kept = set(image.info) - {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi",
                                  "background", "loop", "duration", "timestamp"}
        assert not kept, kept
    for marker in (b"Exif", CAMERA_SERIAL, b"TestCam", b"GPS", b"xmpmeta", b"secret comment",
                   b"ICC_PROFILE", b"iCCP", b"eXIf", b"tEXt", b"XMP "):
        assert marker not in data, marker


def multipart_request(query: str, variables: dict[str, Any], files: list[bytes],
                      variable: str = "photos") -> dict[str, Any]:
    """httpx `data=` and `files=` of a GraphQL multipart request (the multipart request spec):
    `operations` with a null per file, `map` from each part to its variable."""
    operations = {"query": query, "variables": variables | {variable: [None] * len(files)}}
    mapping = {str(i): [f"variables.{variable}.{i}"] for i in range(len(files))}
    return {"data": {"operations": json.dumps(operations), "map": json.dumps(mapping)},
            "files": {str(i): (f"photo-{i}.jpg", data, "image/jpeg") for i, data in enumerate(files)}}


UPLOAD_HEADERS = {"GraphQL-Require-Preflight": "1"}


# -- `threatmap serve` in processes of its own (tests/test_serve_workers.py, tests/test_scale.py) -----
# the staff token key of those processes (tests mint tokens with it)
SERVE_JWT_SECRET = "serve-tests-" + "k" * 40


def threatmap_command() -> list[str]:
    """The installed `threatmap` command of this virtualenv."""
    return [str(Path(sys.executable).with_name("threatmap"))]


def serve_env(settings: Settings, root: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `threatmap serve` against the test database (no .env read: cwd root)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("THREATMAP_")}
    return env | {
        "THREATMAP_DATABASE_URL": settings.database_url or "",
        "THREATMAP_PUBLIC_DATABASE_URL": settings.public_database_url or "",
        "THREATMAP_DATA_DIR": str(root / "data"),
        "THREATMAP_CONFIG_DIR": str(settings.config_dir),
        "THREATMAP_JWT_SECRET": SERVE_JWT_SECRET,
        "THREATMAP_HOST": "127.0.0.1",
        "THREATMAP_PORT": str(port),
        "THREATMAP_DOWNLOADS_ENABLED": "false",
        "THREATMAP_LOG_FORMAT": "text",
        "THREATMAP_LOG_LEVEL": "WARNING",
    } | extra


def wait_healthy(base: str, process: subprocess.Popen, timeout_s: float = 120,
                 log: Path | None = None) -> None:
    """Until `base`/health answers 200; the process's log (its last lines) if it ends first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"the server ended with {process.returncode}:\n{tail}")
        assert time.monotonic() < deadline, f"{base} did not become healthy"
        time.sleep(0.2)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def bulk_loaded_database(cluster: ManagedCluster, drop: Callable[[str], None], dbname: str,
                         reports: int) -> Iterator[DatabaseUrls]:
    """A database of its own in the session's cluster with `reports` bulk-loaded demo reports
    (store/demo_bulk.py), dropped again afterwards; `drop` is conftest's drop_db (a plain DROP
    DATABASE can wait for ever on the session's listeners: its docstring)."""
    drop(dbname)
    create_database(cluster, dbname)
    urls = managed_urls(cluster, dbname)
    try:
        result = prepare_database(urls, CONFIG_DIR, demo_on_first_start=reports, demo_bulk=True)
        assert result.demo_reports_added == reports
        yield urls
    finally:
        drop(dbname)
