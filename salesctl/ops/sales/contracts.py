"""Contracts: add (signed or draft), sign, activate, cancel, edit.

A contract lives in its customer owner's directory (``.../contracts/<K-ID>/contract.yaml``).
Without a payment plan, a signed contract's whole amount is due ``DEFAULT_TERMS_DAYS`` after
signing. Statuses: ``draft`` -> ``signed`` -> ``active`` -> ``closed`` (fully paid and
invoiced: ``payments`` closes it), or ``cancelled`` (with a reason; its open tasks are marked
done in the same commit). Signing (``add --signed`` or ``sign``) creates the won-deal
checklist and marks a linked deal won, in the same commit.
An edit keeps the plan summing to the amount and the amount at or above what was already
paid and invoiced; a new plan moves the due date of the open "Collect payment" step
(``done_when: paid``) to its last instalment, in the same commit. What the contract
commands share is in ``contract_rules``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.model.config import Config, Member
from salesctl.model.kinds import CONTRACT, DEAL, INVOICE, PAYMENT
from salesctl.ops.records import (
    apply_sets,
    load_for_write,
    new_record,
    parse_assignments,
    record_json,
    validate,
    write_edit,
)
from salesctl.ops.sales import checklist
from salesctl.ops.sales.contract_rules import (
    amount_total,
    check_plan,
    check_plan_dates,
    check_signing_day,
    closed_if_complete,
    customer_name_of,
    money_entries,
    parse_amount,
    parse_day,
    parse_plan,
)
from salesctl.ops.sales.customers import new_for_customer
from salesctl.ops.stages import enter_stage
from salesctl.reports.money import decimal, default_plan, plain
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store, Transaction

EDITABLE = ("title", "amount", "starts", "ends")


# -- creating and signing --------------------------------------------------------------------


def won_stage(config: Config) -> str:
    if config.won_stage is None:
        raise Invalid("no deal stage means won", "name one 'won' in deal_stages (or give it 100%)")
    return config.won_stage


def _linked_deal(store: Store, deal_id: str, customer_id: str) -> Record:
    """The deal a contract names: the customer's, and not lost (signing marks it won, and
    turning a loss into a win is a person's decision: reopening the deal)."""
    if not deal_id.strip():
        raise Invalid("--deal is empty", "give the id of the customer's deal, or leave --deal out")
    deal = load_for_write(store, deal_id, ("deal",))
    if deal.data.get("customer") != customer_id:
        raise Invalid(
            f"deal {deal.id} is for customer {deal.data.get('customer')}, not {customer_id}",
            "link a deal of the contract's customer",
        )
    lost = store.config.lost_stage
    if lost is not None and deal.data.get("stage") == lost:
        raise Invalid(
            f"deal {deal.id} is {lost} ({deal.data.get('reason') or 'no reason given'})",
            f"if it was won after all, reopen it first: salesctl deal move {deal.id} "
            f"--stage {_stage_before(store.config, deal.data, lost)}",
        )
    return deal


def _stage_before(config: Config, deal: dict[str, Any], lost: str) -> str:
    """The open stage a lost deal left for ``lost`` (else the funnel's last open one)."""
    closing = {lost, config.won_stage}
    path = [name for name in (deal.get("stages") or {}) if name not in closing]
    if path:
        return str(path[-1])
    open_stages = [s.id for s in config.deal_stages if s.id not in closing]
    return open_stages[-1] if open_stages else "STAGE"


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
    created = checklist.won_deal_checklist(store, tx, contract, signed=signed)
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
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Add a contract with a customer, in the customer owner's directory: signed (with
    ``signed``: the won-deal checklist is created and a linked deal marked won) or a draft."""
    config = store.config
    if not title or not title.strip():
        raise Invalid("a contract needs --title", "e.g. --title 'ERP licence 2027'")
    total = parse_amount(amount, "--amount")
    signed_on = parse_day(signed, "--signed") if signed is not None else None
    if signed_on is not None:
        check_signing_day(signed_on, "--signed")
    instalments = parse_plan(plan)
    if instalments:
        check_plan(instalments, total)
        check_plan_dates(instalments, signed_on, "--plan")
    elif signed_on is not None:
        instalments = [{"due": d, "amount": a} for d, a in default_plan(total, signed_on)]
    with store.transaction(actor, "contract.add", opts) as tx:
        customer, loc = new_for_customer(store, actor, customer_id, CONTRACT)
        linked = _linked_deal(store, deal, customer.id) if deal is not None else None
        data: dict[str, Any] = {
            "schema_version": 1,
            "customer": customer.id,
            "deal": linked.id if linked else None,
            "title": title.strip(),
            "amount": total,
            "signed": signed_on,
            "starts": parse_day(starts, "--starts") if starts is not None else None,
            "ends": parse_day(ends, "--ends") if ends is not None else None,
            "status": "signed" if signed_on else "draft",
            "plan": instalments,
            "created": clock.today(),
        }
        data = {k: v for k, v in data.items() if v not in (None, [])}
        data = _apply_edits(config, data, sets)
        if data.get("plan"):
            check_plan(data["plan"], data["amount"])
        data = validate(config, CONTRACT, data, new_record(loc))
        tx.write(loc, data)
        contract = Record(loc, data)
        result = record_json(contract)
        name = customer.data.get("name")
        if signed_on is not None:
            result["tasks"] = _sign(store, tx, actor, contract, name)
        state = f"signed {signed_on}" if signed_on else "draft"
        tx.summary = (
            f"contract.add: {loc.id} ({data['title']}, {plain(total)}) for {customer.id} "
            f"({name}), {state}"
        )
    return tx.result(result)


def sign_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    signed: str,
    plan: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Sign a draft: status signed, the plan (given, kept, or the default), the checklist."""
    config = store.config
    signed_on = parse_day(signed, "--date")
    check_signing_day(signed_on, "--date")
    instalments = parse_plan(plan)
    check_plan_dates(instalments, signed_on, "--plan")
    with store.transaction(actor, "contract.sign", opts) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        scopes.check_contract_write(config, actor, "contract.sign", contract)
        if contract.data["status"] != "draft":
            raise Invalid(f"{contract.id} is {contract.data['status']}, not a draft")
        data = dict(contract.data, signed=signed_on, status="signed")
        if instalments:
            check_plan(instalments, data["amount"])
            data["plan"] = instalments
        elif data.get("plan"):
            hint = "the draft's plan; give one due from the signing on: --plan DATE:AMOUNT ..."
            check_plan_dates(data["plan"], signed_on, "--date", hint)
        else:
            data["plan"] = [
                {"due": d, "amount": a} for d, a in default_plan(data["amount"], signed_on)
            ]
        data = validate(config, CONTRACT, data, contract.path)
        tx.write(contract.loc, data)
        signed_record = Record(contract.loc, data)
        result = record_json(signed_record)
        name = customer_name_of(store, data["customer"])
        result["tasks"] = _sign(store, tx, actor, signed_record, name)
        tx.summary = f"contract.sign: {contract.id} ({data['title']}) signed {signed_on}"
    return tx.result(result)


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
    opts: WriteOpts,
    close_tasks: bool = False,
) -> WriteResult[dict[str, Any]]:
    """Move the contract's status by ``change`` (its data in, the new data out); with
    ``close_tasks``, its open tasks are marked done in the same commit."""
    config = store.config
    with store.transaction(actor, action, opts) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        holders = [t.data.get("assignee") for t in checklist.contract_tasks(store, contract)]
        scopes.check_contract_write(config, actor, action, contract, [h for h in holders if h])
        data = change(dict(contract.data))
        data = validate(config, CONTRACT, data, contract.path)
        result = record_json(Record(contract.loc, data))
        if data != contract.data:
            tx.write(contract.loc, data)
            tx.summary = f"{action}: {contract.id} ({data['title']}) now {data['status']}"
        if close_tasks:
            result["closed_tasks"] = closed = checklist.close_open_tasks(store, tx, contract)
            if closed:
                tx.summary += f", {len(closed)} open task(s) closed"
    return tx.result(result)


