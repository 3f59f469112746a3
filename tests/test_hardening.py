"""Hardening (issue 10): the token key, slow clients, a bounded shutdown, the public role's
privileges, the managed cluster's restart. Real parts: `threatmap serve` in a subprocess with a
managed cluster of its own on a free port, raw sockets, the test database's roles."""

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest

from gateway.app import create_app
from gateway.graphql.auth import Role, mint_token
from gateway.secret import SECRET_FILE, WeakSecretError, local_secret
from gateway.settings import DEFAULT_JWT_SECRET, PROJECT_ROOT, Settings
from store.locations import DatabaseUrls, ManagedDatabase
from tests.support import free_port

STAFF_QUERY = "{ staffReports(first: 1) { totalCount } }"


# --- a real server ----------------------------------------------------------------------------
def postgres_running_in(root: Path) -> bool:
    found = subprocess.run(["pgrep", "-f", f"postgres -D {root}"], capture_output=True, check=False)
    return found.returncode == 0


def wait_for(predicate, timeout_s: float, step_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


class Server:
    """`threatmap serve` in a subprocess, its managed cluster under `data_dir`."""

    def __init__(self, data_dir: Path, log_path: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith("THREATMAP_") and k not in ("DATABASE_URL", "HOST", "PORT")}
        self.env = {**clean, "THREATMAP_DATA_DIR": str(data_dir), "HOST": "127.0.0.1",
                    "PORT": str(self.port), "THREATMAP_MAINTENANCE_INTERVAL_S": "3600",
                    "THREATMAP_LOG_FORMAT": "text", **env}
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 240) -> "Server":
        self.process = threatmap(["serve"], self.env, self.log_path)
        if not wait_for(self.healthy, timeout_s, 0.5):
            raise AssertionError(f"the server did not start:\n{self.log()}")
        return self

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.log()}")
        return self.health() == 200

    def health(self) -> int | None:
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code
        except httpx.HTTPError:
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def threatmap(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-c", "from gateway.cli import main; main()",
                                 *args], cwd=PROJECT_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def new_data_dir() -> Iterator[Callable[[], Path]]:
    """Managed data folders, each for one server at a time (initialized on its first start).
    Not under tmp_path: as root the cluster runs as the system user `threatmap`."""
    roots: list[Path] = []

    def make() -> Path:
        roots.append(Path(tempfile.mkdtemp(prefix="threatmap-hardening-",
                                           dir=os.environ.get("THREATMAP_TEST_ROOT"))))
        os.chmod(roots[-1], 0o755)
        return roots[-1] / "data"

    try:
        yield make
    finally:
        for root in roots:
            if (root / "data" / "pg").exists():
                ManagedDatabase(root / "data", "threatmap").cluster.stop()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def data_dir(new_data_dir: Callable[[], Path]) -> Path:
    """A data folder for servers started and stopped one after the other by the tests."""
    return new_data_dir()


@pytest.fixture(scope="module")
def server(new_data_dir: Callable[[], Path], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """A server for the whole module, with a short body timeout; no JWT key configured."""
    running = Server(new_data_dir(), tmp_path_factory.mktemp("server") / "serve.log",
                     THREATMAP_BODY_TIMEOUT_S="2", THREATMAP_HEAD_TIMEOUT_S="2")
    try:
        yield running.start()
    finally:
        running.close()


def staff_query(server: Server, token: str) -> dict:
    response = httpx.post(f"{server.url}/graphql", json={"query": STAFF_QUERY},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


# --- 1. The token key ------------------------------------------------------------------------
def test_a_token_signed_with_the_default_key_is_refused(server: Server) -> None:
    forged = mint_token(DEFAULT_JWT_SECRET, Role.ADMIN, "attacker")
    body = staff_query(server, forged)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


def test_the_server_uses_a_random_key_in_its_data_folder_and_threatmap_token_mints_with_it(
        server: Server, tmp_path: Path) -> None:
    key_file = server.data_dir / SECRET_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_text().strip()) >= 32
    minted = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", "token", "--role",
         "analyst"], cwd=PROJECT_ROOT, env=server.env, capture_output=True, text=True, check=True)
    token = minted.stdout.strip()
    jwt.decode(token, key_file.read_text().strip(), algorithms=["HS256"], issuer="threatmap")
    body = staff_query(server, token)
    assert "errors" not in body, body
    assert body["data"]["staffReports"]["totalCount"] >= 0


