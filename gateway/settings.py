"""The service's settings: one typed object, read from the environment (prefix THREATMAP_).

Every value is checked here, when the settings are made (and again by `create_app`, for settings
copied with `model_copy`, which skips validation): a bad value stops the start with a message
naming the variable, instead of becoming an internal error on the first request that uses it.
"""

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

import psycopg
from limits import parse_many
from limits.storage import SCHEMES as RATE_LIMIT_SCHEMES
from psycopg.conninfo import conninfo_to_dict
from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ogc.config import Publisher

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Never used to sign anything off loopback: see gateway/secret.py (issue 10, point 1).
DEFAULT_JWT_SECRET = "change-me-local-development-only"
HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?")   # a DNS name or an IPv4 address


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREATMAP_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "THREATMAP_DATABASE_URL"),
        description="An existing PostGIS database (owner role). Unset: a managed local cluster.",
    )
    public_database_url: str | None = Field(
        default=None,
        description="Connection for the public read-only role; derived from database_url if unset.",
    )
    # Growing beyond one machine (issue 16): public reads from a streaming standby
    public_standby_max_lag_s: float | None = Field(
        default=None, gt=0,
        description="Set when public_database_url names a streaming standby: the longest replay lag "
                    "public reads accept; past it, or with the standby down, they go to the primary's "
                    "public role (public_primary_url). Unset: public_database_url is read as it is.")
    public_primary_url: str | None = Field(
        default=None,
        description="The public role on the primary: LISTEN for changes (a standby gets no "
                    "notifications) and the reads while the standby lags; derived from database_url "
                    "if unset.")
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".threatmap",
        description="Folder of the managed cluster (without database_url) and the generated staff "
                    "token key.")
    database_name: str = Field(default="threatmap",
                               description="Database name in the managed cluster.")
    config_dir: Path = Field(
        default=PROJECT_ROOT / "config",
        description="Folder of the catalogue, the privacy policy and the boundaries.")
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "THREATMAP_HOST"),
                      description="Address `threatmap serve` listens on.")
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "THREATMAP_PORT"),
                      description="Port `threatmap serve` listens on.")
    public_url: str | None = Field(
        default=None, description="The URL clients reach the service at (links in OGC, TileJSON)."
    )
    allowed_hosts: list[str] = Field(
        default=[], description="Host names requests may carry besides the default ones (the "
                                "listening host, localhost, 127.0.0.1, public_url's host): a JSON "
                                "list; \"*.example.org\" matches subdomains, [\"*\"] any host.")
    cors_origins: list[str] = Field(
        default=["*"], description="Origins whose browser pages may call /ogc, /graphql and /tiles "
                                   "(CORS): a JSON list such as [\"https://portal.example.org\"]; "
                                   "[\"*\"] any origin (no cookies are used: no credentials).")
    pool_max_size: int = Field(default=10, ge=1, description="Connections in each database pool.")
    pool_timeout_s: float = Field(default=5.0, gt=0, description="Longest wait for a database connection.")
    idle_in_transaction_timeout_s: float = Field(
        default=60.0, gt=0,
        description="The database ends a pool connection's transaction left idle this long "
                    "(a stalled or leaked one), so its locks never block others for good.")
    maintenance_interval_s: float = Field(
        default=60.0, gt=0, description="How often the server publishes due reports and purges."
    )
    demo_on_first_start: int = Field(
        default=0, ge=0, description="Synthetic reports to load when the database has none."
    )
    jwt_secret: str = Field(
        default=DEFAULT_JWT_SECRET, min_length=16,
        description="HS256 key of staff tokens, 32+ bytes. Unset: a random key kept in data_dir.")
    # Sign-in through the police identity provider (OpenID Connect, issue 13)
    oidc_discovery_url: str | None = Field(
        default=None, description="The provider's .well-known/openid-configuration URL; unset: "
        "only tokens this service mints (threatmap token, the developer sign-in) are accepted.")
    oidc_client_id: str | None = Field(
        default=None, validate_default=True,
        description="Our client id at the provider: tokens must name it in `aud`.")
    oidc_role_claim: str = Field(default="threatmap_role",
                                 description="Claim holding the role (officer, analyst, admin).")
    oidc_unit_claim: str = Field(default="threatmap_unit",
                                 description="Claim holding an officer's police unit id.")
    # The officers' door (issue 13, points 6 and 9): the developer sign-in, the CSV export
    dev_sign_in: bool = Field(
        default=True, description="The developer sign-in at /staff/sign-in (a token for any role "
        "and unit): offered only while the server listens on loopback, with no trusted proxies "
        "and no public_url off loopback; false: never.")
    staff_export_max_rows: int = Field(
        default=100_000, ge=1, le=1_000_000,
        description="Most rows of one CSV export of the work list (/staff/export.csv); more: 422.")
    # Hardening (issue 10): slow clients, a bounded shutdown, the managed cluster's watchdog
    head_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest time to receive a request's line and headers.")
    body_timeout_s: float = Field(default=15.0, gt=0,
                                  description="Longest time to receive a request body (then 408).")
    shutdown_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for open requests on SIGTERM (then cut).")
    max_connections: int = Field(default=2048, ge=1,
                                 description="Concurrent connections and requests (then 503).")
    cluster_watchdog_s: float = Field(
        default=1.0, gt=0, description="How often the managed cluster is checked (and restarted).")
    # GraphQL door (issue 4)
    graphql_introspection: bool = Field(default=True, description="Schema introspection on /graphql.")
    graphql_max_body_bytes: int = Field(
        default=65_536, gt=0, description="Larger HTTP bodies get 413; a larger WebSocket message "
                                          "closes its connection (1009).")
    graphql_max_depth: int = Field(default=10, ge=2, description="Deepest selection of a document.")
    graphql_max_aliases: int = Field(default=30, ge=1, description="Aliases in one document.")
    graphql_max_tokens: int = Field(default=3000, ge=100, description="Tokens in one document.")
    # WebSocket limits and fairness (issue 10, points 3 and 5)
    graphql_max_list_items: int = Field(
        default=100, ge=1, description="Items of any list argument (filters); more: BAD_USER_INPUT.")
    graphql_large_document_bytes: int = Field(
        default=1024, ge=0, description="Documents this long are parsed and validated on a worker "
                                        "thread, off the event loop (0: all on the loop).")
    graphql_large_documents_per_client: int = Field(
        default=4, ge=0, description="Large documents one client may have in parsing at once; "
                                     "the next wait, past 16 times as many RATE_LIMITED (0: no bound).")
    graphql_persisted_queries: int = Field(
        default=1000, ge=0, le=100_000,
        description="Automatic persisted queries kept in memory (least recently used dropped; "
                    "each replica keeps its own); 0 turns APQ off.")
    persisted_queries_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: automatic persisted queries shared by every process in "
                    "Redis (kept graphql_persisted_queries_ttl_s after their last use); unset: each "
                    "process keeps its own in memory.")
    graphql_persisted_queries_ttl_s: int = Field(
        default=30 * 86400, ge=60,
        description="How long Redis keeps a persisted query after its last use (persisted_queries_url).")
    submit_rate_limit: str = Field(
        default="1/day", description="New reports (submitReport) per client, limits syntax; "
                                     "KMZB's rule is one report per address a day.")
    tracking_rate_limit: str = Field(
        default="30/minute",
        description="Calls with a tracking token (reportByToken, addReportInformation) per client.")
    tracking_secret: str | None = Field(
        default=None,
        description="Key that tracking tokens are derived from (HMAC); unset: from jwt_secret.")
    partner_rate_limit: str = Field(
        default="600/minute",
        description="Requests per partner API key (Open311, bulk ingest), limits syntax.")
    rate_limit_storage: str = Field(default="async+memory://",
                                    description="limits storage URI (async+redis://... for replicas).")
    trusted_proxies: list[str] = Field(
        default=[], description="Peer addresses whose X-Forwarded-For is believed (JSON list).")
    report_max_age_days: int = Field(default=30, ge=1, description="Oldest occurredAt accepted.")
    # Operations (issue 11, points 11 and 12): logs and metrics
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="Log lines as JSON objects (one a line, for journald, Loki, "
                                    "ELK) or as text; auto: text on a terminal, JSON otherwise.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log lines written (INFO: one access line a request).")
    metrics: str = Field(
        default="on", description="Prometheus metrics: on (GET /metrics on the service's port, to "
                                  "metrics_clients only), off, or a port number (served there, on "
                                  "the service's host, to anyone who reaches that port).")
    metrics_clients: list[str] = Field(
        default=["127.0.0.0/8", "::1"],
        description="Client addresses (after trusted_proxies) that may read /metrics on the "
                    "service's port: a JSON list of IP addresses or networks.")
    # Vector tiles (issue 6)
    tile_cache_mb: int = Field(default=64, ge=0, description="In-process tile cache; 0 disables it.")
    tile_max_age_s: int = Field(default=60, ge=0, description="Cache-Control max-age of tiles.")
    # The citizen map at / (issue 12): the base map under the reports
    map_basemap_style_url: str | None = Field(
        default=None, description="A MapLibre style URL for the base map (e.g. an OpenStreetMap-based "
                                  "style); unset: the offline map of the shipped boundaries.")
    map_basemap_raster_url: str | None = Field(
        default=None, description="A raster XYZ tile template ({z}/{x}/{y}) for the base map, e.g. "
                                  "a Geoportal WMTS in XYZ form; used when no style URL is set.")
    map_basemap_attribution: str = Field(
        default="", description="The base map's attribution (shown on the map) when a URL is set.")
    # Photos sent with a report (issue 12, point 5; docs/photos.md)
    photo_storage: Literal["files", "s3"] = Field(
        default="files", description="Where photo bytes are kept: files (under photo_dir) or s3 "
                                     "(an S3-compatible object store: the photo_s3_* settings).")
    photo_dir: Path | None = Field(default=None,
                                   description="Folder of the files storage; unset: data_dir/photos.")
    photo_max_count: int = Field(default=3, ge=0, le=10, description="Photos per report (0: none).")
    photo_max_bytes: int = Field(default=5 * 2**20, ge=1024, le=50 * 2**20,
                                 description="Bytes per photo as sent (KMZB: 5 MB).")
    photo_max_pixels: int = Field(
        default=40_000_000, ge=10_000, le=150_000_000,
        description="Pixels per photo (width x height), checked before decoding (decompression bombs).")
    photo_max_side_px: int = Field(default=4096, ge=64, le=20_000,
                                   description="Longest side kept; larger photos are scaled down.")
    photo_rate_limit: str = Field(
        default="20/hour", description="Reports with photos per client, counted before the photos "
                                       "are decoded (refused ones too: decoding costs CPU), limits "
                                       "syntax; submit_rate_limit counts stored reports.")
    photo_upload_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest time to receive a multipart body (a report with "
                                         "photos, up to 16 MB from a phone); other bodies: "
                                         "body_timeout_s.")
    photo_s3_bucket: str | None = Field(default=None, description="The bucket (s3 storage); not public.")
    photo_s3_endpoint_url: str | None = Field(
        default=None, description="The S3-compatible endpoint (MinIO, Ceph, Garage...); unset: AWS.")
    photo_s3_region: str | None = Field(default=None, description="The bucket's region.")
    photo_s3_prefix: str = Field(default="photos/", description="Key prefix of the objects.")
    photo_s3_access_key_id: str | None = Field(
        default=None, description="S3 credentials; unset: boto3's chain (AWS_* variables, roles).")
    photo_s3_secret_access_key: str | None = Field(default=None, description="See photo_s3_access_key_id.")
    # The open data's publisher, on the OGC pages and in their metadata (issue 11, point 10)
    publisher_name: str = Field(default=Publisher.name, min_length=1,
                                description="Who publishes the open data (OGC pages, metadata).")
    contact_email: str = Field(default=Publisher.email, pattern=r"^[^@\s]+@[^@\s]+$",
                               description="Where users of the open data write (OGC pages, metadata).")
    data_licence_name: str = Field(default=Publisher.licence_name, min_length=1,
                                   description="The published data's licence, as named on the pages.")
    data_licence_url: str = Field(default=Publisher.licence_url, pattern=r"^https?://\S+$",
                                  description="The published data's licence (an http(s) URL).")
    ogc_items_in_database: bool = Field(
        default=True, description="Whether OGC GeoJSON items pages are written by PostgreSQL "
                                  "(json_build_object, one text a page) rather than feature by feature "
                                  "in Python by pygeoapi; the same JSON either way (issue 16, point 3).")
    ogc_items_before_pygeoapi: bool = Field(
        default=True, description="Whether the common GeoJSON items request (f, limit, offset, bbox, "
                                  "?property=value) is answered on the event loop before pygeoapi "
                                  "(ogc/fast_items.py); the same answer either way. Needs "
                                  "ogc_items_in_database.")
    # Open-data downloads (issue 14): snapshots under data_dir/downloads, served at /downloads
    downloads_enabled: bool = Field(
        default=True, description="Whether the server writes the open-data snapshots itself (the "
                                  "latest daily, each closed month once); `threatmap export` "
                                  "writes them on demand either way.")
    downloads_check_interval_s: float = Field(
        default=900.0, gt=0, description="How often the server checks whether a snapshot is due "
                                         "(the first check this long after the start).")
    downloads_latest_every_h: float = Field(
        default=24.0, gt=0, description="Age at which the latest snapshot is written again.")
    downloads_month_closed_days: int = Field(
        default=62, ge=0, description="Days after a month's end when its archive is written (and "
                                      "then never changed): reports may be submitted 30 days "
                                      "late and published up to a month after that.")
    # The open-data catalogue and feeds (issue 14)
    publisher_uri: str | None = Field(
        default=None, description="The publisher's IRI in the catalogue (e.g. its entry in a "
                                  "register); unset: an IRI under /catalog.")
    feed_entries: int = Field(default=50, ge=1, le=500,
                              description="Newest reports an Atom feed lists.")
    # Partners' bulk ingest and webhooks (issue 15, points 7 and 8; README "Bulk ingest", "Webhooks")
    partner_bulk_max_items: int = Field(
        default=10_000, ge=1, le=100_000,
        description="Reports in one POST /partners/v1/reports; more: 413 (nothing written).")
    partner_bulk_max_bytes: int = Field(
        default=48 * 2**20, ge=1024,
        description="Largest bulk body, after gzip decoding; larger: 413 (nothing written).")
    partner_bulk_rate_limit: str = Field(
        default="100000/hour",
        description="Reports (items, not requests) a partner may send through the bulk door, "
                    "limits syntax; a batch past it gets 429 and nothing is written.")
    webhook_delivery: bool = Field(
        default=True, description="Whether this process sends partners' webhooks from the outbox; "
                                  "off, other processes of the deployment do (they share the work).")
    webhook_interval_s: float = Field(
        default=2.0, gt=0, description="How often the deliverer looks for due webhook events.")
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Time for one webhook POST (connect and answer).")
    webhook_backoff_base_s: float = Field(
        default=30.0, gt=0, description="Wait after a webhook's first failed attempt; doubled at "
                                        "each next one (with jitter), up to webhook_backoff_max_s.")
    webhook_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="Longest wait between two attempts of one event.")
    webhook_retry_h: float = Field(
        default=24.0, gt=0, description="An event still undelivered this long after its change is "
                                        "marked failed (after its next failed attempt).")
    webhook_allow_http: bool = Field(
        default=False, description="Accept http:// webhook URLs (tests, a local receiver); "
                                   "production partners need https.")
    webhook_allow_private: bool = Field(
        default=False, description="Accept webhook URLs on loopback or private addresses (tests); "
                                   "off, such targets are refused (SSRF).")

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError("PORT must be between 1 and 65535")
        return port

    @field_validator("database_url", "public_database_url", "public_primary_url")
    @classmethod
    def _conninfo(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is not None:
            try:
                conninfo_to_dict(url)
            except psycopg.ProgrammingError as error:
                raise ValueError(f"{_variable(info)} is not a PostgreSQL connection string or URL: "
                                 f"{error}") from None
        return url

    @field_validator("public_url", "photo_s3_endpoint_url")
    @classmethod
    def _http_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"{_variable(info)} must be an http(s) URL such as "
                             f"https://map.example.org, got {url!r}")
        return url.rstrip("/")

    @field_validator("oidc_discovery_url")
    @classmethod
    def _discovery_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{_variable(info)} must be the http(s) URL of the provider's "
                             f"discovery document (.well-known/openid-configuration), got {url!r}")
        return url

    @field_validator("oidc_client_id")
    @classmethod
    def _client_id_with_provider(cls, client_id: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("oidc_discovery_url") and not client_id:
            raise ValueError("THREATMAP_OIDC_CLIENT_ID must be set with THREATMAP_OIDC_DISCOVERY_URL "
                             "(tokens are checked to be issued for it)")
        return client_id

    @field_validator("publisher_uri")
    @classmethod
    def _absolute_iri(cls, uri: str | None, info: ValidationInfo) -> str | None:
        if uri is not None:
            parts = urlsplit(uri)
            unsafe = any(c in uri for c in " <>\"{}|\\^`")
            if parts.scheme not in ("http", "https") or not parts.netloc or unsafe:
                raise ValueError(f"{_variable(info)} must be an absolute http(s) IRI, got {uri!r}")
        return uri

    @field_validator("contact_email")
    @classmethod
    def _email(cls, email: str, info: ValidationInfo) -> str:
        if not re.fullmatch(r"[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", email):
            raise ValueError(f"{_variable(info)} must be an e-mail address, got {email!r}")
        return email

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, hosts: list[str], info: ValidationInfo) -> list[str]:
        for host in hosts:
            name = host.removeprefix("*.") if host != "*" else "x"
            if not HOST_NAME.fullmatch(name):
                raise ValueError(f"{_variable(info)} must list host names without scheme or port "
                                 f"(a JSON list such as [\"map.example.org\", \"*.example.org\"]), "
                                 f"got {host!r}")
        return hosts

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str], info: ValidationInfo) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc
                                  or origin != f"{parts.scheme}://{parts.netloc}"):
                raise ValueError(f"{_variable(info)} must list origins (scheme://host[:port], no "
                                 f"path or trailing slash) or \"*\", as a JSON list, got {origin!r}")
        return origins

    @field_validator("submit_rate_limit", "tracking_rate_limit", "photo_rate_limit", "partner_rate_limit",
                     "partner_bulk_rate_limit")
    @classmethod
    def _one_rate_limit(cls, text: str, info: ValidationInfo) -> str:
        try:
            limits = parse_many(text)
        except ValueError:
            limits = []
        if len(limits) != 1:
            raise ValueError(f"{_variable(info)} must be one rate limit in the limits syntax, "
                             f"such as '20/hour' or '5 per minute', got {text!r}")
        return text

    @field_validator("tracking_secret")
    @classmethod
    def _long_secret(cls, secret: str | None, info: ValidationInfo) -> str | None:
        if secret is not None and len(secret.encode()) < 32:   # never echoed: it is a secret
            raise ValueError(f"{_variable(info)} must be at least 32 bytes long (e.g. "
                             "`openssl rand -base64 48`), or unset")
        return secret

    @field_validator("rate_limit_storage")
    @classmethod
    def _async_storage(cls, uri: str, info: ValidationInfo) -> str:
        scheme = urlsplit(uri).scheme
        if scheme not in RATE_LIMIT_SCHEMES or not scheme.startswith("async+"):
            raise ValueError(f"{_variable(info)} must be an asynchronous limits storage URI, such "
                             f"as async+memory:// or async+redis://host:6379, got {uri!r}")
        return uri

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().lower()
        if value in ("on", "off") or (value.isdigit() and 0 < int(value) < 65536):
            return value
        raise ValueError(f"{_variable(info)} must be on, off or a port number (1-65535), got {value!r}")

    @property
    def metrics_port(self) -> int | None:
        """The port metrics are served on apart from the service, if any."""
        return int(self.metrics) if self.metrics.isdigit() else None

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("map_basemap_style_url", "map_basemap_raster_url")
    @classmethod
    def _basemap_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url and not url.startswith(("https://", "http://", "/")):
            raise ValueError(f"{_variable(info)} must be an http(s) URL or a path, got {url!r}")
        return url or None

    @field_validator("trusted_proxies", "metrics_clients")
    @classmethod
    def _addresses(cls, proxies: list[str], info: ValidationInfo) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{_variable(info)} must list IP addresses or networks "
                                 f"(a JSON list such as [\"10.0.0.0/8\"]), got {proxy!r}") from None
        return proxies

    @model_validator(mode="after")
    def _photo_bucket(self) -> Self:
        if self.photo_storage == "s3" and not self.photo_s3_bucket:
            raise ValueError("THREATMAP_PHOTO_STORAGE=s3 needs THREATMAP_PHOTO_S3_BUCKET (the bucket's "
                             "name)")
        return self

    @property
    def photo_upload_max_bytes(self) -> int:
        """The largest multipart GraphQL body: every photo at its limit, and 1 MiB for the
        operation and the form's framing."""
        return self.photo_max_count * self.photo_max_bytes + 2**20

    def checked(self) -> Self:
        """The same settings validated again: `model_copy(update=...)` does not validate."""
        return type(self).model_validate(self.model_dump(), by_name=True)


# The env file the service reads (pydantic-settings' dotenv support), below the environment itself.
ENV_FILE_VARIABLE = "THREATMAP_ENV_FILE"
DEFAULT_ENV_FILE = ".env"


def env_file() -> Path:
    """THREATMAP_ENV_FILE, or `.env` in the working directory (read only if it exists)."""
    return Path(os.environ.get(ENV_FILE_VARIABLE) or DEFAULT_ENV_FILE)


def load_settings() -> Settings:
    """The service's settings: the environment, then the env file (`.env.example` lists every
    variable), then the defaults. Only the command line reads the file, so that `Settings()` in a
    test or a library sees the environment alone."""
    path = env_file()
    if os.environ.get(ENV_FILE_VARIABLE) and not path.is_file():
        raise FileNotFoundError(f"{ENV_FILE_VARIABLE} names {str(path)!r}, which is not a file")
    return Settings(_env_file=path)  # type: ignore[call-arg]


def _variable(info: ValidationInfo) -> str:
    """The environment variable a field is read from."""
    return f"THREATMAP_{info.field_name.upper()}" if info.field_name else "a setting"
