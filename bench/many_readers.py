"""Suite `many_readers` (issue 16.6): warm tiles for a crowd, through nginx and the apps.

deploy/scale as it ships (nginx.conf and threatmap-scale.conf with this run's ports and
folders, redis.conf): Redis, two `threatmap serve` processes on the benchmark database and nginx
in front with its tile cache. The tile list of the `tiles` suite is requested once through
nginx (each tile lands in nginx's cache), then wrk holds READERS connections open for
`--duration` seconds. The same crowd against one app process directly (its own in-process tile
cache warmed first) shows what nginx adds. Both with `Accept-Encoding: gzip`, as browsers send
(nginx keeps one cache entry per Vary value: the warm-up sends the same header).

Besides wrk's figures, the CPU each part used during a run (nginx, the apps, wrk, everything
else on the machine) tells which part saturates when the target is missed.
"""

import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.common import (
    PROJECT_ROOT,
    WORK_DIR,
    Context,
    Measurement,
    free_port,
    measurement,
    server,
    wrk_figures,
)
from bench.tiles import our_paths, tile_list

READERS = 1000
SCALE_DIR = PROJECT_ROOT / "deploy" / "scale"
HEADERS = {"Accept-Encoding": "gzip"}
TICKS = os.sysconf("SC_CLK_TCK")
NOFILE = 65535


@dataclass
class Run:
    """One wrk run with the CPU seconds each part used during it."""
    result: Measurement
    figures: dict
    cpu_s: dict[str, float]
    load: tuple[float, float]   # 1-minute load average before and after


# -- the parts ------------------------------------------------------------------------------------
def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    return found


