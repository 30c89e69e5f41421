"""``salesctl dupes``: leads and customers already in the store that look like one company
(撞单): the same normalised company name, phone, email or company email domain: the keys of
``model/dupkeys.py``, read from the index's ``dupkeys`` (what the duplicate guard looks up).

Records are grouped when they share any key (a group may be linked through several). A
converted lead is not a duplicate of the customer it became. The viewer sees the groups
that hold at least one record they may read; of a record they may not read they see only
its id, kind and owner, never its fields (which is what they need to ask its owner).
"""

from __future__ import annotations

from typing import Any

from salesctl import scopes
from salesctl.model.config import Config, Member
from salesctl.model.kinds import kind_of_id
from salesctl.store.layout import POOL, Owner
from salesctl.store.store import Store


def suspected_duplicates(store: Store, viewer: Member) -> list[dict[str, Any]]:
    """Groups of two or more records that share a duplicate key, largest first."""
    config = store.config
    parent: dict[str, str] = {}
    holder: dict[str, Owner] = {}
    names: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for key, record_id, kind, _path, owner, team, pool, stage, name in store.index.duplicate_keys():
        if kind == "lead" and stage == "converted":
            continue  # the customer it became carries the relationship on
        holder[record_id] = POOL if pool else Owner(member=owner, team=team)
        parent.setdefault(record_id, record_id)
        if name:
            names.setdefault(record_id, str(name))
        other = by_key.setdefault(key, record_id)
        _join(parent, record_id, other)
    groups: dict[str, list[str]] = {}
    for record_id in parent:
        groups.setdefault(_root(parent, record_id), []).append(record_id)
    result = []
    for members in groups.values():
        if len(members) < 2:
            continue
        shown = [_shown(config, viewer, i, holder[i], names.get(i)) for i in sorted(members)]
        if any("name" in r for r in shown):
            result.append({"records": shown})
    return sorted(result, key=lambda g: (-len(g["records"]), g["records"][0]["id"]))


def _shown(
    config: Config, viewer: Member, record_id: str, owner: Owner, name: str | None
) -> dict[str, Any]:
    kind = kind_of_id(record_id)
    row: dict[str, Any] = {"id": record_id, "kind": kind.name if kind else None}
    row["owner"] = owner.member  # null in the pool, as in every record's JSON (SPEC §5)
    if scopes.may_read(config, viewer, owner):
        row["name"] = name
    return row


def _root(parent: dict[str, str], item: str) -> str:
    while parent[item] != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def _join(parent: dict[str, str], a: str, b: str) -> None:
    parent.setdefault(b, b)
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
