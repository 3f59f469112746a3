"""The citizen's pages over HTTP (issue 12; the browser journey is tests/test_citizen_map.py):
the map and the status page in the request's language with what their scripts need, the offline
base map's data, the size of the pages' own code, the base map settings, and the catalogue's
`description_required` rule as submitReport applies it."""

import gzip
import html
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError

from gateway.app import html_policies
from gateway.settings import PROJECT_ROOT, Settings
from tests.support import WARSAW, codes, gql

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
OWN_FILES = [*(PROJECT_ROOT / "gateway" / "static" / "map").iterdir(),
             *(PROJECT_ROOT / "gateway" / "citizen" / "templates").iterdir()]


def page_data(text: str, name: str) -> dict:
    found = re.search(rf'data-{name}="([^"]*)"', text)
    assert found, f"no data-{name}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize(("headers", "query", "lang", "button"), [
    ({}, "", "pl", "Zgłoś zagrożenie"),
    ({"Accept-Language": "en-GB,en;q=0.9"}, "", "en", "Report a threat"),
    ({"Accept-Language": "en"}, "?lang=pl", "pl", "Zgłoś zagrożenie"),
])
async def test_the_map_speaks_the_requests_language(client: httpx.AsyncClient, headers, query, lang,
                                                    button) -> None:
    page = await client.get(f"/{query}", headers=HTML | headers)
    assert page.status_code == 200 and page.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in page.text and button in page.text
    config = page_data(page.text, "config")
    messages = page_data(page.text, "messages")
    assert config["lang"] == lang and messages["Report a threat"] == button
    names = {c["id"]: c["name"] for c in config["categories"]}
    assert names["vandalism"] == ("Akty wandalizmu" if lang == "pl" else "Vandalism")
    assert "<script>" not in page.text and "112" in page.text


async def test_the_page_carries_the_catalogue_from_config(client: httpx.AsyncClient) -> None:
    config = page_data((await client.get("/", headers=HTML)).text, "config")
    required = {c["id"] for c in config["categories"] if c["descriptionRequired"]}
    assert required == {"dangerous-entertainment"}
    colours = {s["id"]: s["colour"] for s in config["statuses"]}
    assert len(colours) == 6 and len(set(colours.values())) == 6
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours.values())
    assert config["maxAgeDays"] == 30 and config["basemap"] == {"style": None, "raster": None,
                                                                "attribution": ""}


async def test_json_clients_still_get_the_link_list(client: httpx.AsyncClient) -> None:
    answer = await client.get("/", headers={"Accept": "application/json"})
    assert answer.json()["links"]["map"].endswith("/")


async def test_the_status_page_never_writes_the_token(client: httpx.AsyncClient) -> None:
    for path in ("/r", "/r/secret-token-123"):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 200 and 'id="token-input"' in page.text
        assert "secret-token-123" not in page.text
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_the_base_map_data_is_the_shipped_boundaries(client: httpx.AsyncClient) -> None:
    voivodeships = (await client.get("/map/boundaries/voivodeships.geojson")).json()
    counties = (await client.get("/map/boundaries/counties.geojson")).json()
    assert len(voivodeships["features"]) == 16 and len(counties["features"]) == 380
    assert (await client.get("/map/boundaries/streets.geojson")).status_code == 404
    places = (await client.get("/map/places.geojson")).json()["features"]
    assert len(places) == 396
    warsaw = next(p for p in places if p["properties"]["name"] == "powiat Warszawa")
    west, south, east, north = warsaw["properties"]["bbox"]
    lon, lat = warsaw["geometry"]["coordinates"]
    assert west < lon < east and south < lat < north
    assert west < WARSAW[0] < east and south < WARSAW[1] < north


def test_the_pages_own_code_is_light() -> None:
    """Issue 12.8: the page's own scripts, styles and templates under 150 KB gzipped."""
    size = sum(len(gzip.compress(path.read_bytes(), 9)) for path in OWN_FILES if path.is_file())
    assert size < 150_000, size


def test_a_remote_base_map_is_allowed_by_the_policy_and_nothing_else() -> None:
    settings = Settings(map_basemap_raster_url="https://tiles.example.org/{z}/{x}/{y}.png",
                        map_basemap_attribution="© example")
    policy = html_policies(PROJECT_ROOT / "pygeoapi-config.yml", settings).for_path("/")
    assert "img-src 'self' data: blob: https://tiles.example.org" in policy
    assert "connect-src 'self' https://tiles.example.org" in policy
    default = html_policies(PROJECT_ROOT / "pygeoapi-config.yml", Settings()).for_path("/r/x")
    assert default.endswith("connect-src 'self'")
    with pytest.raises(ValidationError, match="THREATMAP_MAP_BASEMAP_STYLE_URL"):
        Settings(map_basemap_style_url="javascript:alert(1)")


SUBMIT = """mutation($input: SubmitReportInput!) { submitReport(input: $input) { trackingToken } }"""


async def test_a_category_marked_so_needs_a_description(graphql_client: httpx.AsyncClient,
                                                        clean_reports) -> None:
    report = {"categoryId": "dangerous-entertainment", "longitude": WARSAW[0], "latitude": WARSAW[1],
              "occurredAt": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    for description in (None, "   "):
        body = await gql(graphql_client, SUBMIT, {"input": report | {"description": description}})
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == "description"
    body = await gql(graphql_client, SUBMIT, {"input": report | {"description": "Loud rave, fireworks."}})
    assert body["data"]["submitReport"]["trackingToken"], body
    body = await gql(graphql_client, SUBMIT, {"input": report | {"categoryId": "vandalism"}})
    assert "errors" not in body, body
