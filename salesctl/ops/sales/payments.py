"""Payments and invoices on a contract: ``contract pay``, ``contract invoice`` and the
payment webhook (``ops.integrations.intake``, through ``record_payment``).

Each payment and each invoice is a file of its own in the contract's directory
(``payments/<P-ID>.yaml``, ``invoices/<I-ID>.yaml``), so finance recording money and the
owner editing the contract in two clones change different files and git merges them without
a conflict. An entry is refused if it would bring its total above the contract's amount;
reaching the amount completes the checklist step, and the contract file itself is rewritten
by money only once: when the last payment or invoice completes it (``status: closed``).
Invoice numbers are unique in the store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.ids import new_id
from salesctl.model.config import Member
from salesctl.model.kinds import CONTRACT, INVOICE, PAYMENT, Kind
from salesctl.ops.records import child_loc, load_for_write, new_record, record_json, validate
from salesctl.ops.sales import checklist
from salesctl.ops.sales.contract_rules import (
    amount_total,
    check_entry_date,
    closed_if_complete,
    customer_name_of,
    money_entries,
    parse_amount,
    parse_day,
)
from salesctl.reports.money import plain
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store


def _money_entry(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    kind: Kind,
    amount: str,
    date: str | None,
    fields: dict[str, Any],
    opts: WriteOpts,
) -> WriteResult[dict[str, Any]]:
    """Record a payment or an invoice: its own file, refused if it would exceed the
    contract's amount; completing the amount completes the matching checklist step, and
    closes the contract once it is both fully paid and fully invoiced."""
    config = store.config
    verb = "pay" if kind is PAYMENT else "invoice"
    action = f"contract.{verb}"
    figure = "received" if kind is PAYMENT else "invoiced"
    value = parse_amount(amount, "--amount")
    today = clock.today()
    on = parse_day(date, "--date") if date is not None else today
    if kind is PAYMENT and on > today:
        raise Invalid(f"--date {on} is in the future", "record a payment once it has arrived")
    with store.transaction(actor, action, opts) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        scopes.check_contract_write(config, actor, action, contract)
        status = _running_status(contract)
        check_entry_date(on, contract, "--date" if date is not None else "today")
        total = contract.data["amount"]
        received = amount_total(money_entries(store, contract, PAYMENT))
        invoiced = amount_total(money_entries(store, contract, INVOICE))
        before = received if kind is PAYMENT else invoiced
        after = before + value
        if after > total:
            raise Invalid(
                f"{kind.name} {plain(value)} would bring "
                f"{figure} to {plain(after)} of {plain(total)}",
                f"{plain(total - before)} is left to be {figure} on {contract.id}",
            )
        if kind is INVOICE:
            _check_invoice_number(store, fields["number"])
        entry_id = new_id(kind.prefix)
        data = {
            "schema_version": 1,
            "contract": contract.id,
            "date": on,
            "amount": value,
            **fields,
            "author": actor.id,
        }
        loc = child_loc(contract, kind, entry_id)
        data = validate(config, kind, {k: v for k, v in data.items() if v}, new_record(loc))
        tx.write(loc, data)
        if kind is PAYMENT:
            received = after
        else:
            invoiced = after
        completed = (
            checklist.complete_steps(store, tx, contract, "paid" if kind is PAYMENT else "invoiced")
            if after == total
            else []
        )
        contract_data = closed_if_complete(contract.data, received, invoiced)
        if contract_data != contract.data:
            tx.write(contract.loc, validate(config, CONTRACT, contract_data, contract.path))
        else:
            tx.mention(contract.id)  # the trailer names the contract too
        name = customer_name_of(store, contract.data["customer"])
        if kind is PAYMENT:
            payment = dict(data, id=entry_id)
            tx.emit("payment.received", **_payment_event(contract, payment, received, name))
        closed = contract_data["status"] == "closed" and status != "closed"
        tx.summary = (
            f"{action}: {entry_id} {plain(value)} on {contract.id} ({name}): "
            f"{figure} {plain(after)} of {plain(total)}" + (", closed" if closed else "")
        )
        result = record_json(Record(loc, data))
        result.update(
            {
                "received": received,
                "invoiced": invoiced,
                "outstanding": total - received,
                "contract_status": contract_data["status"],
                "completed_tasks": completed,
            }
        )
    return tx.result(result)


def _running_status(contract: Record) -> str:
    """The contract's status, refused if money cannot be entered on it yet or any more."""
    status: str = contract.data["status"]
    if status == "draft":
        raise Invalid(
            f"{contract.id} is a draft", f"sign it first: salesctl contract sign {contract.id}"
        )
    if status == "cancelled":
        raise Invalid(f"{contract.id} is cancelled ({contract.data.get('reason')})")
    return status


def _payment_event(
    contract: Record, payment: dict[str, Any], received: Decimal, customer: str | None
) -> dict[str, Any]:
    """The fields of a ``payment.received`` notice."""
    return {
        "payment": payment["id"],
        "contract": contract.id,
        "title": contract.data["title"],
        "amount": plain(payment["amount"]),
        "date": payment["date"].isoformat(),
        "received": plain(received),
        "outstanding": plain(contract.data["amount"] - received),
        "customer": customer,
        "customer_id": contract.data["customer"],
        "owner": contract.owner.member,
        "author": payment["author"],
    }


def _check_invoice_number(store: Store, number: str) -> None:
    rows = store.index.select("invoice", [], "json_extract(data, '$.number') = ?", [number])
    if rows:
        raise Invalid(
            f"invoice number {number} is already recorded ({rows[0][0]} on {rows[0][3]})",
            "invoice numbers are unique; check the number",
        )


def record_payment(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    amount: str,
    date: str | None = None,
    ref: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Record money received on a contract (finance, or the contract's owner/lead/director)."""
    return _money_entry(
        store,
        actor,
        contract_id,
        kind=PAYMENT,
        amount=amount,
        date=date,
        fields={"ref": ref.strip() if ref else None},
        opts=opts,
    )


def record_invoice(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    amount: str,
    date: str | None = None,
    number: str,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Record an invoice issued on a contract; its number is unique in the store."""
    if not number or not number.strip():
        raise Invalid("an invoice needs --number", "e.g. --number FP-2026-0042")
    return _money_entry(
        store,
        actor,
        contract_id,
        kind=INVOICE,
        amount=amount,
        date=date,
        fields={"number": number.strip()},
        opts=opts,
    )
