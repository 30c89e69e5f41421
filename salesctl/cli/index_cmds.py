"""``salesctl index status`` and ``salesctl index rebuild``: the derived index, inspected and
rebuilt. Every command keeps the index fresh by itself; these are for looking and repairing."""

from __future__ import annotations

from typing import Any

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app(name="index", help="The derived index: status, rebuild.")


@command(app, "status")
def index_status(fmt: FormatOpt = None, *, s: Session) -> None:
    """Look at every record file and directory, bring the index up to date, and show
    what it holds.

    Counts records by kind, unreadable files and files with problems, untracked record
    files, and strays (files under the record directories that are not records). The
    look picks up hand edits even when `git config salesctl.worktreeCheck none` makes
    other commands trust commits only.

    Example: salesctl index status
    """
    from salesctl.cli._output import emit

    result = s.store.index.status()
    if _is_machine(fmt):
        emit(result, fmt)
    else:
        _print_status(result)


@command(app, "rebuild")
def index_rebuild(fmt: FormatOpt = None, *, s: Session) -> None:
    """Throw the index away and build it again from every record file.

    Never needed for correctness (every command brings the index up to date, and a
    damaged database is rebuilt on its own); use it to reclaim space or after moving the
    store between machines. Parses with every core; shows progress on a terminal.

    Example: salesctl index rebuild
    """
    import time

    from salesctl.cli._output import emit

    index = s.store.index
    started = time.perf_counter()
    index.rebuild()
    seconds = time.perf_counter() - started
    result = index.status() | {"seconds": round(seconds, 2)}
    if _is_machine(fmt):
        emit(result, fmt)
        return
    typer.echo(
        f"indexed {result['records']:,} record files in {seconds:.1f} s "
        f"({result['yaml_parser']}); {result['with_problems']:,} with problems, "
        f"{len(result['strays']):,} strays"
    )


def _is_machine(fmt: str | None) -> bool:
    from salesctl.cli._output import default_format

    return (fmt or default_format()) != "table"


def _print_status(result: dict[str, Any]) -> None:
    head = (result["head"] or "no commit")[:10]
    typer.echo(f"index {result['database']} ({(result['size_bytes'] or 0) / 2**20:.1f} MB)")
    typer.echo(f"reflects {head}; work tree check: {result['worktree_check']}")
    typer.echo(f"yaml parser: {result['yaml_parser']}")
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in result["by_kind"].items())
    typer.echo(f"{result['records']:,} record files: {kinds or 'none'}")
    typer.echo(
        f"{result['unreadable']:,} unreadable, {result['with_problems']:,} with problems "
        "(`salesctl check` lists them), "
        f"{result['untracked']:,} untracked"
    )
    for stray in result["strays"]:
        typer.echo(f"stray: {stray['path']}: {stray['reason']}")
