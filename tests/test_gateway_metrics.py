"""Metrics (issue 11, point 12): /metrics in the Prometheus text format, read after some
traffic: requests and latency per door and status class, both pools, the tile cache, the
privacy jobs, GraphQL subscriptions, the LISTEN connections. Who may read it, and the setting
that turns it off or moves it to a port of its own."""

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import door
from gateway.settings import Settings
from tests.support import app_in_thread, eventually, free_port, gql, running_app

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics: Samples, name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def app_pool_idle(app: Any) -> bool:
    stats = app.state.runtime.app_pool.get_stats()
    return stats.get("pool_size", 0) == stats.get("pool_available", 0)


async def test_counters_move_with_traffic(settings: Settings) -> None:
    async with running_app(settings) as (http, app):
        before = await scrape(http)
        for _ in range(2):   # the second is a cache hit
            assert (await http.get("/tiles/reports/5/17/10.mvt")).status_code in (200, 204)
        await gql(http, "{ categories { id } }")
        assert (await http.get("/ogc/collections/reports/items", params={"f": "json", "limit": 1})
                ).status_code == 200
        assert (await http.get("/no/such/page")).status_code == 404
        # the privacy jobs' first run, started with the app, holds two application connections
        # while it runs (store.schedule's lock and the job's own): let it end
        await eventually(lambda: app_pool_idle(app), timeout=30)
        after = await scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("threatmap_http_requests_total", door="tiles", status="2xx") == 2
    assert moved("threatmap_http_requests_total", door="graphql", status="2xx") == 1
    assert moved("threatmap_http_requests_total", door="ogc", status="2xx") == 1
    assert moved("threatmap_http_requests_total", door="other", status="4xx") == 1
    assert moved("threatmap_http_request_duration_seconds_count", door="tiles") == 2
    assert moved("threatmap_http_request_duration_seconds_sum", door="ogc") > 0
    assert moved("threatmap_tile_cache_hits_total") == 1 and moved("threatmap_tile_cache_misses_total") >= 1
    assert value(after, "threatmap_tile_cache_bytes") > 0
    assert value(after, "threatmap_tile_cache_max_bytes") == settings.tile_cache_mb * 2**20
    for pool in ("app", "public"):
        assert value(after, "threatmap_pool_connections", pool=pool) >= 1
        assert value(after, "threatmap_pool_max_connections", pool=pool) == settings.pool_max_size
        assert value(after, "threatmap_pool_connections_in_use", pool=pool) == 0
        assert value(after, "threatmap_pool_requests_waiting", pool=pool) == 0
    for listener in ("report_events", "tiles"):
        assert value(after, "threatmap_listener_connected", listener=listener) == 1
        assert value(after, "threatmap_listener_connections_total", listener=listener) >= 1
    # the privacy jobs run at start-up, then every maintenance interval, unless another process
    # (an earlier app of this session) ran them less than an interval ago (store.schedule)
    assert (value(after, "threatmap_privacy_job_runs_total", outcome="ok")
            + value(after, "threatmap_privacy_job_runs_total", outcome="elsewhere")) >= 1
    assert ("threatmap_reports_published_total", ()) in after
    assert value(after, "threatmap_graphql_subscriptions") == 0
    assert value(after, "process_resident_memory_bytes") > 0


async def test_only_local_clients_and_no_other_origin_may_read_it(settings: Settings) -> None:
    async with running_app(settings, peer=("203.0.113.9", 4000)) as (http, _):
        assert (await http.get("/metrics")).status_code == 404
    async with running_app(settings) as (http, _):
        cross = await http.get("/metrics", headers={"Origin": "https://evil.example"})
        assert cross.status_code == 404 and "threatmap_" not in cross.text
    # behind a trusted proxy, the client it forwards counts, not the proxy
    proxied = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    async with running_app(proxied) as (http, _):
        assert (await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status_code == 404
    wider = settings.model_copy(update={"metrics_clients": ["203.0.113.0/24"]})
    async with running_app(wider, peer=("203.0.113.9", 4000)) as (http, _):
        assert (await http.get("/metrics")).status_code == 200


async def test_metrics_off(settings: Settings) -> None:
    async with running_app(settings.model_copy(update={"metrics": "off"})) as (http, app):
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/health")).status_code == 200
        assert app.state.metrics is None


async def test_metrics_on_a_port_of_their_own_with_a_subscription(settings: Settings) -> None:
    port = free_port()

    def metrics_there() -> Samples:
        return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)

    with app_in_thread(settings.model_copy(update={"metrics": str(port)})) as url:
        assert httpx.get(f"{url}/metrics").status_code == 404   # not on the service's port
        async with websockets.connect(f"ws{url.removeprefix('http')}/graphql",
                                      subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { reportEvents { kind } }"}}))

            async def subscribed() -> bool:
                found = await asyncio.to_thread(metrics_there)
                return value(found, "threatmap_graphql_subscriptions") == 1

            assert await eventually(subscribed, timeout=10)
        httpx.get(f"{url}/health")
        assert value(metrics_there(), "threatmap_http_requests_total", door="other", status="2xx") >= 1
    with pytest.raises(httpx.TransportError):   # stopped with the service
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_doors_of_paths() -> None:
    assert [door(p) for p in ("/graphql", "/graphql/schema.graphql", "/ogc", "/ogc/collections",
                              "/tiles/reports.json", "/", "/graphqlx", "/tilesets", "/metrics")] == \
        ["graphql", "graphql", "ogc", "ogc", "tiles", "other", "other", "other", "other"]


@pytest.mark.parametrize("bad", ["yes", "0", "70000", "-1"])
def test_a_bad_metrics_setting_stops_the_start(bad: str) -> None:
    with pytest.raises(ValueError, match="THREATMAP_METRICS"):
        Settings(metrics=bad)