def activate_contract(
    store: Store, actor: Member, contract_id: str, *, opts: WriteOpts = WRITE
) -> WriteResult[dict[str, Any]]:
    """The service has started: signed -> active."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        if data["status"] not in ("signed", "active"):
            hint = "sign it first" if data["status"] == "draft" else "nothing to activate"
            raise Invalid(f"{contract_id} is {data['status']}", hint)
        return dict(data, status="active")

    return _status_change(store, actor, contract_id, "contract.activate", change, opts=opts)


def cancel_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    reason: str,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Cancel a contract that is not closed; the reason is kept. It then owes nothing, and
    its open checklist tasks are marked done in the same commit."""
    if not reason or not reason.strip():
        raise Invalid("--reason is required", "say why, e.g. --reason 'customer withdrew'")

    def change(data: dict[str, Any]) -> dict[str, Any]:
        if data["status"] in ("closed", "cancelled"):
            raise Invalid(f"{contract_id} is already {data['status']}")
        return dict(data, status="cancelled", reason=reason.strip(), cancelled=clock.today())

    return _status_change(
        store, actor, contract_id, "contract.cancel", change, opts=opts, close_tasks=True
    )


def edit_contract(
    store: Store,
    actor: Member,
    contract_id: str,
    *,
    sets: Iterable[str] = (),
    plan: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Change the title, amount, dates, custom fields or the payment plan. The plan must
    still sum to the amount, and the amount cannot drop below what was paid or invoiced."""
    config = store.config
    instalments = parse_plan(plan)
    with store.transaction(actor, "contract.edit", opts) as tx:
        contract = load_for_write(store, contract_id, ("contract",))
        scopes.check_contract_write(config, actor, "contract.edit", contract)
        data = _apply_edits(config, dict(contract.data), sets)
        money_changed = instalments or data.get("amount") != contract.data.get("amount")
        if money_changed and contract.data["status"] in ("closed", "cancelled"):
            raise Invalid(f"{contract.id} is {contract.data['status']}: its money is final")
        amount = data["amount"]
        if amount <= 0:
            raise Invalid("amount must be more than 0")
        received = amount_total(money_entries(store, contract, PAYMENT))
        invoiced = amount_total(money_entries(store, contract, INVOICE))
        for what, figure in (("received", received), ("invoiced", invoiced)):
            if amount < figure:
                raise Invalid(
                    f"amount {plain(amount)} is below the {plain(figure)} already {what}",
                    "the amount covers what was paid and invoiced",
                )
        if instalments:
            check_plan_dates(instalments, data.get("signed"), "--plan")
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
        data = closed_if_complete(data, received, invoiced)
        data = validate(config, CONTRACT, data, contract.path)
        edited = write_edit(tx, "contract.edit", contract, data)
        if data.get("plan") != contract.data.get("plan"):
            moved = checklist.follow_plan(store, tx, Record(contract.loc, data))
            if moved:
                tx.summary += f", due date of {', '.join(moved)} follows the plan"
    return tx.result(edited)
