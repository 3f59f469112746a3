"""The DCAT-AP catalogue at /catalog (issue 14, point 3): valid against the DCAT-AP 3.0.1 SHACL
shapes in every serialization, DCAT-AP-PL's mandatory properties present, one distribution per
snapshot file with its checksum and size, dates that move only when the manifest says the data
did, and content negotiation."""

import hashlib
import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from pyshacl import validate
from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS as DCT

from catalog.vocab import DCAT, FOAF, SKOS, SPDX, VCARD
from downloads.manifest import Manifest, ManifestFile, write_manifest
from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import running_app

DATA = Path(__file__).with_name("data")
BASE = "http://testserver"
SERIALIZATIONS = {"ttl": ("text/turtle", "turtle"), "rdf": ("application/rdf+xml", "xml"),
                  "jsonld": ("application/ld+json", "json-ld")}
CC_BY = URIRef("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
# (path, dataset, series, period, format, media type, content)
FILES = [
    ("latest/reports.csv", "reports", "latest", None, "csv", "text/csv", b"id,longitude\n"),
    ("latest/reports.gpkg", "reports", "latest", None, "gpkg", "application/geopackage+sqlite3", b"gpkg"),
    ("latest/reports.ndjson", "reports", "latest", None, "ndjson", "application/x-ndjson", b"{}\n"),
    ("latest/reports.pmtiles", "tiles", "latest", None, "pmtiles", "application/vnd.pmtiles", b"PMT"),
    ("latest/categories.json", "categories", "latest", None, "json", "application/json", b"[]"),
    ("latest/police-statistics.csv", "police-statistics", "latest", None, "csv", "text/csv", b"a\n"),
    ("monthly/2026-02/reports.csv", "reports", "monthly", "2026-02", "csv", "text/csv", b"feb\n"),
    ("monthly/2026-03/reports.parquet", "reports", "monthly", "2026-03", "parquet",
     "application/vnd.apache.parquet", b"PAR1"),
]


def write_files(data_dir: Path, modified: str = "2026-03-31T02:00:00Z") -> Manifest:
    entries = []
    for path, dataset, series, period, fmt, media, content in FILES:
        target = data_dir / "downloads" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        start, end = (f"{period}-01", f"{period}-28") if period else ("2026-02-01", "2026-03-05")
        entries.append(ManifestFile(path, dataset, series, period, fmt, media, len(content),
                                    hashlib.sha256(content).hexdigest(), "2026-03-01T02:00:00Z",
                                    modified if series == "latest" else "2026-03-01T02:00:00Z",
                                    start, end, 1))
    manifest = Manifest("2026-03-31T02:00:00Z", entries)
    write_manifest(data_dir, manifest)
    return manifest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog-data")
    write_files(folder)
    return folder


@pytest.fixture(scope="module")
async def http(settings: Settings, data_dir: Path, published: dict[str, uuid.UUID]
               ) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={
        "data_dir": data_dir, "publisher_name": "Komenda Główna Policji (test)",
        "contact_email": "dane@example.gov.pl"})
    async with running_app(configured) as (client, _):
        yield client


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph().parse(DATA / "dcat-ap-3.0.1" / "shapes.ttl")
    graph.parse(DATA / "dcat-ap-3.0.1" / "range.ttl")
    return graph


async def catalogue(http: httpx.AsyncClient, f: str = "ttl") -> Graph:
    answer = await http.get("/catalog", params={"f": f})
    assert answer.status_code == 200, answer.text[:500]
    return Graph().parse(data=answer.content, format=SERIALIZATIONS[f][1])


def violations(report: Graph) -> list[str]:
    sh = "http://www.w3.org/ns/shacl#"
    return [f"{report.value(r, URIRef(sh + 'focusNode'))} {report.value(r, URIRef(sh + 'resultPath'))}: "
            f"{report.value(r, URIRef(sh + 'resultMessage'))}"
            for r in report.subjects(URIRef(sh + "resultSeverity"), URIRef(sh + "Violation"))]


