"""OKRs: objectives with key results for a member, a team or the company, per period.

A key result either has a ``metric`` (``contract_amount``, ``payments_received``,
``new_leads``, ``deals_won``, ``followups``, ... as defined in ``reports/facts.py``) and
computes its current value from the records over the OKR's period for its owner, or is
checked in by hand (``okr checkin``). Files live in the owner's directory: a member's,
``teams/<team>/okrs/`` for a team, ``okrs/`` at the root for the company.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid, NotFound
from salesctl.ids import new_id
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.model.kinds import OKR
from salesctl.model.values import to_json
from salesctl.ops.records import load_for_write, record_json, require_readable, validate
from salesctl.reports.facts import METRICS, Facts
from salesctl.reports.periods import parse_period
from salesctl.store.layout import COMPANY, Owner, RecordPath, record_file
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store


def owner_of(config: Config, actor: Member, owner: str | None) -> tuple[Owner, str]:
    """(directory owner, the ``owner`` field) for ``--owner MEMBER|TEAM|company``."""
    name = owner or actor.id
    if name == "company":
        return COMPANY, "company"
    member = config.member(name)
    if member is not None:
        return Owner(member=member.id, team=member.team), member.id
    if name in config.teams:
        return Owner(team=name), name
    raise NotFound(
        f"{name!r} is neither a member, a team nor 'company'", "see `salesctl team list`"
    )


def add_okr(
    store: Store,
    actor: Member,
    *,
    period: str,
    objective: str,
    owner: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    config = store.config
    parsed = parse_period(period)
    directory, owner_field = owner_of(config, actor, owner)
    okr_id = new_id(OKR.prefix)
    loc = RecordPath(record_file(directory, OKR, okr_id), OKR, okr_id, directory)
    scopes.check_write(config, actor, "okr.add", directory, record=okr_id)
    data = validate(
        config,
        OKR,
        {
            "schema_version": 1,
            "period": parsed.id,
            "owner": owner_field,
            "objective": objective,
            "created": clock.today(),
        },
        loc.path,
    )
    with store.transaction(actor, "okr.add", opts) as tx:
        tx.write(loc, data)
        tx.summary = f"okr.add: {okr_id} {parsed.id} for {owner_field}"
    return tx.result(record_json(Record(loc, data)))


def _split_kr(text: str) -> tuple[str, str]:
    for sep in ("/", ":"):
        if sep in text:
            okr, _, kr = text.partition(sep)
            return okr, kr.strip().lower()
    raise Invalid(f"{text!r} does not name a key result", "write OKR/KR, e.g. O-7KQ2/kr1")


def parse_kr_value(text: str, option: str) -> int | Decimal:
    """A key result's typed target or check-in value, read as amounts are (digits with a
    point and thousands commas; zero or more, below 10^13, at most two decimal places), so
    ``１０``, ``1e400`` or ``-3`` never reach the file."""
    try:
        number = values.coerce_amount(text)
    except ValueError as exc:
        raise Invalid(f"{option}: {exc}", "e.g. 50, 2000000 or 4.5") from None
    return int(number) if number == number.to_integral_value() else number.normalize()


def add_key_result(
    store: Store,
    actor: Member,
    okr_text: str,
    *,
    title: str,
    target: str,
    metric: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    config = store.config
    if metric is not None and metric not in METRICS:
        raise Invalid(f"unknown metric {metric!r}", f"use one of {', '.join(METRICS)}")
    goal = parse_kr_value(target, "--target")
    if goal <= 0:  # progress is current / target
        raise Invalid(f"--target {target} must be more than 0", "the number that makes 100%")
    with store.transaction(actor, "okr.edit", opts) as tx:
        record = load_for_write(store, okr_text, ("okr",))
        scopes.check_write(config, actor, "okr.edit", record.owner, record=record.id)
        rows = list(record.data.get("key_results") or [])
        kr_id = f"kr{max((_kr_number(r['id']) for r in rows), default=0) + 1}"
        row: dict[str, Any] = {"id": kr_id, "title": title, "target": goal}
        if metric:
            row["metric"] = metric
        data = dict(record.data, key_results=[*rows, row])
        data = validate(config, OKR, data, record.path)
        tx.write(record.loc, data)
        tx.summary = f"okr.kr.add: {record.id}/{kr_id} ({title})"
    return tx.result(record_json(Record(record.loc, data)))


def _kr_number(kr_id: str) -> int:
    digits = "".join(ch for ch in kr_id if ch.isdigit())
    return int(digits) if digits else 0


def checkin(
    store: Store,
    actor: Member,
    kr_text: str,
    *,
    value: str,
    note: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    config = store.config
    number = parse_kr_value(value, "--value")
    okr_text, kr_id = _split_kr(kr_text)
    with store.transaction(actor, "okr.checkin", opts) as tx:
        record = load_for_write(store, okr_text, ("okr",))
        scopes.check_write(config, actor, "okr.checkin", record.owner, record=record.id)
        rows = [dict(r) for r in record.data.get("key_results") or []]
        row = next((r for r in rows if r["id"] == kr_id), None)
        if row is None:
            known = ", ".join(r["id"] for r in rows) or "none yet"
            raise NotFound(f"{record.id} has no key result {kr_id}", f"key results: {known}")
        if row.get("metric"):
            raise Invalid(
                f"{record.id}/{kr_id} computes its value from {row['metric']}",
                "check in only key results without a metric",
            )
        today = clock.today()
        earlier = [c for c in row.get("checkins") or [] if not c.startswith(f"{today}=")]
        row.update(value=number, checked=today, checkins=[*earlier, f"{today}={number}"])
        if note:
            row["note"] = note
        data = validate(config, OKR, dict(record.data, key_results=rows), record.path)
        tx.write(record.loc, data)
        tx.summary = f"okr.checkin: {record.id}/{kr_id} = {number}"
    return tx.result(record_json(Record(record.loc, data)))


def list_okrs(store: Store, viewer: Member, *, period: str | None = None) -> list[dict[str, Any]]:
    """OKRs the viewer may read (with computed progress), optionally for one period."""
    from salesctl.reports.build import Subject, okr_progress

    config = store.config
    facts = Facts(store.index, config)
    wanted = parse_period(period) if period is not None else None
    everything = Subject("company", "company", tuple(config.members))
    rows = okr_progress(store, config, facts, everything, wanted)
    visible = []
    for row in rows:
        loc = store.resolve(row["id"], ("okr",))
        if scopes.may_read(config, viewer, loc.owner):
            visible.append(to_json({"kind": "okr", "path": loc.path, **row}))
    return visible


def show_okr(store: Store, viewer: Member, okr_text: str) -> dict[str, Any]:
    loc = store.resolve(okr_text, ("okr",))
    require_readable(store, viewer, loc)
    for row in list_okrs(store, viewer):
        if row["id"] == loc.id:
            return row
    raise NotFound(f"no OKR {okr_text}")  # pragma: no cover - resolve found it
