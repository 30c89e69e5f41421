"""Where every record lives. The layout is a contract; this module is its only definition.

    pool/<plural>/<ID>/<kind>.yaml                 a record nobody owns (the 公海)
    teams/<team>/<member>/<plural>/<ID>/<kind>.yaml  owned by a member of a team
    members/<member>/<plural>/<ID>/<kind>.yaml     owned by a member without a team
    teams/<team>/okrs/<ID>/okr.yaml, okrs/<ID>/okr.yaml   team and company OKRs
    competitors/<ID>/competitor.yaml               competitor intelligence, org-wide
    toolkit/<ID>/item.yaml, toolkit/<ID>/<file>    the shared sales toolkit, org-wide
    feedback/<ID>/feedback.yaml                    customer feedback not matched yet (triage)
    .../<ID>/<child plural>/<CHILD-ID>.yaml        follow-ups, visits, payments, invoices
                                                   and tasks that travel with the record
    .../<ID>/attachments/<CHILD-ID>/<file>         attachments of a follow-up

A record's directory holds everything that belongs to it, so reassigning it is one
directory rename and the new owner inherits its whole history. Paths are built from ids
and config names only, both validated, so nothing can point outside the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesctl.ids import is_id
from salesctl.model.kinds import BY_PLURAL, KINDS, Kind

POOL_DIR = "pool"
TEAMS_DIR = "teams"
MEMBERS_DIR = "members"
TOOLKIT_DIR = "toolkit"
TRIAGE_DIR = "feedback"  # feedback no customer matched: leads and directors triage it
RECORD_ROOTS = (POOL_DIR, TEAMS_DIR, MEMBERS_DIR, "okrs", "competitors", TOOLKIT_DIR, TRIAGE_DIR)


@dataclass(frozen=True, order=True)
class Owner:
    """Whose directory a record is in: the pool, a member, a team (OKRs) or the company."""

    member: str | None = None
    team: str | None = None
    company: bool = False

    @property
    def is_pool(self) -> bool:
        return self.member is None and self.team is None and not self.company

    @property
    def dir(self) -> str:
        if self.member and self.team:
            return f"{TEAMS_DIR}/{self.team}/{self.member}"
        if self.member:
            return f"{MEMBERS_DIR}/{self.member}"
        if self.team:
            return f"{TEAMS_DIR}/{self.team}"
        return "" if self.company else POOL_DIR

    def __str__(self) -> str:
        if self.member:
            return self.member
        if self.team:
            return f"team {self.team}"
        return "company" if self.company else "pool"


POOL = Owner()
COMPANY = Owner(company=True)


@dataclass(frozen=True)
class RecordPath:
    """A parsed record file path."""

    path: str  # store-relative, '/'-separated
    kind: Kind
    id: str
    owner: Owner
    parent: str | None = None  # the id of the record whose directory holds this one

    @property
    def record_dir(self) -> str:
        """The directory that moves with the record (top-level records only)."""
        return self.path.rsplit("/", 1)[0]


def record_dir(owner: Owner, kind: Kind, record_id: str) -> str:
    base = owner.dir
    return f"{base}/{kind.plural}/{record_id}" if base else f"{kind.plural}/{record_id}"


def record_file(owner: Owner, kind: Kind, record_id: str) -> str:
    return f"{record_dir(owner, kind, record_id)}/{kind.file_name}"


def child_file(parent_dir: str, kind: Kind, child_id: str) -> str:
    return f"{parent_dir}/{kind.plural}/{child_id}.yaml"


def parse_path(path: str) -> RecordPath | None:
    """The record a store-relative path holds, or None if it is not a record file."""
    parts = path.split("/")
    if len(parts) < 3 or not parts[-1].endswith(".yaml"):
        return None
    head = parts[0]
    if head == POOL_DIR:
        owner, rest = POOL, parts[1:]
    elif head == MEMBERS_DIR and len(parts) > 2:
        owner, rest = Owner(member=parts[1]), parts[2:]
    elif head == TEAMS_DIR and len(parts) > 3:
        if parts[2] in BY_PLURAL:
            owner, rest = Owner(team=parts[1]), parts[2:]
        else:
            owner, rest = Owner(member=parts[2], team=parts[1]), parts[3:]
    elif head in BY_PLURAL:
        owner, rest = COMPANY, parts
    else:
        return None
    # rest: <plural>/<ID>/<kind>.yaml  or  <plural>/<ID>/<child plural>/<CHILD>.yaml
    if len(rest) == 3:
        kind = BY_PLURAL.get(rest[0])
        if (
            kind
            and is_id(rest[1])
            and rest[2] == kind.file_name
            and rest[1].startswith(kind.prefix + "-")
        ):
            return RecordPath(path, kind, rest[1], owner)
    elif len(rest) == 4:
        parent_kind, child_kind = BY_PLURAL.get(rest[0]), BY_PLURAL.get(rest[2])
        stem = rest[3][: -len(".yaml")]
        if (
            parent_kind
            and child_kind
            and child_kind.name in parent_kind.children
            and is_id(rest[1])
            and is_id(stem)
            and stem.startswith(child_kind.prefix + "-")
        ):
            return RecordPath(path, child_kind, stem, owner, parent=rest[1])
    return None


def is_toolkit_file(path: str) -> bool:
    """Is ``path`` the file a toolkit item describes (``toolkit/TK-.../<file>``)?"""
    parts = path.split("/")
    return (
        len(parts) == 3
        and parts[0] == TOOLKIT_DIR
        and is_id(parts[1])
        and parts[1].startswith("TK-")
        and parts[2] != "item.yaml"
    )


def kind_named(name: str) -> Kind:
    return KINDS[name]