def replaced(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        if old not in text:
            raise RuntimeError(f"deploy/scale changed: {old!r} is no longer there")
        text = text.replace(old, new)
    return text


def nginx_conf(root: Path, port: int, apps: list[str]) -> Path:
    """deploy/scale/nginx.conf and threatmap-scale.conf as shipped, with this run's addresses and
    folders (and no `user`: started by root the workers run as nobody, by anyone else as them)."""
    scale = replaced((SCALE_DIR / "threatmap-scale.conf").read_text(), [
        ("127.0.0.1:8001", apps[0]), ("127.0.0.1:8002", apps[1]),
        ("listen 80 ", f"listen 127.0.0.1:{port} "),
        ("/var/cache/nginx/threatmap-scale", str(root / "cache"))])
    (root / "threatmap-scale.conf").write_text(scale)
    temp = " ".join(f"{kind}_temp_path {root / kind};" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = replaced((SCALE_DIR / "nginx.conf").read_text(), [
        ("user www-data;\n", ""),
        ("/run/nginx.pid", str(root / "nginx.pid")),
        ("/var/log/nginx/error.log", str(root / "error.log")),
        ("/var/log/nginx/access.log", str(root / "access.log")),
        ("include /etc/nginx/conf.d/threatmap-scale.conf;",
         f"{temp}\n    include {root / 'threatmap-scale.conf'};")])
    path = root / "nginx.conf"
    path.write_text(main)
    return path


def wait_port(port: int, process: subprocess.Popen, name: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not listen on {port}")
        time.sleep(0.1)


@contextlib.contextmanager
def redis(root: Path) -> Iterator[int]:
    """redis-server with deploy/scale/redis.conf on a free port; yields the port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([binary, str(SCALE_DIR / "redis.conf"), "--port", str(port),
                                "--dir", str(root), "--bind", "127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_port(port, process, "redis-server")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def app_command(ctx: Context, root: Path, name: str, redis_port: int) -> tuple[list[str], str, dict]:
    """`threatmap serve` as deploy/scale's apps run it (README "Growing beyond one machine")."""
    port = free_port()
    (root / name).mkdir()
    env = {"THREATMAP_DATABASE_URL": ctx.urls.app, "THREATMAP_PUBLIC_DATABASE_URL": ctx.urls.public,
           "THREATMAP_HOST": "127.0.0.1", "THREATMAP_PORT": str(port),
           "THREATMAP_DATA_DIR": str(root / name), "THREATMAP_JWT_SECRET": "bench-many-readers-" * 3,
           "THREATMAP_RATE_LIMIT_STORAGE": f"async+redis://127.0.0.1:{redis_port}/0",
           "THREATMAP_PERSISTED_QUERIES_URL": f"redis://127.0.0.1:{redis_port}/1",
           "THREATMAP_TRUSTED_PROXIES": '["127.0.0.1"]', "THREATMAP_DOWNLOADS_ENABLED": "false",
           "THREATMAP_MAINTENANCE_INTERVAL_S": "3600", "THREATMAP_LOG_LEVEL": "WARNING",
           "THREATMAP_TILE_CACHE_MB": "256"}
    command = [str(Path(sys.executable).with_name("threatmap")), "serve"]
    return command, f"http://127.0.0.1:{port}", env


@contextlib.contextmanager
def nginx(root: Path, apps: list[str]) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    conf = nginx_conf(root, port, apps)
    command = [nginx_binary(), "-c", str(conf), "-e", str(root / "error.log"), "-g", "daemon off;"]
    with server(command, f"http://127.0.0.1:{port}/health", None, "many-readers-nginx") as process:
        yield f"http://127.0.0.1:{port}", process


# -- measuring ------------------------------------------------------------------------------------
def raise_descriptor_limit() -> int:
    """As `ulimit -n` in a shell: this process's descriptor limit up to its hard limit (wrk and
    the servers started from here inherit it; nginx raises its workers' own by
    worker_rlimit_nofile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes of a process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:       # field 5 of stat: the process group
                total += int(fields[11]) + int(fields[12])   # utime, stime
    return total / TICKS


def machine_cpu_s() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]   # idle, iowait
    return (sum(values[:8]) - idle) / TICKS


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(case: str, base: str, paths: list[str], ctx: Context, parts: dict[str, int]) -> Run:
    """wrk with READERS connections for ctx.duration_s; the CPU of each process group in `parts`,
    of wrk (this process's waited-for children) and of the machine over the same time."""
    def sample() -> dict[str, float]:
        return {**{name: group_cpu_s(pgid) for name, pgid in parts.items()},
                "wrk": children_cpu_s(), "machine": machine_cpu_s()}

    load_before = os.getloadavg()[0]
    before = sample()
    figures = wrk_figures(base, paths, READERS, ctx.duration_s, HEADERS)
    after = sample()
    used = {name: after[name] - before[name] for name in before}
    used["everything else"] = used.pop("machine") - sum(used.values())
    run = Run(measurement(case, READERS, figures), figures, used, (load_before, os.getloadavg()[0]))
    m = run.result
    ctx.say(f"  {case:<28} c={READERS} {m.rps:9.1f} req/s  p50 {m.p50_ms:7.1f} ms  p95 {m.p95_ms:7.1f} ms  "
            f"p99 {m.p99_ms:7.1f} ms  max {figures['max'] / 1000:7.1f} ms  ({m.requests} requests, "
            f"errors: {errors_text(figures)})")
    ctx.say("    cores used: " + ", ".join(f"{k} {v / (figures['duration_us'] / 1e6):.2f}"
                                          for k, v in used.items()))
    return run


def errors_text(figures: dict) -> str:
    return (f"{figures['connect']} connect, {figures['read']} read, {figures['write']} write, "
            f"{figures['timeout']} timeout, {figures['non2xx']} status >= 400")


def warm(base: str, paths: list[str]) -> dict[str, int]:
    """Requests every distinct path once, then once more; returns the X-Cache-Status (or, from an
    app directly, the status code) counts of the second pass: all HIT when warm."""
    seen: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=60, headers=HEADERS) as client:
        for round_ in range(2):
            for path in dict.fromkeys(paths):
                response = client.get(path)
                if round_ == 1:
                    key = response.headers.get("X-Cache-Status", str(response.status_code))
                    seen[key] = seen.get(key, 0) + 1
    return seen


# -- the suite ------------------------------------------------------------------------------------
def run(ctx: Context) -> dict:
    limit = raise_descriptor_limit()
    paths = our_paths(tile_list(ctx))
    ctx.say(f"tiles: {len(paths)} URLs ({len(set(paths))} distinct); {READERS} connections; "
            f"descriptors {limit}; somaxconn {Path('/proc/sys/net/core/somaxconn').read_text().strip()}")
    root = WORK_DIR / "many-readers"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    runs: list[Run] = []
    warmth: dict[str, dict[str, int]] = {}
    with contextlib.ExitStack() as stack:
        redis_port = stack.enter_context(redis(root))
        apps = []
        for name in ("a", "b"):
            command, base, env = app_command(ctx, root, name, redis_port)
            process = stack.enter_context(server(command, f"{base}/health", env, f"many-readers-{name}"))
            apps.append((base, process))
        through, proxy = stack.enter_context(nginx(root, [base.removeprefix("http://") for base, _ in apps]))
        parts = {"nginx": proxy.pid, "app A": apps[0][1].pid, "app B": apps[1][1].pid}
        warmth["nginx"] = warm(through, paths)
        ctx.say(f"  warm through nginx (second pass): {warmth['nginx']}")
        runs.append(measure("nginx + 2 apps, warm", through, paths, ctx, parts))
        warmth["app A"] = warm(apps[0][0], paths)
        ctx.say(f"  warm app A directly (second pass): {warmth['app A']}")
        runs.append(measure("1 app directly, warm", apps[0][0], paths, ctx, parts))
    return {"results": [r.result for r in runs],
            "lines": [*lines(runs, warmth, len(paths), limit), "", f"Database size: {database_size(ctx)}."]}


def database_size(ctx: Context) -> str:
    with psycopg.connect(ctx.urls.app) as conn:
        return conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]


def lines(runs: list[Run], warmth: dict[str, dict[str, int]], count: int, limit: int) -> list[str]:
    out = [f"{READERS} connections, wrk 2 threads, `Accept-Encoding: gzip`, the `tiles` suite's list "
           f"of {count} tile URLs; descriptor limit {limit}. Warm check (second pass over the list): "
           + "; ".join(f"{k}: {v}" for k, v in warmth.items()) + ".", "",
           "| case | load avg before / after | errors | max ms | cores used during the run | "
           "CPU µs a request |",
           "|---|---|---|---:|---|---|"]
    for r in runs:
        seconds = r.figures["duration_us"] / 1e6
        cores = ", ".join(f"{k} {v / seconds:.2f}" for k, v in r.cpu_s.items())
        per_request = ", ".join(f"{k} {v / max(r.result.requests, 1) * 1e6:.0f}"
                                for k, v in r.cpu_s.items() if k != "everything else")
        out.append(f"| {r.result.case} | {r.load[0]:.1f} / {r.load[1]:.1f} | {errors_text(r.figures)} | "
                   f"{r.figures['max'] / 1000:.0f} | {cores} | {per_request} |")
    return out


def ratios(results: list[Measurement]) -> list[tuple[int, dict[str, float]]]:
    by = {m.case: m for m in results}
    through, direct = by.get("nginx + 2 apps, warm"), by.get("1 app directly, warm")
    row: dict[str, float] = {}
    if through:
        row["nginx p99 ms (target < 100)"] = through.p99_ms
        row["nginx errors (target 0)"] = through.errors
    if through and direct:
        row["nginx rps / 1 app rps"] = through.rps / direct.rps
        row["1 app p99 / nginx p99"] = direct.p99_ms / through.p99_ms
    return [(READERS, row)]
