"""/ogc/openapi made valid, honest and self-contained (issue 11, point 6).

pygeoapi 0.24's document (`pygeoapi.openapi.get_oas`) refers ~140 times to schemas on remote
sites (schemas.opengis.net, raw.githubusercontent.com), so a viewer (ReDoc, Swagger UI) or a
registry offline, or behind a firewall, cannot resolve it; it lists an OPTIONS operation per
items path (answered 405 unless a CORS preflight), POST bodies as application/json only, and tags
of services we do not run; it does not document `filter`, `filter-lang`, `filter-crs` or the
CRSs offered. `self_contained` rewrites it: every remote reference points at one of our own
components (ogc/openapi_components.yml), and an unknown one stops the start (a pygeoapi upgrade
that adds one is seen in the tests, not by a client).
"""

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

COMPONENTS_FILE = Path(__file__).with_name("openapi_components.yml")
OAPIF1 = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"
# Each remote reference pygeoapi writes -> our component of the same meaning.
REMOTE = {
    **{f"{OAPIF1}#/components/responses/{name}": f"#/components/responses/{name}"
       for name in ("LandingPage", "Collection", "Features", "Feature", "InvalidParameter", "NotFound",
                    "ServerError")},
    f"{OAPIF1}#/components/parameters/datetime": "#/components/parameters/datetime",
    f"{OAPIF1}#/components/parameters/featureId": "#/components/parameters/featureId",
    "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/parameters/sortby.yaml":
        "#/components/parameters/sortby",
    "https://schemas.opengis.net/cql2/1.0/cql2.json": "#/components/schemas/cql2",
    "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/exception.yaml":
        "#/components/schemas/exception",
    "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml#/components/schemas/link":
        "#/components/schemas/link",
}
FILTER_PARAMETERS = [{"$ref": f"#/components/parameters/{name}"}
                     for name in ("filter", "filter-lang", "filter-crs")]
SPATIAL = {"bbox", "bbox-crs", "crs", "filter-crs"}   # parameters of a collection with geometry only
CQL2_JSON_TYPES = ("application/query-cql-json", "application/json")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def references(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of the document holding a `$ref`."""
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The object a local reference (#/a/b/c) points at; KeyError if none."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def self_contained(openapi: dict[str, Any], crs_list: list[str],
                   without_geometry: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The document with no remote reference, no OPTIONS operation, the filter parameters and the
    CRS list documented, and no spatial parameter on the collections `without_geometry`;
    ValueError if a remote reference has no local component here."""
    document = copy.deepcopy(openapi)
    with COMPONENTS_FILE.open(encoding="utf-8") as handle:
        ours = yaml.safe_load(handle)
    components = document.setdefault("components", {})
    for kind, entries in ours.items():
        components.setdefault(kind, {}).update(entries)
    unknown = set()
    for holder in references(document):
        ref = holder["$ref"]
        if not ref.startswith("#"):
            if ref not in REMOTE:
                unknown.add(ref)
            else:
                holder["$ref"] = REMOTE[ref]
    if unknown:
        raise ValueError(f"OpenAPI: remote references with no local component: {sorted(unknown)}")
    _document_crs(components, crs_list)
    for path, item in document.get("paths", {}).items():
        item.pop("options", None)   # OPTIONS answers CORS preflights only, else 405
        get, post = item.get("get"), item.get("post")
        if path.endswith("/items") and get is not None:
            get["parameters"] = [*get.get("parameters", []), *FILTER_PARAMETERS]
        if path.split("/")[1:3] in (["collections", name] for name in without_geometry):
            for operation in item.values():
                operation["parameters"] = [p for p in operation.get("parameters", [])
                                           if p.get("$ref", "").rsplit("/", 1)[-1] not in SPATIAL]
        if path.endswith("/items") and post is not None:
            _post_is_a_query(post)
    _drop_unused_tags(document)
    return document


def _document_crs(components: dict[str, Any], crs_list: list[str]) -> None:
    parameters = components.get("parameters", {})
    for name in ("crs", "bbox-crs", "filter-crs"):
        if name in parameters:
            parameters[name]["schema"] = {"type": "string", "format": "uri", "enum": list(crs_list),
                                          **({"default": crs_list[0]} if crs_list else {})}
            parameters[name]["description"] = (
                parameters[name].get("description", "").rstrip()
                + " One of the collection's CRSs (its `crs` list); EPSG:2180 is PUWG 1992.").strip()


def _post_is_a_query(post: dict[str, Any]) -> None:
    """POST /items is a CQL2 JSON query here (collections are read-only: a GeoJSON body is 405)."""
    post["summary"] = post.get("summary", "").replace("Get", "Query", 1) or "Query items with CQL2 JSON"
    schema = {"$ref": "#/components/schemas/cql2"}
    post["requestBody"] = {"description": "A CQL2 JSON filter", "required": True,
                           "content": {media: {"schema": schema} for media in CQL2_JSON_TYPES}}


def _drop_unused_tags(document: dict[str, Any]) -> None:
    used = {tag for item in document.get("paths", {}).values() for method, operation in item.items()
            if method in HTTP_METHODS for tag in operation.get("tags", [])}
    document["tags"] = [tag for tag in document.get("tags", []) if tag.get("name") in used]
