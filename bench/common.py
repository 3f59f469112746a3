"""What every benchmark suite shares: the database, the machine, load generation, the report."""

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from store.locations import DatabaseUrls, ManagedDatabase, external_urls
from store.setup import prepare_database

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
PROJECT_ROOT = BENCH_DIR.parent
CONFIG_DIR = PROJECT_ROOT / "config"
WRK_SCRIPT = BENCH_DIR / "wrk_urls.lua"


@dataclass
class Measurement:
    """One load run: requests/s and latency percentiles in milliseconds."""
    case: str
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int = 0


@dataclass
class Context:
    urls: DatabaseUrls
    duration_s: int
    concurrency: list[int]
    reports: int
    log: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)


@contextmanager
def database(database_url: str | None, reports: int, loader: str = "bulk") -> Iterator[DatabaseUrls]:
    """The benchmark database: the one given, or a managed one of its own in bench/.work with
    `reports` deterministic synthetic reports, created on first use and stopped again at the
    end. `loader`: "bulk" (store/demo_bulk.py, set-based: 5,000,000 reports in reach) or "rows"
    (store/demo.py, the loader the tests use)."""
    if database_url:
        urls = external_urls(database_url, None)
        prepare_database(urls, CONFIG_DIR)
        yield urls
        return
    managed = ManagedDatabase(WORK_DIR / "data", "threatmap_bench")
    urls = managed.start()
    try:
        print(f"benchmark database: {urls.app} (loading {reports} reports on first use; "
              "a million take a while)", flush=True)
        prepare_database(urls, CONFIG_DIR, demo_on_first_start=reports,
                         progress=lambda text: print(f"  {text}", flush=True),
                         demo_bulk=loader == "bulk")
        yield urls
    finally:
        managed.stop()


def count_public(urls: DatabaseUrls) -> int:
    with psycopg.connect(urls.app) as conn:  # the public role's 5 s timeout is short for this
        return conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]


def percentile(ms: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of values sorted ascending: the value at the nearest rank on
    0..n-1 (numpy's "nearest"), no interpolation; NaN for no values. Every suite's p50/p95/p99."""
    if not ms:
        return float("nan")
    return ms[min(len(ms) - 1, round(p / 100 * (len(ms) - 1)))]


def timed_ms[T](work: Callable[[], T]) -> tuple[float, T]:
    """One call of `work`: its wall time in milliseconds, and what it returned."""
    start = time.perf_counter()
    outcome = work()
    return (time.perf_counter() - start) * 1000, outcome


def repeated_ms[T](work: Callable[[], T], repeat: int, warm: bool = True) -> tuple[list[float], T]:
    """`work` called `repeat` times (after one call not timed, for plans and caches, if `warm`):
    each call's milliseconds, and what the last returned."""
    if warm:
        work()
    times: list[float] = []
    outcome = None
    for _ in range(max(1, repeat)):
        ms, outcome = timed_ms(work)
        times.append(ms)
    return times, outcome  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv(name: str, packages: list[str]) -> Path:
    """bench/.work/NAME, a virtualenv with `packages` (pin them) installed; (re)installed when
    the list changes. Returns its bin/ directory."""
    path = WORK_DIR / name
    marker = path / ".installed"
    wanted = "\n".join(packages) + "\n"
    if not marker.exists() or marker.read_text() != wanted:
        print(f"preparing {path} ({', '.join(packages)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=True)
        marker.write_text(wanted)
    return path / "bin"


@contextmanager
def server(command: list[str], url: str, env: dict[str, str] | None, name: str,
           timeout_s: float = 120) -> Iterator[subprocess.Popen]:
    """Runs a server process (its own session, log in bench/.work/NAME.log, `env` over this
    process's environment) until the block ends; waits until `url` answers below 500. Yields
    the process."""
    log = open(WORK_DIR / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: see {log.name}")
            try:
                if httpx.get(url, timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {url} within {timeout_s}s: see {log.name}")
            time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def wrk(case: str, base_url: str, paths: list[str], concurrency: int, duration_s: int,
        headers: dict[str, str] | None = None) -> Measurement:
    """Requests `paths` round-robin (each wrk thread from its own offset) with wrk."""
    return measurement(case, concurrency, wrk_figures(base_url, paths, concurrency, duration_s, headers))


def measurement(case: str, concurrency: int, data: dict) -> Measurement:
    """A Measurement of wrk_figures' figures (errors: socket errors and non-2xx/3xx together)."""
    return Measurement(case, concurrency, data["requests"] / (data["duration_us"] / 1e6),
                       data["p50"] / 1000, data["p95"] / 1000, data["p99"] / 1000, data["requests"],
                       data["errors"] + data["non2xx"])


def wrk_figures(base_url: str, paths: list[str], concurrency: int, duration_s: int,
                headers: dict[str, str] | None = None, threads: int = 2) -> dict:
    """wrk's own figures of one run (bench/wrk_urls.lua): requests, duration_us, p50/p95/p99 in
    microseconds, errors (connect, read, write, timeout) and non2xx (status >= 400)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    list_file = WORK_DIR / f"urls-{os.getpid()}.txt"
    list_file.write_text("\n".join(paths) + "\n")
    threads = min(concurrency, threads)
    command = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{duration_s}s",
               "--timeout", "30s", "-s", str(WRK_SCRIPT)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    try:
        result = subprocess.run([*command, base_url], env={**os.environ, "URLS": str(list_file)},
                                capture_output=True, text=True, check=True)
    finally:
        list_file.unlink(missing_ok=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("JSON "))
    return json.loads(line[5:])


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    return (f"{cpu}, {os.cpu_count()} cores, {memory_kb / 2**20:.1f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}")


def postgres_version(urls: DatabaseUrls) -> str:
    with psycopg.connect(urls.app) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    return f"PostgreSQL {pg}, PostGIS {postgis}"
