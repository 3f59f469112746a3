"""The open-data downloads (issue 14, points 1 and 2): snapshot files opened with real readers
(GDAL for GeoPackage and GeoJSON, pyarrow for GeoParquet, the pmtiles reader for the archive),
checksums and sizes against the manifest, the attacker's checks on every file, monthly
archives never rewritten, and the /downloads door (ETag, 304, Range, traversal, listing page)."""

import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import mercantile
import psycopg
import pyarrow.parquet as pq
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from downloads.manifest import MEDIA_TYPES, Manifest, read_manifest
from downloads.snapshot import SnapshotWriter, closed_months, month_bounds, run_due
from gateway.maintenance import SnapshotJob
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import CONFIG_DIR, insert_report, running_app

MONTH = "2026-03"                      # closed: its archive is written
OCCURRED = datetime(2026, 3, 14, 9, 41, 27, tzinfo=UTC)
KRAKOW = (19.9452, 50.0647)            # exact points: must appear in no file
PRIVATE = ["a private description", "private@example.org"]
PRIVATE_COLUMNS = {"description", "contact", "photo", "photos", "occurred_at", "created_at",
                   "published_at", "updated_at", "closed_at", "reporter", "token", "abusive",
                   "geom_3857", "external_id", "source"}
PUBLIC_REPORT_COLUMNS = {"id", "longitude", "latitude", "x_2180", "y_2180", "category_id", "status",
                         "occurred_on", "date_precision", "cell_m", "voivodeship_code", "county_code",
                         "police_unit_id", "geom", "geometry", "fid"}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GDAL = pytest.mark.skipif(subprocess.run(["which", "ogr2ogr"], capture_output=True).returncode != 0,
                          reason="GDAL (gdal-bin) is not installed")


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reports(urls: DatabaseUrls) -> Iterator[dict[str, uuid.UUID]]:
    """Six published reports in one Kraków cell in March 2026 (the density and area counts reach
    k), one of a sensitive category (dated by month, coarse grid), an unpublished one; police
    statistics for Kraków's county."""
    with psycopg.connect(urls.app, autocommit=True) as conn:
        ids = {f"krakow-{i}": insert_report(conn, lon=KRAKOW[0] + i * 1e-5, lat=KRAKOW[1],
                                            category="vandalism", occurred_at=OCCURRED,
                                            created_at=OCCURRED, published=True)
               for i in range(6)}
        ids["sensitive"] = insert_report(conn, lon=KRAKOW[0], lat=KRAKOW[1] + 0.003,
                                         category="minors-at-risk", occurred_at=OCCURRED,
                                         created_at=OCCURRED, published=True)
        ids["private"] = insert_report(conn, lon=21.0, lat=52.2, occurred_at=OCCURRED,
                                       created_at=OCCURRED, published=False)
        county = conn.execute("SELECT code FROM core.areas WHERE level = 'county' AND "
                              "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                              KRAKOW).fetchone()[0]
        conn.execute("INSERT INTO core.police_statistics (area_code, offence, month, count) "
                     "VALUES (%s, 'burglary', '2026-03-01', 12) ON CONFLICT DO NOTHING", [county])
    yield ids
    with psycopg.connect(urls.app, autocommit=True) as conn:
        conn.execute("DELETE FROM core.reports WHERE id = ANY(%s)", [list(ids.values())])
        conn.execute("DELETE FROM core.police_statistics WHERE offence = 'burglary'")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads-data")


@pytest.fixture(scope="module")
def writer(urls: DatabaseUrls, data_dir: Path) -> SnapshotWriter:
    return SnapshotWriter(urls.public, data_dir, CONFIG_DIR, progress=lambda text: None)


@pytest.fixture(scope="module")
def manifest(writer: SnapshotWriter, reports: dict[str, uuid.UUID]) -> Manifest:
    writer.write_latest()
    writer.write_month(MONTH)
    return read_manifest(writer.data_dir)


@pytest.fixture(scope="module")
async def http(settings: Settings, data_dir: Path, manifest: Manifest) -> AsyncIterator[httpx.AsyncClient]:
    ours = settings.model_copy(update={"data_dir": data_dir, "downloads_enabled": False})
    async with running_app(ours) as (client, _):
        yield client


def file_of(manifest: Manifest, writer: SnapshotWriter, path: str) -> Path:
    assert manifest.find(path) is not None, f"{path} is not in the manifest"
    return writer.root / path


def gdal_features(path: Path, layer: str | None = None, driver_prefix: str = "") -> list[dict]:
    """A file's features as GDAL reads them (ogr2ogr to GeoJSON on stdout)."""
    command = ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"{driver_prefix}{path}"]
    if layer:
        command.append(layer)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["features"]


