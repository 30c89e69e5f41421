"""What happened to records between two trees, shared by ``history`` and ``diff``.

Data flow: raw file changes (``gitread.FileChange``) → placed (``gitread.place_of``) and
grouped by record → the blobs of all of them read in one batch → per record, a
``RecordChange``: created, deleted, moved between owners' directories or changed, with its
field changes (``field: old -> new``) and its children's (follow-ups, visits, attachments
...) as ``ChildChange``s. Each knows how to show itself as JSON and as human lines.

A version of a file that cannot be read (malformed YAML, not UTF-8, not a mapping) or that
the store refuses (a symlink, a submodule) is told as what it is (``problem``, and
``problem_before`` for the version it replaced), never as every field cleared: its fields
are left out, and the next readable version shows its fields as new (``history`` compares
them with the last readable version instead, see ``history.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from salesctl.ops.collab.gitread import (
    GITLINK_MODE,
    SYMLINK_MODE,
    FileChange,
    GitReader,
    field_changes,
    read_fields,
    refused_mode,
    show_value,
)
from salesctl.ops.collab.places import Place, place_of
from salesctl.store.layout import Owner

TEXT_FIELDS = ("text", "title", "note", "place")  # what names a follow-up, visit or task
NESTED = ("fields", "children")  # shown through their own JSON, not as they are held
HELD = ("old_data", "new_data")  # the versions' fields, kept for ``history``, never shown
Version = tuple[dict[str, Any] | None, str | None]  # a file's fields, or why there are none


def _own_fields(change: ChildChange | RecordChange) -> dict[str, Any]:
    """A change's plain fields as JSON keys, in declaration order."""
    return {
        f.name: getattr(change, f.name)
        for f in dataclasses.fields(change)
        if f.name not in NESTED + HELD
    }


@dataclass
class ChildChange:
    kind: str
    id: str
    change: str  # added, removed, edited
    summary: str = ""
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    problem: str | None = None  # why this version cannot be read, as for a record
    problem_before: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**_own_fields(self), "fields": [field_json(f) for f in self.fields]}

    def line(self) -> str:
        text = f"{self.kind} {self.change} {self.id}"
        told = problem_line(self.problem_before, self.problem, self.change)
        if told:
            text += f": file {told}"
        elif self.summary:
            text += f": {self.summary}"
        elif self.fields:
            text += ": " + "; ".join(_field_line(f) for f in self.fields)
        return text


@dataclass(kw_only=True)
class RecordChange:
    """What happened to one record between two trees (one commit, or a diff's range).
    The fields stand in the order of its JSON keys."""

    id: str
    kind: str
    label: str = ""  # company or name, for people
    change: str  # created, deleted, moved, changed
    owner_before: str | None = None  # "alice", "pool", ...; None: did not exist
    owner_after: str | None = None
    path: str = ""
    # why the record's file cannot be read after (before) the change: "unreadable:
    # malformed YAML at line 2: ...", "a symlink to ../salesctl.yaml (...)"; None: it can
    problem: str | None = None
    problem_before: str | None = None
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    children: list[ChildChange] = field(default_factory=list)
    old_data: dict[str, Any] | None = None
    new_data: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            **_own_fields(self),
            "fields": [field_json(f) for f in self.fields],
            "children": [c.as_json() for c in self.children],
        }

    def lines(self) -> list[str]:
        """Human lines: the move first, then ``field: old -> new``, then the children."""
        out = []
        if self.change == "created":
            out.append(f"created in {self.owner_after}")
        elif self.change == "deleted":
            out.append(f"deleted from {self.owner_before}")
        elif self.change == "moved":
            out.append(f"moved {self.owner_before} -> {self.owner_after}")
        told = problem_line(self.problem_before, self.problem, self.change)
        if told:
            out.append(f"file {told}")
        if self.change != "created":  # a creation's fields are all new: the diff shows them
            out += [_field_line(f) for f in self.fields]
        out += [c.line() for c in self.children]
        return out


