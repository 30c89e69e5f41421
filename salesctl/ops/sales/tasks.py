"""Tasks: added tasks, start/done/assign, the list and the board, for every task.

A contract's tasks are files in its directory (``contracts/<K-ID>/tasks/<T-ID>.yaml``,
``record: <K-ID>``), so they travel with the contract and two people completing two tasks
in two clones touch two files. Signing a contract creates a parent task ("Won-deal
checklist") with one subtask per step of the ``won_deal_tasks:`` template, each assigned to
a member of the step's role. A task of one's own (no contract) lives in the assignee's
directory (``.../tasks/<T-ID>/task.yaml``).

The checklist a signing creates, and the steps the money ticks, are ``checklist``'s; here a
checklist (a task with subtasks) is done once its subtasks are, and a step with
``done_when`` not by hand while its condition is false.

Permissions: the assignee may start and finish their own task wherever it lives (finance
completes "Collect payment" in a rep's contract); everything else needs the normal write
scope over the task's directory.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.ids import new_id
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.model.kinds import TASK
from salesctl.ops.records import (
    home_of,
    load_for_write,
    new_record,
    readable,
    record_json,
    validate,
)
from salesctl.ops.sales import checklist
from salesctl.store.layout import RecordPath, child_file, parse_path, record_dir, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

STATUSES = ("todo", "doing", "done")
SHOWN_OPEN = 3  # open subtasks a refused ``task done`` names


def _active(config: Config, member_id: str) -> Member:
    return config.require_member(member_id, active=True)


def _parse_due(text: str | None) -> dt.date | None:
    if text is None or not text.strip():
        return None
    return values.typed_date(text, "--due", clock.today())


def add_task(
    store: Store,
    actor: Member,
    *,
    title: str,
    assignee: str | None = None,
    due: str | None = None,
    parent: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Add a task. With ``parent`` it is a subtask: inside the parent's contract when the
    parent belongs to one (renewal, service visits ... after the won-deal checklist), else
    in the assignee's directory like any task of one's own."""
    config = store.config
    if not title or not title.strip():
        raise Invalid("a task needs --title", "e.g. --title 'Renewal call'")
    who = _active(config, assignee or actor.id)
    due_day = _parse_due(due)
    with store.transaction(actor, "task.add", opts) as tx:
        task_id = new_id(TASK.prefix)
        data: dict[str, Any] = {
            "schema_version": 1,
            "title": title.strip(),
            "assignee": who.id,
            "status": "todo",
            "due": due_day,
            "created": clock.today(),
        }
        parent_task = load_for_write(store, parent, ("task",)) if parent else None
        if parent_task is not None and parent_task.loc.parent is not None:
            contract_id = parent_task.loc.parent
            contract_dir = parent_task.path.rsplit("/", 2)[0]
            owner = parent_task.owner
            data.update(parent=parent_task.id, record=contract_id)
            loc = RecordPath(
                child_file(contract_dir, TASK, task_id), TASK, task_id, owner, parent=contract_id
            )
        else:
            owner = home_of(config, who.id)
            if parent_task is not None:
                data["parent"] = parent_task.id
                if parent_task.data.get("record"):
                    data["record"] = parent_task.data["record"]
            loc = RecordPath(record_file(owner, TASK, task_id), TASK, task_id, owner)
        scopes.check_write(config, actor, "task.add", owner, record=task_id)
        data = validate(
            config, TASK, {k: v for k, v in data.items() if v is not None}, new_record(loc)
        )
        tx.write(loc, data)
        under = f" under {parent_task.id}" if parent_task else ""
        tx.summary = f"task.add: {task_id} ({data['title']}) for {who.id}{under}"
    return tx.result(record_json(Record(loc, data)))


def check_task_write(config: Config, actor: Member, action: str, task: Record) -> None:
    """The assignee may start and finish their own task wherever it lives; anything else
    needs the write scope over the task's directory."""
    if (
        action in ("task.start", "task.done")
        and task.data.get("assignee") == actor.id
        and scopes.action_allowed(config, actor, action)
    ):
        return
    scopes.check_write(config, actor, action, task.owner, record=task.id)


