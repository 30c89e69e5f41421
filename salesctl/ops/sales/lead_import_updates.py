"""``lead import --update``: rows merged into the existing leads they match, each row held to
the duplicate guard ``lead edit`` applies (``dupguard.refuse_duplicate_edit``): a row may not
give a lead a company, phone or email another lead or customer has, nor one a new row of the
same file or another row's update brings in. The keys are looked up once for the whole file
(``dupguard.first_holders``, the lookup the new rows use), so a large import pays no query per
row. A refused row is reported with its number like any other bad row; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from salesctl import scopes
from salesctl.model.config import Config, Member
from salesctl.model.dupkeys import record_keys, what_matched
from salesctl.model.kinds import LEAD
from salesctl.ops.sales.dupguard import Holder, duplicate_error, holders
from salesctl.ops.sales.ownership import CLOSED_LEAD_STAGES
from salesctl.store.records import Record
from salesctl.store.store import Store


@dataclass(frozen=True)
class RowUpdate:
    """One row's fields for the lead it matched, and the row's duplicate keys."""

    number: int
    fields: dict[str, Any]
    keys: Sequence[str]


@dataclass(frozen=True)
class Update:
    """A lead as the rows that matched it leave it, to write if it changed."""

    record: Record
    data: dict[str, Any]


@dataclass
class KeysTaken:
    """Who already has each key: the store's holders (looked up once), and what the file
    brings in itself: new rows' keys (key -> row number) and updates' added keys."""

    stored: dict[str, Holder]
    new_rows: dict[str, int]
    updated: dict[str, tuple[str, int]]  # key -> (lead id, row number)


def plan_updates(
    store: Store,
    config: Config,
    actor: Member,
    updates: dict[str, list[RowUpdate]],
    taken: KeysTaken,
) -> tuple[list[Update], list[str]]:
    """The leads to rewrite, and one problem per row whose update would make a duplicate
    ('row N: email: ...'). Leads whose stage is closed stay as they are."""
    from salesctl.ops.records import load_for_write, validate

    planned, problems = [], []
    for lead_id, rows in updates.items():
        record = load_for_write(store, lead_id, ("lead",))
        scopes.check_write(config, actor, "lead.edit", record.owner, record=record.id)
        if record.data.get("stage") in CLOSED_LEAD_STAGES:
            continue
        data, row_problems = _merged(store, config, record, rows, taken)
        problems += row_problems
        data = validate(config, LEAD, data, record.path)
        if data != record.data:
            planned.append(Update(record, data))
    return planned, problems


def _merged(
    store: Store, config: Config, record: Record, rows: Sequence[RowUpdate], taken: KeysTaken
) -> tuple[dict[str, Any], list[str]]:
    """``record``'s data with each row's fields merged in, in file order, and the rows that
    give it a key someone else has (keys it had stay, as ``lead edit`` lets them)."""
    data = dict(record.data)
    keys = set(record_keys("lead", data, config.region))
    linked = {record.id, *(v for k in ("lead", "customer") if isinstance(v := data.get(k), str))}
    problems = []
    for row in rows:
        for key, value in row.fields.items():
            if key == "custom":
                data["custom"] = {**(data.get("custom") or {}), **value}
            elif key == "tags":
                data["tags"] = list(dict.fromkeys([*(data.get("tags") or []), *value]))
            elif key != "schema_version":
                data[key] = value
        # a key the lead has after the row and not before is one of the row's own
        added = [k for k in row.keys if k not in keys]
        refusals = [(k, why) for k in added if (why := _taken_by(store, taken, k, linked))]
        if refusals:  # one line a row, as the guard names one match
            key, why = refusals[0]
            problems.append(
                f"row {row.number}: {what_matched(key)}: {why}; the row updates {record.id}: "
                "fix the row, or a lead or director may set it with "
                f"`salesctl lead edit {record.id} --set ... --allow-duplicate --reason TEXT`"
            )
        for key in added:
            taken.updated.setdefault(key, (record.id, row.number))
        keys.update(added)
    return data, problems


def _taken_by(store: Store, taken: KeysTaken, key: str, linked: set[str]) -> str | None:
    """Why ``key`` may not be added to the lead (of ids ``linked``), or None if it may."""
    holder = taken.stored.get(key)
    if holder is not None and holder.id in linked:  # rare: ask for the others too
        holder = next(iter(holders(store, [key], linked)), None)
    if holder is not None:
        return duplicate_error(holder).message
    if key in taken.new_rows:
        return f"row {taken.new_rows[key]} of this file adds a lead with it"
    if key in taken.updated:
        other, number = taken.updated[key]
        return f"row {number} of this file gives it to {other}"
    return None
