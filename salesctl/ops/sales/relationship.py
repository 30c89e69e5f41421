"""A customer's whole relationship moves with it when it is assigned (and in a handover).

``customer assign C --to lina`` gives lina the customer's directory (contacts, follow-ups,
visits) and everything that lives with its owner: every deal of the customer, won and lost
too, every contract with its payments, invoices and checklist tasks, and the lead it was
converted from (whose follow-ups are the relationship's first touch). Each record moves as
``KIND.assign`` would, judged by ``scopes.check_write`` here and by ``check --range``, and
is named in the commit so ``history`` finds it. Reports credit the owner's directory, so a
won deal's credit goes with it. A release or claim keeps moving open deals only: the pool
never holds contracts or another rep's results; the converted lead goes with the customer
there too (``move_converted_lead``).
"""

from __future__ import annotations

from salesctl import scopes
from salesctl.model.config import Member
from salesctl.model.kinds import CONTRACT, DEAL, TASK
from salesctl.ops.records import validate
from salesctl.store.layout import Owner, RecordPath, child_file, parse_path, record_dir
from salesctl.store.records import Record
from salesctl.store.store import Transaction

CONVERTED = "converted"


def move_relationship(tx: Transaction, actor: Member, customer: Record, target: Owner) -> list[str]:
    """Stage the move of ``customer``'s deals, contracts and converted lead to ``target``
    (the customer's own directory is moved by the caller); returns the moved ids."""
    store, config = tx.store, tx.store.config
    moved: list[str] = []
    for kind in (DEAL, CONTRACT):
        rows = store.index.query(kind.name, "json_extract(data, '$.customer') = ?", [customer.id])
        for path, _data, _problems in rows:
            loc = parse_path(path)
            if loc is None or loc.parent is not None or loc.owner == target:
                continue
            scopes.check_write(
                config, actor, f"{kind.name}.assign", loc.owner, target=target, record=loc.id
            )
            move_record_dir(tx, loc, target)
            moved.append(loc.id)
    moved += move_converted_lead(tx, actor, customer, target, "lead.assign")
    return moved


def move_converted_lead(
    tx: Transaction, actor: Member, customer: Record, target: Owner, action: str
) -> list[str]:
    """Stage the move of the lead ``customer`` was converted from to ``target``, judged as
    ``action`` (``lead.assign``, ``lead.release``): it goes wherever the customer goes, the
    pool too. Returns its id, or nothing when there is none to move."""
    lead = _converted_lead(tx, customer)
    if lead is None or lead.owner == target:
        return []
    scopes.check_write(tx.store.config, actor, action, lead.owner, target=target, record=lead.id)
    move_record_dir(tx, lead.loc, target)
    return [lead.id]


def _converted_lead(tx: Transaction, customer: Record) -> Record | None:
    """The lead ``customer`` was converted from, if it still sits with the customer's owner
    (a lead elsewhere is someone else's record: it stays)."""
    lead_id = customer.data.get("lead")
    if not isinstance(lead_id, str) or not lead_id:
        return None
    rows = tx.store.index.query("lead", "id = ?", [lead_id])
    for path, data, _problems in rows:
        loc = parse_path(path)
        if (
            loc is not None
            and loc.owner == customer.owner
            and (data or {}).get("stage") == CONVERTED
        ):
            return tx.store.read(loc)
    return None


def move_record_dir(tx: Transaction, loc: RecordPath, target: Owner) -> None:
    """Move one record's directory (its children as they are) and name it in the commit; a
    contract's checklist tasks assigned to the old owner go to the new one (a finance or
    service member's task stays theirs)."""
    new_dir = record_dir(target, loc.kind, loc.id)
    tx.move_dir(loc.record_dir, new_dir)
    tx.mention(loc.id)
    if loc.kind is CONTRACT:
        reassign_checklist(tx, loc, new_dir, target)


def reassign_checklist(tx: Transaction, contract: RecordPath, new_dir: str, target: Owner) -> None:
    """Stage the contract's tasks assigned to its old owner as assigned to ``target``."""
    old, new = contract.owner.member, target.member
    if old is None or new is None or old == new:
        return
    store, config = tx.store, tx.store.config
    for path, data in store.index.children(contract.id, TASK.name):
        if (data or {}).get("assignee") != old:
            continue
        task = parse_path(path)
        if task is None:
            continue
        fields = dict(store.read(task).data, assignee=new)
        new_path = child_file(new_dir, TASK, task.id)
        new_loc = RecordPath(new_path, TASK, task.id, target, parent=contract.id)
        tx.write(new_loc, validate(config, TASK, fields, new_path))
