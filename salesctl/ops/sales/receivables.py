"""``salesctl receivables``: money still to be received, in aging buckets.

The unpaid instalments of the contracts the viewer may see, as of a day, in buckets by the
plan's due dates (not yet due, 1-30, 31-60, 61-90, over 90 days overdue), one row per owner,
team, customer or contract. The figures are ``reports.facts.Facts``' receivables, the same
definition the reports use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.model.config import Member
from salesctl.ops.records import RecordList
from salesctl.reports.facts import Facts, Receivable
from salesctl.reports.money import BUCKETS, aging
from salesctl.scopes import visible_dirs
from salesctl.store.index_committed import committed
from salesctl.store.store import Store

GROUPS = ("owner", "team", "customer", "contract")


def receivables(
    store: Store,
    viewer: Member,
    *,
    as_of: dt.date | None = None,
    by: str = "owner",
) -> RecordList:
    """Outstanding amounts in aging buckets (not yet due, 1-30, 31-60, 61-90, over 90 days
    overdue) per the plan's due dates, one row per owner, team, customer or contract, of
    the contracts the viewer may see. Same definition as the reports (``Facts``)."""
    if by not in GROUPS:
        raise Invalid(f"--by {by!r}", f"use one of {', '.join(GROUPS)}")
    day = as_of or clock.today()
    config = store.config
    sql, args = scopes.visible_sql(config, viewer)
    within = visible_dirs(config, viewer)
    facts = Facts(store.index, config, within=within)
    rows = RecordList()
    # Money owed is a report's figure: as committed, like the weekly report's receivables
    # (its ``data_commit``); uncommitted edits are named, not counted.
    with committed(store.index, within) as edited:
        found = facts.receivables(day, where=sql, args=args)
        rows.skipped = facts.skipped(sql, args)
    rows.uncommitted = edited
    named = by in ("customer", "contract")
    names = facts.customer_names(r.customer for r in found) if named else {}
    groups: dict[Any, list[Receivable]] = defaultdict(list)
    labels: dict[Any, dict[str, Any]] = {}
    for receivable in found:
        label = _receivable_label(receivable, by, names)
        key = next(iter(label.values()))
        labels[key] = label
        groups[key].append(receivable)
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        buckets = aging([i for r in groups[key] for i in r.items], day)
        row = dict(labels[key])
        row.update({b: buckets[b] for b in BUCKETS})
        row["total"] = buckets["total"]
        row["overdue"] = buckets["total"] - buckets["current"]
        row["contracts"] = len(groups[key])
        rows.append(row)
    return rows


def _receivable_label(receivable: Receivable, by: str, names: dict[str, Any]) -> dict[str, Any]:
    """The grouping columns of a receivables row (the first one is the group's key)."""
    if by == "owner":
        return {"owner": receivable.owner}
    if by == "team":
        return {"team": receivable.team}
    name = names.get(receivable.customer or "")
    if by == "customer":
        return {"customer": receivable.customer, "customer_name": name}
    return {
        "contract": receivable.contract,
        "title": receivable.title,
        "customer": receivable.customer,
        "customer_name": name,
        "owner": receivable.owner,
        "team": receivable.team,
    }