# --- DCAT-AP 3.0.1 and DCAT-AP-PL ------------------------------------------------------------
@pytest.mark.parametrize("f", sorted(SERIALIZATIONS))
async def test_every_serialization_conforms_to_dcat_ap_3(http: httpx.AsyncClient, shapes: Graph,
                                                         f: str) -> None:
    media, _ = SERIALIZATIONS[f]
    answer = await http.get("/catalog", headers={"Accept": media})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media)
    graph = Graph().parse(data=answer.content, format=SERIALIZATIONS[f][1])
    assert len(graph) > 300
    conforms, report, text = validate(graph, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
    assert violations(report) == [], text[:3000]
    assert conforms


async def test_recommended_properties_are_there_but_the_few_we_cannot_know(http: httpx.AsyncClient) -> None:
    """DCAT-AP's recommended shapes warn only where we have nothing true to say: the publisher's
    type (a setting could name any organisation), the country authority's own geometry, and
    the series (its months carry the distributions)."""
    graph = await catalogue(http)
    recommended = Graph().parse(DATA / "dcat-ap-3.0.1" / "shapes_recommended.ttl")
    _, report, _ = validate(graph, shacl_graph=recommended, inference="rdfs", allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    warned = {(str(report.value(r, URIRef(sh + "focusNode"))),
               str(report.value(r, URIRef(sh + "resultPath"))))
              for r in report.subjects(RDF.type, URIRef(sh + "ValidationResult"))}
    country = "http://publications.europa.eu/resource/authority/country/POL"
    assert warned <= {(f"{BASE}/catalog#publisher", str(DCT.type)), (country, str(DCAT.bbox)),
                      (country, str(DCAT.centroid)),
                      (f"{BASE}/catalog/series/monthly", str(DCAT.distribution))}


async def test_all_serializations_say_the_same(http: httpx.AsyncClient) -> None:
    graphs = [await catalogue(http, f) for f in SERIALIZATIONS]
    assert all(len(g) == len(graphs[0]) for g in graphs)
    assert set(graphs[0]) == set(graphs[1]) == set(graphs[2])


async def test_dcat_ap_pl_mandatory_properties(http: httpx.AsyncClient) -> None:
    graph = await catalogue(http)
    conforms, _, text = validate(graph, shacl_graph=Graph().parse(DATA / "dcat-ap-pl" / "mandatory.ttl"))
    assert conforms, text[:3000]
    # and the same, spelled out for the datasets the issue names
    catalog = URIRef(f"{BASE}/catalog")
    publisher = graph.value(catalog, DCT.publisher)
    assert graph.value(publisher, FOAF.name) == Literal("Komenda Główna Policji (test)")
    contact = graph.value(catalog, DCAT.contactPoint)
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:dane@example.gov.pl")
    for name in ("reports", "report-density", "area-statistics", "police-statistics", "categories"):
        dataset = URIRef(f"{BASE}/catalog/datasets/{name}")
        assert (catalog, DCAT.dataset, dataset) in graph
        for prop in (DCT.title, DCT.description):
            assert {v.language for v in graph.objects(dataset, prop)} == {"pl", "en"}, (name, prop)
        assert graph.value(dataset, DCT.publisher) == publisher
        assert graph.value(dataset, DCAT.contactPoint) == contact
        themes = {str(t) for t in graph.objects(dataset, DCAT.theme)}
        assert "http://publications.europa.eu/resource/authority/data-theme/JUST" in themes
        assert str(graph.value(dataset, DCT.accrualPeriodicity)).startswith(
            "http://publications.europa.eu/resource/authority/frequency/")
        assert {k.language for k in graph.objects(dataset, DCAT.keyword)} == {"pl", "en"}
        spatial = set(graph.objects(dataset, DCT.spatial))
        assert URIRef("http://publications.europa.eu/resource/authority/country/POL") in spatial
        assert graph.value(dataset, DCT.provenance) is not None
        assert list(graph.objects(dataset, DCAT.distribution)), name
        for distribution in graph.objects(dataset, DCAT.distribution):
            assert graph.value(distribution, DCT.license) == CC_BY
    reports = URIRef(f"{BASE}/catalog/datasets/reports")
    extent = next(s for s in graph.objects(reports, DCT.spatial) if graph.value(s, DCAT.bbox))
    assert str(graph.value(extent, DCAT.bbox)).startswith("POLYGON((14.07 49.0,")
    period = graph.value(reports, DCT.temporal)
    assert graph.value(period, DCAT.startDate) == Literal("2026-02-01", datatype=XSD.date)
    conforms_to = {str(s) for s in graph.objects(reports, DCT.conformsTo)}
    assert "http://www.opengis.net/def/crs/EPSG/0/2180" in conforms_to
    provenance = graph.value(reports, DCT.provenance)
    assert any("anonymized" in str(label) for label in graph.objects(provenance, None))


# --- distributions, series, services, SKOS ---------------------------------------------------
async def test_one_distribution_per_file_with_checksum_size_and_dates(http: httpx.AsyncClient,
                                                                      data_dir: Path) -> None:
    graph = await catalogue(http, "rdf")
    for path, _, _, _, _, media, content in FILES:
        node = URIRef(f"{BASE}/catalog/distributions/{path}")
        assert (node, RDF.type, DCAT.Distribution) in graph, path
        url = URIRef(f"{BASE}/downloads/{path}")
        assert graph.value(node, DCAT.downloadURL) == url
        assert graph.value(node, DCAT.accessURL) == url
        assert int(graph.value(node, DCAT.byteSize)) == len(content)
        checksum = graph.value(node, SPDX.checksum)
        assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(graph.value(checksum, SPDX.checksumValue)).lower() == hashlib.sha256(content).hexdigest()
        assert str(graph.value(node, DCT.issued)).startswith("2026-03-01T02:00:00")
        assert graph.value(node, DCT.license) == CC_BY
        assert str(graph.value(node, DCT["format"])).startswith(
            "http://publications.europa.eu/resource/authority/file-type/")
        if media in ("text/csv", "application/geopackage+sqlite3", "application/json",
                     "application/vnd.apache.parquet"):
            assert graph.value(node, DCAT.mediaType) == URIRef(
                f"https://www.iana.org/assignments/media-types/{media}")
        # the file the distribution names is the file served, byte for byte
        assert (data_dir / "downloads" / path).read_bytes() == content
    feeds = URIRef(f"{BASE}/catalog/distributions/feeds")
    assert (URIRef(f"{BASE}/catalog/datasets/reports"), DCAT.distribution, feeds) in graph
    assert graph.value(feeds, DCAT.accessURL) == URIRef(f"{BASE}/feeds")


async def test_monthly_archives_form_a_dataset_series(http: httpx.AsyncClient) -> None:
    graph = await catalogue(http, "jsonld")
    series = URIRef(f"{BASE}/catalog/series/monthly")
    assert (series, RDF.type, DCAT.DatasetSeries) in graph
    months = set(graph.subjects(DCAT.inSeries, series))
    assert months == {URIRef(f"{BASE}/catalog/datasets/monthly/2026-02"),
                      URIRef(f"{BASE}/catalog/datasets/monthly/2026-03")}
    march = URIRef(f"{BASE}/catalog/datasets/monthly/2026-03")
    assert str(graph.value(graph.value(march, DCT.temporal), DCAT.endDate)) == "2026-03-31"
    assert {str(d) for d in graph.objects(march, DCAT.distribution)} == {
        f"{BASE}/catalog/distributions/monthly/2026-03/reports.parquet"}


async def test_data_services_for_ogc_tiles_and_graphql(http: httpx.AsyncClient) -> None:
    graph = await catalogue(http)
    for name, endpoint in (("ogc", "/ogc"), ("tiles", "/tiles"), ("graphql", "/graphql")):
        service = URIRef(f"{BASE}/catalog/services/{name}")
        assert (URIRef(f"{BASE}/catalog"), DCAT.service, service) in graph
        assert graph.value(service, DCAT.endpointURL) == URIRef(f"{BASE}{endpoint}")
        description = graph.value(service, DCAT.endpointDescription)
        assert description is not None
        answer = await http.get(str(description).removeprefix(BASE))
        assert answer.status_code == 200, description
        assert URIRef(f"{BASE}/catalog/datasets/reports") in set(graph.objects(service, DCAT.servesDataset))


async def test_category_catalogue_as_skos(http: httpx.AsyncClient, public_conn: psycopg.Connection) -> None:
    graph = await catalogue(http)
    scheme = URIRef(f"{BASE}/catalog/categories")
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    rows = public_conn.execute("SELECT id, name_pl, name_en FROM open.categories").fetchall()
    assert rows
    for category_id, name_pl, name_en in rows:
        concept = URIRef(f"{scheme}/{category_id}")
        assert (concept, SKOS.inScheme, scheme) in graph
        assert Literal(name_pl, lang="pl") in set(graph.objects(concept, SKOS.prefLabel))
        assert Literal(name_en, lang="en") in set(graph.objects(concept, SKOS.prefLabel))


# --- harvesting incrementally ----------------------------------------------------------------
async def test_dates_move_only_with_the_manifest(http: httpx.AsyncClient, data_dir: Path) -> None:
    first = await http.get("/catalog")
    again = await http.get("/catalog")
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"]
    last_modified = parsedate_to_datetime(first.headers["last-modified"])
    assert last_modified.isoformat() == "2026-03-31T02:00:00+00:00"
    graph = Graph().parse(data=first.content, format="turtle")
    assert str(graph.value(URIRef(f"{BASE}/catalog"), DCT.modified)).startswith("2026-03-31T02:00:00")

    unchanged = await http.get("/catalog", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and not unchanged.content
    since = await http.get("/catalog", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304

    write_files(data_dir, modified="2026-04-01T02:00:00Z")     # a new snapshot changed the data
    try:
        changed = await http.get("/catalog", headers={"If-None-Match": first.headers["etag"]})
        assert changed.status_code == 200
        assert changed.headers["etag"] != first.headers["etag"]
        moved = parsedate_to_datetime(changed.headers["last-modified"])
        assert moved.isoformat() == "2026-04-01T02:00:00+00:00"
    finally:
        write_files(data_dir)


# --- negotiation and the page ----------------------------------------------------------------
@pytest.mark.parametrize(("params", "accept", "status", "media"), [
    ({}, None, 200, "text/turtle"),
    ({}, "*/*", 200, "text/turtle"),
    ({}, "text/html,application/xhtml+xml,*/*;q=0.8", 200, "text/html"),
    ({}, "application/ld+json;q=0.5, application/rdf+xml", 200, "application/rdf+xml"),
    ({"f": "jsonld"}, "text/html", 200, "application/ld+json"),
    ({"f": "html"}, None, 200, "text/html"),
    ({"f": "pdf"}, None, 400, "application/json"),
    ({}, "image/png", 406, "application/json"),
])
async def test_content_negotiation(http: httpx.AsyncClient, params, accept, status, media) -> None:
    headers = {"Accept": accept} if accept else {}
    answer = await http.get("/catalog", params=params, headers=headers)
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith(media)
    assert "Accept" in answer.headers["vary"]


async def test_html_page_in_polish_and_english(http: httpx.AsyncClient) -> None:
    polish = await http.get("/catalog", params={"f": "html"})
    english = await http.get("/catalog", params={"f": "html", "lang": "en"})
    assert '<html lang="pl">' in polish.text and "Katalog danych otwartych" in polish.text
    assert '<html lang="en">' in english.text and "Open data catalogue" in english.text
    for page in (polish, english):
        assert "/downloads/latest/reports.gpkg" in page.text
        assert hashlib.sha256(b"gpkg").hexdigest() in page.text
        assert "<script" not in page.text
        assert "/feeds" in page.text


async def test_catalogue_without_any_snapshot_still_validates(settings: Settings, shapes: Graph,
                                                              tmp_path: Path, urls: DatabaseUrls,
                                                              published: dict[str, uuid.UUID]) -> None:
    async with running_app(settings.model_copy(update={"data_dir": tmp_path})) as (client, _):
        answer = await client.get("/catalog", params={"f": "ttl"})
    assert answer.status_code == 200
    assert "last-modified" not in answer.headers     # no data file: no date to claim
    graph = Graph().parse(data=answer.content, format="turtle")
    _, report, text = validate(graph, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
    assert violations(report) == [], text[:2000]


# --- with the real snapshot writer (issue 14, point 1) ----------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("downloads.snapshot") is None,
                    reason="the snapshot writer is not in this tree yet")
async def test_catalogue_of_a_real_snapshot_names_each_file_as_served(
        settings: Settings, urls: DatabaseUrls, published: dict[str, uuid.UUID], tmp_path: Path,
        shapes: Graph) -> None:
    """`threatmap export` writes the files and the manifest; the catalogue then lists each file
    with the checksum and size of the bytes /downloads serves, and still validates."""
    env = {**os.environ, "DATABASE_URL": urls.app, "THREATMAP_PUBLIC_DATABASE_URL": urls.public,
           "THREATMAP_DATA_DIR": str(tmp_path), "THREATMAP_CONFIG_DIR": str(settings.config_dir)}
    command = Path(sys.executable).with_name("threatmap")
    done = subprocess.run([str(command), "export"], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    async with running_app(settings.model_copy(update={"data_dir": tmp_path})) as (client, _):
        answer = await client.get("/catalog", params={"f": "ttl"})
        graph = Graph().parse(data=answer.content, format="turtle")
        _, report, text = validate(graph, shacl_graph=shapes, inference="rdfs", allow_warnings=True)
        assert violations(report) == [], text[:2000]
        downloads = sorted({str(u) for u in graph.objects(None, DCAT.downloadURL)})
        assert any(url.endswith(".gpkg") for url in downloads), downloads
        for url in downloads:
            node = graph.value(None, DCAT.downloadURL, URIRef(url))
            served = await client.get(url.removeprefix(BASE))
            assert served.status_code == 200, url
            assert int(graph.value(node, DCAT.byteSize)) == len(served.content), url
            checksum = graph.value(graph.value(node, SPDX.checksum), SPDX.checksumValue)
            assert str(checksum).lower() == hashlib.sha256(served.content).hexdigest(), url
