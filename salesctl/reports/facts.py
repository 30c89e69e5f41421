"""The facts of a period, computed from the index with SQL, exact to the cent.

Every figure here is defined once, so a report, ``stats`` and an OKR key result linked to
a metric always agree:

- ``new_leads``: leads created in the period, by current owner
- ``followups``: follow-ups the member authored, dated in the period
- ``visits``: visits the member made (status done), dated in the period
- ``leads_converted``: leads whose ``stages.converted`` date is in the period, by owner
- ``deals_won`` / ``deals_lost``: deals that entered the won / lost stage in the period
- ``contracts_signed`` / ``contract_amount``: contracts signed in the period (not drafts or
  cancelled ones) and the sum of their amounts
- ``payments_received``: payments dated in the period on the member's contracts
- ``outstanding``: what the member's signed contracts still had to receive at the period's end
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from salesctl.model.config import Config
from salesctl.reports.money import (
    OpenInstalment,
    aging,
    decimal,
    default_plan,
    open_instalments,
)
from salesctl.reports.periods import Period
from salesctl.store.index import Index

COUNT_METRICS = (
    "new_leads",
    "followups",
    "visits",
    "leads_converted",
    "deals_won",
    "deals_lost",
    "contracts_signed",
)
AMOUNT_METRICS = ("contract_amount", "payments_received", "outstanding")
METRICS = COUNT_METRICS + AMOUNT_METRICS
LIVE_CONTRACT = "coalesce(json_extract(data, '$.status'), '') NOT IN ('draft', 'cancelled')"


class Facts:
    """Queries over one store's index for reports, stats and OKR metrics."""

    def __init__(self, index: Index, config: Config) -> None:
        self.index = index
        self.config = config
        # With no such stage configured nothing counts as won/lost ("" matches no record).
        self.won, self.lost = config.won_stage or "", config.lost_stage or ""

    def _count_by(self, sql: str, args: Sequence[Any]) -> dict[str, int]:
        self.index.refresh()
        return {str(k): int(v) for k, v in self.index.db.execute(sql, list(args)) if k}

    def _sum_by(self, sql: str, args: Sequence[Any]) -> dict[str, Decimal]:
        self.index.refresh()
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for key, amount in self.index.db.execute(sql, list(args)):
            if key:
                totals[str(key)] += decimal(amount)
        return dict(totals)

    def metric(self, name: str, period: Period) -> dict[str, Any]:
        """{member id: value} of one metric over one period."""
        start, end = period.start.isoformat(), period.end.isoformat()
        date_in = "BETWEEN ? AND ?"
        if name == "new_leads":
            return self._count_by(
                "SELECT owner, count(*) FROM records WHERE kind = 'lead' AND data IS NOT NULL "
                f"AND json_extract(data, '$.created') {date_in} GROUP BY owner",
                (start, end),
            )
        if name in ("followups", "visits"):
            kind = name[:-1]
            done = "" if kind == "followup" else "AND json_extract(data, '$.status') = 'done'"
            return self._count_by(
                "SELECT json_extract(data, '$.author'), count(*) FROM records "
                f"WHERE kind = ? AND data IS NOT NULL {done} "
                f"AND substr(json_extract(data, '$.at'), 1, 10) {date_in} GROUP BY 1",
                (kind, start, end),
            )
        if name in ("leads_converted", "deals_won", "deals_lost"):
            kind, stage = {
                "leads_converted": ("lead", "converted"),
                "deals_won": ("deal", self.won),
                "deals_lost": ("deal", self.lost),
            }[name]
            return self._count_by(
                "SELECT owner, count(*) FROM records WHERE kind = ? AND data IS NOT NULL "
                "AND json_extract(data, '$.stage') = ? "
                f"AND json_extract(data, '$.stages.' || ?) {date_in} GROUP BY owner",
                (kind, stage, stage, start, end),
            )
        if name in ("contracts_signed", "contract_amount"):
            sql = (
                "SELECT owner, {what} FROM records WHERE kind = 'contract' AND data IS NOT NULL "
                f"AND {LIVE_CONTRACT} AND json_extract(data, '$.signed') {date_in} "
            )
            if name == "contracts_signed":
                return self._count_by(sql.format(what="count(*)") + "GROUP BY owner", (start, end))
            return self._sum_by(sql.format(what="json_extract(data, '$.amount')"), (start, end))
        if name == "payments_received":
            return self._sum_by(
                "SELECT owner, json_extract(data, '$.amount') FROM records WHERE kind = 'payment' "
                f"AND data IS NOT NULL AND json_extract(data, '$.date') {date_in}",
                (start, end),
            )
        if name == "outstanding":
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for owner, _id, items in self.open_receivables(period.end):
                totals[owner] += sum((i.amount for i in items), Decimal(0))
            return dict(totals)
        raise KeyError(name)

    def open_receivables(
        self, as_of: dt.date, owners: Iterable[str] | None = None
    ) -> list[tuple[str, str, list[OpenInstalment]]]:
        """(owner, contract id, unpaid instalments) of contracts signed by ``as_of``."""
        wanted = set(owners) if owners is not None else None
        day = as_of.isoformat()
        paid: dict[str, Decimal] = defaultdict(Decimal)
        for _id, _owner, _team, parent, amount in self.index.select(
            "payment", ["amount"], "json_extract(data, '$.date') <= ?", [day]
        ):
            paid[parent] += decimal(amount)
        result = []
        for contract_id, owner, _team, _parent, amount, signed, plan in self.index.select(
            "contract",
            ["amount", "signed", "plan"],
            f"{LIVE_CONTRACT} AND json_extract(data, '$.signed') <= ?",
            [day],
        ):
            if owner is None or (wanted is not None and owner not in wanted):
                continue
            rows = _plan(plan, decimal(amount), dt.date.fromisoformat(signed))
            items = open_instalments(rows, paid.get(contract_id, Decimal(0)))
            if items:
                result.append((owner, contract_id, items))
        return result

    def member_facts(self, period: Period, members: Sequence[str]) -> list[dict[str, Any]]:
        values = {name: self.metric(name, period) for name in METRICS}
        rows = []
        for member in members:
            row: dict[str, Any] = {"member": member}
            for name in COUNT_METRICS:
                row[name] = values[name].get(member, 0)
            for name in AMOUNT_METRICS:
                row[name] = values[name].get(member, Decimal(0))
            rows.append(row)
        return rows

    def aging_at(self, as_of: dt.date, owners: Iterable[str]) -> dict[str, Decimal]:
        items = [i for _o, _c, batch in self.open_receivables(as_of, owners) for i in batch]
        return aging(items, as_of)


def _plan(raw: Any, amount: Decimal, signed: dt.date) -> list[tuple[dt.date, Decimal]]:
    import json

    rows = json.loads(raw) if isinstance(raw, str) else raw
    if not rows:
        return default_plan(amount, signed)
    return [(dt.date.fromisoformat(r["due"]), decimal(r["amount"])) for r in rows]


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in COUNT_METRICS:
        result[name] = sum(r[name] for r in rows)
    for name in AMOUNT_METRICS:
        result[name] = sum((r[name] for r in rows), Decimal(0))
    return result
