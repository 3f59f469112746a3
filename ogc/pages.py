"""The HTML pages' language: pygeoapi's own `lang` handling, with threatmap's catalogues.

pygeoapi picks a request's locale itself (`?lang=`, then Accept-Language, else the first of
`server.languages`: Polish here) and renders its Jinja2 templates with the i18n extension,
loading gettext translations with Babel from `server.locale_dir` (`.mo` files, which its wheel
does not ship, so every page was English). `install` hands it the `ogc` domain of the app's
catalogues instead (gateway/locale/<lang>/LC_MESSAGES/ogc.po, read by gateway/i18n.py with no
build step): the texts of ogc/templates and of pygeoapi's templates they fall back to.
"""

from collections.abc import Callable
from typing import Any

import pygeoapi.util

LANGUAGES = ("pl", "en")


class _Catalogues:
    """Stands in for babel.support.Translations where pygeoapi.util loads a page's texts."""

    def __init__(self, translations: Callable[[str], Any]) -> None:
        self.translations = translations

    def load(self, dirname: Any = None, locales: Any = None, domain: Any = None) -> Any:
        locale = (locales or [None])[0]
        language = str(getattr(locale, "language", locale) or LANGUAGES[0]).lower()[:2]
        return self.translations(language if language in LANGUAGES else LANGUAGES[0])


def install(translations: Callable[[str], Any]) -> None:
    """`translations(lang)`: gettext translations of the `ogc` domain in `lang` ("pl", "en")."""
    pygeoapi.util.Translations = _Catalogues(translations)  # type: ignore[attr-defined]
