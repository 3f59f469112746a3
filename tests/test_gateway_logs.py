"""Logs (issue 11, point 11), as `threatmap serve` writes them: JSON lines, one access line at
INFO per request with its request id (taken from X-Request-ID when sane, else made, echoed
either way), client errors at INFO without tracebacks, server errors at ERROR with one."""

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.logs import log_handler
from gateway.observe import Observe
from gateway.request_id import request_id
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import CONFIG_DIR, free_port


@dataclass
class Server:
    url: str
    lines: list[str] = field(default_factory=list)

    def settled(self) -> int:
        """How many lines there are once the server has written for a while nothing more."""
        count = -1
        while count != len(self.lines):
            count = len(self.lines)
            time.sleep(0.3)
        return count

    def records(self, since: int = 0) -> list[dict]:
        return [json.loads(line) for line in self.lines[since:]]


@pytest.fixture(scope="module")
def server(urls: DatabaseUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`threatmap serve` in a process of its own, JSON logs on stderr, kept line by line."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": urls.app, "THREATMAP_PUBLIC_DATABASE_URL": urls.public,
           "THREATMAP_HOST": "127.0.0.1", "THREATMAP_PORT": str(port),
           "THREATMAP_DATA_DIR": str(tmp_path_factory.mktemp("serve-data")),
           "THREATMAP_CONFIG_DIR": str(CONFIG_DIR), "THREATMAP_LOG_FORMAT": "json",
           "THREATMAP_MAINTENANCE_INTERVAL_S": "3600"}
    process = subprocess.Popen([str(Path(sys.executable).with_name("threatmap")), "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    served = Server(f"http://127.0.0.1:{port}")

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{served.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "".join(served.lines)
            assert time.monotonic() < deadline, "threatmap serve did not start"
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_line_is_a_json_object(server: Server) -> None:
    httpx.get(f"{server.url}/health")
    records = server.records()
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)   # uvicorn's lines too


BAD_REQUESTS = [
    ("bad-graphql-syntax", "POST", "/graphql", {"json": {"query": "{ reports {"}}),
    ("bad-graphql-field", "POST", "/graphql", {"json": {"query": "{ noSuchField }"}}),
    ("bad-graphql-variable", "POST", "/graphql",
     {"json": {"query": "query($n: Int!) { reports(first: $n) { totalCount } }", "variables": {"n": "x"}}}),
    ("bad-graphql-input", "POST", "/graphql",
     {"json": {"query": "{ reports(first: -1) { edges { node { id } } } }"}}),
    ("bad-graphql-http", "POST", "/graphql",
     {"json": {"query": "{ reports {"}, "headers": {"Accept": "application/graphql-response+json"}}),
    ("bad-cql", "GET", "/ogc/collections/reports/items",
     {"params": {"filter": "category_id ==== 'x' AND ((", "f": "json"}}),
    ("bad-cql-type", "GET", "/ogc/collections/reports/items",
     {"params": {"filter": "category_id > 5", "f": "json"}}),
    ("bad-bbox", "GET", "/ogc/collections/reports/items", {"params": {"bbox": "1,2,3", "f": "json"}}),
    ("unknown-collection", "GET", "/ogc/collections/nope/items", {"params": {"f": "json"}}),
    ("not-found", "GET", "/no/such/page", {}),
    ("bad-tile", "GET", "/tiles/reports/99/0/0.mvt", {}),
]


def test_client_errors_are_info_lines_without_tracebacks(server: Server) -> None:
    since = server.settled()
    statuses = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for rid, method, path, options in BAD_REQUESTS:
            headers = {"X-Request-ID": rid, **options.pop("headers", {})} if "headers" in options \
                else {"X-Request-ID": rid}
            response = http.request(method, path, headers=headers, **options)
            assert response.headers["x-request-id"] == rid
            assert response.status_code < 500, (rid, response.status_code, response.text)
            statuses[rid] = response.status_code
    server.settled()
    records = server.records(since)
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], records
    assert not [r for r in records if "traceback" in r or "Traceback" in r["message"]], records
    for rid, status in statuses.items():
        access = [r for r in records if r["logger"] == "threatmap.access" and r["request_id"] == rid]
        assert len(access) == 1, (rid, access)
        assert access[0]["level"] == "INFO" and access[0]["status"] == status
        assert {"method", "path", "duration_ms", "door"} <= set(access[0])
    # every line written while they were served names its request
    assert all(r["request_id"] in statuses for r in records), \
        [r for r in records if r["request_id"] not in statuses]
    # the reason of a refusal is there, at INFO: the CQL error says what is wrong
    assert any(r["request_id"] == "bad-cql" and r["level"] == "INFO" and r["logger"] != "threatmap.access"
               for r in records)


def test_a_request_id_is_made_when_none_or_an_insane_one_is_sent(server: Server) -> None:
    since = server.settled()
    with httpx.Client(base_url=server.url) as http:
        made = http.get("/health").headers["x-request-id"]
        refused = http.get("/health", headers={"X-Request-ID": "a b\"c<script>"}).headers["x-request-id"]
    assert len(made) == 32 and len(refused) == 32 and made != refused
    server.settled()
    logged = {r["request_id"] for r in server.records(since) if r["logger"] == "threatmap.access"}
    assert {made, refused} <= logged


def test_request_id_rule() -> None:
    assert request_id([(b"x-request-id", b"0f8fad5b-d9cb-469f-a165-70867728950e")]) == \
        "0f8fad5b-d9cb-469f-a165-70867728950e"
    for insane in (b"", b"a b", b"x" * 129, b"\xff\xfe", b"id\r\nSet-Cookie: a=b"):
        made = request_id([(b"x-request-id", insane)])
        assert made != insane.decode("latin-1") and len(made) == 32


# -- a server error: ERROR, with the traceback and the request id --------------------------------
async def test_an_unexpected_exception_is_one_error_line_with_its_traceback() -> None:
    async def broken(request: Request) -> PlainTextResponse:
        logging.getLogger("test.broken").info("about to fail")
        raise RuntimeError("the disk is on fire")

    app = Starlette(routes=[Route("/broken", broken)], middleware=[Middleware(Observe)])
    stream = io.StringIO()
    handler = log_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/broken", headers={"X-Request-ID": "boom-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert response.status_code == 500 and response.headers["x-request-id"] == "boom-1"
    assert "fire" not in response.text
    records = [r for r in map(json.loads, stream.getvalue().splitlines()) if r["logger"] != "httpx"]
    assert all(r["request_id"] == "boom-1" for r in records), records
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 2, records   # the exception, and the access line of a 500
    failure = next(r for r in errors if r["logger"] == "threatmap.errors")
    assert "RuntimeError: the disk is on fire" in failure["traceback"]
    access = next(r for r in errors if r["logger"] == "threatmap.access")
    assert access["status"] == 500 and "traceback" not in access


def test_log_settings() -> None:
    assert Settings(log_format="JSON", log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")
