"""Customer feedback (用户反馈): what customers say in the community and product channels.

Feedback lives with the customer it is matched to (``customers/<ID>/feedback/FB-....yaml``),
so the owner's scope and sharing cover it; feedback no customer matches waits in the
company's triage directory (``feedback/<ID>/feedback.yaml``), which only roles with
``feedback.triage`` (leads, directors) read, until someone assigns it to a customer.

Matching (``match_customer``, pure): a customer contact's email, then the company email
domain (never a free-mail one), then the phone in E.164; the first match wins and is
recorded with its rule (``matched_by``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.ids import new_id
from salesctl.model.config import Member
from salesctl.model.dupkeys import email_keys, phone_key
from salesctl.model.kinds import FEEDBACK, FEEDBACK_STATUSES
from salesctl.ops.records import (
    child_loc,
    new_record,
    readable,
    record_json,
    require_readable,
    show_record,
    validate,
)
from salesctl.store.layout import COMPANY, RecordPath, parse_path, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

Match = tuple[str, str]  # (customer id, the rule that matched: contact-email, domain, phone)


def _contact_keys(data: Mapping[str, Any], region: str) -> tuple[set[str], set[str], set[str]]:
    """A customer's contacts' emails, company email domains and phones, as dupkeys keys."""
    emails: set[str] = set()
    domains: set[str] = set()
    phones: set[str] = set()
    for contact in data.get("contacts") or ():
        if not isinstance(contact, dict):
            continue
        for key in email_keys(contact.get("email") or ""):
            (emails if key.startswith("e:") else domains).add(key[2:])
        phone = phone_key(contact.get("phone"), region) if contact.get("phone") else None
        if phone:
            phones.add(phone)
    return emails, domains, phones


def match_customer(
    customers: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    email: str | None,
    phone: str | None,
    region: str,
) -> Match | None:
    """The customer feedback from ``email``/``phone`` belongs to, and the rule that said so:
    a contact's email first, then the company email domain, then the phone (E.164)."""
    keys = email_keys(email) if email else []
    address = next((k[2:] for k in keys if k.startswith("e:")), None)
    domain = next((k[2:] for k in keys if k.startswith("d:")), None)  # never free-mail
    number = phone_key(phone, region) if phone else None
    table = [(cid, _contact_keys(data, region)) for cid, data in customers]
    for rule, wanted, column in (
        ("contact-email", address, 0),
        ("domain", domain, 1),
        ("phone", number, 2),
    ):
        if wanted is None:
            continue
        for customer_id, columns in sorted(table, key=lambda row: row[0]):
            if wanted in columns[column]:
                return customer_id, rule
    return None


