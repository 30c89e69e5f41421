"""``salesctl followup ...``: what happened with a lead or customer, and what comes next."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt, RecordArg
from salesctl.cli._session import Session

FOLLOWUP_COLUMNS = ("id", "at", "author", "via", "text", "next", "attachments")

app = make_app(name="followup", help="Follow-ups on leads/customers.")


@command(app, "add")
def followup_add(
    record_id: RecordArg,
    text: Annotated[str, typer.Option(help="What happened; @member mentions a colleague.")],
    via: Annotated[
        str | None, typer.Option(help="call, email, wechat, meeting, visit or other.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help='When, "YYYY-MM-DD HH:MM" or e.g. "-2d 10:00" (default: now).'),
    ] = None,
    attach: Annotated[
        list[str] | None, typer.Option("--attach", help="A file to attach (repeatable).")
    ] = None,
    next_: Annotated[
        str | None,
        typer.Option("--next", help="The next planned touch (YYYY-MM-DD, today, +7d)."),
    ] = None,
    stage: Annotated[
        str | None, typer.Option(help="A lead's new stage, in the same commit.")
    ] = None,
    *,
    out: Write,
) -> None:
    """Record a call, email, meeting ... on a lead or customer.

    Example: salesctl followup add C-7KQ2 --text "quote sent, @liuyang" --next +7d
    """
    from salesctl.ops.sales.followups import add_followup

    added = out.call(
        add_followup, record_id, text=text, via=via, at=at, attachments=attach or (),
        next_touch=next_, stage=stage,
    )  # fmt: skip
    out.report(added, "added")


@command(app, "list")
def followup_list(record_id: RecordArg, fmt: FormatOpt = None, *, s: Session) -> None:
    """List a lead's or customer's follow-ups and done visits, newest first.

    Example: salesctl followup list C-7KQ2 --format json
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.followups import list_followups

    rows = list_followups(s.store, s.actor, record_id)
    emit(rows, fmt, table_columns(fmt, FOLLOWUP_COLUMNS))


@command(app, "show")
def followup_show(
    followup_id: Annotated[str, typer.Argument(help="A follow-up id or unique prefix.")],
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Show one follow-up.

    Example: salesctl followup show F-3NDC
    """
    from salesctl.cli._output import emit
    from salesctl.ops.records import show_record

    emit(show_record(s.store, s.actor, followup_id, ("followup",)), fmt)
