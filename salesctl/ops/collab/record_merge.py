"""A record file changed on both sides of a ``sync``, merged field by field.

Git merges lines: a change to ``name`` and one to ``email`` on the next line make one hunk,
and a conflict that no field explains. A record is a mapping of fields, so sync merges the
mappings instead (base, remote, local): a field changed on one side only takes that side's
value, a field changed the same way on both is kept, and only a field set differently on
both sides is a conflict, named by its field (``custom.budget`` for a nested one).
``--keep remote`` / ``--keep local`` settles exactly those fields; nothing else of either
side is dropped. The result is written as every command writes a record
(``store/validation.py:checked_fields``: canonical YAML, validated), never as merged text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesctl.ops.collab.gitread import show_value

KEEP_SIDES = ("remote", "local")
_ABSENT = object()  # a field one version of the file lacks


@dataclass(frozen=True)
class FieldConflict:
    """A field set differently on both sides."""

    path: str
    record: str | None
    field: str
    remote: Any
    local: Any

    @property
    def where(self) -> str:
        return self.record or self.path

    def __str__(self) -> str:
        return (
            f"{self.where} {self.field}: remote has {show_value(self.remote)!r}, "
            f"yours has {show_value(self.local)!r}"
        )


@dataclass(frozen=True)
class Stuck:
    """A file sync cannot merge by field, and why; ``keepable``: ``--keep`` settles it."""

    path: str
    record: str | None
    reason: str
    keepable: bool = False

    @property
    def where(self) -> str:
        return self.record or self.path

    def __str__(self) -> str:
        shown = f"{self.record} ({self.path})" if self.record else self.path
        return f"{shown}: {self.reason}"


def merge_fields(
    base: dict[str, Any],
    remote: dict[str, Any],
    local: dict[str, Any],
    keep: str | None = None,
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """The three-way merge of one record's fields, and its clashes as ``(field, remote,
    local)``. A clash takes the side ``keep`` names ("remote" or "local"); without it, the
    remote's value stands in the result (which is then not to be written)."""
    return _merge(base, remote, local, keep, "")


def _merge(
    base: dict[str, Any],
    remote: dict[str, Any],
    local: dict[str, Any],
    keep: str | None,
    prefix: str,
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    merged: dict[str, Any] = {}
    clashes: list[tuple[str, Any, Any]] = []
    for key in dict.fromkeys([*remote, *local, *base]):
        old, theirs, ours = (side.get(key, _ABSENT) for side in (base, remote, local))
        if _same(theirs, ours) or _same(old, ours):
            value = theirs
        elif _same(old, theirs):
            value = ours
        elif isinstance(theirs, dict) and isinstance(ours, dict):
            inner_base = old if isinstance(old, dict) else {}
            value, inner = _merge(inner_base, theirs, ours, keep, f"{prefix}{key}.")
            clashes += inner
        else:
            clashes.append((f"{prefix}{key}", _shown(theirs), _shown(ours)))
            value = ours if keep == "local" else theirs
        if value is not _ABSENT:
            merged[key] = value
    return merged, clashes


def _same(one: Any, other: Any) -> bool:
    """Equal as YAML values: ``1`` is not ``True``, nor ``1.0``."""
    if one is _ABSENT or other is _ABSENT:
        return one is other
    return type(one) is type(other) and one == other


def _shown(value: Any) -> Any:
    return None if value is _ABSENT else value
