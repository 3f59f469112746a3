"""Items benchmark for /ogc (issue 5): latency of /collections/reports/items at limit 100 and
1000, whole country and city bboxes, against a database of your choice (the shared 1M one).

    .venv/bin/python bench/ogc_items.py 'postgresql://threatmap_app@/threatmap_bench?host=/work/bench-data/run'

It starts the app (which applies pending migrations, e.g. 0030's open.ogc_* views) under
uvicorn on a free port and times sequential GETs with httpx: median and p95 of N runs each.
Other servers (pygeoapi's stock PostgreSQL provider, tipg) can be given with --url NAME=BASE,
their items path being BASE/collections/reports/items.
"""

import argparse
import asyncio
import socket
import statistics
import time

import httpx
import uvicorn

from gateway.app import create_app
from gateway.settings import Settings

CITIES = {"Warszawa": "20.85,52.10,21.27,52.37", "Kraków": "19.79,49.97,20.22,50.13",
          "Gdańsk": "18.43,54.27,18.95,54.45", "Poland": "14.07,49.0,24.15,54.84"}
LIMITS = (100, 1000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def measure(base: str, runs: int) -> list[tuple[str, int, float, float, int]]:
    rows = []
    async with httpx.AsyncClient(timeout=60) as http:
        for city, bbox in CITIES.items():
            for limit in LIMITS:
                params = {"f": "json", "bbox": bbox, "limit": limit}
                times, returned = [], 0
                for _ in range(runs):
                    start = time.perf_counter()
                    response = await http.get(f"{base}/collections/reports/items", params=params)
                    times.append((time.perf_counter() - start) * 1000)
                    response.raise_for_status()
                    returned = len(response.json()["features"])
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                rows.append((city, limit, statistics.median(times), p95, returned))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description="OGC items benchmark")
    parser.add_argument("database_url")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", action="append", default=[], help="NAME=BASE of another server")
    args = parser.parse_args()
    port = free_port()
    settings = Settings(database_url=args.database_url, port=port, maintenance_interval_s=3600)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.1)
    try:
        targets = {"threatmap /ogc": f"http://127.0.0.1:{port}/ogc"}
        targets |= dict(spec.split("=", 1) for spec in args.url)
        print("| server | bbox | limit | median ms | p95 ms | features |\n|---|---|---|---|---|---|")
        for name, base in targets.items():
            for city, limit, median, p95, returned in await measure(base.rstrip("/"), args.runs):
                print(f"| {name} | {city} | {limit} | {median:.1f} | {p95:.1f} | {returned} |")
    finally:
        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main())
