"""Suite `tiles`: our /tiles (cold and warm cache) against the raw SQL floor and tipg.

- URL list: points sampled from open.reports (deterministic), one zoom each from 5 to 16, so
  the tiles are weighted to where the data is, as a map's traffic is.
- ours: the app under uvicorn (one process), the cache off (cold) and on and pre-warmed (warm);
  warm again while a writer publishes one report a second at places of the tile list (each
  publish evicts only the cached tiles that show it).
- floor: the very statements our tiles run (tiles.queries), straight to PostgreSQL over as many
  connections as the concurrency, from an asyncio psycopg driver: no HTTP, no Python web stack.
- tipg: tipg (its own virtualenv in bench/.work) serving open.reports with the same attributes,
  its standard tile query (raw points, at most 10,000 features a tile).
- tipg content for content: tipg pointed at the very relations our tiles read (the density
  pyramid, the areas, the reports grouped or one a feature, by zoom: bench/tipg_content.py);
  one or two tipg requests make one of our tiles, so its requests/s become tiles/s.
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import mercantile
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import tipg_content
from bench.common import Context, Measurement, free_port, percentile, server, venv, wrk
from bench.privacy_refresh import INSERT as PUBLISH
from tiles.addresses import TileAddress, density_level
from tiles.filters import TileFilters
from tiles.queries import tile_statement

TILE_COUNT = 2000
ZOOMS = range(5, 17)
SEED = 0.42
TIPG_VERSION = "1.6.1"
TIPG_PROPERTIES = "category_id,status,occurred_on"
TIPG_CONTENT = "tipg content for content"

SAMPLE = """
SELECT ST_X(geom), ST_Y(geom) FROM open.reports TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (7)
ORDER BY id LIMIT %(count)s
"""

DENSEST = """
SELECT z, floor((ST_X(geom_3857) + 20037508.342789244) / (40075016.68557849 / 2 ^ z))::int AS x,
       floor((20037508.342789244 - ST_Y(geom_3857)) / (40075016.68557849 / 2 ^ z))::int AS y,
       count(*)
