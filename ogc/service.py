"""pygeoapi mounted in our Starlette app: its routes, its start-up, and the errors it gets wrong.

We do not import `pygeoapi.starlette_app`: at import time it reads PYGEOAPI_CONFIG and
PYGEOAPI_OPENAPI, loads both files and builds a global `API`. Instead this module keeps the
part of it that matters (a route per endpoint calling pygeoapi's api functions in a worker
thread, as its `execute_from_starlette` does) and builds the `API` from a configuration and an
OpenAPI document made in memory at our start-up. No environment variable, no generated file.
"""

import asyncio
import contextvars
import functools
import logging
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pygeoapi.api as core_api
import pygeoapi.api.itemtypes as itemtypes_api
import pygeoapi.api.tiles as tiles_api
import pygeoapi.l10n
from psycopg_pool import AsyncConnectionPool
from pygeoapi.api import API, APIRequest, apply_gzip
from pygeoapi.openapi import get_oas
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ogc import bbox as bbox_shortcut
from ogc import bridge, discovery, filters, geojson_items, guard, pages
from ogc import openapi as ogc_openapi
from ogc.config import Publisher, add_temporal_extents, feature_providers, load_config
from ogc.fast_items import FastItems
from ogc.provider import DatabaseUnavailable
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S

log = logging.getLogger(__name__)

# The HTML pages: our templates (pygeoapi falls back to its own for the others) and static files.
TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

# Query parameters of /items that are not property filters (OGC API Features Parts 1-3).
# What ogc.filters.check reads (with a POST body).
FILTER_PARAMETERS = {"filter", "filter-lang", "filter-crs"}
RESERVED = {"bbox", "bbox-crs", "crs", "f", "lang", "limit", "offset", "resulttype", "datetime",
            "sortby", "properties", "skipGeometry", "q", "filter", "filter-lang", "filter-crs"}


def _threadsafe(loop: asyncio.AbstractEventLoop, call: Callable[..., tuple], *args: Any) -> tuple:
    asyncio.set_event_loop(loop)  # pygeoapi's api functions may ask for the running loop
    return call(*args)


def _response(headers: dict, status: int, content: Any) -> Response:
    if headers.get("Content-Type") == "text/html":
        response: Response = HTMLResponse(content, status_code=status)
    elif isinstance(content, dict):
        response = JSONResponse(content, status_code=status)
    else:
        response = Response(content, status_code=status)
    response.headers.update(headers)
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _as_geojson(response: Response) -> Response:
    """Features and feature collections are GeoJSON: pygeoapi labels them application/json;
    OGC API Features (and clients choosing by media type) expect application/geo+json."""
    if response.status_code == HTTPStatus.OK and response.headers.get(
            "content-type", "").startswith("application/json"):
        response.headers["content-type"] = "application/geo+json"
    return response


def _landing_page(api: API, request: APIRequest) -> tuple:
    """pygeoapi's landing page without links to services we do not run (ogc.discovery)."""
    headers, status, content = core_api.landing_page(api, request)
    if status == HTTPStatus.OK:
        content = discovery.without_absent_links(api, request, content)
    return headers, status, content


def _collections_with_tilesets(api: API, request: APIRequest, dataset: str | None) -> tuple:
    """pygeoapi's collection descriptions with the vector tilesets links (ogc.discovery)."""
    headers, status, content = core_api.describe_collections(api, request, dataset)
    if status == HTTPStatus.OK:
        content = discovery.with_tileset_links(api, request, content)
    return headers, status, content


