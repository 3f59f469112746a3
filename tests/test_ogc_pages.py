"""The OGC API HTML pages are threatmap's (issue 11, point 10): the publisher, contact and licence
of the settings, Polish by default and English on ?lang=en or Accept-Language (pygeoapi's own
language handling with the `ogc` catalogues), rendered by Chromium with the network cut off."""

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.settings import Settings
from tests.support import CHROMIUM, app_in_thread, launch_chromium

PUBLISHER = {"publisher_name": "Komenda Główna Policji (test)",
             "contact_email": "dane-otwarte@policja.example", "data_licence_name": "CC BY-SA 4.0",
             "data_licence_url": "https://creativecommons.org/licenses/by-sa/4.0/"}
# A text of each page in each language (the `ogc` catalogue), and one that must not be there.
TEXTS = {"pl": ("Kolekcje", "Licencja", "Collections"), "en": ("Collections", "License", "Kolekcje")}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'")


@pytest.fixture(scope="module")
def base(settings: Settings, published: dict[str, uuid.UUID]) -> Iterator[str]:
    with app_in_thread(settings.model_copy(update=PUBLISHER)) as base:
        yield base


def _get(base: str, path: str, **headers: str) -> httpx.Response:
    answer = httpx.get(f"{base}{path}", headers={"Accept": "text/html", **headers}, timeout=30)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return answer


@pytest.mark.parametrize("path", ["/ogc/?f=html", "/ogc/collections?f=html",
                                  "/ogc/collections/reports?f=html", "/ogc/collections/categories?f=html",
                                  "/ogc/conformance?f=html"])
def test_pages_are_polish_by_default_and_english_on_request(base: str, path: str) -> None:
    polish = _get(base, path).text
    assert '<html lang="pl"' in polish and ">Kolekcje<" in polish and ">English<" in polish
    for english in (_get(base, path + "&lang=en").text,
                    _get(base, path, **{"Accept-Language": "en-GB,en;q=0.9"}).text):
        assert '<html lang="en"' in english and ">Collections<" in english and ">Polski<" in english
        assert ">Kolekcje<" not in english


def test_pages_show_the_publisher_contact_and_licence_of_the_settings(base: str) -> None:
    for lang in ("pl", "en"):
        html = _get(base, f"/ogc/?f=html&lang={lang}").text
        assert PUBLISHER["publisher_name"] in html
        assert f'href="mailto:{PUBLISHER["contact_email"]}"' in html
        assert f'href="{PUBLISHER["data_licence_url"]}"' in html and PUBLISHER["data_licence_name"] in html
        assert "opendata@example.org" not in html and "licenses/by/4.0" not in html


def test_the_json_metadata_carries_them_too(base: str) -> None:
    openapi = httpx.get(f"{base}/ogc/openapi?f=json", timeout=30).json()
    assert openapi["info"]["license"] == {"name": PUBLISHER["data_licence_name"],
                                          "url": PUBLISHER["data_licence_url"]}
    assert openapi["info"]["contact"]["name"] == PUBLISHER["publisher_name"]
    reports = httpx.get(f"{base}/ogc/collections/reports?f=json&lang=en", timeout=30).json()
    licences = [link for link in reports["links"] if link["rel"] == "license"]
    assert licences and all(link["href"] == PUBLISHER["data_licence_url"] for link in licences)
    assert "attribution required" in licences[0]["title"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("lang", ["pl", "en"])
async def test_landing_and_collection_pages_render_offline(base: str, lang: str) -> None:
    """Chromium with every request to another origin aborted and a strict CSP: the landing page
    and a collection page (with its Leaflet map and base map) render, in the language asked for
    with Accept-Language, with no page error and nothing fetched from elsewhere."""
    playwright_api = pytest.importorskip("playwright.async_api")
    local = urlsplit(base).netloc
    blocked: list[str] = []
    problems: list[str] = []

    async def offline(route: Any) -> None:
        request = route.request
        if urlsplit(request.url).netloc != local:
            blocked.append(request.url)
            await route.abort("internetdisconnected")
        elif request.resource_type == "document":
            response = await route.fetch()
            await route.fulfill(response=response,
                                headers={**response.headers, "content-security-policy": CSP})
        else:
            await route.continue_()

    shown, contrary = TEXTS[lang][:2], TEXTS[lang][2]
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            context = await browser.new_context(locale="pl-PL" if lang == "pl" else "en-GB",
                                                extra_http_headers={"Accept-Language": lang})
            await context.route("**/*", offline)
            page = await context.new_page()
            page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
            page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
                    if message.type == "error" else None)

            await page.goto(f"{base}/ogc/")
            assert await page.get_attribute("html", "lang") == lang
            header = await page.inner_text("header")
            assert shown[0] in header and contrary not in header
            footer = await page.inner_text("footer")
            assert PUBLISHER["publisher_name"] in footer and PUBLISHER["contact_email"] in footer
            assert shown[1] in footer and PUBLISHER["data_licence_name"] in footer

            await page.goto(f"{base}/ogc/collections/reports")
            assert await page.get_attribute("html", "lang") == lang
            await page.locator(".leaflet-overlay-pane path").nth(15).wait_for(timeout=60_000)
            assert shown[1] in await page.inner_text("main")
            # the language switch leads to the other language
            await page.click(".threatmap-language")
            other = "en" if lang == "pl" else "pl"
            await page.wait_for_load_state()
            assert await page.get_attribute("html", "lang") == other
        except playwright_api.TimeoutError as error:
            pytest.fail(f"{error.message.splitlines()[0]} on {page.url}; page errors: {problems}; "
                        f"requests to other origins: {blocked}")
        finally:
            await browser.close()
    assert not blocked, f"requests to other origins: {blocked}"
    assert not problems, problems
