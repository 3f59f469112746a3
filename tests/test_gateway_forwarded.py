"""Behind a reverse proxy (issue 11, point 7): links and redirects keep the public scheme and
host. X-Forwarded-Proto/Host/Port (or `Forwarded`) are believed only from the peers of
THREATMAP_TRUSTED_PROXIES, a forwarded host must still be an allowed host, and
THREATMAP_PUBLIC_URL, when set, wins. Last, the same through a real nginx."""

import asyncio
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.settings import Settings
from tests.support import NGINX, app_in_thread, nginx_running, running_app

PROXY = ("10.1.2.3", 4000)
STRANGER = ("203.0.113.9", 4000)
PUBLIC = "https://public.example"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example",
             "X-Forwarded-For": "198.51.100.7"}
JSON = {"Accept": "application/json"}
EXTERNAL = {"github.com", "creativecommons.org", "www.opengis.net"}


def behind_proxy(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"],
                                       "allowed_hosts": ["testserver", "public.example"]} | changes)


async def links_seen(http: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    """Links of every door that writes them, and the /ogc redirect's Location."""
    api = (await http.get("/api", headers=headers | JSON)).json()["links"]
    tilejson = (await http.get("/tiles/reports.json", headers=headers)).json()
    style = (await http.get("/tiles/style.json", headers=headers)).json()
    landing = (await http.get("/ogc/", params={"f": "json"}, headers=headers)).json()
    items = (await http.get("/ogc/collections/reports/items", params={"f": "json", "limit": 1},
                            headers=headers)).json()
    tilesets = (await http.get("/ogc/collections/reports/tiles", headers=headers)).json()
    redirect = await http.get("/ogc", headers=headers)
    assert redirect.status_code in (301, 307, 308), redirect.status_code
    return ours([*api.values(), *tilejson["tiles"], style["sources"]["threatmap"]["url"],
                 *(link["href"] for link in landing["links"]),
                 *(link["href"] for link in items["links"]),
                 *(link["href"] for link in tilesets["links"]), redirect.headers["location"]])


def ours(links: list[str]) -> list[str]:
    """The links to this service (not to the licence, the source code, OGC definitions)."""
    return [link for link in links if urlsplit(link).hostname not in EXTERNAL]


async def test_from_a_trusted_proxy_links_and_redirects_are_public(settings: Settings) -> None:
    async with running_app(behind_proxy(settings), peer=PROXY) as (http, _):
        links = await links_seen(http, FORWARDED)
        assert links and all(link.startswith(f"{PUBLIC}/") for link in links), links
        assert (await http.get("/ogc", headers=FORWARDED)).headers["location"] == f"{PUBLIC}/ogc/"
        page = (await http.get("/ogc/", params={"f": "html"}, headers=FORWARDED)).text
        assert f"{PUBLIC}/ogc" in page and "http://127.0.0.1:8000" not in page


async def test_from_any_other_peer_the_forwarding_headers_are_ignored(settings: Settings) -> None:
    async with running_app(behind_proxy(settings), peer=STRANGER) as (http, _):
        links = await links_seen(http, FORWARDED)
        assert all(link.startswith("http://testserver/") for link in links), links
    async with running_app(behind_proxy(settings, trusted_proxies=[]), peer=PROXY) as (http, _):
        links = await links_seen(http, FORWARDED)
        assert all(link.startswith("http://testserver/") for link in links), links


async def test_a_forwarded_port_and_the_standard_forwarded_header(settings: Settings) -> None:
    async with running_app(behind_proxy(settings), peer=PROXY) as (http, _):
        api = (await http.get("/api", headers=JSON | {
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example",
            "X-Forwarded-Port": "8443"})).json()["links"]
        assert api["graphql"] == "https://public.example:8443/graphql"
        api = (await http.get("/api", headers=JSON | {
            "Forwarded": 'for=198.51.100.7;proto=http, for=10.9.9.9;proto=https;host="public.example"'
        })).json()["links"]
        assert api["graphql"] == "https://public.example/graphql"


async def test_a_forwarded_host_must_be_an_allowed_host(settings: Settings) -> None:
    async with running_app(behind_proxy(settings), peer=PROXY) as (http, _):
        for path in ("/api", "/ogc/", "/tiles/reports.json"):
            forged = await http.get(path, headers=FORWARDED | {"X-Forwarded-Host": "evil.example"})
            assert forged.status_code == 400, path
        # not a host at all: ignored, the request's own Host stands
        odd = await http.get("/api", headers=JSON | {"X-Forwarded-Host": "evil.example/x y"})
        assert odd.json()["links"]["graphql"] == "http://testserver/graphql"


async def test_the_public_url_wins_over_forwarded_headers(settings: Settings) -> None:
    public = behind_proxy(settings, public_url="https://map.example.org/threatmap")
    async with running_app(public, peer=PROXY) as (http, _):
        links = await links_seen(http, FORWARDED)
        assert all(link.startswith("https://map.example.org/threatmap/") for link in links), links
        assert (await http.get("/ogc")).headers["location"] == "https://map.example.org/threatmap/ogc/"


# -- through a real nginx -------------------------------------------------------------------------
PROXY_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        server_name public.example;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Proto https;   # as if it ended TLS on 443
            proxy_set_header X-Forwarded-Port 443;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Request-ID $request_id;
            proxy_redirect off;
        }}
    }}
"""


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)")
async def test_through_nginx_links_and_the_ogc_redirect_are_public(settings: Settings) -> None:
    proxied = behind_proxy(settings, trusted_proxies=["127.0.0.1"])

    def through_nginx() -> tuple[list[str], str, str]:
        with (app_in_thread(proxied) as upstream,
              nginx_running(lambda _, port: PROXY_SERVER.format(port=port, upstream=upstream)) as nginx,
              httpx.Client(base_url=nginx, headers={"Host": "public.example"}) as http):
            tilejson = http.get("/tiles/reports.json").json()
            landing = http.get("/ogc/", params={"f": "json"}).json()
            redirect = http.get("/ogc")
            api = http.get("/api", headers=JSON)
            return (ours([*tilejson["tiles"], *(link["href"] for link in landing["links"])]),
                    redirect.headers["location"], api.headers["x-request-id"])

    links, location, request_id = await asyncio.to_thread(through_nginx)
    assert links and all(link.startswith(f"{PUBLIC}/") for link in links), links
    assert location == f"{PUBLIC}/ogc/"
    assert len(request_id) == 32   # nginx's $request_id (32 hex digits), taken and echoed
