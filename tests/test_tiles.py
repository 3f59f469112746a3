"""The tile door through HTTP, with the tiles decoded as MapLibre or QGIS would."""

import asyncio
import gzip
import re
import time

import httpx
import mercantile
import psycopg
import pytest

from tests.conftest import WARSAW, insert_report
from tests.tiles_helpers import decode
from tiles.cache import TileBody, TileCache

MVT = "application/vnd.mapbox-vector-tile"
pytestmark = pytest.mark.usefixtures("clean_reports")


def tile_of(lon: float, lat: float, z: int) -> mercantile.Tile:
    return mercantile.tile(lon, lat, z)


def url(t: mercantile.Tile, query: str = "") -> str:
    return f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt{query}"


async def get_tile(client: httpx.AsyncClient, t: mercantile.Tile, query: str = "",
                   **headers: str) -> httpx.Response:
    return await client.get(url(t, query), headers=headers)


async def layers(client: httpx.AsyncClient, t: mercantile.Tile, query: str = "") -> dict:
    response = await get_tile(client, t, query)
    assert response.status_code in (200, 204), response.text
    return decode(response.content, t.z, t.x, t.y) if response.status_code == 200 else {}


async def eventually(check, timeout: float = 3.0):
    """The listener learns of a change within milliseconds of its commit: wait that long."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.02)


def publish(conn: psycopg.Connection, n: int, lon: float = WARSAW[0], lat: float = WARSAW[1],
            **kwargs) -> list:
    return [insert_report(conn, lon=lon, lat=lat, published=True, status="confirmed", **kwargs)
            for _ in range(n)]


# -- metadata -----------------------------------------------------------------------------------
async def test_tilejson_describes_the_tileset(client: httpx.AsyncClient) -> None:
    response = await client.get("/tiles/reports.json?categories=vandalism")
    assert response.status_code == 200
    doc = response.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/reports/{z}/{x}/{y}.mvt?categories=vandalism"]
    assert {layer["id"] for layer in doc["vector_layers"]} == {"reports", "density", "areas"}
    assert doc["minzoom"] == 0 and doc["maxzoom"] == 16
    west, south, east, north = doc["bounds"]
    assert west < WARSAW[0] < east and south < WARSAW[1] < north
    assert doc["attribution"]


async def test_style_colours_each_category_from_the_catalogue(client: httpx.AsyncClient) -> None:
    style = (await client.get("/tiles/style.json")).json()
    assert style["version"] == 8
    assert style["sources"]["threatmap"]["url"].endswith("/tiles/reports.json")
    reports = next(layer for layer in style["layers"] if layer["id"] == "reports")
    match = reports["paint"]["circle-color"]
    assert match[:2] == ["match", ["get", "category"]]
    colours = dict(zip(match[2:-1:2], match[3:-1:2], strict=True))
    assert colours["vandalism"] == "#8e44ad" and len(colours) == 22
    legend = style["metadata"]["threatmap:legend"]
    assert {entry["id"] for entry in legend} == set(colours)


# -- errors and empty tiles ---------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/tiles/reports/17/0/0.mvt", "/tiles/reports/3/8/0.mvt", "/tiles/reports/3/0/8.mvt",
    "/tiles/reports/a/0/0.mvt", "/tiles/reports/3/1.5/0.mvt", "/tiles/reports/3/-1/0.mvt",
    "/tiles/reports/3/0/0.mvt?categories=nonsense", "/tiles/reports/3/0/0.mvt?statuses=lost",
    "/tiles/reports/3/0/0.mvt?from=yesterday", "/tiles/reports/3/0/0.mvt?from=2025-02-01&to=2025-01-01",
    "/ogc/collections/reports/tiles/WebMercatorQuad/99/0/0",
])
async def test_bad_requests_get_400_with_a_reason(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and response.json()["detail"]


async def test_empty_tile_is_204(client: httpx.AsyncClient) -> None:
    ocean = await client.get("/tiles/reports/4/0/0.mvt")
    assert ocean.status_code == 204 and ocean.content == b""
    empty_poland = await get_tile(client, tile_of(*WARSAW, 16))
    assert empty_poland.status_code == 204
    assert empty_poland.headers["etag"]


# -- headers, conditional requests, gzip --------------------------------------------------------
async def test_tile_headers_etag_304_and_gzip(client: httpx.AsyncClient,
                                              app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    t = tile_of(*WARSAW, 14)

    async def has_reports() -> httpx.Response | None:
        response = await get_tile(client, t)
        return response if response.status_code == 200 else None

    response = await eventually(has_reports)
    assert response is not None
    assert response.headers["content-type"] == MVT
    assert re.fullmatch(r'W/"\d+-all"', response.headers["etag"])
    assert "max-age=" in response.headers["cache-control"]
    assert len(decode(response.content, t.z, t.x, t.y)["reports"]) == 3

    again = await get_tile(client, t, **{"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == response.headers["etag"]

    filtered = await get_tile(client, t, "?categories=vandalism",
                              **{"If-None-Match": response.headers["etag"]})
    assert filtered.status_code == 200 and filtered.headers["etag"] != response.headers["etag"]

    raw = await client.get(url(t), headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == response.content  # httpx decodes gzip: the same tile
    stream = await client.send(client.build_request("GET", url(t), headers={"Accept-Encoding": "gzip"}),
                               stream=True)
    compressed = b"".join([chunk async for chunk in stream.aiter_raw()])
    await stream.aclose()
    assert gzip.decompress(compressed) == response.content

    plain = await client.get(url(t), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == response.content


# -- freshness ------------------------------------------------------------------------------------
async def test_a_new_public_report_shows_in_the_next_tiles(client: httpx.AsyncClient,
                                                           app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    t = tile_of(*WARSAW, 13)
    first = await eventually(lambda: layers_count(client, t, 3))
    assert first
    before = await get_tile(client, t)
    publish(app_conn, 1)
    assert await eventually(lambda: layers_count(client, t, 4)), "the cached tile was not refreshed"
    after = await get_tile(client, t)
    assert after.headers["etag"] != before.headers["etag"]
    # and a client that revalidates with the old ETag gets the new tile
    revalidated = await get_tile(client, t, **{"If-None-Match": before.headers["etag"]})
    assert revalidated.status_code == 200


async def layers_count(client: httpx.AsyncClient, t: mercantile.Tile, expected: int) -> bool:
    return len((await layers(client, t)).get("reports", [])) == expected


async def test_unpublished_reports_never_reach_a_tile(client: httpx.AsyncClient,
                                                      app_conn: psycopg.Connection) -> None:
    for _ in range(5):
        insert_report(app_conn, published=False)
    await asyncio.sleep(0.1)
    for z in (5, 9, 13, 16):
        assert (await get_tile(client, tile_of(*WARSAW, z))).status_code == 204


# -- layers ---------------------------------------------------------------------------------------
async def test_density_and_areas_suppress_counts_below_k(client: httpx.AsyncClient,
                                                         app_conn: psycopg.Connection) -> None:
    place = (22.5, 50.9)  # rural Lubelskie
    publish(app_conn, 2, *place)
    await asyncio.sleep(0.1)
    for z in (5, 8, 11):
        got = await eventually(lambda z=z: layers(client, tile_of(*place, z)), timeout=0.2)
        assert not got.get("density") and not got.get("areas"), f"a count below k at z{z}"
    publish(app_conn, 1, *place, category="speeding")

    async def density_at(z: int) -> list:
        return (await layers(client, tile_of(*place, z))).get("density", [])

    for z in (3, 5, 8, 11):
        cells = await eventually(lambda z=z: density_at(z))
        assert [c["properties"]["count"] for c in cells] == [3], f"z{z}"
        props = cells[0]["properties"]
        # 2 vandalism, 1 speeding: each below k, so no per-category count and no top category
        assert set(props) == {"count"}
    areas5 = (await layers(client, tile_of(*place, 5)))["areas"]
    assert {(a["properties"]["level"], a["properties"]["count"]) for a in areas5} == {("voivodeship", 3)}
    areas9 = (await layers(client, tile_of(*place, 9)))["areas"]
    assert {a["properties"]["level"] for a in areas9} == {"county"}
    assert "areas" not in await layers(client, tile_of(*place, 12))


async def test_density_per_category_and_filters(client: httpx.AsyncClient,
                                                app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3, category="speeding")
    publish(app_conn, 4, category="vandalism")
    t = tile_of(*WARSAW, 9)

    async def density(query: str = "") -> list:
        return (await layers(client, t, query)).get("density", [])

    cells = await eventually(lambda: density())
    assert len(cells) == 1
    props = cells[0]["properties"]
    assert (props["count"], props["speeding"], props["vandalism"], props["top_category"]) == (
        7, 3, 4, "vandalism")
    only = (await density("?categories=speeding"))[0]["properties"]
    assert only["count"] == 3 and "vandalism" not in only
    assert await density("?statuses=under_verification") == []
    assert await density("?to=2000-01-01") == []
    reports = (await layers(client, tile_of(*WARSAW, 13), "?categories=vandalism"))["reports"]
    assert {r["properties"]["category"] for r in reports} == {"vandalism"} and len(reports) == 4


# -- privacy, from the outside ------------------------------------------------------------------
ALLOWED = {
    "reports": {"category", "status", "date", "id"},
    "areas": {"code", "name", "level", "count", "top_category"},
}


async def test_tiles_around_an_exact_report_show_only_its_public_cell_centre(
        client: httpx.AsyncClient, app_conn: psycopg.Connection) -> None:
    exact = (21.00123, 52.23456)
    ids = [insert_report(app_conn, lon=exact[0], lat=exact[1], published=True, status="confirmed",
                         category=category, description="Jan Kowalski, ul. Prosta 5",
                         contact="jan@example.org")
           for category in ("vandalism", "homeless-person-in-need")]  # the second is sensitive
    rows = app_conn.execute(
        "SELECT category_id, ST_X(geom_3857), ST_Y(geom_3857), "
        "       CASE WHEN date_precision = 'month' THEN to_char(occurred_on, 'YYYY-MM') "
        "            ELSE occurred_on::text END "
        "FROM open.reports WHERE id = ANY(%s)", [ids]).fetchall()
    public = {category: (x, y, day) for category, x, y, day in rows}
    assert len(public["homeless-person-in-need"][2]) == 7  # a month, not a day
    exact_m = mercantile.xy(*exact)
    for x, y, _ in public.values():
        assert abs(x - exact_m[0]) + abs(y - exact_m[1]) > 5  # the public point is not the exact one
    # every z16 tile within about 1 km of the exact point
    west, south = exact[0] - 0.015, exact[1] - 0.01
    east, north = exact[0] + 0.015, exact[1] + 0.01
    seen = []
    for t in mercantile.tiles(west, south, east, north, [12, 14, 16]):
        for name, features in (await layers(client, t)).items():
            for feature in features:
                assert set(feature["properties"]) <= ALLOWED[name], feature["properties"]
                for value in feature["properties"].values():
                    assert not isinstance(value, str) or ("Kowalski" not in value and ":" not in value)
                if name == "reports":
                    x, y = feature["geometry"]["coordinates"]
                    seen.append((t.z, x, y, feature["properties"]))
    assert {props["category"] for *_, props in seen} == set(public)
    for z, x, y, props in seen:
        px, py, day = public[props["category"]]
        tolerance = 2 * 20037508.342789244 / 2**z / 4096  # one tile pixel
        assert abs(x - px) <= tolerance and abs(y - py) <= tolerance
        assert props["date"] == day
    # below the switch zoom: only suppressed aggregates (a single report is in none)
    for z in range(0, 12):
        got = await layers(client, tile_of(*exact, z))
        assert not got.get("density") and not got.get("areas")


# -- OGC API Tiles ------------------------------------------------------------------------------
async def test_ogc_api_tiles_serves_the_same_tiles(client: httpx.AsyncClient,
                                                   app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    t = tile_of(*WARSAW, 8)
    xyz = await eventually(lambda: _ok(client.get(url(t))))
    ogc = await client.get(f"/ogc/collections/reports/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}")
    assert ogc.status_code == 200 and ogc.headers["content-type"] == MVT
    assert ogc.content == xyz.content
    tilesets = (await client.get("/ogc/collections/reports/tiles")).json()
    assert tilesets["tilesets"][0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    tileset = (await client.get("/ogc/collections/reports/tiles/WebMercatorQuad")).json()
    item = next(link for link in tileset["links"] if link["rel"] == "item")
    assert item["href"].endswith("/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    limits = {lim["tileMatrix"]: lim for lim in tileset["tileMatrixSetLimits"]}
    assert limits["8"]["minTileCol"] <= t.x <= limits["8"]["maxTileCol"]
    assert limits["8"]["minTileRow"] <= t.y <= limits["8"]["maxTileRow"]


async def _ok(request) -> httpx.Response | None:
    response = await request
    return response if response.status_code == 200 else None


# -- the page -------------------------------------------------------------------------------------
async def test_index_is_the_map_for_browsers_and_json_for_clients(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/tiles/static/maplibre-gl/maplibre-gl.mjs" in page.text and "unpkg" not in page.text
    links = (await client.get("/", headers={"Accept": "application/json"})).json()["links"]
    assert links["tilejson"].endswith("/tiles/reports.json")
    assert (await client.get("/api")).json()["links"] == links
    script = await client.get("/tiles/static/maplibre-gl/maplibre-gl.mjs")
    assert script.status_code == 200 and "MapLibre" in script.text[:200]
    licence = await client.get("/tiles/static/maplibre-gl/LICENSE.txt")
    assert licence.status_code == 200 and "MapLibre contributors" in licence.text


# -- the cache itself -----------------------------------------------------------------------------
def test_cache_is_bounded_in_bytes_and_keeps_one_version() -> None:
    cache = TileCache(max_bytes=10_000)
    for i in range(20):
        cache.put(i, TileBody(1, bytes(1000)))
    assert cache.bytes <= 10_000 and len(cache) < 20
    assert cache.get(19, 1) is not None and cache.get(0, 1) is None
    assert cache.get(19, 2) is None  # a newer data version: a miss
    cache.put("new", TileBody(2, b"x"))
    assert len(cache) == 1 and cache.get(19, 2) is None
    cache.put("old", TileBody(1, b"y"))  # rendered from an older snapshot: not kept
    assert cache.get("old", 2) is None


# -- the pyramid stays equal to its counts ------------------------------------------------------
PYRAMID_DIFF = """
WITH truth AS (
    SELECT cell_m, cx, cy, sum(n)::integer AS n FROM core.density_counts
    GROUP BY 1, 2, 3 HAVING sum(n) > 0
)
SELECT count(*) FROM truth FULL JOIN core.tile_density AS t USING (cell_m, cx, cy)
WHERE truth.n IS DISTINCT FROM t.n
   OR t.by_category IS DISTINCT FROM (
       SELECT jsonb_object_agg(category_id, s) FROM (
           SELECT category_id, sum(n)::integer AS s FROM core.density_counts AS d
           WHERE (d.cell_m, d.cx, d.cy) = (t.cell_m, t.cx, t.cy)
           GROUP BY 1 HAVING sum(n) > 0) AS per_category)
