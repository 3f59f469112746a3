"""The composition root: one Starlette application with every door mounted in it."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

import downloads.http
import tiles
from catalog.graph import Publisher as CatalogPublisher
from catalog.http import CatalogConfig, CatalogService
from downloads.snapshot import SnapshotWriter
from gateway import i18n
from gateway.body_timeout import BodyTimeout
from gateway.citizen import CitizenPages, citizen_routes
from gateway.citizen.pages import Basemap
from gateway.forwarded import ForwardedHeaders, PublicRedirects
from gateway.graphql.app import graphql_app, schema_endpoint
from gateway.health import health
from gateway.maintenance import (
    POOL_RECONNECT_TIMEOUT_S,
    SnapshotJob,
    connection_alive,
    pools_checked_forever,
    privacy_jobs_forever,
    webhooks_forever,
)
from gateway.metrics import Metrics
from gateway.observe import Observe
from gateway.oidc import OidcVerifier
from gateway.open311.door import Open311Config, Open311Door
from gateway.partner_auth import PartnerAuth
from gateway.partner_bulk import bulk_reports
from gateway.photos import PhotoDesk, photo_limits, photo_storage
from gateway.public_reads import StandbyReads
from gateway.secret import check_jwt_secret
from gateway.security_headers import (
    HtmlPolicies,
    SecurityHeaders,
    graphiql_policy,
    map_policy,
    ogc_policy,
)
from gateway.settings import PROJECT_ROOT, Settings
from gateway.shutdown import cancel_task, stop_in_order
from gateway.staff import StaffPages, staff_routes
from gateway.staff_auth.pages import StaffAuthPages, staff_auth_routes
from gateway.staff_export import staff_export
from gateway.staff_photos import staff_photo
from gateway.state import Runtime
from gateway.urls import allowed_hosts, public_base
from gateway.watchdog import ClusterWatchdog
from gateway.webhooks import Backoff, Deliverer, UrlPolicy
from ogc.config import Publisher, image_origins
from ogc.service import OgcService
from store.channels import REPORT_EVENTS, STAFF_EVENTS
from store.locations import DatabaseUrls, ManagedDatabase, external_urls
from store.notify import ChannelListener
from store.setup import prepare_database

log = logging.getLogger(__name__)


Endpoint = Callable[[Request], Awaitable[Response]]


def api_index(base_url: Callable[[Request], str]) -> Endpoint:
    """GET /api: the link list, links starting at the public base URL (gateway.urls)."""
    async def links(request: Request) -> Response:
        base = base_url(request)
        return JSONResponse({
            "service": "threatmap",
            "description": "Public-safety threat map: citizen reports verified by the police, "
                           "published anonymized.",
            "links": {"health": f"{base}/health", "graphql": f"{base}/graphql", "map": f"{base}/",
                      "tilejson": f"{base}/tiles/reports.json", "style": f"{base}/tiles/style.json",
                      "ogc_tiles": f"{base}/ogc/collections/reports/tiles"},
        })

    return links


def index(api: Endpoint, map_page: Endpoint) -> Endpoint:
    """GET /: the citizen map for browsers; the JSON link list for clients that ask for JSON."""
    async def page(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return await api(request)
        return await map_page(request)

    return page


def _pool(url: str, settings: Settings, name: str) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        url, name=name, min_size=1, max_size=settings.pool_max_size, open=False,
        # A request waits at most this long for a connection: with the database down the
        # client gets its 503 / UNAVAILABLE in seconds, not after psycopg_pool's default 30 s.
        timeout=settings.pool_timeout_s,
        # psycopg_pool's backoff would leave the next try long after an outage ends (see it).
        reconnect_timeout=POOL_RECONNECT_TIMEOUT_S,
        check=connection_alive,
        kwargs=connection_options(settings, name),
    )


def connection_options(settings: Settings, name: str) -> dict[str, object]:
    """What every pool connection is opened with. The server ends a transaction left idle in it
    for idle_in_transaction_timeout_s: a task cancelled or stalled between its statement and its
    COMMIT (a webhook claim, the privacy jobs) cannot hold row locks that block everyone else
    (deleting a report waits on its webhook events) for as long as the connection lives."""
    idle_ms = int(settings.idle_in_transaction_timeout_s * 1000)
    return {"connect_timeout": 5, "application_name": f"threatmap-{name}",
            "options": f"-c idle_in_transaction_session_timeout={idle_ms}"}


def reads_standby(settings: Settings) -> bool:
    """Whether the public reads come from a streaming standby (gateway.public_reads)."""
    return bool(settings.database_url and settings.public_database_url
                and settings.public_standby_max_lag_s is not None)


def _public_pool(urls: DatabaseUrls, settings: Settings) -> AsyncConnectionPool:
    """The public pool; on a standby, with the primary's public role behind it."""
    if urls.public_primary is None or settings.public_standby_max_lag_s is None:
        return _pool(urls.public, settings, "public")
    fallback = _pool(urls.public_primary, settings, "public-primary")
    return StandbyReads(
        urls.public, fallback=fallback, max_lag_s=settings.public_standby_max_lag_s, name="public",
        min_size=1, max_size=settings.pool_max_size, open=False, timeout=settings.pool_timeout_s,
        check=connection_alive,
        kwargs=connection_options(settings, "public"))


