"""gateway/i18n.py: language negotiation, and every catalogue complete in every language."""

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from starlette.requests import Request

from gateway import i18n


def request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", f"lang={cookie}".encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(),
                    "headers": headers})


@pytest.mark.parametrize(("query", "cookie", "accept", "expected"), [
    ("", "", "", "pl"),
    ("", "", "en-GB,en;q=0.9", "en"),
    ("", "", "de-DE,de;q=0.9", "pl"),
    ("", "", "de;q=0.9,en;q=0.5,pl;q=0.8", "pl"),
    ("", "", "garbage;q=x, ,;", "pl"),
    ("", "en", "pl", "en"),
    ("lang=pl", "en", "en", "pl"),
    ("lang=xx", "en", "", "en"),
])
def test_negotiation(query, cookie, accept, expected):
    assert i18n.negotiate(request(query, cookie, accept)) == expected


def forms(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


def domains() -> set[str]:
    return {path.stem for path in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/*.po")}


@pytest.mark.parametrize("domain", sorted(domains()) or ["(none yet)"])
def test_every_text_is_translated_in_every_language(domain):
    if domain == "(none yet)":
        pytest.skip("no catalogue yet")
    ids = {}
    for lang in i18n.LANGUAGES:
        path = i18n.catalogue_path(domain, lang)
        assert path.exists(), f"{domain} has no {lang} catalogue"
        with path.open("rb") as po:
            catalog = read_po(po, locale=lang)
        missing = [m.id for m in catalog if m.id and (not all(forms(m.string)) or m.fuzzy)]
        assert not missing, f"{path}: untranslated or fuzzy: {missing[:10]}"
        wrong = [m.id for m in catalog if isinstance(m.id, tuple) and len(m.string) != catalog.num_plurals]
        assert not wrong, f"{path}: not {catalog.num_plurals} plural forms: {wrong}"
        ids[lang] = {m.id for m in catalog if m.id}
    assert len({frozenset(v) for v in ids.values()}) == 1, f"{domain}: languages hold different texts"


def plural_texts(domain: str, lang: str) -> list[tuple[str, str]]:
    with i18n.catalogue_path(domain, lang).open("rb") as po:
        return [m.id for m in read_po(po, locale=lang) if isinstance(m.id, tuple)]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_plural_forms_by_cldr_category_are_the_catalogues_forms(lang):
    """A page picks a plural form with the browser's Intl.PluralRules (CLDR categories); for every
    whole number it must be the form the catalogue's own Plural-Forms formula picks."""
    rule = Locale.parse(lang).plural_form
    checked = 0
    for domain in sorted(domains()):
        gettext = i18n.translations(domain, lang)
        for singular, plural in plural_texts(domain, lang):
            by_category = i18n.messages(domain, lang)[singular]
            assert set(by_category) == rule.tags | {"other"}, by_category
            for n in range(0, 1500):
                assert by_category[rule(n)] == gettext.ngettext(singular, plural, n), (domain, singular, n)
            checked += 1
    assert checked, "no text with plural forms in any catalogue"


def test_polish_counts_take_three_forms():
    forms = i18n.messages("map", "pl")["{count} report in this cell"]
    rule = Locale.parse("pl").plural_form
    said = {n: forms[rule(n)].format(count=n) for n in (1, 2, 4, 5, 12, 22, 25, 112)}
    assert said == {1: "1 zgłoszenie w tym oczku", 2: "2 zgłoszenia w tym oczku",
                    4: "4 zgłoszenia w tym oczku", 5: "5 zgłoszeń w tym oczku",
                    12: "12 zgłoszeń w tym oczku", 22: "22 zgłoszenia w tym oczku",
                    25: "25 zgłoszeń w tym oczku", 112: "112 zgłoszeń w tym oczku"}
    english = i18n.messages("map", "en")["{count} report in this cell"]
    assert english == {"one": "{count} report in this cell", "other": "{count} reports in this cell"}
