"""What a webhook sends, checked field by field before anything is written.

``parse_lead`` and ``parse_payment`` turn salesctl's own JSON (and, through ``platforms``, a
payment platform's event) into a ``LeadInput`` or ``PaymentInput``; ``FieldErrors`` names
every bad field at once, as the HTTP answer's ``fields``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from salesctl.errors import Invalid
from salesctl.ids import is_id
from salesctl.model.config import Config
from salesctl.model.kinds import LEAD
from salesctl.model.rules import coerce_custom
from salesctl.model.values import coerce_amount, coerce_line, iso_datetime

TEXT_FIELDS = ("company", "name", "email", "phone", "source", "stage", "notes")
LEAD_FIELDS = (*TEXT_FIELDS, "tags", "owner", "custom")
PAYMENT_FIELDS = ("contract", "order_ref", "amount", "paid_at", "transaction_id", "currency")
PAYMENT_TEXT_FIELDS = ("contract", "order_ref", "transaction_id", "currency", "paid_at")
MAX_TEXT = 2000


class FieldErrors(Invalid):
    """Bad input, field by field: ``fields`` maps a field name to what is wrong with it."""

    def __init__(self, what: str, fields: dict[str, str]) -> None:
        shown = "; ".join(f"{k}: {v}" for k, v in fields.items())
        super().__init__(f"invalid {what}: {shown}", "fix the fields and send it again")
        self.fields = fields


# -- leads ---------------------------------------------------------------------------------


@dataclass
class LeadInput:
    text: dict[str, str] = field(default_factory=dict)  # company, name, email, ... as given
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    custom: dict[str, str] = field(default_factory=dict)  # as --set custom.NAME=VALUE text

    def duplicate_keys(self, region: str) -> list[str]:
        from salesctl.model.dupkeys import record_keys

        return record_keys("lead", dict(self.text), region)


def _texts(
    body: dict[Any, Any], names: Iterable[str], errors: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """The fields of ``names`` given as text (a number counts: a form may send one), as
    text; any other value is an error of its field. Absent and empty fields are skipped."""
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            errors[name] = "expected text"
            continue
        yield name, str(value)


def _closing_stage(stage: str | None) -> tuple[str, str] | None:
    """A stage the lead's own verb sets (``leads.closing_stage``): a web form gives no reason."""
    from salesctl.ops.sales.leads import closing_stage

    return closing_stage(stage)


def parse_lead(config: Config, body: Any) -> LeadInput:
    """A webhook lead checked field by field; ``FieldErrors`` lists every problem."""
    if not isinstance(body, dict):
        raise FieldErrors("lead", {"": "expected a JSON object of lead fields"})
    errors: dict[str, str] = {}
    lead = LeadInput()
    for key in body:
        if key not in LEAD_FIELDS:
            errors[str(key)] = f"unknown field (known: {', '.join(LEAD_FIELDS)})"
    for name, value in _texts(body, TEXT_FIELDS, errors):
        try:
            text = LEAD.by_name[name].coerce(value)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if len(text) > MAX_TEXT:
            errors[name] = f"longer than {MAX_TEXT} characters"
        elif text:
            lead.text[name] = text
    if not (lead.text.get("company") or lead.text.get("name")) and not (
        {"company", "name"} & errors.keys()
    ):
        errors["company"] = "a lead needs a company or a name"
    stage = lead.text.get("stage")
    if stage is not None and stage not in config.lead_stages:
        errors["stage"] = f"{stage!r} is not a lead stage ({', '.join(config.lead_stages)})"
    elif (refused := _closing_stage(stage)) is not None:
        errors["stage"] = f"{refused[0]} ({refused[1]})"
    tags = body.get("tags")
    if tags is not None:
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = "expected a list of text"
        else:
            try:
                lead.tags = [coerce_line(t) for t in tags if t.strip()]
            except ValueError as exc:
                errors["tags"] = str(exc)
    owner = body.get("owner")
    if owner is not None:
        member = config.member(owner) if isinstance(owner, str) else None
        member = member or (config.member_by_email(owner) if isinstance(owner, str) else None)
        if member is None:
            errors["owner"] = f"{owner!r} is not a member id"
        elif not member.active:
            errors["owner"] = f"{member.id} is inactive"
        else:
            lead.owner = member.id
    _parse_custom(config, body.get("custom"), lead, errors)
    if errors:
        raise FieldErrors("lead", errors)
    return lead


