"""Moving records between owners and the pool (公海): assign, claim, release, reclaim.

A move renames the record's whole directory (its follow-ups, visits and attachments go
with it), so ``git log --follow`` and ``salesctl history`` keep the full story and the new
owner inherits it. The same rules serve leads and customers. Assigning a customer moves
its whole relationship (``relationship.py``: deals, contracts, the converted lead); a
claim or release moves its open deals only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.model.config import Config, Member
from salesctl.ops.participants import supporting_members
from salesctl.ops.records import (
    home_of,
    load_for_write,
    problem_text,
    record_json,
    validate,
)
from salesctl.ops.sales.relationship import move_converted_lead, move_relationship
from salesctl.store.layout import POOL, Owner, RecordPath, record_dir, record_file
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store, Transaction

CLOSED_LEAD_STAGES = ("converted", "disqualified")


def _move(
    tx: Transaction,
    config: Config,
    record: Record,
    target: Owner,
    data: dict[str, Any],
    *,
    open_deals: bool = True,
) -> Record:
    """Stage the move of ``record``'s directory to ``target`` with ``data`` as its new fields
    (a customer's open deals too, unless the caller moves its deals itself)."""
    kind = record.kind
    new_loc = RecordPath(record_file(target, kind, record.id), kind, record.id, target)
    data = validate(config, kind, data, new_loc.path)
    if target != record.owner:
        tx.move_dir(record.loc.record_dir, record_dir(target, kind, record.id))
        if kind.name == "customer" and open_deals:
            _move_open_deals(tx, config, record, target)
    tx.write(new_loc, data)
    return Record(new_loc, data)


def _move_open_deals(tx: Transaction, config: Config, customer: Record, target: Owner) -> None:
    """On a claim or release, a customer's open deals travel with it: whoever owns the
    customer works its deals. Won and lost deals stay with their owner (the pool holds no
    one's results); an assignment moves them too (``relationship.move_relationship``)."""
    closed = {config.won_stage, config.lost_stage}
    rows = tx.store.index.select(
        "deal", ["stage"], "json_extract(data, '$.customer') = ?", [customer.id]
    )
    for deal_id, _owner, _team, _parent, stage in rows:
        if stage in closed:
            continue
        loc = tx.store.resolve(deal_id, ("deal",))
        if loc.owner != target:
            tx.move_dir(loc.record_dir, record_dir(target, loc.kind, deal_id))
            tx.mention(deal_id)


def _active_member(config: Config, member_id: str) -> Member:
    return config.require_member(member_id, active=True)


# An owned record that counts against the pool cap (SQL over the index's records): every
# one but a lead its stage closed; a customer has no stage, a broken file no data.
_CLOSED = ",".join(f"'{stage}'" for stage in CLOSED_LEAD_STAGES)
OPEN_OWNED = f"owner IS NOT NULL AND coalesce(json_extract(data, '$.stage'), '') NOT IN ({_CLOSED})"


def open_owned_count(store: Store, kind: str, member_id: str) -> int:
    """Records of ``kind`` a member owns that still count against the pool cap. Only the
    member's directories are looked at: a claim looked at every lead in the store (87,000
    ``lstat``s in a pool of that size, 0.35 s) to count one rep's."""
    within = scopes.owner_dirs(store.config, [member_id])
    return store.index.count(kind, f"owner = ? AND {OPEN_OWNED}", [member_id], within=within)


def owners_over(store: Store, kind: str, cap: int) -> dict[str, int]:
    """Every member who owns more than ``cap`` records of ``kind`` that count against the pool
    cap (``open_owned_count``), with their count: one query over the whole store (``check``).
    Only members with more than ``cap`` records at all are counted record by record: that
    total the index's lookup answers alone, without reading a record's stage."""
    rows = store.index.execute(
        f"SELECT owner, count(*) FROM records WHERE kind = ? AND {OPEN_OWNED} AND owner IN "
        "(SELECT owner FROM records WHERE kind = ? GROUP BY owner HAVING count(*) > ?) "
        "GROUP BY owner HAVING count(*) > ?",
        [kind, kind, cap, cap],
        kinds=[kind],
    )
    return {str(owner): int(count) for owner, count in rows}


def assign(
    store: Store,
    actor: Member,
    kind: str,
    ids: Sequence[str],
    *,
    to: str,
    participants: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[list[dict[str, Any]]]:
    """Give records to ``to`` (a lead within the team, a director anywhere). A customer
    takes its deals (won and lost too), contracts and converted lead along, each judged as
    its own ``KIND.assign`` and named in the commit."""
    config = store.config
    target_member = _active_member(config, to)
    target = home_of(config, target_member.id)
    given = list(participants)
    extra = supporting_members(config, given, label="--participant", owner=target_member.id)
    moved: list[dict[str, Any]] = []
    unchanged: set[str] = set()
    with store.transaction(actor, f"{kind}.assign", opts) as tx:
        for record in _records(store, kind, ids):
            scopes.check_write(
                config, actor, f"{kind}.assign", record.owner, target=target, record=record.id
            )
            data = dict(record.data)
            if record.owner != target:
                data["assigned"] = clock.today()
            if given:
                data["participants"] = extra
            if record.owner == target and data == record.data:
                moved.append(record_json(record))  # theirs already: no change, no commit
                unchanged.add(record.id)
                continue
            whole = kind == "customer" and record.owner != target
            moved.append(record_json(_move(tx, config, record, target, data, open_deals=not whole)))
            if whole:
                move_relationship(tx, actor, record, target)
        tx.summary = (
            f"{kind}.assign: {_ids([r for r in moved if r['id'] not in unchanged])} to {to}"
        )
    return tx.result(moved)


def claim(
    store: Store,
    actor: Member,
    kind: str,
    ids: Sequence[str],
    *,
    opts: WriteOpts = WRITE,
) -> WriteResult[list[dict[str, Any]]]:
    """Take records from the pool, up to ``pool.max_owned_leads`` open ones (a customer
    with the lead it was converted from, which its release brought along)."""
    config = store.config
    target = home_of(config, actor.id)
    moved: list[dict[str, Any]] = []
    with store.transaction(actor, f"{kind}.claim", opts) as tx:
        records = _records(store, kind, ids)
        for record in records:
            if not record.owner.is_pool:
                raise Invalid(
                    f"{record.id} is not in the pool (owner: {record.owner})",
                    f"ask {record.owner} or their lead to release or assign it",
                )
            scopes.check_write(
                config, actor, f"{kind}.claim", POOL, target=target, record=record.id
            )
        owned = open_owned_count(store, kind, actor.id)
        cap = config.max_owned_leads
        if owned + len(records) > cap:
            raise Forbidden(
                f"{actor.id} owns {owned} open {kind}s; claiming {len(records)} more "
                f"exceeds the cap of {cap}",
                "release or convert some first (pool.max_owned_leads in salesctl.yaml)",
            )
        for record in records:
            data = dict(record.data, assigned=clock.today())
            moved.append(record_json(_move(tx, config, record, target, data)))
            if kind == "customer":
                move_converted_lead(tx, actor, record, target, "lead.claim")
        tx.summary = f"{kind}.claim: {_ids(moved)} by {actor.id}"
    return tx.result(moved)


def release(
    store: Store,
    actor: Member,
    kind: str,
    ids: Sequence[str],
    *,
    reason: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[list[dict[str, Any]]]:
    """Return records to the pool, recording when and why. A customer takes only its open
    deals and the lead it was converted from along: its contracts and won or lost deals stay
    with the owner (the pool never holds contracts; only ``assign`` and ``member handover``
    move a whole relationship)."""
    config = store.config
    moved: list[dict[str, Any]] = []
    with store.transaction(actor, f"{kind}.release", opts) as tx:
        for record in _records(store, kind, ids):
            if record.owner.is_pool:
                raise Invalid(f"{record.id} is already in the pool")
            scopes.check_write(
                config, actor, f"{kind}.release", record.owner, target=POOL, record=record.id
            )
            moved.append(record_json(to_pool(tx, config, record, reason)))
            if kind == "customer":
                move_converted_lead(tx, actor, record, POOL, "lead.release")
        tx.summary = f"{kind}.release: {_ids(moved)}" + (f" ({reason})" if reason else "")
    return tx.result(moved)


def to_pool(tx: Transaction, config: Config, record: Record, reason: str | None) -> Record:
    data = {k: v for k, v in record.data.items() if k not in ("assigned", "release_reason")}
    data["released"] = clock.today()
    if reason:
        data["release_reason"] = reason
    data.pop("participants", None)
    return _move(tx, config, record, POOL, data)


@dataclass(frozen=True)
class IdleRecord:
    id: str
    owner: str
    team: str | None
    last_touch: dt.date
    returns_on: dt.date  # the day reclaim takes it back

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner,
            "team": self.team,
            "last_touch": self.last_touch.isoformat(),
            "returns_on": self.returns_on.isoformat(),
        }


class IdleRecords(list[IdleRecord]):
    """Idle records, plus the broken files that were left out (for a warning)."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[str] = []


def idle_records(
    store: Store, viewer: Member, kind: str, *, idle_days: int, within_days: int = 0
) -> IdleRecords:
    """Owned, open records whose last touch (follow-up, assignment or creation) is old.

    Those at least ``idle_days`` idle now (what a reclaim takes), and with ``within_days``
    also those that reach it within that many days: the early warning lists everything the
    next reclaim would take, not only what falls due later.
    """
    config = store.config
    today = clock.today()
    mine, args = scopes.write_scope(config, viewer, f"{kind}.reclaim").sql()
    rows = store.index.query(kind, " AND ".join(["pool = 0", *([mine] if mine else [])]), args)
    last_followup = store.index.last_touch_by_parent()
    result = IdleRecords()
    for path, data, problems in rows:
        if problems:  # its last touch is unsure, and a reclaim could not write it
            _where, message, field = problems[0]
            result.skipped.append(f"{path}: {problem_text(message, field)}")
            continue
        if data is None or data.get("stage") in CLOSED_LEAD_STAGES:
            continue
        loc = _loc(path)
        touches = [dt.date.fromisoformat(data[k]) for k in ("created", "assigned") if data.get(k)]
        if loc.id in last_followup:
            touches.append(dt.date.fromisoformat(last_followup[loc.id]))
        last = max(touches)
        returns_on = last + dt.timedelta(days=idle_days)
        if returns_on <= today + dt.timedelta(days=max(within_days, 0)):
            assert loc.owner.member is not None
            result.append(IdleRecord(loc.id, loc.owner.member, loc.owner.team, last, returns_on))
    result.sort(key=lambda r: (r.owner, r.returns_on, r.id))
    return result


def reclaim(
    store: Store,
    actor: Member,
    kind: str,
    *,
    idle_days: int | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[IdleRecords]:
    """Return idle records to the pool in one commit (cron-safe: a rerun finds none)."""
    config = store.config
    days = idle_days or config.reclaim_after_days
    if days < 1:
        raise Invalid("--idle-days must be at least 1")
    if not scopes.action_allowed(config, actor, f"{kind}.reclaim"):
        raise Forbidden(
            f"{actor.id} ({actor.role}) may not {kind}.reclaim", "run it as a lead or director"
        )
    with store.transaction(actor, f"{kind}.reclaim", opts) as tx:
        idle = idle_records(store, actor, kind, idle_days=days)
        for item in idle:
            record = load_for_write(store, item.id, (kind,))
            scopes.check_write(
                config, actor, f"{kind}.reclaim", record.owner, target=POOL, record=record.id
            )
            to_pool(tx, config, record, f"no follow-up for {days} days")
            if kind == "customer":  # as release takes it: the lead goes where its customer goes
                move_converted_lead(tx, actor, record, POOL, "lead.reclaim")
        tx.summary = f"{kind}.reclaim: {len(idle)} idle for {days}+ days back to the pool"
    return tx.result(idle)


def _loc(path: str) -> RecordPath:
    from salesctl.store.layout import parse_path

    loc = parse_path(path)
    assert loc is not None
    return loc


def _records(store: Store, kind: str, ids: Sequence[str]) -> list[Record]:
    """The records ``ids`` name, each once however many ids or prefixes name it (loaded for
    writing, under the caller's lock)."""
    if not ids:
        raise Invalid("no ids given", "pass one or more record ids")
    found: dict[str, Record] = {}
    for text in dict.fromkeys(i.upper() for i in ids):
        loc = store.resolve(text, (kind,))
        if loc.id not in found:
            found[loc.id] = load_for_write(store, loc.id, (kind,))
    return list(found.values())


def _ids(rows: list[dict[str, Any]]) -> str:
    ids = [r["id"] for r in rows]
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def group_by_owner(items: Iterable[IdleRecord]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        grouped[item.owner].append(item.as_json())
    return dict(grouped)
