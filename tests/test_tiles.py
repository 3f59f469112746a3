"""The tile door through HTTP, with the tiles decoded as MapLibre or QGIS would."""

import asyncio
import gzip
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import mercantile
import psycopg
import pytest

from tests.support import WARSAW, decode_tile, eventually, insert_report, reports_in, running_app
from tiles.addresses import REPORTS_MIN_ZOOM, TileAddress, density_level
from tiles.filters import TileFilters
from tiles.queries import tile_statement
from tiles.shortcut import CachedTileShortcut

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
    return decode_tile(response.content, t.z, t.x, t.y) if response.status_code == 200 else {}


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
    assert {layer["id"] for layer in doc["vector_layers"]} == {
        "reports", "density", "areas", "police_statistics", "road_sections"}
    assert doc["minzoom"] == 0 and doc["maxzoom"] == 16
    west, south, east, north = doc["bounds"]
    assert west < WARSAW[0] < east and south < WARSAW[1] < north
    # language-neutral (the tiles door speaks no language), GUGiK's register credited once, and
    # the MIT licence named as the boundaries' conversion's (polska-geojson), not GUGiK's
    assert doc["attribution"].count("GUGiK") == 1 and "PRG" in doc["attribution"]
    assert "polska-geojson © Piotr Patrzyk (MIT)" in doc["attribution"]
    assert not re.search(r"\b(reports|boundaries|verified|police)\b", doc["attribution"], re.I), doc


async def test_style_colours_each_category_from_the_catalogue(client: httpx.AsyncClient) -> None:
    style = (await client.get("/tiles/style.json")).json()
    assert style["version"] == 8
    assert style["sources"]["threatmap"]["url"].endswith("/tiles/reports.json")
    reports = next(layer for layer in style["layers"] if layer["id"] == "reports")
    match = reports["paint"]["circle-color"]
    assert match[:2] == ["match", ["get", "category"]]
    colours = dict(zip(match[2:-1:2], match[3:-1:2], strict=True))
    assert colours["vandalism"] == "#8e44ad" and len(colours) == 24
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


# -- one feature a cell below zoom 15 (issue 16.5) ---------------------------------------------
async def test_below_zoom_15_a_cell_is_one_feature_with_its_count_top_pin_and_newest_date(
        client: httpx.AsyncClient, app_conn: psycopg.Connection) -> None:
    place = (WARSAW[0] + 0.02, WARSAW[1] + 0.01)
    noon = datetime(2026, 2, 10, 12, tzinfo=UTC)
    ids = [insert_report(app_conn, lon=place[0] + i * 1e-5, lat=place[1], category=category,
                         status=status, occurred_at=noon - timedelta(days=ago),
                         created_at=noon - timedelta(days=ago), published=True)
           for i, (category, status, ago) in enumerate([
               ("vandalism", "confirmed", 0), ("vandalism", "confirmed", 1),
               ("vandalism", "new", 2), ("speeding", "new", 5)])]
    x, y = app_conn.execute("SELECT DISTINCT ST_X(geom_3857), ST_Y(geom_3857) FROM open.reports "
                            "WHERE id = ANY(%s)", [ids]).fetchone()  # one cell: one public point

    async def at_cell(z: int, query: str = "") -> list[dict]:
        features = (await layers(client, tile_of(*place, z), query)).get("reports", [])
        return [f["properties"] for f in features
                if abs(f["geometry"]["coordinates"][0] - x) + abs(f["geometry"]["coordinates"][1] - y)
                < 50 * 2 ** (16 - z)]  # within a pixel or so of the cell centre

    for z in (12, 13, 14):
        assert await at_cell(z) == [{"category": "vandalism", "status": "confirmed",
                                     "date": "2026-02-10", "count": 4}], f"z{z}"
    assert await at_cell(13, "?categories=speeding") == [
        {"category": "speeding", "status": "new", "date": "2026-02-05", "count": 1}]
    # ties (one each) go to the first category by id; the date is the newest of those matching
    assert await at_cell(13, "?statuses=new") == [
        {"category": "speeding", "status": "new", "date": "2026-02-08", "count": 2}]
    assert await at_cell(13, "?from=2026-02-09") == [
        {"category": "vandalism", "status": "confirmed", "date": "2026-02-10", "count": 2}]
    assert await at_cell(13, "?to=2026-02-01") == []
    assert len(await at_cell(15)) == 4  # from zoom 15 a feature a report


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
    assert re.fullmatch(r'W/"[0-9a-f]{16}-all"', response.headers["etag"])
    assert "max-age=" in response.headers["cache-control"]
    shown = decode_tile(response.content, t.z, t.x, t.y)
    assert reports_in(shown) == 3 and len(shown["reports"]) == 1  # one pin: same cell, category, day

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
    return reports_in(await layers(client, t)) == expected


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
    shown = await layers(client, tile_of(*WARSAW, 13), "?categories=vandalism")
    assert {r["properties"]["category"] for r in shown["reports"]} == {"vandalism"} and reports_in(shown) == 4


