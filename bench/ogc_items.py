"""Items benchmark for /ogc (issue 5): our OGC API Features door side by side with pygeoapi's
stock PostgreSQL provider, tipg, and the raw SQL floor, on the same `open.ogc_reports` view.

    .venv/bin/python bench/ogc_items.py \
        'postgresql://threatmap_app@/threatmap_bench?host=/work/bench-data/run' \
        --admin-url 'postgresql://postgres@/threatmap_bench?host=/work/bench-data/run'
    python -m bench ogc [--database-url URL] [--concurrency 8]   # the suite (bench/__main__.py)

Cases: /collections/{reports}/items?bbox=BOX&limit=L for L in 100 and 1000, on city-sized boxes
(CITIES) and on small viewports (SMALL, a city centre at zoom 15), each list requested
round-robin by wrk (bench.common.wrk) at a fixed concurrency; requests/s and p50/p95/p99 per
server, kind of box and limit; numberMatched on (ours and the floor count as the app does).
Every server is a separate process with one uvicorn worker:
- ours: the app (create_app; it applies pending migrations) as `threatmap serve` runs it;
- ours-2w (the suite): `threatmap serve --workers 2` itself, access lines off like ours: the
  deployment for a 2-core machine, an extra case beside ours, not instead of it;
- stock: pygeoapi 0.24's starlette app with `pygeoapi.provider.sql.PostgreSQLProvider`
  (SQLAlchemy + psycopg2 + GeoAlchemy2) in its own virtualenv, bench/.work/pygeoapi, reading
  open.ogc_reports as the public role; `count: false` like ours (its default counts);
- tipg: tipg in its own virtualenv, bench/.work/tipg, serving schema `open`, table ogc_reports,
  as the public role (tipg creates its catalogue functions in pg_temp, so its connections turn
  the role's default_transaction_read_only off; the role still reads schema `open` only). tipg
  always counts the matches (numberMatched); ours and stock do not;
- floor: the very statements our provider runs for each URL (captured from ogc.provider), sent
  by an asyncio psycopg driver over as many connections as the concurrency: the page, then for
  numberMatched what the provider runs after it (nothing after a last page, whose count is
  known; else the planner's estimate, and the count within its budget when the estimate is
  small);
- floor-page: the same statements without the count (`count: false`), the page alone: floor
  against floor-page is what numberMatched costs in the database;
- floor-pgbench (the suite, when pgbench is installed): floor-page's statements, their values
  written in, sent by pgbench (C, libpq, simple protocol) over as many connections: what the
  database does for a client that costs next to nothing. Shown beside the Python floor, not
  instead of it (the issue's 0.8 is against the Python floor; see bench/RESULTS.md, ogcfloor16).
All four order by id (stable paging) and return the same features: checked before measuring.

How the two sides of a ratio are driven: at the same concurrency (`--concurrency`: wrk's
connections to a server, the floor's connections to PostgreSQL), the same URLs or statements
round-robin, every process on the same cores as the servers and PostgreSQL. Not by the same
client: wrk (C) speaks HTTP, the floor's driver is Python (asyncio psycopg) and decodes every
row into a dict (about 0.35 ms of its CPU a small page, as much as the app's own work on that
page: bench/RESULTS.md "OGC items on small viewports: the per-request cost"), so on a
saturated machine the ratio is that of the CPU each side spends a request: the floor's driver
and PostgreSQL against wrk, uvicorn, the app and PostgreSQL. The cases run one after the other,
10 s each, so a ratio also carries the change in the machine's load between its two runs.

Also measures single items (`/items/{id}`) of every collection on our server, one client.
The virtualenvs are created on first use (PyPI access needed then).
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the project's packages

from bench.common import (
    PROJECT_ROOT,
    WORK_DIR,
    Context,
    Measurement,
    free_port,
    machine,
    server,
    venv,
    wrk,
)
from ogc.provider import COUNT_BUDGET_MS, EXACT_BELOW, plan_rows
from store.locations import external_urls
from store.migrate import migrate

CITIES = {
    "Warszawa": (20.85, 52.10, 21.27, 52.37), "Kraków": (19.79, 49.97, 20.22, 50.13),
    "Wrocław": (16.80, 51.04, 17.18, 51.21), "Gdańsk": (18.43, 54.27, 18.95, 54.45),
    "Poznań": (16.73, 52.33, 17.07, 52.51), "Łódź": (19.32, 51.69, 19.64, 51.86),
}
# Small viewports (issue 16.3): what a map of a city centre shows at zoom 15, about 2.5 x 1.5 km
# (0.036 degrees of longitude by 0.014 of latitude), a few hundred public reports each at most.
SMALL = {
    "Warszawa Śródmieście": (20.995, 52.222, 21.031, 52.236),
    "Kraków Stare Miasto": (19.927, 50.055, 19.963, 50.069),
    "Wrocław Rynek": (17.020, 51.103, 17.056, 51.117),
    "Gdańsk Główne Miasto": (18.635, 54.342, 18.671, 54.356),
    "Poznań Stare Miasto": (16.915, 52.401, 16.951, 52.415),
    "Łódź Śródmieście": (19.443, 51.755, 19.479, 51.769),
}
BOXES = {"city": CITIES, "small": SMALL}  # the two kinds of box the issue names
LIMITS = (100, 1000)
VENVS = {
    "pygeoapi": ["pygeoapi==0.24.0", "psycopg2-binary==2.9.13", "GeoAlchemy2==0.20.0", "starlette==1.10.0",
                 "uvicorn[standard]==0.54.0"],
    "tipg": ["tipg==1.6.1", "uvicorn[standard]==0.54.0"],
}
READY_TIMEOUT_S = 180  # pygeoapi and tipg take a while to start on a busy machine


# -- processes ------------------------------------------------------------------------------

@contextmanager
def our_server(database_url: str, workers: int = 1) -> Iterator[str]:
    """The app as `threatmap serve` runs it (create_app, one uvicorn worker), without access logs;
    with `workers` > 1, `threatmap serve --workers N` itself (uvicorn's worker processes on one
    socket), its access lines off as well (THREATMAP_LOG_LEVEL=WARNING), so that the two differ
    in the processes only."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": database_url, "PORT": str(port), "THREATMAP_MAINTENANCE_INTERVAL_S": "3600"}
    if workers > 1:
        command = [str(Path(sys.executable).with_name("threatmap")), "serve", "--workers", str(workers)]
        env |= {"HOST": "127.0.0.1", "THREATMAP_LOG_LEVEL": "WARNING"}
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app", "--host",
                   "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
                   "--no-proxy-headers"]
    name = "ours" if workers == 1 else f"ours-{workers}w"
    with server(command, f"{base}/ogc/collections/reports?f=json", env, name, READY_TIMEOUT_S):
        yield base


