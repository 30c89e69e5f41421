"""The duplicate guard (查重, 撞单): a new lead or customer is checked against every lead and
customer in the store, readable by the actor or not, by the keys of ``model/dupkeys.py``
looked up in the index (``dupkeys``). A match is refused with ``Duplicate``, which names the
existing record's id and owner only, or points a pool record's finder to ``claim``.

``--allow-duplicate --reason TEXT`` overrides it for whoever may take the ``<kind>.duplicate``
action (leads and directors in the built-in roles); the reason is kept in the new record's
``duplicate_reason``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from salesctl import scopes, sealing
from salesctl.errors import Duplicate, Forbidden, Invalid
from salesctl.model.config import Member
from salesctl.model.dupkeys import record_keys, what_matched
from salesctl.store.layout import POOL, Owner
from salesctl.store.records import Record
from salesctl.store.store import Store


@dataclass(frozen=True)
class Holder:
    """An existing record that has one of the keys: only what a refusal may name."""

    key: str
    id: str
    kind: str
    path: str
    owner: Owner
    converted: bool

    def rank(self) -> tuple[bool, bool, str]:
        # A converted lead lives on as its customer: name that one when both match.
        return (self.converted, self.kind != "lead", self.id)


def holders(
    store: Store, keys: Iterable[str], exclude: Iterable[str] = (), *, worktree: bool = False
) -> list[Holder]:
    """Each (key, record) of a lead or customer holding one of ``keys`` (but not the ids
    in ``exclude``), the one to name first: an open lead before a customer, then by id,
    and of one record's keys the first given. Records as committed (and as salesctl wrote
    them); ``worktree``: hand edits not yet committed too."""
    keys, skip = list(dict.fromkeys(keys)), set(exclude)
    if not keys:
        return []
    order = {key: i for i, key in enumerate(keys)}
    # An encrypted store: records this member cannot decrypt hold their keys as keyed
    # hashes (their readers.yaml), so the guard asks for both forms.
    secret = store.dup_secret()
    hashed = {sealing.keyed(secret, key): key for key in keys} if secret else {}
    found = []
    for key, rid, kind, path, owner, team, pool, stage in store.index.duplicate_holders(
        [*keys, *hashed], worktree=worktree
    ):
        key = hashed.get(key, key)
        if rid not in skip:
            place = POOL if pool else Owner(member=owner, team=team)
            found.append(
                Holder(key, rid, kind, path, place, kind == "lead" and stage == "converted")
            )
    return sorted(found, key=lambda h: (h.rank(), order[h.key]))


def first_holders(store: Store, keys: Iterable[str]) -> dict[str, Holder]:
    """Key -> the record to name for it, for many keys at once (an import): one lookup."""
    named: dict[str, Holder] = {}
    found = [
        Holder(key, rid, kind, path, POOL if pool else Owner(member=owner, team=team),
               kind == "lead" and stage == "converted")
        for key, rid, kind, path, owner, team, pool, stage in store.index.duplicate_holders(keys)
    ]  # fmt: skip
    for holder in sorted(found, key=Holder.rank):
        named.setdefault(holder.key, holder)
    return named


def override(
    store: Store, actor: Member, kind: str, allow_duplicate: bool, reason: str | None
) -> str | None:
    """The reason to keep with ``--allow-duplicate``, once the actor may give it; None
    without it. Checked before anything else, so a rep learns at once they may not."""
    if reason is not None and not allow_duplicate:
        raise Invalid("--reason goes with --allow-duplicate", "add --allow-duplicate, or drop it")
    if not allow_duplicate:
        return None
    if not (reason or "").strip():
        raise Invalid(
            "--allow-duplicate needs --reason",
            "say why this is not the same company, e.g. --reason 'another branch'",
        )
    action = f"{kind}.duplicate"
    if not scopes.action_allowed(store.config, actor, action):
        raise Forbidden(
            f"{actor.id} may not add a duplicate {kind} ({action})",
            "ask your team lead or a director to add it with --allow-duplicate",
        )
    return (reason or "").strip()


def refuse_duplicate(
    store: Store,
    kind: str,
    data: dict[str, Any],
    *,
    allowed: str | None,
    exclude: Iterable[str] = (),
) -> dict[str, Any]:
    """``data``, with ``duplicate_reason`` when an allowed duplicate was found; raises
    ``Duplicate`` for a match that was not allowed."""
    keys = record_keys(kind, data, store.config.region)
    found = holders(store, keys, exclude)
    if not found:
        return data
    if allowed is not None:
        return {**data, "duplicate_reason": allowed}
    raise duplicate_error(found[0])


def refuse_duplicate_edit(
    store: Store, record: Record, data: dict[str, Any], *, allowed: str | None
) -> dict[str, Any]:
    """``data``, ``record``'s edited fields, checked as a new record's are for the keys the
    edit adds (a rename to a colleague's customer is the same 撞单 as adding it); keys the
    record had stay as they were allowed. The lead a customer came from, and a converted
    lead's customer, share its keys and do not count."""
    kind = record.kind.name
    if kind not in ("lead", "customer"):
        return data
    region = store.config.region
    had = set(record_keys(kind, record.data, region))
    added = [key for key in record_keys(kind, data, region) if key not in had]
    linked = [record.id, *(record.data.get(k) for k in ("lead", "customer"))]
    found = holders(store, added, [i for i in linked if isinstance(i, str)])
    if not found:
        return data
    if allowed is not None:
        return {**data, "duplicate_reason": allowed}
    raise duplicate_error(found[0], "set it")


def duplicate_error(holder: Holder, verb: str = "add it") -> Duplicate:
    what = what_matched(holder.key)
    this = f"for this {what}" if what == "company" else f"with this {what}"
    if holder.owner.is_pool:
        return Duplicate(
            f"a {holder.kind} {this} already exists in the pool: {holder.id}",
            f"claim it: `salesctl {holder.kind} claim {holder.id}`",
            record_id=holder.id,
            kind=holder.kind,
        )
    return Duplicate(
        f"a {holder.kind} {this} already exists: {holder.id} (owner {holder.owner})",
        f"ask them or their lead; a lead or director may {verb} anyway with "
        "--allow-duplicate --reason TEXT",
        record_id=holder.id,
        kind=holder.kind,
    )
