"""A record of plain values written as YAML without PyYAML's representer.

PyYAML's Python representer (a node per value, a resolver pass per scalar) was most of a
write's YAML cost: 140 µs a lead, 1.4 s of a 10,000-row import. ``dump_plain`` writes the
same bytes ``yamlio.dumps`` writes, for the values whose form it is sure of: a mapping
of text keys whose values are text, whole numbers, booleans, None, dates, or mappings and
lists of those. Text is written only where the result is certain (letters, digits and a
few safe marks; short enough that no line is folded), plain when YAML would read it back as
text, else single-quoted. Anything else (floats, amounts, multi-line or unusual text)
returns None, and the caller writes the record through PyYAML as before;
``tests/test_yaml_plain.py`` compares the two over arbitrary records.
"""

from __future__ import annotations

import datetime as dt
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
    resolvers = _RESOLVERS.get(value[0], _ANY_START)
    tag = next((tag for tag, pattern in resolvers if pattern.match(value)), _STR_TAG)
    return value if tag == _STR_TAG else f"'{value}'"
