"""The current time, in one place, so tests and reproducible runs can freeze it.

``$SALESCTL_NOW`` (ISO 8601, e.g. ``2026-11-20T10:00:00+08:00``) overrides the system clock.
Once a store's config is read, the time is told in the org's zone (``timezone:`` in
salesctl.yaml), so "today" is the same day for every record, on any machine: a lead added at
00:30 in Shanghai is created that day, not the day before by a server's UTC clock.
"""

from __future__ import annotations

import datetime as dt
import os

_zone_name: str | None = None
_zone: dt.tzinfo | None = None


def use_zone(name: str | None) -> None:
    """Tell the time in this IANA zone from now on (None: the machine's local time)."""
    global _zone_name, _zone
    if name != _zone_name:
        _zone_name, _zone = name, None


def zone() -> dt.tzinfo | None:
    """The org's zone, once a store's config named it (loaded when first asked: 2-3 ms)."""
    global _zone
    if _zone is None and _zone_name:
        from zoneinfo import ZoneInfo

        try:
            _zone = ZoneInfo(_zone_name)
        except (ValueError, OSError, KeyError):  # the config check reports a bad zone
            return None
    return _zone


def now() -> dt.datetime:
    """Timezone-aware current time in the org's zone (else the machine's), or the frozen
    ``$SALESCTL_NOW``."""
    frozen = os.environ.get("SALESCTL_NOW")
    if frozen:
        value = dt.datetime.fromisoformat(frozen)
        value = value if value.tzinfo else value.astimezone()
    else:
        value = dt.datetime.now().astimezone().replace(microsecond=0)
    org = zone()
    return value.astimezone(org) if org is not None else value


def today() -> dt.date:
    """The org's date now."""
    return now().date()
