"""`python -m bench.graphql_cpu [N]`: CPU a request of the GraphQL page, in-process as suite
`graphql` drives it (the app through httpx's ASGITransport, real pools, the managed 100,000-report
database of bench/.work, started by `python -m bench graphql --reports 100000` once), with
`time.thread_time` around each request: app and client share the thread, so this is their CPU
together, which load on a shared machine changes far less than wall time.

Cases, rotating request by request after 30 warm-up rounds: `{ __typename }`; the suite's page
of 100 without totalCount, walking the Warsaw bbox; the same page with `first: 1`; each page also
through strawberry's view (the shortcut in front of it turned off); and the floor
of three statements (bench.graphql_pages.Floor) for the page-of-100's cursor. Prints p50 and mean
CPU and p50 wall per case as one JSON line.

To compare with another checkout, run this file with that checkout first on the path:
`cd OTHER && PYTHONPATH=OTHER python -P THIS_CHECKOUT/bench/graphql_cpu.py` (-P: bench/ itself is
not put on the path, where bench/downloads.py would hide the `downloads` package; the file
imports only what both checkouts have)."""

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psycopg
from asgi_lifespan import LifespanManager

from bench.graphql_pages import PAGE_NO_TOTAL, WARSAW_BBOX, Floor
from gateway.app import create_app
from gateway.settings import Settings
from store.locations import ManagedDatabase

PAGE_OF_1 = PAGE_NO_TOTAL.replace("first: 100", "first: 1")
TYPENAME = "{ __typename }"
# This file's own bench/.work (not the imported checkout's): one database for both sides.
WORK_DIR = Path(__file__).resolve().parent / ".work"
# "through the view": the shortcut in front of strawberry's view (gateway.graphql.known_page, where
# the checkout has it) turned off for that request.
VIEW = ", through the view"
CASES = ("typename", "page of 100", f"page of 100{VIEW}", "page of 1", f"page of 1{VIEW}",
         "floor, 3 statements")


def shortcut_of(app: object) -> object | None:
    """The app's AnonymousPageShortcut, or None (a checkout without it)."""
    try:
        from gateway.graphql.known_page import AnonymousPageShortcut
    except ImportError:
        return None
    graphql = next(r.endpoint for r in app.routes if getattr(r, "path", None) == "/graphql")
    while graphql is not None and not isinstance(graphql, AnonymousPageShortcut):
        graphql = getattr(graphql, "app", None)
    return graphql


async def measure(rounds: int) -> dict[str, dict[str, float]]:
    managed = ManagedDatabase(WORK_DIR / "data", "threatmap_bench")
    urls = managed.start()
    try:
        settings = Settings(database_url=urls.app, public_database_url=urls.public,
                            submit_rate_limit="1000000/hour", maintenance_interval_s=3600,
                            allowed_hosts=["bench"])
        app = create_app(settings)
        async with (LifespanManager(app, startup_timeout=600, shutdown_timeout=120) as manager,
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app),
                                      base_url="http://bench", timeout=60) as client,
                    await psycopg.AsyncConnection.connect(urls.public, autocommit=True) as conn):
            return await _rounds(client, Floor(conn), rounds, shortcut_of(app))
    finally:
        managed.stop()


async def _rounds(client: httpx.AsyncClient, floor: Floor, rounds: int, shortcut: object | None
                  ) -> dict[str, dict[str, float]]:
    after: dict[str, str | None] = {case: None for case in CASES[1:5]}

    async def graphql(case: str) -> None:
        query = {"typename": TYPENAME, "page of 100": PAGE_NO_TOTAL,
                 "page of 1": PAGE_OF_1}[case.removesuffix(VIEW)]
        variables = {} if case == "typename" else {"bbox": WARSAW_BBOX, "after": after[case]}
        if shortcut is not None:
            shortcut.enabled = not case.endswith(VIEW)   # type: ignore[attr-defined]
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(body)
        if case != "typename":
            info = body["data"]["reports"]["pageInfo"]
            after[case] = info["endCursor"] if info["hasNextPage"] else None

    steps: dict[str, Callable[[], Awaitable[object]]] = {
        case: (lambda case=case: graphql(case)) for case in CASES[:5]}
    steps["floor, 3 statements"] = lambda: floor.page(after["page of 100"], False, True)
    cpu: dict[str, list[float]] = {case: [] for case in CASES}
    wall: dict[str, list[float]] = {case: [] for case in CASES}
    for turn in range(30 + rounds):
        for case in CASES:
            c0, w0 = time.thread_time(), time.perf_counter()
            await steps[case]()
            c1, w1 = time.thread_time(), time.perf_counter()
            if turn >= 30:
                cpu[case].append((c1 - c0) * 1000)
                wall[case].append((w1 - w0) * 1000)
    return {case: {"cpu_p50_ms": round(statistics.median(cpu[case]), 3),
                   "cpu_mean_ms": round(statistics.fmean(cpu[case]), 3),
                   "wall_p50_ms": round(statistics.median(wall[case]), 3)} for case in CASES}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100))))
