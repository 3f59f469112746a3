"""The /downloads listing page: every file of the manifest with its size, dates and checksum,
the licence, in Polish or English (gateway.i18n, domain `downloads`). No script at all."""

from functools import cache
from pathlib import Path

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from downloads.manifest import Manifest, ManifestFile
from gateway.i18n import LANGUAGE_COOKIE, LANGUAGES, negotiate, translations

DOMAIN = "downloads"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
DATASET_ORDER = ("reports", "report-density", "area-statistics", "police-statistics", "categories",
                 "tiles")
FORMAT_NAMES = {"gpkg": "GeoPackage", "csv": "CSV", "ndjson": "GeoJSON (NDJSON)",
                "parquet": "GeoParquet", "json": "JSON", "pmtiles": "PMTiles"}


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"])
    return env


def human_size(size: int, lang: str) -> str:
    units = ["B", "kB", "MB", "GB", "TB"]
    value, unit = float(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    pattern = "#,##0" if unit == 0 else "#,##0.0"
    return f"{format_decimal(value, format=pattern, locale=lang)} {units[unit]}"


def when(iso: str) -> str:
    """2026-12-02T12:00:00Z -> 2026-12-02 12:00 UTC"""
    return iso.replace("T", " ")[:16] + " UTC"


def _sorted(files: list[ManifestFile]) -> list[ManifestFile]:
    def key(f: ManifestFile) -> tuple:
        dataset = DATASET_ORDER.index(f.dataset) if f.dataset in DATASET_ORDER else len(DATASET_ORDER)
        return dataset, f.format
    return sorted(files, key=key)


def listing_page(request: Request, manifest: Manifest, base: str) -> HTMLResponse:
    lang = negotiate(request)
    gettext = translations(DOMAIN, lang)
    env = environment().overlay()
    env.install_gettext_translations(gettext, newstyle=True)
    latest = _sorted([f for f in manifest.files if f.series == "latest"])
    monthly = [(period, _sorted([f for f in manifest.files if f.period == period]))
               for period in manifest.periods()]
    html = env.get_template("downloads.html").render(
        lang=lang, languages=LANGUAGES, base=base, latest=latest, monthly=monthly,
        generated=manifest.generated, licence_url=LICENCE_URL, format_names=FORMAT_NAMES,
        size=lambda n: human_size(n, lang), when=when)
    response = HTMLResponse(html, headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie",
                                           "Content-Language": lang})
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response
