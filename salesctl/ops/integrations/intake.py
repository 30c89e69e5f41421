"""Webhook intake: leads and payments sent by other systems, each as one commit.

``salesctl serve`` authenticates a request and decodes its JSON, then calls ``Intake``;
everything here is plain Python, testable without HTTP. Deliveries are handled one at a
time (``Intake.lock``; the store's own lock serialises them against other commands), each in
a fresh ``Store`` (the index's SQLite connection belongs to one thread, and a changed
``salesctl.yaml`` takes effect at once). A body is checked field by field in
``intake_fields``; the delivery log is ``deliveries``.

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
  ``.git/salesctl/deliveries/`` (never committed), per endpoint, and a repeated delivery gets
  it back with nothing written. A lead's commit also carries the id as a
  ``Salesctl-Delivery:`` trailer, so ``catch_up`` rebuilds the log in a fresh clone
  (payments need no trailer: their transaction id is in the record).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salesctl import clock
from salesctl.errors import Ambiguous, Duplicate, Invalid, NotFound
from salesctl.git import Repo
from salesctl.model.config import Config
from salesctl.model.integrations import parse_routing
from salesctl.model.kinds import kind_of_id
from salesctl.ops.integrations.deliveries import LEADS, PAYMENTS, DeliveryLog, repeated
from salesctl.ops.integrations.intake_fields import (
    FieldErrors,
    LeadInput,
    PaymentInput,
    parse_lead,
    parse_payment,
)
from salesctl.reports.money import plain
from salesctl.store.results import WriteOpts
from salesctl.store.store import Store


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


def check_paid_on(store: Store, contract_id: str, day: dt.date) -> None:
    """A payment's day by the rules ``contract pay --date`` holds (not in the future, not
    before the signing), refused as its field, ``paid_at``."""
    from salesctl.ops.sales.contract_rules import entry_date_problem

    if day > clock.today():
        problem: str | None = f"{day} is in the future: send a payment once it has arrived"
    else:
        problem = entry_date_problem(day, store.read(store.resolve(contract_id, ("contract",))))
    if problem:
        raise FieldErrors("payment", {"paid_at": problem})


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

        def take(store: Store) -> dict[str, Any]:
            lead = parse_lead(store.config, body)
            keys = lead.duplicate_keys(store.config.region)
            existing = duplicate_of(store, keys)
            if existing is not None:
                return {"id": existing, "kind": _kind_of(existing), "duplicate": True}
            return self._commit_lead(store, lead, keys, delivery)

        return self._once(LEADS, delivery, take)

    def _once(
        self, endpoint: str, delivery: str | None, take: Callable[[Store], dict[str, Any]]
    ) -> tuple[bool, dict[str, Any]]:
        """(created, answer) of ``take`` run in a fresh store, one delivery at a time; a
        ``delivery`` id this ``endpoint`` took before gets its first answer back and nothing
        runs (another endpoint's id is another delivery)."""
        with self.lock:
            if delivery and (first := self.log.get(endpoint, delivery)) is not None:
                return False, repeated(first)
            answer = take(self.open())
            if delivery:
                self.log.put(endpoint, delivery, answer)
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
        self,
        read: Callable[[Config], PaymentInput],
        delivery: str | None = None,
        endpoint: str = PAYMENTS,
    ) -> tuple[bool, dict[str, Any]]:
        """``add_payment`` for a payment ``read`` from the org's config: salesctl's own JSON
        or a payment platform's event (``platforms``; ``endpoint`` is the platform's path),
        so both commit, announce and de-duplicate alike."""
        from salesctl.ops.sales.payments import record_payment

        def take(store: Store) -> dict[str, Any]:
            actor = store.identify(self.actor_id)
            payment = read(store.config)
            rows = store.index.select(
                "payment", [], "json_extract(data, '$.ref') = ?", [payment.transaction_id]
            )
            if rows:
                return {
                    "id": rows[0][0],
                    "kind": "payment",
                    "contract": rows[0][3],
                    "duplicate": True,
                }
            contract_id = contract_for(store, payment)
            check_paid_on(store, contract_id, payment.paid_on)
            paid = record_payment(
                store,
                actor,
                contract_id,
                amount=str(payment.amount),
                date=payment.paid_on.isoformat(),
                ref=payment.transaction_id,
            )
            return {
                "id": paid.data["id"],
                "kind": "payment",
                "contract": contract_id,
                "received": plain(paid.data["received"]),
                "outstanding": plain(paid.data["outstanding"]),
                "duplicate": False,
                "commit": paid.commit_id,
            }

        return self._once(endpoint, delivery, take)

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


def _kind_of(record_id: str) -> str:
    """``lead`` or ``customer``: what an existing duplicate is (a lead's company may be a
    customer already)."""
    kind = kind_of_id(record_id)
    return kind.name if kind else "lead"