def _unknown_names(params: Any, fields: set[str]) -> str | None:
    """`sortby` and `properties` naming what the collection does not have (pygeoapi says only
    "bad sortby property" / "unknown properties specified")."""
    for parameter in ("sortby", "properties"):
        names = [name.strip().lstrip("+-") if parameter == "sortby" else name.strip()
                 for name in params.get(parameter, "").split(",") if name.strip()]
        if unknown := [name for name in names if name not in fields | {"id"}]:
            return (f"{parameter}: unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                    f"{', '.join(unknown)} (the collection's queryables list them)")
    return None


def _logged(answer: Callable[..., tuple]) -> Callable[..., tuple]:
    """pygeoapi's exception answer, logged as the service logs (gateway.logs): a client's error
    at INFO with its reason and no traceback, a server error at ERROR with the traceback.
    (pygeoapi's own line, ERROR with a traceback for any status, is dropped there.)"""
    def get_exception(status: int, headers: dict, format_: str | None, code: str,
                      description: str) -> tuple:
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            log.error("OGC %d %s: %s", status, code, description, exc_info=sys.exc_info()[0] is not None)
        else:
            log.info("OGC %d %s: %s", status, code, description)
        return answer(status, headers, format_, code, description)
    return get_exception


class OgcService:
    """The /ogc door: `routes()` at app build time, `start()` / `stop()` in the app's lifespan.

    pygeoapi writes its links from one URL, given at start-up (`base_url`); `request_base`, when
    given, is the public base URL of each request (gateway.urls: behind a trusted proxy, the
    scheme and host it was asked for), and the links of an answer are rewritten to it when it
    differs."""

    def __init__(self, config_path: Path, base_url: str, publisher: Publisher | None = None,
                 translations: Callable[[str], Any] | None = None,
                 request_base: Callable[[Request], str] | None = None,
                 items_in_database: bool = True, items_before_pygeoapi: bool = True) -> None:
        """`translations(lang)`: the gettext translations of the pages' texts (ogc.pages);
        `items_in_database`: GeoJSON items written by PostgreSQL (ogc.geojson_items);
        `items_before_pygeoapi`: with it, the common ones answered without pygeoapi
        (ogc.fast_items)."""
        self.config_path = config_path
        self.url = base_url.rstrip("/") + "/ogc"
        self.publisher = publisher or Publisher()
        self.translations = translations
        self.request_base = request_base
        self.items_before_pygeoapi = items_in_database and items_before_pygeoapi
        self.items_handler = (geojson_items.collection_items if items_in_database
                              else itemtypes_api.get_collection_items)
        self.api: API | None = None
        self.fast_items: FastItems | None = None
        self.database: bridge.PublicDatabase | None = None
        self.fields: dict[str, set[str]] = {}
        self.crs: dict[str, list[str]] = {}

    async def start(self, public_pool: AsyncConnectionPool) -> None:
        bbox_shortcut.install()
        filters.install()
        if self.translations is not None:
            pages.install(self.translations)
        database = bridge.PublicDatabase(public_pool, asyncio.get_running_loop())
        config = load_config(self.config_path, {"THREATMAP_OGC_URL": self.url,
                                                "THREATMAP_OPEN_DATABASE": database.key,
                                                "THREATMAP_OGC_TEMPLATES": str(TEMPLATES_DIR),
                                                "THREATMAP_OGC_STATIC": str(STATIC_DIR),
                                                **self.publisher.placeholders()})
        providers = feature_providers(config)
        await database.load_columns([p["table"] for p in providers.values()])
        await add_temporal_extents(config, database)
        bridge.register(database)
        self.database = database
        self.fields = {name: set(database.columns[p["table"]]) - {p.get("geom_field")}
                       for name, p in providers.items()}
        self.crs = {name: list(p.get("crs", [])) for name, p in providers.items()}
        # get_oas asks each provider for its fields: run it off the loop the providers use.
        crs_list = list(dict.fromkeys(crs for p in providers.values() for crs in p.get("crs", [])))
        openapi = ogc_openapi.self_contained(
            discovery.add_tile_paths(await asyncio.to_thread(get_oas, config)), crs_list,
            frozenset(name for name, p in providers.items() if not p.get("geom_field")))
        self.api = await asyncio.to_thread(API, config, openapi)
        if self.items_before_pygeoapi:
            self.fast_items = FastItems(self.api)
        # pygeoapi renders the tile matrix set pages with its whole configuration as their
        # template settings (`render_j2_template(api.tpl_config, api.tpl_config, ...)`), where it
        # finds no `path`: those pages fell back to pygeoapi's own frame, which loads Bootstrap
        # from a CDN. With `path` there, they are ours like every other page.
        self.api.tpl_config["path"] = str(TEMPLATES_DIR)
        self.api.get_exception = _logged(self.api.get_exception)  # type: ignore[method-assign]
        # pygeoapi keeps the configuration its HTML pages render with per locale, process-wide,
        # from the first page on: without this, an app started after another in the same process
        # (tests) writes the first one's URL into its pages (links, scripts).
        pygeoapi.l10n._cfg_cache.clear()

    async def stop(self) -> None:
        self.api = None
        self.fast_items = None
        if self.database:
            bridge.unregister(self.database)
            self.database = None

    # -- calling pygeoapi -------------------------------------------------------------------

    async def _call(self, request: Request, function: Callable[..., tuple], *args: Any,
                    skip_valid_check: bool = False) -> Response:
        api = self.api
        if api is None:
            return JSONResponse({"code": "ServiceUnavailable", "description": "starting up"},
                                status_code=HTTPStatus.SERVICE_UNAVAILABLE,
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        if reason := await guard.refusal(request):
            return await self._refuse(request, HTTPStatus.BAD_REQUEST, "InvalidParameterValue", reason)
        api_request = await APIRequest.from_starlette(request, api.locales)
        if not skip_valid_check and not api_request.is_valid():
            return _response(*api.get_format_exception(api_request))
        loop = asyncio.get_running_loop()
        try:
            # in the request's context: log lines written in the thread carry its request id
            headers, status, content = await loop.run_in_executor(
                None, contextvars.copy_context().run,
                functools.partial(_threadsafe, loop, function, api, api_request, *args))
        except Exception:
            log.exception("pygeoapi failed on %s", request.url.path)
            headers, status, content = api.get_exception(
                HTTPStatus.INTERNAL_SERVER_ERROR, api_request.get_response_headers(**api.api_headers),
                api_request.format, "NoApplicableCode", "internal error")
        content = self._relinked(request, content)
        if status != HTTPStatus.NO_CONTENT:
            content = apply_gzip(headers, content)
        return _response(headers, status, content)

    def _relinked(self, request: Request, content: Any) -> Any:
        """`content` with its links on the request's public base URL (see the class)."""
        if self.request_base is None or not isinstance(content, str):
            return content
        url = self.request_base(request) + "/ogc"
        return content if url == self.url else content.replace(self.url, url)

    async def _refuse(self, request: Request, status: int, code: str, message: str) -> Response:
        api = self.api
        assert api is not None
        api_request = await APIRequest.from_starlette(request, api.locales)
        headers = api_request.get_response_headers(**api.api_headers)
        return _response(*api.get_exception(status, headers, api_request.format, code, message))

    # -- endpoints --------------------------------------------------------------------------

    async def landing_page(self, request: Request) -> Response:
        return await self._call(request, _landing_page)

    async def openapi(self, request: Request) -> Response:
        return await self._call(request, core_api.openapi_)

    async def conformance(self, request: Request) -> Response:
        return await self._call(request, discovery.conformance)

    async def _refresh_extents(self) -> bool:
        """Measures the temporal extents again; False when the database is unavailable (the
        extents measured last stay). That wait is the request's one wait for a connection: a
        request that needs the database answers 503 at once rather than wait again in pygeoapi
        (a second pool timeout: the 10 s of issue 10, point 8)."""
        if self.api is None or self.database is None:
            return True
        try:
            await add_temporal_extents(self.api.config, self.database)
        except DATABASE_UNAVAILABLE as error:
            log.warning("OGC temporal extents not refreshed: %s", error)
            return False
        return True

    async def collections(self, request: Request) -> Response:
        await self._refresh_extents()
        return await self._call(request, _collections_with_tilesets,
                                request.path_params.get("collection_id"))

    async def schema(self, request: Request) -> Response:
        return await self._call(request, core_api.get_collection_schema,
                                request.path_params["collection_id"])

    async def queryables(self, request: Request) -> Response:
        return await self._call(request, itemtypes_api.get_collection_queryables,
                                request.path_params["collection_id"])

    async def items(self, request: Request) -> Response:
        collection = request.path_params["collection_id"]
        if self.api is not None and (reason := await guard.refusal(request)):
            return await self._refuse(request, HTTPStatus.BAD_REQUEST, "InvalidParameterValue", reason)
        if self.api is not None and collection in self.fields:
            # pygeoapi silently ignores an unknown ?name=value (so it matches every row): refuse it.
            unknown = sorted(set(request.query_params) - RESERVED - self.fields[collection])
            if unknown:
                return await self._refuse(request, HTTPStatus.BAD_REQUEST, "InvalidParameterValue",
                                          f"unknown query parameter: {', '.join(unknown)}")
            if reason := _unknown_names(request.query_params, self.fields[collection]):
                return await self._refuse(request, HTTPStatus.BAD_REQUEST, "InvalidParameterValue", reason)
        if self.fast_items is not None:   # the common GeoJSON request, without pygeoapi
            unavailable = False
            base = self.url if self.request_base is None else self.request_base(request) + "/ogc"
            try:
                answer = await self.fast_items.answer(request, collection, base)
            except DATABASE_UNAVAILABLE as error:
                log.warning("OGC query on %s failed: %s", collection, error)
                answer, unavailable = None, True
            if unavailable:   # answered outside the except: no traceback in the log
                return await self._refuse(request, HTTPStatus.SERVICE_UNAVAILABLE, "ServiceUnavailable",
                                          DatabaseUnavailable.default_msg)
            if answer is not None:
                return answer
        # The temporal extents matter to pygeoapi's items handler only to check `datetime`.
        if "datetime" in request.query_params and not await self._refresh_extents():
            return await self._refuse(request, HTTPStatus.SERVICE_UNAVAILABLE, "ServiceUnavailable",
                                      DatabaseUnavailable.default_msg)
        if request.method == "POST" and request.headers.get("content-type") == "application/geo+json":
            return await self._refuse(request, HTTPStatus.METHOD_NOT_ALLOWED, "InvalidParameterValue",
                                      "collections are read-only")
        # off the event loop: reading a CQL2 text takes milliseconds
        if (self.api is not None and collection in self.crs
                and (request.method == "POST" or FILTER_PARAMETERS & set(request.query_params))
                and (reason := await asyncio.to_thread(filters.check, request.query_params, request.method,
                                                       await request.body(), self.crs[collection]))):
            return await self._refuse(request, HTTPStatus.BAD_REQUEST, "InvalidParameterValue", reason)
        return _as_geojson(await self._call(request, self.items_handler, collection, skip_valid_check=True))

    async def item(self, request: Request) -> Response:
        return _as_geojson(await self._call(request, itemtypes_api.get_collection_item,
                                            request.path_params["collection_id"],
                                            request.path_params["item_id"]))

    async def tilematrixsets(self, request: Request) -> Response:
        if "tileMatrixSetId" in request.path_params:
            return await self._call(request, tiles_api.tilematrixset, request.path_params["tileMatrixSetId"])
        return await self._call(request, tiles_api.tilematrixsets)

    async def tiles(self, request: Request) -> Response:
        return await self._call(request, tiles_api.get_collection_tiles, request.path_params["collection_id"])

    async def tiles_metadata(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(request, tiles_api.get_collection_tiles_metadata, p["collection_id"],
                                p["tileMatrixSetId"], skip_valid_check=True)

    async def tile(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(request, tiles_api.get_collection_tiles_data, p["collection_id"],
                                p["tileMatrixSetId"], p["tile_matrix"], p["tileRow"], p["tileCol"],
                                skip_valid_check=True)

    def routes(self) -> list[BaseRoute]:
        """pygeoapi's Features, Part 3 and Tiles routes (the paths of its starlette_app)."""
        collection = "/collections/{collection_id}"
        tms = collection + "/tiles/{tileMatrixSetId}"
        return [
            # Items first: the routes are tried in order and a map panning sends many items
            # requests; behind twelve other patterns their matching was 2-3 % of a small items
            # page's CPU (cProfile, bench/RESULTS.md). No other path here ends in /items.
            Route(collection + "/items", self.items, methods=["GET", "POST"]),
            # Ours first (ogc/static: the pages' scripts, the base map), then pygeoapi's own.
            Mount("/static", StaticFiles(directory=STATIC_DIR, packages=[("pygeoapi", "static")],
                                         follow_symlink=True)),
            Route("/", self.landing_page),
            Route("/openapi", self.openapi),
            Route("/conformance", self.conformance),
            # pygeoapi's spelling (its landing page links it) and OGC API Tiles' own.
            Route("/TileMatrixSets", self.tilematrixsets),
            Route("/TileMatrixSets/{tileMatrixSetId}", self.tilematrixsets),
            Route("/tileMatrixSets", self.tilematrixsets),
            Route("/tileMatrixSets/{tileMatrixSetId}", self.tilematrixsets),
            Route("/collections", self.collections),
            Route(collection, self.collections),
            Route(collection + "/schema", self.schema),
            Route(collection + "/queryables", self.queryables),
            Route(collection + "/items/{item_id}", self.item),
            Route(collection + "/tiles", self.tiles),
            Route(tms, self.tiles_metadata),
            Route(tms + "/metadata", self.tiles_metadata),
            Route(tms + "/{tile_matrix}/{tileRow}/{tileCol}", self.tile),
        ]