def set_status(
    store: Store,
    actor: Member,
    task_id: str,
    *,
    status: str,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """``task start`` (doing) and ``task done`` (done)."""
    if status not in STATUSES:
        raise Invalid(f"{status!r} is not a task status", f"use one of {', '.join(STATUSES)}")
    action = {"doing": "task.start", "done": "task.done", "todo": "task.reopen"}[status]
    config = store.config
    with store.transaction(actor, action, opts) as tx:
        task = load_for_write(store, task_id, ("task",))
        check_task_write(config, actor, action, task)
        data = dict(task.data)
        if status == "done" and data.get("status") != "done":
            check_subtasks_closed(store, task)
            checklist.check_condition_met(store, task)
        if data.get("status") != status:
            data["status"] = status
            data = validate(config, TASK, data, task.path)
            tx.write(task.loc, data)
            tx.summary = f"{action}: {task.id} ({data['title']})"
    return tx.result(record_json(Record(task.loc, data)))


def check_subtasks_closed(store: Store, task: Record) -> None:
    """Refuse to finish a checklist (any task with subtasks) while a subtask is open."""
    rows = store.index.select("task", ["status"], "json_extract(data, '$.parent') = ?", [task.id])
    still_open = [row[0] for row in rows if row[4] != "done"]
    if not still_open:
        return
    shown = ", ".join(still_open[:SHOWN_OPEN]) + (" ..." if len(still_open) > SHOWN_OPEN else "")
    how = "finish them first with `salesctl task done ID`"
    if task.loc.parent is not None:
        how += "; cancelling the contract closes its checklist"
    raise Invalid(
        f"{task.id} ({task.data.get('title')}): {len(still_open)} subtask(s) still open: {shown}",
        how,
    )


def assign_task(
    store: Store,
    actor: Member,
    task_id: str,
    *,
    to: str,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Give a task to another member. A contract's task stays in the contract; a task of
    one's own moves to the new assignee's directory."""
    config = store.config
    who = _active(config, to)
    with store.transaction(actor, "task.assign", opts) as tx:
        task = load_for_write(store, task_id, ("task",))
        data = dict(task.data, assignee=who.id)
        if task.loc.parent is not None:
            scopes.check_write(config, actor, "task.assign", task.owner, record=task.id)
            loc = task.loc
        else:
            target = home_of(config, who.id)
            scopes.check_write(
                config, actor, "task.assign", task.owner, target=target, record=task.id
            )
            loc = RecordPath(record_file(target, TASK, task.id), TASK, task.id, target)
            if target != task.owner:
                tx.move_dir(task.loc.record_dir, record_dir(target, TASK, task.id))
        data = validate(config, TASK, data, loc.path)
        if data != task.data or loc != task.loc:
            tx.write(loc, data)
            tx.summary = f"task.assign: {task.id} ({data['title']}) to {who.id}"
    return tx.result(record_json(Record(loc, data)))


# -- reading --------------------------------------------------------------------------------


def list_tasks(
    store: Store,
    viewer: Member,
    *,
    mine: bool = False,
    assignee: str | None = None,
    status: str | None = None,
    contract: str | None = None,
) -> list[dict[str, Any]]:
    """Tasks the viewer may see (their scope plus their own), open first, by due date."""
    config = store.config
    sql, args = readable(store, viewer).sql()
    conditions = [sql] if sql else []
    if mine and assignee and assignee != viewer.id:
        raise Invalid("--mine and --assignee disagree", "give one of them")
    who = viewer.id if mine else assignee
    if who is not None:
        config.require_member(who)
        conditions.append("json_extract(data, '$.assignee') = ?")
        args.append(who)
    if status is not None:
        if status not in STATUSES:
            raise Invalid(f"--status {status!r}", f"use one of {', '.join(STATUSES)}")
        conditions.append("json_extract(data, '$.status') = ?")
        args.append(status)
    if contract is not None:
        conditions.append("json_extract(data, '$.record') = ?")
        args.append(store.resolve(contract, ("contract",)).id)
    rows = []
    for path, data, _problems in store.index.query("task", " AND ".join(conditions), args):
        loc = parse_path(path)
        if loc is not None and data is not None:
            rows.append(json_record(loc, data))
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(
        rows,
        key=lambda r: (order.get(r.get("status") or "", 9), r.get("due") or "9999", r["id"]),
    )


def show_task(store: Store, viewer: Member, task_id: str) -> dict[str, Any]:
    loc = store.resolve(task_id, ("task",))
    record = store.read(loc)
    if record.problems and not record.data:
        raise Invalid(str(record.problems[0]), "fix the file by hand, then `salesctl check`")
    if not readable(store, viewer).allows(loc.owner, loc.path):
        raise Forbidden(
            f"{viewer.id} may not read {loc.id}: it belongs to {loc.owner}",
            "members see their scope and the tasks assigned to them",
        )
    result = record_json(record)
    result["subtasks"] = [
        {"id": sub_id, "title": title, "assignee": assignee, "status": status}
        for sub_id, _o, _t, _p, title, assignee, status in store.index.select(
            "task",
            ["title", "assignee", "status"],
            "json_extract(data, '$.parent') = ?",
            [loc.id],
        )
    ]
    return result
