"""The citizen map at / and the status page /r/<token> in a real headless Chromium (issue 12):
the whole journey in Polish and English (filter, popup, report, token, status page, an officer's
confirmation), an axe-core audit of the map, the form and the status page, and a phone's width;
the popup of a pin that stands for several reports of a cell (issue 16.5), by mouse and keyboard."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import mercantile
import psycopg
import pytest
from babel.dates import format_date
from PIL import Image

from gateway.settings import PROJECT_ROOT, Settings
from tests.support import (
    CHROMIUM,
    MAP_READY,
    WARSAW,
    app_in_thread,
    decode_tile,
    insert_report,
    launch_chromium,
    token,
    wait_in_page,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install "
                                                         "chromium; .ci/run does)")
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
axe_api = pytest.importorskip("axe_playwright_python.async_playwright",
                              reason="the axe-playwright-python package is missing")

SCREENSHOT = PROJECT_ROOT / "docs" / "citizen-map.png"
TEXTS = {
    "pl": {"report": "Zgłoś zagrożenie", "vandalism": "Akty wandalizmu", "confirmed": "potwierdzone",
           "new": "zgłoszone", "already": "Już zgłoszone?",
           "received": "Zgłoszenie przyjęte"},
    "en": {"report": "Report a threat", "vandalism": "Vandalism", "confirmed": "confirmed",
           "new": "reported", "already": "Already reported?",
           "received": "Report received"},
}
PUBLIC_LOCATION = """{ reports(filter: {categories: ["vandalism"]}, first: 1) {
  edges { node { id location { longitude latitude } } } } }"""
CONFIRM = """mutation($id: ID!) { setReportStatus(id: $id, status: "confirmed") { status } }"""
BY_TOKEN = """query($t: String!) { reportByToken(token: $t) { id } }"""
PHOTOS = """query($id: ID!) { report(id: $id) { photos { url mediaType } } }"""


def photo_with_gps() -> bytes:
    """A JPEG as a phone writes it: with EXIF GPS coordinates and a camera serial."""
    exif = Image.Exif()
    exif[0xA431] = "SERIAL-123456"                     # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (52.0, 13.0, 48.0), 3: "E", 4: (21.0, 0.0, 43.0)}   # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def server(settings: Settings, urls, clean_reports) -> Iterator[str]:
    with psycopg.connect(urls.app, autocommit=True) as conn:
        insert_report(conn, lon=WARSAW[0], lat=WARSAW[1], published=True, status="confirmed")
        for i in range(1, 12):
            insert_report(conn, lon=WARSAW[0] + i * 0.02, lat=WARSAW[1], published=True,
                          category="illegal-dumping")
    with app_in_thread(settings) as base:
        yield base


async def open_page(browser, url: str, width: int = 1000, height: int = 700):
    page = await browser.new_page(viewport={"width": width, "height": height})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(url)
    return page


async def serious_violations(page) -> list[str]:
    results = await axe_api.Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


async def click_report(page, lon: float, lat: float) -> None:
    """Zooms the map to the public point and clicks it, as a visitor would."""
    await page.evaluate(f"window.map.jumpTo({{center: [{lon}, {lat}], zoom: 15.5}})")
    await wait_in_page(page, MAP_READY)
    await wait_in_page(page, "window.map.queryRenderedFeatures({layers: ['reports']}).length > 0")
    x, y = await page.evaluate(f"""(() => {{ const p = window.map.project([{lon}, {lat}]);
        const r = window.map.getCanvas().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }})()""")
    await page.mouse.click(x, y)


@pytest.mark.parametrize("lang", ["pl", "en"])
async def test_the_whole_journey(server: str, settings: Settings, lang: str) -> None:
    texts = TEXTS[lang]
    async with httpx.AsyncClient(base_url=server) as http:
        node = (await http.post("/graphql", json={"query": PUBLIC_LOCATION})).json()[
            "data"]["reports"]["edges"][0]["node"]
    lon, lat = node["location"]["longitude"], node["location"]["latitude"]
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{server}/?lang={lang}#6/52.2/21.1")
            await wait_in_page(page, MAP_READY)
            assert await page.locator("html").get_attribute("lang") == lang
            assert await page.locator("#report-open").inner_text() == texts["report"]

            # filter by a category: the tile requests carry it, and so does the page's URL
            tiles: list[str] = []
            page.on("request", lambda r: tiles.append(r.url) if "/tiles/reports" in r.url else None)
            await page.locator("#filters-toggle").click()
            await page.locator("#f-categories input[value=vandalism]").check()
            await wait_in_page(page, MAP_READY)
            assert any("categories=vandalism" in url for url in tiles if ".mvt" in url), tiles
            assert "categories=vandalism" in page.url
            await page.locator("#filters-close").click()

            # click the point and read its popup (category, status, area, police unit, public id)
            await click_report(page, lon, lat)
            popup = page.locator(".maplibregl-popup")
            await popup.wait_for()
            await wait_in_page(page, "!document.querySelector('.p-area').textContent.includes('…')")
            text = await popup.inner_text()
            assert texts["vandalism"] in text and texts["confirmed"] in text, text
            assert "Warszawa" in text and node["id"] in text, text
            link = popup.locator(f"a[href='/ogc/collections/reports/items/{node['id']}?f=html']")
            assert await link.count() == 1

            # report a threat at a typed place, with the keyboard
            await page.locator("#report-open").focus()
            await page.keyboard.press("Enter")
            assert await page.evaluate("document.activeElement.id") == "r-pick"
            await page.locator("#r-lat").fill(f"{WARSAW[1]:.5f}")
            await page.locator("#r-lon").fill(f"{WARSAW[0]:.5f}")
            await page.locator("#r-lon").press("Tab")
            await page.locator("#r-category").select_option("vandalism")
            await page.locator("#r-nearby").get_by_text(texts["already"]).wait_for()
            await page.locator("#r-description").fill("Wybite szyby w wiacie przystanku.")
            await page.locator("#r-photos").set_input_files(
                [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}])
            await page.locator("#r-terms").check()
            await page.locator("#r-send").press("Enter")
            await page.locator("#r-done").wait_for()
            tracking = (await page.locator("#r-token").inner_text()).strip()
            assert len(tracking) > 20
            href = await page.locator("#r-status-link").get_attribute("href")
            assert page.errors == [], page.errors

            # the status page, before and after an officer confirms the report
            status_page = await open_page(browser, f"{server}{href}")
            await status_page.locator("#status-result h2").first.wait_for()
            body = await status_page.locator("#status-result").inner_text()
            assert texts["new"] in body and texts["received"] in body, body
            async with httpx.AsyncClient(base_url=server) as http:
                found = await http.post("/graphql", json={"query": BY_TOKEN, "variables": {"t": tracking}})
                report_id = found.json()["data"]["reportByToken"]["id"]
                officer = {"Authorization": f"Bearer {token(settings, 'officer', 'kwp-14')}"}
                confirmed = await http.post("/graphql", headers=officer,
                                            json={"query": CONFIRM, "variables": {"id": report_id}})
                assert confirmed.json()["data"]["setReportStatus"]["status"] == "confirmed", confirmed.text
                # the photo came with the report, without its metadata, and only for officers
                photos = (await http.post("/graphql", headers=officer, json={
                    "query": PHOTOS, "variables": {"id": report_id}})).json()["data"]["report"]["photos"]
                assert len(photos) == 1, photos
                assert (await http.get(photos[0]["url"])).status_code == 401
                stored = Image.open(io.BytesIO((await http.get(photos[0]["url"], headers=officer)).content))
                assert not stored.getexif() and "exif" not in stored.info, stored.info
            await status_page.reload()
            await status_page.locator("#status-result h2").first.wait_for()
            body = await status_page.locator("#status-result").inner_text()
            assert re.search(rf"{texts['confirmed']}", body) and "test-officer" not in body, body
            assert status_page.errors == [], status_page.errors
        finally:
            await browser.close()


async def test_no_serious_accessibility_violation(server: str) -> None:
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{server}/#6/52.2/21.1")
            await wait_in_page(page, MAP_READY)
            assert await serious_violations(page) == [], "map page"
            await page.locator("#filters-toggle").click()
            assert await serious_violations(page) == [], "filters"
            await page.locator("#filters-close").click()
            await page.locator("#report-open").click()
            assert await serious_violations(page) == [], "report form"
            status = await open_page(browser, f"{server}/r/no-such-token?lang=en")
            await status.locator("#status-result p").wait_for()
            assert await serious_violations(status) == [], "status page"
        finally:
            await browser.close()


async def test_works_on_a_phone(server: str) -> None:
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{server}/#11/52.23/21.01", width=360, height=740)
            await wait_in_page(page, MAP_READY)
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            # the legend is folded, and the map keeps most of the screen
            assert await page.locator("#legend-details").get_attribute("open") is None
            box = await page.locator("#map").bounding_box()
            assert box["width"] == 360 and box["height"] > 500, box
            await page.locator("#report-open").click()
            for control in ("#r-pick", "#r-lat", "#r-category", "#r-send"):
                box = await page.locator(control).bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, (control, box)
            await page.screenshot(path=str(Path("/tmp") / "citizen-map-360.png"))
            assert page.errors == [], page.errors
        finally:
            await browser.close()


async def tab_to(page, element_id: str, most: int = 12) -> None:
    """Presses Tab until the element has the focus (at most `most` times)."""
    for _ in range(most):
        if await page.evaluate("document.activeElement.id") == element_id:
            return
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == element_id, (
        element_id, await page.evaluate("document.activeElement.outerHTML.slice(0, 120)"))


async def test_reporting_with_the_keyboard_alone(server: str) -> None:
    """Issue 12.7: the whole report journey without a pointer: Tab, typing, Space and Enter."""
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{server}/?lang=en#6/52.2/21.1")
            await wait_in_page(page, MAP_READY)
            keys = page.keyboard
            focused = "document.activeElement.id"
            await tab_to(page, "report-open")              # past the skip link, the search
            await keys.press("Enter")
            assert await page.evaluate(focused) == "r-pick"
            for _ in range(3):
                await keys.press("Tab")
            assert await page.evaluate(focused) == "r-lat"
            await keys.type("52.2297")
            await keys.press("Tab")
            await keys.type("21.0122")
            await keys.press("Tab")
            assert await page.evaluate(focused) == "r-category-search"
            await keys.type("vandal")                      # narrows the list and picks the match
            assert await page.locator("#r-category").input_value() == "vandalism"
            await keys.press("Tab")
            await keys.press("Tab")
            assert await page.evaluate(focused) == "r-when"    # now by default; its fields take Tabs
            await tab_to(page, "r-description")
            await keys.type("Smashed bus shelter.")
            await tab_to(page, "r-terms")
            await keys.press("Space")
            await tab_to(page, "r-send")
            await keys.press("Enter")
            await page.locator("#r-done").wait_for()
            assert await page.evaluate(focused) == "r-done"
            assert len((await page.locator("#r-token").inner_text()).strip()) > 20
            assert page.errors == [], page.errors
        finally:
            await browser.close()


# -- a pin that stands for a cell's reports (issue 16.5: z 12-14, one feature a public cell) -----
SHOTS = Path("/tmp/threatmap-map-shots")
CELLS = {"busy": WARSAW, "three": (WARSAW[0] + 0.02, WARSAW[1]), "one": (WARSAW[0] + 0.04, WARSAW[1])}
DAY = datetime.now(UTC).replace(hour=10, minute=17, second=0, microsecond=0)
BUSY_NEWEST = (DAY - timedelta(days=3)).date()
CELL_TEXTS = {
    "pl": {"five": "5 zgłoszeń w tym oczku", "three": "3 zgłoszenia w tym oczku", "newest": "Najnowsze",
           "top": "Najczęściej", "pair": "Akty wandalizmu, status: potwierdzone", "date": "Data",
           "status": "Status", "two": "2 zgłoszenia w tym oczku",
           "dumping": "Dzikie wysypiska śmieci, status: zgłoszone",
           "filtered": "Liczone są tylko zgłoszenia zgodne z filtrami."},
    "en": {"five": "5 reports in this cell", "three": "3 reports in this cell", "newest": "Newest",
           "top": "Most frequent", "pair": "Vandalism, status: confirmed", "date": "Date",
           "status": "Status", "two": "2 reports in this cell",
           "dumping": "Illegal rubbish dumps, status: reported",
           "filtered": "Only reports matching the filters are counted."},
}
LOCATIONS = """{ reports(first: 100) { edges { node { location { longitude latitude } } } } }"""
MAP_FOCUSED = "document.activeElement && document.activeElement.classList.contains('maplibregl-canvas')"


@pytest.fixture
def cells_server(settings: Settings, urls, clean_reports) -> Iterator[str]:
    """Three public cells: five reports (three vandalism confirmed, two illegal dumping new, the
    newest three days ago), three reports, and one."""
    busy = [("vandalism", "confirmed", 10), ("vandalism", "confirmed", 8), ("vandalism", "confirmed", 6),
            ("illegal-dumping", "new", 4), ("illegal-dumping", "new", 3)]
    with psycopg.connect(urls.app, autocommit=True) as conn:
        for category, status, days in busy:
            insert_report(conn, lon=CELLS["busy"][0], lat=CELLS["busy"][1], category=category, status=status,
                          occurred_at=DAY - timedelta(days=days), published=True)
        for days in (2, 5, 9):
            insert_report(conn, lon=CELLS["three"][0], lat=CELLS["three"][1],
                          occurred_at=DAY - timedelta(days=days), published=True)
        insert_report(conn, lon=CELLS["one"][0], lat=CELLS["one"][1], category="illegal-dumping",
                      occurred_at=DAY - timedelta(days=1), published=True)
    with app_in_thread(settings) as base:
        yield base


async def public_points(server: str) -> dict[str, tuple[float, float]]:
    """The public point (cell centre) of each cell, as the public GraphQL layer gives it."""
    async with httpx.AsyncClient(base_url=server) as http:
        edges = (await http.post("/graphql", json={"query": LOCATIONS})).json()["data"]["reports"]["edges"]
    points: dict[tuple[float, float], int] = {}
    for edge in edges:
        where = edge["node"]["location"]
        point = (where["longitude"], where["latitude"])
        points[point] = points.get(point, 0) + 1
    by_count = {count: point for point, count in points.items()}
    assert sorted(by_count) == [1, 3, 5], points
    return {"busy": by_count[5], "three": by_count[3], "one": by_count[1]}


async def cell_features(server: str, points: list[tuple[float, float]]) -> list[dict]:
    """The `reports` features of the z 13 tiles holding the points, as a client decodes them."""
    tiles = {mercantile.tile(lon, lat, 13) for lon, lat in points}
    features = []
    async with httpx.AsyncClient(base_url=server) as http:
        for tile in tiles:
            response = await http.get(f"/tiles/reports/13/{tile.x}/{tile.y}.mvt")
            assert response.status_code == 200, response.text
            features += decode_tile(response.content, 13, tile.x, tile.y)["reports"]
    return features


async def centre_on(page, lon: float, lat: float, zoom: float = 13) -> None:
    await page.evaluate(f"window.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    await wait_in_page(page, MAP_READY)
    await wait_in_page(page, "window.map.queryRenderedFeatures({layers: ['reports']}).length > 0")


async def popup_text(page) -> str:
    popup = page.locator(".maplibregl-popup")
    await popup.wait_for()
    await wait_in_page(page, "!document.querySelector('.maplibregl-popup .p-area').textContent.includes('…')")
    return await popup.inner_text()


async def popup_by_keyboard(page) -> str:
    """Opens the popup of the pin at the map's centre with the keyboard (the map focused, Enter),
    once MapLibre has placed it again with its height; its text."""
    await page.locator("canvas.maplibregl-canvas").focus()
    await page.keyboard.press("Enter")
    text = await popup_text(page)
    await page.wait_for_timeout(300)
    return text


def assert_private_facts_absent(text: str) -> None:
    """A popup shows only what the tile carries: no description, contact or time of day."""
    assert "a private description" not in text and "private@example.org" not in text, text
    assert not re.search(r"\b\d{1,2}:\d{2}\b", text), text


async def test_the_tile_carries_one_feature_a_cell_with_its_count(cells_server: str) -> None:
    points = await public_points(cells_server)
    features = await cell_features(cells_server, list(points.values()))
    by_count = {f["properties"]["count"]: f["properties"] for f in features}
    assert sorted(by_count) == [1, 3, 5], features
    assert by_count[5] == {"category": "vandalism", "status": "confirmed", "date": BUSY_NEWEST.isoformat(),
                           "count": 5}
    assert set(by_count[1]) == {"category", "status", "date", "count"}


@pytest.mark.parametrize("lang", ["pl", "en"])
async def test_a_cell_pin_says_how_many_reports_and_their_newest_day(cells_server: str, lang: str) -> None:
    """The popup of a pin standing for a cell: "5 zgłoszeń" with Polish plural forms, the most
    frequent (category, status) pair and the newest day, labelled as such; a one-report cell
    reads as a report; by mouse and by keyboard; axe-clean; screenshots at 1280 and 360 px."""
    texts = CELL_TEXTS[lang]
    points = await public_points(cells_server)
    newest = format_date(BUSY_NEWEST, "long", locale=lang)
    SHOTS.mkdir(exist_ok=True)
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            lon, lat = points["busy"]
            page = await open_page(browser, f"{cells_server}/?lang={lang}#13/{lat}/{lon}", 1280, 800)
            await centre_on(page, lon, lat)

            # the mouse: click the busy cell's pin
            x, y = await page.evaluate(f"""(() => {{ const p = window.map.project([{lon}, {lat}]);
                const r = window.map.getCanvas().getBoundingClientRect();
                return [r.left + p.x, r.top + p.y]; }})()""")
            await page.mouse.click(x, y)
            text = await popup_text(page)
            assert texts["five"] in text, text
            assert re.search(rf"{texts['top']}\s+{texts['pair']}", text), text
            assert re.search(rf"{texts['newest']}\s+{newest}", text), text
            assert not re.search(rf"^{texts['date']}$", text, re.MULTILINE), text   # not "Date" any more
            assert "Warszawa" in text, text
            assert_private_facts_absent(text)
            assert await serious_violations(page) == [], "map with a cell's popup"
            await page.screenshot(path=SHOTS / f"cell-popup-{lang}-1280.png")

            # the keyboard: Tab to the map, Enter opens what lies at its centre, Escape closes it
            await page.keyboard.press("Escape")
            await page.locator(".maplibregl-popup").wait_for(state="detached")
            await page.locator("#search-input").focus()
            for _ in range(12):
                if await page.evaluate(MAP_FOCUSED):
                    break
                await page.keyboard.press("Tab")
            assert await page.evaluate(MAP_FOCUSED), await page.evaluate("document.activeElement.outerHTML")
            assert await page.locator("#map-keys").is_visible()
            assert await serious_violations(page) == [], "the map focused, its keys shown"
            await centre_on(page, *points["three"])
            await page.keyboard.press("Enter")
            text = await popup_text(page)
            assert texts["three"] in text and texts["newest"] in text, text
            assert await page.evaluate("document.activeElement.closest('.maplibregl-popup') !== null")
            announced = await page.locator("#announce").inner_text()
            assert texts["three"] in announced
            # the area and the unit come later: no label is read out without its value
            for label in {"pl": ("Obszar", "Jednostka Policji"), "en": ("Area", "Police unit")}[lang]:
                assert label not in announced, announced
            # MapLibre's own texts in the page's language
            close = page.locator(".maplibregl-popup-close-button")
            assert await close.get_attribute("aria-label") == {"pl": "Zamknij okienko",
                                                               "en": "Close popup"}[lang]
            await page.keyboard.press("Escape")
            await page.locator(".maplibregl-popup").wait_for(state="detached")
            assert await page.evaluate(MAP_FOCUSED)

            # a cell of one report reads as that report: its category, "Status", "Date"
            await centre_on(page, *points["one"])
            await page.keyboard.press("Enter")
            text = await popup_text(page)
            assert re.search(rf"^{texts['status']}$", text, re.MULTILINE), text
            assert re.search(rf"^{texts['date']}$", text, re.MULTILINE), text
            assert texts["newest"] not in text and texts["top"] not in text, text
            assert_private_facts_absent(text)
            await page.keyboard.press("Escape")

            assert page.errors == [], page.errors

            # a phone (the legend folded): the busy cell's popup fits the screen
            phone = await open_page(browser, f"{cells_server}/?lang={lang}#13/{lat}/{lon}", 360, 740)
            await centre_on(phone, lon, lat)
            await phone.locator("canvas.maplibregl-canvas").focus()
            await phone.keyboard.press("Enter")
            text = await popup_text(phone)
            assert texts["five"] in text and newest in text, text
            box = await phone.locator(".maplibregl-popup").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
            assert await serious_violations(phone) == [], "phone with a cell's popup"
            await phone.screenshot(path=SHOTS / f"cell-popup-{lang}-360.png")
            assert phone.errors == [], phone.errors

            # with a filter the popup has one line more: it still fits the map, top to bottom
            filtered = await open_page(
                browser, f"{cells_server}/?lang={lang}&categories=illegal-dumping#13/{lat}/{lon}", 360, 740)
            await centre_on(filtered, lon, lat)
            await popup_by_keyboard(filtered)
            popup = await filtered.locator(".maplibregl-popup").bounding_box()
            whole = await filtered.locator("#map").bounding_box()
            assert popup and whole and popup["y"] >= whole["y"] \
                and popup["y"] + popup["height"] <= whole["y"] + whole["height"], (popup, whole)
            assert filtered.errors == [], filtered.errors

            # filtered: the pin counts the matching reports only, and says so
            page = await open_page(browser, f"{cells_server}/?lang={lang}&categories=illegal-dumping"
                                            f"#13/{lat}/{lon}", 1280, 800)
            await centre_on(page, lon, lat)
            await page.locator("canvas.maplibregl-canvas").focus()
            await page.keyboard.press("Enter")
            text = await popup_text(page)
            assert texts["two"] in text and texts["filtered"] in text, text
            assert re.search(rf"{texts['top']}\s+{texts['dumping']}", text), text
            assert re.search(rf"{texts['newest']}\s+{newest}", text), text
            assert page.errors == [], page.errors
        finally:
            await browser.close()


# -- the map's details (review of issue 16): attribution, focus inside the map, the ring, popups --
ATTRIBUTION_WORDS = {"pl": ("Granice", "zgłoszenia"), "en": ("Boundaries", "citizen reports")}


@pytest.mark.parametrize("lang", ["pl", "en"])
async def test_the_attribution_credits_each_source_once_in_the_pages_language(server: str, lang: str) -> None:
    """The boundaries (GUGiK's register, PRG, converted by polska-geojson under MIT) and the
    reports each credited once, in the page's language: the tiles' TileJSON says it in no
    language, and the page's sources say it in theirs."""
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{server}/?lang={lang}#13/{WARSAW[1]}/{WARSAW[0]}", 1280, 800)
            await wait_in_page(page, MAP_READY)
            await wait_in_page(page, "document.querySelector('.maplibregl-ctrl-attrib-inner')"
                                     "?.textContent.includes('threatmap')")
            text = await page.locator(".maplibregl-ctrl-attrib-inner").inner_text()
            assert text.count("GUGiK") == 1 and "polska-geojson" in text and "(MIT)" in text, text
            assert text.count("threatmap") == 1, text
            for language, (boundaries, reports) in ATTRIBUTION_WORDS.items():
                assert (boundaries in text and reports in text) == (language == lang), text
            assert page.errors == [], page.errors
        finally:
            await browser.close()

MAP_DETAILS = """(() => {
  const map = document.getElementById("map"), box = map.getBoundingClientRect();
  const frame = getComputedStyle(map, "::before"), ring = getComputedStyle(map, "::after");
  const canvas = getComputedStyle(window.map.getCanvas());
  const outer = (style, side) => parseFloat(style[side]) + (style.boxSizing === "content-box"
      ? parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth) : 0);
  return {
    mapOverflow: getComputedStyle(map).overflow,
    canvasOutline: canvas.outlineStyle === "none" ? 0
      : parseFloat(canvas.outlineWidth) + parseFloat(canvas.outlineOffset),
    frame: {content: frame.content, position: frame.position,
            inset: [frame.top, frame.right, frame.bottom, frame.left], border: frame.borderTopWidth,
            borderColour: frame.borderTopColor, shadow: frame.boxShadow},
    ringOffset: [parseFloat(ring.marginLeft) + outer(ring, "width") / 2,
                 parseFloat(ring.marginTop) + outer(ring, "height") / 2],
    ringCentre: [parseFloat(ring.left), parseFloat(ring.top)], mapSize: [box.width, box.height],
  };
})()"""


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2.1 contrast ratio of two sRGB colours."""
    def luminance(rgb: tuple[int, int, int]) -> float:
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


@pytest.mark.parametrize("lang", ["pl", "en"])
async def test_the_map_focus_the_centre_ring_and_a_popup_over_the_legend(cells_server: str,
                                                                         lang: str) -> None:
    """With the keyboard the map's focus is drawn inside its edges (the map clips what lies
    outside), amber with a dark inner line of at least 3:1 against the land and the water; the
    ring where Enter picks is centred on the map's centre, where the pin is; on a phone a popup
    is above the open legend. Screenshots at 1280 and 360 px in /tmp/threatmap-map-shots."""
    points = await public_points(cells_server)
    lon, lat = points["busy"]
    SHOTS.mkdir(exist_ok=True)
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await open_page(browser, f"{cells_server}/?lang={lang}#13/{lat}/{lon}", 1280, 800)
            await centre_on(page, lon, lat)
            await page.locator("#search-input").focus()
            for _ in range(12):
                if await page.evaluate(MAP_FOCUSED):
                    break
                await page.keyboard.press("Tab")
            assert await page.evaluate(MAP_FOCUSED)
            details = await page.evaluate(MAP_DETAILS)
            assert details["mapOverflow"] == "hidden"
            assert details["canvasOutline"] <= 0, details   # an outline outside the map is cut off
            frame = details["frame"]
            assert frame["content"] == '""' and frame["position"] == "absolute", frame
            assert frame["inset"] == ["0px"] * 4 and frame["border"] == "3px", frame
            assert rgb(frame["borderColour"]) == (245, 158, 11), frame
            inner = rgb(frame["shadow"])
            for background in ((0xf7, 0xf5, 0xf0), (0xdd, 0xe5, 0xea)):   # land, water (basemap.js)
                assert contrast(inner, background) >= 3, (inner, background)
            assert contrast(inner, rgb(frame["borderColour"])) >= 3, inner
            pin = await page.evaluate(f"""(() => {{ const p = window.map.project([{lon}, {lat}]);
                return [p.x, p.y]; }})()""")
            # the ring is placed at the map's centre and centred on that point, where the pin is
            assert all(abs(at - size / 2) < 1 for at, size in
                       zip(details["ringCentre"], details["mapSize"], strict=True)), details
            assert [abs(v) for v in details["ringOffset"]] == [0, 0], details
            assert all(abs(at - size / 2) < 1 for at, size in
                       zip(pin, details["mapSize"], strict=True)), (pin, details)
            await page.screenshot(path=SHOTS / f"map-focus-{lang}-1280.png")
            assert page.errors == [], page.errors

            # a phone, the legend opened: the busy cell's popup is above it where they overlap
            phone = await open_page(browser, f"{cells_server}/?lang={lang}#13/{lat}/{lon}", 360, 740)
            await centre_on(phone, lon, lat)
            await phone.locator("#legend-title").click()
            assert await phone.locator("#legend-details").get_attribute("open") is not None
            await popup_by_keyboard(phone)
            popup = await phone.locator(".maplibregl-popup-content").bounding_box()
            legend = await phone.locator("#legend").bounding_box()
            assert popup and legend
            left = max(popup["x"], legend["x"])
            right = min(popup["x"] + popup["width"], legend["x"] + legend["width"])
            top = max(popup["y"], legend["y"])
            bottom = min(popup["y"] + popup["height"], legend["y"] + legend["height"])
            assert left + 4 < right and top + 4 < bottom, (popup, legend)   # they do overlap
            probes = [(x, y) for x in (left + 2, (left + right) / 2, right - 2)
                      for y in (top + 2, (top + bottom) / 2, bottom - 2)]
            on_top = await phone.evaluate("""(probes) => probes.map(([x, y]) =>
                document.elementFromPoint(x, y)?.closest('.maplibregl-popup') !== null)""", probes)
            assert all(on_top), (probes, on_top)
            await phone.screenshot(path=SHOTS / f"map-popup-legend-{lang}-360.png")
            assert phone.errors == [], phone.errors
        finally:
            await browser.close()
