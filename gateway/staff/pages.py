"""The HTML shells of the officers' workbench (issue 13, points 7, 8 and 10). Everything private
is read by the pages' scripts (gateway/static/staff) through /graphql with the officer's bearer
token; the server gives each page only its texts and the workflow from config as JSON in
data- attributes (no inline script: CSP `script-src 'self'`)."""

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
from store.catalogue import load_catalogue, load_workflow

DOMAIN = "staff"
TEMPLATES = Path(__file__).with_name("templates")
# A page holds no private data (its script fetches that with the token), but it is for staff:
# never cached by a shared cache, never indexed.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
                "Vary": "Accept-Language, Cookie"}


@dataclass(frozen=True)
class StaffPages:
    config_dir: Path
    page_size: int = 20

    @cached_property
    def _environments(self) -> dict[str, jinja2.Environment]:
        return i18n.template_environments(TEMPLATES, DOMAIN)

    def page_config(self, lang: str) -> dict[str, Any]:
        """The catalogue and the workflow (statuses with their colours and transitions, the
        bodies a report may be forwarded to), names in `lang`."""
        catalogue = load_catalogue(self.config_dir)
        workflow = load_workflow(self.config_dir)
        name = "name_pl" if lang == "pl" else "name_en"
        return {
            "lang": lang,
            "pageSize": self.page_size,
            "categories": [{"id": c.id, "name": getattr(c, name), "colour": c.colour, "active": c.active}
                           for c in catalogue.categories],
            "statuses": [{"id": s.id, "name": getattr(s, name), "colour": s.colour, "initial": s.initial,
                          "closed": s.closed, "forwarding": s.forwarding,
                          "next": workflow.transitions.get(s.id, [])} for s in workflow.statuses],
            "forwardBodies": [{"id": b.id, "name": getattr(b, name)} for b in workflow.forward_to],
        }

    def render(self, request: Request, template: str, **values: Any) -> Response:
        lang = i18n.negotiate(request)
        html = self._environments[lang].get_template(template).render(
            lang=lang, other_lang="en" if lang == "pl" else "pl",
            messages=json.dumps(i18n.messages(DOMAIN, lang), ensure_ascii=False),
            config=json.dumps(self.page_config(lang), ensure_ascii=False), **values)
        return HTMLResponse(html, headers={**PAGE_HEADERS, "Content-Language": lang})

    async def work_list(self, request: Request) -> Response:
        return self.render(request, "list.html")

    async def report(self, request: Request) -> Response:
        return self.render(request, "report.html", report_id=str(request.path_params["report_id"]))


def staff_routes(pages: StaffPages) -> list[Route]:
    return [
        Route("/staff", pages.work_list),
        Route("/staff/reports/{report_id:uuid}", pages.report),
    ]
