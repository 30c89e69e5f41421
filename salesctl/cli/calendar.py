"""``salesctl calendar export``: visits and follow-up dates as an iCalendar file."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import FromOpt, ToOpt
from salesctl.cli._session import Session

app = make_app(name="calendar", help="iCalendar export.")


@command(app, "export")
def calendar_export(
    member: Annotated[str | None, typer.Option(help="Whose calendar (default: yours).")] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    # Not ``out``: that name is ``@command``'s write options, which export has none of.
    out_file: Annotated[
        str | None, typer.Option("--out", help="Write to this file (default: stdout).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a file of that name (not the store's).")
    ] = False,
    *,
    s: Session,
) -> None:
    """Export visits and planned follow-ups as iCalendar (.ics) for calendar apps.

    Re-exporting keeps each event's UID, so importing again updates events in place.
    --out never writes inside the store, nor replaces a file without --force.

    Example: salesctl calendar export --member zhangwei --from 2026-11-01 --out ~/zhangwei.ics
    """
    import sys
    from pathlib import Path

    from salesctl.cli._output import info
    from salesctl.ops.out_files import check_out_file, write_out_file
    from salesctl.ops.sales.calendar import export_calendar
    from salesctl.ops.sales.followups import parse_date

    target = Path(out_file).expanduser() if out_file is not None else None
    if target is not None:  # refused before the work, and again as it is written
        check_out_file(s.store, target, force=force)
    result = export_calendar(
        s.store, s.actor, member=member,
        start=parse_date(from_, "--from") if from_ is not None else None,
        end=parse_date(to, "--to") if to is not None else None,
    )  # fmt: skip
    for skipped in result.skipped:
        info(f"warning: skipped {skipped} (see `salesctl check`)")
    for skipped in result.unplaceable:
        info(f"warning: skipped {skipped}")
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return
    write_out_file(s.store, target, result.data, force=force)
    info(f"wrote {result.events} event(s) to {target}")
