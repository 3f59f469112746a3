"""Whether the developer sign-in may be offered: only to a developer on the machine itself.

The developer sign-in mints a token for any role and unit, so it must never be reachable from
another machine. Off when THREATMAP_DEV_SIGN_IN is false. Otherwise on only when every one of
these holds, each checked where it can be known:
- at start-up (`configured`): the server listens on a loopback address (THREATMAP_HOST), no
  trusted proxies are configured, and THREATMAP_PUBLIC_URL (if set) names a loopback host: a
  deployment with a reverse proxy or a public address never offers it, whatever a request says;
- per request (`request_is_local`): the socket peer and the address the request arrived at are
  loopback, the Host header names a loopback host, and no forwarding header is present (a proxy
  on the same machine connects from loopback, but it adds X-Forwarded-For / Forwarded, and it
  passes on the public Host).
"""

from urllib.parse import urlsplit

from starlette.requests import Request

from gateway.secret import is_loopback
from gateway.settings import Settings

FORWARDING_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded")


def configured(settings: Settings) -> bool:
    if not settings.dev_sign_in or not is_loopback(settings.host) or settings.trusted_proxies:
        return False
    if settings.public_url:
        return is_loopback(urlsplit(settings.public_url).hostname or "")
    return True


def _host_of(header: str) -> str:
    """The host of a Host header value, without its port ([::1]:8000 -> ::1)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def request_is_local(request: Request) -> bool:
    client = request.scope.get("client")
    server = request.scope.get("server")
    if not client or not is_loopback(str(client[0])):
        return False
    if server and not is_loopback(str(server[0])):
        return False
    if not is_loopback(_host_of(request.headers.get("host", ""))):
        return False
    return not any(name in request.headers for name in FORWARDING_HEADERS)
