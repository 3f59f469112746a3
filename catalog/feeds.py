"""Atom feeds (RFC 4287) of newly published reports, per county (TERYT) and per category,
written with lxml. Public fields only: category, status, the public date (day or month), the
county and voivodeship, the cell centre as a GeoRSS point; never a description, contact,
photo, exact point or time of day. Entries are dated by their publication day
(store/sql/88_catalog.sql), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree

from store.rows import Row

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MEDIA_TYPE = "application/atom+xml"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"

TEXTS = {
    "pl": {"county": "threatmap: nowe zgłoszenia, {name} ({code})",
           "category": "threatmap: nowe zgłoszenia, kategoria {name}",
           "subtitle": "Nowo opublikowane zanonimizowane zgłoszenia zagrożeń (bez opisu, kontaktu, "
                       "dokładnego miejsca i godziny); daty to dni publikacji.",
           "summary": "Kategoria: {category}. Status: {status}. Data: {day}. Obszar: {county} "
                      "({county_code}), województwo {voivodeship} ({voivodeship_code}). Punkt: środek "
                      "oczka siatki {cell} m.",
           "month": "{month} (miesiąc)", "rights": "CC BY 4.0: threatmap, zanonimizowane zgłoszenia"},
    "en": {"county": "threatmap: new reports, {name} ({code})",
           "category": "threatmap: new reports, category {name}",
           "subtitle": "Newly published anonymized threat reports (no description, contact, exact "
                       "place or time of day); dates are publication days.",
           "summary": "Category: {category}. Status: {status}. Date: {day}. Area: {county} "
                      "({county_code}), voivodeship {voivodeship} ({voivodeship_code}). Point: centre "
                      "of a {cell} m grid cell.",
           "month": "{month} (month)", "rights": "CC BY 4.0: threatmap, anonymized reports"},
}


@dataclass(frozen=True)
class FeedHead:
    url: str                # the feed's own address (its id and rel=self)
    title: str
    base: str               # the public base URL
    author: str
    email: str
    lang: str


def _stamp(day: date) -> str:
    """A day as an Atom date: midnight UTC (a day, no time of day)."""
    return f"{day.isoformat()}T00:00:00Z"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def county_title(lang: str, area: Row) -> str:
    return TEXTS[lang]["county"].format(name=area["name"], code=area["code"])


def category_title(lang: str, category: Row) -> str:
    return TEXTS[lang]["category"].format(name=category[f"name_{lang}"])


def entry_summary(lang: str, row: Row) -> str:
    texts = TEXTS[lang]
    day = (texts["month"].format(month=row["occurred_on"].strftime("%Y-%m"))
           if row["date_precision"] == "month" else row["occurred_on"].isoformat())
    return texts["summary"].format(
        category=row[f"category_{lang}"], status=row[f"status_{lang}"], day=day,
        county=row["county_name"] or "-", county_code=row["county_code"] or "-",
        voivodeship=row["voivodeship_name"] or "-", voivodeship_code=row["voivodeship_code"] or "-",
        cell=row["cell_m"])


def atom_feed(head: FeedHead, rows: Sequence[Row], today: date) -> bytes:
    """The feed document. `today` dates a feed with no entry (Atom needs an `updated`)."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "georss": GEORSS})
    feed.set(XML_LANG, head.lang)
    _add(feed, "id", head.url)
    _add(feed, "title", head.title, type="text")
    _add(feed, "subtitle", TEXTS[head.lang]["subtitle"], type="text")
    newest = max((row["published_on"] for row in rows), default=today)
    _add(feed, "updated", _stamp(newest))
    author = _add(feed, "author")
    _add(author, "name", head.author)
    _add(author, "email", head.email)
    _add(feed, "link", rel="self", type=MEDIA_TYPE, href=head.url)
    _add(feed, "link", rel="alternate", type="text/html", href=f"{head.base}/feeds?lang={head.lang}")
    _add(feed, "link", rel="license", type="text/html", href=CC_BY)
    _add(feed, "rights", TEXTS[head.lang]["rights"], type="text")
    _add(feed, "generator", "threatmap", uri=f"{head.base}/")
    for row in rows:
        entry = _add(feed, "entry")
        item = f"{head.base}/ogc/collections/reports/items/{row['id']}"
        _add(entry, "id", f"urn:uuid:{row['id']}")
        _add(entry, "title", f"{row[f'category_{head.lang}']}: {row[f'status_{head.lang}']} "
                             f"({row['county_name'] or row['county_code'] or '-'})", type="text")
        _add(entry, "updated", _stamp(row["published_on"]))
        _add(entry, "published", _stamp(row["published_on"]))
        _add(entry, "link", rel="alternate", type="text/html", href=f"{item}?f=html")
        _add(entry, "link", rel="related", type="application/geo+json", href=item)
        _add(entry, "category", term=row["category_id"], scheme=f"{head.base}/catalog/categories/",
             label=row[f"category_{head.lang}"])
        _add(entry, "summary", entry_summary(head.lang, row), type="text")
        point = etree.SubElement(entry, f"{{{GEORSS}}}point")
        point.text = f"{row['lat']:.6f} {row['lon']:.6f}"
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
