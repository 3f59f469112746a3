"""Brings the `map` catalogues (gateway/locale/{pl,en}/LC_MESSAGES/map.po) in step with the
citizen pages' texts: extracts them (templates and scripts, gateway/citizen/babel.cfg), keeps
every translation already made, and writes English as the msgid. New Polish texts are left
empty for a translator (tests/test_gateway_i18n.py then names them). Texts with plural forms
come from the scripts' `tn(singular, plural, n)` (gateway/static/shared/page.js), with as many
forms as the language's Plural-Forms (Polish three: 1 zgłoszenie, 2 zgłoszenia, 5 zgłoszeń).

    .venv/bin/python scripts/map-catalogues.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "gateway" / "locale"


def translation(msgid: str | tuple[str, str], old: Catalog, lang: str) -> str | tuple[str, ...]:
    """English: the msgid (its singular and plural for a text with plural forms). Polish: what
    the catalogue held, if it held the same kind of text; else empty, one string per plural form."""
    if lang == "en":
        return msgid
    known = old.get(msgid)
    if known is not None and isinstance(known.id, tuple) == isinstance(msgid, tuple):
        return known.string
    return ("",) * old.num_plurals if isinstance(msgid, tuple) else ""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "map.pot"
        subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract",
                        "-F", "gateway/citizen/babel.cfg", "-k", "_", "-k", "t", "-k", "tn:1,2",
                        "--no-location",
                        "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
        template = read_po(pot.open("rb"))
    for lang in ("pl", "en"):
        path = LOCALE / lang / "LC_MESSAGES" / "map.po"
        old = read_po(path.open("rb"), locale=lang) if path.exists() else Catalog(locale=lang)
        catalog = Catalog(locale=lang, domain="map", project="threatmap",
                          msgid_bugs_address="", fuzzy=False)
        for message in template:
            if not message.id:
                continue
            catalog.add(message.id, translation(message.id, old, lang))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(out, catalog, omit_header=False, sort_output=False, width=100)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} texts")


if __name__ == "__main__":
    main()
