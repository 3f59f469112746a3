"""Suite `downloads` (issue 14): build time and peak memory of the open-data snapshot.

The files of the latest snapshot are written in processes of their own (so that each peak RSS is
its own: `os.wait4` gives the process's, GDAL's ogr2ogr child included), from the benchmark
database as the public role, into bench/.work/downloads: the reports' four formats one by one,
the aggregates by dataset, and the PMTiles archive alone. Times are wall clock, including the
seconds a Python process takes to start and import.
"""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.common import CONFIG_DIR, WORK_DIR, Context

FILES = ["reports.gpkg", "reports.csv", "reports.ndjson", "reports.parquet", "report-density.gpkg",
         "report-density.csv", "area-statistics.gpkg", "area-statistics.csv",
         "police-statistics.gpkg", "police-statistics.csv", "categories.csv", "categories.json"]
RUNS = [(name, [name]) for name in FILES[:4]] + [
    ("report-density .gpkg + .csv", FILES[4:6]), ("area-statistics .gpkg + .csv", FILES[6:8]),
    ("police-statistics and categories (4 files)", FILES[8:]),
    ("tiles.pmtiles (z 0-14)", ["tiles.pmtiles"])]
TIMEOUT_S = 900   # a run still going then is stopped (the machine is shared)


def measure(public_url: str, only: list[str], out: Path) -> tuple[float, int, str]:
    """Seconds, peak RSS (KiB, the process and its children) and the last output line."""
    command = [sys.executable, "-m", "bench.downloads", public_url, str(out), ",".join(only)]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = started + TIMEOUT_S
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        print(f"    {line.rstrip()}", flush=True)
        if time.monotonic() > deadline:
            process.kill()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        raise RuntimeError(f"{only} failed: {lines[-5:]}")
    written = [line for line in lines if " bytes, " in line]
    return seconds, usage.ru_maxrss, "; ".join(written)[-200:]


def run(ctx: Context) -> dict:
    out = WORK_DIR / "downloads"
    rows = ["| file(s) | seconds | peak RSS MB | written |", "|---|---:|---:|---|"]
    for label, only in RUNS:
        ctx.say(f"downloads: {label}")
        seconds, rss_kib, last = measure(ctx.urls.public, only, out)
        rows.append(f"| {label} | {seconds:.1f} | {rss_kib / 1024:.0f} | {last} |")
    return {"results": [], "lines": rows}


def write_only(public_url: str, out: Path, only: set[str]) -> None:
    """The worker: writes the named files of the latest snapshot."""
    from downloads.snapshot import SnapshotWriter

    writer = SnapshotWriter(public_url, out, CONFIG_DIR, only=only,
                            progress=lambda text: print(text, flush=True))
    writer.write_latest()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"python peak {peak / 1024:.0f} MB", flush=True)


if __name__ == "__main__":
    write_only(sys.argv[1], Path(sys.argv[2]), set(sys.argv[3].split(",")))
