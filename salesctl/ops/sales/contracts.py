"""Contracts: add (signed or draft), sign, activate, cancel, edit; payments and invoices;
show and list with their money; the receivables aging.

A contract lives in its customer owner's directory (``.../contracts/<K-ID>/contract.yaml``).
Each payment and each invoice is a file of its own in it (``payments/<P-ID>.yaml``,
``invoices/<I-ID>.yaml``), so finance recording money and the owner editing the contract
in two clones change different files and git merges them without a conflict. The contract
file itself is rewritten by money only once: when the last payment or invoice completes it
(``status: closed``).

Money is exact (``Decimal``). The payment plan (``plan``: instalments with ``due`` and
``amount``) must sum to the contract's amount; without one, the whole amount is due
``DEFAULT_TERMS_DAYS`` after signing. Payments settle the earliest open instalment first
(``reports.money``), which is what "overdue" and the aging buckets are computed from.

Statuses: ``draft`` -> ``signed`` -> ``active`` -> ``closed`` (fully paid and invoiced),
or ``cancelled`` (with a reason). Signing (``add --signed`` or ``sign``) creates the won-deal
checklist and marks a linked deal won, in the same commit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.ids import new_id
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.model.kinds import CONTRACT, DEAL, INVOICE, PAYMENT, Kind
from salesctl.ops.records import (
    RecordList,
    apply_sets,
    enter_stage,
    list_records,
    load_for_write,
    new_record,
    owner_filter,
    parse_assignments,
    record_json,
    show_record,
    validate,
    visible_sql,
)
from salesctl.ops.sales import tasks
from salesctl.reports.facts import Facts, Receivable
from salesctl.reports.money import (
    BUCKETS,
    aging,
    decimal,
    default_plan,
    open_instalments,
    overdue_amount,
    plain,
    settle,
)
from salesctl.scopes import visible_dirs
from salesctl.store.layout import RecordPath, child_file, parse_path, record_file
from salesctl.store.records import Record
from salesctl.store.store import Store, Transaction

ZERO = Decimal(0)
MONEY_STATUSES = ("signed", "active")  # payments and invoices are recorded on these
# The owner of a contract may do these on it even when their role lacks the action
# (a rep records the payment their customer made); cancelling needs the action itself
# unless the contract is still a draft.
OWNER_ACTIONS = (
    "contract.pay",
    "contract.invoice",
    "contract.sign",
    "contract.activate",
    "contract.edit",
)
EDITABLE = ("title", "amount", "starts", "ends")
GROUPS = ("owner", "team", "customer", "contract")


# -- values ---------------------------------------------------------------------------------


def _amount(text: str, option: str) -> Decimal:
    try:
        amount = values.coerce_amount(text)
    except ValueError as exc:
        raise Invalid(f"{option}: {exc}", "e.g. 120000 or 99.50") from None
    if amount <= 0:
        raise Invalid(f"{option} {text} must be more than 0")
    return amount


def parse_day(text: str, option: str) -> dt.date:
    try:
        return values.coerce_typed_date(text, clock.today())
    except ValueError:
        raise Invalid(f"{option} {text!r} is not a date", values.DATE_HINT) from None


def parse_plan(items: Iterable[str]) -> list[dict[str, Any]]:
    """``--plan DATE:AMOUNT`` (repeatable) as plan rows, earliest due first."""
    rows = []
    for item in items:
        due, sep, amount = item.partition(":")
        if not sep:
            raise Invalid(f"--plan {item!r} is not DATE:AMOUNT", "e.g. --plan 2026-12-31:30000")
        rows.append(
            {"due": parse_day(due.strip(), "--plan"), "amount": _amount(amount.strip(), "--plan")}
        )
    return sorted(rows, key=lambda r: (r["due"], r["amount"]))


def check_plan(plan: Sequence[dict[str, Any]], amount: Decimal) -> None:
    total = sum((decimal(r["amount"]) for r in plan), ZERO)
    if total != amount:
        raise Invalid(
            f"the plan's {len(plan)} instalment(s) sum to {plain(total)}, "
            f"not the contract amount {plain(amount)}",
            "make the --plan amounts add up to --amount",
        )


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


# -- permissions ----------------------------------------------------------------------------


def check_contract_write(config: Config, actor: Member, action: str, contract: Record) -> None:
    """The normal write scope, or the contract's owner for the everyday actions on it."""
    try:
        scopes.check_write(config, actor, action, contract.owner, record=contract.id)
    except Forbidden as exc:
        is_owner = contract.owner.member == actor.id
        draft_cancel = action == "contract.cancel" and contract.data.get("status") == "draft"
        if is_owner and (action in OWNER_ACTIONS or draft_cancel):
            return
        if action in ("contract.pay", "contract.invoice"):
            raise Forbidden(
                f"{actor.id} ({actor.role}) may not {action} {contract.id}: it belongs to "
                f"{contract.owner}",
                f"finance, {contract.owner}, their team lead or a director may record it",
            ) from None
        raise exc


