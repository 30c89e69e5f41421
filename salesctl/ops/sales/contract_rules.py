"""What the contract commands share: the amounts, days and payment plan as typed, who may
write a contract, and its payments and invoices as read from their files.

Money is exact (``Decimal``). The payment plan (``plan``: instalments with ``due`` and
``amount``) must sum to the contract's amount. A contract's payments and invoices are
totalled from its own ``payments/`` and ``invoices/`` files, and once both reach the amount
they close it. Dates follow the signing: a contract is not signed later than today, and
no instalment falls due, and no payment or invoice is dated, before it (``dating_problems``:
what ``check`` reports of the second rule, which the writes refuse). ``contracts`` (the
lifecycle), ``payments`` and ``contract_figures`` use these; this module imports none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from salesctl import clock
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.kinds import Kind
from salesctl.reports.money import decimal, plain
from salesctl.store.layout import parse_path
from salesctl.store.records import Record
from salesctl.store.store import Store

# -- values ---------------------------------------------------------------------------------

ZERO = Decimal(0)
MONEY_STATUSES = ("signed", "active")  # payments and invoices are recorded on these


def parse_amount(text: str, option: str) -> Decimal:
    """An option's amount: exact, and more than 0."""
    try:
        amount = values.coerce_amount(text)
    except ValueError as exc:
        raise Invalid(f"{option}: {exc}", "e.g. 120000 or 99.50") from None
    if amount <= 0:
        raise Invalid(f"{option} {text} must be more than 0")
    return amount


def parse_day(text: str, option: str) -> dt.date:
    """An option's day: a date, or relative to today (``+30d``)."""
    return values.typed_date(text, option, clock.today())


def parse_plan(items: Iterable[str]) -> list[dict[str, Any]]:
    """``--plan DATE:AMOUNT`` (repeatable) as plan rows, earliest due first."""
    rows = []
    for item in items:
        due, sep, amount = item.partition(":")
        if not sep:
            raise Invalid(f"--plan {item!r} is not DATE:AMOUNT", "e.g. --plan 2026-12-31:30000")
        rows.append(
            {
                "due": parse_day(due.strip(), "--plan"),
                "amount": parse_amount(amount.strip(), "--plan"),
            }
        )
    return sorted(rows, key=lambda r: (r["due"], r["amount"]))


def check_plan(plan: Sequence[dict[str, Any]], amount: Decimal) -> None:
    """Refuse a plan whose instalments do not sum to the contract's amount."""
    total = sum((decimal(r["amount"]) for r in plan), ZERO)
    if total != amount:
        raise Invalid(
            f"the plan's {len(plan)} instalment(s) sum to {plain(total)}, "
            f"not the contract amount {plain(amount)}",
            "make the --plan amounts add up to --amount",
        )


# -- dates: the signing first, then the plan and the money --------------------------------


def signed_after(signed: dt.date | None, today: dt.date) -> bool:
    """A signing later than today: a contract is recorded as signed once it has been."""
    return signed is not None and signed > today


def before_signing(day: dt.date | None, signed: dt.date | None) -> bool:
    """An instalment's due date, a payment's or an invoice's date before the signing."""
    return day is not None and signed is not None and day < signed


def check_signing_day(signed: dt.date, option: str) -> None:
    """Refuse a typed signing date later than today."""
    today = clock.today()
    if signed_after(signed, today):
        raise Invalid(
            f"{option} {signed} is later than today ({today})",
            "give the day it was signed; until then, keep the contract a draft",
        )


def check_plan_dates(
    plan: Sequence[dict[str, Any]],
    signed: dt.date | None,
    option: str,
    hint: str = "instalments fall due on or after the day the contract is signed",
) -> None:
    """Refuse a plan whose first instalment falls due before the signing."""
    due = min((row["due"] for row in plan), default=None)
    if before_signing(due, signed):
        raise Invalid(
            f"{option}: an instalment is due {due}, before the signing date {signed}", hint
        )


def check_entry_date(day: dt.date, contract: Record, option: str) -> None:
    """Refuse a payment or an invoice dated before its contract's signing."""
    problem = entry_date_problem(day, contract)
    if problem:
        raise Invalid(
            f"{option} {problem}", "payments and invoices are dated on or after the signing"
        )


def entry_date_problem(day: dt.date, contract: Record) -> str | None:
    """Why a payment or an invoice may not be dated ``day`` on ``contract``, or None."""
    signed = contract.data.get("signed")
    if before_signing(day, signed):
        return f"{day} is before {contract.id}'s signing date {signed}"
    return None


def dating_problems(
    signed: dt.date | None, dues: Iterable[dt.date], entries: Iterable[tuple[str, dt.date]]
) -> list[tuple[str | None, str, str]]:
    """What ``check`` reports of a stored contract's dates, by the rules the writes hold:
    (entry id or None for the contract itself, field, message). A signing later than today
    is refused when typed but not reported here: a record's validity does not change with
    the day it is looked at (nor does a payment's ``--date`` in the future)."""
    problems: list[tuple[str | None, str, str]] = []
    early = [due for due in dues if before_signing(due, signed)]
    if early:
        message = f"an instalment is due {min(early)}, before the signing date {signed}"
        problems.append((None, "plan", message))
    for entry_id, day in entries:
        if before_signing(day, signed):
            message = f"dated {day}, before its contract's signing date {signed}"
            problems.append((entry_id, "date", message))
    return problems


# -- reading what a contract holds ------------------------------------------------------------


def contract_children(store: Store, contract: Record, kind: Kind) -> list[Record]:
    """The contract's payments, invoices or tasks, read from disk in file order (exact
    Decimals, uncommitted files included, broken ones with their problems)."""
    folder = store.root / contract.loc.record_dir / kind.plural
    result = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        loc = parse_path(path.relative_to(store.root).as_posix())
        if loc is not None and loc.kind is kind:
            result.append(store.read(loc))
    return result


def money_entries(store: Store, contract: Record, kind: Kind) -> list[Record]:
    """The contract's payments or invoices; a broken one stops the total."""
    result = contract_children(store, contract, kind)
    for record in result:
        if record.problems:
            raise Invalid(
                f"{record.problems[0]}: cannot total {contract.id}'s {kind.plural}",
                "fix the file by hand, then `salesctl check`",
            )
    return result


def amount_total(records: Iterable[Record]) -> Decimal:
    """What payments or invoices (from ``money_entries``) add up to."""
    return sum((r.data["amount"] for r in records), ZERO)


def customer_name_of(store: Store, customer_id: str | None) -> str | None:
    """The customer's name as the index has it; None if unknown."""
    if not customer_id:
        return None
    rows = store.index.select("customer", ["name"], "id = ?", [customer_id])
    return str(rows[0][4]) if rows else None


def closed_if_complete(
    data: dict[str, Any], received: Decimal, invoiced: Decimal
) -> dict[str, Any]:
    """The contract data closed once it is both fully paid and fully invoiced."""
    if data["status"] in MONEY_STATUSES and received == data["amount"] == invoiced:
        return dict(data, status="closed")
    return data
