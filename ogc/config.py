"""pygeoapi's configuration: pygeoapi-config.yml with its ${NAME} placeholders filled in from the
app's settings and runtime, and the temporal extents measured from the data."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ogc.bridge import PublicDatabase

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")

# The first published date: collections whose time is a report's date begin there. Their end is
# open (".."): the data grows while the service runs. Measured again before each collection or
# items request (one indexed min()), so that a report published later never falls outside.
TIME_RANGE_SQL = "SELECT min(occurred_on) FROM open.reports"


@dataclass(frozen=True)
class Publisher:
    """Who publishes the open data, as the OGC pages and pygeoapi's metadata name them (the
    settings THREATMAP_PUBLISHER_NAME, _CONTACT_EMAIL, _DATA_LICENCE_NAME, _DATA_LICENCE_URL)."""
    name: str = "threatmap"
    email: str = "opendata@example.org"
    licence_name: str = "CC BY 4.0"
    licence_url: str = "https://creativecommons.org/licenses/by/4.0/"

    def placeholders(self) -> dict[str, str]:
        return {"THREATMAP_PUBLISHER_NAME": self.name, "THREATMAP_CONTACT_EMAIL": self.email,
                "THREATMAP_DATA_LICENCE_NAME": self.licence_name,
                "THREATMAP_DATA_LICENCE_URL": self.licence_url}


def interpolate(node: Any, values: Mapping[str, str]) -> Any:
    """Replaces each ${NAME} in every string of the configuration; an unknown NAME is an error."""
    if isinstance(node, dict):
        return {key: interpolate(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, values) for value in node]
    if isinstance(node, str):
        def fill(match: re.Match[str]) -> str:
            if match[1] not in values:
                raise ValueError(f"pygeoapi-config.yml: unknown placeholder ${{{match[1]}}}")
            return values[match[1]]
        return PLACEHOLDER.sub(fill, node)
    return node


def load_config(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """The configuration as pygeoapi expects it; `x-` keys are YAML anchors only and are dropped.
    The publisher's placeholders not in `values` get `Publisher`'s defaults."""
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    values = {**Publisher().placeholders(), **values}
    return interpolate({k: v for k, v in raw.items() if not k.startswith("x-")}, values)


def image_origins(path: Path) -> list[str]:
    """Origins pygeoapi's HTML pages load images from: the basemap of its Leaflet maps
    (server.map.url), for the pages' Content-Security-Policy."""
    with path.open(encoding="utf-8") as handle:
        url = (yaml.safe_load(handle).get("server", {}).get("map") or {}).get("url", "")
    parts = urlsplit(url.replace("{s}", "*"))   # Leaflet's {s}ubdomains: any of them
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []


def feature_providers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Collection id -> its feature provider definition."""
    return {name: provider
            for name, resource in config["resources"].items()
            for provider in resource.get("providers", []) if provider.get("type") == "feature"}


async def add_temporal_extents(config: dict[str, Any], database: PublicDatabase) -> None:
    async with database.pool.connection() as conn:
        first = (await (await conn.execute(TIME_RANGE_SQL)).fetchone())[0]
    begin = datetime.combine(first.replace(day=1), time(), UTC) if first else None
    for name, provider in feature_providers(config).items():
        if provider.get("time_field"):
            config["resources"][name].setdefault("extents", {})["temporal"] = {
                "begin": begin, "end": None,
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
