"""``salesctl calendar export``: visits and follow-up dates as an iCalendar file."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import make_app
from salesctl.cli._session import session

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


app = make_app(name="calendar", help="iCalendar export.")


@app.command("export")
def calendar_export(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option(help="Whose calendar (default: yours).")] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    out: Annotated[
        str | None, typer.Option("--out", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Export visits and planned follow-ups as iCalendar (.ics) for calendar apps.

    Re-exporting keeps each event's UID, so importing again updates events in place.

    Example: salesctl calendar export --member zhangwei --from 2026-11-01 --out zhangwei.ics
    """
    import sys
    from pathlib import Path

    from salesctl.cli._output import info
    from salesctl.ops.sales.calendar import export_calendar
    from salesctl.ops.sales.followups import parse_date

    s = session(ctx)
    result = export_calendar(
        s.store,
        s.actor,
        member=member,
        start=parse_date(from_, "--from") if from_ else None,
        end=parse_date(to, "--to") if to else None,
    )
    for skipped in result.skipped:
        info(f"warning: skipped {skipped} (see `salesctl check`)")
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return
    Path(out).write_bytes(result.data)
    info(f"wrote {result.events} event(s) to {out}")
