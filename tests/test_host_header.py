"""The Host header (issue 10, point 10): without THREATMAP_PUBLIC_URL the doors write links
from the Host a request names, and caches keep them (max-age 300); so only allowed hosts are
served (the listening host, localhost, 127.0.0.1, the public URL's host, THREATMAP_ALLOWED_HOSTS),
and any other gets 400 before a door writes a link."""

import json

import httpx
import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from gateway.urls import allowed_hosts
from tests.support import running_app

FORGED = "evil.example"
# Every door that writes absolute links, and the pages that carry them.
LINK_WRITERS = ["/api", "/", "/tiles/reports.json", "/tiles/style.json",
                "/ogc/collections/reports/tiles", "/ogc/collections/reports/tiles/WebMercatorQuad",
                "/ogc?f=json", "/ogc/collections?f=json", "/ogc/collections/reports?f=json",
                "/ogc/collections/reports/items?f=json", "/ogc/conformance?f=json",
                "/ogc/openapi?f=json", "/ogc?f=html"]
JSON = {"Accept": "application/json"}


async def test_a_forged_host_gets_400_from_every_link_writing_door(client: httpx.AsyncClient) -> None:
    for path in LINK_WRITERS:
        for host in (FORGED, f"{FORGED}:8000", "testserver.evil.example", "127.0.0.1.evil.example"):
            response = await client.get(path, headers={"Host": host, **JSON})
            assert response.status_code == 400, (path, host, response.status_code)
            assert FORGED not in response.text
    graphql = await client.post("/graphql", json={"query": "{ categories { id } }"},
                                headers={"Host": FORGED})
    assert graphql.status_code == 400


async def test_allowed_hosts_are_served_and_links_follow_them(client: httpx.AsyncClient) -> None:
    for host in ("testserver", "localhost", "127.0.0.1", "127.0.0.1:8000", "localhost:1234"):
        links = (await client.get("/api", headers={"Host": host})).json()["links"]
        assert links["tilejson"] == f"http://{host}/tiles/reports.json", host
        tilejson = (await client.get("/tiles/reports.json", headers={"Host": host})).json()
        assert tilejson["tiles"][0].startswith(f"http://{host}/tiles/reports/"), host


async def test_with_a_public_url_links_never_carry_the_host_and_its_host_is_allowed(
        settings: Settings) -> None:
    public = settings.model_copy(update={"public_url": "https://map.example.org"})
    async with running_app(public) as (http, _):
        for host in ("map.example.org", "testserver", "localhost"):
            response = await http.get("/api", headers={"Host": host})
            assert response.status_code == 200, host
            assert all(link.startswith("https://map.example.org/")
                       for link in response.json()["links"].values()), host
        assert (await http.get("/tiles/reports.json", headers={"Host": FORGED})).status_code == 400


async def test_allowed_hosts_setting_adds_names_and_subdomain_patterns(settings: Settings) -> None:
    more = settings.model_copy(update={"allowed_hosts": ["testserver", "*.example.org"]})
    async with running_app(more) as (http, _):
        for host in ("a.example.org", "tiles.a.example.org"):
            links = (await http.get("/api", headers={"Host": host})).json()["links"]
            assert links["map"] == f"http://{host}/", host
        assert (await http.get("/api", headers={"Host": "example.org.evil.example"})).status_code == 400


def test_the_default_allowed_hosts() -> None:
    assert allowed_hosts(Settings(host="127.0.0.1")) == ["localhost", "127.0.0.1"]
    assert allowed_hosts(Settings(host="10.1.2.3", public_url="https://map.example.org/x",
                                  allowed_hosts=["gis.example.org"])) == \
        ["localhost", "127.0.0.1", "10.1.2.3", "map.example.org", "gis.example.org"]
    # a wildcard address is where the server listens, not a name a client sends
    assert allowed_hosts(Settings(host="0.0.0.0")) == ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("value", ['["http://map.example.org"]', '["map.example.org:443"]',
                                   '["map example"]', '[""]', '["*example.org"]'])
def test_a_bad_allowed_host_stops_the_start_naming_the_variable(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREATMAP_ALLOWED_HOSTS", value)
    with pytest.raises(ValidationError, match="THREATMAP_ALLOWED_HOSTS"):
        Settings()


def test_allowed_hosts_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREATMAP_ALLOWED_HOSTS", json.dumps(["map.example.org", "*.example.org"]))
    assert Settings().allowed_hosts == ["map.example.org", "*.example.org"]
