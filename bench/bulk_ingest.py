"""Suite `bulk_ingest` (issue 15, point 7): reports a second through POST /partners/v1/reports.

The real app in-process (ASGI through httpx: the real pools, triggers and PostGIS, no network
hop), one partner with its key; batches of 1,000 and of 10,000 new reports (NDJSON) around
Polish cities, each timed from the request to the answer with its per-item results; then the
same batches again (a retry: every item already present). The partner's reports are deleted at
the end, so the database is left as it was. Use a small managed database of the suite's own
(`python -m bench bulk_ingest --reports 10000`), not a shared one.
"""

import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from asgi_lifespan import LifespanManager

from bench.common import CONFIG_DIR, Context
from gateway.app import create_app
from gateway.settings import Settings
from store.partners import add_partner

CITIES = [(21.01, 52.23), (19.94, 50.06), (17.03, 51.11), (16.93, 52.41), (18.65, 54.35), (19.46, 51.76)]
CATEGORIES = ["vandalism", "illegal-dumping", "speeding", "improper-parking", "poaching"]
BATCHES = [(1_000, 5), (10_000, 2)]   # (reports a batch, batches)


def batch(size: int, rng: random.Random) -> bytes:
    occurred = (datetime.now(UTC) - timedelta(hours=6)).isoformat()
    lines = []
    for _ in range(size):
        lon, lat = rng.choice(CITIES)
        lines.append(json.dumps({
            "external_id": uuid.UUID(int=rng.getrandbits(128)).hex, "category": rng.choice(CATEGORIES),
            "longitude": round(lon + rng.uniform(-0.05, 0.05), 6),
            "latitude": round(lat + rng.uniform(-0.03, 0.03), 6), "occurred_at": occurred,
            "description": "bench report", "contact": "bench@example.org"}))
    return "\n".join(lines).encode()


async def measure(ctx: Context) -> list[str]:
    with psycopg.connect(ctx.urls.app) as conn:
        partner_id, key = add_partner(conn, f"bench {uuid.uuid4().hex[:8]}", "platform")
    settings = Settings(database_url=ctx.urls.app, public_database_url=ctx.urls.public,
                        config_dir=CONFIG_DIR, maintenance_interval_s=3600, downloads_enabled=False,
                        partner_bulk_rate_limit="100000000/hour", partner_rate_limit="100000/minute",
                        allowed_hosts=["testserver"])
    rng = random.Random(15)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    lines = ["| batch | run | batches | reports/s (median) | seconds a batch (median, max) |",
             "|---:|---|---:|---:|---|"]
    try:
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                         timeout=600) as http:
                for size, count in BATCHES:
                    bodies = [batch(size, rng) for _ in range(count)]
                    for run, expect in (("new reports", "created"), ("retry", "already_present")):
                        seconds = []
                        for body in bodies:
                            started = time.perf_counter()
                            answer = await http.post("/partners/v1/reports", content=body, headers=headers)
                            seconds.append(time.perf_counter() - started)
                            answer.raise_for_status()
                            assert answer.json()[expect] == size, answer.text[:300]
                        ctx.say(f"  {size} a batch, {run}: {[round(s, 2) for s in seconds]} s")
                        median = statistics.median(seconds)
                        lines.append(f"| {size:,} | {run} | {count} | {size / median:,.0f} | "
                                     f"{median:.2f}, {max(seconds):.2f} |")
    finally:
        with psycopg.connect(ctx.urls.app) as conn:
            conn.execute("DELETE FROM core.reports WHERE partner_id = %s", [partner_id])
            conn.execute("DELETE FROM core.partners WHERE id = %s", [partner_id])
    return lines


def run(ctx: Context) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    lines = asyncio.run(measure(ctx))
    load = f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)."
    return {"results": [], "lines": [load, "",
        "POST /partners/v1/reports, NDJSON, in-process (ASGI), one client; each batch is new "
        "reports (validated, checked in the database, written with their `created` events and "
        "the publication triggers), then sent again (all already present).", "", *lines]}
