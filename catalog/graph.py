"""The catalogue as an RDF graph (rdflib): DCAT-AP 3 with DCAT-AP-PL's mandatory properties.

Every node has an IRI under the public base URL (no blank nodes), so that a serialization of
the same inputs is the same bytes (its ETag). Dates come from the snapshot manifest (when each
file was first written and when its content last changed), never from the clock: a harvester
sees `dct:modified` move only when the data did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from catalog import vocab
from catalog.datasets import (
    BY_NAME,
    DATASETS,
    FORMAT_NAMES,
    MANIFEST_DATASET,
    MONTHLY,
    PROVENANCE,
    DatasetInfo,
)
from catalog.vocab import DCAT, DCATAP, DCT, FOAF, GSP, LOCN, SKOS, SPDX, VCARD
from downloads.manifest import Manifest, ManifestFile

LANGS = ("pl", "en")
# Poland's extent (lon/lat), as the OGC collections give it (pygeoapi-config.yml).
POLAND_BBOX = (14.07, 49.0, 24.15, 54.84)
CATALOG_TEXT = {
    "title": {"pl": "threatmap: katalog danych otwartych mapy zagrożeń bezpieczeństwa",
              "en": "threatmap: open data catalogue of the public-safety threat map"},
    "description": {"pl": "Zanonimizowane dane otwarte krajowej mapy zagrożeń bezpieczeństwa: "
                          "zgłoszenia obywateli zweryfikowane przez Policję, statystyki według "
                          "obszarów, archiwa miesięczne, usługi OGC API, kafle i GraphQL.",
                    "en": "Anonymized open data of the national public-safety threat map: "
                          "citizens' reports verified by the police, statistics by area, monthly "
                          "archives, OGC API, tile and GraphQL services."},
}
SERVICES = {
    "ogc": {"title": {"pl": "OGC API Features", "en": "OGC API Features"},
            "description": {"pl": "Obiekty warstw publicznych (GeoJSON, HTML, CQL2, EPSG:2180).",
                            "en": "Features of the public layers (GeoJSON, HTML, CQL2, EPSG:2180)."},
            "endpoint": "/ogc", "description_url": "/ogc/openapi?f=json",
            "conforms": ("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
                         "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"),
            "serves": ("reports", "report-density", "area-statistics", "categories"),
            "keywords": {"pl": ("OGC API", "obiekty", "GeoJSON"), "en": ("OGC API", "features", "GeoJSON")}},
    "tiles": {"title": {"pl": "Kafle wektorowe", "en": "Vector tiles"},
              "description": {"pl": "Kafle MVT warstw publicznych (XYZ, TileJSON 3.0, OGC API Tiles).",
                              "en": "MVT tiles of the public layers (XYZ, TileJSON 3.0, OGC API Tiles)."},
              "endpoint": "/tiles", "description_url": "/tiles/reports.json",
              "conforms": ("https://github.com/mapbox/tilejson-spec/tree/master/3.0.0",
                           "https://github.com/mapbox/vector-tile-spec/tree/master/2.1"),
              "serves": ("reports", "report-density", "area-statistics"),
              "keywords": {"pl": ("kafle wektorowe", "MVT"), "en": ("vector tiles", "MVT")}},
    "graphql": {"title": {"pl": "GraphQL", "en": "GraphQL"},
                "description": {"pl": "Interfejs GraphQL (zapytania, subskrypcje) danych publicznych.",
                                "en": "The GraphQL API (queries, subscriptions) of the public data."},
                "endpoint": "/graphql", "description_url": "/graphql/schema.graphql",
                "conforms": ("https://spec.graphql.org/October2021/",),
                "serves": ("reports", "categories", "area-statistics"),
                "keywords": {"pl": ("GraphQL", "API"), "en": ("GraphQL", "API")}},
}
FEEDS_TEXT = {"pl": "Kanały Atom nowo opublikowanych zgłoszeń (według powiatów i kategorii)",
              "en": "Atom feeds of newly published reports (by county and by category)"}


@dataclass(frozen=True)
class Publisher:
    name: str
    uri: str | None            # None: an IRI under the catalogue
    email: str


@dataclass(frozen=True)
class CatalogInputs:
    """Everything the catalogue says: nothing else is read while it is built."""
    base: str                                   # public base URL, no trailing slash
    publisher: Publisher
    manifest: Manifest
    categories: Sequence[dict] = ()             # open.categories rows
    first_day: date | None = None               # the public reports' time span
    last_day: date | None = None
    bbox: tuple[float, float, float, float] = POLAND_BBOX


def _dt(text: str) -> Literal:
    return Literal(text, datatype=XSD.dateTime)


def _day(value: date | str) -> Literal:
    return Literal(str(value), datatype=XSD.date)


def _texts(graph: Graph, node: URIRef, prop: URIRef, texts: dict[str, str]) -> None:
    for lang in LANGS:
        graph.add((node, prop, Literal(texts[lang], lang=lang)))


class CatalogBuilder:
    def __init__(self, inputs: CatalogInputs) -> None:
        self.i = inputs
        self.g = Graph(bind_namespaces="none")
        for prefix, namespace in vocab.PREFIXES.items():
            self.g.bind(prefix, namespace)
        base = inputs.base
        self.catalog = URIRef(f"{base}/catalog")
        self.publisher = URIRef(inputs.publisher.uri or f"{base}/catalog#publisher")
        self.contact = URIRef(f"{base}/catalog#contact")
        self.extent = URIRef(f"{base}/catalog#extent")
        self.series = URIRef(f"{base}/catalog/series/monthly")
        self.scheme = URIRef(f"{base}/catalog/categories")

    def iri(self, path: str) -> URIRef:
        return URIRef(f"{self.i.base}{path}")

    def dataset_iri(self, name: str) -> URIRef:
        return self.iri(f"/catalog/datasets/{name}")

    # --- the pieces every resource points to ----------------------------------------------
    def shared(self) -> None:
        g, p = self.g, self.i.publisher
        g.add((self.publisher, RDF.type, FOAF.Agent))
        g.add((self.publisher, RDF.type, FOAF.Organization))
        g.add((self.publisher, FOAF.name, Literal(p.name)))
        g.add((self.publisher, FOAF.mbox, URIRef(f"mailto:{p.email}")))
        g.add((self.contact, RDF.type, VCARD.Kind))
        g.add((self.contact, RDF.type, VCARD.Organization))
        g.add((self.contact, VCARD.fn, Literal(p.name)))
        g.add((self.contact, VCARD.hasEmail, URIRef(f"mailto:{p.email}")))
        g.add((vocab.COUNTRY_POLAND, RDF.type, DCT.Location))
        g.add((vocab.COUNTRY_POLAND, SKOS.prefLabel, Literal("Polska", lang="pl")))
        g.add((vocab.COUNTRY_POLAND, SKOS.prefLabel, Literal("Poland", lang="en")))
        west, south, east, north = self.i.bbox
        g.add((self.extent, RDF.type, DCT.Location))
        g.add((self.extent, DCAT.bbox, Literal(
            f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))",
            datatype=GSP.wktLiteral)))
        g.add((self.extent, LOCN.geometry, Literal(
            '{"type":"Polygon","coordinates":[[' + f"[{west},{south}],[{east},{south}],[{east},{north}],"
            f"[{west},{north}],[{west},{south}]" + "]]}", datatype=GSP.geoJSONLiteral)))
        g.add((self.extent, DCAT.centroid, Literal(
            f"POINT({(west + east) / 2:.4f} {(south + north) / 2:.4f})", datatype=GSP.wktLiteral)))
        g.add((vocab.LICENCE_CC_BY_4_0, RDF.type, DCT.LicenseDocument))
        g.add((vocab.LICENCE_CC_BY_4_0, RDFS.seeAlso, URIRef(vocab.CC_BY_4_0_DEED)))
        g.add((vocab.LICENCE_CC_BY_4_0, DCT.type, self.concept(
            URIRef("http://purl.org/adms/licencetype/Attribution"), SKOS.Concept, "Attribution")))
        g.add((vocab.PUBLIC_ACCESS, RDF.type, DCT.RightsStatement))
        for lang, uri in vocab.LANGUAGE.items():
            g.add((uri, RDF.type, DCT.LinguisticSystem))
            g.add((uri, SKOS.notation, Literal(lang)))
        g.add((vocab.DATA_THEME, RDF.type, SKOS.ConceptScheme))
        g.add((vocab.DATA_THEME, DCT.title, Literal("Data theme", lang="en")))
        for code, labels in vocab.THEME_LABELS.items():
            self.concept(vocab.theme(code), SKOS.Concept)
            _texts(g, vocab.theme(code), SKOS.prefLabel, labels)
            g.add((vocab.theme(code), SKOS.inScheme, vocab.DATA_THEME))

    def concept(self, uri: URIRef, kind: URIRef, label: str | None = None) -> URIRef:
        self.g.add((uri, RDF.type, kind))
        if label:
            self.g.add((uri, SKOS.prefLabel, Literal(label, lang="en")))
        return uri

    def standard(self, uri: str | URIRef) -> URIRef:
        node = URIRef(str(uri))
        self.g.add((node, RDF.type, DCT.Standard))
        return node

    def document(self, url: str) -> URIRef:
        node = URIRef(url)
        self.g.add((node, RDF.type, FOAF.Document))
        return node

    def period(self, node: URIRef, start: date | str | None, end: date | str | None) -> None:
        if start is None and end is None:
            return
        period = URIRef(f"{node}#temporal")
        self.g.add((period, RDF.type, DCT.PeriodOfTime))
        if start is not None:
            self.g.add((period, DCAT.startDate, _day(start)))
        if end is not None:
            self.g.add((period, DCAT.endDate, _day(end)))
        self.g.add((node, DCT.temporal, period))

    def described(self, node: URIRef, title: dict[str, str], description: dict[str, str],
                  keywords: dict[str, Iterable[str]], themes: Iterable[str], frequency: str,
                  spatial: bool, files: Sequence[ManifestFile]) -> None:
        """The properties every dataset and the series share."""
        g = self.g
        _texts(g, node, DCT.title, title)
        _texts(g, node, DCT.description, description)
        g.add((node, DCT.identifier, Literal(str(node))))
        for lang in LANGS:
            for word in keywords[lang]:
                g.add((node, DCAT.keyword, Literal(word, lang=lang)))
        for code in themes:
            g.add((node, DCAT.theme, vocab.theme(code)))
        g.add((node, DCT.accrualPeriodicity, self.concept(vocab.frequency(frequency), DCT.Frequency)))
        g.add((node, DCT.publisher, self.publisher))
        g.add((node, DCAT.contactPoint, self.contact))
        g.add((node, DCT.spatial, vocab.COUNTRY_POLAND))
        if spatial:
            g.add((node, DCT.spatial, self.extent))
            g.add((node, DCT.conformsTo, self.standard(vocab.CRS_WGS84)))
            g.add((node, DCT.conformsTo, self.standard(vocab.CRS_PUWG_1992)))
        provenance = URIRef(f"{node}#provenance")
        g.add((provenance, RDF.type, DCT.ProvenanceStatement))
        _texts(g, provenance, RDFS.label, PROVENANCE)
        g.add((node, DCT.provenance, provenance))
        for lang in LANGS:
            g.add((node, DCT.language, vocab.LANGUAGE[lang]))
        g.add((node, DCT.accessRights, vocab.PUBLIC_ACCESS))
        g.add((node, DCAT.landingPage, self.document(f"{self.i.base}/downloads")))
        if files:
            g.add((node, DCT.issued, _dt(min(f.issued for f in files))))
            g.add((node, DCT.modified, _dt(max(f.modified for f in files))))

    # --- the resources ----------------------------------------------------------------------
    def distribution(self, dataset: URIRef, file: ManifestFile) -> None:
        g = self.g
        node = self.iri(f"/catalog/distributions/{file.path}")
        url = URIRef(f"{self.i.base}/downloads/{file.path}")
        info = BY_NAME[MANIFEST_DATASET.get(file.dataset, file.dataset)]
        fmt = FORMAT_NAMES.get(file.format, file.format)
        what = {"pl": "kafle wektorowe" if file.dataset == "tiles" else info.title["pl"],
                "en": "vector tiles" if file.dataset == "tiles" else info.title["en"]}
        when = {"pl": file.period or "najnowsze", "en": file.period or "latest"}
        g.add((dataset, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        _texts(g, node, DCT.title, {lang: f"{what[lang]} ({when[lang]}), {fmt}" for lang in LANGS})
        g.add((node, DCAT.accessURL, url))
        g.add((node, DCAT.downloadURL, url))
        if (kind := vocab.media_type(file.media_type)) is not None:
            g.add((node, DCAT.mediaType, self.concept(kind, DCT.MediaType)))
        if (file_type := vocab.file_type(file.format)) is not None:
            g.add((node, DCT.format, self.concept(file_type, DCT.MediaTypeOrExtent)))
        if standard := vocab.FORMAT_STANDARDS.get(file.format):
            g.add((node, DCT.conformsTo, self.standard(standard)))
        g.add((node, DCAT.byteSize, Literal(file.size, datatype=XSD.nonNegativeInteger)))
        checksum = URIRef(f"{node}#sha256")
        g.add((node, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(file.sha256, datatype=XSD.hexBinary)))
        g.add((node, DCT.issued, _dt(file.issued)))
        g.add((node, DCT.modified, _dt(file.modified)))
        g.add((node, DCT.license, vocab.LICENCE_CC_BY_4_0))
        stays = "STABLE" if file.series == "monthly" else "AVAILABLE"
        g.add((node, DCATAP.availability, self.concept(vocab.availability(stays), SKOS.Concept, stays)))
        _texts(g, node, DCT.description, {
            "pl": f"Plik {fmt}: {what['pl']}, {when['pl']}"
                  + (f", {file.rows} wierszy" if file.rows is not None else "") + ".",
            "en": f"{fmt} file: {what['en']}, {when['en']}"
                  + (f", {file.rows} rows" if file.rows is not None else "") + "."})

    def api_distribution(self, dataset: URIRef, info: DatasetInfo) -> None:
        g = self.g
        node = self.iri(f"/catalog/distributions/ogc/{info.ogc_collection}")
        g.add((dataset, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        _texts(g, node, DCT.title, {"pl": f"{info.title['pl']}: OGC API Features",
                                    "en": f"{info.title['en']}: OGC API Features"})
        g.add((node, DCAT.accessURL, self.iri(f"/ogc/collections/{info.ogc_collection}")))
        g.add((node, DCAT.accessService, self.iri("/catalog/services/ogc")))
        g.add((node, DCAT.mediaType, self.concept(
            URIRef("https://www.iana.org/assignments/media-types/application/geo+json"), DCT.MediaType)))
        g.add((node, DCT.format, self.concept(URIRef(f"{vocab.EU}file-type/GEOJSON"),
                                              DCT.MediaTypeOrExtent)))
        g.add((node, DCT.license, vocab.LICENCE_CC_BY_4_0))
        g.add((node, DCATAP.availability, self.concept(vocab.availability("AVAILABLE"), SKOS.Concept,
                                                       "AVAILABLE")))
        _texts(g, node, DCT.description, {
            "pl": "Obiekty kolekcji w OGC API Features (GeoJSON, HTML, CQL2, EPSG:2180), stronicowane.",
            "en": "The collection's features in OGC API Features (GeoJSON, HTML, CQL2, EPSG:2180), paged."})

    def feeds_distribution(self, dataset: URIRef) -> None:
        g = self.g
        node = self.iri("/catalog/distributions/feeds")
        g.add((dataset, DCAT.distribution, node))
        g.add((node, RDF.type, DCAT.Distribution))
        _texts(g, node, DCT.title, FEEDS_TEXT)
        g.add((node, DCAT.accessURL, self.iri("/feeds")))
        g.add((node, DCAT.mediaType, self.concept(vocab.media_type("application/atom+xml"),
                                                  DCT.MediaType)))
        g.add((node, DCT.format, self.concept(vocab.file_type("atom"), DCT.MediaTypeOrExtent)))
        g.add((node, DCT.conformsTo, self.standard(vocab.FORMAT_STANDARDS["atom"])))
        g.add((node, DCT.license, vocab.LICENCE_CC_BY_4_0))
        g.add((node, DCATAP.availability, self.concept(vocab.availability("AVAILABLE"), SKOS.Concept,
                                                       "AVAILABLE")))
        _texts(g, node, DCT.description, {
            "pl": "Indeks kanałów Atom: jeden kanał na powiat (TERYT) i jeden na kategorię.",
            "en": "The index of the Atom feeds: one feed per county (TERYT) and one per category."})
        g.add((dataset, RDFS.seeAlso, self.iri("/feeds")))

    def dataset(self, info: DatasetInfo, files: Sequence[ManifestFile]) -> URIRef:
        g, node = self.g, self.dataset_iri(info.name)
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((self.catalog, DCAT.dataset, node))
        self.described(node, info.title, info.description, info.keywords, info.themes,
                       info.frequency, info.spatial, files)
        starts = [f.temporal_start for f in files if f.temporal_start]
        ends = [f.temporal_end for f in files if f.temporal_end]
        if starts or ends:
            self.period(node, min(starts) if starts else None, max(ends) if ends else None)
        elif info.name != "categories" and (self.i.first_day or self.i.last_day):
            self.period(node, self.i.first_day, self.i.last_day)
        for file in files:
            self.distribution(node, file)
        if info.ogc_collection:
            self.api_distribution(node, info)
        if info.name == "reports":
            self.feeds_distribution(node)
        if info.name == "categories":
            g.add((node, RDFS.seeAlso, self.scheme))
        return node

    def monthly(self, files: Sequence[ManifestFile]) -> None:
        g, series = self.g, self.series
        g.add((series, RDF.type, DCAT.DatasetSeries))
        g.add((series, RDF.type, DCAT.Dataset))     # DCAT 3: a series is a dataset
        g.add((self.catalog, DCAT.dataset, series))
        keywords = {"pl": ("archiwum miesięczne", "zgłoszenia", "zagrożenia"),
                    "en": ("monthly archive", "reports", "threats")}
        self.described(series, MONTHLY["title"], MONTHLY["description"], keywords, ("JUST",),
                       "MONTHLY", True, files)
        starts = [f.temporal_start for f in files if f.temporal_start]
        ends = [f.temporal_end for f in files if f.temporal_end]
        self.period(series, min(starts, default=None), max(ends, default=None))
        for period in sorted({f.period for f in files if f.period}, reverse=True):
            month = [f for f in files if f.period == period]
            node = self.dataset_iri(f"monthly/{period}")
            g.add((node, RDF.type, DCAT.Dataset))
            g.add((self.catalog, DCAT.dataset, node))
            g.add((node, DCAT.inSeries, series))
            self.described(node, {k: v.format(period=period) for k, v in MONTHLY["month_title"].items()},
                           {k: v.format(period=period) for k, v in MONTHLY["month_description"].items()},
                           keywords, ("JUST",), "NEVER", True, month)
            year, number = (int(part) for part in period.split("-"))
            last = (date(year + number // 12, number % 12 + 1, 1).toordinal() - 1)
            self.period(node, date(year, number, 1), date.fromordinal(last))
            for file in month:
                self.distribution(node, file)

    def service(self, name: str, spec: dict, datasets: dict[str, URIRef]) -> None:
        g, node = self.g, self.iri(f"/catalog/services/{name}")
        g.add((node, RDF.type, DCAT.DataService))
        g.add((self.catalog, DCAT.service, node))
        _texts(g, node, DCT.title, spec["title"])
        _texts(g, node, DCT.description, spec["description"])
        g.add((node, DCAT.endpointURL, self.iri(spec["endpoint"])))
        g.add((node, DCAT.endpointDescription, self.iri(spec["description_url"])))
        for standard in spec["conforms"]:
            g.add((node, DCT.conformsTo, self.standard(standard)))
        for served in spec["serves"]:
            if served in datasets:
                g.add((node, DCAT.servesDataset, datasets[served]))
        g.add((node, DCT.publisher, self.publisher))
        g.add((node, DCAT.contactPoint, self.contact))
        g.add((node, DCT.license, vocab.LICENCE_CC_BY_4_0))
        g.add((node, DCT.accessRights, vocab.PUBLIC_ACCESS))
        g.add((node, DCAT.theme, vocab.theme("JUST")))
        for lang in LANGS:
            for word in spec["keywords"][lang]:
                g.add((node, DCAT.keyword, Literal(word, lang=lang)))

    def categories(self) -> None:
        """The category catalogue as a SKOS concept scheme: groups and categories."""
        g, scheme = self.g, self.scheme
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        _texts(g, scheme, DCT.title, {"pl": "Kategorie zagrożeń", "en": "Threat categories"})
        _texts(g, scheme, SKOS.prefLabel, {"pl": "Kategorie zagrożeń", "en": "Threat categories"})
        groups: set[str] = set()
        for row in self.i.categories:
            concept = URIRef(f"{scheme}/{row['id']}")
            group = URIRef(f"{scheme}/groups/{row['group_id']}")
            g.add((concept, RDF.type, SKOS.Concept))
            g.add((concept, SKOS.inScheme, scheme))
            g.add((concept, SKOS.notation, Literal(row["id"])))
            g.add((concept, SKOS.prefLabel, Literal(row["name_pl"], lang="pl")))
            g.add((concept, SKOS.prefLabel, Literal(row["name_en"], lang="en")))
            g.add((concept, SKOS.broader, group))
            if row["group_id"] not in groups:
                groups.add(row["group_id"])
                g.add((group, RDF.type, SKOS.Concept))
                g.add((group, SKOS.inScheme, scheme))
                g.add((group, SKOS.topConceptOf, scheme))
                g.add((scheme, SKOS.hasTopConcept, group))
                g.add((group, SKOS.notation, Literal(row["group_id"])))
                g.add((group, SKOS.prefLabel, Literal(row["group_name_pl"], lang="pl")))
                g.add((group, SKOS.prefLabel, Literal(row["group_name_en"], lang="en")))

    def build(self) -> Graph:
        g, files = self.g, self.i.manifest.files
        self.shared()
        catalog = self.catalog
        g.add((catalog, RDF.type, DCAT.Catalog))
        _texts(g, catalog, DCT.title, CATALOG_TEXT["title"])
        _texts(g, catalog, DCT.description, CATALOG_TEXT["description"])
        g.add((catalog, DCT.publisher, self.publisher))
        g.add((catalog, DCAT.contactPoint, self.contact))
        g.add((catalog, FOAF.homepage, self.document(f"{self.i.base}/")))
        g.add((catalog, DCT.license, vocab.LICENCE_CC_BY_4_0))
        g.add((catalog, DCT.spatial, vocab.COUNTRY_POLAND))
        g.add((catalog, RDFS.seeAlso, self.iri("/feeds")))
        for lang in LANGS:
            g.add((catalog, DCT.language, vocab.LANGUAGE[lang]))
        g.add((catalog, DCAT.themeTaxonomy, vocab.DATA_THEME))
        if files:
            g.add((catalog, DCT.issued, _dt(min(f.issued for f in files))))
            g.add((catalog, DCT.modified, _dt(max(f.modified for f in files))))
        latest = [f for f in files if f.series == "latest"]
        datasets = {}
        for info in DATASETS:
            mine = [f for f in latest if MANIFEST_DATASET.get(f.dataset, f.dataset) == info.name]
            if mine or info.ogc_collection:   # nothing to get it from: not listed (yet)
                datasets[info.name] = self.dataset(info, mine)
        if monthly := [f for f in files if f.series == "monthly"]:
            self.monthly(monthly)
        for name, spec in SERVICES.items():
            self.service(name, spec, datasets)
        self.categories()
        return g


def build_graph(inputs: CatalogInputs) -> Graph:
    return CatalogBuilder(inputs).build()
