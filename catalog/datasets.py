"""What the catalogue says about each dataset, in Polish and English: the fixed part of its
description (the dates, sizes and files come from the snapshot manifest). The datasets are data,
in catalog/datasets.yml; the texts every dataset or archive shares stay here."""

from dataclasses import dataclass
from pathlib import Path

import yaml

# The anonymization, as every dataset's provenance note (README "Privacy" is the policy).
PROVENANCE = {
    "pl": "Zgłoszenia obywateli zweryfikowane przez Policję, opublikowane w postaci "
          "zanonimizowanej: punkt to środek oczka siatki EPSG:2180 (250 m, 1000 m dla kategorii "
          "wrażliwych), data to dzień (miesiąc dla kategorii wrażliwych), bez opisu, kontaktu, "
          "zdjęć i godziny; liczebności poniżej progu k są pomijane. Dane czytane wyłącznie ze "
          "schematu publicznego (rola tylko do odczytu).",
    "en": "Citizens' reports verified by the police, published anonymized: the point is the "
          "centre of an EPSG:2180 grid cell (250 m, 1000 m for sensitive categories), the date "
          "is the day (the month for sensitive categories), with no description, contact, photo "
          "or time of day; counts below the threshold k are left out. Read only from the public "
          "schema (a read-only role).",
}


@dataclass(frozen=True)
class DatasetInfo:
    name: str                       # the manifest's "dataset", and the last part of its IRI
    title: dict[str, str]
    description: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    themes: tuple[str, ...]         # EU data-theme codes
    frequency: str                  # EU frequency code
    ogc_collection: str | None      # its collection at /ogc, if it has one
    spatial: bool = True            # has geometry (bbox, CRS)


DATASETS_FILE = Path(__file__).with_name("datasets.yml")


def load_datasets(path: Path = DATASETS_FILE) -> tuple[DatasetInfo, ...]:
    """The datasets as catalog/datasets.yml describes them, one entry each."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(
        DatasetInfo(
            name=entry["name"], title=dict(entry["title"]), description=dict(entry["description"]),
            keywords={lang: tuple(words) for lang, words in entry["keywords"].items()},
            themes=tuple(entry["themes"]), frequency=entry["frequency"],
            ogc_collection=entry["ogc_collection"], spatial=entry.get("spatial", True))
        for entry in entries)


DATASETS = load_datasets()
BY_NAME = {info.name: info for info in DATASETS}
# Which dataset a manifest entry describes ("tiles": the PMTiles archive of the reports' tiles).
MANIFEST_DATASET = {"tiles": "reports"}

MONTHLY = {
    "title": {"pl": "Zgłoszenia zagrożeń: archiwa miesięczne",
              "en": "Threat reports: monthly archives"},
    "description": {"pl": "Jedno archiwum na miesiąc, niezmienne po zamknięciu i publikacji "
                          "miesiąca: zgłoszenia, gęstość, statystyka obszarów i Policji.",
                    "en": "One archive per month, unchanged once the month is closed and "
                          "published: reports, density, area and police statistics."},
    "month_title": {"pl": "Zgłoszenia zagrożeń: archiwum {period}",
                    "en": "Threat reports: archive of {period}"},
    "month_description": {"pl": "Zanonimizowane dane otwarte mapy zagrożeń za miesiąc {period}.",
                          "en": "The threat map's anonymized open data for the month {period}."},
}

FORMAT_NAMES = {"gpkg": "GeoPackage", "csv": "CSV", "ndjson": "GeoJSON (NDJSON)",
                "parquet": "GeoParquet", "json": "JSON", "pmtiles": "PMTiles"}