def _parse_custom(config: Config, custom: Any, lead: LeadInput, errors: dict[str, str]) -> None:
    if custom is None:
        return
    if not isinstance(custom, dict):
        errors["custom"] = "expected an object of custom field: value"
        return
    specs = {f.name: f for f in config.custom_fields.get("lead", ())}
    for name, value in custom.items():
        key = f"custom.{name}"
        spec = specs.get(name)
        if spec is None:
            errors[key] = f"not a custom field of leads ({', '.join(specs) or 'none configured'})"
            continue
        try:
            coerce_custom(spec, value)
        except ValueError as exc:
            errors[key] = str(exc)
            continue
        lead.custom[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)


@dataclass
class PaymentInput:
    transaction_id: str
    amount: Decimal
    paid_on: dt.date
    contract: str | None = None
    order_ref: str | None = None


def parse_payment(config: Config, body: Any) -> PaymentInput:
    """A payment platform's event checked field by field; ``FieldErrors`` lists every problem."""
    from salesctl.ops.sales.followups import org_zone

    if not isinstance(body, dict):
        raise FieldErrors("payment", {"": "expected a JSON object"})
    errors: dict[str, str] = {}
    for key in body:
        if key not in PAYMENT_FIELDS:
            errors[str(key)] = f"unknown field (known: {', '.join(PAYMENT_FIELDS)})"
    texts: dict[str, str] = {}
    for name, value in _texts(body, PAYMENT_TEXT_FIELDS, errors):
        text = value.strip()
        if not text or "\n" in text or len(text) > 128:
            errors[name] = "expected one line of at most 128 characters"
        else:
            texts[name] = text
    if "transaction_id" not in texts and "transaction_id" not in errors:
        errors["transaction_id"] = "is required: the platform's id of the transaction"
    if ("contract" in texts) == ("order_ref" in texts):
        errors.setdefault("contract", "give the contract id or an order_ref, one of the two")
    elif "contract" in texts:  # a machine names the contract in full, never by a prefix
        texts["contract"] = texts["contract"].upper()
        if not is_id(texts["contract"]):
            errors["contract"] = "expected a contract's full id, e.g. K-7KQ2M4XR9TAB"
    currency = texts.get("currency")
    if currency and currency.upper() != config.currency.upper():
        errors["currency"] = f"{currency} is not the store's currency {config.currency}"
    amount = Decimal(0)
    try:
        amount = coerce_amount(body.get("amount"))
        if amount <= 0:
            errors["amount"] = "must be more than 0"
    except ValueError as exc:
        errors["amount"] = str(exc)
    paid_on = None
    if "paid_at" in texts:
        try:
            moment = iso_datetime(texts["paid_at"])
            if moment.tzinfo is not None:
                moment = moment.astimezone(org_zone(config))
            paid_on = moment.date()
        except ValueError:
            errors["paid_at"] = "expected an ISO 8601 time, e.g. 2026-11-20T09:30:00+08:00"
    elif "paid_at" not in errors:
        errors["paid_at"] = "is required: when the money was paid (ISO 8601)"
    if errors or paid_on is None:
        raise FieldErrors("payment", errors)
    return PaymentInput(
        transaction_id=texts["transaction_id"],
        amount=amount,
        paid_on=paid_on,
        contract=texts.get("contract"),
        order_ref=texts.get("order_ref"),
    )
