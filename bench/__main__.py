"""`python -m bench [SUITE ...]`: runs the named benchmark suites (all if none) and writes
bench/RESULTS.md. A suite is a module in bench/ with `run(ctx) -> dict` (see bench/README.md);
add yours to SUITES."""

import argparse
import importlib
import re
import shlex
import sys
from datetime import UTC, datetime

from bench.common import (
    BENCH_DIR,
    WORK_DIR,
    Context,
    Measurement,
    count_public,
    database,
    machine,
    postgres_version,
)

SUITES = {"tiles": "bench.tiles", "ogc": "bench.ogc_items", "graphql": "bench.graphql_pages",
          "hardening": "bench.hardening", "downloads": "bench.downloads",
          "bulk_ingest": "bench.bulk_ingest", "many_readers": "bench.many_readers",
          "freshness": "bench.freshness", "size": "bench.size"}
RESULTS = BENCH_DIR / "RESULTS.md"


def table(results: list[Measurement]) -> list[str]:
    lines = ["| case | concurrency | requests/s | p50 ms | p95 ms | p99 ms | requests | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {m.case} | {m.concurrency} | {m.rps:.1f} | {m.p50_ms:.1f} | {m.p95_ms:.1f} | "
              f"{m.p99_ms:.1f} | {m.requests} | {m.errors} |" for m in results]
    return lines


def section(name: str, outcome: dict, module, ctx: Context, command: str) -> str:
    lines = [f"## Suite `{name}`", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`, {ctx.duration_s} s a run.",
             f"Machine: {machine()}; {postgres_version(ctx.urls)}; "
             f"{count_public(ctx.urls):,} public reports.", ""]
    if outcome.get("tiles"):
        lines += [f"Tile list: {outcome['tiles']} URLs ({outcome['distinct']} distinct), z 5-16, "
                  "weighted to the data.", ""]
    if outcome["results"]:
        lines += table(outcome["results"])
    if outcome.get("extra"):
        lines += ["", *table(outcome["extra"])]
    if outcome.get("lines"):   # anything else the suite reports, as Markdown lines
        lines += ["", *outcome["lines"]]
    if hasattr(module, "ratios"):
        lines += ["", "| concurrency | ratio | value |", "|---:|---|---:|"]
        for c, row in module.ratios(outcome["results"]):
            lines += [f"| {c} | {label} | {value:.2f} |" for label, value in row.items()]
    return "\n".join(lines) + "\n"


def write(name: str, text: str) -> None:
    start, end = f"<!-- suite:{name} -->", f"<!-- /suite:{name} -->"
    current = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nWritten by `make bench` (`python -m bench`); see bench/README.md.\n")
    block = f"{start}\n{text}{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    updated = pattern.sub(lambda _: block, current) if pattern.search(current) else (
        current.rstrip("\n") + "\n\n" + block + "\n")
    RESULTS.write_text(updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", choices=[[], *SUITES], default=[],
                        help=f"suites to run (default: all of {', '.join(SUITES)})")
    parser.add_argument("--database-url", help="an existing threatmap database (owner role) to use "
                        "instead of a managed one in bench/.work")
    parser.add_argument("--reports", type=int, default=1_000_000,
                        help="synthetic reports in the managed benchmark database")
    parser.add_argument("--loader", choices=["bulk", "rows"], default="bulk",
                        help="how a new managed database gets its reports: set-based "
                        "(store/demo_bulk.py) or row by row (store/demo.py)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per load run")
    parser.add_argument("--concurrency", default="8,32", help="comma-separated connection counts")
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(exist_ok=True)
    with database(args.database_url, args.reports, args.loader) as urls:
        return run(args, urls, argv)


def run(args: argparse.Namespace, urls, argv: list[str] | None) -> int:
    ctx = Context(urls, args.duration, [int(c) for c in args.concurrency.split(",")], args.reports)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m bench " + shlex.join("URL" if "://" in a else a for a in given)
    for name in args.suites or list(SUITES):
        module = importlib.import_module(SUITES[name])
        ctx.say(f"== suite {name}")
        outcome = module.run(ctx)
        write(name, section(name, outcome, module, ctx, command))
        print(section(name, outcome, module, ctx, command))
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
