"""Prometheus metrics (prometheus-client): requests and latency per door and status class, the
two pools, the tile cache, the privacy jobs, GraphQL subscriptions, the LISTEN connections.

Each application has a registry of its own (several apps in one process, as in the tests, do
not share counters). Request counts are kept as requests end (gateway.observe); everything else
is read when /metrics is scraped, from the objects that already count it (psycopg_pool's
get_stats, tiles.cache.TileCache, store.notify.ChannelListener), so serving requests costs
nothing more for it.

Who may read it (THREATMAP_METRICS, THREATMAP_METRICS_CLIENTS): on the service's port only
clients from loopback by default (the address after THREATMAP_TRUSTED_PROXIES, so a proxy in
front does not make the world loopback), and never a browser page of another origin (a request
carrying Origin gets 404, so the CORS `*` of the public doors does not apply); or on a port of
its own, for a private network.
"""

import ipaddress
import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from gateway.state import Runtime
from store.notify import ChannelListener
from tiles import TileService

DOORS = ("graphql", "ogc", "tiles")
# Seconds: a cached tile takes ~0.1 ms, an items page tens of ms, a timeout 5-15 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def door(path: str) -> str:
    """The door a path belongs to: graphql, ogc, tiles or other (a label of few values)."""
    for name in DOORS:
        if path.startswith(name, 1) and (len(path) == len(name) + 1 or path[len(name) + 1] == "/"):
            return name
    return "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class RequestMetrics:
    """Requests and their latency, by door and status class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("threatmap_http_requests", "HTTP requests answered, by door and "
                                "status class.", ["door", "status"], registry=registry)
        self.latency = Histogram("threatmap_http_request_duration_seconds", "Time from a request's "
                                 "arrival to the end of its answer, by door.", ["door"],
                                 buckets=LATENCY_BUCKETS, registry=registry)
        self._counters: dict[tuple[str, str], Any] = {}
        self._histograms = {name: self.latency.labels(name) for name in (*DOORS, "other")}

    def observe(self, door_name: str, status: int, seconds: float) -> None:
        key = (door_name, status_class(status))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(*key)
        counter.inc()
        self._histograms[door_name].observe(seconds)


class JobMetrics:
    """The periodic privacy jobs (gateway.maintenance): runs, and what they did."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter("threatmap_privacy_job_runs", "Runs of the publication and purge jobs, "
                            "by outcome (ok, skipped: database unavailable, failed, elsewhere: "
                            "another process ran this period).", ["outcome"],
                            registry=registry)
        self.published = Counter("threatmap_reports_published", "Reports published by the jobs "
                                 "(past the publication delay).", registry=registry)
        self.erased = Counter("threatmap_contacts_erased", "Reporters' contacts erased by the "
                              "purge (past retention).", registry=registry)
        for outcome in ("ok", "skipped", "failed", "elsewhere"):
            self.runs.labels(outcome)

    def ran(self, published: int, erased: int) -> None:
        self.runs.labels("ok").inc()
        self.published.inc(published)
        self.erased.inc(erased)


class RuntimeCollector(Collector):
    """What the running service already counts, read at each scrape."""

    def __init__(self, runtime: Callable[[], Runtime | None], tile_service: TileService) -> None:
        self.runtime = runtime
        self.tile_service = tile_service

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime()
        if runtime is not None:
            yield from _pool_metrics({"app": runtime.app_pool, "public": runtime.public_pool})
            subscriptions = GaugeMetricFamily("threatmap_graphql_subscriptions",
                                              "GraphQL subscriptions open (report events).")
            subscriptions.add_metric([], runtime.report_events.subscribers if runtime.report_events else 0)
            yield subscriptions
        yield from _listener_metrics({
            "report_events": runtime.report_events if runtime else None,
            "tiles": self.tile_service.listener})
        yield from _cache_metrics(self.tile_service)


