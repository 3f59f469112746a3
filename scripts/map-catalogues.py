"""Brings the `map` catalogues (gateway/locale/{pl,en}/LC_MESSAGES/map.po) in step with the
citizen pages' texts: extracts them (templates and scripts, gateway/citizen/babel.cfg), keeps
every translation already made, and writes English as the msgid. New Polish texts are left
empty for a translator (tests/test_gateway_i18n.py then names them).

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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "map.pot"
        subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract",
                        "-F", "gateway/citizen/babel.cfg", "-k", "_", "-k", "t", "--no-location",
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
            known = old.get(message.id)
            text = message.id if lang == "en" else (known.string if known else "")
            catalog.add(message.id, text)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(out, catalog, omit_header=False, sort_output=False, width=100)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} texts")


if __name__ == "__main__":
    main()