def test_serve_refuses_a_short_key_off_loopback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREATMAP_")}
    env |= {"HOST": "0.0.0.0", "PORT": str(free_port()), "THREATMAP_DATA_DIR": str(tmp_path),
            "THREATMAP_JWT_SECRET": "sixteen-bytes-ok-but-short"}
    run = subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()", "serve"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "THREATMAP_JWT_SECRET is shorter than 32 bytes" in run.stderr, run.stderr
    assert not (tmp_path / "pg").exists(), "it started the database before refusing"


def test_the_app_refuses_the_default_key_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(WeakSecretError, match="default key"):
        create_app(Settings(host="0.0.0.0", data_dir=tmp_path))


def test_a_weak_key_on_loopback_is_accepted_with_a_warning(caplog, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.secret"):
        create_app(Settings(host="127.0.0.1", data_dir=tmp_path))
    assert any("default key" in r.getMessage() and "loopback" in r.getMessage()
               and r.levelno == logging.WARNING for r in caplog.records), caplog.text
    create_app(Settings(host="0.0.0.0", data_dir=tmp_path, jwt_secret="k" * 32))   # strong: fine


def test_the_local_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = local_secret(tmp_path / "data")
    assert local_secret(tmp_path / "data") == first
    assert (tmp_path / "data" / SECRET_FILE).stat().st_mode & 0o777 == 0o600


# --- 4. Slow clients and a bounded shutdown --------------------------------------------------
REQUEST_HEAD = (b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n")


def trickler(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(REQUEST_HEAD + b"{")
    return sock


def test_trickled_bodies_get_408_and_their_connections_close(server: Server) -> None:
    # 100 clients each sending a byte every second or so; the body timeout is 2 s.
    socks = [trickler(server.port) for _ in range(100)]
    answers: dict[int, bytes] = {}
    deadline = time.monotonic() + 30
    try:
        while len(answers) < len(socks) and time.monotonic() < deadline:
            for i, sock in enumerate(socks):
                if i in answers:
                    continue
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")
                sock.settimeout(0.005)
                with contextlib.suppress(TimeoutError, OSError):
                    if data := sock.recv(65536):
                        answers[i] = data
            assert server.health() == 200   # the others are served meanwhile
            time.sleep(0.5)
        assert len(answers) == len(socks), f"{len(socks) - len(answers)} never got an answer"
        assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers.values()), answers[0]
        for sock in socks:   # and the server closed each connection (a reset is a close too:
            sock.settimeout(5)  # the client's trickled bytes were still unread when it closed)
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    assert chunk
    finally:
        for sock in socks:
            sock.close()
    assert "did not arrive within 2 s: 408" in server.log()


def test_connections_without_a_whole_request_head_are_closed(server: Server) -> None:
    # slowloris: 50 connections that send nothing, 50 that send their head a byte at a time
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(50)]
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(50)]
    head = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 100
    open_socks = set(silent + slow)
    try:
        deadline = time.monotonic() + 30
        for sent in range(len(head)):
            if not open_socks or time.monotonic() > deadline:
                break
            for sock in list(open_socks):
                try:
                    if sock in slow:
                        sock.sendall(head[sent:sent + 1])
                    sock.settimeout(0.001)
                    if sock.recv(1024) == b"":
                        open_socks.discard(sock)
                except TimeoutError:
                    pass
                except OSError:   # reset: closed by the server
                    open_socks.discard(sock)
            time.sleep(0.5)
        assert not open_socks, f"{len(open_socks)} connections still open after {sent / 2:.0f} s"
    finally:
        for sock in silent + slow:
            sock.close()
    assert "no complete request head from" in server.log()


