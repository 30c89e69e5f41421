"""``stats customers|sales|contracts --by ...``: grouped counts and amounts over a date range.

Rows carry the grouping key (``owner``, ``team``, ``source``, ``industry``, ``stage``,
``customer`` or ``month``) plus ``count``; contracts add ``amount``, ``received`` and
``outstanding``; sales rows carry the activity figures of the weekly report, computed by the
same definitions (``reports/facts.py``), so stats and reports always agree.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from salesctl import clock
from salesctl.errors import Invalid
from salesctl.model.config import Member
from salesctl.model.values import to_json
from salesctl.ops.records import visible_sql
from salesctl.reports.facts import METRICS, Facts
from salesctl.reports.money import decimal
from salesctl.reports.periods import Period, parse_period, period_containing
from salesctl.store.store import Store

GROUPINGS = {
    "customers": ("owner", "team", "source", "industry", "month"),
    "sales": ("owner", "team", "month"),
    "contracts": ("owner", "team", "customer", "stage", "month"),
}


def date_range(
    *, start: str | None, end: str | None, period: str | None
) -> tuple[dt.date, dt.date]:
    if period:
        if start or end:
            raise Invalid("--period excludes --from/--to", "choose one")
        p = parse_period(period)
        return p.start, p.end
    try:
        first = dt.date.fromisoformat(start) if start else dt.date(1970, 1, 1)
        last = dt.date.fromisoformat(end) if end else clock.today()
    except ValueError as exc:
        raise Invalid(f"bad date: {exc}", "use YYYY-MM-DD") from None
    if first > last:
        raise Invalid(f"--from {first} is after --to {last}")
    return first, last


def stats(
    store: Store,
    viewer: Member,
    what: str,
    *,
    by: str = "owner",
    start: str | None = None,
    end: str | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    if what not in GROUPINGS:
        raise Invalid(f"unknown statistics {what!r}", f"use one of {', '.join(GROUPINGS)}")
    if by not in GROUPINGS[what]:
        raise Invalid(f"stats {what} cannot group by {by}", f"use {', '.join(GROUPINGS[what])}")
    first, last = date_range(start=start, end=end, period=period)
    if what == "sales":
        return _sales(store, viewer, by, first, last)
    config = store.config
    scope_sql, scope_args = visible_sql(config, viewer)
    kind = "customer" if what == "customers" else "contract"
    date_field = "created" if kind == "customer" else "signed"
    where = f"json_extract(data, '$.{date_field}') BETWEEN ? AND ?"
    args: list[Any] = [first.isoformat(), last.isoformat()]
    if kind == "contract":
        where += " AND coalesce(json_extract(data, '$.status'), '') != 'cancelled'"
    if scope_sql:
        where += f" AND {scope_sql}"
        args += scope_args
    fields = [date_field, "source", "industry", "amount", "status", "customer"]
    rows = store.index.select(kind, fields, where, args)
    received: dict[str, Decimal] = defaultdict(Decimal)
    if kind == "contract":
        for _id, _o, _t, parent, amount, _day in store.index.select(
            "payment", ["amount", "date"], "json_extract(data, '$.date') <= ?", [last.isoformat()]
        ):
            received[parent] += decimal(amount)
    names = (
        {r[0]: r[4] for r in store.index.select("customer", ["name"])} if by == "customer" else {}
    )
    groups: dict[str, dict[str, Any]] = {}
    for record_id, owner, team, _p, day, source, industry, amount, status, customer in rows:
        key = {
            "owner": owner or "(pool)",
            "team": team or "(none)",
            "source": source or "(unknown)",
            "industry": industry or "(unknown)",
            "stage": status,
            "customer": names.get(customer, customer),
            "month": (day or "")[:7],
        }[by]
        row = groups.setdefault(str(key), {by: str(key), "count": 0})
        row["count"] += 1
        if kind == "contract":
            value = decimal(amount)
            paid = min(received.get(record_id, Decimal(0)), value)
            row["amount"] = row.get("amount", Decimal(0)) + value
            row["received"] = row.get("received", Decimal(0)) + paid
            row["outstanding"] = row.get("outstanding", Decimal(0)) + value - paid
    return [to_json(groups[k]) for k in sorted(groups)]


def _sales(
    store: Store, viewer: Member, by: str, first: dt.date, last: dt.date
) -> list[dict[str, Any]]:
    config = store.config
    facts = Facts(store.index, config)
    scope = config.role_of(viewer).scope
    members = [
        m
        for m in config.members.values()
        if scope == "all" or (scope == "team" and m.team == viewer.team) or m.id == viewer.id
    ]
    spans: list[tuple[str, Period]] = []
    if by == "month":
        month = period_containing("month", first)
        while month.start <= last:
            span = Period("month", month.id, max(month.start, first), min(month.end, last))
            spans.append((month.id, span))
            month = period_containing("month", month.end + dt.timedelta(days=1))
    else:
        spans.append(("", Period("range", f"{first}..{last}", first, last)))
    groups: dict[str, dict[str, Any]] = {}
    for label, span in spans:
        for row in facts.member_facts(span, [m.id for m in members]):
            member = config.members[row["member"]]
            key = {"owner": member.id, "team": member.team or "(none)", "month": label}[by]
            group = groups.setdefault(key, {by: key, "count": 0, **{m: 0 for m in METRICS}})
            for metric in METRICS:
                group[metric] += row[metric]
            group["count"] += 1  # members in the group
    return [to_json(groups[k]) for k in sorted(groups)]
