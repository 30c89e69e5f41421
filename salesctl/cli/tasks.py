"""``salesctl task ...``: the won-deal checklists and everyone's to-dos, and the board."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from salesctl.cli._commands import make_app
from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import report_change, session

LIST_COLUMNS = ("id", "title", "assignee", "status", "due", "role", "record", "parent")
TaskArg = Annotated[str, typer.Argument(help="A task id or any unique prefix of one (T-7KQ2).")]


app = make_app(name="task", help="Tasks and won-deal checklists; --board.")


@app.command("list")
def task_list(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to you.")] = False,
    assignee: Annotated[str | None, typer.Option(help="Only this member's tasks.")] = None,
    status: Annotated[str | None, typer.Option(help="todo, doing or done.")] = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract's tasks.")] = None,
    board: Annotated[
        bool, typer.Option("--board", help="Columns todo / doing / done (the kanban).")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """List the tasks you may see and those assigned to you, open ones first.

    Example: salesctl task list --mine --board
    """
    from salesctl.cli._output import default_format, emit
    from salesctl.ops.sales.tasks import board as columns
    from salesctl.ops.sales.tasks import list_tasks

    s = session(ctx)
    rows = list_tasks(
        s.store, s.actor, mine=mine, assignee=assignee, status=status, contract=contract
    )
    fmt = fmt or default_format()
    if not board:
        emit(rows, fmt, LIST_COLUMNS if fmt == "table" else ())
    elif fmt != "table":
        emit(columns(rows), fmt)
    else:
        _print_board(columns(rows))


@app.command("show")
def task_show(ctx: typer.Context, task_id: TaskArg, fmt: FormatOpt = None) -> None:
    """Show one task with its subtasks.

    Example: salesctl task show T-7KQ2
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.tasks import show_task

    s = session(ctx)
    emit(show_task(s.store, s.actor, task_id), fmt)


@app.command("add")
def task_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="What needs doing.")],
    assignee: Annotated[str | None, typer.Option(help="Who does it (default: you).")] = None,
    due: Annotated[str | None, typer.Option(help="Due date (YYYY-MM-DD, today, +3d).")] = None,
    parent: Annotated[
        str | None,
        typer.Option(help="Make it a subtask (e.g. of a contract's won-deal checklist)."),
    ] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Add a task; with --parent it joins that checklist in the contract.

    Example: salesctl task add --parent T-9XD1 --title "Renewal call" --due 2027-10-01
    """
    from salesctl.ops.sales.tasks import add_task

    s = session(ctx)
    record, tx = add_task(
        s.store,
        s.actor,
        title=title,
        assignee=assignee,
        due=due,
        parent=parent,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="added", dry_run=dry_run, no_commit=no_commit)


def _status(
    ctx: typer.Context,
    task_id: str,
    status: str,
    verb: str,
    fmt: str | None,
    no_commit: bool,
    dry_run: bool,
) -> None:
    from salesctl.ops.sales.tasks import set_status

    s = session(ctx)
    record, tx = set_status(
        s.store, s.actor, task_id, status=status, commit=not no_commit, dry_run=dry_run
    )
    report_change(record, tx, fmt, verb=verb, dry_run=dry_run, no_commit=no_commit)


@app.command("start")
def task_start(
    ctx: typer.Context,
    task_id: TaskArg,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Move a task to doing (its assignee may, wherever the task lives).

    Example: salesctl task start T-7KQ2
    """
    _status(ctx, task_id, "doing", "started", fmt, no_commit, dry_run)


@app.command("done")
def task_done(
    ctx: typer.Context,
    task_id: TaskArg,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Mark a task done (its assignee may, wherever the task lives).

    Example: salesctl --as zhaomin task done T-7KQ2
    """
    _status(ctx, task_id, "done", "completed", fmt, no_commit, dry_run)


@app.command("assign")
def task_assign(
    ctx: typer.Context,
    task_id: TaskArg,
    to: Annotated[str, typer.Option("--to", help="The new assignee.")],
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Give a task to another member.

    Example: salesctl --as liuyang task assign T-7KQ2 --to lina
    """
    from salesctl.ops.sales.tasks import assign_task

    s = session(ctx)
    record, tx = assign_task(
        s.store, s.actor, task_id, to=to, commit=not no_commit, dry_run=dry_run
    )
    report_change(record, tx, fmt, verb=f"assigned to {to}:", dry_run=dry_run, no_commit=no_commit)


def _print_board(columns: dict[str, list[dict[str, Any]]]) -> None:
    """The kanban: one column per status, a card per task (short id, title, who, due)."""
    from itertools import zip_longest

    from tabulate import tabulate

    def card(task: dict[str, Any]) -> str:
        due = f" due {task['due']}" if task.get("due") else ""
        return f"{task['id'][:8]} {task.get('title')} @{task.get('assignee')}{due}"

    names = list(columns)
    cells = [[card(t) for t in columns[n]] for n in names]
    table = [list(row) for row in zip_longest(*cells, fillvalue="")]
    headers = [f"{n} ({len(columns[n])})" for n in names]
    typer.echo(tabulate(table, headers=headers, tablefmt="simple", disable_numparse=True))
