"""Beyond one machine (issue 16, point 1), with real parts started here: a streaming standby of
the test cluster (pg_basebackup), Redis (Debian's redis-server, deploy/scale/redis.conf), two
`threatmap serve` processes A and B, and nginx in front of them with deploy/scale's own config
(load balancing and the tile cache). One module-scoped set-up serves every test.

Shown: a report submitted through A reaches a subscriber on B; a publish evicts the tiles B
keeps and nginx revalidates by ETag and serves the new tile; the rate limit holds across A and
B; persisted queries registered on A are found on B; public reads come from the standby within
the replica lag; with the standby lagging or down they come from the primary (README "Growing
beyond one machine": the decision is to fall back, not 503).
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import mercantile
import psycopg
import pytest
import websockets

from gateway.graphql.persisted import sha256
from gateway.settings import PROJECT_ROOT, Settings
from store.locations import PUBLIC_ROLE, DatabaseUrls, ManagedDatabase
from store.replica import StandbyCluster
from tests.support import (
    NGINX,
    SERVE_JWT_SECRET,
    WARSAW,
    free_port,
    insert_report,
    next_message,
    nginx_running,
    serve_env,
    stop_process,
    threatmap_command,
    token,
    wait_healthy,
)

pytestmark = pytest.mark.scale

REDIS = shutil.which("redis-server")
SCALE_DIR = PROJECT_ROOT / "deploy" / "scale"
MAX_LAG_S = 2.0
TILE = mercantile.tile(*WARSAW, 14)
TILE_PATH = f"/tiles/reports/{TILE.z}/{TILE.x}/{TILE.y}.mvt"
# nginx counts max-age in whole seconds and a tile is stale only past its last one: 1 s of max-age
# may last up to 2 s
STALE_AFTER_S = 2.1
OFFICER_UNIT = "kpp-1405"   # the unit of WARSAW in the test database (as tests/test_graphql_live.py)

if NGINX is None or REDIS is None:
    pytest.skip("nginx and redis-server are needed (.ci/run installs them)", allow_module_level=True)


@dataclasses.dataclass
class Scale:
    a: str                      # base URLs
    b: str
    nginx: str
    standby: StandbyCluster
    urls: DatabaseUrls
    settings: Settings
    dbname: str


def nginx_http(root: Path, port: int, a: str, b: str) -> str:
    """deploy/scale/threatmap-scale.conf with this test's addresses and folders, to include."""
    text = (SCALE_DIR / "threatmap-scale.conf").read_text()
    for old, new in [("127.0.0.1:8001", a), ("127.0.0.1:8002", b),
                     ("listen 80 ", f"listen 127.0.0.1:{port} "),
                     ("/var/cache/nginx/threatmap-scale", str(root / "cache"))]:
        assert old in text, old
        text = text.replace(old, new)
    (root / "threatmap-scale.conf").write_text(text)
    return f"    include {root}/threatmap-scale.conf;"


