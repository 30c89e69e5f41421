"""Deals: add, move through the configured stages, list; the pipeline and the losses report.

A deal lives in its customer's owner's directory (``.../deals/<D-ID>/deal.yaml``) and links
the customer by id. ``stages`` dates every stage entered, so reports count movements from
the files alone; what a move back or a reopening takes off that path goes to
``earlier_stages``, so the deal's past never changes. Amounts are ``Decimal`` and every sum
here is exact; the weighted amount of a stage is ``amount * probability / 100`` of its
deals' sum, to the cent (money, as the report shows it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.model.kinds import DEAL
from salesctl.ops.participants import with_participants
from salesctl.ops.records import (
    OwnedBy,
    RecordList,
    apply_sets,
    list_records,
    load_for_write,
    new_record,
    owner_filter,
    parse_assignments,
    record_json,
    validate,
)
from salesctl.ops.sales.competitors import canonical, known
from salesctl.ops.sales.customers import new_for_customer
from salesctl.ops.stages import enter_stage, move_stage
from salesctl.reports.facts import Facts
from salesctl.reports.money import weighted
from salesctl.store.index_committed import committed
from salesctl.store.layout import parse_path
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

UNKNOWN = "(not given)"


def stage_ids(config: Config) -> list[str]:
    return [s.id for s in config.deal_stages]


def lost_stage(config: Config) -> str | None:
    return config.lost_stage


def _check_stage(config: Config, stage: str) -> None:
    ids = stage_ids(config)
    if stage not in ids:
        raise Invalid(f"--stage {stage!r} is not a deal stage", f"use one of {', '.join(ids)}")


def add_deal(
    store: Store,
    actor: Member,
    customer_id: str,
    *,
    title: str,
    amount: str,
    stage: str | None = None,
    close: str | None = None,
    competitors: Iterable[str] = (),
    sets: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Open a deal with a customer, in the customer owner's directory."""
    config = store.config
    stage = config.deal_stages[0].id if stage is None else stage
    _check_stage(config, stage)
    if stage == lost_stage(config):
        raise Invalid(
            "a new deal cannot start lost",
            "add it in an open stage, then `salesctl deal move ID --stage lost --reason ...`",
        )
    close_on = values.typed_date(close, "--close", clock.today()) if close is not None else None
    sets = _settable(sets)
    with store.transaction(actor, "deal.add", opts) as tx:
        customer, loc = new_for_customer(store, actor, customer_id, DEAL)
        today = clock.today()
        data: dict[str, Any] = {
            "schema_version": 1,
            "customer": customer.id,
            "title": title,
            "amount": amount,
            "close": close_on,
            "competitors": canonical(store, competitors, "--competitor"),
            "created": today,
        }
        enter_stage(data, stage, today)
        data = {k: v for k, v in data.items() if v not in (None, [], "")}
        data = apply_sets(config, DEAL, data, sets)
        data = validate(config, DEAL, _ordered(data), new_record(loc))
        data = with_participants(config, data, loc.owner)
        tx.write(loc, data)
        tx.summary = (
            f"deal.add: {loc.id} ({data['title']}, {data['amount']}) for {customer.id} "
            f"({customer.data.get('name')})"
        )
    return tx.result(record_json(Record(loc, data)))


def _settable(sets: Iterable[str]) -> list[str]:
    """The ``--set`` pairs, refused if one names a field a flag or verb sets with its checks."""
    pairs = list(sets)
    for name, _value in parse_assignments(pairs):
        spec = DEAL.by_name.get(name)
        if spec is not None and not spec.settable:
            settable = [f.name for f in DEAL.fields if f.settable and f.name != "custom"]
            raise Invalid(
                f"deal field {name!r} cannot be set",
                f"settable: {', '.join(settable)}, custom.NAME; the customer is the CUSTOMER "
                "argument, competitors --competitor, the stage --stage (then `deal move`)",
            )
    return pairs


