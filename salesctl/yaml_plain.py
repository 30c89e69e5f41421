"""A record of plain values written as YAML, and read back, without PyYAML's Python layers.

PyYAML's Python representer (a node per value, a resolver pass per scalar) was most of a
write's YAML cost: 140 µs a lead, 1.4 s of a 10,000-row import. ``dump_plain`` writes the
same bytes ``yamlio.dumps`` writes, for the values whose form it is sure of: a mapping
of text keys whose values are text, whole numbers, booleans, None, dates, or mappings and
lists of those. Text is written only where the result is certain (letters, digits and a
few safe marks; short enough that no line is folded), plain when YAML would read it back as
text, else single-quoted. Anything else (floats, amounts, multi-line or unusual text)
returns None, and the caller writes the record through PyYAML as before;
``tests/test_yaml_plain.py`` compares the two over arbitrary records.

``load_plain`` reads such files back: PyYAML's ``CSafeLoader`` calls Python for every node
(its resolver, its constructors) and was 39 µs of a lead's ≈ 85 µs in a cold build. It
reads a block mapping line by line where each line is unambiguous: ``key: value`` and
``- item`` lines at exact indentations, values that are plain (folded over lines as PyYAML
writes long text), quoted on one line or empty (``{}``, ``[]``), or ``|``/``|-`` blocks of
text. A plain value's type is decided by PyYAML's own resolver patterns and
made by its own constructors, so the result is what ``yamlio.loads`` gives. Anything else
(comments, blank lines, tabs, ``>`` and quoted text over lines, flow collections, anchors,
tags, directives, odd characters, a value that could be read two ways) returns None and
the reference parser reads the file: ``tests/test_yaml_plain.py`` compares the two over
dumped records and arbitrary text, and ``SALESCTL_YAML=verify`` over a whole store.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import yaml

# Text written as it is: starting with a letter, a digit or "+" (no indicator can start
# it) and holding no character with a meaning in YAML (":", "#", quotes, brackets, "," ...)
# nor spaces at either end or side by side, which is where emitters differ in form.
_SAFE_TEXT = re.compile(r"[+\w](?:[\w.@+/-]| (?! ))*(?<! )")
_LINE_LIMIT = 80  # PyYAML folds text at a space past column 100; stay well short of it
# How YAML reads plain text, by its first character (as PyYAML's resolver looks it up)
_Resolvers = list[tuple[str, re.Pattern[str]]]
_ANY_START: _Resolvers = yaml.SafeDumper.yaml_implicit_resolvers.get(None, [])
_RESOLVERS: dict[str, _Resolvers] = {
    start: resolvers + _ANY_START
    for start, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
    if start is not None
}
_STR_TAG = "tag:yaml.org,2002:str"
_ASTRAL = "\U00010000"
_KEYS: dict[str, str] = {}  # a key's form, as _text gives it


class _NotPlain(Exception):
    """A value whose YAML form this module does not decide: PyYAML writes the record."""


def dump_plain(data: Any) -> str | None:
    """``data`` as ``yamlio.dumps`` writes it, or None if it holds other values."""
    if type(data) is not dict or not data:
        return None
    lines: list[str] = []
    try:
        _mapping(data, "", "", lines)
    except _NotPlain:
        return None
    lines.append("")
    return "\n".join(lines)


def _mapping(data: dict[Any, Any], first: str, indent: str, lines: list[str]) -> None:
    """``first`` leads the first key's line (``- `` in a list), ``indent`` the others."""
    lead = first
    for key, value in data.items():
        form = _KEYS.get(key) if type(key) is str else None
        if form is None:
            form = _text(key, 0)
            if len(_KEYS) < 4096:  # field names repeat in every record
                _KEYS[key] = form
        if len(lead) + len(form) > _LINE_LIMIT:
            raise _NotPlain
        head = f"{lead}{form}:"
        lead = indent
        kind = type(value)
        if kind is dict:
            if not value:
                lines.append(head + " {}")
            else:
                lines.append(head)
                _mapping(value, indent + "  ", indent + "  ", lines)
        elif kind is list:
            if not value:
                lines.append(head + " []")
            else:
                lines.append(head)
                _sequence(value, indent, lines)  # block lists sit at their key's column
        else:
            lines.append(f"{head} {_scalar(value, len(head) + 1)}")


def _sequence(items: list[Any], indent: str, lines: list[str]) -> None:
    for item in items:
        kind = type(item)
        if kind is dict and item:
            _mapping(item, indent + "- ", indent + "  ", lines)
        elif kind is dict or kind is list:
            raise _NotPlain  # an empty mapping or a nested list
        else:
            lines.append(f"{indent}- {_scalar(item, len(indent) + 2)}")


def _scalar(value: Any, column: int) -> str:
    kind = type(value)
    if kind is str:
        return _text(value, column)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is dt.date:
        return str(value.isoformat())
    raise _NotPlain  # floats, Decimal, datetimes, other types: PyYAML's own forms