def problem_line(before: str | None, after: str | None, change: str) -> str:
    """What became of a file that cannot be read ("" if both versions can): ``became
    unreadable: ...``, ``still a symlink ...``, ``readable again (was ...)``."""
    if after:
        if change in ("created", "added"):
            return f"is {after}"
        return f"still {after}" if after == before else f"became {after}"
    if before:
        return (
            f"was {before}"
            if change in ("deleted", "removed")
            else f"readable again (was {before})"
        )
    return ""


def field_json(item: tuple[str, Any, Any]) -> dict[str, Any]:
    return {"field": item[0], "old": item[1], "new": item[2]}


def _field_line(item: tuple[str, Any, Any]) -> str:
    return f"{item[0]}: {show_value(item[1])} -> {show_value(item[2])}"


# -- grouping raw changes into record changes -----------------------------------------------


def record_changes(
    git: GitReader,
    changes: Iterable[FileChange],
    *,
    only: str | None = None,
    blobs: dict[str, bytes] | None = None,
) -> list[RecordChange]:
    """Group file changes by record and compare the records' fields (blobs read once, or
    taken from ``blobs``: read for many commits at once, see ``wanted_blobs``)."""
    groups = _by_record(changes, only)
    if blobs is None:
        blobs = git.blobs(_blobs_of(groups))
    return [_record_change(record_id, items, blobs) for record_id, items in groups.items()]


def wanted_blobs(changes: Iterable[FileChange], *, only: str | None = None) -> list[str]:
    """The blobs ``record_changes`` reads for these changes."""
    return [blob for blob in _blobs_of(_by_record(changes, only)) if blob]


def _by_record(
    changes: Iterable[FileChange], only: str | None
) -> dict[str, list[tuple[FileChange, Place]]]:
    groups: dict[str, list[tuple[FileChange, Place]]] = {}
    for change in changes:
        place = place_of(change.path)
        if place.record is None or place.kind is None or (only and place.record != only):
            continue
        groups.setdefault(place.record, []).append((change, place))
    return groups


def _blobs_of(groups: dict[str, list[tuple[FileChange, Place]]]) -> Iterable[str | None]:
    return (
        blob
        for items in groups.values()
        for change, place in items
        for blob, mode in ((change.old_blob, change.old_mode), (change.new_blob, change.new_mode))
        if mode != GITLINK_MODE and (place.special is None or mode == SYMLINK_MODE)
    )


def _record_change(
    record_id: str, items: list[tuple[FileChange, Place]], blobs: dict[str, bytes]
) -> RecordChange:
    kind = items[0][1].kind
    assert kind is not None
    mains = [(c, p) for c, p in items if p.is_main]
    old_main = next(((c, p) for c, p in mains if c.old_blob), None)
    new_main = next(((c, p) for c, p in mains if c.new_blob), None)
    old_owner = _owner_name(old_main[1].owner) if old_main else None
    new_owner = _owner_name(new_main[1].owner) if new_main else None
    relocated = bool(old_main and new_main and old_main[1].owner != new_main[1].owner)
    if relocated and old_owner == new_owner:  # a member's team change: same name, new home
        assert old_main is not None and new_main is not None
        old_owner, new_owner = _with_team(old_main[1].owner), _with_team(new_main[1].owner)
    old_data, old_problem = _version(blobs, old_main[0], old=True) if old_main else (None, None)
    new_data, new_problem = _version(blobs, new_main[0], old=False) if new_main else (None, None)
    if not mains:  # only children changed: the record stayed where it is
        owner = _owner_name(items[0][1].owner)
        old_owner = new_owner = owner
        change = "changed"
    elif old_main is None:
        change = "created"
    elif new_main is None:
        change = "deleted"
    elif relocated:
        change = "moved"
    else:
        change = "changed"
    label_data = new_data or old_data or {}
    result = RecordChange(
        id=record_id,
        kind=kind.name,
        change=change,
        owner_before=old_owner if change != "created" else None,
        owner_after=new_owner if change != "deleted" else None,
        path=(new_main or old_main or items[0])[0].path,
        label=str(
            label_data.get("company") or label_data.get("name") or label_data.get("title") or ""
        ),
        problem=new_problem,
        problem_before=old_problem,
        fields=[] if new_problem else field_changes(old_data, new_data),
        old_data=old_data,
        new_data=new_data,
    )
    result.children = _child_changes(items, blobs)
    return result


