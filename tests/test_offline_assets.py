"""Nothing from a CDN (issue 11, point 10): every HTML page the service serves loads its scripts,
stylesheets and images from the service itself (vendored from npm by scripts/update-vendored.sh,
licences beside them), with no inline script (so a CSP `script-src 'self'` holds), and the
browser tools (GraphiQL, Swagger UI, the OGC pages' Leaflet maps) work with the network cut off."""

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from gateway.settings import PROJECT_ROOT, Settings
from tests.support import CHROMIUM, MAP_READY, app_in_thread, launch_chromium, wait_in_page

VENDOR = PROJECT_ROOT / "gateway" / "static" / "vendor"
UPDATE_SCRIPT = PROJECT_ROOT / "scripts" / "update-vendored.sh"

# Every HTML page (the map, GraphiQL, pygeoapi's pages with their maps, Swagger UI and ReDoc).
PAGES = ["/", "/r", "/r/{item}", "/graphql", "/ogc/?f=html", "/ogc/conformance?f=html",
         "/ogc/collections?f=html", "/ogc/collections/reports?f=html",
         "/ogc/collections/reports/items?f=html",
         "/ogc/collections/reports/items/{item}?f=html", "/ogc/collections/reports/queryables?f=html",
         "/ogc/openapi?f=html", "/ogc/openapi?f=html&ui=redoc",
         # the OGC pages in English too (Polish is their default), and a collection without geometry
         "/ogc/?f=html&lang=en", "/ogc/collections/reports?f=html&lang=en",
         "/ogc/collections/categories?f=html", "/ogc/tileMatrixSets?f=html",
         "/ogc/TileMatrixSets/WebMercatorQuad?f=html",
         "/downloads", "/downloads?lang=en",
         # the open-data catalogue's page and the feeds' index (issue 14)
         "/catalog", "/catalog?f=html&lang=en", "/feeds", "/feeds?lang=en",
         # the staff sign-in and its OpenID Connect callback (issue 13, point 6)
         "/staff/sign-in", "/staff/sign-in?lang=en", "/staff/auth/callback",
         # the officers' workbench: the work list and a report's page (issue 13)
         "/staff", "/staff?lang=en", "/staff/reports/{item}", "/staff/reports/{item}?lang=en"]

# Every page, the map too (its script and style are files: the CSP allows no inline script).
PAGES_WITHOUT_INLINE_SCRIPT = PAGES

# <link rel=...> values that make the browser fetch the target (the others are hyperlinks).
FETCHED_LINK_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
                     "apple-touch-icon"}
