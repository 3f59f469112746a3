"""Suite `freshness` (issue 16, point 5): the time from a change to what readers see.

The app under uvicorn (one process, a tile cache of 256 MiB, as in production) and one
GraphQL subscriber (`reportEvents` over graphql-transport-ws). For each of --samples reports:
fetch the z 15 tile (points) and the z 9 tile (density) that will show it, so both are
cached; insert one report with a non-initial status (published at once: the public layer and
the aggregates move in the writer's transaction) and commit; then poll both tiles every 10 ms
until their bytes change, and note when the subscriber hears `added` for the report's id. The
times are from the start of the INSERT. Places: the centres of grid cells of the demo's cities, a few hundred
metres off their centres (dense tiles, where the cache and the counts have the most to do). The reports
carry external_id 'bench-fresh-...' and are deleted at the end.
"""

import asyncio
import json
import random
import statistics
import time
import uuid

import httpx
import mercantile
import psycopg
import websockets

from bench.common import Context, Measurement, percentile, server
from bench.privacy_refresh import INSERT
from bench.tiles import ours
from store.demo import CITIES

PREFIX = "bench-fresh-"
SAMPLES = 30
TIMEOUT_S = 15.0
CELL_CENTRE = """
SELECT ST_X(c), ST_Y(c) FROM core.privacy_policy AS p
CROSS JOIN LATERAL core.cell_centre(ST_SetSRID(ST_MakePoint(%s, %s), 4326), p.cell_m) AS c
"""
SUBSCRIBE = "subscription { reportEvents { kind reportId } }"


def _summary(case: str, seconds: list[float]) -> Measurement:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return Measurement(case, 1, 0, float("nan"), float("nan"), float("nan"), 0, SAMPLES)
    return Measurement(case, 1, 1000 / statistics.mean(ms), percentile(ms, 50), percentile(ms, 95),
                       percentile(ms, 99), len(ms), SAMPLES - len(ms))


async def _measure(ctx: Context, base: str) -> dict[str, list[float]]:
    rng = random.Random(16)
    heard: dict[str, float] = {}
    times: dict[str, list[float]] = {"commit": [], "tile z15 (points)": [],
                                     "tile z9 (density)": [], "subscription": []}
    ws_url = base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws, \
            httpx.AsyncClient(base_url=base, timeout=30) as client:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))

        async def listen() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    event = message["payload"]["data"]["reportEvents"]
                    if event["reportId"]:
                        heard.setdefault(event["reportId"], time.monotonic())

        listener = asyncio.create_task(listen())
        await asyncio.sleep(1)   # the subscription is registered
        conn = await psycopg.AsyncConnection.connect(ctx.urls.app, autocommit=True)
        categories = [c for (c,) in await (await conn.execute(
            "SELECT id FROM core.categories WHERE active AND NOT sensitive ORDER BY id")).fetchall()]
        try:
            for i in range(SAMPLES):
                _, lon, lat, _ = CITIES[i % len(CITIES)]
                # at the centre of its grid cell, so that the public point is the same one and
                # the tiles fetched before are those that show it
                lon, lat = await (await conn.execute(CELL_CENTRE, [
                    lon + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01)])).fetchone()
                tiles = {"tile z15 (points)": mercantile.tile(lon, lat, 15),
                         "tile z9 (density)": mercantile.tile(lon, lat, 9)}
                paths = {case: f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt" for case, t in tiles.items()}
                before = {case: (await client.get(path)).content for case, path in paths.items()}
                started = time.monotonic()
                row = await (await conn.execute(INSERT, [
                    categories[i % len(categories)], "confirmed", lon, lat,
                    f"{PREFIX}{uuid.uuid4()}"])).fetchone()
                times["commit"].append(time.monotonic() - started)
                report_id = str(row[0])
                pending = dict(paths)
                while pending and time.monotonic() - started < TIMEOUT_S:
                    for case, path in list(pending.items()):
                        if (await client.get(path)).content != before[case]:
                            times[case].append(time.monotonic() - started)
                            del pending[case]
                    await asyncio.sleep(0.01)
                while report_id not in heard and time.monotonic() - started < TIMEOUT_S:
                    await asyncio.sleep(0.005)
                if report_id in heard:
                    times["subscription"].append(heard[report_id] - started)
                await asyncio.sleep(0.2)
        finally:
            await conn.execute("DELETE FROM core.reports WHERE external_id LIKE %s", [PREFIX + "%"])
            await conn.close()
            listener.cancel()
    return times


def run(ctx: Context) -> dict:
    command, base, env = ours(ctx, cache_mb=256)
    with server(command, f"{base}/health", env, "freshness"):
        times = asyncio.run(_measure(ctx, base))
    results = [_summary(case, values) for case, values in times.items()]
    for m in results:
        ctx.say(f"  {m.case:<22} p50 {m.p50_ms:8.1f} ms  p95 {m.p95_ms:8.1f} ms  "
                f"({m.requests} of {SAMPLES})")
    return {"results": results,
            "lines": [f"{SAMPLES} reports, one at a time; times from the start of the INSERT "
                      "(p50/p95 columns; requests/s = 1000 / mean ms; errors = samples that "
                      f"did not show within {TIMEOUT_S:.0f} s)."]}
