"""Field value types: turning command-line text and loaded YAML into checked values.

Each ``coerce_*`` takes what a user typed or a YAML loader produced and returns the
canonical Python value, or raises ``ValueError`` with a message fit for an ``error:`` line.
Amounts are ``Decimal`` (exact sums in reports); dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from salesctl.errors import Invalid

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_AMOUNT = Decimal(10) ** 13  # beyond any contract; exact even as a JSON float
MAX_NUMBER_DIGITS = 15  # a custom number field's whole digits: exact as a JSON float
# Legal forms a company name may end with, longest first (a Chinese one may follow a
# space-less name: 艾克美贸易有限公司).
LEGAL_FORMS = tuple(
    sorted(
        (" co ltd", " co", " ltd", " limited", " inc", " incorporated", " llc", " gmbh",
         " ag", " corp", " corporation", " company", " plc", " sa", " srl", " bv",
         "股份有限公司", "有限责任公司", "有限公司", "股份公司"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
CJK_SPACE = re.compile(r"(?<=[\u3040-\u9fff]) +| +(?=[\u3040-\u9fff])")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
PHONE_EXTENSION = re.compile(r"\s*(?:ext\.?|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
# Typed amounts: digits with an optional sign and decimal point; a comma only as a thousands
# separator in whole groups of three (12,000 and 1,234,567.89, never 1,5 or 12,00).
# Dates typed on the command line may be relative to today, so scripts and docs stay valid:
# "today", or a signed count of days or weeks ("+7d", "-2w").
RELATIVE_DATE_RE = re.compile(r"^([+-])([0-9]{1,4})([dw])$")
# The years a typed date, week, month or quarter may fall in. Beyond them a date is a typo
# (0001, 9999), and the arithmetic on it (a plan's instalments, a week's or a visit's end,
# an all-day event's next day) would leave Python's dates: an internal error, not a refusal.
FIRST_YEAR, LAST_YEAR = 1900, 2199
DATE_RANGE = f"dates run from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
DATE_HINT = (
    f"use YYYY-MM-DD from {FIRST_YEAR} to {LAST_YEAR}, today, "
    "or days/weeks from today such as +7d or -2w"
)
# The one reading of a date, or a date and time, from text (typed, imported, sent to a webhook,
# or a string in a record file): ISO 8601's extended form, the one salesctl documents and
# writes. ``fromisoformat`` alone also takes the basic forms (20261201, 2026-W48-1,
# 20261201T1430) and any character between day and time: a typo would be read as some day.
ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
DATETIME_FORMS = "YYYY-MM-DD HH:MM, e.g. 2026-11-25 14:30 or 2026-11-25T14:30:00+08:00"
MAX_LINE = 1000  # characters of a one-line field: a company, a title, a tag
# Unicode's Bidi_Control characters: embeddings, overrides and isolates, and the direction
# marks. In a one-line field (a company, a title, a tag) one makes the name display as
# another ("Trojan Source": U+202E shows "Acme\u202etxt.exe" reversed) in terminals, tables and
# reports; letters of any script, Arabic and Hebrew too, need none of them there.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
AMOUNT_RE = re.compile(r"^[-+]?(?:(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?|\.[0-9]+)$")


# C0 control characters but tab, line feed and carriage return (newlines, which only
# multi-line text keeps), DEL and the C1 controls: a NUL or an escape code in a name is a
# paste or a hand edit gone wrong; it cuts the value short in git tools and C libraries, and
# a terminal runs ESC [ or its one-byte form U+009B as a command.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def coerce_text(value: Any) -> str:
    if value.__class__ is str:  # nearly always: the type tests below only for the rest
        text = value.strip()
    elif isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise ValueError("expected text")
    else:
        text = str(value).strip()
    # isprintable() first: most text has no control character, and it is the cheaper test
    if not text.isprintable() and (control := CONTROL_CHARACTER.search(text)):
        raise ValueError(
            f"holds control character U+{ord(control.group()):04X} at position "
            f"{control.start() + 1}; remove it"
        )
    return text


def unquoted_text(value: Any, key: str | None = None) -> str | None:
    """Why a loaded value cannot stand for the text field ``key`` holds (None: a list's
    item), with the fix; None if it can. YAML reads an unquoted 13800000000, +8613800000000,
    0123 or 1.50 as a number (dropping the +, the leading zero, the trailing zero) and
    yes/no/on/off as true or false: the text a person wrote is lost. (A hand edit: salesctl
    quotes what it writes.)"""
    if value.__class__ is bool:
        why = "YAML reads an unquoted yes, no, on, off, true or false as true or false"
        shown = "yes" if value else "no"
    elif value.__class__ in (int, float):
        why = f"YAML reads it as the number {value}, dropping any leading 0 or +"
        shown = str(value)
    else:
        return None
    fix = f'{key}: "{shown}"' if key else f'the item as "{shown}"'
    return f"must be quoted text ({why}): write {fix}, with the characters as they should read"


def coerce_line(value: Any) -> str:
    text = coerce_text(value)
    if "\n" in text or "\r" in text:
        raise ValueError("expected a single line")
    if len(text) > MAX_LINE:  # a name, title or tag; longer text goes in a note
        raise ValueError(f"is {len(text):,} characters long (a line holds at most {MAX_LINE:,})")
    if not text.isascii() and (control := BIDI_CONTROLS.search(text)):
        char = control.group()
        name = unicodedata.name(char, "bidirectional control").lower()
        raise ValueError(f"contains U+{ord(char):04X} ({name}); remove it")
    return text


def coerce_email(value: Any) -> str:
    text = coerce_line(value)
    if text and not EMAIL_RE.match(text):
        raise ValueError(f"{text!r} is not an email address (expected name@example.com)")
    return text


def coerce_phone(value: Any) -> str:
    """A phone number as written, checked for its shape only (a record read from a file):
    digits with spaces, ``( ) . - /``, a leading ``+`` and an extension (``ext. 12``). New
    numbers from the CLI, an import or a webhook are checked in full by ``check_phone``."""
    text = coerce_line(value)
    number = PHONE_EXTENSION.sub("", text)
    digits = sum(c.isdigit() for c in number)
    if text and (not PHONE_RE.match(number) or not 5 <= digits <= 20):
        raise ValueError(
            f"{text!r} is not a phone number (digits with spaces, + ( ) . - / and ext. allowed)"
        )
    return text


@functools.lru_cache(maxsize=16384)
def parse_phone(text: str, region: str) -> Any:
    """``text`` as a ``phonenumbers.PhoneNumber`` of ``region`` (or its own +country code),
    None where libphonenumber cannot read it. (Imported here: 25 ms, only for a phone.)
    Remembered: an import checks each row's phone, then keys it; callers only read the
    number, never change it."""
    import phonenumbers

    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def check_phone(text: str, region: str) -> str:
    """A new phone number, as typed, if it is a valid number of ``region`` (or carries its
    own country code): ``(415) 555-0134``, ``138 0013 8000``, ``+1 415 555 0134 ext. 12``.
    Raises ``ValueError`` saying how to write it. Uses Google's libphonenumber data."""
    import phonenumbers

    text = coerce_phone(text)
    if not text:
        return text
    number = parse_phone(text, region)
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"{text!r} is not a valid phone number in {region} "
            "(give the whole number with its area code, or +COUNTRY CODE for another country)"
        )
    return text


