"""Security headers on every answer (issue 10, point 11), from one pure ASGI middleware.

- Every answer: `X-Content-Type-Options: nosniff` and `Referrer-Policy:
  strict-origin-when-cross-origin` (other sites learn our origin at most, never a path or query;
  OpenStreetMap's tile servers, which pygeoapi's HTML maps use, want a referrer).
- HTML pages: a Content-Security-Policy whose scripts are files from this origin only (no CDN,
  no inline script, no eval), `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for older
  browsers): no page of ours may be framed.
- JSON: `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: a document opened
  directly in a browser runs nothing and cannot be framed.

Which policy an HTML page gets goes by path prefix (`HtmlPolicies`), built once by the
composition root. A header the endpoint already set is left as it is. Not BaseHTTPMiddleware:
this adds a few headers to the start message and never touches the body. Cached tiles are
answered before it (tiles.shortcut; tiles.reply gives them `nosniff` itself).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVERY_ANSWER = [(b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"strict-origin-when-cross-origin")]
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Where every page policy starts: nothing from elsewhere, no plugins, no <base> tricks, not framed.
PAGE_BASE = {"default-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
             "frame-ancestors": "'none'", "form-action": "'self'"}


def policy(**directives: str) -> str:
    """A Content-Security-Policy: PAGE_BASE with `directives` (worker_src= for worker-src)."""
    merged = PAGE_BASE | {name.replace("_", "-"): value for name, value in directives.items()}
    return "; ".join(f"{name} {value}" for name, value in merged.items())


def map_policy(basemap_origins: Iterable[str] = ()) -> str:
    """The map at / and the status page (gateway/citizen): scripts and styles are files of ours;
    MapLibre starts its worker from a blob: URL and decodes images from blob: and data: URLs; a
    base map from elsewhere (THREATMAP_MAP_BASEMAP_*) is fetched from its origins."""
    extra = "".join(f" {origin}" for origin in basemap_origins)
    return policy(script_src="'self'", style_src="'self'", img_src=f"'self' data: blob:{extra}",
                  worker_src="'self' blob:", connect_src=f"'self'{extra}")


def graphiql_policy() -> str:
    """GraphiQL at /graphql (browsers): its scripts are files of ours (gateway/static), React
    and CodeMirror set styles inline, its icons are data: URLs; queries and subscriptions go to
    this origin (CSP 3's 'self' covers ws: and wss: to it)."""
    return policy(script_src="'self'", style_src="'self' 'unsafe-inline'", img_src="'self' data:",
                  font_src="'self' data:", worker_src="'self' blob:", connect_src="'self'")


def ogc_policy(image_origins: Iterable[str] = ()) -> str:
    """pygeoapi's HTML pages under /ogc and its Swagger UI: scripts are files of ours (ogc/static,
    gateway/static; no inline script), styles partly inline (pygeoapi's templates, Swagger UI);
    a Leaflet base map drawn from tiles elsewhere needs its host in `image_origins`
    (pygeoapi-config.yml server.map.url)."""
    images = " ".join(["'self'", "data:", "blob:", *image_origins])
    return policy(script_src="'self'", style_src="'self' 'unsafe-inline'", img_src=images,
                  font_src="'self' data:", worker_src="'self' blob:", connect_src="'self'")


@dataclass(frozen=True)
class HtmlPolicies:
    """The CSP of HTML answers: the first prefix that the path starts with, else `default`."""
    default: str
    by_prefix: Sequence[tuple[str, str]] = ()

    def for_path(self, path: str) -> str:
        for prefix, value in self.by_prefix:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return value
        return self.default


class SecurityHeaders:
    def __init__(self, app: ASGIApp, policies: HtmlPolicies) -> None:
        self.app = app
        self.policies = policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._added(scope, list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _added(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
        extra = list(EVERY_ANSWER)
        if content_type.startswith(b"text/html"):
            extra += [(b"content-security-policy", self.policies.for_path(scope["path"]).encode()),
                      (b"x-frame-options", b"DENY")]
        elif b"json" in content_type:
            extra.append((b"content-security-policy", JSON_POLICY.encode()))
        return headers + [(name, value) for name, value in extra if name not in present]
