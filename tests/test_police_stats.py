"""Police statistics (issue 15, points 1-4): the sample files import, a broken file reports every
error and writes nothing, a second import adds nothing, and the figures read back through
GraphQL and OGC API Features (GDAL reads the road sections in EPSG:2180), k-suppressed."""

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import mercantile
import psycopg
import pytest

from gateway.app import create_app
from gateway.cli import main
from gateway.settings import PROJECT_ROOT, Settings
from policestats.files import FileFormatError
from policestats.importer import ImportRejected, import_file
from store.locations import DatabaseUrls
from tests.support import decode_tile, free_port, gql, served

SAMPLES = PROJECT_ROOT / "docs" / "samples"
CONFIG = PROJECT_ROOT / "config"
SOURCE = "test-police"
OGR2OGR = shutil.which("ogr2ogr")


def _import(urls: DatabaseUrls, path: Path, kind: str = "stats", source: str = SOURCE, **options):
    with psycopg.connect(urls.app) as conn:
        return import_file(conn, path, kind, source, CONFIG, actor="tester", **options)


def _scalar(urls: DatabaseUrls, query: str, params: tuple = ()) -> object:
    with psycopg.connect(urls.app) as conn:
        return conn.execute(query, params).fetchone()[0]


@pytest.fixture(scope="module")
def imported(urls: DatabaseUrls) -> Iterator[dict]:
    results = {"stats": _import(urls, SAMPLES / "police-statistics.csv"),
               "population": _import(urls, SAMPLES / "population.csv", "population", "test-gus"),
               "roads": _import(urls, SAMPLES / "road-sections.csv", "roads")}
    yield results
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.police_statistics WHERE source LIKE 'test-%'")
        conn.execute("DELETE FROM core.area_population WHERE source LIKE 'test-%'")
        conn.execute("DELETE FROM core.road_sections WHERE source LIKE 'test-%'")


# -- the import ---------------------------------------------------------------------------------
def test_the_sample_files_import(urls: DatabaseUrls, imported: dict) -> None:
    assert imported["stats"].rows == 72
    assert imported["population"].rows == 17
    assert imported["roads"].rows == 5
    assert _scalar(urls, "SELECT count(*) FROM core.police_statistics WHERE source = %s", (SOURCE,)) == 72
    assert _scalar(urls, "SELECT count(*) FROM core.road_sections WHERE source = %s", (SOURCE,)) == 5
    record = _scalar(urls, "SELECT row_to_json(i) FROM core.statistic_imports AS i WHERE id = %s",
                     (imported["stats"].import_id,))
    assert record["actor"] == "tester" and record["rows"] == 72 and record["kind"] == "stats"
    assert record["file_name"] == "police-statistics.csv" and len(record["sha256"]) == 64
    assert record["period_from"] == "2026-01-01" and record["period_to"] == "2026-02-01"
    # The line in EPSG:2180 and the ones in 4326 are stored in 2180, where they lie in Poland.
    assert _scalar(urls, "SELECT bool_and(ST_Within(ST_Transform(geom, 4326), "
                         "ST_MakeEnvelope(14, 49, 24.2, 55, 4326))) FROM core.road_sections") is True


def test_a_second_import_adds_nothing(urls: DatabaseUrls, imported: dict) -> None:
    again = _import(urls, SAMPLES / "police-statistics.csv")
    assert again.rows == 72 and again.replaced == 72
    assert _scalar(urls, "SELECT count(*) FROM core.police_statistics WHERE source = %s", (SOURCE,)) == 72
    roads = _import(urls, SAMPLES / "road-sections.csv", "roads")
    assert roads.replaced == 5
    assert _scalar(urls, "SELECT count(*) FROM core.road_sections WHERE source = %s", (SOURCE,)) == 5
    # The XLSX sample holds the same figures: same source and period, so it replaces them too.
    xlsx = _import(urls, SAMPLES / "police-statistics.xlsx")
    assert xlsx.rows == 72 and xlsx.replaced == 72
    assert _scalar(urls, "SELECT sum(count) FROM core.police_statistics WHERE source = %s AND "
                         "area_code = '14' AND offence = 'theft'", (SOURCE,)) == 2100 + 1953


BROKEN = """kind,area,month,count
theft,14,2026-03,10
burglary,14,2026-3,5
unknown_kind,14,2026-03,5
theft,99,2026-03,5
theft,146501,2026-03,5
robbery,12,2026-03,-4
robbery,12,2026-03,many
beating,,2026-03,1
"""


