"""gateway/i18n.py: language negotiation, and every catalogue complete in every language."""

import pytest
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
        missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        assert not missing, f"{path}: untranslated or fuzzy: {missing[:10]}"
        ids[lang] = {m.id for m in catalog if m.id}
    assert len({frozenset(v) for v in ids.values()}) == 1, f"{domain}: languages hold different texts"
