"""``salesctl visit ...``: visits planned, done and cancelled."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import make_app
from salesctl.cli._params import DryRunOpt, FormatOpt, MemberOpt, NoCommitOpt
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


app = make_app(name="visit", help="Planned and done visits.")


@app.command("add")
def visit_add(
    ctx: typer.Context,
    record_id: RecordArg,
    at: Annotated[str, typer.Option(help='When, "YYYY-MM-DD HH:MM" in the org\'s time zone.')],
    duration: Annotated[
        str | None, typer.Option(help="How long, e.g. 1h, 45m, 1h30m (default 1h).")
    ] = None,
    place: Annotated[str | None, typer.Option(help="Where.")] = None,
    attendee: Annotated[
        list[str] | None,
        typer.Option("--attendee", help="A member who goes with you (repeatable)."),
    ] = None,
    without_me: Annotated[
        bool, typer.Option("--without-me", help="You plan it but do not go.")
    ] = False,
    note: Annotated[str | None, typer.Option(help="Agenda or preparation notes.")] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Plan a visit to a customer (or lead); `visit done` records how it went.

    Example: salesctl visit add C-7KQ2 --at "2026-11-25 14:00" --duration 90m --attendee liuyang
    """
    from salesctl.ops.sales.followups import add_visit

    s = session(ctx)
    record, tx = add_visit(
        s.store,
        s.actor,
        record_id,
        at=at,
        duration=duration,
        place=place,
        attendees=attendee or (),
        with_me=not without_me,
        note=note,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="planned", dry_run=dry_run, no_commit=no_commit)


@app.command("done")
def visit_done(
    ctx: typer.Context,
    visit_id: VisitArg,
    text: Annotated[str, typer.Option(help="What came of it.")],
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Mark a planned visit done; it then shows in `followup list`.

    Example: salesctl visit done V-8PQ1 --text "met the CTO; trial agreed"
    """
    from salesctl.ops.sales.followups import close_visit

    s = session(ctx)
    record, tx = close_visit(
        s.store,
        s.actor,
        visit_id,
        status="done",
        text=text,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="done:", dry_run=dry_run, no_commit=no_commit)


@app.command("cancel")
def visit_cancel(
    ctx: typer.Context,
    visit_id: VisitArg,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Cancel a planned visit (an exported calendar shows it cancelled).

    Example: salesctl visit cancel V-8PQ1 --reason "customer postponed"
    """
    from salesctl.ops.sales.followups import close_visit

    s = session(ctx)
    record, tx = close_visit(
        s.store,
        s.actor,
        visit_id,
        status="cancelled",
        text=reason,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="cancelled", dry_run=dry_run, no_commit=no_commit)


@app.command("list")
def visit_list(
    ctx: typer.Context,
    record_id: Annotated[
        str | None, typer.Argument(help="Only this lead's or customer's visits.")
    ] = None,
    member: MemberOpt = None,
    status: Annotated[str | None, typer.Option(help="planned, done or cancelled.")] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """List the visits you may see, soonest first (--member: visits they attend).

    Example: salesctl visit list --member zhangwei --status planned --from 2026-11-23
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.followups import list_visits, parse_date

    s = session(ctx)
    rows = list_visits(
        s.store,
        s.actor,
        record_id=record_id,
        member=member,
        status=status,
        start=parse_date(from_, "--from") if from_ else None,
        end=parse_date(to, "--to") if to else None,
    )
    emit(rows, fmt, VISIT_COLUMNS if (fmt or "") in ("", "table") else ())
