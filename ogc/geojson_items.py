"""Items as GeoJSON written by PostgreSQL (issue 16, point 3).

pygeoapi's GeoJSON items answer cost the door more than the database did: per feature, psycopg
decodes a row and its geometry's JSON into Python objects, the provider builds a dict, and
pygeoapi's `to_json` writes it all out again (0.37 of the SQL floor at limit 100 on a city box).
Here, when the answer of an items request is GeoJSON (`f=json`, or no `f` and no Accept asking
for another format, exactly as pygeoapi chooses), the provider asks PostgreSQL for the page's
features as one JSON text (`ogc.provider.OpenLayerProvider._raw_page`) and hands pygeoapi a
placeholder in their place; pygeoapi does everything else as before (parameters and their
errors, links, numberMatched, numberReturned, timeStamp, Content-Crs), and the placeholder in
its JSON is replaced by PostgreSQL's text. HTML, CSV, JSON-LD, single items and every other
path are pygeoapi's, untouched. tests/test_ogc_geojson_items.py compares both paths' JSON.

The hand-over is a context variable holding a list: set in the worker thread that runs
pygeoapi's handler, where pygeoapi builds and calls the provider, so no other request sees it.
"""

import json
import uuid
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import pygeoapi.api.itemtypes as itemtypes_api
from pygeoapi.api import API, APIRequest
from pygeoapi.formats import F_JSON
from pygeoapi.util import filter_dict_by_key_value, get_dataset_formatters

# A string no feature can contain (a fresh UUID per process), and how pygeoapi's to_json writes it.
MARKER = f"threatmap-features-{uuid.uuid4()}"
QUOTED_MARKER = json.dumps(MARKER)

_collected: ContextVar[list["RawFeatures"] | None] = ContextVar("threatmap_raw_features", default=None)


class RawFeatures(list):
    """A page's features as JSON text (`f1,f2,...`, without brackets), standing in pygeoapi's
    `features` list: `len()` is the number of features (pygeoapi's `next` link reads it), while
    json.dumps writes its one real item, the marker, which `collection_items` then replaces."""

    def __init__(self, text: str, count: int) -> None:
        super().__init__([MARKER])
        self.text = text
        self.count = count

    def __len__(self) -> int:
        return self.count


def collector() -> list[RawFeatures] | None:
    """Where the provider puts a page written by PostgreSQL; None when pygeoapi must get the
    features as Python objects (another format, or the fast path is off)."""
    return _collected.get()


def answers_geojson(api: API, request: APIRequest, dataset: str) -> bool:
    """Whether pygeoapi's items handler will answer `request` with its JSON (GeoJSON): the format
    chosen as it chooses it (`f`, else Accept against the collection's own formatters too)."""
    collections = filter_dict_by_key_value(api.config["resources"], "type", "collection")
    if dataset not in collections:
        return False
    formatters = get_dataset_formatters(collections[dataset])
    chosen = request._get_format(request.get_request_headers(request.headers),
                                 {v.f: v.mimetype for v in formatters.values()})
    return chosen in (None, F_JSON)


def collection_items(api: API, request: APIRequest, dataset: str) -> tuple[dict, int, Any]:
    """pygeoapi's items handler, its GeoJSON features written by PostgreSQL (see the module)."""
    if not answers_geojson(api, request, dataset):
        return itemtypes_api.get_collection_items(api, request, dataset)
    pages: list[RawFeatures] = []
    token = _collected.set(pages)
    try:
        headers, status, content = itemtypes_api.get_collection_items(api, request, dataset)
    finally:
        _collected.reset(token)
    if pages and status == HTTPStatus.OK and isinstance(content, str):
        content = with_features(content, pages[0])
    return headers, status, content


def with_features(document: str, features: Any) -> str:
    """pygeoapi's JSON `document` (to_json) with the marker of `features`, when they are
    RawFeatures, replaced by their text."""
    if not isinstance(features, RawFeatures):
        return document
    # to_json escapes < and > in every string of the document; the features' text likewise.
    text = features.text.replace("<", "&lt;").replace(">", "&gt;")
    return document.replace(QUOTED_MARKER, text, 1)