def move_deal(
    store: Store,
    actor: Member,
    deal_id: str,
    *,
    stage: str,
    reason: str | None = None,
    lost_to: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Move a deal to another stage, dated in ``stages``; lost needs a reason."""
    config = store.config
    _check_stage(config, stage)
    lost = lost_stage(config)
    reason = reason.strip() if reason and reason.strip() else None
    lost_to = lost_to.strip() if lost_to and lost_to.strip() else None
    if stage == lost and reason is None:
        raise Invalid("a lost deal needs --reason", "e.g. --reason 'price' --lost-to Globex")
    if lost_to is not None and stage != lost:
        raise Invalid(f"--lost-to only goes with --stage {lost or 'lost'}")
    with store.transaction(actor, "deal.move", opts) as tx:
        deal = load_for_write(store, deal_id, ("deal",))
        scopes.check_write(config, actor, "deal.move", deal.owner, record=deal.id)
        before = deal.data.get("stage")
        data = dict(deal.data)
        if stage != before:
            move_stage(config, DEAL, data, stage)
        if reason is not None:
            data["reason"] = reason
        if lost_to is not None:
            (lost_to,) = canonical(store, [lost_to], "--lost-to")
            data["lost_to"] = lost_to
            competitors = list(data.get("competitors") or [])
            if lost_to not in competitors:
                data["competitors"] = [*competitors, lost_to]
        data = validate(config, DEAL, _ordered(data), deal.path)
        if data != deal.data:
            tx.write(deal.loc, data)
            if stage != before and stage == config.won_stage:
                customer_rows = store.index.select(
                    "customer", ["name"], "id = ?", [data.get("customer")]
                )
                tx.emit(
                    "deal.won",
                    deal=deal.id,
                    title=data.get("title"),
                    amount=str(data.get("amount")),
                    customer=customer_rows[0][4] if customer_rows else data.get("customer"),
                    customer_id=data.get("customer"),
                    owner=deal.owner.member,
                )
            tx.summary = f"deal.move: {deal.id} {before} -> {stage}" + (
                f" ({reason})" if reason else ""
            )
    return tx.result(record_json(Record(deal.loc, data)))


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("schema_version", *DEAL.by_name) if k in data}


def list_deals(
    store: Store,
    viewer: Member,
    *,
    owner: str | None = None,
    team: str | None = None,
    stage: str | None = None,
    customer: str | None = None,
) -> list[dict[str, Any]]:
    config = store.config
    where: list[tuple[str, str]] = []
    if stage is not None:
        _check_stage(config, stage)
        where.append(("stage", stage))
    if customer is not None:
        where.append(("customer", store.resolve(customer, ("customer",)).id))
    return list_records(store, viewer, "deal", OwnedBy(owner, team), where)


def pipeline(
    store: Store,
    viewer: Member,
    *,
    owner: str | None = None,
    team: str | None = None,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Per stage in config order: deal count, amount and probability-weighted amount (of
    the deals as they stood at the end of ``as_of``, if given)."""
    config = store.config
    if owner and team:
        raise Invalid("--owner and --team are exclusive", "give one of them")
    conditions, args, within = owner_filter(store, viewer, OwnedBy(owner, team), shared=False)
    where = " AND ".join(conditions)
    facts = Facts(store.index, config, within=within)
    rows = RecordList()
    # The funnel as of a past day is a report's figure: as committed (the live one: as is).
    reading: contextlib.AbstractContextManager[list[str]] = (
        committed(store.index, within) if as_of else contextlib.nullcontext([])
    )
    with reading as edited:
        found = facts.stage_totals(where, args, as_of)
        rows.skipped = facts.skipped(where, args)
    rows.uncommitted = edited
    for stage in config.deal_stages:
        count, total = found.get(stage.id, (0, Decimal(0)))
        rows.append(
            {
                "stage": stage.id,
                "probability": stage.probability,
                "count": count,
                "amount": total,
                "weighted": _plain(weighted(total, stage.probability)),
            }
        )
    return rows


def losses(
    store: Store,
    viewer: Member,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    owner: str | None = None,
    team: str | None = None,
) -> dict[str, Any]:
    """Lost deals (lost within ``start``..``end``, inclusive) by competitor and by reason;
    a deal reopened since counts with its loss's reason and competitor, as it did then."""
    config = store.config
    lost = lost_stage(config)
    if lost is None:
        raise Invalid(
            "no deal stage means lost",
            "name one 'lost' in deal_stages (or give a 0% stage after the 100% one)",
        )
    if start and end and start > end:
        raise Invalid(f"--from {start} is after --to {end}")
    deals, skipped = [], []
    conditions, args, within = owner_filter(store, viewer, OwnedBy(owner, team))
    conditions.append(f"({LOST_NOW_OR_BEFORE})")
    args += [lost, lost]
    found = store.index.query("deal", " AND ".join(conditions), args, within=within)
    for path, data, problems in found:
        loc = parse_path(path)
        if data is None or loc is None:  # a broken file: left out with a warning
            skipped.append(f"{path}: {problems[0][1] if problems else 'unreadable'}")
            continue
        loss = _last_loss(data, lost, start, end)
        if loss is not None:
            deals.append({"id": loc.id, "amount": data.get("amount"), **loss})
    names = known(store)  # an alias counts as its competitor, once the org keeps records
    for deal in deals:
        lost_to = str(deal.get("lost_to") or "")
        deal["lost_to"] = names.get(" ".join(lost_to.casefold().split()), lost_to) or None
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "count": len(deals),
        "amount": sum((_amount(d) for d in deals), Decimal(0)),
        "by_competitor": _group(deals, "lost_to", "competitor"),
        "by_reason": _group(deals, "reason", "reason"),
        "deals": [d["id"] for d in deals],
        "skipped": skipped,  # broken files left out
    }


