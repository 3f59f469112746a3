"""The open-data door: /catalog (DCAT-AP by content negotiation, and its HTML page), /feeds
(the feeds' index page) and the Atom feeds /feeds/counties/{TERYT}.atom and
/feeds/categories/{id}.atom. Reads the snapshot manifest and `open` (public pool) only."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg_pool import AsyncConnectionPool
from rdflib import Graph
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from catalog import feeds
from catalog.datasets import BY_NAME, DATASETS, FORMAT_NAMES, MANIFEST_DATASET
from catalog.graph import LANGS, SERVICES, CatalogInputs, Publisher, build_graph
from catalog.negotiation import FORMATS, HTML, Format, NotAcceptable, choose
from catalog.vocab import PREFIXES
from downloads.manifest import read_manifest
from gateway.i18n import negotiate, translations
from store import catalog as queries
from store import reference
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
BaseUrl = Callable[[Request], str]
COUNTY_CODE = re.compile(r"[0-9]{4}")
CATEGORY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
CACHE_SIZE = 16
VARY = "Accept, Accept-Language, Cookie"


@cache
def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations("catalog", lang), newstyle=True)
    return env


def render(template: str, lang: str, **context: object) -> str:
    return _environment(lang).get_template(template).render(lang=lang, **context)


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    """If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2)."""
    if (match := request.headers.get("if-none-match")) is not None:
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    if modified is not None and (since := request.headers.get("if-modified-since")):
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _unavailable() -> Response:
    return JSONResponse({"code": "unavailable", "detail": "the database is unavailable, try again"},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_S),
                                                  "Cache-Control": "no-store"})


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class CatalogConfig:
    data_dir: Path
    publisher: Publisher
    feed_entries: int = 50


class CatalogService:
    """Holds the public pool (set when the app starts) and a few built catalogues."""

    def __init__(self, config: CatalogConfig, base_url: BaseUrl) -> None:
        self.config = config
        self.base_url = base_url
        self.pool: AsyncConnectionPool | None = None
        self._bodies: OrderedDict[tuple, bytes] = OrderedDict()
        self._graphs: OrderedDict[str, Graph] = OrderedDict()
        self._lock = threading.Lock()

    async def start(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    # --- /catalog ---------------------------------------------------------------------------
    async def inputs(self, request: Request) -> CatalogInputs:
        assert self.pool is not None, "CatalogService.start was not called"
        extent = await queries.report_extent(self.pool)
        categories = await reference.all_categories(self.pool)
        return CatalogInputs(self.base_url(request), self.config.publisher,
                             read_manifest(self.config.data_dir), tuple(categories),
                             extent["first_day"], extent["last_day"])

    def serialized(self, inputs: CatalogInputs, fmt: Format) -> bytes:
        """The catalogue in `fmt`, built once per distinct inputs. Worker threads run this: the
        caches are touched under a lock; two racing threads at worst build the same bytes twice."""
        key = (repr(inputs), fmt.key)
        with self._lock:
            if (body := self._bodies.get(key)) is not None:
                self._bodies.move_to_end(key)
                return body
            graph = self._graphs.get(key[0])
        if graph is None:
            graph = build_graph(inputs)
        if fmt.rdflib == "json-ld":
            body = graph.serialize(format="json-ld", context={p: str(n) for p, n in PREFIXES.items()},
                                   auto_compact=True, encoding="utf-8")
        else:
            body = graph.serialize(format=fmt.rdflib, encoding="utf-8")
        with self._lock:
            self._graphs[key[0]] = graph
            self._bodies[key] = body
            for cache, size in ((self._graphs, 2), (self._bodies, CACHE_SIZE)):
                while len(cache) > size:
                    cache.popitem(last=False)
        return body

    async def catalog(self, request: Request) -> Response:
        try:
            fmt = choose(request.query_params.get("f"), request.headers.get("accept"))
        except NotAcceptable as error:
            status = 400 if "f" in request.query_params else 406
            return JSONResponse({"code": "bad_format" if status == 400 else "not_acceptable",
                                 "detail": str(error)}, status_code=status, headers={"Vary": VARY})
        try:
            inputs = await self.inputs(request)
        except DATABASE_UNAVAILABLE as error:
            log.warning("catalogue failed: %s", error)
            return _unavailable()
        modified = max((_iso(f.modified) for f in inputs.manifest.files), default=None)
        lang = negotiate(request)
        if fmt is HTML:
            body = render("catalog.html", lang, **self.page(inputs, lang)).encode()
        else:
            # rdflib takes about a second for a year of archives (100 files): off the event loop
            body = await asyncio.to_thread(self.serialized, inputs, fmt)
        etag = _etag(hashlib.sha256(body).hexdigest())
        headers = {"ETag": etag, "Vary": VARY, "Cache-Control": "public, max-age=300",
                   "Link": ", ".join(f'<{inputs.base}/catalog?f={f.key}>; rel="alternate"; '
                                     f'type="{f.media_type}"' for f in FORMATS)}
        if modified is not None:
            headers["Last-Modified"] = format_datetime(modified, usegmt=True)
        if _not_modified(request, etag, modified):
            return Response(status_code=304, headers=headers)
        media = f"{fmt.media_type}; charset=utf-8"
        return Response(body, headers=headers, media_type=media)

    def page(self, inputs: CatalogInputs, lang: str) -> dict:
        """What the HTML page shows: the same facts as the graph, in the reader's language."""
        base, files = inputs.base, inputs.manifest.files
        datasets = []
        for info in DATASETS:
            mine = [f for f in files if f.series == "latest"
                    and MANIFEST_DATASET.get(f.dataset, f.dataset) == info.name]
            datasets.append({"name": info.name, "title": info.title[lang],
                             "description": info.description[lang],
                             "keywords": info.keywords[lang], "iri": f"{base}/catalog/datasets/{info.name}",
                             "ogc": f"{base}/ogc/collections/{info.ogc_collection}"
                             if info.ogc_collection else None,
                             "files": [self._file(f) for f in mine]})
        months = [{"period": period, "files": [self._file(f) for f in files if f.period == period]}
                  for period in inputs.manifest.periods()]
        services = [{"title": spec["title"][lang], "description": spec["description"][lang],
                     "url": f"{base}{spec['endpoint']}", "doc": f"{base}{spec['description_url']}"}
                    for spec in SERVICES.values()]
        return {"base": base, "datasets": datasets, "months": months, "services": services,
                "publisher": inputs.publisher, "formats": FORMATS,
                "first_day": inputs.first_day, "last_day": inputs.last_day,
                "other_lang": next(other for other in LANGS if other != lang)}

    @staticmethod
    def _file(file) -> dict:
        return {"url": f"/downloads/{file.path}", "format": FORMAT_NAMES.get(file.format, file.format),
                "dataset": BY_NAME[MANIFEST_DATASET.get(file.dataset, file.dataset)].name,
                "size": file.size, "sha256": file.sha256, "modified": file.modified[:10],
                "tiles": file.dataset == "tiles"}

    # --- /feeds -----------------------------------------------------------------------------
    async def feeds_index(self, request: Request) -> Response:
        assert self.pool is not None
        lang = negotiate(request)
        try:
            voivodeships = await reference.areas_by_level(self.pool, "voivodeship")
            counties = await reference.areas_by_level(self.pool, "county")
            categories = await reference.all_categories(self.pool)
        except DATABASE_UNAVAILABLE as error:
            log.warning("feed index failed: %s", error)
            return _unavailable()
        groups = [{"code": v["code"], "name": v["name"],
                   "counties": [c for c in counties if c["parent_code"] == v["code"]]}
                  for v in voivodeships]
        body = render("feeds.html", lang, base=self.base_url(request), voivodeships=groups,
                      categories=categories, other_lang=next(o for o in LANGS if o != lang))
        return Response(body, media_type="text/html; charset=utf-8",
                        headers={"Vary": VARY, "Cache-Control": "public, max-age=300"})

    async def _feed(self, request: Request, kind: str, key: str,
                    find: Callable[[], Awaitable[dict | None]],
                    rows: Callable[[], Awaitable[list]]) -> Response:
        assert self.pool is not None
        lang = negotiate(request)
        base = self.base_url(request)
        try:
            subject = await find()
            if subject is None:
                return JSONResponse({"code": "not_found", "detail": f"no such {kind}: {key}"},
                                    status_code=404)
            version = await queries.data_version(self.pool)
            today = datetime.now(UTC).date()     # dates a feed with no entry: part of the tag
            etag = _etag("feed", kind, key, lang, base, version, self.config.feed_entries, today)
            headers = {"ETag": etag, "Vary": VARY, "Cache-Control": "public, max-age=300"}
            if _not_modified(request, etag, None):
                return Response(status_code=304, headers=headers)
            entries = await rows()
        except DATABASE_UNAVAILABLE as error:
            log.warning("feed %s/%s failed: %s", kind, key, error)
            return _unavailable()
        title = (feeds.county_title(lang, subject) if kind == "county"
                 else feeds.category_title(lang, subject))
        path = "counties" if kind == "county" else "categories"
        head = feeds.FeedHead(f"{base}/feeds/{path}/{key}.atom", title, base,
                              self.config.publisher.name, self.config.publisher.email, lang)
        body = feeds.atom_feed(head, entries, today)
        return Response(body, headers=headers, media_type=f"{feeds.MEDIA_TYPE}; charset=utf-8")

    async def county_feed(self, request: Request) -> Response:
        code = request.path_params["code"]
        pool = self.pool

        async def find() -> dict | None:
            if not COUNTY_CODE.fullmatch(code):
                return None
            area = await queries.area(pool, code)
            return area if area and area["level"] == "county" else None

        return await self._feed(request, "county", code, find,
                                lambda: queries.county_feed(pool, code, self.config.feed_entries))

    async def category_feed(self, request: Request) -> Response:
        category_id = request.path_params["category"]
        pool = self.pool

        async def find() -> dict | None:
            if not CATEGORY_ID.fullmatch(category_id):
                return None
            return await reference.category(pool, category_id)

        return await self._feed(request, "category", category_id, find,
                                lambda: queries.category_feed(pool, category_id, self.config.feed_entries))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/catalog", self.catalog, methods=["GET", "HEAD"]),
            Mount("/catalog/static", StaticFiles(directory=HERE / "static")),
            Route("/feeds", self.feeds_index, methods=["GET", "HEAD"]),
            Route("/feeds/counties/{code}.atom", self.county_feed, methods=["GET", "HEAD"]),
            Route("/feeds/categories/{category}.atom", self.category_feed, methods=["GET", "HEAD"]),
        ]
