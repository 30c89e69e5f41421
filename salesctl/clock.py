"""The current time, in one place, so tests and reproducible runs can freeze it.

``$SALESCTL_NOW`` (ISO 8601, e.g. ``2026-11-20T10:00:00+08:00``) overrides the system clock.
"""

from __future__ import annotations

import datetime as dt
import os


def now() -> dt.datetime:
    """Timezone-aware current time (local offset), or the frozen ``$SALESCTL_NOW``."""
    frozen = os.environ.get("SALESCTL_NOW")
    if frozen:
        value = dt.datetime.fromisoformat(frozen)
        return value if value.tzinfo else value.astimezone()
    return dt.datetime.now().astimezone().replace(microsecond=0)


def today() -> dt.date:
    return now().date()
