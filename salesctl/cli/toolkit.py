"""``salesctl toolkit ...``: the shared sales toolkit every member reads (Git LFS for big files)."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

LIST_COLUMNS = ("id", "title", "tags", "file", "size", "author")
ItemArg = Annotated[str, typer.Argument(help="A toolkit item's id or id prefix (TK-7KQ2).")]

app = make_app(name="toolkit", help="The shared sales toolkit: decks, price sheets, scripts.")


@command(app, "init")
def toolkit_init(*, out: Write) -> None:
    """Send toolkit files through Git LFS: write the .gitattributes rule and install git-lfs
    in the store (directors; needs git-lfs installed).

    Example: salesctl toolkit init --dry-run
    """
    from salesctl.ops.sales.toolkit import init

    out.report(out.call(init), "set up")


@command(app, "add")
def toolkit_add(
    file: Annotated[str, typer.Argument(help="The file to share.")],
    title: Annotated[str, typer.Option(help="What it is.")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag to find it by (repeatable).")
    ] = None,
    *,
    out: Write,
) -> None:
    """Share a file with everyone (team leads and directors).

    Example: salesctl --as liuyang toolkit add salesctl.yaml --title Settings --tag setup
    """
    from salesctl.ops.sales.toolkit import add

    out.report(out.call(add, file, title=title, tags=tag or ()), "added")


@command(app, "list")
def toolkit_list(
    tag: Annotated[str | None, typer.Option(help="Only items with this tag.")] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Every toolkit item, newest first (every member reads them).

    Example: salesctl toolkit list --tag pricing
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.toolkit import items

    emit(items(s.store, tag), fmt, table_columns(fmt, LIST_COLUMNS))


@command(app, "search")
def toolkit_search(
    words: Annotated[list[str], typer.Argument(help="Words the item must hold (all of them).")],
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Find items by title, tags and the text of Markdown and plain-text files (not PDFs).

    Example: salesctl toolkit search pricing
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.toolkit import search

    emit(search(s.store, words), fmt, table_columns(fmt, LIST_COLUMNS))


@command(app, "get")
def toolkit_get(
    item: ItemArg,
    out_path: Annotated[
        str | None,
        typer.Option(
            "--out", help="Where to save it, outside the store (default: its file name here)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a file of that name (not the store's).")
    ] = False,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Save an item's file (checked against its sha256).

    Example: salesctl toolkit get TK-7KQ2 --out ~/settings-copy.yaml
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.toolkit import get

    emit(get(s.store, item, out_path, force=force), fmt)


@command(app, "remove")
def toolkit_remove(item: ItemArg, *, out: Write) -> None:
    """Remove an item and its file (team leads and directors).

    Example: salesctl --as liuyang toolkit remove TK-7KQ2
    """
    from salesctl.ops.sales.toolkit import remove

    out.report(out.call(remove, item), "removed")
