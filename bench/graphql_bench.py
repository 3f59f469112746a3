"""GraphQL benchmarks (issue 4): a page of 100 public reports in a city bbox, and submitReport
throughput. Runs the real app in-process (ASGI, real pools, real PostGIS) against a database
that already holds data, e.g. the shared one:

    .venv/bin/python bench/graphql_bench.py \\
        --database-url 'postgresql://threatmap_app@/threatmap_bench?host=/work/bench-data/run'

Reports it submits carry idempotency keys starting with `bench-` and are deleted at the end.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.settings import Settings

WARSAW_BBOX = {"west": 20.85, "south": 52.10, "east": 21.27, "north": 52.37}
PAGE = """query($bbox: BBox!, $after: String) {
  reports(filter: {bbox: $bbox}, first: 100, after: $after) {
    totalCount pageInfo { endCursor hasNextPage }
    edges { node { id status occurredOn category { id nameEn } areas { code name }
                   location { longitude latitude } } } } }"""
PAGE_NO_TOTAL = PAGE.replace("totalCount ", "")
SUBMIT = """mutation($input: SubmitReportInput!, $key: String) {
  submitReport(input: $input, idempotencyKey: $key) { trackingToken report { id } } }"""


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return (f"{name}: n={len(ms)} median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ms[-1]:.1f} ms")


async def timed(client: httpx.AsyncClient, query: str, variables: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    elapsed = time.perf_counter() - start
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return elapsed, body


async def pages(client: httpx.AsyncClient, query: str, n: int) -> list[float]:
    times = []
    after = None
    for _ in range(n):
        elapsed, body = await timed(client, query, {"bbox": WARSAW_BBOX, "after": after})
        times.append(elapsed)
        info = body["data"]["reports"]["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None
    return times


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    settings = Settings(database_url=args.database_url, submit_rate_limit="1000000/hour",
                        maintenance_interval_s=3600)
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=300) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         timeout=60) as client:
                _, first = await timed(client, PAGE, {"bbox": WARSAW_BBOX, "after": None})
                print(f"reports in the Warsaw bbox: {first['data']['reports']['totalCount']}")
                await pages(client, PAGE, 5)  # warm-up
                print(summary("page of 100 with totalCount", await pages(client, PAGE, args.pages)))
                print(summary("page of 100 without totalCount",
                              await pages(client, PAGE_NO_TOTAL, args.pages)))
                for concurrency in (1, 8):
                    rate = await submissions(client, args.submissions, concurrency)
                    print(f"submitReport, {concurrency} concurrent: {rate:.0f} reports/s")
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            gone = conn.execute("DELETE FROM core.reports WHERE idempotency_key LIKE 'bench-%'").rowcount
        print(f"removed {gone} benchmark reports")


if __name__ == "__main__":
    asyncio.run(main())
