"""``salesctl task ...``: the won-deal checklists and everyone's to-dos, and the board."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

LIST_COLUMNS = ("id", "title", "assignee", "status", "due", "role", "record", "parent")
TaskArg = Annotated[str, typer.Argument(help="A task id or any unique prefix of one (T-7KQ2).")]

app = make_app(name="task", help="Tasks and won-deal checklists; --board.")


@command(app, "list")
def task_list(
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to you.")] = False,
    assignee: Annotated[str | None, typer.Option(help="Only this member's tasks.")] = None,
    status: Annotated[str | None, typer.Option(help="todo, doing or done.")] = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract's tasks.")] = None,
    board: Annotated[
        bool, typer.Option("--board", help="The kanban: columns by --by, a card per task.")
    ] = False,
    by: Annotated[
        str,
        typer.Option(
            help="Board columns: status (todo / doing / done) or assignee (one per person, "
            "each checklist one card with its subtasks)."
        ),
    ] = "status",
    team: Annotated[
        str | None, typer.Option(help="With --by assignee: this team's columns.")
    ] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the tasks you may see and those assigned to you, open ones first.

    Example: salesctl task list --board --by assignee
    """
    from salesctl.cli._output import default_format, emit, table_columns
    from salesctl.errors import Invalid
    from salesctl.ops.sales.task_board import people_board, status_board
    from salesctl.ops.sales.tasks import list_tasks

    if by not in ("status", "assignee"):
        raise Invalid(f"--by {by!r}", "use status or assignee")
    rows = list_tasks(
        s.store, s.actor, mine=mine, assignee=assignee, status=status, contract=contract
    )
    fmt = fmt or default_format()
    if not board:
        emit(rows, fmt, table_columns(fmt, LIST_COLUMNS))
        return
    columns = status_board(rows) if by == "status" else people_board(s.store, s.actor, rows, team)
    if fmt != "table":
        emit(columns, fmt)
    else:
        _print_board(columns)


@command(app, "show")
def task_show(task_id: TaskArg, fmt: FormatOpt = None, *, s: Session) -> None:
    """Show one task with its subtasks.

    Example: salesctl task show T-7KQ2
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.tasks import show_task

    emit(show_task(s.store, s.actor, task_id), fmt)


@command(app, "add")
def task_add(
    title: Annotated[str, typer.Option(help="What needs doing.")],
    assignee: Annotated[str | None, typer.Option(help="Who does it (default: you).")] = None,
    due: Annotated[str | None, typer.Option(help="Due date (YYYY-MM-DD, today, +3d).")] = None,
    parent: Annotated[
        str | None,
        typer.Option(help="Make it a subtask (e.g. of a contract's won-deal checklist)."),
    ] = None,
    *,
    out: Write,
) -> None:
    """Add a task; with --parent it joins that checklist in the contract.

    Example: salesctl task add --parent T-9XD1 --title "Renewal call" --due 2027-10-01
    """
    from salesctl.ops.sales.tasks import add_task

    added = out.call(add_task, title=title, assignee=assignee, due=due, parent=parent)
    out.report(added, "added")


def _status(out: Write, task_id: str, status: str, verb: str) -> None:
    from salesctl.ops.sales.tasks import set_status

    out.report(out.call(set_status, task_id, status=status), verb)


@command(app, "start")
def task_start(task_id: TaskArg, *, out: Write) -> None:
    """Move a task to doing (its assignee may, wherever the task lives).

    Example: salesctl task start T-7KQ2
    """
    _status(out, task_id, "doing", "started")


@command(app, "done")
def task_done(task_id: TaskArg, *, out: Write) -> None:
    """Mark a task done (its assignee may, wherever the task lives).

    A checklist waits for its subtasks; a step the money ticks ("Collect payment", "Issue
    invoice") waits for the payment or invoice that completes the contract's amount.

    Example: salesctl --as zhaomin task done T-7KQ2
    """
    _status(out, task_id, "done", "completed")


@command(app, "assign")
def task_assign(
    task_id: TaskArg,
    to: Annotated[str, typer.Option("--to", help="The new assignee.")],
    *,
    out: Write,
) -> None:
    """Give a task to another member.

    Example: salesctl --as liuyang task assign T-7KQ2 --to lina
    """
    from salesctl.ops.sales.tasks import assign_task

    out.report(out.call(assign_task, task_id, to=to), f"assigned to {to}:")


def _print_board(columns: dict[str, list[dict[str, Any]]]) -> None:
    """The kanban: one column per status or person, a card per task (short id, title, who,
    due, ! when overdue; a checklist's progress and its subtasks under it)."""
    from itertools import zip_longest

    from tabulate import tabulate

    def line(task: dict[str, Any]) -> str:
        due = f" due {task['due']}" if task.get("due") else ""
        late = " !" if task.get("overdue") else ""
        return f"{task['id'][:8]} {task.get('title')} @{task.get('assignee')}{due}{late}"

    def card(task: dict[str, Any]) -> str:
        head = line(task)
        if task.get("progress"):
            head += f" ({task['progress']})"
        if task.get("customer"):
            head += f"\n  {task['customer']}"
        mark = {"done": "[x]", "doing": "[~]"}
        subtasks = [
            f"  {mark.get(t.get('status'), '[ ]')} {line(t)}" for t in task.get("subtasks") or []
        ]
        return "\n".join([head, *subtasks])

    names = list(columns)
    cells = [[card(t) for t in columns[n]] for n in names]
    table = [list(row) for row in zip_longest(*cells, fillvalue="")]
    headers = [f"{n} ({len(columns[n])})" for n in names]
    typer.echo(tabulate(table, headers=headers, tablefmt="simple", disable_numparse=True))
