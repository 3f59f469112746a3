"""The service's public base URL: one rule for the links every door writes (the JSON link list,
TileJSON, the style, OGC API Tiles and OGC API Features documents, the start-up message)."""

from starlette.requests import HTTPConnection

from gateway.settings import Settings


def public_base(settings: Settings, request: HTTPConnection | None = None) -> str:
    """THREATMAP_PUBLIC_URL when set (behind a reverse proxy the app cannot see the address
    clients use); else the address the request came to; before any request (pygeoapi's
    configuration, made at start-up), the host and port the service binds. No trailing slash."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if request is not None:
        return str(request.base_url).rstrip("/")
    return f"http://{settings.host}:{settings.port}"
