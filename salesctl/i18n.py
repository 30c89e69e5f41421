"""The words salesctl shows people, in their language: one gettext catalogue per language.

Reports, charts, chat messages and the built-in task titles mark every user-facing text with
``_()`` (the English text is the msgid); the templates with ``{{ _("...") }}`` through
Jinja2's i18n extension. The translations live in
``salesctl/locale/<lang>/LC_MESSAGES/salesctl.po`` and are read with Babel when first needed
(no compile step: the wheel carries the ``.po`` files as package data). A language without a
catalogue is refused where a person names it (``--lang``) and falls back to English where a
config names it, so a store with ``lang: fr`` still gets its reports.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from salesctl.errors import Invalid

if TYPE_CHECKING:
    from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "salesctl"
SOURCE_LANG = "en"  # the msgids are English


def N_(msgid: str) -> str:
    """Marks ``msgid`` for the catalogues where it is defined; it is translated where it
    is shown (gettext's convention)."""
    return msgid


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> tuple[str, ...]:
    """The languages salesctl has a catalogue for."""
    return tuple(
        sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    )


def require_language(lang: str) -> str:
    """``lang`` if salesctl speaks it, else a one-line error naming those it does."""
    if lang not in languages():
        raise Invalid(f"--lang {lang!r}: no such language", f"use one of {', '.join(languages())}")
    return lang


@lru_cache(maxsize=8)
def translations(lang: str) -> Translations:
    """``lang``'s catalogue as gettext translations (an empty one for an unknown language:
    the English msgids)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    path = catalogue_path(lang)
    if not path.is_file():
        return Translations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext_for(lang: str) -> Callable[[str], str]:
    """``_`` for ``lang``: ``_("Deal won: {title}").format(title=...)``."""
    return translations(lang).gettext


def translated_everywhere(msgid: str) -> set[str]:
    """``msgid`` in every language salesctl has (a text read back must be recognised
    whichever language wrote it)."""
    return {msgid} | {gettext_for(lang)(msgid) for lang in languages()}
