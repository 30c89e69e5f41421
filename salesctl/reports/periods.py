"""Report periods: ISO weeks (``2026-W47``), months (``2026-11``) and quarters (``2026-Q4``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from salesctl.errors import Invalid


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


def parse_period(text: str) -> Period:
    text = text.strip().upper()
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
        year, week = int(m[1]), int(m[2])
        try:
            start = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise Invalid(f"{text} is not an ISO week", "e.g. 2026-W47") from None
        return Period("week", f"{year}-W{week:02d}", start, start + dt.timedelta(days=6))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise Invalid(f"{text} is not a month", "e.g. 2026-11")
        return _month(year, month)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(m[1]), int(m[2])
        start = dt.date(year, 3 * quarter - 2, 1)
        end = _month(year, 3 * quarter).end
        return Period("quarter", f"{year}-Q{quarter}", start, end)
    raise Invalid(f"{text!r} is not a period", "use 2026-W47, 2026-11 or 2026-Q4")


def _month(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Period("month", f"{year}-{month:02d}", start, following - dt.timedelta(days=1))


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == "week":
        year, week, _ = day.isocalendar()
        return parse_period(f"{year}-W{week:02d}")
    if kind == "month":
        return _month(day.year, day.month)
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def last_complete(kind: str, today: dt.date) -> Period:
    """The most recent period of ``kind`` that has ended before ``today``."""
    return period_containing(kind, today).previous()
