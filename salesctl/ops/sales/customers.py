"""Customer use cases: add, edit, tag, list and show customers, and their contacts.

Ownership moves (assign, claim, release, reclaim) are the generic ones in ``ops.sales.ownership``;
the same pool and permission rules as for leads apply. Custom fields (``custom_fields:
customer:`` in ``salesctl.yaml``) are set with ``--set NAME=VALUE`` and filtered on with
``--where NAME=VALUE``; their values live under ``custom``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid, NotFound
from salesctl.ids import new_id
from salesctl.model.config import Config, Member
from salesctl.model.kinds import CONTACT_COLUMNS, CUSTOMER, Kind
from salesctl.ops.records import (
    OwnedBy,
    add_owned_record,
    input_phone,
    list_records,
    load_for_write,
    readable,
    record_json,
    show_record,
    validate,
)
from salesctl.store.layout import RecordPath, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

KINDS = ("customer",)


def new_for_customer(
    store: Store, actor: Member, customer_id: str, kind: Kind
) -> tuple[Record, RecordPath]:
    """The customer a new deal or contract (``kind``) is for, loaded for writing, and where
    the new record goes: the customer owner's directory, which ``actor`` must be allowed to
    ``<kind>.add`` in. A customer in the pool has no owner to hold it, so it is refused."""
    customer = load_for_write(store, customer_id, KINDS)
    if customer.owner.is_pool:
        raise Invalid(
            f"{customer.id} is in the pool",
            f"claim or assign the customer first: its {kind.plural} live with its owner",
        )
    record_id = new_id(kind.prefix)
    scopes.check_write(store.config, actor, f"{kind.name}.add", customer.owner, record=record_id)
    path = record_file(customer.owner, kind, record_id)
    return customer, RecordPath(path, kind, record_id, customer.owner)


def add_customer(
    store: Store,
    actor: Member,
    *,
    name: str,
    industry: str | None = None,
    source: str | None = None,
    tags: Iterable[str] = (),
    to: str | None = None,
    pool: bool = False,
    sets: Iterable[str] = (),
    allow_duplicate: bool = False,
    reason: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Create one customer owned by ``to`` (default: the actor) or in the pool."""
    if not name or not name.strip():
        raise Invalid("a customer needs --name (the company)", "e.g. --name 'Acme Ltd'")
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": name,
        "industry": industry,
        "source": source,
        "tags": list(tags),
        "created": clock.today(),
    }
    return add_owned_record(
        store, actor, CUSTOMER, data, to=to, pool=pool, sets=sets, label=name, opts=opts,
        allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip


def tag_customer(
    store: Store,
    actor: Member,
    customer_id: str,
    changes: Sequence[str],
    *,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Add (``+vip`` or ``vip``) and remove (``-cold``) tags in one commit."""
    adds, removes = parse_tag_changes(changes)
    config = store.config
    with store.transaction(actor, "customer.tag", opts) as tx:
        record = load_for_write(store, customer_id, KINDS)
        scopes.check_write(config, actor, "customer.tag", record.owner, record=record.id)
        tags = [t for t in record.data.get("tags") or [] if t not in removes]
        tags += [t for t in adds if t not in tags]
        data = dict(record.data, tags=tags)
        if not tags:
            data.pop("tags")
        data = validate(config, CUSTOMER, data, record.path)
        if _changed(record.data, data):
            tx.write(record.loc, data)
            what = [f"+{t}" for t in adds] + [f"-{t}" for t in removes]
            tx.summary = f"customer.tag: {record.id} {' '.join(what)}"
    return tx.result(record_json(Record(record.loc, data)))


def parse_tag_changes(changes: Sequence[str]) -> tuple[list[str], list[str]]:
    """``["+vip", "-cold", "key"]`` -> (tags to add, tags to remove)."""
    if not changes:
        raise Invalid("no tags given", "e.g. `customer tag C-7KQ2 +vip -cold`")
    adds: list[str] = []
    removes: list[str] = []
    for change in changes:
        sign, name = (change[0], change[1:]) if change[:1] in "+-" else ("+", change)
        name = name.strip()
        if not name or name[0] in "+-" or "\n" in name or "," in name:
            raise Invalid(f"{change!r} is not a tag change", "use +TAG to add, -TAG to remove")
        (adds if sign == "+" else removes).append(name)
    both = set(adds) & set(removes)
    if both:
        raise Invalid(f"tag {sorted(both)[0]!r} is both added and removed", "give it once")
    return list(dict.fromkeys(adds)), list(dict.fromkeys(removes))


def add_contact(
    store: Store,
    actor: Member,
    customer_id: str,
    *,
    name: str,
    title: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Add a contact person to a customer; returns the customer with its contacts."""
    config = store.config
    phone = input_phone(store.config, phone)
    contact = {"name": name, "title": title, "phone": phone, "email": email}
    contact = {k: v.strip() for k, v in contact.items() if v is not None and v.strip()}
    if "name" not in contact:
        raise Invalid("a contact needs --name", "e.g. --name 'Wei Zhang' --title CTO")
    with store.transaction(actor, "contact.add", opts) as tx:
        record = load_for_write(store, customer_id, KINDS)
        scopes.check_write(config, actor, "contact.add", record.owner, record=record.id)
        contacts = list(record.data.get("contacts") or [])
        columns = [c.name for c in CONTACT_COLUMNS]
        if any(_same_contact(existing, contact) for existing in contacts):
            raise Invalid(
                f"{record.id} already has the contact {contact['name']}",
                "`salesctl customer show` lists its contacts",
            )
        contacts.append({k: contact[k] for k in columns if k in contact})
        data = validate(config, CUSTOMER, dict(record.data, contacts=contacts), record.path)
        tx.write(record.loc, data)
        tx.summary = f"contact.add: {contact['name']} to {record.id} ({data['name']})"
    return tx.result(record_json(Record(record.loc, data)))


def _same_contact(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("name") != b.get("name"):
        return False
    keys = ("phone", "email")
    return all(a.get(k) == b.get(k) for k in keys) or any(
        a.get(k) and a.get(k) == b.get(k) for k in keys
    )


def list_customers(
    store: Store,
    viewer: Member,
    *,
    owner: str | None = None,
    team: str | None = None,
    pool: bool = False,
    tags: Iterable[str] = (),
    source: str | None = None,
    industry: str | None = None,
    where: Iterable[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """Customers the viewer may read, filtered (custom fields compared by their type)."""
    filters = list(where)
    filters += [("tags", t) for t in tags]
    filters += [(k, v) for k, v in (("source", source), ("industry", industry)) if v]
    return list_records(store, viewer, "customer", OwnedBy(owner, team, pool), filters)


def show_customer(store: Store, viewer: Member, customer_id: str) -> dict[str, Any]:
    """One customer with its contacts, follow-ups and visits (newest first) and deals. The
    follow-ups and visits of the lead it was converted from come too (their ``record`` is
    the lead), so the relationship shows from the first touch."""
    result = show_record(store, viewer, customer_id, KINDS)
    config = store.config
    for key, kind in (("followups", "followup"), ("visits", "visit")):
        earlier = _lead_children(store, config, viewer, result.get("lead"), kind)
        result[key] = sorted([*result.get(key, []), *earlier], key=_newest_first)
    # what customers said that nobody has answered yet (acknowledged and closed: feedback list)
    result["feedback"] = [f for f in result.get("feedback", []) if f.get("status") == "open"]
    sql, args = readable(store, viewer).sql()
    where = " AND ".join([*([sql] if sql else []), "json_extract(data, '$.customer') = ?"])
    result["deals"] = [
        json_record(_loc(path), data)
        for path, data, _problems in store.index.query("deal", where, [*args, result["id"]])
        if data is not None
    ]
    return result


def _lead_children(
    store: Store, config: Config, viewer: Member, lead_id: Any, kind: str
) -> list[dict[str, Any]]:
    """The follow-ups or visits of the converted lead ``lead_id``, if the viewer may read it."""
    if not isinstance(lead_id, str) or not lead_id:
        return []
    try:
        lead = store.resolve(lead_id, ("lead",))
    except NotFound:
        return []  # deleted since, or merged: the customer stands on its own
    if not readable(store, viewer).allows(lead.owner, lead.path):
        return []
    return [
        json_record(_loc(path), data)
        for path, data in store.index.children(lead.id, kind)
        if data is not None
    ]


def _newest_first(row: dict[str, Any]) -> tuple[float, str]:
    try:
        stamp = -dt.datetime.fromisoformat(str(row.get("at"))).timestamp()
    except ValueError:
        stamp = 0.0
    return stamp, str(row.get("id"))


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))


def _loc(path: str) -> RecordPath:
    from salesctl.store.layout import parse_path

    loc = parse_path(path)
    assert loc is not None  # the index only holds paths parse_path accepted
    return loc
