"""Suite `graphql` (issue 4): a Relay page of 100 public reports in a city bbox (with and without
totalCount), each page timed through GraphQL and as the raw SQL floor (the same statements the
resolvers run, straight through psycopg on one connection, for the same cursor), in an order
that rotates page by page (until stop 28 the floor always came last, on what the app had just
read). On the same cursor, in the same rotation, the page is also timed the ways `main` answered
it before: through strawberry's view without the shortcut in front of it
(gateway.graphql.known_page), the precompleting executor without the page written by
PostgreSQL (gateway.graphql.sql_page), with and without totalCount, and graphql-core's ordinary
per-field completion (strawberry's executor, as before gateway.graphql.precompleted) without
totalCount. The police work list (staffReports), against the ordinary completion the same way;
submitReport throughput at 1 and 8 clients. The real app runs in-process (ASGI through httpx,
real pools, real PostGIS): no network hop, so the figures are the app's own cost.

Reports it submits carry idempotency keys starting with `bench-` and are deleted at the end.
"""

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench.common import Context, Measurement, percentile
from gateway.app import create_app
from gateway.graphql.auth import Role, mint_token
from gateway.graphql.known_page import AnonymousPageShortcut
from gateway.graphql.precompleted import PrecompletingExecutor
from gateway.graphql.reports import ReportOrder, decode_cursor
from gateway.graphql.sql_page import SqlPageExecutor
from gateway.settings import Settings
from store.reference import AREAS_SQL, CATEGORIES_SQL
from store.reports import BBox, ReportFilter, public_page_statement

WARSAW_BBOX = {"west": 20.85, "south": 52.10, "east": 21.27, "north": 52.37}
PAGE = """query($bbox: BBox!, $after: String) {
  reports(filter: {bbox: $bbox}, first: 100, after: $after) {
    totalCount pageInfo { endCursor hasNextPage }
    edges { node { id status occurredOn category { id nameEn } areas { code name }
                   location { longitude latitude } } } } }"""
PAGE_NO_TOTAL = PAGE.replace("totalCount ", "")
STAFF = """query($bbox: BBox!, $after: String) {
  staffReports(filter: {bbox: $bbox}, first: 100, after: $after) {
    pageInfo { endCursor hasNextPage }
    edges { node { id status occurredAt description exactLocation { longitude latitude }
                   category { id } areas { code } } } } }"""
SUBMIT = """mutation($input: SubmitReportInput!, $key: String) {
  submitReport(input: $input, idempotencyKey: $key) { trackingToken report { id } } }"""


PAGES = 50
SUBMISSIONS = 300


def measured(case: str, seconds: list[float], concurrency: int = 1, errors: int = 0,
             wall_s: float | None = None) -> Measurement:
    """Latencies of one case as a Measurement (requests/s from the wall time when given)."""
    ms = sorted(s * 1000 for s in seconds)
    rps = len(ms) / (wall_s if wall_s else sum(seconds))
    return Measurement(case, concurrency, rps, statistics.median(ms), percentile(ms, 95),
                       percentile(ms, 99), len(ms), errors)


class Failed(Exception):
    """A request answered with errors (e.g. the public role's 5 s statement timeout)."""


async def timed(client: httpx.AsyncClient, query: str, variables: dict,
                headers: dict | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers)
    elapsed = time.perf_counter() - start
    body = response.json()
    assert response.status_code == 200, body
    if "errors" in body:
        raise Failed(body["errors"][0]["message"])
    return elapsed, body



async def pages(client: httpx.AsyncClient, query: str, n: int, field: str = "reports",
                headers: dict | None = None) -> list[float]:
    times = []
    after = None
    for _ in range(n):
        elapsed, body = await timed(client, query, {"bbox": WARSAW_BBOX, "after": after}, headers)
        times.append(elapsed)
        info = body["data"][field]["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None
    return times


class Floor:
    """The raw SQL floor: the statement(s) the resolver runs for a page, straight through
    psycopg on one open connection (no pool, no GraphQL, no HTTP), for the same cursor."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn
        self.filter = ReportFilter(bbox=BBox(**WARSAW_BBOX))

    async def page(self, after: str | None, with_total: bool, with_loaders: bool) -> float:
        cursor = decode_cursor(after, ReportOrder.OCCURRED_ON_DESC) if after is not None else None
        query, values = public_page_statement(self.filter, True, 101, cursor, with_total)
        start = time.perf_counter()
        # unprepared, as store.reports.public_page sends it
        rows = (await (await self.conn.execute(query, values, prepare=False)).fetchone())[1][:100]
        if with_loaders:
            await (await self.conn.execute(CATEGORIES_SQL, [list({r["category_id"] for r in rows})])
                   ).fetchall()
            codes = {c for r in rows for c in (r["county_code"], r["voivodeship_code"]) if c}
            await (await self.conn.execute(AREAS_SQL, [list(codes)])).fetchall()
        return time.perf_counter() - start


# The other ways a page is timed beside the app's own, each by the executor it sets for that
# request, all through strawberry's view (gateway.graphql.known_page's shortcut in front of it
# turned off): the page written by PostgreSQL (gateway.graphql.sql_page) as the view answers it,
# graphql-core's per-field completion (strawberry's executor), and the precompleting executor
# without the page written by PostgreSQL: what `main` did before each.
VIEW = "through the view"
ORDINARY = "ordinary completion"
PRECOMPLETED = "precompleted, no SQL page"
WAYS: dict[str, type] = {VIEW: SqlPageExecutor, ORDINARY: StrawberryGraphQLCoreExecutionContext,
                         PRECOMPLETED: PrecompletingExecutor}


async def all_ways(client: httpx.AsyncClient, app: Starlette | None, turn: int, query: str,
                   variables: dict, headers: dict | None = None, ways: tuple[str, ...] = (),
                   floors: dict[str, Callable[[], Awaitable[float]]] | None = None
                   ) -> tuple[float, dict[str, float], dict]:
    """One page as the app answers it and, for each of `ways` and `floors` (timed statements
    straight through psycopg), the same page (same cursor) right before or after it, in an
    order that rotates with `turn` (so that no way, and no floor, always meets the warmer
    caches or connections)."""
    floors = floors or {}
    order = ["app", *(ways if app is not None else ()), *floors]
    order = order[turn % len(order):] + order[:turn % len(order)]
    times: dict[str, float] = {}
    body: dict = {}
    for way in order:
        if way == "app":
            times[way], body = await timed(client, query, variables, headers)
        elif way in floors:
            times[way] = await floors[way]()
        else:
            with executor(app, WAYS[way]):   # type: ignore[arg-type]
                times[way], _ = await timed(client, query, variables, headers)
    return times.pop("app"), times, body


# The two floors of a page: its page statement alone, and with the two loaders' statements.
STATEMENT, STATEMENTS = "floor: page statement", "floor: 3 statements"


async def paired_pages(client: httpx.AsyncClient, floor: Floor, query: str, with_total: bool,
                       n: int, say=print, app: Starlette | None = None, ways: tuple[str, ...] = ()
                       ) -> tuple[list[float], dict[str, list[float]], list[float], list[float], int]:
    """Walks n pages; each page is timed through GraphQL (and, with `app`, through each of
    `ways` too) and as the SQL floor (the page statement; the three statements), in a rotating
    order, so that all see the same load and each is first to read the page as often."""
    ours: list[float] = []
    others: dict[str, list[float]] = {way: [] for way in ways}
    floors: dict[str, list[float]] = {STATEMENT: [], STATEMENTS: []}
    after = None
    failures = 0
    for turn in range(n):
        def floor_of(loaders: bool, after: str | None = after) -> Callable[[], Awaitable[float]]:
            return lambda: floor.page(after, with_total, loaders)
        try:
            elapsed, other, body = await all_ways(
                client, app, turn, query, {"bbox": WARSAW_BBOX, "after": after}, ways=ways,
                floors={STATEMENT: floor_of(False), STATEMENTS: floor_of(True)})
        except Failed as error:
            failures += 1
            say(f"  page failed ({error}); it is left out and tried again")
            continue
        ours.append(elapsed)
        for way, seconds in other.items():
            (floors if way in floors else others)[way].append(seconds)
        info = body["data"]["reports"]["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None
    return ours, others, floors[STATEMENT], floors[STATEMENTS], failures


async def staff_pages(client: httpx.AsyncClient, app: Starlette, n: int, headers: dict
                      ) -> tuple[list[float], list[float]]:
    """n pages of the work list, each as the app answers it and through the ordinary completion."""
    ours, ordinary = [], []
    after = None
    for turn in range(n):
        elapsed, other, body = await all_ways(client, app, turn, STAFF,
                                              {"bbox": WARSAW_BBOX, "after": after}, headers,
                                              (ORDINARY,))
        ours.append(elapsed)
        ordinary.append(other[ORDINARY])
        info = body["data"]["staffReports"]["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None
    return ours, ordinary


async def submissions(client: httpx.AsyncClient, n: int, concurrency: int) -> Measurement:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    queue = list(range(n))
    times: list[float] = []

    async def worker() -> None:
        while queue:
            i = queue.pop()
            elapsed, _ = await timed(client, SUBMIT, {"key": f"bench-{uuid.uuid4()}", "input": {
                "categoryId": "illegal-dumping", "longitude": 21.0 + (i % 50) * 0.002,
                "latitude": 52.2 + (i // 50 % 50) * 0.002, "occurredAt": occurred,
                "description": f"benchmark report {i}"}})
            times.append(elapsed)

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return measured("submitReport", times, concurrency, wall_s=time.perf_counter() - start)


@contextlib.contextmanager
def executor(app: Starlette, execution_context_class: type) -> Iterator[None]:
    """The app's GraphQL view with another executor for a while (WAYS), its shortcut for the
    known public page turned off: every request goes to the view."""
    graphql: Any = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    shortcut = None
    while not hasattr(graphql, "schema"):   # through the ASGI wrappers (body limit, preflight)
        if isinstance(graphql, AnonymousPageShortcut):
            shortcut = graphql
        graphql = graphql.app
    own = graphql.schema.execution_context_class
    graphql.schema.execution_context_class = execution_context_class
    if shortcut is not None:
        shortcut.enabled = False
    try:
        yield
    finally:
        graphql.schema.execution_context_class = own
        if shortcut is not None:
            shortcut.enabled = True


def run(ctx: Context) -> dict:
    return asyncio.run(_run(ctx))


async def _run(ctx: Context) -> dict:
    settings = Settings(database_url=ctx.urls.app, public_database_url=ctx.urls.public,
                        submit_rate_limit="1000000/hour", maintenance_interval_s=3600,
                        allowed_hosts=["bench"])   # the client's base URL, http://bench
    officer = {"Authorization": "Bearer " + mint_token(settings.jwt_secret, Role.OFFICER, "bench",
                                                       "kwp-14")}
    results: list[Measurement] = []

    def record(m: Measurement) -> None:
        results.append(m)
        ctx.say(f"  {m.case:<58} c={m.concurrency:<2} p50 {m.p50_ms:7.1f} ms  p95 {m.p95_ms:7.1f} ms"
                f"  {m.rps:7.1f}/s  ({m.requests}, {m.errors} failed)")

    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=600) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         timeout=60) as client:
                _, first = await timed(client, PAGE, {"bbox": WARSAW_BBOX, "after": None})
                ctx.say(f"reports in the Warsaw bbox: {first['data']['reports']['totalCount']:,}")
                async with await psycopg.AsyncConnection.connect(ctx.urls.public, autocommit=True) as conn:
                    floor = Floor(conn)
                    for name, query, with_total, ways in (
                            ("with totalCount", PAGE, True, (VIEW, PRECOMPLETED)),
                            ("without totalCount", PAGE_NO_TOTAL, False,
                             (VIEW, PRECOMPLETED, ORDINARY))):
                        await paired_pages(client, floor, query, with_total, 5, ctx.say, app, ways)  # warm-up
                        ours, others, statement, statements, failed = await paired_pages(
                            client, floor, query, with_total, PAGES, ctx.say, app, ways)
                        record(measured(f"page of 100, Warsaw bbox, {name}: GraphQL", ours, errors=failed))
                        for way, seconds in others.items():
                            record(measured(f"page of 100, Warsaw bbox, {name}: GraphQL, {way}", seconds))
                        record(measured(f"page of 100, Warsaw bbox, {name}: SQL floor, page statement",
                                        statement))
                        record(measured(f"page of 100, Warsaw bbox, {name}: SQL floor, 3 statements",
                                        statements))
                await staff_pages(client, app, 3, officer)  # warm-up
                ours, ordinary = await staff_pages(client, app, PAGES, officer)
                record(measured("staffReports page of 100, officer kwp-14, private fields", ours))
                record(measured("staffReports page of 100, officer kwp-14, private fields, ordinary "
                                "completion", ordinary))
                for concurrency in (1, 8):
                    record(await submissions(client, SUBMISSIONS, concurrency))
    finally:
        with psycopg.connect(ctx.urls.app, autocommit=True) as conn:
            gone = conn.execute("DELETE FROM core.reports WHERE idempotency_key LIKE 'bench-%'").rowcount
        ctx.say(f"removed {gone} benchmark reports")
    return {"results": results}


def ratios(results: list[Measurement]) -> list[tuple[int, dict[str, float]]]:
    """GraphQL over its SQL floor, per page case (medians)."""
    by = {m.case: m for m in results}
    row = {}
    for name, ours_case in (("with totalCount", "GraphQL"),
                            ("with totalCount", f"GraphQL, {VIEW}"),
                            ("with totalCount", f"GraphQL, {PRECOMPLETED}"),
                            ("without totalCount", "GraphQL"),
                            ("without totalCount", f"GraphQL, {VIEW}"),
                            ("without totalCount", f"GraphQL, {PRECOMPLETED}"),
                            ("without totalCount", f"GraphQL, {ORDINARY}")):
        ours = by.get(f"page of 100, Warsaw bbox, {name}: {ours_case}")
        base = by.get(f"page of 100, Warsaw bbox, {name}: SQL floor, 3 statements")
        if ours and base:
            row[f"page {name}: {ours_case} p50 / floor p50 (3 statements)"] = ours.p50_ms / base.p50_ms
    return [(1, row)]
