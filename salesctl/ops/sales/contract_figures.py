"""``contract show`` and ``contract list``: contracts with their money as of a day.

The payments and invoices dated up to that day (from the contract's files for one contract,
summed by the index's ``Facts`` for a list) are settled against the plan, earliest open
instalment first (``reports.money``), which gives received, invoiced, outstanding, overdue
and each instalment's status. A draft owes nothing yet and a cancelled contract nothing more.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from salesctl import clock
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.config import Member
from salesctl.model.kinds import CONTRACT, INVOICE, PAYMENT
from salesctl.ops.records import (
    OwnedBy,
    RecordList,
    list_records,
    load_for_write,
    owner_filter,
    show_record,
)
from salesctl.ops.sales.contract_rules import ZERO, amount_total, customer_name_of, money_entries
from salesctl.reports.facts import Facts
from salesctl.reports.money import decimal, default_plan, open_instalments, overdue_amount, settle
from salesctl.store.store import Store


def plan_of(data: dict[str, Any]) -> list[tuple[dt.date, Decimal]]:
    """(due, amount) of each instalment; a signed contract without a plan is due in full
    ``DEFAULT_TERMS_DAYS`` after signing; a draft without one has none yet."""
    amount = decimal(data.get("amount"))
    rows = data.get("plan") or []
    if rows:
        return [(values.coerce_date(r["due"]), decimal(r["amount"])) for r in rows]
    if data.get("signed"):
        return default_plan(amount, values.coerce_date(data["signed"]))
    return []


def money(data: dict[str, Any], paid: Decimal, invoiced: Decimal, as_of: dt.date) -> dict[str, Any]:
    """The figures ``show`` and ``list`` add to a contract: received, invoiced, outstanding,
    overdue (unpaid instalments due before ``as_of``) and each instalment's status."""
    status = data.get("status")
    amount = decimal(data.get("amount"))
    owed = status not in ("draft", "cancelled")
    schedule = plan_of(data)
    instalments = settle(schedule, paid)
    plan = []
    for item in instalments:
        state = item.status(as_of)
        if status == "cancelled" and state != "paid":
            state = "cancelled"
        plan.append(
            {
                "due": item.due,
                "amount": item.amount,
                "paid": item.paid,
                "outstanding": item.outstanding,
                "status": state,
                "days_overdue": max(0, (as_of - item.due).days) if state == "overdue" else 0,
            }
        )
    open_items = open_instalments(schedule, paid) if owed else []
    return {
        "received": paid,
        "invoiced": invoiced,
        "outstanding": max(ZERO, amount - paid) if owed else ZERO,
        "overdue": overdue_amount(open_items, as_of),
        "plan": plan,
    }


def show_contract(
    store: Store, viewer: Member, contract_id: str, *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """One contract with its payments, invoices and tasks, and its money figures as of
    ``as_of`` (payments and invoices dated up to that day; default today)."""
    result = show_record(store, viewer, contract_id, ("contract",))
    contract = load_for_write(store, result["id"], ("contract",))
    day = as_of or clock.today()
    paid, invoiced = (
        amount_total(r for r in money_entries(store, contract, kind) if r.data["date"] <= day)
        for kind in (PAYMENT, INVOICE)
    )
    result.update(money(contract.data, paid, invoiced, day))
    result["customer_name"] = customer_name_of(store, contract.data["customer"])
    return result


def list_contracts(
    store: Store,
    viewer: Member,
    *,
    owner: str | None = None,
    team: str | None = None,
    status: str | None = None,
    customer: str | None = None,
    overdue: bool = False,
    as_of: dt.date | None = None,
) -> RecordList:
    """Contracts the viewer may see with received, invoiced, outstanding and overdue as of
    ``as_of`` (payments and invoices dated up to that day); ``overdue`` keeps late ones."""
    day = as_of or clock.today()
    where: list[tuple[str, str]] = []
    if status:
        statuses = CONTRACT.by_name["status"]
        try:
            statuses.coerce(status)
        except ValueError as exc:
            raise Invalid(f"--status: {exc}") from None
        where.append(("status", status))
    if customer:
        where.append(("customer", store.resolve(customer, ("customer",)).id))
    owned = OwnedBy(owner, team)
    found = list_records(store, viewer, "contract", owned, where)
    config = store.config
    sql, args, within = owner_filter(store, viewer, owned)
    facts = Facts(store.index, config, within=within)
    paid = facts.sums_by_contract("payment", day)
    invoiced = facts.sums_by_contract("invoice", day)
    result = RecordList()
    result.skipped = [*found.skipped, *facts.skipped(" AND ".join(sql), args)]
    for row in found:
        if row.get("problems"):  # its money cannot be worked out; `check` details it
            result.skipped.append(f"{row['path']}: {row['problems'][0]}")
            continue
        figures = money(row, paid.get(row["id"], ZERO), invoiced.get(row["id"], ZERO), day)
        if overdue and figures["overdue"] <= 0:
            continue
        figures.pop("plan")
        row.update(figures)
        result.append(row)
    names = facts.customer_names(row.get("customer") for row in result)
    for row in result:
        row["customer_name"] = names.get(row.get("customer") or "")
    return result
