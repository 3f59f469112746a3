"""Suite `hardening` (issue 10, points 3 and 5): fairness under a flood of large documents, and
the server's memory around oversized WebSocket messages. Measured, not asserted.

The server is `threatmap serve` (the CLI: uvicorn as configured there, `ws_max_size` included)
in a process of its own on the benchmark database, started once per configuration:

1. **Fairness.** A probe asks `/health` and, as another client would, a small GraphQL query
   (`{ statuses { id } }`), one after the other every PROBE_GAP_S, first alone, then while a
   separate process floods the server from one address: FLOOD_CLIENTS connections, each posting
   distinct (uncached) ~60 KB documents one after the other. Three configurations:
   - *off*: `THREATMAP_GRAPHQL_LARGE_DOCUMENT_BYTES=0`, everything parsed on the event loop
     (the behaviour before issue 10, point 5);
   - *worker only*: large documents parsed on the worker thread, no per-client bound
     (`THREATMAP_GRAPHQL_LARGE_DOCUMENTS_PER_CLIENT=0`);
   - *default*: worker thread and at most 4 large documents per client in parsing (the next
     ones wait; past 64 waiting, RATE_LIMITED).
   The flood's own row counts documents answered (rate-limited ones as errors).
2. **Memory.** The server's RSS (from /proc) before, right after WS_MESSAGES WebSocket messages
   of 1 MiB (each on a new connection: the server closes it with 1009), and after a pause; with
   the default 64 KiB limit, and with the limit raised to 2 MiB, where each message (a query
   padded with an unused variable) is read, decoded and run: what the limit prevents.
"""

import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import websockets

from bench.common import WORK_DIR, Context, Measurement, free_port, percentile, server

FLOOD_CLIENTS = 50
DOCUMENT_BYTES = 60_000
PROBE_GAP_S = 0.05
SMALL = {"query": "{ statuses { id } }"}
WS_MESSAGES = 100
MESSAGE_BYTES = 2**20
PAUSE_S = 10
CONFIGURATIONS = {
    "off": {"THREATMAP_GRAPHQL_LARGE_DOCUMENT_BYTES": "0"},
    "worker only": {"THREATMAP_GRAPHQL_LARGE_DOCUMENTS_PER_CLIENT": "0"},
    "default": {},
}