def coerce_amount(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError("expected an amount such as 12000 or 99.50")
    if isinstance(value, int | float | Decimal):
        text = str(value)
    else:
        text = str(value).strip()
        if not AMOUNT_RE.match(text):
            raise ValueError(_amount_refusal(text))
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount (expected e.g. 12000 or 99.50)") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    if amount < 0:
        raise ValueError(f"{value} is negative (amounts are zero or more)")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"{value} is too large (amounts are below {MAX_AMOUNT:,})")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value} has more than two decimal places")
    return amount.quantize(Decimal("0.01")) if amount % 1 else amount.quantize(Decimal(1))


def _amount_refusal(text: str) -> str:
    if "," in text:
        return (
            f"{text!r} is not an amount: a comma may only separate thousands (12,000 or "
            "1,234,567.89); write decimals with a point (1.5)"
        )
    return f"{text!r} is not an amount (expected digits such as 12000 or 99.50)"


def coerce_number(value: Any) -> int | Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError("expected a number")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if number and number.adjusted() >= MAX_NUMBER_DIGITS:  # before int(): 1e999999999 hangs
        raise ValueError(f"{value} is too large (numbers have at most {MAX_NUMBER_DIGITS} digits)")
    if number and number.adjusted() < -MAX_NUMBER_DIGITS:
        raise ValueError(f"{value} is too small (write 0, or at most {MAX_NUMBER_DIGITS} decimals)")
    return int(number) if number == number.to_integral_value() else number


def coerce_int(value: Any) -> int:
    number = coerce_number(value)
    if not isinstance(number, int):
        raise ValueError(f"{value!r} is not a whole number")
    return number


def iso_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date, else ``ValueError``: the one parser of a date's text."""
    if not ISO_DATE_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def iso_datetime(text: str) -> dt.datetime:
    """``YYYY-MM-DD``, with ``T`` or a space and ``HH:MM[:SS[.ffffff]]``, then optionally ``Z``
    or ``+HH:MM``, as a (naive or aware) datetime, else ``ValueError``: the one parser of a
    date and time's text."""
    if not ISO_DATETIME_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not {DATETIME_FORMS}")
    return dt.datetime.fromisoformat(text)


class OutOfRange(ValueError):
    """A real date, week, month or quarter outside ``FIRST_YEAR`` .. ``LAST_YEAR``."""


