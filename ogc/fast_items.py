"""The common GeoJSON items request, answered on the event loop before pygeoapi (issue 16.3).

After ogc/geojson_items.py let PostgreSQL write a page's features, a limit-100 page still cost
the door about as much again as the database (0.56 of the SQL floor): per request, not per
feature. Profiled in-process (bench/RESULTS.md), that was a worker-thread hop out of the loop and
another back into it for the query (ogc.bridge), pygeoapi's provider built anew from its
configuration, a pyproj CRS pair for `create_crs_transform_spec`, its items handler's parsing and
logging, and a query for the temporal extents before every items request.

A request of the shape maps and GIS clients send when they pan (`f=json` or no `f` with an
Accept that pygeoapi reads as GeoJSON; `limit`, `offset`, `bbox` in CRS84; `?property=value`)
is answered here instead, on the loop: its parameters read by pygeoapi's own functions
(`evaluate_limit`, `validate_bbox`); the features, as the UTF-8 bytes PostgreSQL writes, and
numberMatched from the provider (`OpenLayerProvider.geojson_page`: one statement for a last page,
as a small viewport's always is; the count after a full page); the few bytes around them
written here as pygeoapi's `to_json` writes them, and the whole sent as it is. What pygeoapi
decides from the request's `f` and headers (whether the answer is GeoJSON, its language, the
response headers, the links' titles and `rel`) is worked out once per combination of those, by
pygeoapi's own `APIRequest`, and kept (an `Envelope`); per request only the query string and
the offsets go into the links. Anything else (another format or parameter, a parameter given
twice, a value pygeoapi refuses, a query the database refuses) is not answered here: `answer`
returns None and pygeoapi answers as it always did, its errors included.
tests/test_ogc_geojson_items.py compares the answers request by request: the same JSON as
pygeoapi's own path, and the same bytes as pygeoapi's path with PostgreSQL's features
(ogc.geojson_items), the timeStamp aside.
"""

import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from pygeoapi import l10n
from pygeoapi.api import API, SYSTEM_LOCALE, APIRequest, apply_gzip, evaluate_limit, validate_bbox
from pygeoapi.crs import DEFAULT_STORAGE_CRS, create_crs_transform_spec, set_content_crs_header
from pygeoapi.formats import F_GZIP, F_HTML, F_JSON, F_JSONLD, FORMAT_TYPES
from pygeoapi.plugin import load_plugin
from pygeoapi.provider import get_provider_by_type
from pygeoapi.provider.base import ProviderGenericError, ProviderTypeError
from pygeoapi.util import filter_dict_by_key_value, get_dataset_formatters
from starlette.requests import Request
from starlette.responses import Response

from ogc.provider import OpenLayerProvider
from store.errors import DATABASE_UNAVAILABLE

# The parameters answered here, beside the collection's property names (`?status=new`).
PARAMETERS = frozenset({"f", "limit", "offset", "bbox"})
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # pygeoapi's items timeStamp
# Envelopes kept (one per collection and combination of `f`, Accept, Accept-Language): clients
# send few; past this many (headers are the client's to choose) they are worked out each time.
ENVELOPES_KEPT = 256
LIMITS_KEPT = 1024   # `limit` values read (FastItems._limit), per collection and value asked for
# Stand-ins in the links' JSON text for what each request fills in: the OGC base URL (the
# request's own behind a proxy: gateway.urls), the query string, the prev/next offsets.
BASE, QUERY, OFFSET = "@@threatmap-base@@", "@@threatmap-query@@", "@@threatmap-offset@@"
HEAD = b'{"type":"FeatureCollection","features":['   # to_json's, up to the features


@dataclass(frozen=True)
class Collection:
    """What an items answer of one collection needs, worked out once at start-up."""
    name: str
    title: Any                      # a text or {language: text}, translated per request
    limits: dict[str, Any]
    definition: dict[str, Any]      # the feature provider's configuration
    provider: OpenLayerProvider
    formatters: dict[str, Any]      # pygeoapi's dataset formatters (CSV): their links
    mimetypes: dict[str, str]       # format name -> media type, for reading Accept
    fields: frozenset[str]


@dataclass(frozen=True)
class Envelope:
    """What pygeoapi's items answer takes from a request's `f` and headers, for one collection:
    None when the answer is not GeoJSON. The links are JSON text with BASE, QUERY and OFFSET
    in them, each followed by a comma (`to_json`'s escaping of < and > applied)."""
    headers: list[tuple[bytes, bytes]]   # the response's, Content-Length aside
    gzip: dict[str, str] | None          # pygeoapi's headers when it compresses (server.gzip)
    links: str                           # the links before prev and next
    prev: str
    next: str
    collection: str                      # the last link, no comma


def _same_crs(a: str, b: str) -> bool:
    def normal(crs: str) -> str:
        return crs.strip().rstrip("/").replace("https://", "http://")
    return normal(a) == normal(b)


