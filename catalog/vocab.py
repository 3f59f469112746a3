"""The vocabularies the catalogue speaks: namespaces, and the EU authority tables (data themes,
frequencies, file types, licences, countries, languages) that DCAT-AP asks for by URI."""

from rdflib import RDFS, XSD, Namespace, URIRef
from rdflib.namespace import DCTERMS

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
# rdflib's closed namespace: a plain Namespace is a str, whose .title and .format are methods.
DCT = DCTERMS
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
ADMS = Namespace("http://www.w3.org/ns/adms#")

PREFIXES = {"dcat": DCAT, "dcatap": DCATAP, "dct": DCT, "foaf": FOAF, "skos": SKOS, "spdx": SPDX,
            "vcard": VCARD, "locn": LOCN, "gsp": GSP, "adms": ADMS, "rdfs": RDFS, "xsd": XSD}

EU = "http://publications.europa.eu/resource/authority/"
DATA_THEME = URIRef(f"{EU}data-theme")
COUNTRY_POLAND = URIRef(f"{EU}country/POL")
LANGUAGE = {"pl": URIRef(f"{EU}language/POL"), "en": URIRef(f"{EU}language/ENG")}
LICENCE_CC_BY_4_0 = URIRef(f"{EU}licence/CC_BY_4_0")
PUBLIC_ACCESS = URIRef(f"{EU}access-right/PUBLIC")
CC_BY_4_0_DEED = "https://creativecommons.org/licenses/by/4.0/"


# The EU data themes the datasets use, with the authority's labels.
THEME_LABELS = {
    "JUST": {"pl": "Sprawiedliwość, system prawny i bezpieczeństwo publiczne",
             "en": "Justice, legal system and public safety"},
    "GOVE": {"pl": "Rząd i sektor publiczny", "en": "Government and public sector"},
    "REGI": {"pl": "Regiony i miasta", "en": "Regions and cities"},
}


def theme(code: str) -> URIRef:
    """An EU data theme: JUST (justice, legal system and public safety), GOVE, REGI, ..."""
    return URIRef(f"{EU}data-theme/{code}")


def availability(code: str) -> URIRef:
    """How long a distribution stays: STABLE (a closed month's archive), AVAILABLE (the latest)."""
    return URIRef(f"{EU}planned-availability/{code}")


def frequency(code: str) -> URIRef:
    """An EU frequency: DAILY, MONTHLY, IRREG, ..."""
    return URIRef(f"{EU}frequency/{code}")


# The manifest's format -> the EU file-type authority's code. PMTiles has no entry of its own
# there (2026): BIN, binary data, with the format named in the distribution's title.
FILE_TYPES = {"gpkg": "GPKG", "csv": "CSV", "ndjson": "GEOJSON", "parquet": "PARQUET", "json": "JSON",
              "pmtiles": "BIN", "atom": "ATOM"}


def file_type(fmt: str) -> URIRef | None:
    code = FILE_TYPES.get(fmt)
    return URIRef(f"{EU}file-type/{code}") if code else None


# Media types registered with IANA: only these become dcat:mediaType URIs (DCAT-AP asks for the
# IANA register); any other (application/x-ndjson, application/vnd.pmtiles) is left out.
IANA_REGISTERED = {"text/csv", "application/json", "application/geo+json", "application/geo+json-seq",
                   "application/geopackage+sqlite3", "application/vnd.apache.parquet",
                   "application/atom+xml", "application/vnd.sqlite3"}


def media_type(name: str) -> URIRef | None:
    base = name.split(";")[0].strip().lower()
    if base not in IANA_REGISTERED:
        return None
    return URIRef(f"https://www.iana.org/assignments/media-types/{base}")


# Specifications a distribution's file conforms to (dct:conformsTo, dct:Standard).
FORMAT_STANDARDS = {
    "gpkg": "http://www.opengis.net/doc/IS/geopackage/1.4",
    "ndjson": "https://www.rfc-editor.org/rfc/rfc7946",
    "parquet": "https://geoparquet.org/releases/v1.1.0/",
    "csv": "https://www.rfc-editor.org/rfc/rfc4180",
    "pmtiles": "https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md",
    "atom": "https://www.rfc-editor.org/rfc/rfc4287",
}
CRS_WGS84 = URIRef("http://www.opengis.net/def/crs/EPSG/0/4326")
CRS_PUWG_1992 = URIRef("http://www.opengis.net/def/crs/EPSG/0/2180")