def _customers(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Every customer (matching looks at all of them: feedback goes where it belongs)."""
    rows = []
    for path, data, _problems in store.index.query("customer", "", []):
        loc = parse_path(path)
        if loc is not None and data is not None:
            rows.append((loc.id, data))
    return rows


def _by_delivery(store: Store, source: str, delivery: str) -> RecordPath | None:
    where = "json_extract(data, '$.source') = ? AND json_extract(data, '$.delivery') = ?"
    for path, _data, _problems in store.index.query("feedback", where, [source, delivery]):
        return parse_path(path)
    return None


def add_feedback(
    store: Store,
    actor: Member,
    *,
    source: str,
    text: str,
    author: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    link: str | None = None,
    delivery: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Record feedback: with the customer it matches, else in triage. A ``delivery`` id seen
    before (a webhook's retry) changes nothing and answers the feedback it made."""
    config = store.config
    scopes.check_feedback_write(config, actor, "feedback.add", COMPANY)
    if not source or not source.strip():
        raise Invalid("--source is required", "e.g. --source github, --source wechat-group")
    if not text or not text.strip():
        raise Invalid("--text is required", "say what the customer said")
    with store.transaction(actor, "feedback.add", opts) as tx:
        if delivery:
            seen = _by_delivery(store, source.strip(), delivery)
            if seen is not None:
                return tx.result(_visible_json(store, actor, store.read(seen)))
        feedback_id = new_id(FEEDBACK.prefix)
        found = match_customer(_customers(store), email=email, phone=phone, region=config.region)
        data: dict[str, Any] = {
            "schema_version": 1,
            "source": source.strip(),
            "sender": author,
            "email": email,
            "phone": phone,
            "text": text.strip(),
            "link": link,
            "received": clock.now(),
            "status": "open",
            "delivery": delivery,
        }
        if found is None:
            loc = RecordPath(
                record_file(COMPANY, FEEDBACK, feedback_id), FEEDBACK, feedback_id, COMPANY
            )
        else:
            customer = store.read(store.resolve(found[0], ("customer",)))
            data.update(customer=customer.id, matched_by=found[1])
            loc = child_loc(customer, FEEDBACK, feedback_id)
            tx.mention(customer.id)
        data = validate(config, FEEDBACK, {k: v for k, v in data.items() if v}, new_record(loc))
        tx.write(loc, data)
        tx.summary = f"feedback.add: {feedback_id} from {data['source']}" + (
            f" for {found[0]} ({found[1]})" if found else " (triage)"
        )
        # to the hooks that listen for it, @mentioning the customer's owner (triage: nobody)
        owner = loc.owner.member
        tx.emit(
            "feedback.received",
            id=feedback_id,
            source=data["source"],
            customer=data.get("customer"),
            owner=owner,
            text=data["text"],
            link=data.get("link"),
            mentions=[owner] if owner else [],
        )
    return tx.result(_visible_json(store, actor, Record(loc, data)))


def _visible_json(store: Store, viewer: Member, record: Record) -> dict[str, Any]:
    """The feedback as ``viewer`` may see it: whoever records feedback for another rep's
    customer learns only that it was placed, not whose customer it is."""
    if readable(store, viewer).allows(record.owner, record.loc.path):
        return record_json(record)
    return {"id": record.id, "kind": "feedback", "status": record.data.get("status")}


def list_feedback(
    store: Store, viewer: Member, *, status: str | None = None, customer: str | None = None
) -> list[dict[str, Any]]:
    """The feedback ``viewer`` may read (their customers', and triage with
    ``feedback.triage``), newest first."""
    if status is not None and status not in FEEDBACK_STATUSES:
        raise Invalid(f"--status {status!r} is not one of {', '.join(FEEDBACK_STATUSES)}")
    sql, args = readable(store, viewer).sql()
    terms = [sql] if sql else []
    if status:
        terms.append("json_extract(data, '$.status') = ?")
        args = [*args, status]
    if customer:
        owner = store.resolve(customer, ("customer",))
        require_readable(store, viewer, owner)
        terms.append("json_extract(data, '$.customer') = ?")
        args = [*args, owner.id]
    rows = []
    for path, data, _problems in store.index.query("feedback", " AND ".join(terms), args):
        loc = parse_path(path)
        if loc is not None and data is not None:
            rows.append(json_record(loc, data))
    return sorted(rows, key=lambda r: str(r.get("received")), reverse=True)


def show_feedback(store: Store, viewer: Member, text: str) -> dict[str, Any]:
    loc = store.resolve(text, ("feedback",))
    _require_readable(store, viewer, loc)
    return show_record(store, viewer, loc.id, ("feedback",))


def _require_readable(store: Store, viewer: Member, loc: RecordPath) -> None:
    """``require_readable``, but the refusal does not say whose the feedback is: whoever
    recorded it knows its id, and ``feedback add`` does not tell them whose customer's
    email or phone it matched (or that none did)."""
    if not readable(store, viewer).allows(loc.owner, loc.path):
        raise Forbidden(
            f"{viewer.id} may not read {loc.id}",
            "feedback is read by its customer's owner, their team lead and directors; "
            "feedback no customer matched by the roles with feedback.triage",
        )


def open_feedback_of(store: Store, viewer: Member, customer_id: str) -> list[dict[str, Any]]:
    """The customer's open feedback (``customer show``), newest first."""
    return list_feedback(store, viewer, status="open", customer=customer_id)


def _check(store: Store, actor: Member, action: str, loc: RecordPath) -> None:
    """Triage feedback is worked by ``feedback.triage`` roles; a customer's by whoever may
    take ``action`` on the customer's directory (its owner, their lead, directors)."""
    _require_readable(store, actor, loc)
    scopes.check_feedback_write(store.config, actor, action, loc.owner)


def set_status(
    store: Store, actor: Member, text: str, status: str, *, opts: WriteOpts = WRITE
) -> WriteResult[dict[str, Any]]:
    """Acknowledge (``feedback.ack``) or close (``feedback.close``) feedback."""
    action = {"acknowledged": "feedback.ack", "closed": "feedback.close"}[status]
    with store.transaction(actor, action, opts) as tx:
        loc = store.resolve(text, ("feedback",))
        _check(store, actor, action, loc)
        record = store.read(loc)
        if record.data.get("status") == status:
            return tx.result(record_json(record))
        data = dict(record.data, status=status)
        data.pop("closed", None)
        if status == "closed":
            data["closed"] = clock.now()
        data = validate(store.config, FEEDBACK, data, loc.path)
        tx.write(loc, data)
        tx.summary = f"{action}: {loc.id}"
    return tx.result(record_json(Record(loc, data)))


def _assignee(store: Store, member: Member, loc: RecordPath, customer: Any) -> str:
    """``member``, if they may read and work (acknowledge, close) the feedback at ``loc``
    (of ``customer``, or in triage): an assignee who could not would never see it."""
    try:
        _require_readable(store, member, loc)
        for action in ("feedback.ack", "feedback.close"):
            scopes.check_feedback_write(store.config, member, action, loc.owner)
    except Forbidden:
        if customer:
            whose, who = f"{customer}'s feedback", "its owner, their team lead or a director"
        else:
            whose, who = "feedback in triage", "a member whose role has feedback.triage"
        raise Forbidden(
            f"{member.id} may not read and work {whose}", f"assign it to {who}"
        ) from None
    return member.id


def assign_feedback(
    store: Store,
    actor: Member,
    text: str,
    *,
    to: str | None = None,
    customer: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Give feedback an assignee (``--to``) and/or move it to a customer (``--customer``:
    triage feedback, or feedback matched to the wrong customer); ``matched_by: hand``."""
    config = store.config
    if not to and not customer:
        raise Invalid("give --to MEMBER, --customer CUSTOMER, or both")
    with store.transaction(actor, "feedback.assign", opts) as tx:
        loc = store.resolve(text, ("feedback",))
        _check(store, actor, "feedback.assign", loc)
        record = store.read(loc)
        data = dict(record.data)
        new_loc = loc
        if customer:
            target = store.read(store.resolve(customer, ("customer",)))
            scopes.check_write(config, actor, "feedback.assign", target.owner, record=target.id)
            data.update(customer=target.id, matched_by="hand")
            new_loc = child_loc(target, FEEDBACK, loc.id)
            tx.mention(target.id)
        if to:
            data["assignee"] = _assignee(
                store, config.require_member(to, active=True), new_loc, data.get("customer")
            )
        data = validate(config, FEEDBACK, data, new_loc.path)
        if new_loc.path != loc.path:
            tx.delete(loc.path)
        tx.write(new_loc, data)
        tx.summary = (
            f"feedback.assign: {loc.id}"
            + (f" to {data['assignee']}" if to else "")
            + (f" for {data['customer']}" if customer else "")
        )
    return tx.result(record_json(Record(new_loc, data)))
