"""The won-deal checklist: its template, the tasks a signing creates, and the steps the money
ticks.

Signing a contract creates a parent task ("Won-deal checklist") with one subtask per step of
the ``won_deal_tasks:`` template, each assigned by role to whoever of that role has the
fewest open tasks. A step with ``done_when`` is ticked by the money (``complete_steps``: the
payment or invoice that completes the amount), and by nobody's hand while its condition is
false (``check_condition_met``). A ``paid`` step is due when the plan wants the whole amount
(its last instalment), and follows the plan when it changes (``follow_plan``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from salesctl import clock
from salesctl.errors import Invalid
from salesctl.i18n import gettext_for
from salesctl.ids import new_id
from salesctl.model.config import Config
from salesctl.model.kinds import INVOICE, PAYMENT, TASK
from salesctl.ops.records import child_loc, load_for_write, new_record, record_json, validate
from salesctl.ops.sales.contract_rules import amount_total, contract_children, money_entries
from salesctl.reports.money import plain
from salesctl.store.records import Record
from salesctl.store.store import Store, Transaction

OWNER_ROLE = "owner"  # a template step for the contract's owner


def default_won_deal_tasks(lang: str) -> tuple[dict[str, Any], ...]:
    """The built-in checklist, its titles in ``lang`` (written into the task files at
    signing: the file keeps the words it was created with)."""
    _ = gettext_for(lang)
    return (
        {"title": _("Send contract"), "role": OWNER_ROLE},
        {"title": _("Collect payment"), "role": "finance", "done_when": "paid"},
        {"title": _("Activate service"), "role": "service"},
        {"title": _("Issue invoice"), "role": "finance", "done_when": "invoiced"},
    )


TEMPLATE_KEYS = ("title", "role", "done_when", "due_days")
DONE_WHEN = ("paid", "invoiced")


@dataclass(frozen=True)
class Step:
    """One step of the won-deal template."""

    title: str
    role: str
    done_when: str | None = None
    due_days: int | None = None


def won_deal_template(config: Config) -> list[Step]:
    """The configured ``won_deal_tasks:`` (default: send contract, collect payment, activate
    service, issue invoice); ``[]`` turns the checklist off."""
    raw = config.extra.get("won_deal_tasks")
    if raw is None:  # a configured template keeps its own titles
        raw = default_won_deal_tasks(config.lang)
    if not isinstance(raw, list | tuple):
        raise _template_error("won_deal_tasks", "expected a list of {title, role}")
    steps = []
    for i, item in enumerate(raw):
        key = f"won_deal_tasks[{i}]"
        if not isinstance(item, dict):
            raise _template_error(key, "expected {title: ..., role: ...}")
        unknown = [k for k in item if k not in TEMPLATE_KEYS]
        if unknown:
            raise _template_error(
                f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(TEMPLATE_KEYS)})"
            )
        title, role = item.get("title"), item.get("role", OWNER_ROLE)
        if not isinstance(title, str) or not title.strip():
            raise _template_error(f"{key}.title", "is required")
        if role != OWNER_ROLE and role not in config.roles:
            raise _template_error(
                f"{key}.role",
                f"{role!r} is not a role (use owner or one of {', '.join(config.roles)})",
            )
        done_when = item.get("done_when")
        if done_when is not None and done_when not in DONE_WHEN:
            raise _template_error(f"{key}.done_when", f"use one of {', '.join(DONE_WHEN)}")
        due_days = item.get("due_days")
        if due_days is not None and (
            not isinstance(due_days, int) or isinstance(due_days, bool) or due_days < 0
        ):
            raise _template_error(f"{key}.due_days", "expected a whole number of days (0 or more)")
        steps.append(Step(title.strip(), str(role), done_when, due_days))
    return steps


def _template_error(key: str, message: str) -> Invalid:
    return Invalid(f"salesctl.yaml: {key}: {message}", "fix won_deal_tasks: in salesctl.yaml")


def open_task_counts(store: Store) -> Counter[str]:
    """Open (not done) tasks per assignee, across the store."""
    rows = store.index.select(
        "task", ["assignee"], "coalesce(json_extract(data, '$.status'), '') != 'done'"
    )
    return Counter(str(row[4]) for row in rows if row[4])


def pick_assignees(
    config: Config, owner: str, roles: Iterable[str], load: Counter[str]
) -> list[str]:
    """A member for each role: the owner for ``owner``; else an active member with the
    role (those in the owner's team first), the one with the fewest open tasks, ties by
    id; the owner when nobody has the role. ``load`` counts this batch as it goes."""
    owner_team = config.members[owner].team if owner in config.members else None
    result = []
    for role in roles:
        if role == OWNER_ROLE:
            result.append(owner)
            continue
        candidates = [m for m in config.members.values() if m.role == role and m.active]
        same_team = [m for m in candidates if owner_team and m.team == owner_team]
        pool = same_team or candidates
        if not pool:
            result.append(owner)
            continue
        chosen = min(pool, key=lambda m: (load[m.id], m.id)).id
        load[chosen] += 1
        result.append(chosen)
    return result


def won_deal_checklist(
    store: Store,
    tx: Transaction,
    contract: Record,
    *,
    signed: dt.date,
) -> list[dict[str, Any]]:
    """Stage the checklist of a contract being signed: a parent task and one subtask per
    template step, assigned by role, due as ``step_due`` says. Returns the created tasks
    (parent first)."""
    config = store.config
    steps = won_deal_template(config)
    if not steps:
        return []
    owner = contract.owner.member
    if owner is None:
        raise Invalid(f"{contract.id} has no owner", "assign the customer first")
    today = clock.today()
    _ = gettext_for(config.lang)
    assignees = pick_assignees(config, owner, [s.role for s in steps], open_task_counts(store))
    parent_id = new_id(TASK.prefix)
    created = [
        _stage_child(
            tx,
            config,
            contract,
            parent_id,
            {
                "title": _("Won-deal checklist: {title}").format(title=contract.data["title"]),
                "assignee": owner,
                "role": OWNER_ROLE,
            },
            today,
        )
    ]
    plan = contract.data.get("plan") or []
    for step, assignee in zip(steps, assignees, strict=True):
        fields: dict[str, Any] = {
            "title": step.title,
            "assignee": assignee,
            "due": step_due(step, signed, plan),
            "parent": parent_id,
            "role": step.role,
            "done_when": step.done_when,
        }
        created.append(_stage_child(tx, config, contract, new_id(TASK.prefix), fields, today))
    return created


def paid_in_full_by(plan: Sequence[dict[str, Any]] | None) -> dt.date | None:
    """The day a payment plan wants the whole amount: its last instalment's due date."""
    return max((row["due"] for row in plan or ()), default=None)


def step_due(step: Step, signed: dt.date, plan: Sequence[dict[str, Any]]) -> dt.date | None:
    """A step's due date at signing. A ``paid`` step is ticked only by the whole amount, so
    it is due when the plan wants that (``due_days`` serves a contract without a plan);
    any other step ``due_days`` after the signing, if the template gives them."""
    if step.done_when == "paid" and plan:
        return paid_in_full_by(plan)
    if step.due_days is not None:
        return signed + dt.timedelta(days=step.due_days)
    return None


def follow_plan(store: Store, tx: Transaction, contract: Record) -> list[str]:
    """Stage the due date of the contract's open ``paid`` steps as its (changed) plan
    wants the whole amount; a done step keeps its own. Returns their ids."""
    due = paid_in_full_by(contract.data.get("plan"))
    moved = []
    for task in contract_tasks(store, contract):
        data = task.data
        if due is None or data.get("done_when") != "paid" or data.get("status") == "done":
            continue
        if data.get("due") != due:
            tx.write(task.loc, validate(store.config, TASK, dict(data, due=due), task.path))
            moved.append(task.id)
    return moved


def _stage_child(
    tx: Transaction,
    config: Config,
    contract: Record,
    task_id: str,
    fields: dict[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    data = {"schema_version": 1, "status": "todo", "record": contract.id, "created": today}
    data.update({k: v for k, v in fields.items() if v is not None})
    loc = child_loc(contract, TASK, task_id)
    data = validate(config, TASK, data, new_record(loc))
    tx.write(loc, data)
    return record_json(Record(loc, data))


def contract_tasks(store: Store, contract: Record) -> list[Record]:
    """The contract's task files, read from disk (exact, uncommitted ones included)."""
    return [t for t in contract_children(store, contract, TASK) if not t.problems]


def complete_steps(store: Store, tx: Transaction, contract: Record, done_when: str) -> list[str]:
    """Stage ``done`` for the contract's open tasks completed by ``done_when`` (``paid``:
    the full amount received; ``invoiced``: the full amount invoiced). Returns their ids."""
    steps = [t for t in contract_tasks(store, contract) if t.data.get("done_when") == done_when]
    return _mark_done(store, tx, steps)


def close_open_tasks(store: Store, tx: Transaction, contract: Record) -> list[str]:
    """Stage ``done`` for every open task of a contract being cancelled (its checklist and
    what was added under it): nothing is left to send, collect, activate or invoice, and
    ``done`` is the task model's closed state. Returns their ids."""
    return _mark_done(store, tx, contract_tasks(store, contract))


def _mark_done(store: Store, tx: Transaction, tasks: Iterable[Record]) -> list[str]:
    done = []
    for task in tasks:
        if task.data.get("status") != "done":
            data = validate(store.config, TASK, dict(task.data, status="done"), task.path)
            tx.write(task.loc, data)
            done.append(task.id)
    return done


# -- commands -------------------------------------------------------------------------------


def check_condition_met(store: Store, task: Record) -> None:
    """Refuse to tick a ``done_when`` step by hand while its condition is false: the money
    ticks it (``complete_steps``), for everyone, directors too. A cancelled contract owes
    nothing any more, so its steps may be closed."""
    done_when = task.data.get("done_when")
    if done_when not in DONE_WHEN or task.loc.parent is None:
        return
    contract = load_for_write(store, task.loc.parent, ("contract",))
    if contract.data.get("status") == "cancelled":
        return
    paid = done_when == "paid"
    total = contract.data["amount"]
    so_far = amount_total(money_entries(store, contract, PAYMENT if paid else INVOICE))
    if so_far >= total:
        return
    left, label = plain(total - so_far), f"{task.id} ({task.data.get('title')})"
    if paid:
        message = (
            f"{label} is done when {contract.id} is paid in full: {plain(so_far)} of "
            f"{plain(total)} received, {left} still owed"
        )
        how = f"the payment that completes it ticks it: salesctl contract pay {contract.id} "
        how += f"--amount {left}"
    else:
        message = (
            f"{label} is done when {contract.id} is invoiced in full: {plain(so_far)} of "
            f"{plain(total)} invoiced, {left} still to invoice"
        )
        how = f"the invoice that completes it ticks it: salesctl contract invoice {contract.id} "
        how += f"--amount {left} --number NUMBER"
    raise Invalid(message, how)
