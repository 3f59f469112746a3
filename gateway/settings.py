"""The service's settings: one typed object, read from the environment (prefix THREATMAP_)."""

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Never used to sign anything off loopback: see gateway/secret.py (issue 10, point 1).
DEFAULT_JWT_SECRET = "change-me-local-development-only"


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
    data_dir: Path = Field(default=PROJECT_ROOT / ".threatmap")
    database_name: str = "threatmap"
    config_dir: Path = Field(default=PROJECT_ROOT / "config")
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "THREATMAP_HOST"))
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "THREATMAP_PORT"))
    public_url: str | None = Field(
        default=None, description="The URL clients reach the service at (links in OGC, TileJSON)."
    )
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_s: float = Field(default=5.0, gt=0, description="Longest wait for a database connection.")
    maintenance_interval_s: float = Field(
        default=60.0, gt=0, description="How often the server publishes due reports and purges."
    )
    demo_on_first_start: int = Field(
        default=0, ge=0, description="Synthetic reports to load when the database has none."
    )
    jwt_secret: str = Field(
        default=DEFAULT_JWT_SECRET, min_length=16,
        description="HS256 key of staff tokens, 32+ bytes. Unset: a random key kept in data_dir.")
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
    graphql_max_body_bytes: int = Field(default=65_536, gt=0, description="Larger requests get 413.")
    graphql_max_depth: int = Field(default=10, ge=2)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=3000, ge=100)
    submit_rate_limit: str = Field(default="20/hour",
                                   description="submitReport per client (limits syntax).")
    rate_limit_storage: str = Field(default="async+memory://",
                                    description="limits storage URI (async+redis://... for replicas).")
    trusted_proxies: list[str] = Field(
        default=[], description="Peer addresses whose X-Forwarded-For is believed (JSON list).")
    report_max_age_days: int = Field(default=30, ge=1, description="Oldest occurredAt accepted.")
    # Vector tiles (issue 6)
    tile_cache_mb: int = Field(default=64, ge=0, description="In-process tile cache; 0 disables it.")
    tile_max_age_s: int = Field(default=60, ge=0, description="Cache-Control max-age of tiles.")

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError("PORT must be between 1 and 65535")
        return port

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
