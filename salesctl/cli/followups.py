"""``salesctl followup ...``: what happened with a lead or customer, and what comes next."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import make_app
from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import report_change, session

FOLLOWUP_COLUMNS = ("id", "at", "author", "via", "text", "next", "attachments")
VISIT_COLUMNS = ("id", "at", "duration", "record", "place", "attendees", "status")
RecordArg = Annotated[
    str, typer.Argument(help="A lead or customer id, or any unique prefix of one.")
]
VisitArg = Annotated[str, typer.Argument(help="A visit id or any unique prefix of one (V-7KQ2).")]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="From this date (YYYY-MM-DD, today, -2w).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Up to this date, inclusive.")]


app = make_app(name="followup", help="Follow-ups on leads/customers.")


@app.command("add")
def followup_add(
    ctx: typer.Context,
    record_id: RecordArg,
    text: Annotated[str, typer.Option(help="What happened; @member mentions a colleague.")],
    via: Annotated[
        str | None, typer.Option(help="call, email, wechat, meeting, visit or other.")
    ] = None,
    at: Annotated[str | None, typer.Option(help='When, "YYYY-MM-DD HH:MM" (default: now).')] = None,
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
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Record a call, email, meeting ... on a lead or customer.

    Example: salesctl followup add C-7KQ2 --text "quote sent, @liuyang" --next +7d
    """
    from salesctl.ops.sales.followups import add_followup

    s = session(ctx)
    record, tx = add_followup(
        s.store,
        s.actor,
        record_id,
        text=text,
        via=via,
        at=at,
        attachments=attach or (),
        next_touch=next_,
        stage=stage,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="added", dry_run=dry_run, no_commit=no_commit)


@app.command("list")
def followup_list(ctx: typer.Context, record_id: RecordArg, fmt: FormatOpt = None) -> None:
    """List a lead's or customer's follow-ups and done visits, newest first.

    Example: salesctl followup list C-7KQ2 --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.followups import list_followups

    s = session(ctx)
    rows = list_followups(s.store, s.actor, record_id)
    emit(rows, fmt, FOLLOWUP_COLUMNS if (fmt or "") in ("", "table") else ())


@app.command("show")
def followup_show(
    ctx: typer.Context,
    followup_id: Annotated[str, typer.Argument(help="A follow-up id or unique prefix.")],
    fmt: FormatOpt = None,
) -> None:
    """Show one follow-up.

    Example: salesctl followup show F-3NDC
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.followups import show_followup

    s = session(ctx)
    emit(show_followup(s.store, s.actor, followup_id), fmt)