def check_year(year: int, text: str) -> None:
    """Raise ``OutOfRange`` unless ``year`` (of what was typed as ``text``) is in range."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OutOfRange(f"{text} is out of range")


def coerce_date(value: Any) -> dt.date:
    """A stored date, within ``FIRST_YEAR`` .. ``LAST_YEAR`` like a typed one (a hand-edited
    ``2500-01-01`` is a typo, and the arithmetic on it could leave Python's dates)."""
    day = value if value.__class__ is dt.date else _date(value)  # YAML's date: as it is
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return day
    raise OutOfRange(f"{day} is out of range ({DATE_RANGE})")


def _date(value: Any) -> dt.date:
    """A date of any year."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return iso_date(coerce_line(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def coerce_typed_date(text: str, today: dt.date) -> dt.date:
    """A date typed on the command line: YYYY-MM-DD, ``today``, or ``+7d`` / ``-2w`` from today,
    within the years ``FIRST_YEAR`` .. ``LAST_YEAR`` (else ``OutOfRange``).

    Only for typed options: stored records always hold plain dates (``coerce_date``)."""
    word = text.strip().lower()
    if word == "today":
        day, shown = today, word
    elif match := RELATIVE_DATE_RE.match(word):
        sign, count, unit = match.groups()
        days = int(count) * (7 if unit == "w" else 1)
        day = today + dt.timedelta(days=days if sign == "+" else -days)
        shown = f"{word} ({day})"
    else:
        try:
            day = _date(text)  # the year is checked below, naming what was typed
        except ValueError:
            raise ValueError(f"{text!r} is not a date ({DATE_HINT})") from None
        shown = day.isoformat()
    check_year(day.year, shown)
    return day


def typed_date(text: str, option: str, today: dt.date) -> dt.date:
    """A command-line option's date (``coerce_typed_date``), or ``Invalid`` naming the option."""
    try:
        return coerce_typed_date(text, today)
    except OutOfRange as exc:
        raise Invalid(f"{option} {exc}", DATE_RANGE) from None
    except ValueError:
        raise Invalid(f"{option} {text!r} is not a date", DATE_HINT) from None


def coerce_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            result = iso_datetime(coerce_line(value))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a date and time (expected YYYY-MM-DD HH:MM)"
            ) from None
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise OutOfRange(f"{result.isoformat(' ')} is out of range ({DATE_RANGE})")
    if result.tzinfo is None:
        result = result.astimezone()
    return result.replace(microsecond=0)


def coerce_list(value: Any) -> list[str]:
    """A list of short strings; text with commas is split ("a, b" -> ["a", "b"])."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    result = []
    for item in items:
        text = coerce_line(item)
        if text and text not in result:
            result.append(text)
    return result


def printable(text: str) -> str:
    """``text`` with any lone surrogate escaped (``\\udXXX``), so a message, a commit or a
    JSON answer can hold it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def not_utf8(value: Any) -> str | None:
    """Where ``value`` (text, or lists and mappings of it) cannot be written as UTF-8, or
    None: a lone surrogate, which is how Python hands over argv bytes that were not UTF-8
    (``\\udcff`` for byte 0xff) and how JSON spells half a character (``"\\ud800"``)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = ord(value[exc.start])
            if 0xDC80 <= char <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
                return f"byte 0x{char - 0xDC00:02x} at position {exc.start}"
            return f"lone surrogate \\u{char:04x} at position {exc.start}"
        return None
    if isinstance(value, dict):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        return None
    return next((problem for problem in map(not_utf8, parts) if problem is not None), None)


def to_json(value: Any) -> Any:
    """A loaded/coerced value as plain JSON data (ISO dates, numbers for amounts)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def normalise_email(email: str) -> str:
    return email.strip().lower()


def folded(text: str) -> str:
    """``text`` as a duplicate key compares it: width (NFKC: ＡＢＣ, （）) and case folded,
    invisible format characters (zero-width space and joiners, direction marks) dropped, so
    "Ac\u200bme" does not pass for another name than "Acme"."""
    key = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in key if unicodedata.category(c) != "Cf")


def normalise_company(name: str) -> str:
    """A company's duplicate-detection key: width (NFKC: ＡＢＣ, （）), case, spaces and
    punctuation folded, and the legal form dropped however many are stacked ("Acme Co.,
    Ltd." and "ACME LIMITED" are "acme"; 青岛新航纺织有限公司 and 青岛新航纺织股份有限公司 are
    青岛新航纺织)."""
    key = folded(name)
    key = re.sub(r"[\s.,()·&'\"/-]+", " ", key).strip()
    key = CJK_SPACE.sub("", key)  # 青岛 新航 is 青岛新航: Chinese names have no spaces
    stripped = True
    while stripped and key:
        stripped = False
        for suffix in LEGAL_FORMS:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, stripped = key[: -len(suffix)].strip(), True
                break
    return key