def _text(value: Any, column: int) -> str:
    """Plain text, or single-quoted where plain would read back as another type."""
    if type(value) is not str or not _SAFE_TEXT.fullmatch(value):
        raise _NotPlain
    if column + len(value) + 2 > _LINE_LIMIT or not (value.isascii() or max(value) < _ASTRAL):
        raise _NotPlain  # PyYAML escapes characters beyond the BMP ("\U00010000")
    return value if _plain_tag(value) == _STR_TAG else f"'{value}'"


def _plain_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain scalar (as ``BaseResolver.resolve``; the
    loader's table is the dumper's): what writing and reading both decide text by."""
    for tag, pattern in _RESOLVERS.get(value[0], _ANY_START):
        if pattern.match(value):
            return tag
    return _STR_TAG


# -- reading -----------------------------------------------------------------------------------

# Characters libyaml refuses or reads as line breaks (NEL, LS, PS), DEL and other controls,
# surrogates, a byte-order mark: the reference decides (and explains) those files. (The
# complement of libyaml's printable set, written as the few ranges it is: the negated class
# took 3 ms to compile, which every command paid at import.)
ODD_CHARACTER = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")  # no plain scalar starts with these
_WHOLE = r"(?:0|[1-9][0-9]{0,17})\Z"  # an int with one form and no sign
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"
_MOMENT = (  # YYYY-MM-DDTHH:MM:SS+HH:MM, what salesctl writes for a moment
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T"
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})([-+])([0-9]{2}):([0-9]{2})\Z"
)
_Pattern = re.Pattern[str]


@functools.cache
def _patterns() -> tuple[_Pattern, _Pattern, _Pattern, _Pattern]:
    """Compiled on the first read, not at import: a command that reads nothing pays nothing."""
    return (
        re.compile(ODD_CHARACTER),
        re.compile(_WHOLE),
        re.compile(_DATE),
        re.compile(_MOMENT),
    )


_SCALARS: dict[str, Any] = {}  # each short plain value's meaning, once read
_TYPED = {
    f"tag:yaml.org,2002:{name}": f"construct_yaml_{name}"
    for name in ("null", "bool", "int", "float", "timestamp")
}
_constructor: Any = None
_LOADED_KEYS: dict[str, str] = {}  # a key's text, for the keys that read as text


class _Other(Exception):
    """A line or value this reader does not decide: the reference parser reads the file."""


Lines = list[tuple[int, str]]  # each line's indentation and the text after it


def load_plain(text: str) -> dict[Any, Any] | None:
    """What ``yamlio.loads(text)`` gives, for a block mapping of the lines described above;
    None for any other text (the caller then asks the reference parser)."""
    if text[-1:] != "\n" or "\t" in text or "\r" in text or _patterns()[0].search(text):
        return None
    lines: Lines = []
    for line in text[:-1].split("\n"):
        body = line.lstrip(" ")
        if not body:
            return None  # a blank line: inside a block scalar it would be part of it
        lines.append((len(line) - len(body), body))
    data: dict[Any, Any] = {}
    try:
        end = _read_mapping(lines, 0, 0, data)
    except (_Other, RecursionError):
        return None
    return data if end == len(lines) and data else None


def _read_mapping(lines: Lines, i: int, column: int, out: dict[Any, Any]) -> int:
    """Read the keys at ``column`` from line ``i`` into ``out``; the line after them."""
    count = len(lines)
    while i < count:
        at, body = lines[i]
        if at != column:
            if at < column:
                return i  # the mapping ended: the caller's block goes on
            raise _Other  # deeper than a key: a continuation, or an error
        key, rest = _key_line(body)
        if key in out:
            raise _Other  # a key twice: the reference names it
        i += 1
        if rest == "|" or rest == "|-":
            i = _read_literal(lines, i, column, out, key, keep_last=rest == "|")
            continue
        if rest is not None:
            if i < count and lines[i][0] > column:  # PyYAML folds long text: "a\n  b" is "a b"
                parts = [rest]
                while i < count and lines[i][0] > column:
                    parts.append(lines[i][1])
                    i += 1
                if rest[0] in "'\"" or any(p[0] in _INDICATORS or p[-1] == " " for p in parts):
                    raise _Other
                rest = " ".join(parts)
            out[key] = _read_scalar(rest)
            continue
        value: Any = None  # "key:" alone: a block below it, or null
        if i < count:
            below, start = lines[i]
            if below > column or (below == column and start[:2] == "- "):
                if start[:2] == "- ":
                    value = []
                    i = _read_sequence(lines, i, below, value)
                else:
                    value = {}
                    i = _read_mapping(lines, i, below, value)
        out[key] = value
    return i


def _read_literal(
    lines: Lines, i: int, column: int, out: dict[Any, Any], key: str, *, keep_last: bool
) -> int:
    """A ``|`` or ``|-`` block of text (what yamlio writes for text of several lines): its
    lines are those indented like the first (deeper than the key), kept from that column;
    ``|`` ends the text with one line break, ``|-`` with none. No blank line reaches here."""
    if i >= len(lines) or lines[i][0] <= column:
        raise _Other  # empty text: the reference
    indent = lines[i][0]
    parts = []
    while i < len(lines) and lines[i][0] >= indent:
        at, body = lines[i]
        parts.append(" " * (at - indent) + body)
        i += 1
    out[key] = "\n".join(parts) + ("\n" if keep_last else "")
    return i


def _read_sequence(lines: Lines, i: int, column: int, out: list[Any]) -> int:
    """Read the ``- item`` lines at ``column`` from line ``i`` into ``out``."""
    count = len(lines)
    while i < count:
        at, body = lines[i]
        if at != column or body[:2] != "- ":
            return i  # the caller decides whether that line can follow
        item = body[2:]
        if not item or item[0] == " " or item[:2] == "- " or item == "-":
            raise _Other  # a nested list, odd spacing
        if ": " in item or item[-1] == ":":
            mapping: dict[Any, Any] = {}
            lines[i] = (column + 2, item)  # the item's first key sits after "- "
            i = _read_mapping(lines, i, column + 2, mapping)
            out.append(mapping)
        else:
            out.append(_read_scalar(item))
            i += 1
    return i


def _key_line(body: str) -> tuple[str, str | None]:
    """(key, the value's text or None for "key:" alone) of a ``key: value`` line."""
    cut = body.find(": ")
    if cut < 0:
        if body[-1] != ":":
            raise _Other
        name, rest = body[:-1], None
    else:
        name, rest = body[:cut], body[cut + 2 :]
        if not rest or rest[0] == " ":
            raise _Other
    key = _LOADED_KEYS.get(name)
    if key is None:
        if not _SAFE_TEXT.fullmatch(name) or _plain_tag(name) != _STR_TAG:
            raise _Other  # a key that reads as a number, a bool, null...: the reference
        key = name
        if len(_LOADED_KEYS) < 4096:
            _LOADED_KEYS[name] = name
    return key, rest


def _read_scalar(rest: str) -> Any:
    """The value of a one-line scalar (or ``{}``/``[]``) that is all of ``rest``."""
    known = _SCALARS.get(rest, _SCALARS)
    if known is not _SCALARS:
        return known
    value = _made_scalar(rest)
    if len(rest) <= 40 and len(_SCALARS) < 65536 and type(value) not in (dict, list):
        _SCALARS[rest] = value  # names, stages, dates repeat across files (never a container)
    return value


def _made_scalar(rest: str) -> Any:
    first = rest[0]
    if first == "'":
        inner = rest[1:-1]
        if len(rest) < 2 or rest[-1] != "'" or "'" in inner.replace("''", ""):
            raise _Other
        return inner.replace("''", "'")
    if first == '"':
        inner = rest[1:-1]
        if len(rest) < 2 or rest[-1] != '"' or '"' in inner or "\\" in inner:
            raise _Other
        return inner
    if rest == "{}":
        return {}
    if rest == "[]":
        return []
    if first in _INDICATORS or rest[-1] in " :" or ": " in rest or " #" in rest:
        raise _Other
    tag = _plain_tag(rest)
    if tag == _STR_TAG:
        return rest
    _odd, whole, date, moment_form = _patterns()
    if tag == "tag:yaml.org,2002:int" and whole.match(rest):
        return int(rest)
    if tag == "tag:yaml.org,2002:timestamp":
        try:
            if date.match(rest):
                return dt.date(int(rest[:4]), int(rest[5:7]), int(rest[8:]))
            moment = moment_form.match(rest)
            if moment:  # a follow-up's "at": the form salesctl writes
                year, month, day, hour, minute, second, sign, zh, zm = moment.groups()
                zone = _zone(sign, int(zh), int(zm))
                return dt.datetime(
                    int(year), int(month), int(day), int(hour), int(minute), int(second),
                    tzinfo=zone,
                )  # fmt: skip
        except ValueError:
            raise _Other from None  # yamlio reads an impossible date as its text
    return _construct(tag, rest)


@functools.cache
def _zone(sign: str, hours: int, minutes: int) -> dt.timezone:
    """The zone PyYAML's constructor makes for ``+HH:MM`` (equal, and hashed alike)."""
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if sign == "-" else delta)


def _construct(tag: str, value: str) -> Any:
    """A typed plain scalar, made by PyYAML's own constructor for its tag."""
    global _constructor
    method = _TYPED.get(tag)
    if method is None:
        raise _Other  # "<<", "=", "!", "&", "*": only the reference knows those
    if _constructor is None:
        _constructor = yaml.constructor.SafeConstructor()
    try:
        return getattr(_constructor, method)(yaml.ScalarNode(tag, value))
    except Exception:
        raise _Other from None  # the reference raises (or reads it) as it does
