"""The service's public base URL: one rule for the links every door writes (the JSON link list,
TileJSON, the style, OGC API Tiles and OGC API Features documents, the start-up message), and
the hosts a request may name for those links to follow it."""

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from gateway.settings import Settings

# Addresses a server listens on, not names a client sends in Host.
WILDCARD_ADDRESSES = {"0.0.0.0", "::", ""}


def public_base(settings: Settings, request: HTTPConnection | None = None) -> str:
    """THREATMAP_PUBLIC_URL when set (behind a reverse proxy the app cannot see the address
    clients use); else the address the request came to, whose host the app has checked against
    `allowed_hosts` (a forged Host gets 400 before any door writes, and a cache keeps, a link
    with it); before any request (pygeoapi's configuration, made at start-up), the host and
    port the service binds. No trailing slash."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if request is not None:
        return str(request.base_url).rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names requests may carry (Starlette's TrustedHostMiddleware; the port is not
    compared): the listening host, localhost, 127.0.0.1, THREATMAP_PUBLIC_URL's host, and
    THREATMAP_ALLOWED_HOSTS."""
    hosts = ["localhost", "127.0.0.1"]
    if settings.host not in WILDCARD_ADDRESSES:
        hosts.append(settings.host)
    if settings.public_url and (public := urlsplit(settings.public_url).hostname):
        hosts.append(public)
    hosts += settings.allowed_hosts
    return list(dict.fromkeys(hosts))
