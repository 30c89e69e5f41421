"""Lead use cases: add, edit (by --set or a whole edited document), list and show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.ids import new_id
from salesctl.model.config import Member
from salesctl.model.kinds import LEAD
from salesctl.ops.records import (
    apply_sets,
    enter_stage,
    home_of,
    list_records,
    load_for_write,
    record_json,
    show_record,
    validate,
)
from salesctl.store.layout import POOL, RecordPath, record_file
from salesctl.store.records import Record
from salesctl.store.store import Store, Transaction


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
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Create one lead owned by ``to`` (default: the actor) or in the pool."""
    config = store.config
    if pool and to:
        raise Invalid("--to and --pool are exclusive", "choose an owner or the pool")
    if not (company or name):
        raise Invalid(
            "a lead needs --company or --name", "e.g. --company 'Acme Ltd' --name 'Wei Zhang'"
        )
    owner = POOL if pool else home_of(config, to or actor.id)
    if to and not config.members[to].active:
        raise Invalid(f"{to} is inactive", "assign to an active member")
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
    enter_stage(data, stage or config.lead_stages[0], today)
    data = apply_sets(config, LEAD, {k: v for k, v in data.items() if v not in (None, [])}, sets)
    lead_id = new_id(LEAD.prefix)
    loc = RecordPath(record_file(owner, LEAD, lead_id), LEAD, lead_id, owner)
    data = validate(config, LEAD, data, loc.path)
    scopes.check_write(config, actor, "lead.add", owner, record=lead_id)
    with store.transaction(actor, "lead.add", commit=commit, dry_run=dry_run) as tx:
        tx.write(loc, data)
        label = company or name
        tx.summary = f"lead.add: {lead_id} ({label}) for {owner}"
    return record_json(Record(loc, data)), tx


def edit_lead(
    store: Store,
    actor: Member,
    lead_id: str,
    *,
    sets: Iterable[str] = (),
    document: dict[str, Any] | None = None,
    commit: bool = True,
    dry_run: bool = False,
) -> tuple[dict[str, Any], Transaction]:
    """Change fields of a lead by ``--set`` pairs or by a whole edited YAML ``document``."""
    config = store.config
    with store.transaction(actor, "lead.edit", commit=commit, dry_run=dry_run) as tx:
        record = load_for_write(store, lead_id, ("lead",))
        scopes.check_write(config, actor, "lead.edit", record.owner, record=record.id)
        if document is not None:
            data = dict(document)
        else:
            data = apply_sets(config, LEAD, record.data, sets)
        if data.get("stage") != record.data.get("stage") and data.get("stage"):
            data["stages"] = dict(record.data.get("stages") or {})
            enter_stage(data, str(data["stage"]))
        data = validate(config, LEAD, data, record.path)
        changed = [k for k in {*data, *record.data} if data.get(k) != record.data.get(k)]
        if changed:
            tx.write(record.loc, data)
            tx.summary = f"lead.edit: {record.id} ({', '.join(sorted(changed))})"
    return record_json(Record(record.loc, data)), tx


def list_leads(store: Store, viewer: Member, **filters: Any) -> list[dict[str, Any]]:
    where = list(filters.pop("where", ()))
    for name in ("stage", "source"):
        if filters.get(name):
            where.append((name, filters[name]))
        filters.pop(name, None)
    for tag in filters.pop("tags", ()) or ():
        where.append(("tags", tag))
    return list_records(store, viewer, "lead", where=where, **filters)


def show_lead(store: Store, viewer: Member, lead_id: str) -> dict[str, Any]:
    return show_record(store, viewer, lead_id, ("lead",))
