"""The officers' workbench in a real headless Chromium against the real app and PostGIS (issue 13,
points 7, 8 and 10): an officer of one county sees only that county's reports, walks the list
with the keyboard, opens a report (it becomes under verification, and read), confirms one with
a comment, hands one to another unit, marks one not confirmed (it leaves the public layer, stays
on the list); an officer of another county is refused; two officers acting at once; the filters
in the URL; the export request; live updates; Polish by default, English on ?lang=en.

Signing in is the sign-in page's work (another door): here the token is minted and put where
that page keeps it (sessionStorage), before any script of the page runs."""

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from gateway.settings import Settings
from tests.support import (
    CHROMIUM,
    WARSAW,
    app_in_thread,
    codes,
    gql,
    insert_report,
    launch_chromium,
    token,
    wait_in_page,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
axe_api = pytest.importorskip("axe_playwright_python.async_playwright",
                              reason="the axe-playwright-python package is missing")

KRAKOW = (19.94, 50.06)       # county 1201
WARSAW_UNIT = "kpp-1405"      # the county unit of WARSAW (county 1405)
KRAKOW_UNIT = "kpp-1201"
TOKEN_KEY = "threatmap.staff.token"
SHOTS = Path("/tmp/threatmap-staff-shots")
LIST_LOADED = "document.getElementById('list').dataset.loaded !== undefined"
REPORT_LOADED = "document.getElementById('main').dataset.loaded !== undefined"
PUBLIC_IDS = """query { reports(first: 500) { edges { node { id } } } }"""
STAFF_IDS = """query($f: ReportFilter) { staffReports(filter: $f, first: 500) {
    edges { node { id status } } } }"""


@pytest.fixture
def world(urls, clean_reports) -> dict[str, str]:
    """Reports of the Warsaw county (one read deadline overdue, one published under verification)
    and of Kraków."""
    now = datetime.now(UTC)
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = {
            "fresh": insert_report(conn, created_at=now - timedelta(hours=1),
                                   occurred_at=now - timedelta(hours=2), description="broken lamp"),
            "overdue": insert_report(conn, lon=WARSAW[0] + 0.01, created_at=now - timedelta(days=3),
                                     occurred_at=now - timedelta(days=3, hours=1),
                                     description="old rubbish heap"),
            "to_hand": insert_report(conn, lon=WARSAW[0] - 0.01, created_at=now - timedelta(hours=5),
                                     occurred_at=now - timedelta(hours=6), description="tourist's report"),
            "public": insert_report(conn, lon=WARSAW[0], lat=WARSAW[1] + 0.01, status="under_verification",
                                    published=True, created_at=now - timedelta(hours=7),
                                    occurred_at=now - timedelta(hours=8), description="drunk drivers"),
            "krakow": insert_report(conn, lon=KRAKOW[0], lat=KRAKOW[1], created_at=now - timedelta(hours=1),
                                    description="krakow secret"),
        }
    return {name: str(value) for name, value in ids.items()}


@pytest.fixture
def server(settings: Settings, world: dict[str, str]) -> Iterator[str]:
    with app_in_thread(settings) as base:
        yield base


@pytest.fixture
async def api(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


class Officer:
    """A browser context signed in as an officer of `unit` (the token in sessionStorage)."""

    def __init__(self, browser: Any, settings: Settings, unit: str | None, width: int = 1280,
                 height: int = 800) -> None:
        self.browser, self.settings, self.unit = browser, settings, unit
        self.size = {"width": width, "height": height}
        self.token = token(settings, "officer", unit) if unit else None

    async def __aenter__(self) -> Any:
        # A Polish officer's browser (Chromium says en-US otherwise, and the pages follow it).
        self.context = await self.browser.new_context(viewport=self.size, locale="pl-PL")
        if self.token:   # once: signing out must not bring it back on the next page
            await self.context.add_init_script(
                "if (!sessionStorage.getItem('test.signed-in')) {"
                f" sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(self.token)});"
                " sessionStorage.setItem('test.signed-in', '1'); }")
        page = await self.context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    async def __aexit__(self, *exc: Any) -> None:
        await self.context.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await launch_chromium(p)
        try:
            yield chromium
        finally:
            await chromium.close()


async def listed(page: Any) -> list[str]:
    return await page.evaluate("[...document.querySelectorAll('#list li.item')].map(li => li.id.slice(2))")


async def open_list(page: Any, server: str, query: str = "") -> None:
    await page.goto(f"{server}/staff{query}")
    await wait_in_page(page, LIST_LOADED)


async def open_report(page: Any, server: str, report_id: str, query: str = "") -> None:
    await page.goto(f"{server}/staff/reports/{report_id}{query}")
    await wait_in_page(page, REPORT_LOADED)


async def selected_values(page: Any, select_id: str) -> list[str]:
    return await page.evaluate(
        f"[...document.getElementById('{select_id}').selectedOptions].map(o => o.value)")


def report_row(urls, report_id: str) -> tuple[str, Any]:
    with psycopg.connect(urls.app) as conn:
        return conn.execute("SELECT status, read_at FROM core.reports WHERE id = %s", [report_id]).fetchone()


def last_event(urls, report_id: str) -> tuple[str, str | None, str | None, str | None]:
    with psycopg.connect(urls.app) as conn:
        return conn.execute("SELECT kind, to_status, actor, comment FROM core.report_events "
                            "WHERE report_id = %s ORDER BY seq DESC LIMIT 1", [report_id]).fetchone()


# -- the work list ------------------------------------------------------------------------------------
async def test_an_officer_sees_only_the_county_s_reports_with_deadline_markers_and_the_map(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server)
        ids = await listed(page)
        assert set(ids) == {world[n] for n in ("fresh", "overdue", "to_hand", "public")}
        # Newest (exact time) first.
        assert ids == [world["fresh"], world["to_hand"], world["public"], world["overdue"]]
        body = await page.locator("#list").inner_text()
        assert "krakow secret" not in body and "broken lamp" in body
        overdue = page.locator(f"#r-{world['overdue']} .marker")
        assert "Po terminie" in await overdue.inner_text()      # a word, not a colour only
        assert await page.locator(f"#r-{world['fresh']} .marker").count() == 0
        assert "zgłoszone" in await page.locator(f"#r-{world['fresh']} .badge").inner_text()
        await wait_in_page(page, "document.getElementById('map').dataset.points === '4' "
                                 "&& window.map.loaded()")
        # The exact points are drawn: the selected one's feature state is on the map's source.
        await page.locator("#list").focus()
        await page.keyboard.press("j")
        await wait_in_page(page, "window.map.queryRenderedFeatures({layers: ['reports']}).length > 0")
        assert await page.title() == "Lista zgłoszeń · Stanowisko policjanta"
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SHOTS / "list-1280.png")
        await page.set_viewport_size({"width": 360, "height": 740})
        await page.screenshot(path=SHOTS / "list-360.png", full_page=True)
        assert not page.errors, page.errors


async def test_keyboard_walks_the_list_selects_on_the_map_and_opens_a_report(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server)
        await page.locator("#list").focus()
        await page.keyboard.press("j")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("j")
        await page.keyboard.press("k")
        selected = await page.evaluate("document.querySelector('#list [aria-current=true]').id")
        assert selected == f"r-{world['to_hand']}"
        assert await page.evaluate(
            f"window.map.getFeatureState({{source: 'reports', id: {json.dumps(world['to_hand'])}}}).selected")
        # Selecting on the map selects in the list.
        assert report_row(urls, world["to_hand"]) == ("new", None)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**/staff/reports/{world['to_hand']}")
        await wait_in_page(page, REPORT_LOADED)
        # Opening it read it and put it under verification.
        status, read_at = report_row(urls, world["to_hand"])
        assert status == "under_verification" and read_at is not None
        assert await page.evaluate("document.getElementById('main').dataset.status") == "under_verification"
        # `s` on the list opens the report at its actions, the status control focused.
        await page.go_back()
        await wait_in_page(page, LIST_LOADED)
        await page.locator("#list").focus()
        await page.keyboard.press("j")
        await page.keyboard.press("s")
        await page.wait_for_url(f"**/staff/reports/{world['fresh']}#actions")
        await wait_in_page(page, REPORT_LOADED)
        assert await page.evaluate("document.activeElement.id") == "a-status"
        assert not page.errors, page.errors


async def test_a_report_page_shows_private_facts_and_confirms_with_a_comment(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_report(page, server, world["fresh"])
        facts = await page.locator("#facts").inner_text()
        assert "broken lamp" in facts and "private@example.org" in facts
        assert f"{WARSAW[1]:.6f}, {WARSAW[0]:.6f}" in facts
        assert "weryfikowane" in facts
        history = await page.locator("#history").inner_text()
        assert "Otwarto (odczytano)" in history and WARSAW_UNIT in history
        options = await page.evaluate("[...document.getElementById('a-status').options].map(o => o.value)")
        assert options == ["confirmed", "not_confirmed", "confirmed_forwarded"]
        await page.select_option("#a-status", "confirmed")
        await page.fill("#a-comment", "patrol saw it")
        await page.click("#a-status-send")
        await wait_in_page(page, "document.getElementById('main').dataset.status === 'confirmed'")
        assert report_row(urls, world["fresh"])[0] == "confirmed"
        kind, to_status, actor, comment = last_event(urls, world["fresh"])
        assert (kind, to_status, comment) == ("status_changed", "confirmed", "patrol saw it")
        assert WARSAW_UNIT in actor
        assert "patrol saw it" in await page.locator("#history").inner_text()
        # Forwarding asks for the body.
        await page.select_option("#a-status", "confirmed_forwarded")
        assert await page.locator("#a-forward").is_visible()
        await page.select_option("#a-forward", "road-manager")
        await page.click("#a-status-send")
        await wait_in_page(page, "document.getElementById('main').dataset.status === 'confirmed_forwarded'")
        assert "zarządca drogi" in await page.locator("#facts").inner_text()
        # the history says it in the page's language, from the event's data (not an English comment)
        await wait_in_page(page, "document.getElementById('history').textContent"
                                 ".includes('Przekazano do: zarządca drogi')")
        assert "forwarded to" not in await page.locator("#history").inner_text()
        await page.screenshot(path=SHOTS / "report-1280.png", full_page=True)
        await page.set_viewport_size({"width": 360, "height": 740})
        await page.screenshot(path=SHOTS / "report-360.png", full_page=True)
        assert not page.errors, page.errors


async def test_handing_over_marking_not_confirmed_and_a_note(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls,
        api: httpx.AsyncClient) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_report(page, server, world["to_hand"])
        await page.select_option("#a-unit", KRAKOW_UNIT)
        await page.fill("#a-assign-comment", "their case")
        await page.click("#assign-form button")
        # Handed outside the unit's area, it is no longer the unit's: the page says both.
        await wait_in_page(page, "document.getElementById('message').textContent"
                                 f".includes('{KRAKOW_UNIT}')")
        assert last_event(urls, world["to_hand"])[0] == "assigned"
        theirs = await gql(api, STAFF_IDS, None, token(settings, "officer", KRAKOW_UNIT))
        assert world["to_hand"] in {e["node"]["id"] for e in theirs["data"]["staffReports"]["edges"]}
        # ... and it leaves the list of the unit that handed it over (KMZB), page and API alike.
        ours = await gql(api, STAFF_IDS, None, token(settings, "officer", WARSAW_UNIT))
        assert world["to_hand"] not in {e["node"]["id"] for e in ours["data"]["staffReports"]["edges"]}
        await open_list(page, server, "")
        assert world["to_hand"] not in await listed(page)

        # Not confirmed: off the public layer, still on the work list.
        assert world["public"] in {e["node"]["id"] for e in
                                   (await gql(api, PUBLIC_IDS))["data"]["reports"]["edges"]}
        await open_report(page, server, world["public"])
        await page.select_option("#a-status", "not_confirmed")
        await page.fill("#a-comment", "nobody there")
        await page.click("#a-status-send")
        await wait_in_page(page, "document.getElementById('main').dataset.status === 'not_confirmed'")
        assert world["public"] not in {e["node"]["id"] for e in
                                       (await gql(api, PUBLIC_IDS))["data"]["reports"]["edges"]}
        with psycopg.connect(urls.public) as conn:
            assert conn.execute("SELECT count(*) FROM open.reports WHERE id = %s",
                                [world["public"]]).fetchone()[0] == 0
        await open_list(page, server, "?status=not_confirmed")
        assert await listed(page) == [world["public"]]

        # An internal note.
        await open_report(page, server, world["public"])
        await page.fill("#a-note", "check again on Monday")
        await page.click("#note-form button")
        await wait_in_page(page, "document.getElementById('history').textContent"
                                 ".includes('check again on Monday')")
        assert last_event(urls, world["public"])[0::3] == ("note", "check again on Monday")
        assert not page.errors, page.errors


async def test_an_officer_of_another_county_is_refused_on_the_page_and_through_graphql(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls,
        api: httpx.AsyncClient) -> None:
    async with Officer(browser, settings, KRAKOW_UNIT) as page:
        await open_list(page, server)
        assert await listed(page) == [world["krakow"]]
        await open_report(page, server, world["fresh"])
        assert await page.evaluate("document.getElementById('main').dataset.loaded") == "refused"
        message = await page.locator("#message").inner_text()
        assert "FORBIDDEN" in message and "poza obszarem" in message
        assert await page.locator("#report").is_hidden()
        assert "broken lamp" not in await page.content()
    assert report_row(urls, world["fresh"]) == ("new", None)     # not opened by them
    body = await gql(api, "mutation($id: ID!) { openReport(id: $id) { id description } }",
                     {"id": world["fresh"]}, token(settings, "officer", KRAKOW_UNIT))
    assert codes(body) == ["FORBIDDEN"]
    body = await gql(api, "mutation($id: ID!) { setReportStatus(id: $id, status: \"confirmed\") { id } }",
                     {"id": world["fresh"]}, token(settings, "officer", KRAKOW_UNIT))
    assert codes(body) == ["FORBIDDEN"]


async def test_the_second_of_two_officers_sees_what_changed_not_an_error(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls,
        api: httpx.AsyncClient) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_report(page, server, world["public"])
        # Another officer of the unit gives a verdict meanwhile.
        other = token(settings, "officer", "kwp-14")
        body = await gql(api, """mutation($id: ID!) { setReportStatus(id: $id, status: "confirmed",
            comment: "seen by the patrol", expectedStatus: "under_verification") { status } }""",
                         {"id": world["public"]}, other)
        assert body["data"]["setReportStatus"]["status"] == "confirmed", body
        await page.select_option("#a-status", "not_confirmed")
        await page.click("#a-status-send")
        await wait_in_page(page, "!document.getElementById('changed').hidden")
        note = await page.locator("#changed").inner_text()
        assert "potwierdzone" in note and "kwp-14" in note
        assert await page.evaluate("document.getElementById('main').dataset.status") == "confirmed"
        assert report_row(urls, world["public"])[0] == "confirmed"    # the second change was not made
        options = await page.evaluate("[...document.getElementById('a-status').options].map(o => o.value)")
        assert options == ["confirmed_eliminated", "confirmed_forwarded"]
        assert not page.errors, page.errors
    # Through GraphQL: CONFLICT with the status now, nothing changed.
    body = await gql(api, """mutation($id: ID!) { markReportAbusive(id: $id,
        expectedStatus: "under_verification") { id } }""", {"id": world["public"]},
                     token(settings, "officer", WARSAW_UNIT))
    assert codes(body) == ["CONFLICT"] and body["errors"][0]["extensions"]["currentStatus"] == "confirmed"


async def test_a_report_submitted_in_the_county_appears_without_a_reload(
        server: str, settings: Settings, world: dict[str, str], browser: Any,
        api: httpx.AsyncClient) -> None:
    submit = """mutation($input: SubmitReportInput!) { submitReport(input: $input) { report { id } } }"""

    async def submitted(lon: float, lat: float) -> str:
        body = await gql(api, submit, {"input": {
            "categoryId": "illegal-dumping", "longitude": lon, "latitude": lat,
            "occurredAt": datetime.now(UTC).isoformat(), "description": "fresh from a citizen"}})
        assert "errors" not in body, body
        return body["data"]["submitReport"]["report"]["id"]

    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server)
        await wait_in_page(page, "document.body.dataset.live === 'on'")
        before = await page.evaluate("document.getElementById('list').dataset.loaded")
        in_krakow = await submitted(*KRAKOW)
        in_warsaw = await submitted(WARSAW[0] + 0.005, WARSAW[1])
        await wait_in_page(page, f"!!document.getElementById('r-{in_warsaw}')", timeout=20)
        assert await page.evaluate("document.getElementById('list').dataset.loaded") != before
        assert in_krakow not in await listed(page)
        assert "odświeżona" in await page.locator("#announce").inner_text()
        assert not page.errors, page.errors


async def serious_violations(page: Any) -> list[str]:
    results = await axe_api.Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


async def test_axe_finds_nothing_serious_on_the_list_and_the_report_page(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server)
        await page.locator("#list").focus()
        await page.keyboard.press("j")
        assert await serious_violations(page) == []
        await open_report(page, server, world["overdue"])
        assert await serious_violations(page) == []
        await page.set_viewport_size({"width": 360, "height": 740})
        assert await serious_violations(page) == []


# -- the URL, the export, the sign-in redirect, languages ---------------------------------------------
async def test_filters_live_in_the_url_and_the_back_button_restores_them(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server)
        await page.select_option("#f-deadline", ["OVERDUE"])
        await page.click("#filters button[type=submit]")
        await page.wait_for_url("**/staff?deadline=OVERDUE")
        await wait_in_page(page, "document.querySelectorAll('#list li.item').length === 1")
        assert await listed(page) == [world["overdue"]]
        await page.fill("#f-text", "LAMP")
        await page.select_option("#f-deadline", [])
        await page.click("#filters button[type=submit]")
        await page.wait_for_url("**/staff?text=LAMP")
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['fresh']}'")
        assert await listed(page) == [world["fresh"]]
        await page.go_back()
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['overdue']}'")
        assert await selected_values(page, "f-deadline") == ["OVERDUE"]
        assert await page.input_value("#f-text") == ""
        # A shared link opens the same list.
        await open_list(page, server, "?status=under_verification&area=1405")
        assert await listed(page) == [world["public"]]
        assert await selected_values(page, "f-status") == ["under_verification"]
        assert not page.errors, page.errors


