"""What the catalogue says about each dataset, in Polish and English: the fixed part of its
description (the dates, sizes and files come from the snapshot manifest)."""

from dataclasses import dataclass

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


DATASETS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        "reports",
        {"pl": "Zgłoszenia zagrożeń (zanonimizowane)", "en": "Threat reports (anonymized)"},
        {"pl": "Opublikowane zgłoszenia obywateli na mapie zagrożeń bezpieczeństwa: kategoria, "
               "status, data, powiat i województwo, punkt jako środek oczka siatki.",
         "en": "Published citizens' reports of the public-safety threat map: category, status, "
               "date, county and voivodeship, the point as the centre of a grid cell."},
        {"pl": ("zgłoszenia", "zagrożenia", "bezpieczeństwo publiczne", "Policja", "mapa zagrożeń"),
         "en": ("reports", "threats", "public safety", "police", "crime map")},
        ("JUST", "GOVE"), "DAILY", "reports"),
    DatasetInfo(
        "report-density",
        {"pl": "Siatka gęstości zgłoszeń", "en": "Report density grid"},
        {"pl": "Liczba opublikowanych zgłoszeń w oczkach siatki EPSG:2180 według kategorii, "
               "statusu i miesiąca; oczka poniżej progu prywatności k są pomijane.",
         "en": "Counts of published reports per EPSG:2180 grid cell, category, status and month; "
               "cells below the privacy threshold k are left out."},
        {"pl": ("gęstość", "siatka", "statystyka", "zagrożenia"),
         "en": ("density", "grid", "statistics", "threats")},
        ("JUST", "REGI"), "DAILY", "report-density"),
    DatasetInfo(
        "area-statistics",
        {"pl": "Statystyka zgłoszeń według województw i powiatów",
         "en": "Report statistics by voivodeship and county"},
        {"pl": "Liczba opublikowanych zgłoszeń według województw i powiatów (TERYT), kategorii, "
               "statusu i miesiąca; liczebności poniżej progu k są pomijane.",
         "en": "Counts of published reports per voivodeship and county (TERYT), category, status "
               "and month; counts below the threshold k are left out."},
        {"pl": ("statystyka", "województwo", "powiat", "TERYT"),
         "en": ("statistics", "voivodeship", "county", "TERYT")},
        ("JUST", "REGI"), "DAILY", "area-statistics"),
    DatasetInfo(
        "police-statistics",
        {"pl": "Statystyka Policji: przestępstwa, wykroczenia i zdarzenia drogowe",
         "en": "Police statistics: crimes, offences and road incidents"},
        {"pl": "Liczba wybranych przestępstw, wykroczeń i zdarzeń drogowych według obszarów "
               "i miesięcy, z systemów Policji; liczebności poniżej progu k są pomijane.",
         "en": "Counts of selected crimes, offences and road incidents by area and month, from "
               "the police's systems; counts below the threshold k are left out."},
        {"pl": ("Policja", "przestępstwa", "wykroczenia", "zdarzenia drogowe", "statystyka"),
         "en": ("police", "crimes", "offences", "road incidents", "statistics")},
        ("JUST", "GOVE"), "MONTHLY", None),
    DatasetInfo(
        "categories",
        {"pl": "Katalog kategorii zagrożeń", "en": "Catalogue of threat categories"},
        {"pl": "Kategorie zagrożeń, z których wybierają obywatele, z grupami i nazwami po polsku "
               "i angielsku (także jako SKOS w tym katalogu).",
         "en": "The threat categories citizens choose from, with their groups and names in Polish "
               "and English (also as SKOS in this catalogue)."},
        {"pl": ("kategorie", "słownik", "zagrożenia"), "en": ("categories", "vocabulary", "threats")},
        ("JUST", "GOVE"), "IRREG", "categories", spatial=False),
)
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