def _json(value: Any) -> str:
    """One value as pygeoapi's to_json writes it."""
    return json.dumps(value, separators=(",", ":")).replace("<", "&lt;").replace(">", "&gt;")


class FastItems:
    """The items answers of the collections served by OpenLayerProvider in CRS84 storage."""

    def __init__(self, api: API) -> None:
        self.api = api
        self.collections: dict[str, Collection] = {}
        self.envelopes: dict[tuple[str, str | None, str | None, str | None, str | None], Envelope | None] = {}
        # pygeoapi compresses when the server says so and the request accepts it (its
        # get_response_headers): only then does Accept-Encoding tell envelopes apart.
        self.gzip = F_GZIP in FORMAT_TYPES
        self.pretty = bool(api.pretty_print)
        self.server_limits: dict[str, Any] = api.config["server"].get("limits", {})
        self.limits: dict[tuple[str, str | None], int] = {}
        resources = filter_dict_by_key_value(api.config["resources"], "type", "collection")
        for name, resource in resources.items():
            try:
                definition = get_provider_by_type(resource["providers"], "feature")
            except ProviderTypeError:
                continue
            provider = load_plugin("provider", definition)
            if (not isinstance(provider, OpenLayerProvider)
                    or not _same_crs(definition.get("storage_crs", DEFAULT_STORAGE_CRS), DEFAULT_STORAGE_CRS)
                    or create_crs_transform_spec(definition, None) is not None):
                continue
            formatters = get_dataset_formatters(resource)
            self.collections[name] = Collection(
                name=name, title=resource["title"], limits=resource.get("limits", {}),
                definition=definition, provider=provider, formatters=formatters,
                mimetypes={v.f: v.mimetype for v in formatters.values()},
                fields=frozenset(provider.fields))

    async def answer(self, request: Request, name: str, base_url: str) -> Response | None:
        """The items answer, or None when pygeoapi must answer (see the module); its links on
        `base_url` (the OGC API's URL as this request reached it). Raises
        store.errors.DATABASE_UNAVAILABLE when the database is."""
        collection = self.collections.get(name)
        params = request.query_params
        if collection is None or self.pretty or request.method != "GET" \
                or len(params.multi_items()) != len(params):
            return None
        if any(key not in PARAMETERS and key not in collection.fields for key in params):
            return None
        envelope = self._envelope(request, collection)
        if envelope is None:
            return None
        query = _parsed(params, self._limit(collection, params.get("limit")))
        if query is None:
            return None
        offset, limit, bbox, properties = query
        try:
            page = await collection.provider.geojson_page(offset, limit, bbox, properties)
        except DATABASE_UNAVAILABLE:
            raise
        except (ProviderGenericError, psycopg.Error):
            return None   # pygeoapi runs it again and answers the error in its own words
        if page is None:
            return None
        body = _document(envelope, base_url, params, offset, limit, *page)
        if envelope.gzip is not None:   # pygeoapi's compression, then ogc.service._as_geojson
            headers = dict(envelope.gzip)
            response = Response(apply_gzip(headers, body.decode("utf-8")), headers=headers)
            response.headers["content-type"] = "application/geo+json"
            return response
        response = Response(body)   # Content-Length; then the envelope's headers, made already
        response.raw_headers += envelope.headers
        return response

    def _limit(self, collection: Collection, requested: str | None) -> int | None:
        """`limit` as pygeoapi's evaluate_limit reads it against the server's and the collection's
        limits (None for a value it refuses), kept per value asked for."""
        key = (collection.name, requested)
        if (limit := self.limits.get(key)) is None:
            try:
                limit = evaluate_limit(requested, self.server_limits, collection.limits)
            except ValueError:
                return None
            if len(self.limits) < LIMITS_KEPT:
                self.limits[key] = limit
        return limit

    def _envelope(self, request: Request, collection: Collection) -> Envelope | None:
        headers = request.headers
        key = (collection.name, request.query_params.get("f"), headers.get("accept"),
               headers.get("accept-language"), headers.get("accept-encoding") if self.gzip else None)
        try:
            return self.envelopes[key]
        except KeyError:
            pass
        envelope = self._envelope_of(APIRequest(request, self.api.locales), collection)
        if len(self.envelopes) < ENVELOPES_KEPT:
            self.envelopes[key] = envelope
        return envelope

    def _envelope_of(self, request: APIRequest, collection: Collection) -> Envelope | None:
        """pygeoapi's items handler's headers and links for this request (its `f` and headers)."""
        # pygeoapi's headers are made before it reads the format against the collection's own
        # formatters; the format then decides whether the answer is GeoJSON.
        headers = request.get_response_headers(SYSTEM_LOCALE, **self.api.api_headers)
        format_ = request._get_format(request.headers, collection.mimetypes)
        if format_ not in (None, F_JSON):
            return None
        request._format = format_
        set_content_crs_header(headers, collection.definition, None)
        l10n.set_response_language(headers, l10n.get_plugin_locale(collection.definition, request.raw_locale),
                                   request.locale)
        gzip = dict(headers) if "Content-Encoding" in headers else None
        headers["Content-Type"] = "application/geo+json"   # as ogc.service._as_geojson labels GeoJSON
        links = [_json(link) + "," for link in self._links(request, collection)]
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return Envelope(headers=raw, gzip=gzip,
                        links="".join(links[:-3]), prev=links[-3], next=links[-2], collection=links[-1][:-1])

    def _links(self, request: APIRequest, collection: Collection) -> list[dict[str, str]]:
        """The links pygeoapi's items handler writes (pygeoapi/api/itemtypes.py), in its order,
        prev, next and the collection last, with BASE, QUERY and OFFSET in them."""
        uri = f"{BASE}/collections/{collection.name}/items"
        locale = request.locale
        links = [{
            "type": "application/geo+json", "rel": request.get_linkrel(F_JSON),
            "title": l10n.translate("This document as GeoJSON", locale),
            "href": f"{uri}?f={F_JSON}{QUERY}",
        }, {
            "rel": request.get_linkrel(F_JSONLD), "type": FORMAT_TYPES[F_JSONLD],
            "title": l10n.translate("This document as RDF (JSON-LD)", locale),
            "href": f"{uri}?f={F_JSONLD}{QUERY}",
        }, {
            "type": FORMAT_TYPES[F_HTML], "rel": request.get_linkrel(F_HTML),
            "title": l10n.translate("This document as HTML", locale),
            "href": f"{uri}?f={F_HTML}{QUERY}",
        }]
        links += [{"type": value.mimetype, "rel": "alternate", "title": f"This document as {key}",
                   "href": f"{uri}?f={value.name}{QUERY}"}
                  for key, value in collection.formatters.items()]
        fixed = f"f={request.format}&" if request.format is not None else ""
        links.append({"type": "application/geo+json", "rel": "prev",
                      "title": l10n.translate("Items (prev)", locale),
                      "href": f"{uri}?{fixed}offset={OFFSET}{QUERY}"})
        links.append({"type": "application/geo+json", "rel": "next",
                      "title": l10n.translate("Items (next)", locale),
                      "href": f"{uri}?{fixed}offset={OFFSET}{QUERY}"})
        links.append({"type": FORMAT_TYPES[F_JSON], "title": l10n.translate(collection.title, locale),
                      "rel": "collection", "href": "/".join(uri.split("/")[:-1])})
        return links


