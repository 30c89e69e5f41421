"""Where a path sits in the store, read from the path alone: whose directory it is in and
which record (if any) it belongs to. The gate, ``history``, ``diff`` and ``sync`` place
every changed path of a commit with it; nothing here reads a file."""

from __future__ import annotations

from dataclasses import dataclass

from salesctl.ids import is_id
from salesctl.model.kinds import BY_PLURAL, Kind
from salesctl.store.layout import (
    COMPANY,
    MEMBERS_DIR,
    POOL,
    POOL_DIR,
    TEAMS_DIR,
    Owner,
    is_toolkit_file,
    parse_path,
)
from salesctl.store.reader_rule import MANIFEST as READERS_MANIFEST

REPORTS_DIR = "reports"


@dataclass(frozen=True)
class Place:
    """Whose directory a path is in, and which record (if any) it belongs to."""

    owner: Owner | None  # None: outside the record directories (config, CI, docs ...)
    record: str | None = None  # id of the top-level record whose directory holds it
    kind: Kind | None = None  # that record's kind
    file_kind: Kind | None = None  # kind of this file (a follow-up under a lead: followup)
    file_id: str | None = None
    rel: str = ""  # the path inside the record's directory ("lead.yaml", "followups/F-...")
    # "attachment", "report", "readers" (an encrypted record's manifest) or "stray"
    special: str | None = None

    @property
    def is_main(self) -> bool:
        return self.kind is not None and self.rel == self.kind.file_name


def _owner_prefix(parts: list[str]) -> tuple[Owner | None, list[str]]:
    head = parts[0]
    if head == POOL_DIR:
        return POOL, parts[1:]
    if head == MEMBERS_DIR and len(parts) > 2:
        return Owner(member=parts[1]), parts[2:]
    if head == TEAMS_DIR and len(parts) > 2:
        if parts[2] in BY_PLURAL or parts[2] == REPORTS_DIR:
            return Owner(team=parts[1]), parts[2:]
        return Owner(member=parts[2], team=parts[1]), parts[3:]
    if head in BY_PLURAL or head == REPORTS_DIR:
        return COMPANY, parts
    if head in (MEMBERS_DIR, TEAMS_DIR):
        return COMPANY, parts  # a file too high up to be anyone's: stray
    return None, parts


def record_and_dir(path: str) -> tuple[str, str] | None:
    """(record id, its directory) of a file in a record's directory, as ``place_of`` names
    its record; None for any other path. Cheap: no parsing of the file's own name."""
    parts = path.split("/")
    owner, rest = _owner_prefix(parts)
    if owner is None or len(rest) < 3 or rest[0] not in BY_PLURAL or not is_id(rest[1]):
        return None
    if not rest[1].startswith(BY_PLURAL[rest[0]].prefix + "-"):
        return None
    return rest[1], "/".join(parts[: len(parts) - len(rest) + 2])


def place_of(path: str) -> Place:
    parts = path.split("/")
    owner, rest = _owner_prefix(parts)
    if owner is None:
        return Place(None)
    if len(rest) >= 3 and rest[0] in BY_PLURAL and is_id(rest[1]):
        kind = BY_PLURAL[rest[0]]
        if rest[1].startswith(kind.prefix + "-"):
            rel = "/".join(rest[2:])
            loc = parse_path(path)
            if loc is not None:
                return Place(owner, rest[1], kind, loc.kind, loc.id, rel)
            if is_toolkit_file(path):  # the file an item.yaml describes: part of the item
                return Place(owner, rest[1], kind, kind, rest[1], rel, "toolkit-file")
            if len(rest) == 3 and rest[2] == READERS_MANIFEST:  # an encrypted store's
                return Place(owner, rest[1], kind, None, None, rel, "readers")
            if len(rest) >= 5 and rest[2] == "attachments" and is_id(rest[3]):
                followup = BY_PLURAL["followups"]
                return Place(owner, rest[1], kind, followup, rest[3], rel, "attachment")
            return Place(owner, rest[1], kind, None, None, rel, "stray")
    if len(rest) >= 2 and rest[0] == REPORTS_DIR:
        return Place(owner, special="report")
    return Place(owner, special="stray")