def test_sigterm_ends_the_server_and_its_cluster_despite_a_trickling_client(
        data_dir: Path, tmp_path: Path) -> None:
    served = Server(data_dir, tmp_path / "serve.log", THREATMAP_BODY_TIMEOUT_S="600",
                    THREATMAP_SHUTDOWN_TIMEOUT_S="2").start()
    sock = trickler(served.port)
    try:
        time.sleep(1)
        served.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while served.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                sock.sendall(b" ")   # a byte a second, for as long as the server is there
            time.sleep(1)
        assert served.process.poll() is not None, "the server did not stop within 60 s"
        assert wait_for(lambda: not postgres_running_in(data_dir), 10), "its PostgreSQL outlived it"
    finally:
        sock.close()
        served.close()


def test_a_killed_server_leaves_no_postgresql_behind(data_dir: Path, tmp_path: Path) -> None:
    served = Server(data_dir, tmp_path / "serve.log").start()
    try:
        assert postgres_running_in(data_dir)
        served.process.kill()
        served.process.wait(timeout=10)
        assert wait_for(lambda: not postgres_running_in(data_dir), 30), "its PostgreSQL outlived it"
    finally:
        served.close()


# --- 7. The public role's privileges ---------------------------------------------------------
REFUSED_TO_THE_PUBLIC_ROLE = {
    "a temporary table": "CREATE TEMP TABLE spy (x int)",
    "a function in pg_temp": "CREATE FUNCTION pg_temp.spy() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "a table in public": "CREATE TABLE public.spy (x int)",
    "a table in open": "CREATE TABLE open.spy (x int)",
    "a schema": "CREATE SCHEMA spy",
    "a write to open": "DELETE FROM open.reports",
    "a read of core": "SELECT count(*) FROM core.reports",
}


@pytest.mark.parametrize("what", REFUSED_TO_THE_PUBLIC_ROLE)
def test_the_public_role_cannot_create_or_write_even_read_write(urls: DatabaseUrls,
                                                                what: str) -> None:
    with psycopg.connect(urls.public) as conn:
        conn.execute("BEGIN READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(REFUSED_TO_THE_PUBLIC_ROLE[what])


def test_the_application_role_keeps_its_temporary_tables(urls: DatabaseUrls) -> None:
    # store/areas.py stages imports in one; tipg (bench) creates functions in pg_temp
    with psycopg.connect(urls.app) as conn:
        conn.execute("CREATE TEMP TABLE staged (x int)")
        conn.execute("CREATE FUNCTION pg_temp.one() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.rollback()


# --- 12. The managed cluster comes back ------------------------------------------------------
def test_a_killed_postmaster_is_restarted_and_health_recovers(server: Server) -> None:
    pgdata = server.data_dir / "pg"
    assert server.health() == 200
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    # Its configuration taken away first, so that the first restarts fail and the outage lasts
    # until it is given back (else a restart can beat /health's 3 s wait, and 503 goes unseen).
    (pgdata / "postgresql.conf").rename(pgdata / "postgresql.conf.away")
    try:
        os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: server.health() == 503, 30, 0.1), "/health never said 503"
        assert wait_for(lambda: "restarting the managed PostgreSQL failed" in server.log(), 30)
    finally:
        (pgdata / "postgresql.conf.away").rename(pgdata / "postgresql.conf")
    assert wait_for(lambda: server.health() == 200, 60, 0.2), \
        f"health did not recover within 60 s:\n{server.log()[-3000:]}"
    assert int((pgdata / "postmaster.pid").read_text().split()[0]) != pid
    said = [line for line in server.log().splitlines()
            if f"its postmaster (pid {pid}) is gone" in line]
    assert said and said[0].startswith("WARNING"), server.log()[-3000:]
    # /health can answer 200 as soon as PostgreSQL accepts connections, a moment before the
    # watchdog's restart call returns and says so.
    assert wait_for(lambda: "WARNING gateway.watchdog: the managed PostgreSQL is running again"
                    in server.log(), 30), server.log()[-3000:]