FROM open.reports CROSS JOIN generate_series(5, 8) AS z
GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 12
"""


def tile_list(ctx: Context) -> list[mercantile.Tile]:
    with psycopg.connect(ctx.urls.app) as conn:
        total = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        percent = min(100.0, 100.0 * TILE_COUNT * 3 / max(total, 1))
        points = conn.execute(SAMPLE, {"percent": percent, "count": TILE_COUNT}).fetchall()
    return [mercantile.tile(lon, lat, ZOOMS[i % len(ZOOMS)]) for i, (lon, lat) in enumerate(points)]


def densest_tiles(ctx: Context) -> list[mercantile.Tile]:
    with psycopg.connect(ctx.urls.app) as conn:
        return [mercantile.Tile(x, y, z) for z, x, y, _ in conn.execute(DENSEST)]


def our_paths(tiles: list[mercantile.Tile]) -> list[str]:
    return [f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]


def tipg_paths(tiles: list[mercantile.Tile]) -> list[str]:
    return [f"/collections/open.reports/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            f"?properties={TIPG_PROPERTIES}" for t in tiles]


# -- the floor ----------------------------------------------------------------------------------
async def _floor(url: str, tiles: list[mercantile.Tile], concurrency: int, duration_s: int
                 ) -> Measurement:
    with psycopg.connect(url) as conn:
        levels = conn.execute("SELECT density_cell_m FROM open.privacy_policy").fetchone()[0]
    statements = []
    for t in tiles:
        statement, params = tile_statement(TileAddress(t.z, t.x, t.y), TileFilters(),
                                           density_level(t.z, levels))
        statements.append((statement.as_string(), params))
    latencies: list[float] = []
    deadline = time.monotonic() + duration_s

    async def worker(offset: int) -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        async with conn:
            await conn.execute("SET jit = off")  # as the tile service does
            position = offset
            while time.monotonic() < deadline:
                statement, params = statements[position % len(statements)]
                started = time.perf_counter()
                await (await conn.execute(statement, params)).fetchone()
                latencies.append(time.perf_counter() - started)
                position += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i * len(statements) // concurrency) for i in range(concurrency)))
    elapsed = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    return Measurement("raw SQL floor", concurrency, len(ms) / elapsed, percentile(ms, 50),
                       percentile(ms, 95), percentile(ms, 99), len(ms))


def floor(ctx: Context, tiles: list[mercantile.Tile], concurrency: int) -> Measurement:
    return asyncio.run(_floor(ctx.urls.public, tiles, concurrency, ctx.duration_s))


@contextlib.contextmanager
def publishing(ctx: Context, tiles: list[mercantile.Tile], every_s: float = 1.0) -> Iterator[None]:
    """A writer publishing one report every `every_s` at the centre of a tile of the list (so
    near the data), removed again afterwards."""
    places = [mercantile.ul(t.x + 0.5, t.y + 0.5, t.z) for t in tiles if t.z >= 12]
    stop = threading.Event()
    prefix = "bench-tiles-"

    def write() -> None:
        with psycopg.connect(ctx.urls.app, autocommit=True) as conn:
            categories = [c for (c,) in conn.execute(
                "SELECT id FROM core.categories WHERE active ORDER BY id")]
            i = 0
            while not stop.wait(every_s):
                lon, lat = places[i % len(places)]
                conn.execute(PUBLISH, [categories[i % len(categories)], "confirmed", lon, lat,
                                       f"{prefix}{uuid.uuid4()}"])
                i += 1

    writer = threading.Thread(target=write, name="bench-publisher")
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()
        with psycopg.connect(ctx.urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE external_id LIKE %s", [prefix + "%"])


# -- servers --------------------------------------------------------------------------------------
def ours(ctx: Context, cache_mb: int) -> tuple[list[str], str, dict[str, str]]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    env = {"DATABASE_URL": ctx.urls.app, "THREATMAP_PUBLIC_DATABASE_URL": ctx.urls.public,
           "THREATMAP_TILE_CACHE_MB": str(cache_mb), "THREATMAP_MAINTENANCE_INTERVAL_S": "3600",
           "THREATMAP_POOL_MAX_SIZE": "32"}
    return command, f"http://127.0.0.1:{port}", env


def tipg_python() -> Path:
    return venv("tipg-venv", [f"tipg=={TIPG_VERSION}", "uvicorn"]) / "python"


def asyncpg_url(conninfo: str) -> str:
    """tipg wants a URL with a host: a socket directory goes percent-encoded in the host part."""
    params = conninfo_to_dict(conninfo)
    host = quote(params.get("host") or "localhost", safe="")
    port = params.get("port") or "5432"
    return f"postgresql://{quote(params['user'])}@{host}:{port}/{quote(params['dbname'])}"


def tipg(ctx: Context, tables: list[str] | None = None) -> tuple[list[str], str, dict[str, str]]:
    """tipg serving `tables` (default: open.reports alone)."""
    tables = tables or ["open.reports"]
    port = free_port()
    command = [str(tipg_python()), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning"]
    # tipg installs catalogue functions in pg_temp, which a read-only role may not: it reads
    # through the application role (which owns open.reports).
    schemas = sorted({table.split(".")[0] for table in tables})
    env = {"DATABASE_URL": asyncpg_url(ctx.urls.app), "TIPG_DB_SCHEMAS": json.dumps(schemas),
           "TIPG_DB_TABLES": json.dumps(tables), "TIPG_DB_MAX_CONN_SIZE": "32",
           "TIPG_DB_MIN_CONN_SIZE": "1", "TIPG_DEBUG": "FALSE"}
    return command, f"http://127.0.0.1:{port}", env


def warm_up(base: str, paths: list[str]) -> None:
    import httpx
    with httpx.Client(base_url=base, timeout=60) as client:
        for path in dict.fromkeys(paths):
            client.get(path)


# -- the suite ------------------------------------------------------------------------------------
def run(ctx: Context) -> dict:
    tiles = tile_list(ctx)
    dense = densest_tiles(ctx)
    ctx.say(f"tiles: {len(tiles)} URLs ({len(set(tiles))} distinct), z {ZOOMS.start}-{ZOOMS.stop - 1}; "
            f"densest z5-8: {len(dense)}")
    results: list[Measurement] = []
    extra: list[Measurement] = []

    def record(m: Measurement, into: list[Measurement] = results) -> None:
        into.append(m)
        ctx.say(f"  {m.case:<22} c={m.concurrency:<3} {m.rps:9.1f} req/s  p50 {m.p50_ms:8.1f} ms  "
                f"p95 {m.p95_ms:8.1f} ms  p99 {m.p99_ms:8.1f} ms  ({m.requests} requests, "
                f"{m.errors} errors)")

    command, base, env = ours(ctx, cache_mb=0)
    with server(command, f"{base}/health", env, "ours-cold"):
        warm_up(base, our_paths(tiles[:50]))  # connections and plans, not tiles: the cache is off
        for c in ctx.concurrency:
            record(wrk("ours cold", base, our_paths(tiles), c, ctx.duration_s))
        for c in ctx.concurrency:
            record(wrk("ours cold densest z5-8", base, our_paths(dense), c, ctx.duration_s), extra)
    command, base, env = ours(ctx, cache_mb=1024)
    with server(command, f"{base}/health", env, "ours-warm"):
        warm_up(base, our_paths(tiles))
        for c in ctx.concurrency:
            record(wrk("ours warm", base, our_paths(tiles), c, ctx.duration_s))
        with publishing(ctx, tiles):
            for c in ctx.concurrency:
                record(wrk("ours warm, 1 publish/s", base, our_paths(tiles), c, ctx.duration_s))
    for c in ctx.concurrency:
        record(floor(ctx, tiles, c))
    command, base, env = tipg(ctx)
    with server(command, f"{base}/collections", env, "tipg"):
        warm_up(base, tipg_paths(tiles[:50]))
        for c in ctx.concurrency:
            record(wrk("tipg", base, tipg_paths(tiles), c, ctx.duration_s))
    note = record_tipg_content(ctx, tiles, record)
    return {"results": results, "extra": extra, "tiles": len(tiles), "distinct": len(set(tiles)),
            "lines": [note]}


def record_tipg_content(ctx: Context, tiles: list[mercantile.Tile],
                        record: Callable[[Measurement], None]) -> str:
    """tipg content for content (bench/tipg_content.py): its requests/s converted to tiles/s."""
    paths = tipg_content.paths(tiles, tipg_content.density_levels(ctx.urls))
    per_tile = len(paths) / len(tiles)
    with psycopg.connect(ctx.urls.app) as conn:
        reader = conn.execute("SELECT current_user").fetchone()[0]
    with tipg_content.views(ctx.urls, reader):
        command, base, env = tipg(ctx, tipg_content.TABLES)
        with server(command, f"{base}/collections", env, "tipg-content"):
            warm_up(base, paths[:50])
            for c in ctx.concurrency:
                m = wrk(TIPG_CONTENT, base, paths, c, ctx.duration_s)
                # one of our tiles is per_tile tipg requests: requests/s -> tiles/s
                record(dataclasses.replace(m, rps=m.rps / per_tile))
    note = (f"{TIPG_CONTENT} (bench/tipg_content.py): {len(paths)} tipg requests for the {len(tiles)} "
            f"tiles, {per_tile:.2f} a tile; its requests/s column is tiles/s (requests/s divided by "
            "that), its latencies are per request.")
    ctx.say(f"  ({note})")
    return note


def ratios(results: list[Measurement]) -> list[tuple[int, dict[str, float]]]:
    by = {(m.case, m.concurrency): m for m in results}
    rows = []
    for c in sorted({m.concurrency for m in results}):
        cold, warm = by.get(("ours cold", c)), by.get(("ours warm", c))
        sql_floor, other = by.get(("raw SQL floor", c)), by.get(("tipg", c))
        row = {}
        if cold and other:
            row["cold rps / tipg rps (target >= 1.5)"] = cold.rps / other.rps
        content = by.get((TIPG_CONTENT, c))
        if cold and content:
            row["cold tiles/s / tipg content-for-content tiles/s"] = cold.rps / content.rps
        if cold and sql_floor:
            row["cold rps / floor rps"] = cold.rps / sql_floor.rps
            row["cold p95 / floor p95 (target <= 1.5)"] = cold.p95_ms / sql_floor.p95_ms
        if cold and warm:
            row["warm rps / cold rps (target >= 20)"] = warm.rps / cold.rps
        publishing_warm = by.get(("ours warm, 1 publish/s", c))
        if cold and publishing_warm:
            row["warm rps while publishing / cold rps"] = publishing_warm.rps / cold.rps
        rows.append((c, row))
    return rows


os.environ.setdefault("PYTHONUNBUFFERED", "1")
