"""Fields about to be written, copied where they load back exactly as written: the index
stores a big commit's rows from these copies instead of reading the files back
(``parsing.row_of_written``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# Characters YAML treats as line breaks or drops (NEL, the Unicode separators, a BOM, CR):
# a string holding one may not load back as it was written, so it is read back instead.
_BREAKS = re.compile("[\r\x85\u2028\u2029\ufeff]")
_PLAIN_SCALARS = (int, bool, type(None), dt.date)  # type() is exact: no datetime, no float


def plain_copy(value: Any) -> Any:
    """A deep copy of fields about to be written, if they are of the shapes that load back
    exactly as ``yamlio.dumps`` writes them (text, whole numbers, booleans, None, dates,
    lists and mappings of them: what an import writes); None otherwise (floats, decimals,
    datetimes: those files are read back)."""
    copied = _plain(value)
    return None if copied is _NOT_PLAIN else copied


_NOT_PLAIN = object()


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _NOT_PLAIN if _BREAKS.search(value) else value
    if kind is dict:
        out = {}
        for key, item in value.items():
            copied = _plain(item)
            if type(key) is not str or _BREAKS.search(key) or copied is _NOT_PLAIN:
                return _NOT_PLAIN
            out[key] = copied
        return out
    if kind is list:
        items = [_plain(item) for item in value]
        return _NOT_PLAIN if any(i is _NOT_PLAIN for i in items) else items
    return value if kind in _PLAIN_SCALARS else _NOT_PLAIN