def lifespan(settings: Settings, ogc: OgcService, tile_service: tiles.TileService, photos: PhotoDesk,
             metrics: Metrics | None, catalog: CatalogService):
    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        managed = None
        if settings.database_url:
            urls = external_urls(settings.database_url, settings.public_database_url,
                                 settings.public_primary_url, standby=reads_standby(settings))
        else:
            managed = ManagedDatabase(settings.data_dir, settings.database_name)
            urls = await asyncio.to_thread(managed.start)
        try:
            await asyncio.to_thread(prepare_database, urls, settings.config_dir,
                                    settings.demo_on_first_start)
            runtime = Runtime(settings, urls, _pool(urls.app, settings, "app"),
                              _public_pool(urls, settings), managed,
                              # one LISTEN connection (public role, on the primary) for every
                              # subscription
                              report_events=ChannelListener(urls.listen, REPORT_EVENTS),
                              # and one (application role) for the officers' live work list
                              staff_events=ChannelListener(urls.app, STAFF_EVENTS,
                                                           application_name="threatmap-staff-listener"),
                              photos=photos)
            await runtime.app_pool.open(wait=True, timeout=30)
            await runtime.public_pool.open(wait=True, timeout=30)
            await runtime.report_events.start()
            await runtime.staff_events.start()
            app.state.runtime = runtime
            await ogc.start(runtime.public_pool)
            await tile_service.start(runtime.public_pool, urls.listen)
            await catalog.start(runtime.public_pool)
            jobs = asyncio.create_task(privacy_jobs_forever(
                runtime.app_pool, settings.maintenance_interval_s, photos.storage,
                metrics.jobs if metrics else None))
            if metrics and settings.metrics_port:
                metrics.serve_apart(settings.host, settings.metrics_port)
            pool_checks = asyncio.create_task(
                pools_checked_forever([runtime.app_pool, runtime.public_pool]))
            webhooks = (asyncio.create_task(webhooks_forever(
                webhook_deliverer(settings, runtime.app_pool), settings.webhook_interval_s))
                if settings.webhook_delivery else None)
            snapshots = snapshot_job(settings, urls.public, runtime.app_pool)
            watchdog = None
            if managed and managed.cluster.started_here:
                watchdog = ClusterWatchdog(managed, settings.cluster_watchdog_s)
                watchdog.start()
            try:
                yield
            finally:
                if metrics:
                    metrics.stop_apart()
                await stop_in_order([
                    *([("the cluster watchdog", watchdog.stop())] if watchdog else []),
                    ("the OGC service", ogc.stop()),
                    ("the tile change listener", tile_service.stop()),
                    ("the report event listener", runtime.report_events.stop()),
                    ("the staff event listener", runtime.staff_events.stop()),
                    ("the privacy jobs", cancel_task(jobs)),
                    ("the pool checks", cancel_task(pool_checks)),
                    *([("the webhook deliverer", cancel_task(webhooks))] if webhooks else []),
                    *([("the snapshot job", snapshots.stop())] if snapshots else []),
                    ("the public pool", runtime.public_pool.close()),
                    ("the application pool", runtime.app_pool.close()),
                ])
        finally:
            if managed:
                await asyncio.to_thread(managed.stop)

    return run


def webhook_deliverer(settings: Settings, pool: AsyncConnectionPool) -> Deliverer:
    """The partners' webhooks (gateway.webhooks), sent from the outbox by the maintenance loop."""
    return Deliverer(pool, UrlPolicy(settings.webhook_allow_http, settings.webhook_allow_private),
                     Backoff(settings.webhook_backoff_base_s, settings.webhook_backoff_max_s,
                             settings.webhook_retry_h * 3600),
                     timeout_s=settings.webhook_timeout_s)