# -- the manifest and the files ----------------------------------------------------------------------
def test_every_dataset_and_format_is_written(manifest: Manifest) -> None:
    latest = {(f.dataset, f.format) for f in manifest.files if f.series == "latest"}
    assert latest == {("reports", "gpkg"), ("reports", "csv"), ("reports", "ndjson"),
                      ("reports", "parquet"), ("report-density", "gpkg"), ("report-density", "csv"),
                      ("area-statistics", "gpkg"), ("area-statistics", "csv"),
                      ("police-statistics", "gpkg"), ("police-statistics", "csv"),
                      ("categories", "csv"), ("categories", "json"), ("tiles", "pmtiles")}
    monthly = {(f.dataset, f.format) for f in manifest.files if f.period == MONTH}
    assert monthly == latest - {("tiles", "pmtiles")}
    assert all(f.path.startswith(f"monthly/{MONTH}/") for f in manifest.files if f.period == MONTH)


def test_checksum_size_and_media_type_match_the_manifest(manifest: Manifest,
                                                         writer: SnapshotWriter) -> None:
    for entry in manifest.files:
        data = (writer.root / entry.path).read_bytes()
        assert len(data) == entry.size, entry.path
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.path
        assert entry.media_type == MEDIA_TYPES[entry.format]
        assert entry.issued <= entry.modified
    month = [f for f in manifest.files if f.period == MONTH]
    assert {(f.temporal_start, f.temporal_end) for f in month if f.dataset == "reports"} == {
        ("2026-03-01", "2026-03-31")}


def test_no_partial_or_temporary_file_is_left(writer: SnapshotWriter, manifest: Manifest) -> None:
    on_disk = {str(p.relative_to(writer.root)) for p in writer.root.rglob("*") if p.is_file()}
    assert on_disk == {f.path for f in manifest.files} | {"manifest.json", ".lock"}


@GDAL
def test_geopackage_opens_with_gdal(manifest: Manifest, writer: SnapshotWriter,
                                    reports: dict[str, uuid.UUID]) -> None:
    entry = manifest.find(f"monthly/{MONTH}/reports.gpkg")
    features = gdal_features(writer.root / entry.path, "reports")
    assert len(features) == entry.rows
    ids = {f["properties"]["id"] for f in features}
    published = {str(v) for k, v in reports.items() if k != "private"}
    assert published <= ids and str(reports["private"]) not in ids
    info = subprocess.run(["ogrinfo", "-ro", "-so", str(writer.root / entry.path), "reports"],
                          capture_output=True, text=True, check=True).stdout
    assert "Geometry: Point" in info and 'ID["EPSG",4326]' in info
    areas = manifest.find(f"monthly/{MONTH}/area-statistics.gpkg")
    counts = gdal_features(writer.root / areas.path, "area_statistics")
    assert counts and all(f["properties"]["count"] >= 3 for f in counts)
    outlines = gdal_features(writer.root / areas.path, "areas")
    assert {f["geometry"]["type"] for f in outlines} <= {"MultiPolygon", "Polygon"}
    police = gdal_features(writer.root / manifest.find(f"monthly/{MONTH}/police-statistics.gpkg").path,
                           "police_statistics")
    assert [(f["properties"]["offence"], f["properties"]["count"]) for f in police] == [("burglary", 12)]
    density = gdal_features(writer.root / manifest.find(f"monthly/{MONTH}/report-density.gpkg").path)
    assert density and all(f["geometry"]["type"] == "Polygon" for f in density)


