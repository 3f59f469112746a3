"""GraphQL benchmarks (issue 4): a page of 100 public reports in a city bbox, side by side with
the raw SQL floor (the same page statement, and the same three statements, run directly with
psycopg over the same cursors); the staff work list; and submitReport throughput. Runs the real
app in-process (ASGI, real pools, real PostGIS) against a database that already holds data,
e.g. the shared one:

    .venv/bin/python bench/graphql_bench.py \\
        --database-url 'postgresql://threatmap_app@/threatmap_bench?host=/work/bench-data/run'

Reports it submits carry idempotency keys starting with `bench-` and are deleted at the end.
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.graphql.auth import Role, mint_token
from gateway.graphql.context import AREAS_SQL, CATEGORIES_SQL
from gateway.graphql.reports import BBox, ReportFilter, ReportOrder, decode_cursor, filter_sql, page_sql
from gateway.settings import Settings

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


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return (f"{name}: n={len(ms)} median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ms[-1]:.1f} ms")


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
        self.conditions, self.params, _ = filter_sql(ReportFilter(bbox=BBox(**WARSAW_BBOX)))

    async def page(self, after: str | None, with_total: bool, with_loaders: bool) -> float:
        order = ReportOrder.OCCURRED_ON_DESC
        values = dict(self.params, limit=101)
        if after is not None:
            values["after_day"], values["after_id"] = decode_cursor(after, order)
        query = page_sql(self.conditions, False, order, with_total, after is not None)
        start = time.perf_counter()
        rows = (await (await self.conn.execute(query, values)).fetchone())[1][:100]
        if with_loaders:
            await (await self.conn.execute(CATEGORIES_SQL, [list({r["category_id"] for r in rows})])
                   ).fetchall()
            codes = {c for r in rows for c in (r["county_code"], r["voivodeship_code"]) if c}
            await (await self.conn.execute(AREAS_SQL, [list(codes)])).fetchall()
        return time.perf_counter() - start


async def paired_pages(client: httpx.AsyncClient, floor: Floor, query: str, with_total: bool,
                       n: int) -> tuple[list[float], list[float], list[float]]:
    """Walks n pages; each page is timed through GraphQL, then as the SQL floor (the page
    statement; the three statements) right after it, so that both see the same load."""
    ours, statement, statements = [], [], []
    after = None
    failures = 0
    for _ in range(n):
        try:
            elapsed, body = await timed(client, query, {"bbox": WARSAW_BBOX, "after": after})
        except Failed as error:
            failures += 1
            print(f"  page failed ({error}); it is left out and tried again")
            continue
        ours.append(elapsed)
        statement.append(await floor.page(after, with_total, False))
        statements.append(await floor.page(after, with_total, True))
        info = body["data"]["reports"]["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None
    if failures:
        print(f"  {failures} of {n} pages failed")
    return ours, statement, statements


async def submissions(client: httpx.AsyncClient, n: int, concurrency: int) -> float:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            await timed(client, SUBMIT, {"key": f"bench-{uuid.uuid4()}", "input": {
                "categoryId": "illegal-dumping", "longitude": 21.0 + (i % 50) * 0.002,
                "latitude": 52.2 + (i // 50 % 50) * 0.002, "occurredAt": occurred,
                "description": f"benchmark report {i}"}})

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return n / (time.perf_counter() - start)


def ratio(ours: list[float], base: list[float]) -> str:
    """The median of the per-page ratios (each pair timed back to back)."""
    return f"{statistics.median(o / b for o, b in zip(ours, base, strict=True)):.2f}x"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--public-database-url", help="default: the same with user threatmap_public")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    settings = Settings(database_url=args.database_url, public_database_url=args.public_database_url,
                        submit_rate_limit="1000000/hour", maintenance_interval_s=3600)
    officer = {"Authorization": "Bearer " + mint_token(settings.jwt_secret, Role.OFFICER, "bench",
                                                       "kwp-14")}
    print(f"load average before: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=600) as manager:
            public_url = app.state.runtime.urls.public
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         timeout=60) as client:
                _, first = await timed(client, PAGE, {"bbox": WARSAW_BBOX, "after": None})
                print(f"reports in the Warsaw bbox: {first['data']['reports']['totalCount']}")
                async with await psycopg.AsyncConnection.connect(public_url, autocommit=True) as conn:
                    floor = Floor(conn)
                    for name, query, with_total in (("with totalCount", PAGE, True),
                                                    ("without totalCount", PAGE_NO_TOTAL, False)):
                        await paired_pages(client, floor, query, with_total, 5)  # warm-up
                        ours, statement, statements = await paired_pages(
                            client, floor, query, with_total, args.pages)
                        print(summary(f"page of 100 {name}: GraphQL over ASGI", ours))
                        print(summary(f"page of 100 {name}: SQL floor, the page statement",
                                      statement) + f"; ours/floor {ratio(ours, statement)}")
                        print(summary(f"page of 100 {name}: SQL floor, all 3 statements",
                                      statements) + f"; ours/floor {ratio(ours, statements)}")
                await pages(client, STAFF, 3, "staffReports", officer)  # warm-up
                staff = await pages(client, STAFF, args.pages, "staffReports", officer)
                print(summary("staffReports page of 100, officer kwp-14, private fields", staff))
                for concurrency in (1, 8):
                    rate = await submissions(client, args.submissions, concurrency)
                    print(f"submitReport, {concurrency} concurrent: {rate:.0f} reports/s")
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            gone = conn.execute("DELETE FROM core.reports WHERE idempotency_key LIKE 'bench-%'").rowcount
        print(f"removed {gone} benchmark reports")
        print(f"load average after: {os.getloadavg()[0]:.1f} (1 min)")


if __name__ == "__main__":
    asyncio.run(main())