def snapshot_job(settings: Settings, public_url: str,
                 schedule: AsyncConnectionPool | None = None) -> "SnapshotJob | None":
    """The open-data snapshots (downloads.snapshot), written as the public role, when enabled."""
    if not settings.downloads_enabled:
        return None
    writer = SnapshotWriter(public_url, settings.data_dir, settings.config_dir)
    job = SnapshotJob(writer, settings.downloads_check_interval_s,
                      timedelta(hours=settings.downloads_latest_every_h),
                      settings.downloads_month_closed_days, schedule)
    job.start()
    return job


def basemap(settings: Settings) -> Basemap:
    return Basemap(style_url=settings.map_basemap_style_url, raster_url=settings.map_basemap_raster_url,
                   attribution=settings.map_basemap_attribution)


def _origin(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute URL (a template's {z} lies in its path)."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def html_policies(ogc_config: Path, settings: Settings | None = None) -> HtmlPolicies:
    """The Content-Security-Policy of each HTML page (gateway.security_headers)."""
    remote = [] if settings is None else [
        origin for origin in (_origin(settings.map_basemap_style_url),
                              _origin(settings.map_basemap_raster_url)) if origin]
    return HtmlPolicies(default=map_policy(remote), by_prefix=[
        ("/graphql", graphiql_policy()),
        ("/ogc", ogc_policy(image_origins(ogc_config))),
    ])


# Request headers a page on another origin may send: the GraphQL bearer token, conditional tile
# requests (Content-Type, Accept... are safelisted by Starlette), byte ranges of downloads (a
# PMTiles reader on another origin). Headers it may read back.
# GraphQL-Require-Preflight: the CSRF header of file uploads (gateway.graphql.multipart).
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-None-Match", "GraphQL-Require-Preflight",
                        "Apollo-Require-Preflight", "Range", "If-Range", "X-Api-Key"]
CORS_EXPOSED_HEADERS = ["ETag", "Retry-After", "Content-Crs", "Link", "X-Request-ID", "Content-Range",
                        "Accept-Ranges", "Content-Length", "Last-Modified"]


def cors(settings: Settings) -> Middleware:
    """CORS on every door (THREATMAP_CORS_ORIGINS): preflights are answered here, before the
    routes (which would answer OPTIONS with 405). Never credentials: no cookies are used, a
    GraphQL client sends its token in Authorization. Cached tiles are answered before this by
    tiles.shortcut, always with `*` (tiles.reply), as are the tile endpoints: the same public
    bytes for every origin."""
    return Middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                      allow_methods=["GET", "HEAD", "POST"], allow_headers=CORS_REQUEST_HEADERS,
                      expose_headers=CORS_EXPOSED_HEADERS, allow_credentials=False, max_age=600)


