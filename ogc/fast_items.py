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
(`evaluate_limit`, `validate_bbox`, `APIRequest`'s locale and format), the page and
numberMatched from the same provider SQL (`OpenLayerProvider.geojson_page`), the links,
headers and JSON exactly as pygeoapi's items handler writes them. Anything else (another
format or parameter, a parameter given twice, a value pygeoapi refuses, a query the database
refuses) is not answered here: `answer` returns None and pygeoapi answers as it always did, its
errors included. tests/test_ogc_geojson_items.py compares the two answers request by request.
"""

import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from pygeoapi import l10n
from pygeoapi.api import API, SYSTEM_LOCALE, APIRequest, evaluate_limit, validate_bbox
from pygeoapi.crs import DEFAULT_STORAGE_CRS, create_crs_transform_spec, set_content_crs_header
from pygeoapi.formats import F_HTML, F_JSON, F_JSONLD, FORMAT_TYPES
from pygeoapi.plugin import load_plugin
from pygeoapi.provider import get_provider_by_type
from pygeoapi.provider.base import ProviderGenericError, ProviderTypeError
from pygeoapi.util import filter_dict_by_key_value, get_dataset_formatters, to_json
from starlette.requests import Request

from ogc import geojson_items
from ogc.provider import OpenLayerProvider
from store.errors import DATABASE_UNAVAILABLE

# The parameters answered here, beside the collection's property names (`?status=new`).
PARAMETERS = frozenset({"f", "limit", "offset", "bbox"})
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # pygeoapi's items timeStamp


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


def _same_crs(a: str, b: str) -> bool:
    def normal(crs: str) -> str:
        return crs.strip().rstrip("/").replace("https://", "http://")
    return normal(a) == normal(b)


class FastItems:
    """The items answers of the collections served by OpenLayerProvider in CRS84 storage."""

    def __init__(self, api: API) -> None:
        self.api = api
        self.collections: dict[str, Collection] = {}
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

    async def answer(self, request: Request, name: str) -> tuple[dict[str, str], str] | None:
        """The headers and JSON text of the items answer, or None when pygeoapi must answer
        (see the module). Raises store.errors.DATABASE_UNAVAILABLE when the database is."""
        collection = self.collections.get(name)
        params = request.query_params
        if collection is None or request.method != "GET" or len(params.multi_items()) != len(params):
            return None
        if any(key not in PARAMETERS and key not in collection.fields for key in params):
            return None
        api_request = APIRequest(request, self.api.locales)
        # pygeoapi's headers are made before it reads the format against the collection's own
        # formatters; the format then decides whether the answer is GeoJSON.
        headers = api_request.get_response_headers(SYSTEM_LOCALE, **self.api.api_headers)
        format_ = api_request._get_format(api_request.headers, collection.mimetypes)
        if format_ not in (None, F_JSON):
            return None
        api_request._format = format_
        query = _parsed(params, collection, self.api.config["server"].get("limits", {}))
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
        returned, features, matched = page
        set_content_crs_header(headers, collection.definition, None)
        l10n.set_response_language(headers, l10n.get_plugin_locale(collection.definition,
                                                                    api_request.raw_locale),
                                   api_request.locale)
        content: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": geojson_items.RawFeatures(features, returned) if returned else [],
            "numberReturned": returned}
        if matched is not None:
            content["numberMatched"] = matched
        content["links"] = self._links(api_request, collection, offset, limit, matched, returned)
        content["timeStamp"] = datetime.now(UTC).strftime(TIMESTAMP_FORMAT)
        document = to_json(content, self.api.pretty_print)
        return headers, geojson_items.with_features(document, content["features"])

    def _links(self, request: APIRequest, collection: Collection, offset: int, limit: int,
               matched: int | None, returned: int) -> list[dict[str, str]]:
        """The links pygeoapi's items handler writes (pygeoapi/api/itemtypes.py), in its order."""
        serialized = "".join(f"&{urllib.parse.quote(k, safe='')}={urllib.parse.quote(str(v), safe=',')}"
                             for k, v in request.params.items() if k not in ("f", "offset"))
        uri = f"{self.api.get_collections_url()}/{collection.name}/items"
        locale = request.locale
        links = [{
            "type": "application/geo+json", "rel": request.get_linkrel(F_JSON),
            "title": l10n.translate("This document as GeoJSON", locale),
            "href": f"{uri}?f={F_JSON}{serialized}",
        }, {
            "rel": request.get_linkrel(F_JSONLD), "type": FORMAT_TYPES[F_JSONLD],
            "title": l10n.translate("This document as RDF (JSON-LD)", locale),
            "href": f"{uri}?f={F_JSONLD}{serialized}",
        }, {
            "type": FORMAT_TYPES[F_HTML], "rel": request.get_linkrel(F_HTML),
            "title": l10n.translate("This document as HTML", locale),
            "href": f"{uri}?f={F_HTML}{serialized}",
        }]
        links += [{"type": value.mimetype, "rel": "alternate", "title": f"This document as {key}",
                   "href": f"{uri}?f={value.name}{serialized}"}
                  for key, value in collection.formatters.items()]
        after = (matched if matched is not None else -1) > limit + offset or returned == limit
        fixed = f"f={request.format}&" if request.format is not None else ""
        if offset > 0:
            links.append({"type": "application/geo+json", "rel": "prev",
                          "title": l10n.translate("Items (prev)", locale),
                          "href": f"{uri}?{fixed}offset={max(0, offset - limit)}{serialized}"})
        if after:
            links.append({"type": "application/geo+json", "rel": "next",
                          "title": l10n.translate("Items (next)", locale),
                          "href": f"{uri}?{fixed}offset={offset + limit}{serialized}"})
        links.append({"type": FORMAT_TYPES[F_JSON], "title": l10n.translate(collection.title, locale),
                      "rel": "collection", "href": "/".join(uri.split("/")[:-1])})
        return links


def _parsed(params: Any, collection: Collection, server_limits: dict[str, Any]
            ) -> tuple[int, int, list[float], list[tuple[str, str]]] | None:
    """offset, limit, bbox and the property filters as pygeoapi reads them; None for anything
    pygeoapi would refuse (it answers those) or that is not answered here (a 6-number bbox)."""
    try:
        offset = int(params["offset"]) if "offset" in params else 0
        limit = evaluate_limit(params.get("limit"), server_limits, collection.limits)
        bbox = validate_bbox(params["bbox"]) if "bbox" in params else []
    except ValueError:
        return None
    if offset < 0 or len(bbox) not in (0, 4):
        return None
    properties = [(k, v) for k, v in params.items() if k not in PARAMETERS and k in collection.fields]
    return offset, limit, bbox, properties
