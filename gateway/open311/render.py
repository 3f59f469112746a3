"""Open311 GeoReport v2 documents in JSON and XML, shaped as the specification's examples
(wiki.open311.org/GeoReport_v2), and its error format.

JSON: a list of objects (services, requests, errors) or one object (discovery, a service
definition). XML: the same data under the root element the specification names, each list item
in its own element (`<services><service>...`), nested lists likewise (`<attributes><attribute>`,
`<values><value>`, `<endpoints><endpoint>`, `<formats><format>`); None is an empty element,
booleans are `true`/`false`. Built with the standard library's ElementTree (which escapes text).
"""

import json
import xml.etree.ElementTree as ET
from typing import Any

from starlette.responses import Response

MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The element of one item of each list, in XML.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
         "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


class Open311Error(Exception):
    """An answer in the error format: `[{"code": status, "description": ...}]`."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


def split_format(name: str) -> tuple[str, str]:
    """`services.json` -> ("services", "json"); an unknown or missing format is a 400."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in MEDIA_TYPES:
        raise Open311Error(400, f"Add the format to the path: {name or '...'}.json or .xml.")
    return stem, fmt


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, dict):
        for key, inner in value.items():
            element.append(_element(key, inner))
    elif isinstance(value, list):
        item = ITEMS[name]
        for inner in value:
            element.append(_element(item, inner))
    else:
        element.text = _text(value)
    return element


def to_xml(root: str, value: Any) -> bytes:
    """The document with an XML declaration naming UTF-8 (the specification asks for it)."""
    return ET.tostring(_element(root, value), encoding="utf-8", xml_declaration=True)


def _json_default(value: Any) -> str:
    return str(value)   # UUIDs


def document(fmt: str, root: str, value: Any, status: int = 200,
             headers: dict[str, str] | None = None) -> Response:
    """`value` as JSON, or as XML under `root` (a list's items named by ITEMS[root])."""
    body = (json.dumps(value, ensure_ascii=False, default=_json_default).encode() if fmt == "json"
            else to_xml(root, value))
    return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt], headers=headers)


def error(fmt: str, failure: Open311Error) -> Response:
    return document(fmt, "errors", [{"code": failure.status, "description": failure.description}],
                    failure.status, failure.headers)
