"""How much a store template may make, and the checks that keep it to that.

A hostile template grows values fast: ``s ~ s`` doubles a string, ``'x'|center(10**9)`` or
``'%*d' % (10**9, 1)`` asks for a gigabyte in one step, ``[s] * 1000`` then ``|join`` copies
a string a thousand times. So an operation that can make a string or list from smaller ones
is checked *before* it runs, from its inputs' sizes (``size_of`` estimates what ``str()``
would make, without making it), and refused past ``MAX_REPEAT``; what every operation and
every ``{{ ... }}`` makes is also added up per render and refused past ``MAX_BUILT``, since
fresh strings can pile up in a list or a ``{% set %}`` block. The sandbox
(``salesctl.reports.sandbox``) calls these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sized
from decimal import Decimal
from typing import Any

from jinja2.utils import Namespace

MAX_REPEAT = 1_000_000  # characters or items one operation may make ("-" * 80 is the use)
MAX_DIGITS = 4_000  # digits of an integer `*`, `**` or `+` makes (Python prints at most 4,300)
MAX_OUTPUT = 16 * 1024 * 1024  # characters of a rendered report, far above any real one
MAX_BUILT = 4 * MAX_OUTPUT  # characters a render's operations and outputs make in all
MAX_SECONDS = 30.0  # a render's time; the built-in report takes about 50 ms

_BIG = MAX_OUTPUT * 1024  # a width or count too large to be worth reading exactly


class TemplateLimit(Exception):
    """A template the sandbox refuses to load or to finish: what, and how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def too_big(what: str, size: int, made: str = "would make") -> TemplateLimit:
    return TemplateLimit(
        f"{what} {made} {size:,} characters or items, above the limit of {MAX_REPEAT:,}",
        "make shorter strings and lists",
    )


def require(what: str, size: int) -> None:
    """Refuse an operation that would make ``size`` characters or items."""
    if size > MAX_REPEAT:
        raise too_big(what, size)


def size_of(value: Any, limit: int = MAX_REPEAT) -> int:
    """About how many characters ``str(value)`` makes, counted only until past ``limit`` (a
    list holding one string a million times is not walked a million times)."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, int | float | Decimal) or value is None:
        return _leaf_size(value)
    total = 0
    pending = [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + len(item)
            pending.extend(item)
        elif isinstance(item, Mapping | Namespace):
            items = item._Namespace__attrs if isinstance(item, Namespace) else item
            total += 2 + 2 * len(items)
            pending.extend(items.keys())
            pending.extend(items.values())
        else:
            total += _leaf_size(item)
    return total


def _leaf_size(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return int(digits(value)) + 2
    if isinstance(value, Decimal) and value.is_finite():
        _, figures, exponent = value.as_tuple()
        return len(figures) + abs(int(exponent)) + 2  # "{:f}" writes every zero out
    return 32  # a float, a date, a Decimal's "NaN": short


def digits(value: int) -> float:
    return abs(value).bit_length() * math.log10(2)


def int_or_zero(value: Any) -> int:
    return abs(value) if isinstance(value, int) else 0


def _count(text: str) -> int:
    """A width or precision written in a format: its number, or ``_BIG`` for a long one."""
    return int(text) if len(text) < 12 else _BIG


# -- operators ---------------------------------------------------------------------------------


def check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _require_digits("`**`", math.log10(abs(base)) * exponent, "use a smaller exponent")


def check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _require_digits("`*`", digits(left) + digits(right), "multiply smaller numbers")
        return
    sequence, count = (right, left) if isinstance(left, int) else (left, right)
    if isinstance(count, int) and isinstance(sequence, str | bytes | list | tuple):
        require("`*`", len(sequence) * count)


def check_sum(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _require_digits("`+`", max(digits(left), digits(right)) + 1, "add smaller numbers")
    elif isinstance(left, str | bytes | list | tuple) and isinstance(
        right, str | bytes | list | tuple
    ):
        require("`+`", len(left) + len(right))


def _require_digits(what: str, count: float, hint: str) -> None:
    if count > MAX_DIGITS:
        raise TemplateLimit(
            f"{what} would make a number of about {math.ceil(count):,} digits, above the limit of "
            f"{MAX_DIGITS:,}",
            hint,
        )


_PRINTF = re.compile(r"%(?:\(([^)]*)\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


def printf_size(template: Any, args: Any) -> int:
    """At most what ``template % args`` makes: each ``%`` field its width, its precision
    and its value's text (``'%*d' % (10**9, 1)`` is a gigabyte)."""
    if isinstance(template, bytes):
        template = template.decode("latin-1")
    if not isinstance(template, str):
        return 0
    positional = args if isinstance(args, tuple) else (args,)
    mapping = args if isinstance(args, Mapping) else {}
    taken = iter(positional)
    total = len(template)
    for match in _PRINTF.finditer(template):
        key, width, precision, kind = match.groups()
        if kind == "%":
            continue
        total += int_or_zero(next(taken, 0)) if width == "*" else _count(width or "0")
        total += int_or_zero(next(taken, 0)) if precision == "*" else _count(precision or "0")
        value = mapping.get(key) if key is not None else next(taken, None)
        total += size_of(value, MAX_REPEAT - total) + 32
        if total > MAX_REPEAT:
            break
    return total


def total_size(items: Iterable[Any]) -> int:
    """``size_of`` summed over ``items``, stopped once past ``MAX_REPEAT``."""
    total = 0
    for item in items:
        total += size_of(item, MAX_REPEAT - total) + 1
        if total > MAX_REPEAT:
            break
    return total


