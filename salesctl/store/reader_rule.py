"""Who may read a record directory, as the files say it (``encryption: age``): the readers the
access rule gives a directory, and the manifest (``readers.yaml``) that names them.

The readers of a record directory are the access rule's (``scopes.read_scope``): every
active member with an ``age:`` recipient whose scope covers the directory, plus the members
its own files share it with (participants, mentions while the owner is the same, task
assignees: ``scopes.shares_of``), plus the org's recovery recipient. Children (follow-ups,
visits, payments, attachments) inherit their record's readers. A contract's customer file
is also readable by the assignees of the contract's tasks, so that file alone gets them too.
Sealing a change to them is ``readers.Sealer``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from salesctl import sealing, yamlio
from salesctl.errors import Invalid
from salesctl.model.kinds import BY_PLURAL
from salesctl.scopes import read_scope
from salesctl.store.layout import (
    COMPANY,
    MEMBERS_DIR,
    POOL_DIR,
    RECORD_ROOTS,
    TEAMS_DIR,
    TOOLKIT_DIR,
    Owner,
)

if TYPE_CHECKING:
    from salesctl.model.config import Config


MANIFEST = "readers.yaml"
REPORTS = "reports"  # <owner>/reports/<period>.md (reports/commit.py)
CONFIG_FILE = "salesctl.yaml"
PLAIN_ROOTS = (POOL_DIR, TOOLKIT_DIR)
SHARING_KINDS = ("lead", "customer", "deal", "followup", "task")  # files that may share


@dataclass(frozen=True)
class RecordDir:
    """A top-level record's directory: whose it is and where."""

    owner: Owner
    path: str  # e.g. teams/east/alice/leads/L-...
    kind: str  # the record's kind (lead, customer, contract, ...)

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def main_file(self) -> str:
        if self.kind == REPORTS:  # a directory of reports has no record file of its own
            return f"{self.path}/"
        return f"{self.path}/{BY_PLURAL_KIND[self.kind]}"

    @property
    def manifest(self) -> str:
        return f"{self.path}/{MANIFEST}"


BY_PLURAL_KIND = {kind.name: kind.file_name for kind in BY_PLURAL.values()}


def record_dir_of(path: str) -> RecordDir | None:
    """The record directory ``path`` lies in, or None (the config, a stray file, the
    toolkit or a path too short to be in one). An owner's ``reports/`` (the committed weekly
    reports) is sealed like a record directory, to the owner directory's readers."""
    parts = path.split("/")
    head = parts[0]
    if head == REPORTS and len(parts) == 2:
        return RecordDir(COMPANY, REPORTS, REPORTS)
    if head not in RECORD_ROOTS or head == TOOLKIT_DIR:
        return None
    if head == POOL_DIR:
        owner, at = Owner(), 1
    elif head == MEMBERS_DIR and len(parts) > 2:
        owner, at = Owner(member=parts[1]), 2
    elif head == TEAMS_DIR and len(parts) > 3:
        if parts[2] in BY_PLURAL or parts[2] == REPORTS:
            owner, at = Owner(team=parts[1]), 2
        else:
            owner, at = Owner(member=parts[2], team=parts[1]), 3
    elif head in BY_PLURAL:
        owner, at = COMPANY, 0
    else:
        return None
    if len(parts) == at + 2 and parts[at] == REPORTS:
        return RecordDir(owner, "/".join(parts[: at + 1]), REPORTS)
    if len(parts) < at + 3 or parts[at] not in BY_PLURAL:
        return None
    return RecordDir(owner, "/".join(parts[: at + 2]), BY_PLURAL[parts[at]].name)


def is_sealed_path(config: Config, path: str) -> bool:
    """Is ``path`` a file an encrypted store keeps sealed (not the manifest itself)?"""
    if not config.encrypted or path.rsplit("/", 1)[-1] == MANIFEST:
        return False
    place = record_dir_of(path)
    return place is not None and not place.owner.is_pool


def recipient_directory(config: Config) -> dict[str, str]:
    """Reader name -> age recipient: active members with a key, and ``recovery``, in the
    order a file's stanzas are written (``stanza_order``)."""
    out = {m.id: m.age for m in config.members.values() if m.active and m.age}
    if config.recovery:
        out[sealing.RECOVERY] = config.recovery
    rank = stanza_order(config)
    return {name: out[name] for name in sorted(out, key=rank)}


def stanza_order(config: Config) -> Callable[[str], tuple[int, str]]:
    """Readers ranked for a file's stanzas: age tries them in turn, two X25519 operations
    each, so those who decrypt the most files go first. Whole-company scopes (the director
    before other roles reading everything), then team leads, then owners and participants;
    the recovery key, used offline and rarely, last."""
    widths = {"all": 1, "team": 2, "own": 3}

    def rank(name: str) -> tuple[int, str]:
        member = config.members.get(name)
        if member is None:
            return (9, name)
        role = config.role_of(member)
        first = 0 if role.scope == "all" and "*" in role.actions else widths.get(role.scope, 3)
        return (first, name)

    return rank


def directory_readers(config: Config, place: RecordDir) -> set[str]:
    """The members whose data scope reads ``place`` by its directory alone."""
    probe = place.main_file
    return {
        m.id
        for m in config.members.values()
        if m.active and m.age and read_scope(config, m).allows(place.owner, probe)
    }


@dataclass(frozen=True)
class Readers:
    """A record directory's readers, and those its record file has besides (a customer
    read by the assignee of a task on one of its contracts)."""

    names: frozenset[str]
    also: frozenset[str] = frozenset()
    # False: some file that may share could not be decrypted (check, as a member who reads
    # part of the store): ``names`` is then what the rule says at least.
    complete: bool = field(default=True, compare=False)
    # False: some contract or task could not be decrypted, so ``also`` (a customer's task
    # holders) is what the rule says at least.
    also_complete: bool = field(default=True, compare=False)

    def held_by(self, manifest: Readers | None) -> bool:
        """Does ``manifest`` (a directory's ``readers.yaml``) say what this rule does, as far
        as the rule is known (``complete``, ``also_complete``: else at least these)?"""
        if manifest is None:
            return False
        names_ok = (
            self.names <= manifest.names if not self.complete else self.names == manifest.names
        )
        also = self.also - manifest.names if not self.complete else self.also
        also_ok = also <= manifest.also if not self.also_complete else also == manifest.also
        return names_ok and also_ok

    def of(self, path: str, place: RecordDir) -> frozenset[str]:
        return self.names | self.also if path == place.main_file else self.names

    def as_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"readers": sorted(self.names)}
        if self.also:
            out["record_file_also"] = sorted(self.also)
        return out


def manifest_data(raw: bytes | None, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    data = yamlio.loads(raw, source=where)
    if not isinstance(data, dict) or not isinstance(data.get("readers"), list):
        raise Invalid(f"{where}: expected `readers: [member, ...]`", "run `salesctl rekey`")
    return data


def manifest_readers(raw: bytes | None, where: str) -> Readers | None:
    data = manifest_data(raw, where)
    if data is None:
        return None
    also = data.get("record_file_also") or []
    return Readers(frozenset(map(str, data["readers"])), frozenset(map(str, also)))