def _pool_metrics(pools: dict[str, Any]) -> Iterator[Metric]:
    gauges = {
        "size": GaugeMetricFamily("threatmap_pool_connections", "Connections the pool holds.",
                                  labels=["pool"]),
        "max": GaugeMetricFamily("threatmap_pool_max_connections", "The pool's largest size.",
                                 labels=["pool"]),
        "in_use": GaugeMetricFamily("threatmap_pool_connections_in_use", "Connections lent out.",
                                    labels=["pool"]),
        "waiting": GaugeMetricFamily("threatmap_pool_requests_waiting",
                                     "Requests waiting for a connection.", labels=["pool"]),
    }
    timeouts = CounterMetricFamily("threatmap_pool_timeouts", "Requests that gave up waiting for "
                                   "a connection.", labels=["pool"])
    for name, pool in pools.items():
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        gauges["size"].add_metric([name], size)
        gauges["max"].add_metric([name], stats.get("pool_max", pool.max_size))
        gauges["in_use"].add_metric([name], size - stats.get("pool_available", 0))
        gauges["waiting"].add_metric([name], stats.get("requests_waiting", 0))
        timeouts.add_metric([name], stats.get("requests_errors", 0))
    yield from gauges.values()
    yield timeouts


def _listener_metrics(listeners: dict[str, ChannelListener | None]) -> Iterator[Metric]:
    connected = GaugeMetricFamily("threatmap_listener_connected", "1 while the LISTEN connection "
                                  "is up (notices are heard), 0 otherwise.", labels=["listener"])
    connections = CounterMetricFamily("threatmap_listener_connections", "Times the LISTEN "
                                      "connection was (re)made.", labels=["listener"])
    for name, listener in listeners.items():
        connected.add_metric([name], 1 if listener and listener.listening.is_set() else 0)
        connections.add_metric([name], listener.connections if listener else 0)
    yield connected
    yield connections


def _cache_metrics(service: TileService) -> Iterator[Metric]:
    cache = service.cache
    hits = CounterMetricFamily("threatmap_tile_cache_hits", "Tiles answered from the cache.")
    hits.add_metric([], cache.hits)
    misses = CounterMetricFamily("threatmap_tile_cache_misses", "Tiles looked up and not cached.")
    misses.add_metric([], cache.misses)
    evictions = CounterMetricFamily("threatmap_tile_cache_evictions", "Tiles dropped from the cache: "
                                    "their data changed, or room was needed.", labels=["reason"])
    evictions.add_metric(["change"], cache.evicted)
    evictions.add_metric(["space"], cache.pushed_out)
    size = GaugeMetricFamily("threatmap_tile_cache_bytes", "Bytes of tiles in the cache.")
    size.add_metric([], cache.bytes)
    limit = GaugeMetricFamily("threatmap_tile_cache_max_bytes", "The cache's size limit.")
    limit.add_metric([], cache.max_bytes)
    entries = GaugeMetricFamily("threatmap_tile_cache_entries", "Tiles in the cache.")
    entries.add_metric([], len(cache))
    renders = CounterMetricFamily("threatmap_tiles_rendered", "Tiles made in the database.")
    renders.add_metric([], service.renders)
    yield from (hits, misses, evictions, size, limit, entries, renders)


class Metrics:
    """The application's registry and the metrics the service updates itself."""

    def __init__(self, runtime: Callable[[], Runtime | None], tile_service: TileService) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.requests = RequestMetrics(self.registry)
        self.jobs = JobMetrics(self.registry)
        self.registry.register(RuntimeCollector(runtime, tile_service))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def endpoint(self, clients: list[str]) -> Callable[[Request], Any]:
        """GET /metrics on the service's port, for `clients` only (see the module's docstring)."""
        networks = tuple(ipaddress.ip_network(c, strict=False) for c in clients)

        async def metrics(request: Request) -> Response:
            if "origin" in request.headers or not _within(request.client.host if request.client
                                                          else None, networks):
                return PlainTextResponse("Not Found", status_code=404)
            return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST,
                            headers={"Cache-Control": "no-store"})

        return metrics

    def serve_apart(self, host: str, port: int) -> None:
        """Serves the metrics on a port of their own (prometheus-client's server, a thread)."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)

    def stop_apart(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _within(address: str | None, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
            ) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)
