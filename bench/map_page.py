"""`python -m bench.map_page`: the citizen map's first render in headless Chromium (issue 12.8).

Starts a throwaway PostGIS cluster with 3,000 synthetic demo reports (store/demo.py), the app on a
free port, and Debian's Chromium through Playwright (software WebGL, as the tests); then loads
`/` at a desktop (1280x800) and a phone (360x740) size, cold (a fresh browser context: nothing
cached) and warm (the same context again), and records from navigation start:
- `map load`: MapLibre's `load` event (style, base map sources and first tiles parsed),
- `map idle`: the first moment the map is loaded with every tile in view loaded (polled every 10 ms),
- the bytes the page transferred: the page's own files (gateway/static/map, the HTML) apart
  from MapLibre's.
Medians of --runs runs each. Writes its section of bench/RESULTS.md (`<!-- suite:map_page -->`)."""

import argparse
import asyncio
import gzip
import os
import shlex
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import async_playwright

from bench.common import BENCH_DIR, machine
from gateway.settings import PROJECT_ROOT, Settings
from store.locations import ManagedDatabase
from store.setup import prepare_database
from tests.support import app_in_thread, launch_chromium

RESULTS = BENCH_DIR / "RESULTS.md"
SIZES = {"desktop 1280x800": (1280, 800), "phone 360x740": (360, 740)}
# Marks set by the page's map (window.map) on its first load and idle, read after the fact.
WATCH = """
(() => { const wait = () => { if (!window.map || !window.map.once) return setTimeout(wait, 2);
  const map = window.map;
  if (map.loaded()) window.__load = performance.now();
  else map.once("load", () => { window.__load = performance.now(); });
  const idle = () => { if (map.loaded() && map.areTilesLoaded()) window.__idle = performance.now();
                       else setTimeout(idle, 10); };
  idle(); }; wait(); })();
"""
OWN = "/static/map/"


async def one_load(context, url: str) -> dict:
    page = await context.new_page()
    sizes = {"own": 0, "maplibre": 0, "data": 0}

    async def account(response) -> None:
        try:
            body = await response.body()
        except Exception:   # redirects, aborted requests: no body
            return
        path = response.url.split("://", 1)[1].split("/", 1)[-1]
        kind = ("own" if f"/{path}".startswith(OWN) or response.request.resource_type == "document"
                else "maplibre" if "maplibre-gl" in path else "data")
        sizes[kind] += len(gzip.compress(body, 6)) if kind != "data" else len(body)

    page.on("response", lambda r: asyncio.ensure_future(account(r)))
    await page.add_init_script(WATCH)
    await page.goto(url)
    deadline = asyncio.get_running_loop().time() + 120
    while not await page.evaluate("Boolean(window.__idle)"):
        assert asyncio.get_running_loop().time() < deadline, "the map did not finish loading"
        await asyncio.sleep(0.05)
    marks = await page.evaluate("({load: window.__load, idle: window.__idle})")
    await asyncio.sleep(0.2)
    await page.close()
    return {"load": marks["load"], "idle": marks["idle"], **sizes}


async def measure(base: str, runs: int) -> list[str]:
    lines = ["| viewport | cache | map load ms (median) | map idle ms (median) | own code KB gz | "
             "MapLibre KB gz | runs |", "|---|---|---:|---:|---:|---:|---:|"]
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            for label, (width, height) in SIZES.items():
                cold, warm = [], []
                for _ in range(runs):
                    context = await browser.new_context(viewport={"width": width, "height": height})
                    cold.append(await one_load(context, f"{base}/#6/52.0/19.4"))
                    warm.append(await one_load(context, f"{base}/#6/52.0/19.4"))
                    await context.close()
                for name, rows in (("cold", cold), ("warm", warm)):
                    lines.append(
                        f"| {label} | {name} | {statistics.median(r['load'] for r in rows):.0f} | "
                        f"{statistics.median(r['idle'] for r in rows):.0f} | "
                        f"{rows[0]['own'] / 1024:.1f} | {rows[0]['maplibre'] / 1024:.1f} | {runs} |")
        finally:
            await browser.close()
    return lines


def write(text: str) -> None:
    start, end = "<!-- suite:map_page -->", "<!-- /suite:map_page -->"
    current = RESULTS.read_text()
    block = f"{start}\n{text}{end}"
    if start in current:
        before, rest = current.split(start, 1)
        current = before + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reports", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threatmap-bench-map-") as tmp:
        os.chmod(tmp, 0o755)   # PostgreSQL runs as its own user when we are root
        managed = ManagedDatabase(Path(tmp) / "data", "threatmap_bench_map")
        urls = managed.start()
        try:
            prepare_database(urls, PROJECT_ROOT / "config", args.reports)
            settings = Settings(database_url=urls.app, public_database_url=urls.public,
                                data_dir=Path(tmp) / "app", maintenance_interval_s=3600)
            with app_in_thread(settings) as base:
                lines = asyncio.run(measure(base, args.runs))
        finally:
            managed.stop()
    command = "python -m bench.map_page " + shlex.join(sys.argv[1:])
    text = "\n".join([
        "## Suite `map_page` (issue 12.8): the citizen map's first render", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command.strip()}`: headless Chromium "
        f"(software WebGL, SwiftShader), {args.reports:,} demo reports, `/` at z 6 over Poland.",
        f"Machine: {machine()}. Times from navigation start; \"cold\" is a fresh browser context, "
        "\"warm\" the same context again (HTTP cache). Sizes as gzip would send them.", "",
        *lines, ""]) + "\n"
    print(text)
    write(text)


if __name__ == "__main__":
    main()
