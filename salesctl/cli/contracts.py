"""``salesctl contract ...``: what was sold, its payment plan, payments and invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._owned import TeamOpt
from salesctl.cli._params import AsOfOpt, CustomerOfArg, FormatOpt, MemberOpt, SetOpt, as_of_day
from salesctl.cli._session import Session

if TYPE_CHECKING:
    from salesctl.store.results import WriteResult

LIST_COLUMNS = (
    "id",
    "customer_name",
    "title",
    "amount",
    "status",
    "signed",
    "owner",
    "received",
    "outstanding",
    "overdue",
)
ContractArg = Annotated[
    str, typer.Argument(help="A contract id or any unique prefix of one (K-7KQ2).")
]
PlanOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--plan",
        help="An instalment DATE:AMOUNT, e.g. 2027-01-31:30000 or +30d:30000 (repeatable); "
        "they must add up to the amount.",
    ),
]


app = make_app(name="contract", help="Contracts: add, sign, pay, invoice, list ...")


@command(app, "add")
def contract_add(
    customer_id: CustomerOfArg,
    title: Annotated[str, typer.Option(help="What was sold.")],
    amount: Annotated[str, typer.Option(help="The contract amount, e.g. 120000 or 99.50.")],
    signed: Annotated[
        str | None,
        typer.Option(help="The signing date (YYYY-MM-DD, today; not later); without it: a draft."),
    ] = None,
    starts: Annotated[str | None, typer.Option(help="Service start (YYYY-MM-DD).")] = None,
    ends: Annotated[str | None, typer.Option(help="Service end (YYYY-MM-DD).")] = None,
    deal: Annotated[
        str | None, typer.Option("--deal", help="The deal it closes (marked won).")
    ] = None,
    plan: PlanOpt = None,
    set_: SetOpt = None,
    *,
    out: Write,
) -> None:
    """Add a contract with a customer; signing creates the won-deal checklist.

    Without --plan (e.g. --plan 2026-12-01:30000 --plan 2027-01-01:60000) the whole
    amount is due 30 days after signing; no instalment falls due before it. --deal marks
    that deal won (a lost deal is reopened first, with deal move).

    Example: salesctl contract add C-7KQ2 --title ERP --amount 90000 --signed 2026-11-20
    """
    from salesctl.ops.sales.contracts import add_contract

    added = out.call(
        add_contract, customer_id, title=title, amount=amount, signed=signed, starts=starts,
        ends=ends, deal=deal, plan=plan or (), sets=set_ or (),
    )  # fmt: skip
    _report_json(out, added, "added")


@command(app, "sign")
def contract_sign(
    contract_id: ContractArg,
    date: Annotated[str, typer.Option(help="The signing date (YYYY-MM-DD; not later than today).")],
    plan: PlanOpt = None,
    *,
    out: Write,
) -> None:
    """Sign a draft contract: creates the won-deal checklist, marks its deal won.

    Example: salesctl contract sign K-7KQ2 --date 2026-11-20
    """
    from salesctl.ops.sales.contracts import sign_contract

    signed = out.call(sign_contract, contract_id, signed=date, plan=plan or ())
    _report_json(out, signed, "signed")


@command(app, "pay")
def contract_pay(
    contract_id: ContractArg,
    amount: Annotated[str, typer.Option(help="The amount received.")],
    date: Annotated[
        str | None,
        typer.Option(
            help="When it arrived (YYYY-MM-DD or -2d; default today; not before signing)."
        ),
    ] = None,
    ref: Annotated[str | None, typer.Option(help="The bank reference.")] = None,
    *,
    out: Write,
) -> None:
    """Record a payment received (finance, or the contract's owner, lead, director).

    Example: salesctl --as chenjing contract pay K-7KQ2 --amount 30000 --date -2d
    """
    from salesctl.ops.sales.payments import record_payment

    paid = out.call(record_payment, contract_id, amount=amount, date=date, ref=ref)
    _report_json(out, paid, "recorded payment")


@command(app, "invoice")
def contract_invoice(
    contract_id: ContractArg,
    amount: Annotated[str, typer.Option(help="The invoiced amount.")],
    number: Annotated[str, typer.Option(help="The invoice number (unique).")],
    date: Annotated[
        str | None,
        typer.Option(help="The invoice date (YYYY-MM-DD; default today; not before signing)."),
    ] = None,
    *,
    out: Write,
) -> None:
    """Record an invoice issued on a contract.

    Example: salesctl --as chenjing contract invoice K-7KQ2 --amount 30000 --number FP-0042
    """
    from salesctl.ops.sales.payments import record_invoice

    invoiced = out.call(record_invoice, contract_id, amount=amount, date=date, number=number)
    _report_json(out, invoiced, "recorded invoice")


@command(app, "activate")
def contract_activate(
    contract_id: ContractArg,
    *,
    out: Write,
) -> None:
    """Mark a signed contract active (the service has started).

    Example: salesctl contract activate K-7KQ2
    """
    from salesctl.ops.sales.contracts import activate_contract

    out.report(out.call(activate_contract, contract_id), "activated")


@command(app, "cancel")
def contract_cancel(
    contract_id: ContractArg,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    *,
    out: Write,
) -> None:
    """Cancel a contract that is not closed: it owes nothing, and its open tasks are marked done.

    Example: salesctl --as liuyang contract cancel K-7KQ2 --reason "customer went bankrupt"
    """
    from salesctl.ops.sales.contracts import cancel_contract

    cancelled = out.call(cancel_contract, contract_id, reason=reason)
    out.report(cancelled, "cancelled")


@command(app, "edit")
def contract_edit(
    contract_id: ContractArg,
    set_: SetOpt = None,
    plan: PlanOpt = None,
    *,
    out: Write,
) -> None:
    """Change a contract's title, amount, dates, custom fields or payment plan.

    A new plan replaces the old: --plan 2026-12-01:30000 --plan 2027-03-01:60000; the open
    "Collect payment" task then falls due with its last instalment.

    Example: salesctl contract edit K-7KQ2 --set ends=2027-12-31
    """
    from salesctl.ops.sales.contracts import edit_contract

    edited = out.call(edit_contract, contract_id, sets=set_ or (), plan=plan or ())
    out.report(edited, "edited")


@command(app, "show")
def contract_show(
    contract_id: ContractArg, as_of: AsOfOpt = None, fmt: FormatOpt = None, *, s: Session
) -> None:
    """Show a contract: payments, invoices, tasks, received/outstanding, the plan.

    Example: salesctl contract show K-7KQ2 --format json
    """
    from salesctl.cli._output import emit
    from salesctl.model.values import to_json
    from salesctl.ops.sales.contract_figures import show_contract

    contract = show_contract(s.store, s.actor, contract_id, as_of=as_of_day(as_of))
    emit(to_json(contract), fmt, money_columns=True)


@command(app, "list")
def contract_list(
    owner: MemberOpt = None,
    team: TeamOpt = None,
    status: Annotated[
        str | None, typer.Option(help="draft, signed, active, closed or cancelled.")
    ] = None,
    customer: Annotated[str | None, typer.Option(help="A customer id.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only contracts with overdue instalments.")
    ] = False,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the contracts you may see, with their money as of a day.

    Example: salesctl contract list --team east --overdue --as-of 2026-12-31
    """
    from salesctl.cli._output import emit, table_columns, warn_skipped
    from salesctl.model.values import to_json
    from salesctl.ops.sales.contract_figures import list_contracts

    rows = list_contracts(
        s.store, s.actor, owner=owner, team=team, status=status, customer=customer,
        overdue=overdue, as_of=as_of_day(as_of),
    )  # fmt: skip
    warn_skipped(rows.skipped)
    emit(to_json(rows), fmt, table_columns(fmt, LIST_COLUMNS), money_columns=True)


def _report_json(out: Write, result: WriteResult[dict[str, Any]], verb: str) -> None:
    """Report a write whose record holds amounts and dates as loaded (Decimal, date):
    shown as plain JSON, numbers and ISO dates, like every other record."""
    from dataclasses import replace

    from salesctl.model.values import to_json

    out.report(replace(result, data=to_json(result.data)), verb)