def nested_size(value: Any, indent: int) -> int:
    """About what ``value`` makes written one item a line, each indented ``indent`` times its
    depth (``tojson(indent=...)``, ``pprint``), counted only until past ``MAX_REPEAT``."""
    total = 0
    pending = [(value, 1)]
    while pending and total <= MAX_REPEAT:
        item, depth = pending.pop()
        total += depth * indent + 4
        if isinstance(item, list | tuple | set | frozenset):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, Mapping):
            pending.extend((child, depth + 1) for child in item.values())
            total += total_size(item.keys())
        else:
            total += size_of(item, MAX_REPEAT - total)
    return total


_SPEC_NUMBERS = re.compile(r"\d+")


def field_size(value: Any, spec: str) -> int:
    """At most what ``format(value, spec)`` makes: the widths in ``spec`` and the value."""
    numbers = sum(_count(n) for n in _SPEC_NUMBERS.findall(spec))
    return numbers + size_of(value) + 32


# -- str, bytes and list methods a template calls, and filters -------------------------------
#
# Per name, the size of the result from the call's arguments (the object, or the filtered
# value, first). The sandbox refuses the call past ``MAX_REPEAT``; an argument of the wrong
# type sizes as 0 and the call itself says what is wrong.


def text_of(value: Any) -> str | bytes:
    """``value`` as the text a filter makes of it, made only if it is not too long."""
    if isinstance(value, str | bytes):
        return value
    require("converting a value to text", size_of(value))
    return str(value)


def _padded(text: Any, width: Any = 80, *rest: Any) -> int:
    return max(size_of(text), int_or_zero(width))


def _expanded(text: Any, tabsize: Any = 8) -> int:
    tabs: int = text.count("\t" if isinstance(text, str) else b"\t")
    return len(text) + tabs * int_or_zero(tabsize)


def _replaced(text: Any, old: Any = "", new: Any = "", count: Any = -1, *rest: Any) -> int:
    text = text_of(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(size_of(new) - size_of(old), 0)


def _joined(separator: Any, items: Any = (), *rest: Any) -> int:
    return total_size(items) + size_of(separator) * len(items)


def _translated(text: Any, table: Any = None) -> int:
    values = table.values() if isinstance(table, Mapping) else [1]
    return len(text) * max([size_of(v) for v in values] + [1])


def _extended(sequence: Any, items: Any = ()) -> int:
    return len(sequence) + (len(items) if isinstance(items, Sized) else 0)


METHOD_SIZES: dict[str, Callable[..., int]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _expanded,
    "replace": _replaced,
    "join": _joined,
    "translate": _translated,
    "extend": _extended,
}
MATERIALISED = frozenset({"join", "sum"})  # their iterable is made a list to be sized


def _indented(text: Any, width: Any = 4, *rest: Any) -> int:
    prefix = size_of(width) if isinstance(width, str) else int_or_zero(width)
    lines = text_of(text)
    newline = "\n" if isinstance(lines, str) else b"\n"
    return len(lines) + (lines.count(newline) + 1) * prefix  # type: ignore[arg-type]


def _formatted(value: Any, *args: Any, **kwargs: Any) -> int:
    return printf_size(text_of(value), kwargs or args)


def _wrapped(
    text: Any, width: Any = 79, breaks: Any = True, wrapstring: Any = None, *rest: Any
) -> int:
    text = text_of(text)
    newlines: int = text.count("\n" if isinstance(text, str) else b"\n")
    lines = len(text) // max(int_or_zero(width), 1) + newlines + 1
    return len(text) + lines * size_of(wrapstring or "\n")


def _joined_filter(items: Any, separator: Any = "", *rest: Any) -> int:
    return _joined(separator, items)


def _summed(items: Any, attribute: Any = None, start: Any = 0) -> int:
    lengths = [len(item) for item in items if isinstance(item, list | tuple | str)]
    total = sum(lengths) + (len(start) if isinstance(start, Sized) else 0)
    if len(lengths) * total > 1000 * MAX_REPEAT:  # each `+` copies all before it
        raise TemplateLimit(
            f"`|sum` of {len(lengths):,} lists would copy about {len(lengths) * total // 2:,} "
            "items",
            "sum fewer lists, or loop over them",
        )
    return total


def _linked(text: Any, trim: Any = None, nofollow: Any = False, target: Any = None,
            rel: Any = None, *rest: Any) -> int:  # fmt: skip
    size = size_of(text)
    return 3 * size + (size + 1) * (size_of(target or "") + size_of(rel or "") + 40)


def _sliced(value: Any, count: Any = 1, *rest: Any) -> int:
    return int_or_zero(count)


def _batched(value: Any, count: Any = 1, fill_with: Any = None) -> int:
    return 0 if fill_with is None else int_or_zero(count)


def _json(value: Any, indent: Any = None) -> int:
    return nested_size(value, int_or_zero(indent)) if indent else size_of(value)


FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": _padded,
    "indent": _indented,
    "format": _formatted,
    "wordwrap": _wrapped,
    "replace": _replaced,
    "join": _joined_filter,
    "sum": _summed,
    "urlize": _linked,
    "slice": _sliced,
    "batch": _batched,
    "tojson": _json,
    "pprint": lambda value, *rest: nested_size(value, 1),
}
# filters that make text of their value: the value may not be too long as text
_TEXT_FILTERS = "string e escape forceescape urlencode upper lower title capitalize trim striptags"
for _name in (*_TEXT_FILTERS.split(), "truncate", "wordcount", "safe", "xmlattr"):
    FILTER_SIZES[_name] = lambda value, *rest, **options: size_of(value)
