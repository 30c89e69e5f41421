"""``salesctl okr ...``: objectives and their key results, checked in or computed."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app(name="okr", help="Objectives and key results.")


kr_app = make_app()
app.add_typer(kr_app, name="kr", help="Key results of an OKR.")


@command(app, "add")
def okr_add(
    period: Annotated[str, typer.Option(help="2026-Q4, 2026-11 or 2026-W47.")],
    objective: Annotated[str, typer.Option(help="What we want to achieve.")],
    owner: Annotated[
        str | None, typer.Option(help="A member, a team id, or 'company' (default: you).")
    ] = None,
    *,
    out: Write,
) -> None:
    """Add an objective for a member, a team or the company.

    Example: salesctl okr add --period 2026-Q4 --objective "Grow East" --owner east
    """
    from salesctl.ops.sales.okrs import add_okr

    added = out.call(add_okr, period=period, objective=objective, owner=owner)
    out.report(added, "added")


@command(kr_app, "add")
def okr_kr_add(
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
    *,
    out: Write,
) -> None:
    """Add a key result; with --metric its progress computes itself.

    Example: salesctl okr kr add O-7KQ2 --title "Sign 2M" --target 2000000 --metric contract_amount
    """
    from salesctl.ops.sales.okrs import add_key_result

    added = out.call(add_key_result, okr, title=title, target=target, metric=metric)
    out.report(added, "updated")


@command(app, "checkin")
def okr_checkin(
    kr: Annotated[str, typer.Argument(help="OKR/KR, e.g. O-7KQ2/kr1.")],
    value: Annotated[str, typer.Option(help="The current value.")],
    note: Annotated[str | None, typer.Option(help="A word on it.")] = None,
    *,
    out: Write,
) -> None:
    """Record a key result's current value (for key results without a metric).

    Example: salesctl okr checkin O-7KQ2/kr3 --value 3 --note "two pilots live"
    """
    from salesctl.ops.sales.okrs import checkin as checkin_kr

    checked = out.call(checkin_kr, kr, value=value, note=note)
    out.report(checked, "checked in")


@command(app, "list")
def okr_list(
    period: Annotated[str | None, typer.Option(help="Only OKRs overlapping it.")] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List OKRs you may see with their progress.

    Example: salesctl okr list --period 2026-Q4
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.okrs import list_okrs

    rows = list_okrs(s.store, s.actor, period=period)
    emit(rows, fmt, table_columns(fmt, ("id", "period", "owner", "objective", "progress")))


@command(app, "show")
def okr_show(
    okr: Annotated[str, typer.Argument(help="The OKR's id or prefix.")],
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Show an OKR with each key result's current value and progress.

    Example: salesctl okr show O-7KQ2 --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.okrs import show_okr

    emit(show_okr(s.store, s.actor, okr), fmt)