def test_a_broken_file_reports_every_error_and_writes_nothing(urls: DatabaseUrls, imported: dict,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN, encoding="utf-8")
    before = _scalar(urls, "SELECT count(*) FROM core.statistic_imports")
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, path, source="test-broken")
    found = [(issue.line, issue.column, issue.name) for issue in rejected.value.issues]
    assert found == [(3, 3, "month"), (4, 1, "kind"), (5, 2, "area"), (6, 2, "area"),
                     (7, 4, "count"), (8, 4, "count"), (9, 2, "area")]
    messages = [str(issue) for issue in rejected.value.issues]
    assert messages[0] == "line 3, column 3 (month): '2026-3' is not a month YYYY-MM"
    assert "gmina" in messages[3]
    assert _scalar(urls, "SELECT count(*) FROM core.police_statistics WHERE source = 'test-broken'") == 0
    assert _scalar(urls, "SELECT count(*) FROM core.statistic_imports") == before


def test_rows_given_twice_are_errors(urls: DatabaseUrls, tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("kind,area,month,count\ntheft,14,2026-03,10\ntheft,12,2026-03,10\n"
                    "theft,14,2026-03,11\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, path, source="test-twice")
    assert [str(issue) for issue in rejected.value.issues] == [
        "line 4: 14 theft 2026-03 again (first on line 2)"]
    assert _scalar(urls, "SELECT count(*) FROM core.police_statistics WHERE source = 'test-twice'") == 0


def test_the_errors_stop_at_the_limit_but_are_all_counted(urls: DatabaseUrls, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("kind,area,month,count\n" + "theft,14,2026-13,1\n" * 250, encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, path, source="test-many")
    assert len(rejected.value.issues) == 100 and rejected.value.total == 250


def test_a_file_with_wrong_columns_or_not_utf8(urls: DatabaseUrls, tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    path.write_text("kind,area,when,count\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, path, source="test-columns")
    assert [str(issue) for issue in rejected.value.issues] == [
        "line 1, column 3 (when): unknown column; a stats file has kind, area, month, count",
        "line 1: missing column 'month'"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("kind,area,month,count\ntheft,14,2026-03,1\ntheft,12,2026-03,ł\n".encode("iso-8859-2"))
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, latin, source="test-latin")
    assert str(rejected.value.issues[0]).startswith("line 3: not UTF-8")
    spreadsheet = tmp_path / "figures.ods"
    spreadsheet.write_text("x", encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"not a \.csv or \.xlsx file"):
        _import(urls, spreadsheet, source="test-ods")


def test_road_lines_are_checked(urls: DatabaseUrls, tmp_path: Path) -> None:
    path = tmp_path / "roads.csv"
    path.write_text(
        "road,km_from,km_to,period,incidents,deaths,injuries,geometry,crs\n"
        '7,10,5,2025,20,0,1,"LINESTRING(19.9 50.1, 19.9 50.2)",4326\n'          # km backwards
        '7,10,15,2025,20,0,1,"POINT(19.9 50.1)",4326\n'                          # not a line
        '7,10,15,2025,20,0,1,"LINESTRING(50.1 19.9, 50.2 19.9)",4326\n'          # axes swapped
        '7,10,15,2025,20,0,1,"LINESTRING(19.9 50.1, 19.9 50.2)",3857\n'          # CRS
        '7,10,15,2025-13,20,0,1,"LINESTRING(19.9 50.1, 19.9 50.2)",\n',         # period; no CRS
        encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        _import(urls, path, "roads", source="test-roads-bad")
    found = [(issue.line, issue.name) for issue in rejected.value.issues]
    assert found == [(2, "km_to"), (3, "geometry"), (4, "geometry"), (5, "crs"), (5, "geometry"),
                     (6, "period"), (6, "geometry")]


def test_the_command_imports_and_lists(urls: DatabaseUrls, imported: dict, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    monkeypatch.setenv("THREATMAP_PUBLIC_DATABASE_URL", urls.public)
    monkeypatch.setenv("THREATMAP_CONFIG_DIR", str(CONFIG))
    main(["stats", "import", str(SAMPLES / "population.csv"), "--kind", "population", "--source", "test-gus",
          "--actor", "cli-user", "--quiet"])
    out = capsys.readouterr().out
    assert "imported 17 rows of population from source 'test-gus'" in out and "17 earlier rows" in out
    path = tmp_path / "bad.csv"
    path.write_text("kind,area,month,count\ntheft,14,2026-03,x\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["stats", "import", str(path), "--source", "test-cli", "--quiet"])
    assert "1 errors; nothing imported" in str(exited.value.code)
    assert "bad.csv: line 2, column 4 (count): 'x' is not a whole number" in capsys.readouterr().err
    main(["stats", "imports", "--limit", "3"])
    assert "cli-user" in capsys.readouterr().out


# -- the doors ----------------------------------------------------------------------------------
async def test_graphql_reads_statistics_with_rates_suppressed_below_k(graphql_client: httpx.AsyncClient,
                                                                     imported: dict) -> None:
    body = await gql(graphql_client, """
        query($kinds: [String!]) {
          statisticKinds { id namePl nameEn }
          policeStatistics(kinds: $kinds, monthFrom: "2026-01-01", monthTo: "2026-01-31") {
            areaCode areaName level kind month count residents ratePer100k }
        }""", {"kinds": ["robbery", "fraud_grandchild", "theft"]})
    assert "errors" not in body, body
    kinds = {k["id"]: k for k in body["data"]["statisticKinds"]}
    assert kinds["fraud_grandchild"]["namePl"] == "Oszustwo „na wnuczka”"
    rows = {(r["areaCode"], r["kind"]): r for r in body["data"]["policeStatistics"]}
    assert rows[("14", "theft")] == {"areaCode": "14", "areaName": "mazowieckie", "level": "voivodeship",
                                     "kind": "theft", "month": "2026-01-01", "count": 2100,
                                     "residents": 5516000, "ratePer100k": 38.07}
    assert ("1201", "robbery") not in rows            # 2 robberies: below k = 3
    assert rows[("1201", "fraud_grandchild")]["count"] == 0   # a zero is published
    assert rows[("1201", "theft")]["ratePer100k"] == 58.25


async def test_graphql_reads_road_sections_as_geojson(graphql_client: httpx.AsyncClient,
                                                      imported: dict) -> None:
    body = await gql(graphql_client, """{ roadSections(minIncidents: 20) {
        road kmFrom kmTo periodFrom periodTo incidents deaths injuries lengthKm geometry } }""")
    assert "errors" not in body, body
    sections = body["data"]["roadSections"]
    assert [s["road"] for s in sections] == ["94", "7", "8", "7"]     # most incidents first
    first = sections[0]
    assert first["deaths"] == 4 and first["periodFrom"] == "2025-01-01" and first["periodTo"] == "2025-12-01"
    assert first["geometry"]["type"] == "MultiLineString"
    assert first["geometry"]["coordinates"][0][0] == pytest.approx([19.8, 50.06], abs=1e-5)
    assert 4.9 < first["lengthKm"] < 5.1
    by_road = {(s["road"], s["kmFrom"]): s for s in sections}
    assert by_road[("8", 455.0)]["deaths"] is None             # 2 deaths: below k
    assert by_road[("7", 660.0)]["deaths"] == 0
    everything = await gql(graphql_client, "{ roadSections { road } }")
    assert "79" not in [s["road"] for s in everything["data"]["roadSections"]]   # 2 incidents: below k


async def test_graphql_compares_citizens_and_police(graphql_client: httpx.AsyncClient,
                                                   imported: dict) -> None:
    body = await gql(graphql_client, """{ areaComparison(areaCode: "14", monthFrom: "2026-01-01",
        monthTo: "2026-02-01") { areaName monthFrom monthTo citizens { subject count }
        police { subject namePl nameEn count } } }""")
    assert "errors" not in body, body
    comparison = body["data"]["areaComparison"]
    assert comparison["areaName"] == "mazowieckie" and comparison["monthTo"] == "2026-02-01"
    police = {p["subject"]: p for p in comparison["police"]}
    assert police["theft"]["count"] == 2100 + 1953 and police["theft"]["nameEn"] == "Theft"
    assert isinstance(comparison["citizens"], list)
    missing = await gql(graphql_client, """{ areaComparison(areaCode: "nowhere", monthFrom: "2026-01-01",
        monthTo: "2026-02-01") { areaName } }""")
    assert missing["data"]["areaComparison"] is None
    backwards = await gql(graphql_client, """{ policeStatistics(monthFrom: "2026-02-01",
        monthTo: "2026-01-01") { count } }""")
    assert backwards["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_ogc_serves_police_statistics_and_road_sections(client: httpx.AsyncClient,
                                                              imported: dict) -> None:
    items = (await client.get("/ogc/collections/police-statistics/items",
                              params={"area_code": "1201", "month": "2026-01-01", "limit": 100,
                                      "f": "json"})).json()
    kinds = {f["properties"]["kind"]: f["properties"] for f in items["features"]}
    assert "robbery" not in kinds and kinds["theft"]["count"] == 60
    assert kinds["theft"]["kind_name_pl"] == "Kradzież" and kinds["theft"]["rate_per_100k"] == 58.25
    one = await client.get("/ogc/collections/police-statistics/items/1201:theft:2026-01-01",
                           params={"f": "json"})
    assert one.status_code == 200 and one.json()["properties"]["count"] == 60
    guessed = await client.get("/ogc/collections/police-statistics/items/1201:robbery:2026-01-01",
                               params={"f": "json"})
    assert guessed.status_code == 404                      # a count below k is not there by id either
    roads = (await client.get("/ogc/collections/dangerous-road-sections/items",
                              params={"f": "json", "crs": "http://www.opengis.net/def/crs/EPSG/0/2180"}))
    assert roads.status_code == 200
    features = roads.json()["features"]
    assert len(features) == 4 and {f["geometry"]["type"] for f in features} == {"MultiLineString"}
    warsaw = next(f for f in features if f["properties"]["road"] == "8")
    # EPSG:2180 as the CRS defines its axes: northing first.
    assert warsaw["geometry"]["coordinates"][0][0] == pytest.approx([482000, 637000], abs=0.5)
    side = (await client.get("/ogc/collections/area-comparison/items",
                             params={"area_code": "14", "side": "police", "subject": "theft",
                                     "f": "json"})).json()
    assert sorted(f["properties"]["count"] for f in side["features"]) == [1953, 2100]


async def test_tiles_show_a_choropleth_by_statistic_and_the_road_lines(client: httpx.AsyncClient,
                                                                      imported: dict) -> None:
    t = mercantile.tile(19.94, 50.06, 6)      # Kraków, voivodeships below zoom 7
    response = await client.get(f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt",
                                params={"stat": "theft", "roads": "true", "from": "2026-01-01",
                                        "to": "2026-01-31"})
    assert response.status_code == 200, response.text
    tile = decode_tile(response.content, t.z, t.x, t.y)
    areas = {f["properties"]["code"]: f["properties"] for f in tile["police_statistics"]}
    assert areas["12"]["count"] == 1300 and areas["12"]["kind"] == "theft"
    assert areas["12"]["rate_per_100k"] == pytest.approx(37.87)
    assert "road_sections" not in tile          # the sections' period is 2025: none in January 2026
    response = await client.get(f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt", params={"roads": "true"})
    tile = decode_tile(response.content, t.z, t.x, t.y)
    roads = {f["properties"]["road"] for f in tile["road_sections"]}
    assert {"7", "94"} <= roads and "79" not in roads
    assert {f["geometry"]["type"] for f in tile["road_sections"]} <= {"LineString", "MultiLineString"}
    county = mercantile.tile(19.94, 50.06, 8)
    response = await client.get(f"/tiles/reports/{county.z}/{county.x}/{county.y}.mvt",
                                params={"stat": "robbery"})
    counties = decode_tile(response.content, county.z, county.x, county.y).get("police_statistics", [])
    assert all(f["properties"]["level"] == "county" for f in counties)
    assert "1201" not in {f["properties"]["code"] for f in counties}   # 2 + 2 robberies: each below k
    plain = decode_tile((await client.get(f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt")).content, t.z, t.x, t.y)
    assert "police_statistics" not in plain and "road_sections" not in plain
    bad = await client.get(f"/tiles/reports/{t.z}/{t.x}/{t.y}.mvt", params={"stat": "nonsense"})
    assert bad.status_code == 400 and "unknown stat" in bad.text


@pytest.fixture
async def server_url(settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with served(create_app(settings.model_copy(update={"port": port, "public_url": url})), port,
                      startup_timeout=60):
        yield url


@pytest.mark.skipif(OGR2OGR is None, reason="GDAL's ogr2ogr is not installed (Debian: gdal-bin)")
async def test_gdal_reads_the_road_sections_in_epsg_2180(server_url: str, imported: dict,
                                                         tmp_path: Path) -> None:
    # GDAL's OAPIF driver finds the collection and its lines (GDAL before 3.7 reads OAPIF in CRS84
    # only: its CRS= open option came in 3.7).
    listed = await asyncio.to_thread(
        subprocess.run, [shutil.which("ogrinfo") or "ogrinfo", "-ro", "-so", f"OAPIF:{server_url}/ogc",
                         "dangerous-road-sections"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "Geometry: Multi Line String" in listed.stdout and "Feature Count: 4" in listed.stdout
    # The items in EPSG:2180, as the server sends them for crs=, read by GDAL's GeoJSON driver and
    # written as EPSG:2180 (northing first, the CRS's axis order, as the server sends them).
    target = tmp_path / "roads.geojson"
    url = (f"{server_url}/ogc/collections/dangerous-road-sections/items?f=json&limit=100"
           "&crs=http://www.opengis.net/def/crs/EPSG/0/2180")
    result = await asyncio.to_thread(
        subprocess.run, [OGR2OGR, "-f", "GeoJSON", "-lco", "RFC7946=NO", "-a_srs", "EPSG:2180", str(target),
                         url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(target.read_text(encoding="utf-8"))
    assert "2180" in data["crs"]["properties"]["name"]
    warsaw = next(f for f in data["features"] if f["properties"]["road"] == "8")
    assert warsaw["geometry"]["type"] == "MultiLineString"
    assert warsaw["geometry"]["coordinates"][0][0] == pytest.approx([482000, 637000], abs=0.5)
