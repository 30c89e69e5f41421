"""The task board (每個人一個欄): one column per person, each won customer one card.

The scenario's team board is one project per sales team with a column per person, where
each won customer is a task and what has to happen for it its subtasks. Here a card is a
task whose parent is not on the board (a won deal's checklist, a to-do of one's own), in
its assignee's column, with the customer's name, its due date, whether it is overdue, and
its subtasks under it with their progress (2/4). Follow-on work for the same customer
(renewal, service) is added as a further subtask: ``task add --parent T``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from salesctl import clock
from salesctl.model.config import Config, Member
from salesctl.ops.sales.contract_rules import customer_name_of
from salesctl.ops.sales.tasks import STATUSES
from salesctl.store.store import Store


def status_board(tasks: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Tasks in kanban columns: todo, doing, done (every task its own card)."""
    columns: dict[str, list[dict[str, Any]]] = {s: [] for s in STATUSES}
    for task in tasks:
        columns.setdefault(str(task.get("status")), []).append(task)
    return columns


def people_board(
    store: Store, viewer: Member, tasks: Sequence[dict[str, Any]], team: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """{member: cards}: a column for each active member of ``team`` (default: the viewer's;
    without one, everyone with a card), in the config's order, then anyone else holding a
    card (a service or finance member on a checklist)."""
    config = store.config
    if team is not None:
        config.require_team(team)
    team = team or viewer.team
    by_id = {t["id"]: t for t in tasks}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for task in tasks:
        parent = str(task.get("parent") or "")
        if parent in by_id:
            children[parent].append(task)
        else:
            roots.append(task)
    names = _customers(store, config, roots)
    today = clock.today().isoformat()
    columns: dict[str, list[dict[str, Any]]] = {
        m.id: [] for m in config.members.values() if m.active and (team is None or m.team == team)
    }
    for task in roots:
        subtasks = children.get(task["id"], [])
        done = sum(1 for s in subtasks if s.get("status") == "done")
        card = dict(task)
        card.update(
            customer=names.get(str(task.get("record") or "")),
            overdue=_overdue(task, today),
            progress=f"{done}/{len(subtasks)}" if subtasks else None,
            subtasks=[dict(s, overdue=_overdue(s, today)) for s in subtasks],
        )
        columns.setdefault(str(task.get("assignee")), []).append(card)
    return columns


def _overdue(task: dict[str, Any], today: str) -> bool:
    due = task.get("due")
    return bool(due) and str(due) < today and task.get("status") != "done"


def _customers(store: Store, config: Config, tasks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """{contract or record id: the customer's name} for the records the cards belong to."""
    records = {str(t["record"]) for t in tasks if t.get("record")}
    if not records:
        return {}
    marks = ",".join("?" * len(records))
    rows = store.index.execute(
        "SELECT id, json_extract(data, '$.customer') FROM records "
        f"WHERE +kind = 'contract' AND id IN ({marks})",
        sorted(records),
        kinds=["contract"],
    )
    return {contract: customer_name_of(store, customer) for contract, customer in rows}
