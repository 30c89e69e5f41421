"""Webhook intake: leads and payments sent by other systems, each as one commit.

``salesctl serve`` authenticates a request and decodes its JSON, then calls ``Intake``;
everything here is plain Python, testable without HTTP. Deliveries are handled one at a
time (``Intake.lock``; the store's own lock serialises them against other commands), each in
a fresh ``Store`` (the index's SQLite connection belongs to one thread, and a changed
``salesctl.yaml`` takes effect at once).

- A lead is checked field by field (``FieldErrors`` names each bad field), routed (its
  ``owner``, else the first matching ``routing:`` rule, else the pool), and committed as
  ``lead add`` would, authored by the member ``serve`` runs as. A lead that duplicates an
  existing lead or customer (the duplicate guard's keys, ``model/dupkeys.py``: normalised
  company, E.164 phone, email, company email domain) is not created: the answer names the
  existing record's id and kind with ``duplicate: true``, as ``lead add`` would refuse it.
- A payment is recorded by ``record_payment``, as ``contract pay`` does (same checks), with
  the platform's transaction id as the payment's ``ref``; a transaction id already recorded
  answers with that payment instead.
- Idempotency: the first answer to each ``X-Salesctl-Delivery`` id is kept under
  ``.git/salesctl/deliveries/`` (never committed), and a repeated delivery gets it back with
  nothing written. A lead's commit also carries the id as a ``Salesctl-Delivery:`` trailer,
  so ``catch_up`` rebuilds the log in a fresh clone (payments need no trailer: their
  transaction id is in the record).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesctl.atomic import write_atomic
from salesctl.errors import Ambiguous, Duplicate, Invalid, NotFound
from salesctl.git import Repo
from salesctl.model.config import Config
from salesctl.model.integrations import parse_routing
from salesctl.model.kinds import LEAD, kind_of_id
from salesctl.model.rules import coerce_custom
from salesctl.model.values import coerce_amount, coerce_line
from salesctl.reports.money import plain
from salesctl.store.results import WriteOpts
from salesctl.store.store import Store

DELIVERY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
TEXT_FIELDS = ("company", "name", "email", "phone", "source", "stage", "notes")
LEAD_FIELDS = (*TEXT_FIELDS, "tags", "owner", "custom")
PAYMENT_FIELDS = ("contract", "order_ref", "amount", "paid_at", "transaction_id", "currency")
PAYMENT_TEXT_FIELDS = ("contract", "order_ref", "transaction_id", "currency", "paid_at")
MAX_TEXT = 2000
KEEP_DELIVERIES_DAYS = 90


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


def route(store: Store, config: Config, lead: LeadInput) -> tuple[str | None, str]:
    """(owner member id or None for the pool, why): the lead's ``owner``, else the first
    matching ``routing:`` rule, else the pool. A rule that finds nobody to deal to falls
    back to the pool rather than refusing the lead."""
    from salesctl.ops.sales.lead_import import round_robin_members

    if lead.owner:
        return lead.owner, "owner"
    rules, _problems = parse_routing(config.extra.get("routing"), config.members, config.teams)
    for rule in rules:
        if not rule.matches(lead.text.get("source"), lead.tags, lead.text.get("email")):
            continue
        why = f"routing[{rule.position - 1}]"
        if rule.to:
            return rule.to, why
        if rule.team or rule.round_robin:
            try:
                return round_robin_members(store, config, rule.team)[0].id, why
            except Invalid:
                return None, f"{why}: nobody to deal to, so the pool"
        return None, why
    return None, "pool"


# -- payments ------------------------------------------------------------------------------


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
            moment = dt.datetime.fromisoformat(texts["paid_at"].replace("Z", "+00:00"))
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


def contract_for(store: Store, payment: PaymentInput) -> str:
    """The contract a payment is for: its id, or the contract whose ``custom.order_ref``
    equals the payment's ``order_ref``."""
    if payment.contract:
        return store.resolve(payment.contract, ("contract",)).id
    if not payment.order_ref:  # a platform's event may lack it (Stripe's metadata)
        raise Invalid(
            "the payment names no order reference",
            "give the order reference the contract's custom.order_ref holds",
        )
    rows = store.index.select(
        "contract", [], "json_extract(data, '$.custom.order_ref') = ?", [payment.order_ref]
    )
    if not rows:
        raise NotFound(
            f"no contract with custom.order_ref {payment.order_ref}",
            "set it on the contract: salesctl contract edit ID --set custom.order_ref=...",
        )
    if len(rows) > 1:
        ids = ", ".join(str(r[0]) for r in rows)
        raise Ambiguous(f"order_ref {payment.order_ref} is on {len(rows)} contracts: {ids}")
    return str(rows[0][0])


