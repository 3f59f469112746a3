"""The map page in a real headless Chromium: MapLibre loads the shipped files, the base map and
the tiles from a real server, and draws them (the citizen's journey: tests/test_citizen_map.py)."""

import base64
from collections.abc import Iterator

import psycopg
import pytest

from gateway.settings import Settings
from tests.support import (
    CHROMIUM,
    MAP_READY,
    WARSAW,
    app_in_thread,
    insert_report,
    launch_chromium,
    wait_in_page,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does): "
                             "the map page screenshot test needs it")
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")

COUNT_COLOURS = """
async (dataUrl) => {
  const image = new Image();
  image.src = dataUrl;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const colours = new Set();
  for (let i = 0; i < pixels.length; i += 4 * 7) {
    colours.add(pixels[i] << 16 | pixels[i + 1] << 8 | pixels[i + 2]);
  }
  return colours.size;
}
"""


@pytest.fixture
def server(settings: Settings, urls, clean_reports) -> Iterator[str]:
    with psycopg.connect(urls.app, autocommit=True) as conn:
        for i in range(30):
            insert_report(conn, lon=WARSAW[0] + i * 0.02, lat=WARSAW[1], published=True,
                          status="confirmed")
    with app_in_thread(settings) as base:
        yield base


async def test_map_page_draws_the_tiles(server: str) -> None:
    async with playwright_api.async_playwright() as p:
        browser = await launch_chromium(p)
        try:
            page = await browser.new_page(viewport={"width": 800, "height": 600})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            tiles_loaded: list[int] = []
            page.on("response", lambda r: tiles_loaded.append(r.status) if ".mvt" in r.url else None)
            await page.goto(f"{server}/#6/52.2/21.1")
            await wait_in_page(page, MAP_READY)
            assert not errors, errors
            assert 200 in tiles_loaded, f"no tile with data was fetched: {tiles_loaded}"
            legend = await page.locator("#legend-categories li").count()
            assert legend == 24
            shot = await page.locator("#map canvas").screenshot()
            colours = await page.evaluate(COUNT_COLOURS,
                                          "data:image/png;base64," + base64.b64encode(shot).decode())
            assert colours > 3, f"the map canvas looks blank ({colours} colours)"
        finally:
            await browser.close()