# -- privacy, from the outside ------------------------------------------------------------------
ALLOWED = {
    "reports": {"category", "status", "date", "id", "count"},
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


async def test_report_points_come_in_id_order_not_the_order_they_were_published(
        client: httpx.AsyncClient, app_conn: psycopg.Connection) -> None:
    """Points in the order open.reports stores them would be in the order they were published
    (a batch: in the order submitted; a rebuilt layer: every report in the order submitted)."""
    reports = publish(app_conn, 12)
    app_conn.execute("SELECT core.rebuild_public_layer()")
    t = tile_of(*WARSAW, 16)
    features = await eventually(lambda: _report_features(client, t, len(reports)))
    assert [uuid.UUID(f["properties"]["id"]) for f in features] == sorted(reports)


async def _report_features(client: httpx.AsyncClient, t: mercantile.Tile, expected: int) -> list:
    features = (await layers(client, t)).get("reports", [])
    return features if len(features) == expected else []


def test_density_and_area_tiles_do_not_depend_on_the_physical_order_of_rows(
        app_conn: psycopg.Connection) -> None:
    """The same data gives the same tile bytes (ETag, the PMTiles archive's checksum) whatever
    order the pyramid's rows lie in: the cells and areas of a tile are sorted."""
    for n, lon in enumerate((21.20, 21.10, 21.00, 20.90)):   # written east to west
        publish(app_conn, 3 + n, lon=lon, lat=52.23)
    levels = app_conn.execute("SELECT density_cell_m FROM open.privacy_policy").fetchone()[0]
    addresses = [TileAddress(t.z, t.x, t.y) for t in (tile_of(21.0, 52.23, z) for z in (6, 8, 10))]

    def tile_bytes() -> list[bytes]:
        found = []
        for address in addresses:
            for filters in (TileFilters(), TileFilters(statuses=("confirmed", "new"))):
                statement, params = tile_statement(address, filters, density_level(address.z, levels))
                found.append(bytes(app_conn.execute(statement, params).fetchone()[1]))
        return found

    before = tile_bytes()
    assert all(before)
    for table, key in (("core.tile_density", "cell_m, cx, cy"), ("core.tile_areas", "area_code"),
                       ("core.density_counts", "cell_m, cx, cy"), ("core.area_counts", "area_code")):
        app_conn.execute(f"CREATE TEMP TABLE reordered AS SELECT * FROM {table} ORDER BY ({key}) DESC")
        app_conn.execute(f"DELETE FROM {table}")
        app_conn.execute(f"INSERT INTO {table} SELECT * FROM reordered")
        app_conn.execute("DROP TABLE reordered")
    # Read in the new physical order (a sequential scan), not in the spatial index's order.
    app_conn.execute("SET enable_indexscan = off")
    app_conn.execute("SET enable_bitmapscan = off")
    try:
        assert tile_bytes() == before
    finally:
        app_conn.execute("RESET enable_indexscan")
        app_conn.execute("RESET enable_bitmapscan")


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

PUBLIC_DIFF = """
SELECT count(*) FROM (SELECT by_category, public_by_category, public_top FROM core.tile_density
                      UNION ALL
                      SELECT by_category, public_by_category, public_top FROM core.tile_areas) AS t
CROSS JOIN core.privacy_policy AS p
WHERE t.public_by_category IS DISTINCT FROM core.suppressed(t.by_category, p.k)
   OR t.public_top IS DISTINCT FROM core.top_category(core.suppressed(t.by_category, p.k))
"""


def test_pyramid_follows_publishing_status_changes_and_deletion(app_conn: psycopg.Connection) -> None:
    ids = publish(app_conn, 4) + publish(app_conn, 3, 19.945, 50.065, category="speeding")
    app_conn.execute("UPDATE core.reports SET status = 'confirmed_eliminated' WHERE id = %s", [ids[0]])
    app_conn.execute("UPDATE core.reports SET category_id = 'drug-use' WHERE id = %s", [ids[5]])
    app_conn.execute("DELETE FROM core.reports WHERE id = %s", [ids[1]])
    assert app_conn.execute(PYRAMID_DIFF).fetchone()[0] == 0
    assert app_conn.execute(PUBLIC_DIFF).fetchone()[0] == 0
    publics = app_conn.execute("SELECT public_by_category, public_top FROM core.tile_density "
                               "WHERE cell_m = 64000 ORDER BY by_category::text").fetchall()
    assert publics == [({}, None), ({"vandalism": 3}, "vandalism")]  # Kraków: 2 + 1, below k
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


# -- targeted invalidation ------------------------------------------------------------------------
KRAKOW = (19.945, 50.065)


def density_sum(response: httpx.Response, t: mercantile.Tile) -> int:
    if response.status_code == 204:
        return 0
    got = decode_tile(response.content, t.z, t.x, t.y)
    return sum(f["properties"]["count"] for f in got.get("density", [])) + reports_in(got)


def warsaw_tiles(conn: psycopg.Connection, levels: list[int]) -> list[mercantile.Tile]:
    """At every zoom, the tile that shows Warsaw's reports: below the switch zoom the one holding
    the centre of Warsaw's density cell, from it the one holding the public point."""
    found = []
    for z in range(17):
        if z >= REPORTS_MIN_ZOOM:
            lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM open.reports "
                                    "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
                                    WARSAW).fetchone()
        else:
            lon, lat = conn.execute(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(centre_3857, 4326) AS c "
                "FROM core.tile_density WHERE cell_m = %s) AS t "
                "ORDER BY c <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
                [density_level(z, levels), *WARSAW]).fetchone()
        found.append(tile_of(lon, lat, z))
    return found


