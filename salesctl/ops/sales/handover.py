"""``member handover``: everything a member owns goes to a colleague in one commit (人员变动).

When a rep leaves or changes territory, their leads, customers (with contacts, follow-ups
and visits, which live inside the customer's directory), deals, contracts (with payments,
invoices and checklist tasks) and their own tasks move to one colleague, so the team keeps
the whole relationship. Each record moves as ``assign`` would move it and is judged so:
``scopes.check_write`` with ``KIND.assign`` from the old directory to the new, here and in
``check --range`` (a team lead within the team, a director anywhere). With
``leads_to_pool``, open leads go back to the pool instead (released, with the reason).
With ``deactivate``, the member is marked ``active: false`` in salesctl.yaml in the same
commit (as ``member deactivate`` would: the actor needs ``member.edit``, a director's or an
admin's). Personal OKRs and reports stay where they are: they are the member's own record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.model.config import Member
from salesctl.model.kinds import CONTRACT, CUSTOMER, DEAL, LEAD, TASK
from salesctl.ops.org import deactivated_config
from salesctl.ops.records import home_of, validate
from salesctl.ops.sales.ownership import CLOSED_LEAD_STAGES, to_pool
from salesctl.ops.sales.relationship import move_record_dir
from salesctl.store.layout import POOL, Owner, RecordPath, parse_path, record_file
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import CONFIG_FILE, Store, Transaction

HANDED_OVER = (LEAD, CUSTOMER, DEAL, CONTRACT, TASK)


@dataclass
class Handover:
    """What moved: ids per kind, and the open leads that went to the pool instead."""

    member: str
    to: str
    moved: dict[str, list[str]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    deactivated: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "to": self.to,
            "deactivated": self.deactivated,
            "moved": {kind: len(ids) for kind, ids in self.moved.items()},
            "released": self.released,
            "ids": sorted(i for ids in self.moved.values() for i in ids),
        }


def handover(
    store: Store,
    actor: Member,
    member_id: str,
    *,
    to: str,
    leads_to_pool: bool = False,
    deactivate: bool = False,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Move every record ``member_id`` owns to ``to`` (see the module docstring)."""
    config = store.config
    leaving = config.require_member(member_id)
    taking = config.require_member(to, active=True)
    if leaving.id == taking.id:
        raise Invalid(f"{leaving.id} cannot hand over to themselves", "name a colleague with --to")
    target = home_of(config, taking.id)
    # Refused (exit 3) before anything moves; the edited config is validated here too.
    config_text = deactivated_config(store, actor, leaving.id) if deactivate else None
    result = Handover(leaving.id, taking.id, deactivated=deactivate)
    reason = f"{leaving.id} handed over to {taking.id}"
    with store.transaction(actor, "member.handover", opts) as tx:
        for kind in HANDED_OVER:
            for path, data, _problems in store.index.query(kind.name, "owner = ?", [leaving.id]):
                loc = parse_path(path)
                if loc is None or loc.parent is not None:
                    continue  # children move inside their parent's directory
                stage = (data or {}).get("stage")
                if kind is LEAD and leads_to_pool and stage not in CLOSED_LEAD_STAGES:
                    scopes.check_write(
                        config, actor, "lead.release", loc.owner, target=POOL, record=loc.id
                    )
                    to_pool(tx, config, store.read(loc), reason)
                    result.released.append(loc.id)
                    continue
                scopes.check_write(
                    config, actor, f"{kind.name}.assign", loc.owner, target=target, record=loc.id
                )
                _move(tx, loc, target)
                result.moved.setdefault(kind.name, []).append(loc.id)
        count = sum(len(ids) for ids in result.moved.values()) + len(result.released)
        if not count and config_text is None:
            raise Invalid(f"{leaving.id} owns no records", "nothing to hand over")
        tx.summary = f"member.handover: {count} records of {leaving.id} to {taking.id}"
        if config_text is not None:
            tx.write_file(CONFIG_FILE, config_text)
            tx.summary += f"; {leaving.id} deactivated"
    return tx.result(result.as_json())


def _move(tx: Transaction, loc: RecordPath, target: Owner) -> None:
    """Move one record's directory (with its children) to ``target``, as bytes (a contract's
    checklist tasks assigned to the leaving member are reassigned); a lead or customer,
    read from its file, is dated ``assigned`` today, so the reclaim clock starts again for
    its new owner."""
    kind = loc.kind
    move_record_dir(tx, loc, target)
    data = tx.store.read(loc).data if kind in (LEAD, CUSTOMER) else None
    if data:
        new_loc = RecordPath(record_file(target, kind, loc.id), kind, loc.id, target)
        config = tx.store.config
        tx.write(new_loc, validate(config, kind, dict(data, assigned=clock.today()), new_loc.path))
