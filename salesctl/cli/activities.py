"""``salesctl followup ...``, ``salesctl visit ...`` and ``salesctl calendar export``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

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


def make_followups(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("add")
    def add(
        ctx: typer.Context,
        record_id: RecordArg,
        text: Annotated[str, typer.Option(help="What happened; @member mentions a colleague.")],
        via: Annotated[
            str | None, typer.Option(help="call, email, wechat, meeting, visit or other.")
        ] = None,
        at: Annotated[
            str | None, typer.Option(help='When, "YYYY-MM-DD HH:MM" (default: now).')
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
    def list_(ctx: typer.Context, record_id: RecordArg, fmt: FormatOpt = None) -> None:
        """List a lead's or customer's follow-ups and done visits, newest first.

        Example: salesctl followup list C-7KQ2 --format json
        """
        from salesctl.cli._output import emit
        from salesctl.ops.sales.followups import list_followups

        s = session(ctx)
        rows = list_followups(s.store, s.actor, record_id)
        emit(rows, fmt, FOLLOWUP_COLUMNS if (fmt or "") in ("", "table") else ())

    @app.command("show")
    def show(
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

    return app


def make_visits(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("add")
    def add(
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
    def done(
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
    def cancel(
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
    def list_(
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

    return app


def make_calendar(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("export")
    def export(
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

    return app
