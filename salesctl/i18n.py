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

import gettext
import re
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
    path = catalogue_path(lang)
    simple = _simple_catalogue(path.read_text(encoding="utf-8")) if path.is_file() else None
    if simple is not None:
        return simple  # type: ignore[return-value]
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    if not path.is_file():
        return Translations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


_PO_LINE = re.compile(r'^(msgid|msgstr)? ?"((?:[^"\\]|\\[\\"nt])*)"$')
_PO_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t"}


def _simple_catalogue(text: str) -> gettext.GNUTranslations | None:
    """The catalogue of a ``.po`` file that holds only comments and ``msgid``/``msgstr``
    pairs (salesctl's own), read without Babel (whose import, parse and compile cost
    0.1 s a report); None for anything more (plurals, contexts, fuzzy entries): Babel
    reads those."""
    catalog: dict[str, str] = {}
    key: str | None = None
    parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if (line.startswith("#,") and "fuzzy" in line) or line.startswith("#|"):
            return None  # a fuzzy entry (left out) or previous strings
        if not line or line.startswith("#"):
            continue
        found = _PO_LINE.match(line)
        if found is None:
            return None
        if found.group(1) == "msgid" and key == "msgstr":
            catalog["".join(parts["msgid"])] = "".join(parts["msgstr"])
            parts = {"msgid": [], "msgstr": []}
        key = found.group(1) or key
        if key is None:
            return None
        parts[key].append(re.sub(r'\\[\\"nt]', lambda m: _PO_ESCAPES[m.group()], found.group(2)))
    if key == "msgstr":
        catalog["".join(parts["msgid"])] = "".join(parts["msgstr"])
    catalog.pop("", None)  # the header
    translations = gettext.GNUTranslations()
    translations._catalog = {k: v for k, v in catalog.items() if v}  # type: ignore[attr-defined]
    translations.plural = lambda n: int(n != 1)  # type: ignore[attr-defined]
    return translations


def gettext_for(lang: str) -> Callable[[str], str]:
    """``_`` for ``lang``: ``_("Deal won: {title}").format(title=...)``."""
    return translations(lang).gettext


def translated_everywhere(msgid: str) -> set[str]:
    """``msgid`` in every language salesctl has (a text read back must be recognised
    whichever language wrote it)."""
    return {msgid} | {gettext_for(lang)(msgid) for lang in languages()}