EXPECTED_TYPES = {".js": "javascript", ".mjs": "javascript", ".css": "text/css", ".png": "image/png",
                  ".ico": "icon"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class PageResources(HTMLParser):
    """What a page makes the browser fetch, its inline scripts and its inline event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self.data_urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("on")]
        if tag == "script":
            kind = attributes.get("type", "text/javascript")
            executable = kind in ("", "module", "text/javascript", "application/javascript")
            if "src" in attributes:
                self.fetched.append(attributes["src"])
            elif executable:
                self._in_script = True
        elif tag == "link" and FETCHED_LINK_RELS & set(attributes.get("rel", "").lower().split()):
            self.fetched.append(attributes["href"])
        elif tag in ("img", "iframe", "embed", "source", "audio", "video", "track", "input") \
                and attributes.get("src"):
            self.fetched.append(attributes["src"])
        elif tag == "object" and attributes.get("data"):
            self.fetched.append(attributes["data"])
        if attributes.get("srcset"):
            self.fetched += [part.split()[0] for part in attributes["srcset"].split(",")]
        # URLs our page scripts fetch (the maps' base map), written in data- attributes
        self.data_urls += [attributes[name] for name in ("data-basemap", "data-openapi")
                           if name in attributes]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])


def resources(html: str) -> PageResources:
    parser = PageResources()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def base(settings: Settings, published: dict[str, uuid.UUID]) -> Iterator[str]:
    """The app on a real port (the browser needs one; pygeoapi's links then name this host)."""
    with app_in_thread(settings) as base:
        yield base


@pytest.fixture(scope="module")
def pages(base: str, published: dict[str, uuid.UUID]) -> dict[str, tuple[str, str]]:
    """Each page of PAGES -> its URL and HTML, asked for as a browser does."""
    found = {}
    with httpx.Client(timeout=30) as http:
        for path in PAGES:
            url = urljoin(base, path.format(item=published["warsaw"]))
            page = http.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
            assert page.status_code == 200, (url, page.status_code, page.text[:300])
            assert page.headers["content-type"].startswith("text/html"), (url, page.headers)
            found[path] = (url, page.text)
    return found


def _is_ours(url: str, base: str) -> bool:
    target = urlsplit(url)
    return target.scheme in ("", "data") or (target.scheme in ("http", "https")
                                              and target.netloc == urlsplit(base).netloc)


# --- the pages -----------------------------------------------------------------------------------
def test_no_page_loads_anything_from_another_origin(pages: dict[str, tuple[str, str]], base: str) -> None:
    remote = {}
    for url, html in pages.values():
        found = resources(html)
        sources = [src for src in found.fetched + found.data_urls if not _is_ours(urljoin(url, src), base)]
        sources += [ref for pair in CSS_URL.findall(html) for ref in pair
                    if ref and not _is_ours(urljoin(url, ref), base)]
        if sources:
            remote[url] = sources
    assert not remote, f"pages loading files from other origins (CDNs): {remote}"


def test_pages_have_no_inline_script_or_event_handler(pages: dict[str, tuple[str, str]]) -> None:
    """So that a Content-Security-Policy `script-src 'self'` (no 'unsafe-inline') runs them."""
    inline = {}
    for path in PAGES_WITHOUT_INLINE_SCRIPT:
        url, html = pages[path]
        found = resources(html)
        if found.inline_scripts or found.handlers:
            inline[url] = found.inline_scripts + found.handlers
    assert not inline, f"inline scripts or handlers: {inline}"


def test_every_file_a_page_references_is_served_with_its_type(pages: dict[str, tuple[str, str]],
                                                              base: str) -> None:
    """The files each page loads, and what their stylesheets load (Leaflet's marker images),
    answer 200 from this server with the right content type."""
    problems: list[str] = []
    with httpx.Client(timeout=30) as http:
        checked: set[str] = set()
        queue = [urljoin(url, src) for url, html in pages.values() for src in resources(html).fetched]
        while queue:
            url = queue.pop()
            if url in checked or url.startswith("data:"):
                continue
            checked.add(url)
            if not _is_ours(url, base):
                problems.append(f"{url}: not served by us")
                continue
            answer = http.get(url)
            suffix = Path(urlsplit(url).path).suffix
            expected = EXPECTED_TYPES.get(suffix, "")
            if answer.status_code != 200 or expected not in answer.headers.get("content-type", ""):
                problems.append(f"{url}: {answer.status_code} {answer.headers.get('content-type')}")
            elif suffix == ".css":
                queue += [urljoin(url, ref) for pair in CSS_URL.findall(answer.text) for ref in pair
                          if ref and not ref.startswith("#")]   # url(#default#VML): no file
        for url, html in pages.values():
            for data_url in resources(html).data_urls:
                answer = http.get(urljoin(url, data_url))
                if answer.status_code != 200 or not answer.json():
                    problems.append(f"{data_url} (data- attribute of {url}): {answer.status_code}")
    assert not problems, problems
    assert len(checked) >= 15, f"too few files checked: {sorted(checked)}"


def test_each_vendored_package_keeps_its_licence_and_pinned_version() -> None:
    script = UPDATE_SCRIPT.read_text(encoding="utf-8")
    packages = sorted(path for path in VENDOR.iterdir() if path.is_dir())
    assert {p.name for p in packages} >= {"react", "react-dom", "graphiql", "graphiql-plugin-explorer",
                                          "swagger-ui", "redoc", "bootstrap", "leaflet",
                                          "leaflet.markercluster"}
    for package in packages:
        licences = [f for f in package.iterdir() if re.match(r"(MIT-)?LICEN[CS]E", f.name)]
        assert licences and all(f.stat().st_size > 500 for f in licences), package
        version = (package / "VERSION").read_text().strip()
        assert re.search(rf"^[A-Z_]+={re.escape(version)}\b", script, re.M), (package, version)


# --- in a real browser, with the network cut off ------------------------------------------------
# What the pages must run under: scripts from this server only, no inline script, no eval.
# (Styles: GraphiQL, Bootstrap and Leaflet need no inline style; Swagger UI sets one, ReDoc many.)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
async def test_browser_tools_work_offline_under_a_strict_csp(base: str,
                                                              published: dict[str, uuid.UUID]) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    local = urlsplit(base).netloc
    blocked: list[str] = []
    problems: list[str] = []

    async def offline(route: Any) -> None:
        request = route.request
        if urlsplit(request.url).netloc != local:
            blocked.append(request.url)
            await route.abort("internetdisconnected")
        elif request.resource_type == "document":
            response = await route.fetch()
            await route.fulfill(response=response,
                                headers={**response.headers, "content-security-policy": CSP})
        else:
            await route.continue_()

    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.route("**/*", offline)
            page = await context.new_page()
            page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
            page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                    if "Content Security Policy" in message.text else None)

            # The citizen map: its base map (boundaries, labelled by canvas images: no glyph files)
            # and the reports, all from us.
            await page.goto(f"{base}/#8/52.2/21.0")
            await wait_in_page(page, MAP_READY)
            await wait_in_page(page, "window.map.listImages().some((id) => id.startsWith('label:'))")
            await wait_in_page(page, "map.queryRenderedFeatures({layers: ['county-lines']}).length > 0")

            # GraphiQL: the editor appears, loads the schema and runs its example query.
            await page.goto(f"{base}/graphql")
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=60_000)
            await page.click(".graphiql-execute-button")
            # (locators, not wait_for_function: the page's CSP forbids the eval that one needs)
            await page.locator(".graphiql-response", has_text="namePl").wait_for(timeout=60_000)

            # Swagger UI: the operations of our OpenAPI document are listed.
            await page.goto(f"{base}/ogc/openapi?f=html")
            await page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
            title = await page.inner_text(".swagger-ui .info .title")
            assert "threatmap" in title

            # ReDoc resolves every $ref of the document before it shows anything: with none left
            # pointing at another site (issue 11, point 6), it renders offline. Its sidebar's
            # "API docs by Redocly" logo is an <img> from cdn.redoc.ly that the CSP blocks
            # (img-src 'self'): nothing leaves, ReDoc hides the image; that one report is expected.
            await page.goto(f"{base}/ogc/openapi?f=html&ui=redoc")
            await page.locator("h1", has_text="threatmap").first.wait_for(timeout=60_000)
            assert await page.locator("li[data-item-id]").count() >= 20
            problems[:] = [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p]

            # The OGC pages' Leaflet maps: the items of a page and the base map, both from us.
            await page.goto(f"{base}/ogc/collections/reports/items?f=html")
            await page.wait_for_selector(".leaflet-marker-icon, .marker-cluster", timeout=60_000)
            voivodeships = page.locator(".leaflet-overlay-pane path")
            await voivodeships.nth(15).wait_for(timeout=60_000)
            await page.goto(f"{base}/ogc/collections/reports/items/{published['warsaw']}?f=html")
            await page.wait_for_selector(".leaflet-marker-icon", timeout=60_000)
            assert "threatmap" in await page.inner_text("header")
        except playwright_api.TimeoutError as error:
            pytest.fail(f"{error.message.splitlines()[0]} on {page.url}; page errors: {problems}; "
                        f"requests to other origins: {blocked}")
        finally:
            await browser.close()
    assert not blocked, f"requests to other origins: {blocked}"
    assert not problems, problems
