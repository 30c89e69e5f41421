"""``salesctl pipeline``, ``receivables`` and ``stats``: the sales figures, read-only."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._owned import TeamOpt
from salesctl.cli._params import AsOfOpt, FormatOpt, MemberOpt, as_of_day
from salesctl.cli._session import Session

app = make_app()


@command(app, "pipeline")
def pipeline(
    owner: MemberOpt = None,
    team: TeamOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """The sales funnel: per deal stage the count, amount and weighted amount; with
    --as-of, the deals as they stood at the end of that day (from their stage dates).

    Example: salesctl pipeline --team east --format json
    """
    from salesctl.cli._output import default_format, emit, warn_skipped, warn_uncommitted
    from salesctl.model.values import to_json
    from salesctl.ops.sales.deals import pipeline as funnel

    rows: list[dict[str, Any]] = funnel(
        s.store, s.actor, owner=owner, team=team, as_of=as_of_day(as_of)
    )
    warn_skipped(getattr(rows, "skipped", ()))
    warn_uncommitted(getattr(rows, "uncommitted", ()))
    fmt = fmt or default_format()
    if fmt != "table":
        emit(to_json(rows), fmt)
        return
    total = {
        "stage": "total",
        "probability": "",
        "count": sum(r["count"] for r in rows),
        "amount": sum(r["amount"] for r in rows),
        "weighted": sum(r["weighted"] for r in rows),
    }
    emit(
        to_json(rows),
        "table",
        ("stage", "probability", "count", "amount", "weighted"),
        money_columns=True,
        totals=to_json(total),
    )


@command(app, "receivables")
def receivables(
    aging: Annotated[
        bool, typer.Option("--aging", help="Show every aging bucket in the table.")
    ] = False,
    as_of: AsOfOpt = None,
    by: Annotated[str, typer.Option(help="Group by owner, team, customer or contract.")] = "owner",
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Money still to be received, in aging buckets by the plan's due dates.

    Buckets: current (not yet due), d1_30, d31_60, d61_90, d90_plus days overdue.
    Payments settle the earliest open instalment first. Figures as committed, like a
    report's: uncommitted edits are named in a warning, not counted.

    Example: salesctl receivables --aging --by team --as-of 2026-12-31
    """
    from salesctl.cli._output import default_format, emit, warn_skipped, warn_uncommitted
    from salesctl.model.values import to_json
    from salesctl.ops.sales.receivables import receivables as aging_rows
    from salesctl.reports.money import BUCKETS

    rows = aging_rows(s.store, s.actor, as_of=as_of_day(as_of), by=by)
    warn_skipped(rows.skipped)
    warn_uncommitted(rows.uncommitted)
    fmt = fmt or default_format()
    if fmt != "table":
        emit(to_json(rows), fmt)
        return
    keys = {
        "owner": ["owner"],
        "team": ["team"],
        "customer": ["customer_name", "customer"],
        "contract": ["contract", "customer_name", "owner"],
    }[by]
    figures = [*BUCKETS, "total"] if aging else ["contracts", "overdue", "total"]
    total: dict[str, Any] = {keys[0]: "total"}
    for name in figures:
        total[name] = sum(r[name] for r in rows)
    emit(
        to_json(rows),
        "table",
        [*keys, *figures],
        money_columns=True,
        totals=to_json(total) if rows else None,
    )


@command(app, "stats")
def stats(
    what: Annotated[str, typer.Argument(help="customers, sales or contracts.")],
    by: Annotated[
        str, typer.Option(help="owner, team, source, industry, stage, customer or month.")
    ] = "owner",
    start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (default: today).")] = None,
    period: Annotated[str | None, typer.Option(help="2026-Q4, 2026-11 or 2026-W47.")] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Sales statistics grouped as you like, with a bar chart on a terminal.

    Example: salesctl stats contracts --by team --period 2026-Q4
    """
    from salesctl.cli._output import default_format, emit, money, warn_uncommitted
    from salesctl.reports.stats import stats as compute

    rows = compute(s.store, s.actor, what, by=by, start=start, end=end, period=period)
    warn_uncommitted(getattr(rows, "uncommitted", ()))
    emit(rows, fmt, money_columns=True)
    if (fmt or default_format()) == "table" and rows:
        # what a manager compares: money signed for sales (a row's count of members is 1
        # per member when grouped by owner), the amount for contracts, else how many
        measure = {"contracts": "amount", "sales": "contract_amount"}.get(what, "count")
        top = max(float(r[measure]) for r in rows) or 1.0
        width = max(len(str(r[by])) for r in rows)
        for row in rows:
            bar = "█" * round(30 * float(row[measure]) / top)
            figure = money(row[measure]) if measure != "count" else row[measure]
            typer.echo(f"{str(row[by]).ljust(width)}  {bar} {figure}")