# -- the delivery log and duplicates -----------------------------------------------------------


class DeliveryLog:
    """Delivery id -> the first answer, one small file per delivery (never committed)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.folder = repo.state_dir / "deliveries"
        self.folder.mkdir(exist_ok=True)

    def _path(self, delivery: str) -> Path:
        return self.folder / (hashlib.sha256(delivery.encode()).hexdigest()[:40] + ".json")

    def get(self, delivery: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(delivery).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("delivery") == delivery else None

    def put(self, delivery: str, answer: dict[str, Any]) -> None:
        record = {"delivery": delivery, **answer}
        write_atomic(self._path(delivery), json.dumps(record, default=str).encode())

    def prune(self, keep_days: int = KEEP_DELIVERIES_DAYS) -> int:
        """Forget deliveries older than ``keep_days`` (senders retry for hours, not months;
        a lead sent again after that is still caught as a duplicate)."""
        limit = time.time() - keep_days * 86400
        removed = 0
        for path in self.folder.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def catch_up(self) -> int:
        """Learn the deliveries in commits not seen yet (a fresh clone, a pull, a crash
        between a commit and its log entry) from their ``Salesctl-Delivery`` trailers."""
        marker = self.folder / "HEAD"
        head = self.repo.head()
        if head is None:
            return 0
        seen = marker.read_text().strip() if marker.exists() else ""
        base = self.repo.run("merge-base", seen, head, check=False).strip() if seen else ""
        span = [f"{seen}..{head}"] if seen and base == seen else [head]  # else: all of it
        out = self.repo.run(
            "log",
            "--fixed-strings",
            "--grep=Salesctl-Delivery: ",
            "--format=%(trailers:key=Salesctl-Delivery,valueonly,separator=%x1f)%x1e"
            "%(trailers:key=Salesctl-Record,valueonly,separator=%x1f)%x1e"
            "%(trailers:key=Salesctl-Action,valueonly)%x1d",
            *span,
            check=False,
        )
        learned = 0
        for chunk in out.split("\x1d"):
            parts = chunk.strip().split("\x1e")
            if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
                continue
            delivery, record = parts[0].strip(), parts[1].split("\x1f")[0].strip()
            if DELIVERY_RE.match(delivery) and self.get(delivery) is None:
                kind = "lead" if parts[2].strip().startswith("lead.") else "record"
                self.put(delivery, {"id": record, "kind": kind, "duplicate": False})
                learned += 1
        write_atomic(marker, head.encode())
        return learned


def duplicate_of(store: Store, keys: list[str]) -> str | None:
    """The id of a lead or customer that has one of ``keys`` (the duplicate guard's index
    lookup), or None."""
    from salesctl.ops.sales.dupguard import holders

    found = holders(store, keys)
    return found[0].id if found else None


# -- the intake ------------------------------------------------------------------------------


class Intake:
    """One clone's webhook intake. ``on_commit`` is called after each commit (``--push``)."""

    def __init__(self, root: Path, actor_id: str) -> None:
        self.root = root
        self.actor_id = actor_id
        self.lock = threading.Lock()
        self.log = DeliveryLog(Repo(root))
        self.on_commit: Callable[[], None] | None = None

    def open(self) -> Store:
        return Store(self.root)

    def add_lead(self, body: Any, delivery: str | None = None) -> tuple[bool, dict[str, Any]]:
        """(created, answer): the new lead's id and owner, or the existing lead's id with
        ``duplicate``, or the first answer again for a repeated ``delivery``."""
        with self.lock:
            if delivery and (first := self.log.get(delivery)) is not None:
                return False, _repeated(first)
            store = self.open()
            lead = parse_lead(store.config, body)
            keys = lead.duplicate_keys(store.config.region)
            existing = duplicate_of(store, keys)
            answer = (
                {"id": existing, "kind": _kind_of(existing), "duplicate": True}
                if existing is not None
                else self._commit_lead(store, lead, keys, delivery)
            )
            if delivery:
                self.log.put(delivery, answer)
        created = not answer["duplicate"]
        if created and self.on_commit:
            self.on_commit()
        return created, answer

    def _commit_lead(
        self, store: Store, lead: LeadInput, keys: list[str], delivery: str | None
    ) -> dict[str, Any]:
        """Build the lead exactly as ``lead add`` would (a dry run: all its checks), then
        commit that file with the delivery trailer. Duplicates are looked for again under
        the store lock, so no other command can add the same lead in between."""
        from salesctl.ops.sales.leads import add_lead

        config = store.config
        actor = store.identify(self.actor_id)
        owner, why = route(store, config, lead)
        text = lead.text
        try:
            preview = add_lead(
                store,
                actor,
                company=text.get("company"),
                name=text.get("name"),
                email=text.get("email"),
                phone=text.get("phone"),
                source=text.get("source"),
                stage=text.get("stage"),
                tags=lead.tags,
                to=owner,
                pool=owner is None,
                sets=[f"custom.{k}={v}" for k, v in lead.custom.items()]
                + ([f"notes={text['notes']}"] if "notes" in text else []),
                opts=WriteOpts(dry_run=True),
            )
        except Duplicate as found:  # the validated fields found what the raw text did not
            return {"id": found.record_id, "kind": found.kind, "duplicate": True}
        record = preview.data
        with store.transaction(actor, "lead.add") as tx:
            existing = duplicate_of(store, keys)
            if existing is None:
                for path, content in preview.staged.items():
                    tx.write_file(path, content)
                tx.mention(record["id"])
                tx.summary = f"{preview.summary} via webhook ({why})"
                if delivery:
                    tx.trailers.append(f"Salesctl-Delivery: {delivery}")
        if existing is not None:
            return {"id": existing, "kind": _kind_of(existing), "duplicate": True}
        answer = {"id": record["id"], "kind": "lead", "owner": record.get("owner")}
        answer.update(duplicate=False, routed=why, commit=tx.commit_id)
        return answer

    def add_payment(self, body: Any, delivery: str | None = None) -> tuple[bool, dict[str, Any]]:
        """(created, answer): the payment recorded as ``contract pay`` would, or the
        payment already recorded for the transaction id, or the first answer again for a
        repeated ``delivery``."""
        return self.take_payment(lambda config: parse_payment(config, body), delivery)

    def take_payment(
        self, read: Callable[[Config], PaymentInput], delivery: str | None = None
    ) -> tuple[bool, dict[str, Any]]:
        """``add_payment`` for a payment ``read`` from the org's config: salesctl's own JSON
        or a payment platform's event (``platforms``), so both commit, announce and
        de-duplicate alike."""
        from salesctl.ops.sales.payments import record_payment

        with self.lock:
            if delivery and (first := self.log.get(delivery)) is not None:
                return False, _repeated(first)
            store = self.open()
            config = store.config
            actor = store.identify(self.actor_id)
            payment = read(config)
            rows = store.index.select(
                "payment", [], "json_extract(data, '$.ref') = ?", [payment.transaction_id]
            )
            if rows:
                answer: dict[str, Any] = {"id": rows[0][0], "kind": "payment"}
                answer.update(contract=rows[0][3], duplicate=True)
                created = False
            else:
                contract_id = contract_for(store, payment)
                paid = record_payment(
                    store,
                    actor,
                    contract_id,
                    amount=str(payment.amount),
                    date=payment.paid_on.isoformat(),
                    ref=payment.transaction_id,
                )
                result = paid.data
                answer = {"id": result["id"], "kind": "payment", "contract": contract_id}
                answer.update(
                    received=plain(result["received"]),
                    outstanding=plain(result["outstanding"]),
                    duplicate=False,
                    commit=paid.commit_id,
                )
                created = True
            if delivery:
                self.log.put(delivery, answer)
        if created and self.on_commit:
            self.on_commit()
        return created, answer

    def add_feedback(self, body: Any, delivery: str | None = None) -> tuple[bool, dict[str, Any]]:
        """salesctl's own feedback JSON (``feedback_sources.own_feedback``)."""
        from salesctl.ops.integrations.feedback_sources import own_feedback

        return self.take_feedback(own_feedback(body), delivery)

    def take_feedback(self, given: Any, delivery: str | None = None) -> tuple[bool, dict[str, Any]]:
        """(created, answer): feedback recorded as ``feedback add`` would (with its customer
        or in triage), or the feedback a repeated delivery of the same source made. The
        delivery id is kept in the record, so a fresh clone knows it too."""
        from salesctl.ops.sales.feedback import add_feedback

        with self.lock:
            store = self.open()
            actor = store.identify(self.actor_id)
            added = add_feedback(
                store,
                actor,
                source=given.source,
                text=given.text,
                author=given.author,
                email=given.email,
                phone=given.phone,
                link=given.link,
                delivery=delivery,
            )
        created = added.commit_id is not None
        answer = {"id": added.data["id"], "kind": "feedback", "duplicate": not created}
        if created:
            answer["commit"] = added.commit_id
            if self.on_commit:
                self.on_commit()
        return created, answer


def _repeated(first: dict[str, Any]) -> dict[str, Any]:
    answer = {k: v for k, v in first.items() if k != "delivery"}
    answer["repeated"] = True
    return answer


def _kind_of(record_id: str) -> str:
    """``lead`` or ``customer``: what an existing duplicate is (a lead's company may be a
    customer already)."""
    kind = kind_of_id(record_id)
    return kind.name if kind else "lead"