@GDAL
def test_ndjson_opens_with_gdal_as_geojson(manifest: Manifest, writer: SnapshotWriter) -> None:
    entry = manifest.find("latest/reports.ndjson")
    features = gdal_features(writer.root / entry.path, driver_prefix="GeoJSONSeq:")
    assert len(features) == entry.rows > 0
    assert all(f["geometry"]["type"] == "Point" for f in features)
    lines = (writer.root / entry.path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == entry.rows and all(json.loads(line)["type"] == "Feature" for line in lines)


def test_geoparquet_reads_with_pyarrow(manifest: Manifest, writer: SnapshotWriter) -> None:
    entry = manifest.find("latest/reports.parquet")
    table = pq.read_table(writer.root / entry.path)
    assert table.num_rows == entry.rows > 0
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"].startswith("1.") and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    west, south, east, north = geo["columns"]["geometry"]["bbox"]
    points = shapely.from_wkb(table.column("geometry").to_pylist())
    assert all(p.geom_type == "Point" and west <= p.x <= east and south <= p.y <= north for p in points)
    assert str(table.schema.field("occurred_on").type) == "date32[day]"


def test_categories_as_csv_and_json(manifest: Manifest, writer: SnapshotWriter) -> None:
    rows = list(csv.DictReader(io.StringIO(
        (writer.root / "latest/categories.csv").read_text(encoding="utf-8"))))
    document = json.loads((writer.root / "latest/categories.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in rows] == [c["id"] for c in document["items"]]
    assert {"vandalism", "minors-at-risk"} <= {r["id"] for r in rows}
    assert manifest.find("latest/categories.json").rows == len(rows)


def test_police_statistics_file_has_its_header_even_when_empty(writer: SnapshotWriter) -> None:
    header = (writer.root / "latest/police-statistics.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "area_code,level,area_name,offence,month,count,residents,rate_per_100k"


# -- the attacker's view of the files ------------------------------------------------------------------
def report_rows(writer: SnapshotWriter, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((writer.root / path).read_text(encoding="utf-8"))))


def test_no_private_field_or_text_in_any_file(manifest: Manifest, writer: SnapshotWriter) -> None:
    for entry in manifest.files:
        data = (writer.root / entry.path).read_bytes()
        if entry.format == "pmtiles":
            data = b"".join(gzip.decompress(tile) for _, tile in all_tiles(MmapSource(
                open(writer.root / entry.path, "rb"))))   # noqa: SIM115 - closed with the mapping
        for text in PRIVATE:
            assert text.encode() not in data, (entry.path, text)
        for exact in (f"{KRAKOW[0]}", f"{KRAKOW[1]}"):
            assert exact.encode() not in data, (entry.path, exact)
    columns: set[str] = set()
    for path in ("latest/reports.csv", f"monthly/{MONTH}/reports.csv"):
        columns |= set(report_rows(writer, path)[0])
    columns |= set(pq.read_schema(writer.root / "latest/reports.parquet").names)
    for line in (writer.root / "latest/reports.ndjson").read_text().splitlines()[:50]:
        columns |= set(json.loads(line)["properties"])
    assert columns <= PUBLIC_REPORT_COLUMNS and not columns & PRIVATE_COLUMNS


@GDAL
def test_geopackage_has_no_private_column(manifest: Manifest, writer: SnapshotWriter) -> None:
    features = gdal_features(writer.root / "latest/reports.gpkg", "reports")
    assert set(features[0]["properties"]) <= PUBLIC_REPORT_COLUMNS


def test_points_are_public_cell_centres(writer: SnapshotWriter, public_conn: psycopg.Connection) -> None:
    rows = report_rows(writer, "latest/reports.csv")
    assert rows
    for row in rows:
        cell = int(row["cell_m"])
        x, y = float(row["x_2180"]), float(row["y_2180"])
        assert (x / cell - 0.5) == pytest.approx(round(x / cell - 0.5), abs=1e-6), row
        assert (y / cell - 0.5) == pytest.approx(round(y / cell - 0.5), abs=1e-6), row
    # longitude/latitude are the same point (the centre), not the reported one
    sample = rows[:200]
    projected = public_conn.execute(
        "SELECT ST_X(p), ST_Y(p) FROM unnest(%s::float8[], %s::float8[]) AS c(lon, lat), "
        "LATERAL ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 2180) AS p",
        [[float(r["longitude"]) for r in sample], [float(r["latitude"]) for r in sample]]).fetchall()
    for row, (px, py) in zip(sample, projected, strict=True):
        assert abs(px - float(row["x_2180"])) < 0.05 and abs(py - float(row["y_2180"])) < 0.05


def test_dates_have_no_time_of_day(writer: SnapshotWriter, reports: dict[str, uuid.UUID]) -> None:
    rows = report_rows(writer, f"monthly/{MONTH}/reports.csv")
    assert rows and all(DAY.match(r["occurred_on"]) for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id[str(reports["krakow-0"])]["occurred_on"] == "2026-03-14"
    sensitive = by_id[str(reports["sensitive"])]
    assert sensitive["occurred_on"] == "2026-03-01" and sensitive["date_precision"] == "month"
    assert sensitive["cell_m"] == "1000"
    for path in ("latest/report-density.csv", "latest/area-statistics.csv"):
        assert all(DAY.match(r["month"]) and r["month"].endswith("-01") for r in report_rows(writer, path))
    for line in (writer.root / "latest/reports.ndjson").read_text().splitlines():
        assert DAY.match(json.loads(line)["properties"]["occurred_on"])
    table = pq.read_table(writer.root / "latest/reports.parquet", columns=["occurred_on"])
    assert all(isinstance(d, date) and not isinstance(d, datetime) for d in table.column(0).to_pylist())


def test_counts_below_k_are_not_in_the_aggregates(writer: SnapshotWriter) -> None:
    for path in ("latest/report-density.csv", "latest/area-statistics.csv"):
        assert all(int(r["count"]) >= 3 for r in report_rows(writer, path))


# -- archives never rewritten; latest `modified` moves only with the content ---------------------------
# (Before any test of the door: a synchronous test that writes to the database while the app's
# event loop is paused could wait on a lock held by one of the app's jobs.)
def test_a_month_archive_is_not_rewritten(writer: SnapshotWriter, manifest: Manifest,
                                          urls: DatabaseUrls) -> None:
    before = {f.path: (f, (writer.root / f.path).stat().st_mtime_ns)
              for f in manifest.files if f.period == MONTH}
    with psycopg.connect(urls.app, autocommit=True) as conn:   # a late report for that month
        late = insert_report(conn, lon=KRAKOW[0], lat=KRAKOW[1], occurred_at=OCCURRED,
                             created_at=OCCURRED, published=True)
    try:
        assert writer.write_month(MONTH) is None
        after = read_manifest(writer.data_dir)
        for path, (entry, mtime) in before.items():
            assert after.find(path) == entry
            assert (writer.root / path).stat().st_mtime_ns == mtime
    finally:
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE id = %s", [late])


def test_latest_modified_moves_only_when_the_content_changes(writer: SnapshotWriter, manifest: Manifest,
                                                             urls: DatabaseUrls) -> None:
    first = read_manifest(writer.data_dir)
    second = writer.write_latest()
    for entry in (f for f in first.files if f.series == "latest"):
        again = second.find(entry.path)
        assert (again.sha256, again.modified, again.issued) == (entry.sha256, entry.modified, entry.issued)
    with psycopg.connect(urls.app, autocommit=True) as conn:
        added = insert_report(conn, lon=KRAKOW[0], lat=KRAKOW[1], published=True)
    try:
        third = writer.write_latest()
        changed = third.find("latest/reports.csv")
        assert changed.sha256 != first.find("latest/reports.csv").sha256
        assert changed.modified >= first.find("latest/reports.csv").modified
        assert changed.issued == first.find("latest/reports.csv").issued
        assert third.find("latest/categories.csv").modified == first.find("latest/categories.csv").modified
        assert str(added) in (writer.root / "latest/reports.csv").read_text()
    finally:
        with psycopg.connect(urls.app, autocommit=True) as conn:
            conn.execute("DELETE FROM core.reports WHERE id = %s", [added])
        writer.write_latest()   # the files show the database again


def test_closed_months_and_what_is_due(writer: SnapshotWriter, manifest: Manifest) -> None:
    assert closed_months(date(2026, 1, 20), date(2026, 6, 2), 62) == ["2026-01", "2026-02", "2026-03"]
    assert closed_months(date(2026, 1, 20), date(2026, 6, 1), 62) == ["2026-01", "2026-02"]
    assert closed_months(date(2026, 1, 20), date(2026, 6, 1), 0) == [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert closed_months(None, date(2026, 6, 1), 0) == []
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds("2026-3")
    # the latest is fresh, and no month is closed 100 years after it ended: nothing is due
    assert writer.latest_age() < timedelta(hours=1)
    assert run_due(writer, latest_every=timedelta(days=1), closed_after_days=36500) == []


async def test_the_server_job_writes_what_is_due(writer: SnapshotWriter, manifest: Manifest) -> None:
    """The maintenance loop's job (gateway.maintenance.SnapshotJob) on a worker thread: nothing
    is due right after a snapshot; a stop is honoured."""
    job = SnapshotJob(writer, interval_s=3600, latest_every=timedelta(days=1), closed_after_days=36500)
    job.start()
    assert await job.run_once() == []
    await job.stop(wait_s=5)
    assert writer.stop.is_set()
    writer.stop.clear()


# -- PMTiles -----------------------------------------------------------------------------------------
async def test_pmtiles_tiles_equal_the_tiles_door(writer: SnapshotWriter, http: httpx.AsyncClient) -> None:
    with open(writer.root / "latest/tiles.pmtiles", "rb") as archive:
        reader = Reader(MmapSource(archive))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
        assert header["min_zoom"] == 0 and header["max_zoom"] == 14
        assert reader.metadata()["vector_layers"]
        for z in (4, 9, 12, 14):
            tile = mercantile.tile(*KRAKOW, z)
            stored = reader.get(z, tile.x, tile.y)
            assert stored is not None, (z, tile)
            answer = await http.get(f"/tiles/reports/{z}/{tile.x}/{tile.y}.mvt",
                                    headers={"Accept-Encoding": "identity"})
            assert answer.status_code == 200
            assert gzip.decompress(stored) == answer.content, (z, tile)
        far = mercantile.tile(-3.7, 40.4, 10)        # Madrid: nothing, so not in the archive
        assert reader.get(10, far.x, far.y) is None
        zooms = {zxy[0] for zxy, _ in all_tiles(reader.get_bytes)}
        assert zooms == set(range(15))


# -- the door ------------------------------------------------------------------------------------------
async def test_a_download_has_its_headers(http: httpx.AsyncClient, writer: SnapshotWriter) -> None:
    entry = read_manifest(writer.data_dir).find(f"monthly/{MONTH}/reports.gpkg")
    answer = await http.get(f"/downloads/{entry.path}")
    assert answer.status_code == 200
    assert answer.content == (writer.root / entry.path).read_bytes()
    assert answer.headers["content-type"] == "application/geopackage+sqlite3"
    assert answer.headers["etag"] == f'"{entry.sha256}"'
    assert answer.headers["content-disposition"] == f'attachment; filename="threatmap-{MONTH}-reports.gpkg"'
    assert answer.headers["last-modified"].endswith(" GMT")
    assert answer.headers["accept-ranges"] == "bytes"
    again = await http.get(f"/downloads/{entry.path}", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and not again.content
    since = await http.get(f"/downloads/{entry.path}",
                           headers={"If-Modified-Since": answer.headers["last-modified"]})
    assert since.status_code == 304
    csv_answer = await http.get(f"/downloads/monthly/{MONTH}/reports.csv")
    assert csv_answer.headers["content-type"].startswith("text/csv")


async def test_a_range_request_gets_206_with_those_bytes(http: httpx.AsyncClient,
                                                         writer: SnapshotWriter) -> None:
    data = (writer.root / "latest/tiles.pmtiles").read_bytes()
    answer = await http.get("/downloads/latest/tiles.pmtiles", headers={"Range": "bytes=0-126"})
    assert answer.status_code == 206
    assert answer.content == data[:127]
    assert answer.headers["content-range"] == f"bytes 0-126/{len(data)}"
    tail = await http.get("/downloads/latest/tiles.pmtiles", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    etag = tail.headers["etag"]
    same = await http.get("/downloads/latest/tiles.pmtiles",
                          headers={"Range": "bytes=127-200", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[127:201]
    stale = await http.get("/downloads/latest/tiles.pmtiles",
                           headers={"Range": "bytes=127-200", "If-Range": '"older"'})
    assert stale.status_code == 200 and stale.content == data
    beyond = await http.get("/downloads/latest/tiles.pmtiles", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


@pytest.mark.parametrize("path", [
    "/downloads/../pyproject.toml", "/downloads/%2e%2e/%2e%2e/etc/passwd",
    "/downloads/..%2f..%2fetc%2fpasswd",
    "/downloads/latest/../../manifest.json", "/downloads/.lock", "/downloads/latest/.reports.csv.partial",
    "/downloads/latest/nothing.csv", "/downloads/latest/", "/downloads//etc/passwd",
    "/downloads/latest/reports.csv%00.txt", "/downloads/monthly/2026-03/../../latest/reports.csv/x",
])
async def test_paths_outside_the_manifest_are_404(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 404, (path, answer.status_code)


async def test_the_manifest_is_served(http: httpx.AsyncClient, manifest: Manifest) -> None:
    answer = await http.get("/downloads/manifest.json")
    assert answer.status_code == 200
    assert {f["path"] for f in answer.json()["files"]} >= {f.path for f in manifest.files}


async def test_listing_page_in_polish_and_english(http: httpx.AsyncClient, manifest: Manifest) -> None:
    polish = await http.get("/downloads")
    assert polish.status_code == 200 and polish.headers["content-type"].startswith("text/html")
    assert '<html lang="pl">' in polish.text and "Otwarte dane do pobrania" in polish.text
    assert "https://creativecommons.org/licenses/by/4.0/" in polish.text and "CC BY 4.0" in polish.text
    for entry in manifest.files:
        assert f'href="/downloads/{entry.path}"' in polish.text
        assert entry.sha256 in polish.text
    assert "<script" not in polish.text
    english = await http.get("/downloads?lang=en")
    assert '<html lang="en">' in english.text and "Open data downloads" in english.text
    assert "Monthly archives" in english.text and MONTH in english.text
    # the boundaries' sources credited as the map credits them: GUGiK's register once, and the
    # MIT licence as its conversion's (polska-geojson), in each language
    for page, words in ((polish, "granice administracyjne"), (english, "administrative boundaries")):
        assert page.text.count("GUGiK") == 1 and f"{words}: PRG © GUGiK, polska-geojson" in page.text
    assert "script-src 'self'" in polish.headers["content-security-policy"]


async def test_listing_page_without_snapshots(settings: Settings, tmp_path: Path) -> None:
    empty = settings.model_copy(update={"data_dir": tmp_path, "downloads_enabled": False})
    async with running_app(empty) as (client, _):
        page = await client.get("/downloads?lang=en")
        assert page.status_code == 200 and "No snapshot has been written yet" in page.text
        assert (await client.get("/downloads/manifest.json")).status_code == 404


def test_export_refuses_a_bad_or_open_month(capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    for month, reason in (("2026-13", "YYYY-MM"), ("2999-01", "not closed yet")):
        with pytest.raises(SystemExit) as stopped:
            main(["export", "--month", month])
        assert reason in str(stopped.value)