def stock_config(public_url: str, port: int) -> Path:
    """Our pygeoapi configuration's server and metadata, one `reports` collection read by
    pygeoapi's own PostgreSQLProvider from the same view, as the public role."""
    from ogc.config import load_config

    base = f"http://127.0.0.1:{port}"
    ours = load_config(PROJECT_ROOT / "pygeoapi-config.yml",
                       {"THREATMAP_OGC_URL": base, "THREATMAP_OPEN_DATABASE": "unused",
                        "THREATMAP_OGC_TEMPLATES": "unused", "THREATMAP_OGC_STATIC": "unused"})
    conn = conninfo_to_dict(public_url)
    reports = ours["resources"]["reports"]
    reports["providers"] = [{
        "type": "feature", "name": "PostgreSQL", "table": "ogc_reports", "id_field": "id",
        "geom_field": "geom", "time_field": "occurred_on", "count": False,
        "data": {"host": conn.get("host", "localhost"), "port": int(conn.get("port", 5432)),
                 "dbname": conn["dbname"], "user": conn["user"], "search_path": ["open"]},
    }]
    reports.setdefault("extents", {}).pop("temporal", None)
    reports.pop("formatters", None)  # ours (ogc.formats), not importable in pygeoapi's virtualenv
    server = {k: v for k, v in ours["server"].items() if k != "templates"}  # pygeoapi's own pages
    config = {"server": server | {"bind": {"host": "127.0.0.1", "port": port}},
              "logging": {"level": "ERROR"}, "metadata": ours["metadata"],
              "resources": {"reports": reports}}
    path = WORK_DIR / "stock-pygeoapi.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


