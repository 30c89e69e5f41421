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
    *,
    s: Session,
) -> None:
    """Export visits and planned follow-ups as iCalendar (.ics) for calendar apps.

    Re-exporting keeps each event's UID, so importing again updates events in place.

    Example: salesctl calendar export --member zhangwei --from 2026-11-01 --out zhangwei.ics
    """
    import sys
    from pathlib import Path

    from salesctl.cli._output import info
    from salesctl.errors import Invalid
    from salesctl.ops.sales.calendar import export_calendar
    from salesctl.ops.sales.followups import parse_date

    result = export_calendar(
        s.store, s.actor, member=member,
        start=parse_date(from_, "--from") if from_ is not None else None,
        end=parse_date(to, "--to") if to is not None else None,
    )  # fmt: skip
    for skipped in result.skipped:
        info(f"warning: skipped {skipped} (see `salesctl check`)")
    for skipped in result.unplaceable:
        info(f"warning: skipped {skipped}")
    if out_file is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(out_file).write_bytes(result.data)
    except OSError as exc:  # as `toolkit get --out` says it
        raise Invalid(
            f"--out {out_file}: {exc.strerror}", "give --out a path you may write"
        ) from None
    info(f"wrote {result.events} event(s) to {out_file}")