async def test_paging_walks_the_list_forward_and_back(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await page.goto(f"{server}/staff")
        await wait_in_page(page, LIST_LOADED)
        first = await listed(page)
        assert len(first) == 4 and await page.locator("#next").is_disabled()
        assert await page.locator("#prev").is_disabled()
    # A page size of 2 (a setting of the page) walks the four reports in two pages.
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await page.route("**/graphql", lambda route: route.continue_(post_data=json.dumps(
            {**json.loads(route.request.post_data),
             "variables": {**json.loads(route.request.post_data).get("variables", {}),
                           **({"first": 2} if "staffReports" in route.request.post_data else {})}})))
        await open_list(page, server)
        page_one = await listed(page)
        assert page_one == [world["fresh"], world["to_hand"]]
        await page.click("#next")
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['public']}'")
        assert await listed(page) == [world["public"], world["overdue"]]
        assert "after=" in page.url and await page.locator("#next").is_disabled()
        await page.click("#prev")
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['fresh']}'")
        assert await listed(page) == page_one and "after=" not in page.url
        await page.click("#next")
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['public']}'")
        await page.go_back()
        await wait_in_page(page, f"document.querySelector('#list li.item')?.id === 'r-{world['fresh']}'")


async def test_the_export_button_asks_for_the_list_s_filters_with_the_token(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        seen: list[tuple[str, str | None]] = []

        async def export(route: Any) -> None:
            seen.append((route.request.url, route.request.headers.get("authorization")))
            await route.fulfill(status=200, body="id\n", content_type="text/csv",
                                headers={"Content-Disposition": 'attachment; filename="reports-1405.csv"'})

        await page.route("**/staff/export.csv*", export)
        await open_list(page, server, "?status=new&status=under_verification&deadline=OVERDUE"
                                      "&from=2026-01-01&to=2026-12-31&area=1405&text=lamp")
        async with page.expect_download() as download:
            await page.click("#export")
        assert (await download.value).suggested_filename == "reports-1405.csv"
        url, authorization = seen[0]
        assert url == (f"{server}/staff/export.csv?status=new&status=under_verification&deadline=OVERDUE"
                       "&from=2026-01-01&to=2026-12-31&area=1405&text=lamp")
        stored = await page.evaluate(f"sessionStorage.getItem({json.dumps(TOKEN_KEY)})")
        assert authorization == f"Bearer {stored}"


async def test_the_export_downloads_the_unit_s_list_and_is_recorded(
        server: str, settings: Settings, world: dict[str, str], browser: Any, urls) -> None:
    """End to end: the button, the real /staff/export.csv, the file the officer gets, the record."""
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server, "?text=lamp")
        async with page.expect_download() as download:
            await page.click("#export")
        text = Path(await (await download.value).path()).read_text(encoding="utf-8-sig")
        assert not page.errors, page.errors
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [world["fresh"]]           # the filter, the unit's only
    assert rows[0]["description"] == "broken lamp"
    assert "krakow secret" not in text
    with psycopg.connect(urls.app) as conn:
        recorded = conn.execute("SELECT to_jsonb(e) FROM core.staff_exports AS e "
                                "ORDER BY e.id DESC LIMIT 1").fetchone()[0]
    assert WARSAW_UNIT in json.dumps(recorded) and "lamp" in json.dumps(recorded)


