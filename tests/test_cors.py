"""CORS on every public door (issue 11, point 1): a page on another origin can read /ogc, /graphql
and /tiles, preflights included; a configured list of origins answers only those; never credentials."""

import httpx
import pytest

from gateway.settings import Settings
from tests.support import running_app

PORTAL = "https://portal.example.org"
TILE = "/tiles/reports/5/17/10.mvt"
OGC_TILE = "/ogc/collections/reports/tiles/WebMercatorQuad/5/10/17"
ITEMS = "/ogc/collections/reports/items"


def preflight(method: str, headers: str = "", origin: str = PORTAL) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method,
            **({"Access-Control-Request-Headers": headers} if headers else {})}


async def test_graphql_preflight_allows_a_bearer_token_and_json(client: httpx.AsyncClient) -> None:
    answer = await client.options("/graphql", headers=preflight("POST", "authorization, content-type"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in answer.headers
    posted = await client.post("/graphql", json={"query": "{ __typename }"},
                               headers={"Origin": PORTAL, "Authorization": "Bearer not-a-token"})
    assert posted.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in posted.headers


@pytest.mark.parametrize("path", [ITEMS, "/ogc/", "/ogc/conformance", TILE, OGC_TILE,
                                  "/tiles/reports.json", "/ogc/collections/reports/tiles"])
async def test_each_read_door_answers_a_preflight_and_its_get(client: httpx.AsyncClient,
                                                              path: str) -> None:
    answer = await client.options(path, headers=preflight("GET", "if-none-match"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "GET" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers
    for _ in range(2):   # the second tile GET is a cache hit, answered by tiles.shortcut
        got = await client.get(path, params={"f": "json"} if path.startswith("/ogc/") and
                               "WebMercatorQuad" not in path else None, headers={"Origin": PORTAL})
        assert got.status_code in (200, 204), got.text
        assert got.headers["access-control-allow-origin"] == "*"


async def test_ogc_post_of_a_cql2_json_filter_carries_cors(client: httpx.AsyncClient) -> None:
    answer = await client.options(ITEMS, headers=preflight("POST", "content-type"))
    assert answer.status_code == 200
    posted = await client.post(ITEMS + "?f=json", content=b'{"op": "=", "args": [{"property": '
                               b'"status"}, "resolved"]}',
                               headers={"Origin": PORTAL, "Content-Type": "application/query-cql-json"})
    assert posted.status_code == 200, posted.text
    assert posted.headers["access-control-allow-origin"] == "*"


async def test_a_configured_list_answers_only_its_origins(settings: Settings) -> None:
    only = settings.model_copy(update={"cors_origins": [PORTAL]})
    async with running_app(only) as (http, _):
        allowed = await http.options("/graphql", headers=preflight("POST", "authorization"))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == PORTAL
        refused = await http.options("/graphql", headers=preflight(
            "POST", "authorization", origin="https://evil.example.com"))
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        for path in ("/ogc/conformance", "/graphql"):
            other = await http.get(path, params={"f": "json", "query": "{ __typename }"},
                                   headers={"Origin": "https://evil.example.com"})
            assert "access-control-allow-origin" not in other.headers
            mine = await http.get(path, params={"f": "json", "query": "{ __typename }"},
                                  headers={"Origin": PORTAL})
            assert mine.headers["access-control-allow-origin"] == PORTAL
            assert "access-control-allow-credentials" not in mine.headers


@pytest.mark.parametrize("origins", [["https://portal.example.org/"], ["portal.example.org"],
                                     ["https://portal.example.org/path"]])
def test_an_origin_that_is_not_one_stops_the_start(origins: list[str]) -> None:
    with pytest.raises(ValueError, match="THREATMAP_CORS_ORIGINS"):
        Settings(cors_origins=origins)
