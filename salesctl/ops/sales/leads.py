"""Lead use cases: add, edit (by --set or a whole edited document), list and show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.ids import new_id
from salesctl.model.config import Member
from salesctl.model.kinds import CUSTOMER, DEAL, LEAD
from salesctl.ops.records import (
    OwnedBy,
    add_owned_record,
    input_phone,
    list_records,
    load_for_write,
    new_record,
    record_json,
    validate,
)
from salesctl.ops.stages import enter_stage, move_stage
from salesctl.store.layout import RecordPath, record_file
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

# The lead stages only their own verbs set: ``converted`` comes with the customer that
# ``lead convert`` makes and links, ``disqualified`` with the reason reports give.
CLOSING_LEAD_STAGES = {
    "converted": "`salesctl lead convert` makes the customer",
    "disqualified": "`salesctl lead disqualify --reason` records why",
}


def closing_stage(stage: object, reason: object = None) -> tuple[str, str] | None:
    """Why a person may not put a lead in ``stage`` by hand (``lead add``, ``lead edit``, an
    import row, a follow-up), as (what, hint); None if they may. The one rule: ``converted``
    only by converting, ``disqualified`` only with a ``reason``."""
    if stage == "converted":
        return "stage converted is set by converting the lead", CLOSING_LEAD_STAGES["converted"]
    if stage == "disqualified" and not str(reason or "").strip():
        return "stage disqualified needs a reason", CLOSING_LEAD_STAGES["disqualified"]
    return None


def add_lead(
    store: Store,
    actor: Member,
    *,
    company: str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    source: str | None = None,
    tags: Iterable[str] = (),
    stage: str | None = None,
    to: str | None = None,
    pool: bool = False,
    sets: Iterable[str] = (),
    allow_duplicate: bool = False,
    reason: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Create one lead owned by ``to`` (default: the actor) or in the pool."""
    company, name = (value.strip() or None if value else None for value in (company, name))
    if not (company or name):
        raise Invalid(
            "a lead needs --company or --name", "e.g. --company 'Acme Ltd' --name 'Wei Zhang'"
        )
    phone = input_phone(store.config, phone)
    today = clock.today()
    data: dict[str, Any] = {
        "schema_version": 1,
        "company": company,
        "name": name,
        "email": email,
        "phone": phone,
        "source": source,
        "tags": list(tags),
        "created": today,
    }
    enter_stage(data, stage or store.config.lead_stages[0], today)
    label = str(company or name)
    return add_owned_record(
        store, actor, LEAD, data, to=to, pool=pool, sets=sets, label=label, opts=opts,
        allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip


def list_leads(store: Store, viewer: Member, **filters: Any) -> list[dict[str, Any]]:
    where = list(filters.pop("where", ()))
    if filters.get("stage"):
        store.config.require_lead_stage(filters["stage"])
    for name in ("stage", "source"):
        if filters.get(name):
            where.append((name, filters[name]))
        filters.pop(name, None)
    for tag in filters.pop("tags", ()) or ():
        where.append(("tags", tag))
    return list_records(store, viewer, "lead", OwnedBy(**filters), where)


def convert_lead(
    store: Store,
    actor: Member,
    lead_id: str,
    *,
    deal_title: str | None = None,
    deal_amount: str | None = None,
    allow_duplicate: bool = False,
    reason: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Turn a lead into a customer (its contact person becomes the first contact) and
    optionally open a deal; the lead is marked ``converted`` and linked. One commit.
    Refused if another customer or lead has the new customer's keys (the duplicate guard),
    unless ``allow_duplicate`` with a ``reason``."""
    from salesctl.ops.sales.dupguard import override, refuse_duplicate

    config = store.config
    allowed = override(store, actor, "customer", allow_duplicate, reason)
    if (deal_title is None) != (deal_amount is None):
        raise Invalid("--deal and --amount go together", "give both, or neither")
    with store.transaction(actor, "lead.convert", opts) as tx:
        lead = load_for_write(store, lead_id, ("lead",))
        scopes.check_write(config, actor, "lead.convert", lead.owner, record=lead.id)
        if lead.owner.is_pool:
            raise Invalid(f"{lead.id} is in the pool", "claim or assign it before converting")
        if lead.data.get("stage") in ("converted", "disqualified"):
            raise Invalid(f"{lead.id} is already {lead.data['stage']}")
        today = clock.today()
        customer_id = new_id(CUSTOMER.prefix)
        contact = {k: lead.data[k] for k in ("name", "phone", "email") if lead.data.get(k)}
        customer: dict[str, Any] = {
            "schema_version": 1,
            "name": lead.data.get("company") or lead.data.get("name"),
            "source": lead.data.get("source"),
            "tags": lead.data.get("tags"),
            "contacts": [contact] if contact.get("name") else [],
            "participants": lead.data.get("participants"),
            "created": today,
            "lead": lead.id,
        }
        customer = {k: v for k, v in customer.items() if v not in (None, [])}
        customer = refuse_duplicate(store, "customer", customer, allowed=allowed, exclude=[lead.id])
        customer_loc = RecordPath(
            record_file(lead.owner, CUSTOMER, customer_id), CUSTOMER, customer_id, lead.owner
        )
        tx.write(customer_loc, validate(config, CUSTOMER, customer, new_record(customer_loc)))
        lead_data = dict(lead.data, customer=customer_id)
        move_stage(config, LEAD, lead_data, "converted")
        tx.write(lead.loc, validate(config, LEAD, lead_data, lead.path))
        result: dict[str, Any] = {
            "lead": lead.id,
            "customer": record_json(Record(customer_loc, customer)),
        }
        if deal_title is not None:
            deal_id = new_id(DEAL.prefix)
            deal: dict[str, Any] = {
                "schema_version": 1,
                "customer": customer_id,
                "title": deal_title,
                "amount": deal_amount,
                "created": today,
            }
            enter_stage(deal, config.deal_stages[0].id, today)
            deal_loc = RecordPath(record_file(lead.owner, DEAL, deal_id), DEAL, deal_id, lead.owner)
            deal = validate(config, DEAL, deal, new_record(deal_loc))
            tx.write(deal_loc, deal)
            result["deal"] = record_json(Record(deal_loc, deal))
        tx.summary = f"lead.convert: {lead.id} to customer {customer_id} ({customer['name']})"
    return tx.result(result)


def disqualify_lead(
    store: Store,
    actor: Member,
    lead_id: str,
    *,
    reason: str,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Close a lead as not worth pursuing, with the reason (reports count these)."""
    config = store.config
    if not reason.strip():
        raise Invalid("--reason is required", "say why, e.g. --reason 'no budget'")
    with store.transaction(actor, "lead.disqualify", opts) as tx:
        lead = load_for_write(store, lead_id, ("lead",))
        scopes.check_write(config, actor, "lead.disqualify", lead.owner, record=lead.id)
        if lead.data.get("stage") == "converted":
            raise Invalid(f"{lead.id} is already converted to {lead.data.get('customer')}")
        data = dict(lead.data, reason=reason.strip())
        move_stage(config, LEAD, data, "disqualified")
        data = validate(config, LEAD, data, lead.path)
        tx.write(lead.loc, data)
        tx.summary = f"lead.disqualify: {lead.id} ({reason.strip()})"
    return tx.result(record_json(Record(lead.loc, data)))
