"""``stats customers|sales|contracts --by ...``: grouped counts and amounts over a date range.

Rows carry the grouping key (``owner``, ``team``, ``source``, ``industry``, ``stage``,
``customer`` or ``month``) plus ``count``; contracts add ``amount``, ``received`` and
``outstanding``; sales rows carry the activity figures of the weekly report, computed by the
same definitions (``reports/facts.py``), so stats and reports always agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.config import Member
from salesctl.model.values import to_json
from salesctl.ops.records import RecordList
from salesctl.reports.facts import (
    AMOUNT,
    METRICS,
    Facts,
    from_cents,
    in_list,
    paid_by,
)
from salesctl.reports.periods import Period, parse_period, period_containing
from salesctl.scopes import visible_dirs
from salesctl.store.index_committed import committed
from salesctl.store.index_schema import cents
from salesctl.store.store import Store

GROUPINGS = {
    "customers": ("owner", "team", "source", "industry", "month"),
    "sales": ("owner", "team", "month"),
    "contracts": ("owner", "team", "customer", "stage", "month"),
}

# The grouping keys as SQL; ``_label`` names them in the output.
GROUP_SQL = {
    "owner": "owner",
    "team": "team",
    "source": "json_extract(data, '$.source')",
    "industry": "json_extract(data, '$.industry')",
    "stage": "json_extract(data, '$.status')",
    "customer": "json_extract(data, '$.customer')",
    "month": "substr(json_extract(data, '$.{date}'), 1, 7)",
}


def date_range(
    *, start: str | None, end: str | None, period: str | None
) -> tuple[dt.date, dt.date]:
    if period is not None:
        if start is not None or end is not None:
            raise Invalid("--period excludes --from/--to", "choose one")
        p = parse_period(period)
        return p.start, p.end
    today = clock.today()
    first = values.typed_date(start, "--from", today) if start is not None else dt.date(1970, 1, 1)
    last = values.typed_date(end, "--to", today) if end is not None else today
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
    # As committed, like a report: the same definitions must give the same figures.
    within = [] if what == "sales" else visible_dirs(store.config, viewer)
    with committed(store.index, within) as uncommitted:
        if what == "sales":
            result = _sales(store, viewer, by, first, last)
        else:
            result = _stats(store, viewer, what, by, first, last, within)
    result.uncommitted = uncommitted
    return result


def _stats(
    store: Store,
    viewer: Member,
    what: str,
    by: str,
    first: dt.date,
    last: dt.date,
    within: list[str],
) -> RecordList:
    config = store.config
    kind = "customer" if what == "customers" else "contract"
    facts = Facts(store.index, config, within=within)
    found = _grouped(facts, viewer, kind, by, first, last)
    names = facts.customer_names(key for key, *_rest in found) if by == "customer" else {}
    groups: dict[str, dict[str, Any]] = {}
    for key, count, amount, received in found:
        label = _label(by, key, names)
        row = groups.setdefault(label, {by: label, "count": 0})
        row["count"] += count
        if kind == "contract":
            value, paid = from_cents(amount), from_cents(received)
            row["amount"] = row.get("amount", Decimal(0)) + value
            row["received"] = row.get("received", Decimal(0)) + paid
            row["outstanding"] = row.get("outstanding", Decimal(0)) + value - paid
    result = RecordList()
    result.extend(to_json(groups[k]) for k in sorted(groups))
    result.skipped = facts.skipped(*scopes.visible_sql(config, viewer))
    return result


def _grouped(
    facts: Facts, viewer: Member, kind: str, by: str, first: dt.date, last: dt.date
) -> list[tuple[Any, int, int, int]]:
    """(key, count, amount in cents, received in cents) per group of the ``kind`` records
    dated in ``first``..``last`` that ``viewer`` may read; a contract's received is what was
    paid on it by ``last``, at most its amount. Cancelled contracts are left out."""
    date_field = "created" if kind == "customer" else "signed"
    where = f"kind = ? AND json_extract(data, '$.{date_field}') BETWEEN ? AND ?"
    args: list[Any] = [kind, first.isoformat(), last.isoformat()]
    money = "0, 0"
    if kind == "contract":
        where += " AND coalesce(json_extract(data, '$.status'), '') != 'cancelled'"
        amount = f"coalesce({cents(AMOUNT)}, 0)"
        paid = f"coalesce({paid_by('c')}, 0)"
        money = f"sum({amount}), sum(min({amount}, {paid}))"
    scope_sql, scope_args = scopes.visible_sql(facts.config, viewer)
    if scope_sql:
        where += f" AND {scope_sql}"
    key = GROUP_SQL[by].format(date=date_field)
    sql = f"SELECT {key}, count(*), {money} FROM valid_records AS c WHERE {where} GROUP BY 1"
    params = ([last.isoformat()] if kind == "contract" else []) + args + scope_args
    return list(facts.query(sql, params, [kind, "payment"] if kind == "contract" else [kind]))


def _label(by: str, key: Any, names: dict[str, Any]) -> str:
    """How a group is named in the output; groups of the same name are one row."""
    if by == "customer":
        return str(names.get(key, key))
    if by in ("stage", "month"):
        return str(key)
    return str(key or {"owner": "(pool)", "team": "(none)"}.get(by, "(unknown)"))


def _sales(store: Store, viewer: Member, by: str, first: dt.date, last: dt.date) -> RecordList:
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
    result = RecordList()
    result.extend(to_json(groups[k]) for k in sorted(groups))
    result.skipped = facts.skipped(*in_list("owner", [m.id for m in members]))
    return result