async def test_a_publish_evicts_only_the_tiles_it_touches(settings, app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    publish(app_conn, 3, *KRAKOW)
    async with running_app(settings) as (http, app):
        service = app.state.tile_service
        warsaw = warsaw_tiles(app_conn, service.levels)
        krakow = [tile_of(*KRAKOW, z) for z in range(7, 17)]
        before = {t: await get_tile(http, t) for t in warsaw + krakow}
        filtered = "?categories=vandalism"
        before_filtered = {t: await get_tile(http, t, filtered) for t in warsaw}
        assert all(r.status_code == 200 for r in before.values())

        publish(app_conn, 1)
        version = app_conn.execute("SELECT version FROM core.data_version").fetchone()[0]

        async def applied() -> bool:
            return service.version >= version

        assert await eventually(applied), "the change note did not arrive"
        renders = service.renders
        for t in krakow:
            again = await get_tile(http, t)
            assert again.content == before[t].content and again.headers["etag"] == before[t].headers["etag"]
            revalidated = await get_tile(http, t, **{"If-None-Match": before[t].headers["etag"]})
            assert revalidated.status_code == 304
        assert service.renders == renders, "a Kraków tile was made again: the publish evicted it"

        for t in warsaw:
            for query, old in (("", before[t]), (filtered, before_filtered[t])):
                after = await get_tile(http, t, query)
                assert after.headers["etag"] != old.headers["etag"], f"z{t.z}{query} kept its ETag"
                assert density_sum(after, t) == density_sum(old, t) + 1, f"z{t.z}{query} is stale"
                stale = await get_tile(http, t, query, **{"If-None-Match": old.headers["etag"]})
                assert stale.status_code == 200
        assert service.renders == renders + 2 * len(warsaw)


async def test_change_notes_carry_only_public_places(public_conn: psycopg.Connection,
                                                     app_conn: psycopg.Connection) -> None:
    public_conn.execute("LISTEN threatmap_open_tiles")   # the public role may listen: an attacker
    exact = (21.01234, 52.23111)
    insert_report(app_conn, lon=19.93, lat=50.06)          # not published: no note at all
    publish(app_conn, 1, *exact)
    notes = list(public_conn.notifies(timeout=5, stop_after=1))
    assert notes, "no change note"
    note = json.loads(notes[0].payload)
    assert set(note) == {"version", "points", "areas"}
    x, y, county, voivodeship = public_conn.execute(
        "SELECT round(ST_X(geom_3857)), round(ST_Y(geom_3857)), county_code, voivodeship_code "
        "FROM open.reports").fetchone()
    assert note["points"] == [[x, y]]                      # the public cell centre, nothing else
    assert note["areas"] == sorted([county, voivodeship])
    exact_x, exact_y = app_conn.execute(
        "SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857) AS p",
        exact).fetchone()
    assert abs(exact_x - x) + abs(exact_y - y) > 10
    # a rebuild of the layer is too big to place: one note saying so
    app_conn.execute("SELECT core.rebuild_public_layer()")
    payloads = [json.loads(n.payload) for n in public_conn.notifies(timeout=2, stop_after=2)]
    assert all(set(p) in ({"version", "points", "areas"}, {"version", "everything"}) for p in payloads)


async def test_a_bare_version_change_empties_the_cache(settings, app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3, *KRAKOW)
    async with running_app(settings) as (http, app):
        service = app.state.tile_service
        t = tile_of(*KRAKOW, 14)
        first = await get_tile(http, t)
        await get_tile(http, t)
        renders = service.renders
        # a category's colour changes what a style shows; the tiles cannot tell: drop them all
        app_conn.execute("UPDATE core.categories SET sort_order = sort_order WHERE id = 'vandalism'")
        version = app_conn.execute("SELECT version FROM core.data_version").fetchone()[0]
        assert await eventually(lambda: _at_least(service, version)), "the version did not arrive"
        assert len(service.cache) == 0
        again = await get_tile(http, t)
        assert service.renders == renders + 1 and again.headers["etag"] == first.headers["etag"]


async def _at_least(service, version: int) -> bool:
    return service.version >= version


CLIPPED_AT_REQUEST = """
SELECT ST_AsMVT(t, 'areas', 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(a.geom_3857, ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom,
           a.area_code AS code, a.area_name AS name, a.level, a.count, a.top_category
    FROM open.tile_areas AS a
    WHERE a.level = %(level)s AND a.geom_3857 && ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625)
) AS t
"""

FILTERED_AT_REQUEST = """
SELECT ST_AsMVT(t, 'areas', 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(geom_3857, ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom,
           area_code AS code, area_name AS name, level, sum(n)::integer AS count,
           (array_agg(category_id ORDER BY n DESC, category_id))[1] AS top_category
    FROM (SELECT s.area_code, s.area_name, s.level, s.geom_3857, s.category_id, sum(s.count)::integer AS n
          FROM open.area_statistics AS s
          WHERE s.level = %(level)s AND s.category_id = ANY(%(categories)s)
            AND s.geom_3857 && ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625)
          GROUP BY s.area_code, s.area_name, s.level, s.geom_3857, s.category_id) AS per_category
    GROUP BY area_code, area_name, level, geom_3857
) AS t
"""


async def test_areas_clipped_in_advance_equal_clipping_at_request(client: httpx.AsyncClient,
                                                                  app_conn: psycopg.Connection,
                                                                  public_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    publish(app_conn, 3, *KRAKOW)
    publish(app_conn, 3, 22.5, 50.9, category="speeding")
    publish(app_conn, 1, 22.5, 50.9)
    seen = 0
    for z in range(0, 12):
        for place in (WARSAW, KRAKOW, (22.5, 50.9), (14.6, 53.4)):
            t = tile_of(*place, z)
            level = "county" if z >= 7 else "voivodeship"
            expected = public_conn.execute(CLIPPED_AT_REQUEST, {"z": z, "x": t.x, "y": t.y,
                                                                "level": level}).fetchone()[0] or b""
            want = decode_tile(bytes(expected), z, t.x, t.y).get("areas", [])
            got = (await layers(client, t)).get("areas", [])
            key = lambda f: f["properties"]["code"]  # noqa: E731
            assert sorted(got, key=key) == sorted(want, key=key), f"z{z} {place}"
            expected = public_conn.execute(FILTERED_AT_REQUEST, {
                "z": z, "x": t.x, "y": t.y, "level": level, "categories": ["speeding", "vandalism"]
            }).fetchone()[0] or b""
            want = decode_tile(bytes(expected), z, t.x, t.y).get("areas", [])
            got = (await layers(client, t, "?categories=speeding,vandalism")).get("areas", [])
            assert sorted(got, key=key) == sorted(want, key=key), f"z{z} {place} filtered"
            seen += len(want)
    assert seen > 40   # the comparison is not between empty layers


# -- cache hits answered before routing (tiles.shortcut) ----------------------------------------
ANSWER_HEADERS = ("content-type", "content-length", "content-encoding", "etag", "cache-control", "vary",
                  "access-control-allow-origin")


async def test_cache_hits_skip_the_router_and_answer_exactly_as_the_endpoint(
        settings, app_conn: psycopg.Connection) -> None:
    publish(app_conn, 3)
    t = tile_of(*WARSAW, 14)
    ogc = f"/ogc/collections/reports/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
    async with running_app(settings) as (http, app):
        assert (await http.get("/health")).status_code == 200
        assert any(isinstance(layer, CachedTileShortcut) for layer in _layers(app.middleware_stack)), \
            "the app does not put the shortcut in front of its routes"
        reached: list[str] = []

        async def app_behind(scope, receive, send) -> None:
            """Stands where the router stands: records what the shortcut let through."""
            reached.append(scope["path"])
            await app.router(scope, receive, send)

        shortcut = CachedTileShortcut(app_behind, app.state.tile_service)
        direct = httpx.AsyncClient(transport=httpx.ASGITransport(app=shortcut), base_url="http://testserver")
        endpoint = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_behind),
                                     base_url="http://testserver")
        miss = url(tile_of(*WARSAW, 15))
        assert (await direct.get(miss)).status_code == 200 and reached == [miss], "a miss goes on"

        cases = [(url(t), {}), (url(t), {"Accept-Encoding": "gzip"}), (url(t, "?categories=vandalism"), {}),
                 (url(t, "?statuses=confirmed&categories=vandalism"), {"Accept-Encoding": "gzip"}),
                 (ogc, {}), (ogc + "?f=mvt", {"Accept-Encoding": "gzip"})]
        for path, headers in cases:
            # the endpoint's answer, which also leaves the tile in the cache
            first = await eventually(lambda p=path, h=headers: _ok(endpoint.get(p, headers=h)))
            assert first is not None, path
            reached.clear()
            hit = await direct.get(path, headers=headers)
            assert not reached, f"a cache hit for {path} went through the router"
            assert hit.status_code == 200 and hit.content == first.content
            assert {h: hit.headers.get(h) for h in ANSWER_HEADERS} == \
                   {h: first.headers.get(h) for h in ANSWER_HEADERS}, path
            not_modified = await direct.get(path, headers={**headers, "If-None-Match": hit.headers["etag"]})
            assert not reached and not_modified.status_code == 304 and not_modified.content == b""
            assert not_modified.headers["etag"] == hit.headers["etag"]

        # What the shortcut is unsure of goes on, and the endpoint words the answer.
        for path in (url(t, "?categories=no-such-category"), ogc + "?f=json", url(t, "?from=yesterday")):
            reached.clear()
            response = await direct.get(path)
            assert reached and response.status_code == 400, path
        reached.clear()
        head = await direct.head(url(t))
        assert reached and head.status_code == 200 and head.content == b""
        # With the change listener down the cache cannot be trusted: cached tiles go on too.
        await app.state.tile_service.stop()
        reached.clear()
        assert (await direct.get(url(t))).status_code == 200 and reached == [url(t)]
        await direct.aclose()
        await endpoint.aclose()


async def _ok(request) -> httpx.Response | None:
    response = await request
    return response if response.status_code == 200 else None


def _layers(app):
    """The ASGI layers from the outermost middleware inwards."""
    while app is not None:
        yield app
        app = getattr(app, "app", None)
