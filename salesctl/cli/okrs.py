"""``salesctl okr ...`` and ``salesctl stats ...``."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import make_app
from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import report_change, session

app = make_app(name="okr", help="Objectives and key results.")


kr_app = make_app()
app.add_typer(kr_app, name="kr", help="Key results of an OKR.")


@app.command("add")
def okr_add(
    ctx: typer.Context,
    period: Annotated[str, typer.Option(help="2026-Q4, 2026-11 or 2026-W47.")],
    objective: Annotated[str, typer.Option(help="What we want to achieve.")],
    owner: Annotated[
        str | None, typer.Option(help="A member, a team id, or 'company' (default: you).")
    ] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Add an objective for a member, a team or the company.

    Example: salesctl okr add --period 2026-Q4 --objective "Grow East" --owner east
    """
    from salesctl.ops.sales.okrs import add_okr

    s = session(ctx)
    record, tx = add_okr(
        s.store,
        s.actor,
        period=period,
        objective=objective,
        owner=owner,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="added", dry_run=dry_run, no_commit=no_commit)


@kr_app.command("add")
def okr_kr_add(
    ctx: typer.Context,
    okr: Annotated[str, typer.Argument(help="The OKR's id or prefix.")],
    title: Annotated[str, typer.Option(help="The key result.")],
    target: Annotated[str, typer.Option(help="The number to reach.")],
    metric: Annotated[
        str | None,
        typer.Option(
            help="Compute progress from records: contract_amount, "
            "payments_received, new_leads, deals_won, followups, ..."
        ),
    ] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Add a key result; with --metric its progress computes itself.

    Example: salesctl okr kr add O-7KQ2 --title "Sign 2M" --target 2e6 --metric contract_amount
    """
    from salesctl.ops.sales.okrs import add_key_result

    s = session(ctx)
    record, tx = add_key_result(
        s.store,
        s.actor,
        okr,
        title=title,
        target=target,
        metric=metric,
        commit=not no_commit,
        dry_run=dry_run,
    )
    report_change(record, tx, fmt, verb="updated", dry_run=dry_run, no_commit=no_commit)


@app.command("checkin")
def okr_checkin(
    ctx: typer.Context,
    kr: Annotated[str, typer.Argument(help="OKR/KR, e.g. O-7KQ2/kr1.")],
    value: Annotated[str, typer.Option(help="The current value.")],
    note: Annotated[str | None, typer.Option(help="A word on it.")] = None,
    fmt: FormatOpt = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Record a key result's current value (for key results without a metric).

    Example: salesctl okr checkin O-7KQ2/kr3 --value 3 --note "two pilots live"
    """
    from salesctl.ops.sales.okrs import checkin as checkin_kr

    s = session(ctx)
    record, tx = checkin_kr(
        s.store, s.actor, kr, value=value, note=note, commit=not no_commit, dry_run=dry_run
    )
    report_change(record, tx, fmt, verb="checked in", dry_run=dry_run, no_commit=no_commit)


@app.command("list")
def okr_list(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option(help="Only OKRs overlapping it.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """List OKRs you may see with their progress.

    Example: salesctl okr list --period 2026-Q4
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.okrs import list_okrs

    s = session(ctx)
    rows = list_okrs(s.store, s.actor, period=period)
    emit(
        rows,
        fmt,
        ("id", "period", "owner", "objective", "progress") if not fmt or fmt == "table" else (),
    )


@app.command("show")
def okr_show(
    ctx: typer.Context,
    okr: Annotated[str, typer.Argument(help="The OKR's id or prefix.")],
    fmt: FormatOpt = None,
) -> None:
    """Show an OKR with each key result's current value and progress.

    Example: salesctl okr show O-7KQ2 --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.okrs import show_okr

    s = session(ctx)
    emit(show_okr(s.store, s.actor, okr), fmt)
