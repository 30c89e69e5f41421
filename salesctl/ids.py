"""Record ids: a kind prefix plus 60 random bits in Crockford base32, e.g. ``L-7KQ2M4XR9TAB``.

60 bits make a collision between offline clones negligible at millions of records
(about 4 in 10 million for a million ids of one kind), and ``check`` still reports a
duplicate should one ever happen after a merge. Ids are random rather than time-ordered so
that a short prefix (``L-7KQ2``) is unique and quick to type. Ids are the only source of
file names, and ``parse`` accepts nothing that could name a path outside the store.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
ID_LENGTH = 12
ID_RE = re.compile(r"^[A-Z]{1,2}-[0-9A-HJKMNP-TV-Z]{12}$")
PREFIX_RE = re.compile(r"^[A-Z]{1,2}(-[0-9A-HJKMNP-TV-Z]{0,12})?$")


def new_id(prefix: str) -> str:
    import secrets  # a write's: reads make no ids

    bits = secrets.randbits(5 * ID_LENGTH)
    chars = [ALPHABET[(bits >> (5 * i)) & 31] for i in range(ID_LENGTH)]
    return f"{prefix}-{''.join(chars)}"


def is_id(text: str) -> bool:
    return bool(ID_RE.match(text))


def normalise_prefix(text: str) -> str | None:
    """The canonical (upper-case) form of an id or id prefix, or None if it cannot be one."""
    candidate = text.strip().upper()
    return candidate if PREFIX_RE.match(candidate) else None
