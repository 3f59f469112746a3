"""`python -m bench.squares_ab DATABASE_URL [--base REV] [--rounds N] [--only TEXT]`: the squares'
count (open.report_squares_count, store/sql/29_report_squares.sql) of this tree against the one
of a git revision (default 04e37d7, before the issue 16 review's rewrite), side by side in one
run: the revision's text is installed as open.report_squares_count_base (dropped at the end),
this tree's as the function itself; then, for each filter of bench.cell_counts the squares
answer, the two statements alternate (the order swapped every round), 3 warm-up rounds and N
timed, on the public role. Prints p50/p95 ms of each and the backend's CPU time a call (mean,
from /proc/PID/schedstat); the two counts must agree.
DATABASE_URL: the owner role (threatmap_app), of a scratch copy (it replaces the function)."""

import argparse
import subprocess
from pathlib import Path

import psycopg

from bench.cell_counts import FILTERS
from bench.common import PROJECT_ROOT, percentile, timed_ms
from store import report_squares
from store.locations import external_urls

SQL_FILE = "store/sql/29_report_squares.sql"
NAME = "open.report_squares_count("
WARM = 3


def function_text(sql_text: str) -> str:
    start = sql_text.index("CREATE OR REPLACE FUNCTION " + NAME)
    return sql_text[start:sql_text.index("$$;", sql_text.index("AS $$", start)) + 3]


def cpu_ms(pid: int) -> float:
    """The backend's time on a CPU so far (/proc/PID/schedstat: nanoseconds, where /proc/PID/stat
    counts 10 ms ticks): what a call costs whatever else the machine runs meanwhile."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="the owner role (threatmap_app) of a scratch copy")
    parser.add_argument("--base", default="04e37d7")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--only", help="only the filters whose name holds this text")
    parser.add_argument("--file", default=str(PROJECT_ROOT / SQL_FILE),
                        help="the SQL file of the function to compare (default: this tree's)")
    args = parser.parse_args()
    base = function_text(subprocess.run(["git", "-C", str(PROJECT_ROOT), "show", f"{args.base}:{SQL_FILE}"],
                                        capture_output=True, text=True, check=True).stdout)
    with psycopg.connect(args.database_url) as conn:
        conn.execute(base.replace(NAME, "open.report_squares_count_base(", 1))
        conn.execute(function_text(Path(args.file).read_text()))
    try:
        compare(external_urls(args.database_url, None).public, args)
    finally:
        with psycopg.connect(args.database_url) as conn:
            conn.execute("DROP FUNCTION open.report_squares_count_base")


def compare(public: str, args: argparse.Namespace) -> None:
    print(f"| filter | matches | {args.base} p50 / p95 ms | this tree p50 / p95 ms | p50 ratio "
          f"| backend CPU ms a call, {args.base} / this tree | CPU ratio |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    with psycopg.connect(public, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 0")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        for name, f in FILTERS.items():
            if not report_squares.answers(f) or (args.only and args.only not in name):
                continue
            statement, params = report_squares.count_statement(f)
            texts = {"tree": statement.as_string(conn)}
            texts["base"] = texts["tree"].replace(NAME, "open.report_squares_count_base(")
            times: dict[str, list[float]] = {"base": [], "tree": []}
            cpu = {"base": 0.0, "tree": 0.0}
            counts = set()
            for run in range(WARM + args.rounds):
                for way in ("base", "tree") if run % 2 == 0 else ("tree", "base"):
                    before = cpu_ms(pid)
                    ms, value = timed_ms(lambda t=texts[way], p=params:
                                         conn.execute(t, p, prepare=False).fetchone()[0])
                    counts.add(value)
                    if run >= WARM:
                        times[way].append(ms)
                        cpu[way] += cpu_ms(pid) - before
            assert len(counts) == 1, (name, counts)
            b, t = sorted(times["base"]), sorted(times["tree"])
            print(f"| {name} | {counts.pop():,} | {percentile(b, 50):.1f} / {percentile(b, 95):.1f} | "
                  f"{percentile(t, 50):.1f} / {percentile(t, 95):.1f} | "
                  f"{percentile(t, 50) / percentile(b, 50):.2f} | "
                  f"{cpu['base'] / args.rounds:.1f} / {cpu['tree'] / args.rounds:.1f} | "
                  f"{cpu['tree'] / cpu['base'] if cpu['base'] else float('nan'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