def _child_changes(
    items: list[tuple[FileChange, Place]], blobs: dict[str, bytes]
) -> list[ChildChange]:
    """Files under the record's directory, matched by their path inside it."""
    before: dict[str, tuple[FileChange, Place]] = {}
    after: dict[str, tuple[FileChange, Place]] = {}
    for change_, place in items:
        if place.is_main:
            continue
        if change_.old_blob:
            before[place.rel] = (change_, place)
        if change_.new_blob:
            after[place.rel] = (change_, place)
    children = []
    for rel in sorted({*before, *after}):
        old_item, new_item = before.get(rel), after.get(rel)
        place = (new_item or old_item or items[0])[1]
        child_kind = place.file_kind.name if place.file_kind else "file"
        child_id = place.file_id or rel
        if place.special == "attachment":
            child_kind, child_id = "attachment", rel.split("/", 1)[-1]
        old_fields, old_problem = _version(blobs, old_item[0], old=True) if old_item else NONE
        new_fields, new_problem = _version(blobs, new_item[0], old=False) if new_item else NONE
        if old_item and new_item and old_item[0].old_blob == new_item[0].new_blob:
            continue  # moved along with the record, unchanged
        child = ChildChange(child_kind, child_id, "edited")
        child.problem, child.problem_before = new_problem, old_problem
        if old_item is None:
            child.change, child.summary = "added", _summary(new_fields)
        elif new_item is None:
            child.change, child.summary = "removed", _summary(old_fields)
        elif not new_problem:
            child.fields = field_changes(old_fields, new_fields)
        children.append(child)
    return children


NONE: Version = (None, None)


def _version(blobs: dict[str, bytes], change: FileChange, *, old: bool) -> Version:
    """The fields of one side of a change, or why it has none that can be read: a file
    the store refuses (by its git mode, as ``check`` does), or one that does not parse.
    Attachments are not parsed (their blobs are not read): only their mode can tell."""
    blob, mode = (change.old_blob, change.old_mode) if old else (change.new_blob, change.new_mode)
    if not blob:
        return NONE
    if refused_mode(mode):
        if mode != SYMLINK_MODE:
            return None, "a submodule (the store refuses submodules)"
        target = blobs.get(blob)
        to = f" to {_printable(target)}" if target else ""
        return None, f"a symlink{to} (the store refuses symlinks)"
    if blob not in blobs:
        return NONE  # not read (an attachment), or missing from this clone
    fields, problem = read_fields(blobs[blob], change.path)
    return fields, f"unreadable: {problem}" if problem else None


def _printable(raw: bytes) -> str:
    """A symlink's target on one short line, control characters shown as ``?``."""
    text = raw.decode("utf-8", "replace")
    return show_value("".join(c if c.isprintable() else "?" for c in text), 80)


def _summary(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    for name in TEXT_FIELDS:
        if data.get(name):
            return show_value(data[name], 70)
    if data.get("amount") is not None:
        return f"amount {show_value(data['amount'])}"
    return ""


def _owner_name(owner: Owner | None) -> str | None:
    return None if owner is None else str(owner)


def _with_team(owner: Owner | None) -> str:
    """A member's directory named with its team: ``alice (east)``, ``alice (no team)``."""
    return f"{owner} ({owner.team or 'no team'})" if owner and owner.member else str(owner)


def same_member_moved(change: RecordChange) -> bool:
    """Did the record only follow its owner to another team's directory?"""
    before, after = change.owner_before or "", change.owner_after or ""
    return before.endswith(")") and before.split(" (")[0] == after.split(" (")[0]