@contextmanager
def threatmap(ctx: Context, name: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`threatmap serve` on a free port: its base URL and process id."""
    port = free_port()
    command = [sys.executable, "-c", "from gateway.cli import main; main()", "serve"]
    settings = {"DATABASE_URL": ctx.urls.app, "THREATMAP_PUBLIC_DATABASE_URL": ctx.urls.public,
                "HOST": "127.0.0.1", "PORT": str(port), "THREATMAP_MAINTENANCE_INTERVAL_S": "3600",
                "THREATMAP_DATA_DIR": str(WORK_DIR / "hardening-data"), **env}
    with server(command, f"http://127.0.0.1:{port}/health", settings, f"hardening-{name}") as process:
        yield f"127.0.0.1:{port}", process.pid


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def measured(case: str, seconds: list[float], wall_s: float, errors: int = 0,
             concurrency: int = 1) -> Measurement:
    ms = sorted(s * 1000 for s in seconds) or [float("nan")]
    return Measurement(case, concurrency, len(seconds) / wall_s, statistics.median(ms),
                       percentile(ms, 95), percentile(ms, 99), len(seconds), errors)


# -- fairness ------------------------------------------------------------------------------
def document(n: int) -> str:
    """A distinct valid document of about DOCUMENT_BYTES: a query, then a long comment."""
    return "{ statuses { id } }\n# " + f"{n} " + "x" * DOCUMENT_BYTES


async def _flood(base: str, duration_s: float, offset: int) -> tuple[list[float], int, dict[str, int]]:
    """Answer times of the documents answered; how many were refused; failures by kind."""
    times: list[float] = []
    refused = 0
    failures: dict[str, int] = {}
    deadline = time.monotonic() + duration_s
    counter = iter(range(offset, offset + 10**9, 1))

    async def one_client(client: httpx.AsyncClient) -> None:
        nonlocal refused
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                response = await client.post("/graphql", json={"query": document(next(counter))})
            except httpx.HTTPError as error:   # counted, and the client goes on
                failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
                continue
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                refused += 1
            else:
                times.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=FLOOD_CLIENTS)
    async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60, limits=limits) as client:
        await asyncio.gather(*[one_client(client) for _ in range(FLOOD_CLIENTS)])
    return times, refused, failures


def flood_process(base: str, duration_s: float, offset: int, results: Any) -> None:
    """The flood, in a process of its own so that it does not slow the probe down."""
    results.put(asyncio.run(_flood(base, duration_s, offset)))


class Probe:
    """Latencies of /health and of a small query, asked alternately; failures counted."""

    def __init__(self) -> None:
        self.health: list[float] = []
        self.small: list[float] = []
        self.health_errors = self.small_errors = 0

    async def run(self, base: str, duration_s: float) -> "Probe":
        deadline = time.monotonic() + duration_s
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60) as client:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                ok = (await client.get("/health")).status_code == 200
                self.health.append(time.perf_counter() - start)
                self.health_errors += not ok
                start = time.perf_counter()
                response = await client.post("/graphql", json=SMALL)
                self.small.append(time.perf_counter() - start)
                self.small_errors += response.status_code != 200 or "errors" in response.json()
                await asyncio.sleep(PROBE_GAP_S)
        return self

    def rows(self, when: str, duration_s: float) -> list[Measurement]:
        return [measured(f"/health, {when}", self.health, duration_s, self.health_errors),
                measured(f"small query of another client, {when}", self.small, duration_s,
                         self.small_errors)]


def fairness(ctx: Context, name: str, env: dict[str, str], duration_s: float, offset: int
             ) -> list[Measurement]:
    rows: list[Measurement] = []
    with threatmap(ctx, name.replace(" ", "-"), env) as (base, _):
        if name == "default":
            rows += asyncio.run(Probe().run(base, duration_s)).rows("alone", duration_s)
        results = multiprocessing.get_context("spawn").Queue()
        flood = multiprocessing.get_context("spawn").Process(
            target=flood_process, args=(base, duration_s + 1, offset, results))
        flood.start()
        time.sleep(1)   # the flood is under way
        probed = asyncio.run(Probe().run(base, duration_s))
        times, refused, failures = results.get(timeout=duration_s + 120)
        flood.join()
    if failures:
        ctx.say(f"  flood ({name}): requests that failed: {failures}")
    rows += [*probed.rows(f"during the flood ({name})", duration_s),
             measured(f"flood: 60 KB documents answered ({name}; errors: refused or failed)",
                      times, duration_s + 1, refused + sum(failures.values()), FLOOD_CLIENTS)]
    for row in rows[-3:]:
        ctx.say(f"  {row.case:<72} p50 {row.p50_ms:8.1f} ms  p99 {row.p99_ms:8.1f} ms  "
                f"{row.requests} ({row.errors} errors)")
    return rows


# -- memory --------------------------------------------------------------------------------
async def oversized_messages(base: str) -> tuple[int, int]:
    """WS_MESSAGES messages of MESSAGE_BYTES, each on its own connection: how many were
    answered, and how many closed the connection."""
    answered = closed = 0
    padding = "x" * MESSAGE_BYTES
    for n in range(WS_MESSAGES):
        async with websockets.connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"],
                                      max_size=None) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            try:
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {
                    "query": SMALL["query"], "variables": {"padding": padding}}}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                answered += reply["type"] == "next"
            except websockets.ConnectionClosed:
                closed += 1
    return answered, closed


def memory(ctx: Context, name: str, env: dict[str, str]) -> list[str]:
    with threatmap(ctx, name.replace(" ", "-"), env) as (base, pid):
        asyncio.run(Probe().run(base, 2))   # warm: the pools and caches are filled
        before = rss_mib(pid)
        answered, closed = asyncio.run(oversized_messages(base))
        after = rss_mib(pid)
        time.sleep(PAUSE_S)
        later = rss_mib(pid)
    ctx.say(f"  {name}: RSS {before:.0f} -> {after:.0f} -> {later:.0f} MiB "
            f"({answered} answered, {closed} closed)")
    return [f"| {name} | {answered} | {closed} | {before:.0f} | {after:.0f} | {later:.0f} |"]


def run(ctx: Context) -> dict:
    load_before = os.getloadavg()
    results: list[Measurement] = []
    for offset, (name, env) in enumerate(CONFIGURATIONS.items()):
        ctx.say(f"fairness, {name}")
        results += fairness(ctx, name, env, ctx.duration_s, offset * 10**9)
    lines = [f"RSS of the server around {WS_MESSAGES} WebSocket messages of "
             f"{MESSAGE_BYTES // 2**20} MiB, each on a new connection (MiB; after a {PAUSE_S} s pause):",
             "", "| limit | answered | closed (1009) | RSS before | RSS after | RSS after the pause |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += memory(ctx, "64 KiB (default)", {})
    lines += memory(ctx, "2 MiB", {"THREATMAP_GRAPHQL_MAX_BODY_BYTES": str(2 * 2**20)})
    load_after = os.getloadavg()
    lines += ["", f"Load average (1, 5, 15 min) at the start {load_before[0]:.1f}, "
              f"{load_before[1]:.1f}, {load_before[2]:.1f}; at the end {load_after[0]:.1f}, "
              f"{load_after[1]:.1f}, {load_after[2]:.1f}. Fairness: {FLOOD_CLIENTS} connections from "
              f"one address, each posting ~{DOCUMENT_BYTES // 1000} KB documents one after the other; "
              f"the probe waits {PROBE_GAP_S * 1000:.0f} ms between its rounds."]
    return {"results": results, "lines": lines}