@contextmanager
def stock_server(public_url: str) -> Iterator[str]:
    bin_dir = venv("pygeoapi", VENVS["pygeoapi"])
    port = free_port()
    config = stock_config(public_url, port)
    openapi = WORK_DIR / "stock-openapi.yml"
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                    str(openapi)], env={**os.environ, **env}, check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    command = [str(bin_dir / "uvicorn"), "pygeoapi.starlette_app:APP", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with server(command, f"{base}/collections/reports?f=json", env, "stock-pygeoapi", READY_TIMEOUT_S):
        yield base


@contextmanager
def tipg_server(public_url: str) -> Iterator[str]:
    bin_dir = venv("tipg", VENVS["tipg"])
    port = free_port()
    conn = conninfo_to_dict(public_url)
    # asyncpg passes unknown DSN parameters as server settings: tipg needs pg_temp functions.
    # A socket directory goes in the host part, percent-encoded (tipg's URL type wants a host).
    host = quote(conn.get("host", "localhost"), safe="")
    dsn = f"postgresql://{conn['user']}@{host}/{conn['dbname']}?default_transaction_read_only=off"
    env = {"DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["open"]', "TIPG_DB_TABLES": '["open.ogc_reports"]',
           "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public", "open"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    base = f"http://127.0.0.1:{port}"
    command = [str(bin_dir / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    with server(command, f"{base}/collections/open.ogc_reports", env, "tipg", READY_TIMEOUT_S):
        yield base


# -- what is requested ----------------------------------------------------------------------

def bbox_text(bbox: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in bbox)


def items_paths(server_name: str, boxes: str, limit: int) -> list[str]:
    prefix, collection, fmt = {
        "ours": ("/ogc", "reports", "json"), "ours-2w": ("/ogc", "reports", "json"),
        "stock": ("", "reports", "json"),
        "tipg": ("", "open.ogc_reports", "geojson"),
    }[server_name]
    return [f"{prefix}/collections/{collection}/items?f={fmt}&limit={limit}&bbox={bbox_text(b)}"
            for b in BOXES[boxes].values()]


def check_same_features(bases: dict[str, str]) -> list[str]:
    """One request per server and case: every server must return the same ids as ours. A small
    viewport's page is in the order of its points on ours (store/ogc_items.py KEPT_BY_POINT) and
    in id order on stock pygeoapi and tipg, so another server's page of a small box must have as
    many features, the same ones when the page holds every match."""
    notes = []
    with httpx.Client(timeout=120) as http:
        for boxes, limit in cases():
            for i, city in enumerate(BOXES[boxes]):
                seen: dict[str, list[str]] = {}
                for name, base in bases.items():
                    response = http.get(base + items_paths(name, boxes, limit)[i])
                    response.raise_for_status()
                    seen[name] = [str(f["id"]) for f in response.json()["features"]]
                reference = seen["ours"]
                for name, ids in seen.items():
                    if boxes == "small" and not name.startswith("ours"):
                        same = len(ids) == len(reference) and (
                            len(ids) == limit or sorted(ids) == sorted(reference))
                    else:
                        same = ids == reference
                    if not same:
                        raise RuntimeError(f"{name} returned other features than ours for {city} "
                                           f"limit {limit} ({len(ids)} vs {len(reference)})")
                notes.append(f"{city} limit {limit}: {len(reference)} features")
    return notes


# -- load -----------------------------------------------------------------------------------

def cases() -> list[tuple[str, int]]:
    """(kind of box, limit), in the order they are measured."""
    return [(boxes, limit) for boxes in BOXES for limit in LIMITS]


def case_name(server_name: str, boxes: str, limit: int) -> str:
    return f"{server_name} {boxes} limit {limit}"


def load(server_name: str, base: str, boxes: str, limit: int, concurrency: int,
         duration_s: int) -> Measurement:
    return wrk(case_name(server_name, boxes, limit), base, items_paths(server_name, boxes, limit),
               concurrency, duration_s)


def provider_statements(public_url: str, boxes: str, limit: int,
                        count: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """The SQL our provider runs for each city at `limit` (what pygeoapi asks it for ?bbox&limit);
    `count=False`: the page alone, without numberMatched."""
    from ogc import bridge
    from ogc.config import feature_providers, load_config
    from ogc.provider import OpenLayerProvider

    class Capture(OpenLayerProvider):
        """Keeps each query's page statement and, with `count`, its count statement."""

        def _fetch_page(self, statement, count_sql, where, params, raw=False, cells=None):
            cells_sql, cells_params = cells() if cells else (None, {})
            captured.append((statement, params | cells_params))
            if count:
                counts.append((self._estimate_sql(where), count_sql, cells_sql))
            return [], None

    counts: list[Any] = []

    captured: list[tuple[Any, dict[str, Any]]] = []
    database = bridge.PublicDatabase(pool=None, loop=None)  # type: ignore[arg-type]
    config = load_config(PROJECT_ROOT / "pygeoapi-config.yml",
                         {"THREATMAP_OGC_URL": "http://127.0.0.1/ogc",
                          "THREATMAP_OPEN_DATABASE": database.key, "THREATMAP_OGC_TEMPLATES": "unused",
                          "THREATMAP_OGC_STATIC": "unused"})
    definition = feature_providers(config)["reports"] | {"count": count}
    with psycopg.connect(public_url) as conn:
        rows = conn.execute(bridge.COLUMNS_SQL, {"relation": f"open.{definition['table']}"}).fetchall()
        database.columns[definition["table"]] = dict(rows)
        bridge.register(database)
        try:
            provider = Capture(definition)
            for bbox in BOXES[boxes].values():
                provider.query(offset=0, limit=limit, bbox=list(bbox))
        finally:
            bridge.unregister(database)
        if count:  # the page, then numberMatched as OpenLayerProvider._page: cells, or estimate, maybe count
            return [(f"{statement.as_string(conn)};\n{COUNT_PREFIX}{estimate.as_string(conn)};\n"
                     f"{COUNT_PREFIX}{count_sql.as_string(conn)}"
                     + (f";\n{CELLS_PREFIX}{cells_sql.as_string(conn)}" if cells_sql else ""), params)
                    for (statement, params), (estimate, count_sql, cells_sql)
                    in zip(captured, counts, strict=True)]
        return [(statement.as_string(conn), params) for statement, params in captured]


def floor_pgbench(public_url: str, boxes: str, limit: int, concurrency: int,
                  duration_s: int) -> Measurement:
    """floor-page's statements sent by pgbench: one script per box, picked at random, each
    transaction's time from pgbench's log (percentiles as the other cases)."""
    from psycopg import ClientCursor

    folder = WORK_DIR / "pgbench"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    scripts = []
    with psycopg.connect(public_url, cursor_factory=ClientCursor) as conn, conn.cursor() as cur:
        for i, (statement, params) in enumerate(provider_statements(public_url, boxes, limit, count=False)):
            script = folder / f"page{i}.sql"
            script.write_text(" ".join(cur.mogrify(statement, params).split("\n")) + ";\n")
            scripts += ["-f", str(script)]
    conn_info = conninfo_to_dict(public_url)
    command = ["pgbench", "-n", "-M", "simple", "-c", str(concurrency), "-j", "1", "-T", str(duration_s),
               "-l", "--log-prefix", str(folder / "log"), "-h", str(conn_info.get("host", "localhost")),
               "-p", str(conn_info.get("port", 5432)), "-U", str(conn_info["user"]), *scripts,
               str(conn_info["dbname"])]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=folder).stdout
    tps = next(float(line.split("=")[1].split()[0]) for line in output.splitlines() if line.startswith("tps"))
    latencies = [int(line.split()[2]) / 1000 for log in folder.glob("log*")
                 for line in log.read_text().splitlines()]
    failed = re.search(r"number of failed transactions: (\d+)", output)
    errors = int(failed.group(1)) if failed else 0
    q = statistics.quantiles(latencies, n=100)
    return Measurement(case_name("floor-pgbench", boxes, limit), concurrency, tps, q[49], q[94], q[98],
                       len(latencies), errors)


COUNT_PREFIX = "-- count\n"
CELLS_PREFIX = "-- cells\n"


async def floor(public_url: str, boxes: str, limit: int, concurrency: int, duration_s: int,
                count: bool = True) -> Measurement:
    statements = provider_statements(public_url, boxes, limit, count)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration_s

    async def client(offset: int) -> None:
        nonlocal errors
        async with await psycopg.AsyncConnection.connect(public_url, autocommit=True) as conn:
            position = offset
            while time.perf_counter() < stop_at:
                statement, params = statements[position % len(statements)]
                page, _, counting = statement.partition(";\n" + COUNT_PREFIX)
                estimate_sql, _, count_sql = counting.partition(";\n" + COUNT_PREFIX)
                count_sql, _, cells_sql = count_sql.partition(";\n" + CELLS_PREFIX)
                position += 1
                start = time.perf_counter()
                try:
                    async with conn.cursor(row_factory=dict_row) as cur:
                        await cur.execute(page, params, prepare=False)  # as ogc.provider
                        returned = len(await cur.fetchall())
                        if returned < limit:  # the last page: the count is known, free
                            estimate_sql = count_sql = cells_sql = ""
                        if cells_sql:  # the counts kept per cell answer the filter
                            await cur.execute(cells_sql, params, prepare=False)
                            await cur.fetchall()
                            estimate_sql = count_sql = ""
                        if estimate_sql:
                            await cur.execute(estimate_sql, params, prepare=False)
                            if plan_rows(await cur.fetchone()) > EXACT_BELOW:
                                count_sql = ""  # the estimate is the answer
                        if count_sql:
                            try:
                                async with conn.transaction():
                                    await cur.execute("SELECT set_config('statement_timeout', %s, true), "
                                                      "set_config('jit', 'off', true)",
                                                      [str(COUNT_BUDGET_MS)])
                                    await cur.execute(count_sql, params, prepare=False)
                                    await cur.fetchall()
                            except psycopg.errors.QueryCanceled:
                                pass  # past the budget: the provider gives the estimate instead
                except psycopg.Error:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(client(i * len(statements) // concurrency) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    name = "floor" if count else "floor-page"
    return Measurement(case_name(name, boxes, limit), concurrency, len(latencies) / elapsed, q[49] * 1000,
                       q[94] * 1000, q[98] * 1000, len(latencies), errors)


# -- single items ---------------------------------------------------------------------------

ITEM_IDS_SQL = {
    "reports": "SELECT id::text FROM open.ogc_reports ORDER BY id DESC LIMIT 1",
    "report-density": "SELECT id FROM open.ogc_report_density LIMIT 1",
    "area-statistics": "SELECT id FROM open.ogc_area_statistics LIMIT 1",
    "police-units": "SELECT id FROM open.ogc_police_units ORDER BY id LIMIT 1",
}


def single_items(base: str, public_url: str, runs: int) -> list[tuple[str, str, float, float]]:
    rows = []
    with psycopg.connect(public_url) as conn:
        ids = {name: conn.execute(query).fetchone()[0] for name, query in ITEM_IDS_SQL.items()}
    with httpx.Client(timeout=60) as http:
        for name, identifier in ids.items():
            url = f"{base}/ogc/collections/{name}/items/{identifier}?f=json"
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                response = http.get(url)
                times.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
            rows.append((name, identifier, statistics.median(times), max(times)))
    return rows


# -- report ---------------------------------------------------------------------------------

def report(by: dict[tuple[str, str, int], Measurement]) -> str:
    """The table by server, kind of box and limit, then the ratios of ours to the others."""
    lines = ["| server | boxes | limit | requests/s | p50 ms | p95 ms | p99 ms | requests | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {server_name} | {boxes} | {limit} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
              f"{r.p99_ms:.1f} | {r.requests} | {r.errors} |"
              for (server_name, boxes, limit), r in by.items()]
    ratio_lines = ["", "| boxes | limit | ours/stock req/s | ours/tipg req/s | ours/floor req/s | "
                   "ours/stock p95 | ours/tipg p95 | ours/floor p95 |",
                   "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for boxes, limit in cases():
        ours = by.get(("ours", boxes, limit))
        if not ours:
            continue
        cells = []
        for attr in ("rps", "p95_ms"):
            for other in ("stock", "tipg", "floor"):
                o = by.get((other, boxes, limit))
                value = getattr(o, attr) if o else 0
                cells.append(f"{getattr(ours, attr) / value:.2f}" if value else "-")
        ratio_lines.append(f"| {boxes} | {limit} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ratio_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url", help="the threatmap database, owner role (threatmap_app)")
    parser.add_argument("--admin-url", help="a role that may migrate the database (default: database_url);"
                        " on /work/bench-data: postgresql://postgres@/threatmap_bench?host=...")
    parser.add_argument("--duration", type=int, default=20, help="seconds per load run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--servers", default="ours,stock,tipg,floor,floor-page")
    parser.add_argument("--item-runs", type=int, default=20, help="GETs per single-item case (0: skip)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    public_url = external_urls(args.database_url, None).public
    for migration in migrate(args.admin_url or args.database_url):
        print(f"applied migration {migration.version}_{migration.name}", flush=True)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    results, items = measure(args.database_url, public_url, args.servers.split(","), args.concurrency,
                             args.duration, args.item_runs)
    print(f"\nconcurrency {args.concurrency}, {args.duration} s a run\n\n{report(results)}\n")
    if items:
        print("| collection | id | median ms | max ms |\n|---|---|---:|---:|")
        for name, identifier, median, worst in items:
            print(f"| {name} | `{identifier}` | {median:.1f} | {worst:.1f} |")


def measure(database_url: str, public_url: str, wanted: list[str], concurrency: int, duration_s: int,
            item_runs: int
            ) -> tuple[dict[tuple[str, str, int], Measurement], list[tuple[str, str, float, float]]]:
    """Starts the servers, checks they agree, loads each; the single items on ours. The results
    by (server, kind of box, limit), each a Measurement named "SERVER BOXES limit LIMIT"."""
    WORK_DIR.mkdir(exist_ok=True)
    with ExitStack() as stack:
        bases = {"ours": stack.enter_context(our_server(database_url))}
        if "ours-2w" in wanted:
            bases["ours-2w"] = stack.enter_context(our_server(database_url, workers=2))
        if "stock" in wanted:
            bases["stock"] = stack.enter_context(stock_server(public_url))
        if "tipg" in wanted:
            bases["tipg"] = stack.enter_context(tipg_server(public_url))
        for note in check_same_features(bases):
            print(f"same features from {', '.join(bases)}: {note}", flush=True)
        results = {}
        for boxes, limit in cases():
            for name in wanted:
                if name in ("floor", "floor-page"):
                    result = asyncio.run(floor(public_url, boxes, limit, concurrency, duration_s,
                                               name == "floor"))
                elif name == "floor-pgbench":
                    result = floor_pgbench(public_url, boxes, limit, concurrency, duration_s)
                else:
                    load(name, bases[name], boxes, limit, concurrency, 3)  # warm-up
                    result = load(name, bases[name], boxes, limit, concurrency, duration_s)
                print(f"{result.case}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} "
                      f"p95 {result.p95_ms:.1f} p99 {result.p99_ms:.1f} ms, {result.errors} errors",
                      flush=True)
                results[name, boxes, limit] = result
        items = single_items(bases["ours"], public_url, item_runs) if item_runs else []
    return results, items


# -- `python -m bench ogc` (bench/__main__.py) ----------------------------------------------

def run(ctx: Context) -> dict:
    """The suite: ours, the floor with and without numberMatched (and through pgbench when the
    machine has it), and stock pygeoapi and tipg when
    their virtualenvs are installed (bench/.work/pygeoapi, bench/.work/tipg; `python
    bench/ogc_items.py` creates them), at each of ctx.concurrency (the database is already
    migrated by bench.common.database); then the unfiltered count of each counted collection."""
    measurements: list[Measurement] = []
    others = [name for name, folder in (("stock", "pygeoapi"), ("tipg", "tipg"))
              if (WORK_DIR / folder / ".installed").exists()]
    others += ["floor-pgbench"] if shutil.which("pgbench") else []
    for concurrency in ctx.concurrency:
        results, _ = measure(ctx.urls.app, ctx.urls.public,
                             ["ours", "ours-2w", *others, "floor", "floor-page"], concurrency,
                             ctx.duration_s, 0)
        measurements += results.values()
    return {"results": measurements, "lines": unfiltered_counts(ctx.urls.app, ctx.urls.public)}


COUNTED = ("reports", "report-density", "area-statistics")


def unfiltered_counts(database_url: str, public_url: str, runs: int = 5) -> list[str]:
    """The worst case of numberMatched: items?limit=10 with no filter counts a whole collection
    (what `ogrinfo -so` and QGIS ask first). One client, median and max of `runs` GETs."""
    lines = ["| unfiltered items?limit=10 | numberMatched | median ms | max ms | status |",
             "|---|---:|---:|---:|---|"]
    with our_server(database_url) as base, httpx.Client(timeout=60) as http:
        for name in COUNTED:
            times, statuses, matched = [], set(), None
            for _ in range(runs):
                start = time.perf_counter()
                response = http.get(f"{base}/ogc/collections/{name}/items?f=json&limit=10")
                times.append((time.perf_counter() - start) * 1000)
                statuses.add(response.status_code)
                if response.status_code == 200:
                    matched = response.json().get("numberMatched")
            lines.append(f"| {name} | {matched if matched is not None else '-'} | "
                         f"{statistics.median(times):.1f} | {max(times):.1f} | "
                         f"{', '.join(map(str, sorted(statuses)))} |")
    return lines


def ratios(results: list[Measurement]) -> list[tuple[int, dict[str, float]]]:
    by = {(m.case, m.concurrency): m for m in results}
    rows = []
    for concurrency in sorted({m.concurrency for m in results}):
        row = {}
        for boxes, limit in cases():
            label = f"{boxes} limit {limit}"
            ours = by.get((case_name("ours", boxes, limit), concurrency))
            for other in ("stock", "tipg", "floor", "floor-page", "floor-pgbench"):
                o = by.get((case_name(other, boxes, limit), concurrency))
                if ours and o and o.rps:
                    row[f"{label}: ours/{other} req/s"] = ours.rps / o.rps
                if ours and o and o.p95_ms:
                    row[f"{label}: ours/{other} p95"] = ours.p95_ms / o.p95_ms
            two = by.get((case_name("ours-2w", boxes, limit), concurrency))
            floor_ = by.get((case_name("floor", boxes, limit), concurrency))
            if two and floor_ and floor_.rps:   # `threatmap serve --workers 2`: an extra case
                row[f"{label}: ours-2w/floor req/s"] = two.rps / floor_.rps
            counted = by.get((case_name("floor", boxes, limit), concurrency))
            page = by.get((case_name("floor-page", boxes, limit), concurrency))
            if counted and page and page.rps:  # what numberMatched costs in the database
                row[f"{label}: floor (page + count) / floor-page req/s"] = counted.rps / page.rps
        rows.append((concurrency, row))
    return rows


if __name__ == "__main__":
    main()