# -- reading what a contract holds ------------------------------------------------------------


def _children(store: Store, contract: Record, kind: Kind) -> list[Record]:
    """The contract's payments or invoices, read from disk (exact Decimals)."""
    folder = store.root / contract.loc.record_dir / kind.plural
    result = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        loc = parse_path(path.relative_to(store.root).as_posix())
        if loc is None or loc.kind is not kind:
            continue
        record = store.read(loc)
        if record.problems:
            raise Invalid(
                f"{record.problems[0]}: cannot total {contract.id}'s {kind.plural}",
                "fix the file by hand, then `salesctl check`",
            )
        result.append(record)
    return result


def _total(records: Iterable[Record]) -> Decimal:
    return sum((r.data["amount"] for r in records), ZERO)


def _customer_name(store: Store, customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    rows = store.index.select("customer", ["name"], "id = ?", [customer_id])
    return str(rows[0][4]) if rows else None


# -- creating and signing --------------------------------------------------------------------


def won_stage(config: Config) -> str:
    if config.won_stage is None:
        raise Invalid("no deal stage means won", "name one 'won' in deal_stages (or give it 100%)")
    return config.won_stage


def _linked_deal(store: Store, deal_id: str, customer_id: str) -> Record:
    deal = load_for_write(store, deal_id, ("deal",))
    if deal.data.get("customer") != customer_id:
        raise Invalid(
            f"deal {deal.id} is for customer {deal.data.get('customer')}, not {customer_id}",
            "link a deal of the contract's customer",
        )
    return deal


def _sign(
    store: Store,
    tx: Transaction,
    actor: Member,
    contract: Record,
    customer_name: str | None,
) -> list[dict[str, Any]]:
    """What signing does besides the status: the won-deal checklist, the linked deal
    marked won, and the announcements. Returns the tasks created."""
    config = store.config
    data = contract.data
    signed = data["signed"]
    created = tasks.won_deal_checklist(store, tx, contract, signed=signed)
    owner = contract.owner.member
    if data.get("deal"):
        deal = _linked_deal(store, data["deal"], data["customer"])
        scopes.check_write(config, actor, "deal.move", deal.owner, record=deal.id)
        won = won_stage(config)
        deal_data = dict(deal.data)
        enter_stage(deal_data, won, signed)
        if deal_data != deal.data:
            tx.write(deal.loc, validate(config, DEAL, deal_data, deal.path))
            tx.emit(
                "deal.won",
                deal=deal.id,
                title=deal.data.get("title"),
                amount=plain(decimal(deal.data.get("amount"))),
                customer=customer_name,
                customer_id=data["customer"],
                owner=deal.owner.member,
                contract=contract.id,
            )
    tx.emit(
        "contract.signed",
        contract=contract.id,
        title=data["title"],
        amount=plain(data["amount"]),
        signed=signed.isoformat(),
        customer=customer_name,
        customer_id=data["customer"],
        owner=owner,
    )
    return created


def add_contract(
    store: Store,
    actor: Member,
    customer_id: str,
    *,
    title: str,
    amount: str,
    signed: str | None = None,
    starts: str | None = None,
    ends: str | None = None,
    deal: str | None = None,
    plan: Iterable[str] = (),
    sets: Iterable[str] = (),
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Add a contract with a customer, in the customer owner's directory: signed (with
    ``signed``: the won-deal checklist is created and a linked deal marked won) or a draft."""
    config = store.config
    if not title or not title.strip():
        raise Invalid("a contract needs --title", "e.g. --title 'ERP licence 2027'")
    total = _amount(amount, "--amount")
    signed_on = parse_day(signed, "--signed") if signed else None
    instalments = parse_plan(plan)
    if instalments:
        check_plan(instalments, total)
    elif signed_on is not None:
        instalments = [{"due": d, "amount": a} for d, a in default_plan(total, signed_on)]
    with store.transaction(actor, "contract.add", commit=commit, dry_run=dry_run) as tx:
        customer = load_for_write(store, customer_id, ("customer",))
        if customer.owner.is_pool:
            raise Invalid(
                f"{customer.id} is in the pool",
                "claim or assign the customer first: its contracts live with its owner",
            )
        contract_id = new_id(CONTRACT.prefix)
        scopes.check_write(config, actor, "contract.add", customer.owner, record=contract_id)
        linked = _linked_deal(store, deal, customer.id) if deal else None
        data: dict[str, Any] = {
            "schema_version": 1,
            "customer": customer.id,
            "deal": linked.id if linked else None,
            "title": title.strip(),
            "amount": total,
            "signed": signed_on,
            "starts": parse_day(starts, "--starts") if starts else None,
            "ends": parse_day(ends, "--ends") if ends else None,
            "status": "signed" if signed_on else "draft",
            "plan": instalments,
            "created": clock.today(),
        }
        data = {k: v for k, v in data.items() if v not in (None, [])}
        data = _apply_edits(config, data, sets)
        if data.get("plan"):
            check_plan(data["plan"], data["amount"])
        loc = RecordPath(
            record_file(customer.owner, CONTRACT, contract_id),
            CONTRACT,
            contract_id,
            customer.owner,
        )
        data = validate(config, CONTRACT, data, new_record(loc))
        tx.write(loc, data)
        contract = Record(loc, data)
        result = record_json(contract)
        name = customer.data.get("name")
        if signed_on is not None:
            result["tasks"] = _sign(store, tx, actor, contract, name)
        state = f"signed {signed_on}" if signed_on else "draft"
        tx.summary = (
            f"contract.add: {contract_id} ({data['title']}, {plain(total)}) for {customer.id} "
            f"({name}), {state}"
        )
    return result, tx


def sign_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    signed: str,
    plan: Iterable[str] = (),
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Sign a draft: status signed, the plan (given, kept, or the default), the checklist."""
    config = store.config
    signed_on = parse_day(signed, "--date")
    instalments = parse_plan(plan)
    with store.transaction(actor, "contract.sign", commit=commit, dry_run=dry_run) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        check_contract_write(config, actor, "contract.sign", contract)
        if contract.data["status"] != "draft":
            raise Invalid(f"{contract.id} is {contract.data['status']}, not a draft")
        data = dict(contract.data, signed=signed_on, status="signed")
        if instalments:
            check_plan(instalments, data["amount"])
            data["plan"] = instalments
        elif not data.get("plan"):
            data["plan"] = [
                {"due": d, "amount": a} for d, a in default_plan(data["amount"], signed_on)
            ]
        data = validate(config, CONTRACT, data, contract.path)
        tx.write(contract.loc, data)
        signed_record = Record(contract.loc, data)
        result = record_json(signed_record)
        name = _customer_name(store, data["customer"])
        result["tasks"] = _sign(store, tx, actor, signed_record, name)
        tx.summary = f"contract.sign: {contract.id} ({data['title']}) signed {signed_on}"
    return result, tx


def _apply_edits(config: Config, data: dict[str, Any], sets: Iterable[str]) -> dict[str, Any]:
    pairs = list(sets)
    for name, _value in parse_assignments(pairs):
        if name not in EDITABLE and not name.startswith("custom."):
            raise Invalid(
                f"contract field {name!r} cannot be set",
                f"settable: {', '.join(EDITABLE)}, custom.NAME; status changes with "
                "sign/activate/cancel, the plan with --plan",
            )
    result = apply_sets(config, CONTRACT, data, pairs)
    if result.get("starts") and result.get("ends") and result["ends"] < result["starts"]:
        raise Invalid(f"ends {result['ends']} is before starts {result['starts']}")
    return result


def _status_change(
    store: Store,
    actor: Member,
    contract_id: str,
    action: str,
    change: Any,
    *,
    commit: bool,
    dry_run: bool,
) -> tuple[dict[str, Any], Transaction]:
    config = store.config
    with store.transaction(actor, action, commit=commit, dry_run=dry_run) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        check_contract_write(config, actor, action, contract)
        data = change(dict(contract.data))
        data = validate(config, CONTRACT, data, contract.path)
        if data != contract.data:
            tx.write(contract.loc, data)
            tx.summary = f"{action}: {contract.id} ({data['title']}) now {data['status']}"
    return record_json(Record(contract.loc, data)), tx


def activate_contract(
    store: Store, actor: Member, contract_id: str, *, commit: bool = True, dry_run: bool = False
) -> tuple[dict[str, Any], Transaction]:
    """The service has started: signed -> active."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        if data["status"] not in ("signed", "active"):
            hint = "sign it first" if data["status"] == "draft" else "nothing to activate"
            raise Invalid(f"{contract_id} is {data['status']}", hint)
        return dict(data, status="active")

    return _status_change(
        store, actor, contract_id, "contract.activate", change, commit=commit, dry_run=dry_run
    )


def cancel_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    reason: str,
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Cancel a contract that is not closed; the reason is kept. It then owes nothing."""
    if not reason or not reason.strip():
        raise Invalid("--reason is required", "say why, e.g. --reason 'customer withdrew'")

    def change(data: dict[str, Any]) -> dict[str, Any]:
        if data["status"] in ("closed", "cancelled"):
            raise Invalid(f"{contract_id} is already {data['status']}")
        return dict(data, status="cancelled", reason=reason.strip())

    return _status_change(
        store, actor, contract_id, "contract.cancel", change, commit=commit, dry_run=dry_run
    )


def edit_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    sets: Iterable[str] = (),
    plan: Iterable[str] = (),
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Change the title, amount, dates, custom fields or the payment plan. The plan must
    still sum to the amount, and the amount cannot drop below what was paid or invoiced."""
    config = store.config
    instalments = parse_plan(plan)
    with store.transaction(actor, "contract.edit", commit=commit, dry_run=dry_run) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        check_contract_write(config, actor, "contract.edit", contract)
        data = _apply_edits(config, dict(contract.data), sets)
        money_changed = instalments or data.get("amount") != contract.data.get("amount")
        if money_changed and contract.data["status"] in ("closed", "cancelled"):
            raise Invalid(f"{contract.id} is {contract.data['status']}: its money is final")
        amount = data["amount"]
        if amount <= 0:
            raise Invalid("amount must be more than 0")
        received = _total(_children(store, contract, PAYMENT))
        invoiced = _total(_children(store, contract, INVOICE))
        for what, figure in (("received", received), ("invoiced", invoiced)):
            if amount < figure:
                raise Invalid(
                    f"amount {plain(amount)} is below the {plain(figure)} already {what}",
                    "the amount covers what was paid and invoiced",
                )
        if instalments:
            data["plan"] = instalments
        elif data.get("plan") and amount != contract.data["amount"]:
            if len(data["plan"]) != 1:
                raise Invalid(
                    f"the amount changes to {plain(amount)}; the plan's instalments no longer "
                    "add up",
                    "give the new plan with --plan DATE:AMOUNT ...",
                )
            data["plan"] = [dict(data["plan"][0], amount=amount)]
        if data.get("plan"):
            check_plan(data["plan"], amount)
        data = _closed_if_complete(data, received, invoiced)
        data = validate(config, CONTRACT, data, contract.path)
        changed = sorted(k for k in {*data, *contract.data} if data.get(k) != contract.data.get(k))
        if changed:
            tx.write(contract.loc, data)
            tx.summary = f"contract.edit: {contract.id} ({', '.join(changed)})"
    return record_json(Record(contract.loc, data)), tx


def _closed_if_complete(
    data: dict[str, Any], received: Decimal, invoiced: Decimal
) -> dict[str, Any]:
    if data["status"] in MONEY_STATUSES and received == data["amount"] == invoiced:
        return dict(data, status="closed")
    return data


# -- money --------------------------------------------------------------------------------


def _money_entry(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    kind: Kind,
    amount: str,
    date: str | None,
    fields: dict[str, Any],
    commit: bool,
    dry_run: bool,
) -> tuple[dict[str, Any], Transaction]:
    """Record a payment or an invoice: its own file, refused if it would exceed the
    contract's amount; completing the amount completes the matching checklist step, and
    closes the contract once it is both fully paid and fully invoiced."""
    config = store.config
    verb = "pay" if kind is PAYMENT else "invoice"
    action = f"contract.{verb}"
    figure = "received" if kind is PAYMENT else "invoiced"
    value = _amount(amount, "--amount")
    today = clock.today()
    on = parse_day(date, "--date") if date else today
    if kind is PAYMENT and on > today:
        raise Invalid(f"--date {on} is in the future", "record a payment once it has arrived")
    with store.transaction(actor, action, commit=commit, dry_run=dry_run) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        check_contract_write(config, actor, action, contract)
        status = contract.data["status"]
        if status == "draft":
            raise Invalid(
                f"{contract.id} is a draft", f"sign it first: salesctl contract sign {contract.id}"
            )
        if status == "cancelled":
            raise Invalid(f"{contract.id} is cancelled ({contract.data.get('reason')})")
        total = contract.data["amount"]
        received = _total(_children(store, contract, PAYMENT))
        invoiced = _total(_children(store, contract, INVOICE))
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
        loc = RecordPath(
            child_file(contract.loc.record_dir, kind, entry_id),
            kind,
            entry_id,
            contract.owner,
            parent=contract.id,
        )
        data = validate(config, kind, {k: v for k, v in data.items() if v}, new_record(loc))
        tx.write(loc, data)
        if kind is PAYMENT:
            received = after
        else:
            invoiced = after
        completed = (
            tasks.complete_steps(store, tx, contract, "paid" if kind is PAYMENT else "invoiced")
            if after == total
            else []
        )
        contract_data = _closed_if_complete(contract.data, received, invoiced)
        if contract_data != contract.data:
            tx.write(contract.loc, validate(config, CONTRACT, contract_data, contract.path))
        else:
            tx.mention(contract.id)  # the trailer names the contract too
        name = _customer_name(store, contract.data["customer"])
        if kind is PAYMENT:
            tx.emit(
                "payment.received",
                payment=entry_id,
                contract=contract.id,
                title=contract.data["title"],
                amount=plain(value),
                date=on.isoformat(),
                received=plain(received),
                outstanding=plain(total - received),
                customer=name,
                customer_id=contract.data["customer"],
                owner=contract.owner.member,
                author=actor.id,
            )
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
    return result, tx


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
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Record money received on a contract (finance, or the contract's owner/lead/director)."""
    return _money_entry(
        store,
        actor,
        contract_id,
        kind=PAYMENT,
        amount=amount,
        date=date,
        fields={"ref": ref.strip() if ref else None},
        commit=commit,
        dry_run=dry_run,
    )


def record_invoice(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    amount: str,
    date: str | None = None,
    number: str,
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
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
        commit=commit,
        dry_run=dry_run,
    )


# -- reading --------------------------------------------------------------------------------


def show_contract(
    store: Store, viewer: Member, contract_id: str, *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """One contract with its payments, invoices and tasks, and its money figures as of
    ``as_of`` (payments and invoices dated up to that day; default today)."""
    result = show_record(store, viewer, contract_id, ("contract",))
    contract = load_for_write(store, result["id"], ("contract",))
    day = as_of or clock.today()
    paid, invoiced = (
        _total(r for r in _children(store, contract, kind) if r.data["date"] <= day)
        for kind in (PAYMENT, INVOICE)
    )
    result.update(money(contract.data, paid, invoiced, day))
    result["customer_name"] = _customer_name(store, contract.data["customer"])
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
    found = list_records(store, viewer, "contract", owner=owner, team=team, where=where)
    config = store.config
    sql, args, within = owner_filter(config, viewer, owner=owner, team=team)
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


def receivables(
    store: Store,
    viewer: Member,
    *,
    as_of: dt.date | None = None,
    by: str = "owner",
) -> RecordList:
    """Outstanding amounts in aging buckets (not yet due, 1-30, 31-60, 61-90, over 90 days
    overdue) per the plan's due dates, one row per owner, team, customer or contract, of
    the contracts the viewer may see. Same definition as the reports (``Facts``)."""
    if by not in GROUPS:
        raise Invalid(f"--by {by!r}", f"use one of {', '.join(GROUPS)}")
    day = as_of or clock.today()
    config = store.config
    sql, args = visible_sql(config, viewer)
    facts = Facts(store.index, config, within=visible_dirs(config, viewer))
    found = facts.receivables(day, where=sql, args=args)
    rows = RecordList()
    rows.skipped = facts.skipped(sql, args)
    named = by in ("customer", "contract")
    names = facts.customer_names(r.customer for r in found) if named else {}
    groups: dict[Any, list[Receivable]] = defaultdict(list)
    labels: dict[Any, dict[str, Any]] = {}
    for receivable in found:
        label = _receivable_label(receivable, by, names)
        key = next(iter(label.values()))
        labels[key] = label
        groups[key].append(receivable)
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        buckets = aging([i for r in groups[key] for i in r.items], day)
        row = dict(labels[key])
        row.update({b: buckets[b] for b in BUCKETS})
        row["total"] = buckets["total"]
        row["overdue"] = buckets["total"] - buckets["current"]
        row["contracts"] = len(groups[key])
        rows.append(row)
    return rows


def _receivable_label(receivable: Receivable, by: str, names: dict[str, Any]) -> dict[str, Any]:
    """The grouping columns of a receivables row (the first one is the group's key)."""
    if by == "owner":
        return {"owner": receivable.owner}
    if by == "team":
        return {"team": receivable.team}
    name = names.get(receivable.customer or "")
    if by == "customer":
        return {"customer": receivable.customer, "customer_name": name}
    return {
        "contract": receivable.contract,
        "title": receivable.title,
        "customer": receivable.customer,
        "customer_name": name,
        "owner": receivable.owner,
        "team": receivable.team,
    }
