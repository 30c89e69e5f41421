"""``salesctl competitor ...``: competitor intelligence every member reads and adds to."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt, SetOpt
from salesctl.cli._session import Session

LIST_COLUMNS = ("id", "name", "aliases", "website")
CompetitorArg = Annotated[
    str, typer.Argument(help="A competitor's name, an alias, or its id (CP-7KQ2).")
]

app = make_app(name="competitor", help="Competitor intelligence: records and notes.")


@command(app, "add")
def competitor_add(
    name: Annotated[str, typer.Option(help="The competitor's name.")],
    alias: Annotated[
        list[str] | None, typer.Option("--alias", help="Another name it goes by (repeatable).")
    ] = None,
    set_: SetOpt = None,
    *,
    out: Write,
) -> None:
    """Add a competitor (team leads and directors); --set website=, strengths=, weaknesses=,
    pricing=.

    Example: salesctl --as liuyang competitor add --name 简道云 --alias Jiandaoyun --set website=https://www.jiandaoyun.com
    """
    from salesctl.ops.sales.competitors import add_competitor

    added = out.call(add_competitor, name=name, aliases=alias or (), sets=set_ or ())
    out.report(added, "added")


@command(app, "list")
def competitor_list(fmt: FormatOpt = None, *, s: Session) -> None:
    """Every competitor the org keeps (every member reads them).

    Example: salesctl competitor list
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.competitors import list_competitors

    emit(list_competitors(s.store), fmt, table_columns(fmt, LIST_COLUMNS))


@command(app, "show")
def competitor_show(competitor: CompetitorArg, fmt: FormatOpt = None, *, s: Session) -> None:
    """A competitor with the deals you may see it in (won against, lost to) and its recent
    notes.

    Example: salesctl competitor show Salesforce --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.competitors import show_competitor

    emit(show_competitor(s.store, s.actor, competitor), fmt)


@command(app, "edit")
def competitor_edit(competitor: CompetitorArg, set_: SetOpt = None, *, out: Write) -> None:
    """Change a competitor's fields (team leads and directors).

    Example: salesctl --as liuyang competitor edit 销售易 --set pricing="from 300/seat/year"
    """
    from salesctl.ops.sales.competitors import edit_competitor

    out.report(out.call(edit_competitor, competitor, sets=set_ or ()), "edited")


@command(app, "note")
def competitor_note(
    competitor: CompetitorArg,
    text: Annotated[str, typer.Option(help="What you learned.")],
    deal: Annotated[str | None, typer.Option(help="The deal it came up in.")] = None,
    *,
    out: Write,
) -> None:
    """Add intel on a competitor (anyone); hooks listening for competitor.note hear of it.

    Example: salesctl competitor note Salesforce --text "quoted 20% off to 华东物流" --deal D-7KQ2
    """
    from salesctl.ops.sales.competitors import add_note

    out.report(out.call(add_note, competitor, text=text, deal=deal), "noted")
