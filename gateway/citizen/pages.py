"""The citizen's pages: the map at `/` and the status page at `/r/<token>` (HTML from Jinja2
templates in the request's language; the scripts and styles are files in gateway/static/map,
and what they need arrives in data- attributes: the page's texts and the catalogue as JSON)."""

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from gateway import i18n
from gateway.citizen import places
from store.catalogue import load_catalogue, load_workflow
from tiles.addresses import REPORTS_MIN_ZOOM

DOMAIN = "map"
TEMPLATES = Path(__file__).with_name("templates")
# From this zoom the tiles carry the public id of each report (tiles.queries).
ID_MIN_ZOOM = 15
PAGE_CACHE = "no-cache"   # the language follows the request (Vary below)


@dataclass(frozen=True)
class Basemap:
    """What lies under the reports: the offline map of the shipped boundaries by default, or a
    MapLibre style URL, or a raster XYZ template with its attribution."""
    style_url: str | None = None
    raster_url: str | None = None
    attribution: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"style": self.style_url, "raster": self.raster_url, "attribution": self.attribution}


@dataclass(frozen=True)
class CitizenPages:
    config_dir: Path
    basemap: Basemap
    report_max_age_days: int
    max_photos: int = 3
    max_photo_bytes: int = 5 * 2**20
    max_description: int = 500

    @cached_property
    def _environments(self) -> dict[str, jinja2.Environment]:
        return i18n.template_environments(TEMPLATES, DOMAIN)

    def page_config(self, lang: str) -> dict[str, Any]:
        """The catalogue and settings a page's script needs, names in `lang`."""
        catalogue = load_catalogue(self.config_dir)
        workflow = load_workflow(self.config_dir)
        name = "name_pl" if lang == "pl" else "name_en"
        return {
            "lang": lang,
            "groups": [{"id": g.id, "name": getattr(g, name)} for g in catalogue.groups],
            "categories": [{"id": c.id, "group": c.group, "name": getattr(c, name), "colour": c.colour,
                            "icon": c.icon, "active": c.active,
                            "descriptionRequired": c.description_required}
                           for c in catalogue.categories],
            "statuses": [{"id": s.id, "name": getattr(s, name), "colour": s.colour,
                          "initial": s.initial} for s in workflow.statuses],
            "maxAgeDays": self.report_max_age_days,
            "maxDescription": self.max_description,
            "maxPhotos": self.max_photos,
            "maxPhotoBytes": self.max_photo_bytes,
            "reportsMinZoom": REPORTS_MIN_ZOOM,
            "idMinZoom": ID_MIN_ZOOM,
            "basemap": self.basemap.as_json(),
        }

    def render(self, request: Request, template: str, **values: Any) -> Response:
        lang = i18n.negotiate(request)
        env = self._environments[lang]
        html = env.get_template(template).render(
            lang=lang, other_lang="en" if lang == "pl" else "pl",
            messages=json.dumps(i18n.messages(DOMAIN, lang), ensure_ascii=False),
            config=json.dumps(self.page_config(lang), ensure_ascii=False), **values)
        return HTMLResponse(html, headers={"Cache-Control": PAGE_CACHE, "Vary": "Accept-Language, Cookie",
                                           "Content-Language": lang})

    async def map_page(self, request: Request) -> Response:
        return self.render(request, "map.html")

    async def status_page(self, request: Request) -> Response:
        return self.render(request, "status.html")

    async def places(self, request: Request) -> Response:
        return Response(places.places(self.config_dir), media_type="application/geo+json",
                        headers={"Cache-Control": "public, max-age=86400"})

    async def boundaries(self, request: Request) -> Response:
        level = request.path_params["level"]
        if level not in places.BOUNDARY_FILES:
            return Response(f"unknown level {level!r}; known: {', '.join(places.BOUNDARY_FILES)}",
                            status_code=404, media_type="text/plain")
        return Response(places.boundaries(self.config_dir, level), media_type="application/geo+json",
                        headers={"Cache-Control": "public, max-age=86400"})


def citizen_routes(pages: CitizenPages) -> list[Route]:
    """`/` itself stays with the composition root (it also answers JSON clients)."""
    return [
        Route("/r", pages.status_page),
        Route("/r/{token}", pages.status_page),
        Route("/map/places.geojson", pages.places),
        Route("/map/boundaries/{level}.geojson", pages.boundaries),
    ]