async def test_without_a_token_the_pages_go_to_the_sign_in_page_and_sign_out_forgets_it(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, None) as page:
        await page.route("**/staff/sign-in*", lambda route: route.fulfill(
            status=200, body="<!doctype html><title>sign in</title>", content_type="text/html"))
        await page.goto(f"{server}/staff/reports/{world['fresh']}?lang=en")
        await page.wait_for_url("**/staff/sign-in?*")
        assert page.url.endswith(f"/staff/sign-in?next=%2Fstaff%2Freports%2F{world['fresh']}%3Flang%3Den")
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await page.route("**/staff/sign-in*", lambda route: route.fulfill(
            status=200, body="<!doctype html><title>sign in</title>", content_type="text/html"))
        await open_list(page, server)
        await page.click("#sign-out")
        await page.wait_for_url("**/staff/sign-in")
        assert await page.evaluate(f"sessionStorage.getItem({json.dumps(TOKEN_KEY)})") is None
    # An expired token: the server says UNAUTHENTICATED, the page goes to sign in.
    expired = token(settings, "officer", WARSAW_UNIT, hours=-1)
    context = await browser.new_context()
    try:
        await context.add_init_script(
            f"sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(expired)});")
        page = await context.new_page()
        await page.route("**/staff/sign-in*", lambda route: route.fulfill(
            status=200, body="<!doctype html><title>sign in</title>", content_type="text/html"))
        await page.goto(f"{server}/staff?status=new")
        await page.wait_for_url("**/staff/sign-in?next=%2Fstaff%3Fstatus%3Dnew")
    finally:
        await context.close()


