"""Languages: which one a request gets, and a page's texts in it.

Texts live in gettext catalogues (`gateway/locale/<lang>/LC_MESSAGES/<domain>.po`, one domain
per page or door: `map`, `downloads`, `catalog`, ...), read with Babel. The `.po` files are
compiled in memory when first used, so running the app needs no build step; `pybabel extract`
and `pybabel update` (README "Translations") keep them in step with the code.

Polish is the default language; English is the second. A request chooses with `?lang=`, then the
`lang` cookie, then its Accept-Language header.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).with_name("locale")
# What the page families' templates extend (gateway/templates/_page.html: the skeleton).
SHARED_TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES: tuple[str, ...] = ("pl", "en")
DEFAULT_LANGUAGE = "pl"
LANGUAGE_COOKIE = "lang"


def supported(lang: str | None) -> str | None:
    """`lang` if it names a language we speak ("pl", "en", "en-GB" -> "en"), else None."""
    if not lang:
        return None
    base = lang.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def negotiate(request: Request) -> str:
    """The language for this request: ?lang=, the cookie, Accept-Language, else Polish."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen := supported(candidate):
            return chosen
    header = request.headers.get("accept-language", "")
    preferred = []
    for part in header.split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag:
            preferred.append((weight, tag.strip()))
    preferred.sort(key=lambda item: -item[0])
    try:
        found = Locale.negotiate([tag for _, tag in preferred], list(LANGUAGES), sep="-")
    except (UnknownLocaleError, ValueError):
        found = None
    return str(found.language) if found else DEFAULT_LANGUAGE


def catalogue_path(domain: str, lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(domain: str, lang: str) -> Translations:
    """gettext/ngettext for `domain` in `lang` (the msgid itself where a text is missing)."""
    path = catalogue_path(domain, lang)
    if not path.exists():
        return Translations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=domain)


@cache
def messages(domain: str, lang: str) -> dict[str, str | dict[str, str]]:
    """Every text of `domain` in `lang` as {msgid: text}: what a page's script receives as JSON.

    A text with plural forms (`msgid_plural`) is keyed by its singular msgid and maps each CLDR
    plural category the language has ("one", "few", "many", "other": what the browser's
    `Intl.PluralRules` names) to the catalogue's form for it, so a script picks the form with
    `Intl.PluralRules` and no formula runs in the page (gateway/static/shared/page.js `tn`)."""
    path = catalogue_path(domain, lang)
    if not path.exists():
        return {}
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    texts: dict[str, str | dict[str, str]] = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, str):
            texts[message.id] = str(message.string or message.id)
            continue
        singular, plural = str(message.id[0]), str(message.id[1])
        forms = [str(form) for form in message.string]
        texts[singular] = {
            category: forms[index] if index < len(forms) and forms[index] else
            (singular if index == 0 else plural)
            for category, index in plural_indices(domain, lang).items()
        }
    return texts


@cache
def plural_indices(domain: str, lang: str) -> dict[str, int]:
    """For each CLDR plural category of `lang`, the index of the catalogue's form (its
    Plural-Forms formula) that the category's numbers take. A category no whole number falls in
    (Polish "other": fractions) gets the last form."""
    rule = Locale.parse(lang).plural_form
    choose = translations(domain, lang).plural
    with catalogue_path(domain, lang).open("rb") as po:
        last = read_po(po, locale=lang, domain=domain).num_plurals - 1
    indices = {}
    for category in sorted(rule.tags | {"other"}):
        sample = next((n for n in range(1000) if rule(n) == category), None)
        indices[category] = int(choose(sample)) if sample is not None else last
    return indices


def template_environments(templates: Path, domain: str) -> dict[str, jinja2.Environment]:
    """A page family's Jinja2 environments, one per language, with `domain`'s texts as gettext
    (`{{ _("...") }}` in the templates) and autoescaping. The family's own templates come first,
    then the shared ones they extend."""
    environments = {}
    for lang in LANGUAGES:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader([templates, SHARED_TEMPLATES]),
                                 autoescape=True, extensions=["jinja2.ext.i18n"])
        env.install_gettext_translations(translations(domain, lang), newstyle=True)
        environments[lang] = env
    return environments
