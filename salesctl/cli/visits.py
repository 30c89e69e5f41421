"""``salesctl visit ...``: visits planned, done and cancelled."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt, FromOpt, MemberOpt, RecordArg, ToOpt
from salesctl.cli._session import Session

VISIT_COLUMNS = ("id", "at", "duration", "record", "place", "attendees", "status")
VisitArg = Annotated[str, typer.Argument(help="A visit id or any unique prefix of one (V-7KQ2).")]

app = make_app(name="visit", help="Planned and done visits.")


@command(app, "add")
def visit_add(
    record_id: RecordArg,
    at: Annotated[
        str,
        typer.Option(
            help='When, in the org\'s time zone: "YYYY-MM-DD HH:MM", or a day from today and a '
            'time ("+3d 14:00", "today 16:00"); today or later.'
        ),
    ],
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
    *,
    out: Write,
) -> None:
    """Plan a visit to a customer (or lead); `visit done` records how it went.

    A planned visit starts today or later (one held earlier today may still be added, then
    marked done); record a visit on an earlier day with `followup add RECORD --via visit --at`.

    Example: salesctl visit add C-7KQ2 --at "+3d 14:00" --duration 90m --attendee liuyang
    """
    from salesctl.ops.sales.followups import add_visit

    planned = out.call(
        add_visit, record_id, at=at, duration=duration, place=place, attendees=attendee or (),
        with_me=not without_me, note=note,
    )  # fmt: skip
    out.report(planned, "planned")


@command(app, "done")
def visit_done(
    visit_id: VisitArg,
    text: Annotated[str, typer.Option(help="What came of it.")],
    *,
    out: Write,
) -> None:
    """Mark a planned visit done; it then shows in `followup list`.

    Example: salesctl visit done V-8PQ1 --text "met the CTO; trial agreed"
    """
    _close(out, visit_id, "done", text, "done:")


@command(app, "cancel")
def visit_cancel(
    visit_id: VisitArg,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    *,
    out: Write,
) -> None:
    """Cancel a planned visit (an exported calendar shows it cancelled).

    Example: salesctl visit cancel V-8PQ1 --reason "customer postponed"
    """
    _close(out, visit_id, "cancelled", reason, "cancelled")


def _close(out: Write, visit_id: str, status: str, text: str | None, verb: str) -> None:
    """End a planned visit as done or cancelled, with what came of it or why."""
    from salesctl.ops.sales.followups import close_visit

    out.report(out.call(close_visit, visit_id, status=status, text=text), verb)


@command(app, "list")
def visit_list(
    record_id: Annotated[
        str | None, typer.Argument(help="Only this lead's or customer's visits.")
    ] = None,
    member: MemberOpt = None,
    status: Annotated[str | None, typer.Option(help="planned, done or cancelled.")] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the visits you may see, soonest first (--member: visits they attend).

    Example: salesctl visit list --member zhangwei --status planned --from 2026-11-23
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.followups import list_visits, parse_date

    rows = list_visits(
        s.store, s.actor, record_id=record_id, member=member, status=status,
        start=parse_date(from_, "--from") if from_ is not None else None,
        end=parse_date(to, "--to") if to is not None else None,
    )  # fmt: skip
    emit(rows, fmt, table_columns(fmt, VISIT_COLUMNS))
