"""``lead merge`` and ``customer merge KEEP OTHER``: fold a duplicate (撞单) into the record
that stays, in one commit.

OTHER's children (follow-ups, visits) and attachments move into KEEP's directory and name
KEEP as their record; KEEP takes every field it lacks from OTHER (but not the facts of
OTHER's own life: its stage, its owner's dates, its conversion or disqualification), unites
tags, participants and (customers) contacts; deals, contracts, tasks and conversion links
that name OTHER are re-pointed to KEEP; OTHER's file is removed and KEEP lists it in
``merged``, which ``history`` follows, so KEEP's history shows OTHER's too. The actor must
be allowed ``<kind>.merge`` (leads and directors) on both records and may write every
record re-pointed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from salesctl import scopes, yamlio
from salesctl.errors import Invalid
from salesctl.model.config import Config, Member
from salesctl.model.kinds import KINDS, Kind
from salesctl.ops.records import load_for_write, record_json, require_readable, validate
from salesctl.store.layout import parse_path
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store, Transaction

# (kind, field) of the records that may name a lead or customer by its id.
REFERENCES = {
    "customer": (("deal", "customer"), ("contract", "customer"), ("task", "record"),
                 ("lead", "customer")),
    "lead": (("task", "record"), ("customer", "lead")),
}  # fmt: skip
UNITED = ("tags", "participants", "merged")  # lists: KEEP's, then what OTHER adds
# KEEP's alone, never taken from OTHER: its schema, why it was allowed as a duplicate, and
# the facts of its own life (stage, owner's dates, a lead's conversion or disqualification).
OWN = ("schema_version", "duplicate_reason", "stage", "stages", "earlier_stages", "created",
       "assigned", "released", "release_reason", "customer", "reason")  # fmt: skip


def merge_records(
    store: Store,
    actor: Member,
    kind_name: str,
    keep_id: str,
    other_id: str,
    *,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Fold ``other_id`` into ``keep_id`` (both leads or both customers); one commit."""
    config = store.config
    action = f"{kind_name}.merge"
    with store.transaction(actor, action, opts) as tx:
        keep = load_for_write(store, keep_id, (kind_name,))
        other = load_for_write(store, other_id, (kind_name,))
        if keep.id == other.id:
            raise Invalid(f"{keep.id} is the same record twice", "name two different records")
        for record in (keep, other):
            require_readable(store, actor, record.loc)
            scopes.check_write(config, actor, action, record.owner, record=record.id)
        data = validate(config, keep.kind, united_fields(keep, other), keep.path)
        _move_children(tx, store, other, keep)
        _repoint(tx, store, config, actor, other.id, keep.id, kind_name)
        tx.write(keep.loc, data)
        tx.delete(other.path)
        tx.mention(other.id)
        tx.summary = f"{action}: {other.id} into {keep.id}"
    return tx.result(record_json(Record(keep.loc, data)))


def united_fields(keep: Record, other: Record) -> dict[str, Any]:
    """KEEP's fields, with what it lacks taken from OTHER and lists united."""
    data = dict(keep.data)
    for name, value in other.data.items():
        if name in OWN or value in (None, "", [], {}):
            continue
        if name in UNITED:
            data[name] = list(dict.fromkeys([*(data.get(name) or []), *value]))
        elif name == "contacts":
            data[name] = _united_contacts(data.get(name) or [], value)
        elif name == "custom":
            data[name] = {**value, **(data.get(name) or {})}
        elif data.get(name) in (None, "", [], {}):
            data[name] = value
    data["merged"] = list(dict.fromkeys([*(data.get("merged") or []), other.id]))
    return data


def _united_contacts(keep: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[Any]:
    from salesctl.ops.sales.customers import _same_contact

    united = list(keep)
    for contact in other:
        if not any(_same_contact(contact, known) for known in united):
            united.append(contact)
    return united


def _move_children(tx: Transaction, store: Store, other: Record, keep: Record) -> None:
    """Everything in OTHER's directory but its own file, into KEEP's: follow-ups and
    visits renamed to KEEP as their record, attachments as they are."""
    root = store.root
    old_dir, new_dir = other.loc.record_dir, keep.loc.record_dir
    for dirpath, _dirs, files in os.walk(root / old_dir):
        for name in sorted(files):
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel == other.path:
                continue
            target = new_dir + rel[len(old_dir) :]
            if (root / target).exists():
                raise Invalid(f"{target} already exists", "run `salesctl check`")
            loc = parse_path(rel)
            if loc is not None and loc.kind.name in ("followup", "visit"):
                child = store.read(loc)
                moved = parse_path(target)
                assert moved is not None  # same layout, another parent directory
                tx.write(moved, {**child.data, "record": keep.id})
            else:
                tx.write_file(target, yamlio.read_regular(Path(dirpath) / name, source=rel))
            tx.delete(rel)


def _repoint(
    tx: Transaction,
    store: Store,
    config: Config,
    actor: Member,
    old_id: str,
    new_id: str,
    kind_name: str,
) -> None:
    """Records that name ``old_id`` name ``new_id`` instead (each one the actor may edit)."""
    for ref_kind, field in REFERENCES[kind_name]:
        kind: Kind = KINDS[ref_kind]
        rows = store.index.query(ref_kind, "json_extract(data, ?) = ?", [f"$.{field}", old_id])
        for path, _data, problems in rows:
            loc = parse_path(path)
            if loc is None or problems:
                continue  # a broken record is `check`'s to report, not ours to rewrite
            scopes.check_write(config, actor, f"{ref_kind}.edit", loc.owner, record=loc.id)
            record = store.read(loc)
            tx.write(loc, validate(config, kind, {**record.data, field: new_id}, path))
            tx.mention(loc.id)