"""


def test_pyramid_follows_publishing_status_changes_and_deletion(app_conn: psycopg.Connection) -> None:
    ids = publish(app_conn, 4) + publish(app_conn, 3, 19.945, 50.065, category="speeding")
    app_conn.execute("UPDATE core.reports SET status = 'confirmed_eliminated' WHERE id = %s", [ids[0]])
    app_conn.execute("UPDATE core.reports SET category_id = 'drug-use' WHERE id = %s", [ids[5]])
    app_conn.execute("DELETE FROM core.reports WHERE id = %s", [ids[1]])
    assert app_conn.execute(PYRAMID_DIFF).fetchone()[0] == 0
    areas = app_conn.execute(
        "SELECT sum(n) FROM core.tile_areas AS t JOIN core.areas AS a ON a.code = t.area_code "
        "WHERE a.level = 'voivodeship'").fetchone()[0]
    assert areas == 6
    app_conn.execute("DELETE FROM core.reports")
    assert app_conn.execute("SELECT count(*) FROM core.tile_density").fetchone()[0] == 0
    assert app_conn.execute("SELECT count(*) FROM core.tile_areas").fetchone()[0] == 0


def test_pyramid_survives_a_rebuild_of_the_public_layer(app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    publish(app_conn, 5, 19.945, 50.065)
    before = app_conn.execute("SELECT cell_m, cx, cy, n, ST_AsText(centre_3857) FROM core.tile_density "
                              "ORDER BY 1, 2, 3").fetchall()
    app_conn.execute("SELECT core.rebuild_public_layer()")
    after = app_conn.execute("SELECT cell_m, cx, cy, n, ST_AsText(centre_3857) FROM core.tile_density "
                             "ORDER BY 1, 2, 3").fetchall()
    assert after == before and len(after) == 14
    assert app_conn.execute(PYRAMID_DIFF).fetchone()[0] == 0
    centres = app_conn.execute(
        "SELECT count(*) FROM core.tile_density AS t JOIN core.density_cells AS c USING (cell_m, cx, cy) "
        "WHERE ST_Distance(t.centre_3857, c.centre_3857) > 0.01").fetchone()[0]
    assert centres == 0
