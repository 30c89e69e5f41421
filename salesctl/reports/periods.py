"""Report periods: ISO weeks (``2026-W47``), months (``2026-11``) and quarters (``2026-Q4``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from salesctl.errors import Invalid
from salesctl.model import values


@dataclass(frozen=True)
class Period:
    kind: str  # week, month, quarter
    id: str
    start: dt.date
    end: dt.date  # inclusive

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - dt.timedelta(days=1))


# What each kind of period looks like, for the hint of a refusal.
EXAMPLES = {"week": "2026-W47", "month": "2026-11", "quarter": "2026-Q4"}


def parse_period(text: str, option: str = "--period", kind: str | None = None) -> Period:
    """A typed period (``2026-W47``, ``2026-11``, ``2026-Q4``; with ``kind``, only one of that
    kind) within the years dates may fall in, or ``Invalid`` naming ``option``."""
    wanted = kind or "period"
    example = f"e.g. {EXAMPLES[kind]}" if kind else "use 2026-W47, 2026-11 or 2026-Q4"
    clean = text.strip().upper()
    if shaped := re.fullmatch(r"(\d{4})-(?:W\d{2}|\d{2}|Q[1-4])", clean):
        try:
            values.check_year(int(shaped[1]), clean)
        except values.OutOfRange as exc:
            raise Invalid(f"{option} {exc}", values.DATE_RANGE) from None
    period = _period(clean)
    if period is None:
        article = "an" if wanted[0] in "aeiou" else "a"
        raise Invalid(f"{option} {text!r} is not {article} {wanted}", example)
    if kind is not None and period.kind != kind:
        raise Invalid(f"{option} {period.id} is a {period.kind}, not a {kind}", example)
    return period


def _period(text: str) -> Period | None:
    """The period ``text`` names (any year Python's dates hold), or None."""
    try:
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
            return _week(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            return _month(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
            return _quarter(int(m[1]), int(m[2]))
    except ValueError:  # week 60, month 13
        return None
    return None


def _week(year: int, week: int) -> Period:
    start = dt.date.fromisocalendar(year, week, 1)
    return Period("week", f"{year}-W{week:02d}", start, start + dt.timedelta(days=6))


def _month(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Period("month", f"{year}-{month:02d}", start, following - dt.timedelta(days=1))


def _quarter(year: int, quarter: int) -> Period:
    start = dt.date(year, 3 * quarter - 2, 1)
    return Period("quarter", f"{year}-Q{quarter}", start, _month(year, 3 * quarter).end)


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == "week":
        year, week, _ = day.isocalendar()
        return _week(year, week)
    if kind == "month":
        return _month(day.year, day.month)
    return _quarter(day.year, (day.month - 1) // 3 + 1)


def last_complete(kind: str, today: dt.date) -> Period:
    """The most recent period of ``kind`` that has ended before ``today``."""
    return period_containing(kind, today).previous()