# A deal lost now, or lost before a reopening (an entry of its ``earlier_stages``).
LOST_NOW_OR_BEFORE = (
    "json_extract(data, '$.stage') = ? OR EXISTS (SELECT 1 FROM "
    "json_each(data, '$.earlier_stages') WHERE json_extract(value, '$.stage') = ?)"
)


def _last_loss(
    data: dict[str, Any], lost: str, start: dt.date | None, end: dt.date | None
) -> dict[str, Any] | None:
    """The reason and competitor of a deal's last loss within ``start``..``end`` (any loss,
    if neither is given; one not dated, only then), or None if it lost none there."""
    losses = [e for e in data.get("earlier_stages") or () if e.get("stage") == lost]
    if data.get("stage") == lost:
        losses.append({**data, "date": (data.get("stages") or {}).get(lost)})
    for loss in reversed(losses):
        day = dt.date.fromisoformat(loss["date"]) if loss.get("date") else None
        if (start or end) and day is None:
            continue
        if day is not None and ((start and day < start) or (end and day > end)):
            continue
        return {"reason": loss.get("reason"), "lost_to": loss.get("lost_to")}
    return None


def _group(deals: list[dict[str, Any]], field: str, label: str) -> list[dict[str, Any]]:
    """Count and sum deals by ``field``, case- and space-insensitively; a group is named by
    its most common spelling (ties: alphabetically first), so the output is stable."""
    groups: dict[str, dict[str, Any]] = {}
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for deal in deals:
        name = " ".join(str(deal.get(field) or "").split()) or UNKNOWN
        key = name.casefold()
        spellings[key][name] += 1
        row = groups.setdefault(key, {label: name, "count": 0, "amount": Decimal(0)})
        row["count"] += 1
        row["amount"] += _amount(deal)
    for key, row in groups.items():
        row[label] = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]
    return sorted(groups.values(), key=lambda r: (-r["count"], -r["amount"], r[label]))


def _amount(deal: dict[str, Any]) -> Decimal:
    """A deal's amount from index JSON, exactly (amounts have at most two decimals)."""
    value = deal.get("amount")
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (1E+3 -> 1000)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal
