"""Items as CSV (issue 11, point 5): every row has its id and coordinates (longitude, latitude;
x, y in EPSG:2180 when `crs` asks for it), read back with Python's csv module and with GDAL's
CSV driver, and compared with the GeoJSON of the same items."""

import asyncio
import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pyproj
import pytest

from tests.support import OGC_COLLECTIONS

EPSG2180 = "http://www.opengis.net/def/crs/EPSG/0/2180"
OGR2OGR = shutil.which("ogr2ogr")
WITHOUT_GEOMETRY = {"categories"}


async def rows(client: httpx.AsyncClient, collection: str, **params: str | int) -> list[dict[str, str]]:
    answer = await client.get(f"/ogc/collections/{collection}/items", params={"f": "csv", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


async def geojson(client: httpx.AsyncClient, collection: str, **params: str | int) -> dict:
    answer = await client.get(f"/ogc/collections/{collection}/items", params={"f": "json", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("collection", OGC_COLLECTIONS)
async def test_every_row_has_its_id_and_coordinates(client: httpx.AsyncClient, published: dict,
                                                    collection: str) -> None:
    table = await rows(client, collection, limit=50)
    features = (await geojson(client, collection, limit=50))["features"]
    assert table and [r["id"] for r in table] == [str(f["id"]) for f in features]
    if collection in WITHOUT_GEOMETRY:
        assert "longitude" not in table[0] and "x" not in table[0]
        return
    assert list(table[0])[:3] == ["id", "longitude", "latitude"]
    for row, feature in zip(table, features, strict=True):
        longitude, latitude = float(row["longitude"]), float(row["latitude"])
        assert 14 < longitude < 24.2 and 49 < latitude < 55, row   # in Poland
        if feature["geometry"]["type"] == "Point":
            assert [longitude, latitude] == pytest.approx(feature["geometry"]["coordinates"], abs=1e-6)
        else:   # a point inside the area
            flat = _coordinates(feature["geometry"])
            assert min(c[0] for c in flat) <= longitude <= max(c[0] for c in flat)
            assert min(c[1] for c in flat) <= latitude <= max(c[1] for c in flat)


def _coordinates(geometry: dict) -> list[list[float]]:
    found: list[list[float]] = []

    def walk(node: list) -> None:
        if node and isinstance(node[0], int | float):
            found.append(node)
        else:
            for child in node:
                walk(child)
    walk(geometry["coordinates"])
    return found


async def test_epsg_2180_rows_add_x_and_y_in_puwg_1992(client: httpx.AsyncClient, published: dict) -> None:
    table = await rows(client, "reports", crs=EPSG2180, limit=20)
    assert list(table[0])[:5] == ["id", "longitude", "latitude", "x", "y"]
    to_2180 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:2180", always_xy=True)
    warsaw = next(r for r in table if r["id"] == str(published["warsaw"]))
    x, y = to_2180.transform(float(warsaw["longitude"]), float(warsaw["latitude"]))
    assert (float(warsaw["x"]), float(warsaw["y"])) == pytest.approx((x, y), abs=0.05)
    # x the easting, y the northing
    assert 630_000 < float(warsaw["x"]) < 645_000 and 480_000 < float(warsaw["y"]) < 495_000
    # the same longitude and latitude as without crs
    plain = {r["id"]: r for r in await rows(client, "reports", limit=20)}
    assert (warsaw["longitude"], warsaw["latitude"]) == (plain[warsaw["id"]]["longitude"],
                                                         plain[warsaw["id"]]["latitude"])


async def test_latitude_first_crs_still_gives_longitude_and_latitude(client: httpx.AsyncClient,
                                                                      published: dict) -> None:
    table = await rows(client, "reports", crs="http://www.opengis.net/def/crs/EPSG/0/4326", limit=20)
    warsaw = next(r for r in table if r["id"] == str(published["warsaw"]))
    assert 20.9 < float(warsaw["longitude"]) < 21.1 and 52.1 < float(warsaw["latitude"]) < 52.3
    assert "x" not in warsaw


async def test_an_empty_page_still_has_its_header(client: httpx.AsyncClient, published: dict) -> None:
    answer = await client.get("/ogc/collections/reports/items",
                              params={"f": "csv", "filter": "status = 'no-such-status'"})
    assert answer.status_code == 200
    header = answer.text.splitlines()[0].split(",")
    assert header[:3] == ["id", "longitude", "latitude"] and "status" in header


@pytest.mark.skipif(OGR2OGR is None, reason="GDAL's ogr2ogr is not installed (apt-get install gdal-bin)")
async def test_gdal_reads_the_csv_as_points(client: httpx.AsyncClient, published: dict,
                                            tmp_path: Path) -> None:
    answer = await client.get("/ogc/collections/reports/items",
                              params={"f": "csv", "crs": EPSG2180, "limit": 20})
    source = tmp_path / "reports.csv"
    source.write_bytes(answer.content)

    async def points(x: str, y: str, srs: str) -> dict[str, list[float]]:
        out = tmp_path / f"{x}.geojson"
        result = await asyncio.to_thread(subprocess.run, [
            OGR2OGR, "-f", "GeoJSON", str(out), str(source), "-oo", f"X_POSSIBLE_NAMES={x}",
            "-oo", f"Y_POSSIBLE_NAMES={y}", "-oo", "AUTODETECT_TYPE=YES", "-a_srs", srs],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        document = json.loads(out.read_text())
        return {f["properties"]["id"]: f["geometry"]["coordinates"] for f in document["features"]}

    degrees = await points("longitude", "latitude", "OGC:CRS84")
    metres = await points("x", "y", "EPSG:2180")
    warsaw = str(published["warsaw"])
    assert len(degrees) == len(metres) == len(answer.text.strip().splitlines()) - 1
    x, y = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:2180", always_xy=True).transform(*degrees[warsaw])
    assert metres[warsaw] == pytest.approx([x, y], abs=0.05)
