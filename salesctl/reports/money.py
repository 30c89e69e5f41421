"""Contract money: payments settle the earliest open instalment first; aging buckets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")
DEFAULT_TERMS_DAYS = 30


@dataclass(frozen=True)
class OpenInstalment:
    due: dt.date
    amount: Decimal  # still unpaid

    def days_overdue(self, as_of: dt.date) -> int:
        return max(0, (as_of - self.due).days)


def default_plan(amount: Decimal, signed: dt.date) -> list[tuple[dt.date, Decimal]]:
    return [(signed + dt.timedelta(days=DEFAULT_TERMS_DAYS), amount)]


def open_instalments(
    plan: Iterable[tuple[dt.date, Decimal]], paid: Decimal
) -> list[OpenInstalment]:
    """What remains unpaid of each instalment once ``paid`` settles the earliest first."""
    remaining = paid
    result = []
    for due, amount in sorted(plan):
        settled = min(amount, remaining)
        remaining -= settled
        if amount - settled > 0:
            result.append(OpenInstalment(due, amount - settled))
    return result


def bucket_of(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "d1_30"
    if days_overdue <= 60:
        return "d31_60"
    if days_overdue <= 90:
        return "d61_90"
    return "d90_plus"


def aging(instalments: Iterable[OpenInstalment], as_of: dt.date) -> dict[str, Decimal]:
    result = {b: Decimal(0) for b in BUCKETS}
    for item in instalments:
        result[bucket_of(item.days_overdue(as_of))] += item.amount
    result["total"] = sum((result[b] for b in BUCKETS), Decimal(0))
    return result


def decimal(value: object) -> Decimal:
    """An amount from index JSON (int/float/str) as an exact Decimal."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)