def wait_until(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, what
        time.sleep(every_s)


@pytest.fixture(scope="module")
def scale(managed_db: ManagedDatabase, urls: DatabaseUrls, settings: Settings) -> Iterator[Scale]:
    root = Path(tempfile.mkdtemp(prefix="threatmap-scale-", dir=os.environ.get("THREATMAP_TEST_ROOT")))
    root.chmod(0o755)
    standby = StandbyCluster(managed_db.cluster, root / "standby")
    processes: list[subprocess.Popen] = []
    stack = contextlib.ExitStack()   # nginx
    try:
        standby.start()
        redis_port = free_port()
        processes.append(subprocess.Popen(
            [REDIS, str(SCALE_DIR / "redis.conf"), "--port", str(redis_port), "--dir", str(root),
             "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports = free_port(), free_port()
        shared = {
            "THREATMAP_PUBLIC_DATABASE_URL": standby.url(PUBLIC_ROLE, managed_db.dbname),
            "THREATMAP_PUBLIC_PRIMARY_URL": urls.public,
            "THREATMAP_PUBLIC_STANDBY_MAX_LAG_S": str(MAX_LAG_S),
            "THREATMAP_RATE_LIMIT_STORAGE": f"async+redis://127.0.0.1:{redis_port}/0",
            "THREATMAP_PERSISTED_QUERIES_URL": f"redis://127.0.0.1:{redis_port}/1",
            "THREATMAP_TRUSTED_PROXIES": '["127.0.0.1"]',
            "THREATMAP_TILE_MAX_AGE_S": "1",
            "THREATMAP_SUBMIT_RATE_LIMIT": "2/hour",
            "THREATMAP_MAINTENANCE_INTERVAL_S": "3600",
            "THREATMAP_METRICS": "off",
        }
        for name, port in zip("ab", ports, strict=True):
            (root / name).mkdir()
            env = serve_env(settings, root / name, port, **shared)
            processes.append(subprocess.Popen([*threatmap_command(), "serve"], cwd=root / name, env=env,
                                              stdout=subprocess.DEVNULL,
                                              stderr=(root / name / "serve.log").open("w")))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for name, base, process in zip("ab", bases, processes[1:], strict=True):
            wait_healthy(base, process, log=root / name / "serve.log")
        upstreams = [f"127.0.0.1:{port}" for port in ports]
        through = stack.enter_context(nginx_running(lambda conf_root, port: nginx_http(
            conf_root, port, *upstreams), ready_path="/health", connections=256))
        wait_until(lambda: _answers(through), 20, "nginx does not reach the apps")
        yield Scale(bases[0], bases[1], through, standby, urls,
                    settings.model_copy(update={"jwt_secret": SERVE_JWT_SECRET}), managed_db.dbname)
    finally:
        stack.close()
        for process in reversed(processes):
            stop_process(process)
        standby.clean()
        shutil.rmtree(root, ignore_errors=True)
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports")


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def health(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/health", timeout=10).json()


def primary_version(urls: DatabaseUrls) -> int:
    with psycopg.connect(urls.public) as conn:
        return conn.execute("SELECT version FROM open.data_version").fetchone()[0]


def publish_in_warsaw(urls: DatabaseUrls) -> str:
    """A published report in TILE, written on the primary."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        return str(insert_report(conn, status="confirmed", published=True))


def gql(base: str, query: str, variables: dict[str, Any] | None = None, *, client: str | None = None,
        bearer: str | None = None, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"X-Forwarded-For": client} if client else {}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if extensions:
        body["extensions"] = extensions
    return httpx.post(f"{base}/graphql", json=body, headers=headers, timeout=30).json()


SUBMIT = """mutation($input: SubmitReportInput!) { submitReport(input: $input) { report { id } } }"""


def report_input(description: str) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta
    occurred = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
    return {"categoryId": "illegal-dumping", "longitude": WARSAW[0], "latitude": WARSAW[1],
            "occurredAt": occurred, "description": description, "contact": "citizen@example.org"}


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# -- subscriptions across processes ---------------------------------------------------------------

SUBSCRIBE = "subscription { reportEvents { kind reportId } }"


async def _subscribed(ws: Any, urls: DatabaseUrls) -> None:
    """Until B's listener delivers: notices `refreshed` on the primary until one arrives."""
    async with await psycopg.AsyncConnection.connect(urls.admin, autocommit=True) as conn:
        for _ in range(100):
            await conn.execute("SELECT pg_notify('threatmap_report_events', '{\"kind\": \"refreshed\"}')")
            with contextlib.suppress(TimeoutError):
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.2))
                if message["payload"]["data"]["reportEvents"]["kind"] == "REFRESHED":
                    return
    raise AssertionError("the subscription on B never received a notice")


async def test_a_report_submitted_through_a_reaches_a_subscriber_on_b(scale: Scale) -> None:
    async with websockets.connect(f"{scale.b.replace('http', 'ws')}/graphql",
                                  subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await next_message(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        await _subscribed(ws, scale.urls)
        submitted = await asyncio.to_thread(gql, scale.a, SUBMIT, {"input": report_input("via A")},
                                            client="198.51.100.10")
        report_id = submitted["data"]["submitReport"]["report"]["id"]
        officer = token(scale.settings, "officer", OFFICER_UNIT)
        confirmed = await asyncio.to_thread(
            gql, scale.a, 'mutation($id: ID!) { setReportStatus(id: $id, status: "confirmed") { status } }',
            {"id": report_id}, bearer=officer)
        assert "errors" not in confirmed, confirmed
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
            assert message["type"] == "next", message
            event = message["payload"]["data"]["reportEvents"]
            if event["kind"] != "REFRESHED":
                break
    assert event == {"kind": "ADDED", "reportId": report_id}


# -- the tile cache: B evicts on publish, nginx revalidates by ETag ----------------------------------

def through_nginx() -> Callable[[str], httpx.Response]:
    return lambda base: httpx.get(f"{base}{TILE_PATH}", headers={"Accept-Encoding": "identity"},
                                  timeout=30)


def test_a_publish_evicts_b_tiles_and_nginx_revalidates_by_etag(scale: Scale) -> None:
    get = through_nginx()
    publish_in_warsaw(scale.urls)
    scale.standby.wait_caught_up()
    first = get(scale.nginx)
    assert first.status_code == 200 and first.content, first
    assert first.headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    hit = get(scale.nginx)
    assert (hit.headers["X-Cache-Status"], hit.content) == ("HIT", first.content)
    # B's own cache holds the tile too (an ETag B answers 304 to)
    etag = get(scale.b).headers["ETag"]
    assert etag == first.headers["ETag"]
    time.sleep(STALE_AFTER_S)   # past max-age (THREATMAP_TILE_MAX_AGE_S=1): nginx asks with If-None-Match
    same = get(scale.nginx)
    assert (same.headers["X-Cache-Status"], same.content) == ("REVALIDATED", first.content)

    publish_in_warsaw(scale.urls)   # a second report in the tile, written on the primary
    scale.standby.wait_caught_up()
    # B got the notice (LISTEN on the primary) and evicted the tile: a new ETag and body from B
    fresh = wait_until(lambda: (r := get(scale.b)).headers["ETag"] != etag and r, 10,
                       "B kept serving the old tile")
    assert fresh.content != first.content
    time.sleep(STALE_AFTER_S)
    renewed = get(scale.nginx)
    assert renewed.headers["X-Cache-Status"] == "EXPIRED"   # revalidation answered 200: replaced
    assert renewed.content == fresh.content and renewed.headers["ETag"] == fresh.headers["ETag"]
    again = get(scale.nginx)
    assert (again.headers["X-Cache-Status"], again.content) == ("HIT", fresh.content)


# -- Redis: one rate limit, one persisted-query store -------------------------------------------------

def test_the_rate_limit_holds_across_a_and_b_together(scale: Scale) -> None:
    client = "198.51.100.20"   # THREATMAP_SUBMIT_RATE_LIMIT=2/hour, counted in Redis
    first = gql(scale.a, SUBMIT, {"input": report_input("one")}, client=client)
    second = gql(scale.b, SUBMIT, {"input": report_input("two")}, client=client)
    assert "errors" not in first and "errors" not in second, (first, second)
    assert codes(gql(scale.a, SUBMIT, {"input": report_input("three")}, client=client)) == ["RATE_LIMITED"]
    assert codes(gql(scale.b, SUBMIT, {"input": report_input("four")}, client=client)) == ["RATE_LIMITED"]
    assert "errors" not in gql(scale.b, SUBMIT, {"input": report_input("other")}, client="198.51.100.21")


def test_a_query_persisted_on_a_is_found_on_b(scale: Scale) -> None:
    query = "query { categories { id } }"
    digest = sha256(query + "  ")   # a text no other test has persisted
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    by_hash = {"extensions": json.dumps(persisted)}
    unknown = httpx.get(f"{scale.b}/graphql", params=by_hash, timeout=10).json()
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = gql(scale.a, query + "  ", extensions=persisted)
    assert "errors" not in registered, registered
    found = httpx.get(f"{scale.b}/graphql", params=by_hash, timeout=10).json()
    assert found == registered


# -- public reads from the standby ----------------------------------------------------------------------

def test_public_reads_from_the_standby_see_a_change_within_the_lag(scale: Scale) -> None:
    wait_until(lambda: health(scale.a)["public_reads"] == "standby", 10, "A does not read the standby")
    publish_in_warsaw(scale.urls)
    version = primary_version(scale.urls)
    started = time.monotonic()
    wait_until(lambda: health(scale.a)["data_version"] >= version, MAX_LAG_S,
               "the standby's change did not reach the door within the lag", every_s=0.02)
    seen_after = time.monotonic() - started
    assert health(scale.a)["public_reads"] == "standby"
    print(f"change seen through the standby after {seen_after * 1000:.0f} ms")


def test_a_lagging_standby_is_left_for_the_primary_and_taken_back(scale: Scale) -> None:
    scale.standby.pause_replay()
    try:
        publish_in_warsaw(scale.urls)
        version = primary_version(scale.urls)
        # past THREATMAP_PUBLIC_STANDBY_MAX_LAG_S (+ one check a second) the reads go to the primary
        now = wait_until(lambda: (h := health(scale.a))["public_reads"] == "primary" and h,
                         MAX_LAG_S + 5, "A kept reading a standby past the lag")
        assert now["standby_lag_s"] is None or now["standby_lag_s"] > MAX_LAG_S
        assert health(scale.a)["data_version"] >= version
        with psycopg.connect(scale.standby.url(PUBLIC_ROLE, scale.dbname)) as conn:
            behind = conn.execute("SELECT version FROM open.data_version").fetchone()[0]
        assert behind < version   # the standby itself is still behind
    finally:
        scale.standby.resume_replay()
    wait_until(lambda: health(scale.a)["public_reads"] == "standby", 10, "A never took the standby back")


def test_a_standby_that_is_down_is_left_for_the_primary(scale: Scale) -> None:
    scale.standby.stop()
    try:
        now = wait_until(lambda: (h := health(scale.a))["public_reads"] == "primary" and h, 5,
                         "A kept reading a stopped standby")
        assert now["status"] == "ok"
        publish_in_warsaw(scale.urls)
        version = primary_version(scale.urls)
        assert health(scale.b)["data_version"] >= version   # B too, without any 503
        page = gql(scale.nginx, "query { reports(first: 5) { totalCount } }")
        assert "errors" not in page, page
        assert httpx.get(f"{scale.nginx}/ogc/collections/reports/items?limit=1",
                         timeout=30).status_code == 200
    finally:
        scale.standby.start()
    wait_until(lambda: health(scale.a)["public_reads"] == "standby", 10, "A never took the standby back")
