"""A lead's or deal's way through its stages: ``stages`` dates the path it took, and what a
move back or a reopening takes off that path goes to ``earlier_stages``, so its history only
grows and every figure about a past day (``pipeline --as-of``, reports, ``stats``, ``deal
losses``) answers as it did then."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from salesctl import clock
from salesctl.model.config import Config
from salesctl.model.kinds import Kind


def enter_stage(
    data: dict[str, Any],
    stage: str,
    on: dt.date | None = None,
    *,
    leaving: str | None = None,
    order: Sequence[str] = (),
) -> None:
    """Set ``stage`` and date it in ``stages`` (so reports can count movements).

    ``stages`` is the path the record took, oldest first, and stays in date order: going
    back to a stage it passed drops that stage's old entry and everything after it (they
    no longer hold), as does going back to a stage before them in the funnel's ``order``;
    ``leaving`` names a closing stage a reopen leaves (lost, won); and a date earlier than
    the last one on the path (a backdated signing) is moved up to it."""
    if data.get("stage") == stage and stage in (data.get("stages") or {}):
        return
    data["stage"] = stage
    path = list((data.get("stages") or {}).items())
    names = [name for name, _day in path]
    for cut in (stage, leaving):
        if cut is not None and cut in names:
            del path[names.index(cut) :]
            names = names[: len(path)]
    if stage in order:
        later = set(order[order.index(stage) :])
        path = [(name, day) for name, day in path if name not in later]
    day = on or clock.today()
    dates = [d for _name, d in path if isinstance(d, dt.date)]
    data["stages"] = {**dict(path), stage: max([day, *dates])}


def move_stage(config: Config, kind: Kind, data: dict[str, Any], stage: str) -> None:
    """Move a lead or deal to ``stage`` as ``enter_stage`` does (a closing stage it leaves
    leaves its path; a deal's later stages in the funnel too), and keep what that drops in
    ``earlier_stages``, a closing stage with the fields that explained it (a loss's reason
    and competitor, a disqualification's reason): what it was on a past day never changes.
    Every move of an existing lead or deal goes through here (``enter_stage`` alone dates
    the first stage of a new one)."""
    before, passed = data.get("stage"), dict(data.get("stages") or {})
    if before == stage and stage in passed:
        return
    closing = closing_stages(config, kind)
    order = [s.id for s in config.deal_stages] if kind.name == "deal" else ()
    enter_stage(data, stage, leaving=before if before in closing else None, order=order)
    left = [
        {"stage": name, "date": day}
        for name, day in passed.items()
        if name == stage or name not in data["stages"]
    ]
    if before in closing:  # reopened: what explained the close is the closing entry's now
        why = {field: data.pop(field, None) for field in closing[before]}
        if left and left[-1]["stage"] == before:
            left[-1].update(why)
    if left:
        data["earlier_stages"] = [*(data.get("earlier_stages") or []), *left]


def closing_stages(config: Config, kind: Kind) -> dict[str, tuple[str, ...]]:
    """A kind's closing stages (a reopening leaves them), each with its explaining fields."""
    if kind.name == "lead":
        return {"converted": (), "disqualified": ("reason",)}
    won, lost = config.won_stage, config.lost_stage
    return {s: why for s, why in ((won, ()), (lost, ("reason", "lost_to"))) if s is not None}