def create_app(settings: Settings | None = None) -> Starlette:
    """The application; every setting is checked here, before anything is served."""
    settings = settings.checked() if settings else Settings()
    check_jwt_secret(settings)
    graphql = graphql_app(settings)
    ogc_config = PROJECT_ROOT / "pygeoapi-config.yml"
    base_url = functools.partial(public_base, settings)
    ogc = OgcService(ogc_config, public_base(settings),
                     Publisher(settings.publisher_name, settings.contact_email, settings.data_licence_name,
                               settings.data_licence_url),
                     functools.partial(i18n.translations, "ogc"), request_base=base_url,
                     items_in_database=settings.ogc_items_in_database,
                     items_before_pygeoapi=settings.ogc_items_before_pygeoapi)
    tile_service = tiles.TileService(settings.config_dir, tiles.TileConfig(
        cache_bytes=settings.tile_cache_mb * 2**20, max_age_s=settings.tile_max_age_s))
    photos = PhotoDesk(photo_storage(settings), photo_limits(settings))
    links = api_index(base_url)
    metrics = (Metrics(lambda: getattr(app.state, "runtime", None), tile_service)
               if settings.metrics != "off" else None)
    metrics_route = ([Route("/metrics", metrics.endpoint(settings.metrics_clients))]
                     if metrics and settings.metrics == "on" else [])
    catalog = CatalogService(CatalogConfig(
        settings.data_dir, CatalogPublisher(settings.publisher_name, settings.publisher_uri,
                                     settings.contact_email), settings.feed_entries), base_url)
    citizen = CitizenPages(settings.config_dir, basemap(settings), settings.report_max_age_days,
                           settings.photo_max_count, settings.photo_max_bytes)
    open311 = Open311Door(Open311Config(settings.publisher_name, settings.contact_email,
                                        settings.tracking_secret or settings.jwt_secret),
                          lambda: app.state.runtime, base_url)
    oidc = (OidcVerifier(settings.oidc_discovery_url, settings.oidc_client_id, settings.oidc_role_claim,
                         settings.oidc_unit_claim)
            if settings.oidc_discovery_url and settings.oidc_client_id else None)
    app = Starlette(
        routes=[
            # OGC API first: no other route matches a path under /ogc, and the routes are tried
            # in order, so an OGC request (a map panning sends many) matched here is spared the
            # 30 others' patterns (5 % of a small items page's CPU, cProfile). OGC API Tiles paths
            # of the same tile engine: listed before the /ogc mount.
            *tiles.ogc_routes(tile_service, base_url),
            Mount("/ogc", routes=ogc.routes()),
            Route("/", index(links, citizen.map_page)),
            *citizen_routes(citizen),
            Route("/api", links),
            Route("/health", health),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphql/schema.graphql", schema_endpoint(settings)),
            WebSocketRoute("/graphql", graphql),
            # Photos of reports, for staff tokens only (issue 12, point 5; docs/photos.md)
            Route("/staff/photos/{photo_id:uuid}", staff_photo(settings.jwt_secret), methods=["GET", "HEAD"]),
            # The work list as CSV, for officers and analysts (issue 13, point 9)
            Route("/staff/export.csv",
                  staff_export(settings.jwt_secret, oidc, settings.staff_export_max_rows)),
            # Sign-in: developer (loopback only) and OpenID Connect with PKCE (issue 13, point 6)
            *staff_auth_routes(StaffAuthPages(settings, oidc)),
            # The officers' workbench: the work list and a report's page (issue 13, points 7-8, 10)
            *staff_routes(StaffPages(settings.config_dir)),
            # Browser files of GraphiQL and the OGC pages, vendored from npm (no CDN).
            Mount("/static", StaticFiles(directory=Path(__file__).with_name("static"))),
            Mount("/tiles/static", tiles.static_files()),
            Mount("/tiles", routes=tiles.routes(tile_service, base_url)),
            *metrics_route,
            *downloads.http.routes(settings.data_dir, base_url),
            # The open-data catalogue (DCAT-AP) and the Atom feeds (issue 14).
            *catalog.routes(),
            # Open311 GeoReport v2 for partners and city platforms (issue 15, point 6).
            Mount("/open311/v2", routes=open311.routes()),
            # Partners' bulk ingest (issue 15, point 7)
            Route("/partners/v1/reports", bulk_reports(settings), methods=["POST"]),
        ],
        # The scheme, host and client a trusted proxy forwards replace the request's own
        # (gateway.forwarded); every request gets an id, an access line and its metrics, and an
        # unexpected exception its log line and a 500 (gateway.observe); cached tiles are
        # answered before anything else (tiles.shortcut: GET, no body read, no link written,
        # `nosniff` from tiles.reply); then the security headers are added to every other
        # answer; a Host that is not allowed gets 400 (links follow Host when
        # THREATMAP_PUBLIC_URL is unset: gateway.urls); redirects to the public URL when it is
        # set; CORS (preflights answered); a trickled body gets 408.
        middleware=[*([Middleware(ForwardedHeaders, trusted_proxies=settings.trusted_proxies)]
                      if settings.trusted_proxies else []),
                    Middleware(Observe, metrics=metrics.requests if metrics else None),
                    Middleware(tiles.CachedTileShortcut, service=tile_service),
                    Middleware(SecurityHeaders, policies=html_policies(ogc_config, settings)),
                    Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings),
                               www_redirect=False),
                    *([Middleware(PublicRedirects, public_url=settings.public_url)]
                      if settings.public_url else []),
                    cors(settings),
                    Middleware(BodyTimeout, timeout_s=settings.body_timeout_s,
                               multipart_timeout_s=settings.photo_upload_timeout_s)],
        lifespan=lifespan(settings, ogc, tile_service, photos, metrics, catalog),
    )
    app.state.tile_service = tile_service
    app.state.ogc = ogc
    app.state.partner_auth = PartnerAuth(settings.partner_rate_limit, settings.rate_limit_storage)
    app.state.metrics = metrics
    return app