def _document(envelope: Envelope, base_url: str, params: Any, offset: int, limit: int, returned: int,
              features: bytes, matched: int | None) -> bytes:
    """The items document as pygeoapi's to_json writes it (keys in its order, no spaces, < and >
    escaped), around the features PostgreSQL wrote; the links as its items handler writes them
    (pygeoapi/api/itemtypes.py): `prev` after the first page, `next` when numberMatched goes
    beyond this page or the page is full."""
    query = "".join(f"&{urllib.parse.quote(k, safe='')}={urllib.parse.quote(str(v), safe=',')}"
                    for k, v in params.items() if k not in ("f", "offset"))
    links = envelope.links
    if offset > 0:
        links += envelope.prev.replace(OFFSET, str(max(0, offset - limit)))
    if (matched if matched is not None else -1) > limit + offset or returned == limit:
        links += envelope.next.replace(OFFSET, str(offset + limit))
    links = (links + envelope.collection).replace(BASE, base_url).replace(QUERY, query)
    counted = f',"numberMatched":{matched}' if matched is not None else ""
    tail = (f'],"numberReturned":{returned}{counted},"links":[{links}],'
            f'"timeStamp":"{_timestamp()}"}}')
    return b"".join((HEAD, features, tail.encode("utf-8")))


def _timestamp() -> str:
    """Now, as pygeoapi's items timeStamp (TIMESTAMP_FORMAT), without strftime's cost."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parsed(params: Any, limit: int | None) -> tuple[int, int, list[float], list[tuple[str, str]]] | None:
    """offset, limit (FastItems._limit's), bbox and the property filters as pygeoapi reads them;
    None for anything pygeoapi would refuse (it answers those) or that is not answered here (a
    6-number bbox)."""
    try:
        offset = int(params["offset"]) if "offset" in params else 0
        bbox = validate_bbox(params["bbox"]) if "bbox" in params else []
    except ValueError:
        return None
    if limit is None or offset < 0 or len(bbox) not in (0, 4):
        return None
    properties = [(k, v) for k, v in params.items() if k not in PARAMETERS]
    return offset, limit, bbox, properties
