"""``salesctl deal ...``: opportunities with a customer, from first stage to won or lost."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._owned import TeamOpt
from salesctl.cli._params import CustomerOfArg, FormatOpt, MemberOpt, SetOpt
from salesctl.cli._session import Session

LIST_COLUMNS = ("id", "title", "customer", "amount", "stage", "close", "owner")
DealArg = Annotated[str, typer.Argument(help="A deal id or any unique prefix of one (D-7KQ2).")]


app = make_app(name="deal", help="Deals: add, move, list, losses.")


@command(app, "add")
def deal_add(
    customer_id: CustomerOfArg,
    title: Annotated[str, typer.Option(help="What is being sold.")],
    amount: Annotated[str, typer.Option(help="Expected amount, e.g. 120000 or 99.50.")],
    stage: Annotated[
        str | None, typer.Option(help="Stage (default: the first in deal_stages).")
    ] = None,
    close: Annotated[
        str | None, typer.Option(help="Expected close date (YYYY-MM-DD, +6w).")
    ] = None,
    competitor: Annotated[
        list[str] | None, typer.Option("--competitor", help="A competitor (repeatable).")
    ] = None,
    set_: SetOpt = None,
    *,
    out: Write,
) -> None:
    """Open a deal with a customer (it lives with the customer's owner).

    Example: salesctl deal add C-7KQ2 --title "ERP rollout" --amount 120000 --close 2026-12-31
    """
    from salesctl.ops.sales.deals import add_deal

    added = out.call(
        add_deal, customer_id, title=title, amount=amount, stage=stage, close=close,
        competitors=competitor or (), sets=set_ or (),
    )  # fmt: skip
    out.report(added, "added")


@command(app, "move")
def deal_move(
    deal_id: DealArg,
    stage: Annotated[str, typer.Option(help="The new stage.")],
    reason: Annotated[str | None, typer.Option(help="Why (required for lost).")] = None,
    lost_to: Annotated[
        str | None, typer.Option("--lost-to", help="The competitor that won it.")
    ] = None,
    *,
    out: Write,
) -> None:
    """Move a deal to another stage; the date is kept in its stages.

    Example: salesctl deal move D-7KQ2 --stage lost --reason "price" --lost-to Salesforce
    """
    from salesctl.ops.sales.deals import move_deal

    moved = out.call(move_deal, deal_id, stage=stage, reason=reason, lost_to=lost_to)
    out.report(moved, f"moved to {stage}:")


@command(app, "list")
def deal_list(
    owner: MemberOpt = None,
    team: TeamOpt = None,
    stage: Annotated[str | None, typer.Option()] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer's deals.")] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the deals you may see, filtered.

    Example: salesctl deal list --team east --stage proposal --format json
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.deals import list_deals

    rows = list_deals(s.store, s.actor, owner=owner, team=team, stage=stage, customer=customer)
    emit(rows, fmt, table_columns(fmt, LIST_COLUMNS), money_columns=True)


@command(app, "show")
def deal_show(deal_id: DealArg, fmt: FormatOpt = None, *, s: Session) -> None:
    """Show one deal with its stage dates.

    Example: salesctl deal show D-7KQ2
    """
    from salesctl.cli._output import emit
    from salesctl.ops.records import show_record

    emit(show_record(s.store, s.actor, deal_id, ("deal",)), fmt, money_columns=True)


@command(app, "losses")
def deal_losses(
    from_: Annotated[str | None, typer.Option("--from", help="Lost on or after.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Lost on or before.")] = None,
    owner: MemberOpt = None,
    team: TeamOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Why deals were lost: counts and amounts by competitor and by reason.

    Example: salesctl deal losses --from 2026-10-01 --to 2026-12-31 --team east
    """
    from salesctl.cli._output import default_format, emit, money, warn_skipped
    from salesctl.model.values import to_json
    from salesctl.ops.sales.deals import losses as lost_deals
    from salesctl.ops.sales.followups import parse_date

    summary = lost_deals(
        s.store,
        s.actor,
        start=parse_date(from_, "--from") if from_ is not None else None,
        end=parse_date(to, "--to") if to is not None else None,
        owner=owner,
        team=team,
    )
    fmt = fmt or default_format()
    warn_skipped(summary["skipped"])
    if fmt != "table":
        emit(to_json(summary), fmt)
        return
    typer.echo(f"{summary['count']} lost deal(s), amount {money(summary['amount'])}")
    for key, label in (("by_competitor", "competitor"), ("by_reason", "reason")):
        typer.echo("")
        emit(to_json(summary[key]), "table", (label, "count", "amount"), money_columns=True)
