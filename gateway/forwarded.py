"""Behind a reverse proxy: the scheme, host and client the proxy was asked for, believed only
from the proxies of THREATMAP_TRUSTED_PROXIES.

uvicorn's ProxyHeadersMiddleware does X-Forwarded-Proto (the scheme) and X-Forwarded-For (the
client: the right-most address that is not a trusted proxy); this adds the host the client
asked for, from X-Forwarded-Host (with X-Forwarded-Port), or from the standard `Forwarded`
header (RFC 7239: its last element, the one our proxy wrote) when no X-Forwarded-* header is
sent. The forwarded host replaces Host, so the Host check after this (TrustedHostMiddleware,
gateway.urls.allowed_hosts) applies to it, and every link and redirect made from the request
(request.base_url, gateway.urls.public_base) follows it. THREATMAP_PUBLIC_URL, when set, still
wins for links (gateway.urls) and redirects (PublicRedirects).

A request from any other peer is taken as it came: its forwarding headers are ignored.
"""

import ipaddress
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

# A host name or address with an optional port; anything else (a path, credentials, spaces) is
# not a host, and is ignored.
HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _last(value: bytes) -> str:
    """The last of a comma-separated list: the value the nearest proxy (ours) added."""
    return value.decode("latin-1").rsplit(",", 1)[-1].strip()


def _forwarded_pairs(value: str) -> dict[str, str]:
    """The parameters of the last element of a `Forwarded` header (RFC 7239)."""
    element = value.rsplit(",", 1)[-1]
    pairs = {}
    for pair in element.split(";"):
        name, _, text = pair.partition("=")
        pairs[name.strip().lower()] = text.strip().strip('"')
    return pairs


class ForwardedHeaders:
    def __init__(self, app: ASGIApp, trusted_proxies: list[str]) -> None:
        self.app = app
        self.networks = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        # uvicorn takes networks in strict form (10.0.0.0/8, not 10.1.2.3/8).
        self.proxy_headers = ProxyHeadersMiddleware(app, [str(n) for n in self.networks])

    def trusted(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or not self.trusted(scope):
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"]
                   if name in (b"x-forwarded-host", b"x-forwarded-port", b"x-forwarded-proto",
                               b"forwarded")}
        host = _last(headers[b"x-forwarded-host"]) if b"x-forwarded-host" in headers else None
        proto = None
        if b"forwarded" in headers and not any(n.startswith(b"x-forwarded-") for n in headers):
            pairs = _forwarded_pairs(headers[b"forwarded"].decode("latin-1"))
            host = pairs.get("host") or None
            proto = pairs.get("proto", "").lower() or None
        if proto in DEFAULT_PORTS:
            scope["scheme"] = proto.replace("http", "ws") if scope["type"] == "websocket" else proto
        if host is not None and b"x-forwarded-port" in headers and HOST.fullmatch(host) \
                and not re.search(r":\d+$", host):
            port = _last(headers[b"x-forwarded-port"])
            scheme = _last(headers.get(b"x-forwarded-proto", b"")) or scope["scheme"]
            if port.isdigit() and port != DEFAULT_PORTS.get(scheme):
                host = f"{host}:{port}"
        if host is not None and HOST.fullmatch(host):
            scope["headers"] = [(name, value) for name, value in scope["headers"] if name != b"host"]
            scope["headers"].append((b"host", host.encode("latin-1")))
        await self.proxy_headers(scope, receive, send)


class PublicRedirects:
    """With THREATMAP_PUBLIC_URL set, a redirect to the service itself (the router's trailing
    slash redirects: /ogc -> /ogc/) points at the public URL, as the links do (nginx's
    `proxy_redirect default` does the same)."""

    def __init__(self, app: ASGIApp, public_url: str) -> None:
        self.app = app
        self.public = public_url.rstrip("/").encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_public(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                message["headers"] = [(name, self._public(scope, value) if name == b"location" else value)
                                      for name, value in message.get("headers", ())]
            await send(message)

        await self.app(scope, receive, send_public)

    def _public(self, scope: Scope, location: bytes) -> bytes:
        host = next((value for name, value in scope["headers"] if name == b"host"), b"")
        own = scope["scheme"].encode() + b"://" + host
        if host and (location == own or location.startswith(own + b"/")):
            return self.public + location[len(own):]
        return location
