"""Importing 1,000,000 police statistics rows (issue 15): time and peak memory of
`threatmap stats import`.

    python -m bench.stats_import [--rows 1000000] [--keep]

A managed PostGIS cluster of its own under bench/.work/stats-import (areas and kinds only, no
reports: the shared 1M-report database is not touched). It writes a CSV of --rows rows (every
voivodeship and county, every kind, as many months back from 2025-12 as needed), then runs the
command three times as a child process: the first import, the same file again (every row
replaced, nothing added), and a copy of the file with one bad row at the end (the whole file is
checked and nothing is written). Peak RSS is the child's (getrusage RUSAGE_CHILDREN after each,
a maximum over the children so far). The figures go to bench/RESULTS.md, section stats_import.
"""

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from bench.common import BENCH_DIR, CONFIG_DIR, WORK_DIR, machine, postgres_version
from store.catalogue import load_statistic_kinds
from store.locations import ManagedDatabase
from store.setup import prepare_database

RESULTS = BENCH_DIR / "RESULTS.md"
THREATMAP = Path(sys.executable).with_name("threatmap")


def write_file(path: Path, rows: int, areas: list[str], kinds: list[str]) -> int:
    per_month = len(areas) * len(kinds)
    months = -(-rows // per_month)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["kind", "area", "month", "count"])
        for back in range(months):
            year, month = divmod(2025 * 12 + 11 - back, 12)
            label = date(year, month + 1, 1).strftime("%Y-%m")
            for area in areas:
                for index, kind in enumerate(kinds):
                    if written == rows:
                        return written
                    out.writerow([kind, area, label, (written * 7 + index) % 400])
                    written += 1
    return written


def timed_import(path: Path, env: dict[str, str], source: str) -> tuple[float, float, int, str]:
    started = time.perf_counter()
    done = subprocess.run([str(THREATMAP), "stats", "import", str(path), "--source", source, "--quiet",
                           "--actor", "bench"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    output = (done.stdout.strip() or done.stderr.strip().splitlines()[-1])
    return elapsed, peak_mb, done.returncode, output


def write_results(section: str) -> None:
    start, end = "<!-- suite:stats_import -->", "<!-- /suite:stats_import -->"
    current = RESULTS.read_text(encoding="utf-8")
    block = f"{start}\n{section}{end}"
    if start in current:
        before, rest = current.split(start, 1)
        current = before + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the cluster and the files")
    args = parser.parse_args()
    root = WORK_DIR / "stats-import"
    root.mkdir(parents=True, exist_ok=True)
    managed = ManagedDatabase(root / "data", "threatmap_stats_bench")
    urls = managed.start()
    try:
        prepare_database(urls, CONFIG_DIR)
        with psycopg.connect(urls.app) as conn:
            areas = [code for (code,) in conn.execute("SELECT code FROM core.areas ORDER BY code")]
        kinds = [k["id"] for k in load_statistic_kinds(CONFIG_DIR)]
        path = root / "police-statistics-bench.csv"
        started = time.perf_counter()
        rows = write_file(path, args.rows, areas, kinds)
        print(f"wrote {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        bad = root / "police-statistics-bad.csv"
        shutil.copyfile(path, bad)
        with bad.open("a", encoding="utf-8") as handle:
            handle.write("theft,14,2025-13,1\n")
        env = {**os.environ, "THREATMAP_DATABASE_URL": urls.app, "THREATMAP_PUBLIC_DATABASE_URL": urls.public,
               "THREATMAP_CONFIG_DIR": str(CONFIG_DIR)}
        cases = [("first import", path, "bench"), ("same file again (replaces)", path, "bench"),
                 ("one bad row at the end (rejected)", bad, "bench")]
        table = ["| case | seconds | rows/s | peak RSS MB (child) | exit | output |",
                 "|---|---:|---:|---:|---:|---|"]
        for name, file, source in cases:
            elapsed, peak, code, output = timed_import(file, env, source)
            print(f"{name}: {elapsed:.1f} s, peak RSS {peak:.0f} MB, exit {code}: {output}")
            table.append(f"| {name} | {elapsed:.1f} | {rows / elapsed:,.0f} | {peak:.0f} | {code} | "
                         f"{output} |")
        with psycopg.connect(urls.app) as conn:
            stored = conn.execute("SELECT count(*) FROM core.police_statistics").fetchone()[0]
        print(f"rows stored: {stored:,}")
        command = "python -m bench.stats_import" + (f" --rows {args.rows}" if args.rows != 1_000_000 else "")
        write_results("\n".join([
            "## Suite `stats_import` (issue 15): importing police statistics", "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`: a CSV of {rows:,} rows "
            f"({path.stat().st_size / 1e6:.1f} MB; {len(areas)} areas x {len(kinds)} kinds x months), "
            "`threatmap stats import` as a child process on a managed cluster of its own (areas only).",
            f"Machine: {machine()}; {postgres_version(urls)}. Peak RSS: getrusage(RUSAGE_CHILDREN), the "
            f"maximum over the children so far. Rows stored after the runs: {stored:,}.", "",
            *table, "", ""]))
    finally:
        managed.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
