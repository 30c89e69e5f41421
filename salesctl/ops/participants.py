"""Who supports a record's owner: a lead's, customer's or deal's participants (they read it
and add follow-ups and visits), a visit's attendees. One rule for every place that sets them
(assign, add, edit, the editor, visits)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesctl.errors import SalesctlError
from salesctl.model.config import Config
from salesctl.store.layout import Owner


def supporting_members(
    config: Config,
    people: Iterable[str],
    *,
    label: str,
    owner: str | None = None,
    before: Iterable[str] = (),
) -> list[str]:
    """The members of ``people`` who support a record's owner: a lead's, customer's or deal's
    participants, a visit's attendees. Each is named once and must be an active member (one
    already in ``before``, the record's list until this edit, stays even if deactivated
    since); the ``owner`` is left out, since the record is theirs already. ``label`` names
    the option or field in an error."""
    kept: list[str] = []
    earlier = set(before)
    for member_id in dict.fromkeys(people):
        if member_id == owner:
            continue
        if member_id not in earlier:
            try:
                config.require_member(member_id, active=True)
            except SalesctlError as exc:
                exc.message = f"{label} {exc.message}"
                raise
        kept.append(member_id)
    return kept


def with_participants(
    config: Config, data: dict[str, Any], owner: Owner, before: Iterable[str] = ()
) -> dict[str, Any]:
    """``data`` with its ``participants`` as ``supporting_members`` keeps them (none left:
    no field)."""
    if not data.get("participants"):
        return data
    kept = supporting_members(
        config, data["participants"], label="participants:", owner=owner.member, before=before
    )
    result = dict(data)
    if kept:
        result["participants"] = kept
    else:
        del result["participants"]
    return result
