"""Contract money: payments settle the earliest open instalment first; aging buckets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from salesctl.model.kinds import DEFAULT_TERMS_DAYS

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")
CENT = Decimal("0.01")


def weighted(amount: Decimal, probability: int) -> Decimal:
    """A stage's probability-weighted amount: money, so to the cent, half up (the same in
    ``pipeline``, its table and the report)."""
    return (amount * probability / 100).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class OpenInstalment:
    due: dt.date
    amount: Decimal  # still unpaid

    def days_overdue(self, as_of: dt.date) -> int:
        return max(0, (as_of - self.due).days)


def default_plan(amount: Decimal, signed: dt.date) -> list[tuple[dt.date, Decimal]]:
    return [(signed + dt.timedelta(days=DEFAULT_TERMS_DAYS), amount)]


@dataclass(frozen=True)
class Instalment:
    """One instalment of a payment plan and what the payments so far settle of it."""

    due: dt.date
    amount: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    def status(self, as_of: dt.date) -> str:
        """``paid``, ``overdue`` (unpaid after its due date), ``partial`` or ``open``."""
        if self.outstanding <= 0:
            return "paid"
        if as_of > self.due:
            return "overdue"
        return "partial" if self.paid > 0 else "open"


def settle(plan: Iterable[tuple[dt.date, Decimal]], paid: Decimal) -> list[Instalment]:
    """Every instalment, earliest due first, with what ``paid`` settles of it (earliest
    open instalment first; anything beyond the plan's total settles nothing)."""
    remaining = paid
    result = []
    for due, amount in sorted(plan):
        settled = max(Decimal(0), min(amount, remaining))
        remaining -= settled
        result.append(Instalment(due, amount, settled))
    return result


def open_instalments(
    plan: Iterable[tuple[dt.date, Decimal]], paid: Decimal
) -> list[OpenInstalment]:
    """What remains unpaid of each instalment once ``paid`` settles the earliest first."""
    return [OpenInstalment(i.due, i.outstanding) for i in settle(plan, paid) if i.outstanding > 0]


def overdue_amount(instalments: Iterable[OpenInstalment], as_of: dt.date) -> Decimal:
    """The unpaid part of instalments due before ``as_of``."""
    return sum((i.amount for i in instalments if i.days_overdue(as_of) > 0), Decimal(0))


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


def plain(amount: Decimal) -> str:
    """An amount as people write it in messages: 105000, 99.50 (no exponent, no 105000.00)."""
    if amount == amount.to_integral_value():
        return str(amount.quantize(Decimal(1)))
    return format(amount.quantize(Decimal("0.01")), "f")