DATE_INPUT_LANGS = "[...document.querySelectorAll('input[type=date]')].map(i => i.lang)"


async def test_polish_by_default_and_english_on_request(
        server: str, settings: Settings, world: dict[str, str], browser: Any) -> None:
    async with Officer(browser, settings, WARSAW_UNIT) as page:
        await open_list(page, server, "?lang=en")
        assert await page.title() == "Work list · Officers' workbench"
        assert await page.evaluate("document.documentElement.lang") == "en"
        assert await page.evaluate(DATE_INPUT_LANGS) == ["en", "en"]
        assert "Overdue" in await page.locator(f"#r-{world['overdue']} .marker").inner_text()
        assert "reported" in await page.locator(f"#r-{world['fresh']} .badge").inner_text()
        await open_report(page, server, world["public"], "?lang=en")
        assert "Exact point" in await page.locator("#facts").inner_text()
        assert await page.locator("#a-status-send").inner_text() == "Change the status"
        await open_report(page, server, world["public"])
        assert await page.locator("#a-status-send").inner_text() == "Zmień status"
        # the date filters say the page's language (Chromium draws them in the browser's locale:
        # dd.mm.rrrr in this Polish browser)
        await open_list(page, server)
        assert await page.evaluate(DATE_INPUT_LANGS) == ["pl", "pl"]


async def test_the_pages_are_shells_without_private_data(api: httpx.AsyncClient,
                                                         world: dict[str, str]) -> None:
    for path in ("/staff", f"/staff/reports/{world['fresh']}"):
        response = await api.get(path)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        assert "broken lamp" not in response.text and "private@example.org" not in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["content-language"] == "pl"     # Polish when nothing is asked
    assert (await api.get(f"/staff/reports/{uuid.uuid4()}x")).status_code == 404
