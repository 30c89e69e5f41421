"""Who a record's files are encrypted to, and sealing a change to them (``encryption: age``).

The readers of a record directory are the access rule's (``scopes.read_scope``): every
active member with an ``age:`` recipient whose scope covers the directory, plus the members
its own files share it with (participants, mentions while the owner is the same, task
assignees: ``scopes.shares_of``), plus the org's recovery recipient. Children (follow-ups,
visits, payments, attachments) inherit their record's readers. A contract's customer file
is also readable by the assignees of the contract's tasks, so that file alone gets them too.

Each sealed record directory holds a plain manifest, ``readers.yaml``, naming its readers
(member ids, ``recovery``) and, for a customer file, the extra ones. It is what lets a
command see that a directory's readers changed (and re-encrypt exactly its files, in the same
commit), lets ``check`` report a stale reader without decrypting anything, and lets a clone
skip files that are not encrypted to its member. It holds names only, no content.

The pool (``pool/``) and the shared toolkit (``toolkit/``) stay plain: both are open to
every member by definition.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from salesctl import sealing, yamlio
from salesctl.errors import Invalid
from salesctl.git import Change
from salesctl.model.kinds import BY_PLURAL
from salesctl.scopes import read_scope, shares_of
from salesctl.store.layout import (
    COMPANY,
    MEMBERS_DIR,
    POOL_DIR,
    RECORD_ROOTS,
    TEAMS_DIR,
    TOOLKIT_DIR,
    Owner,
    parse_path,
)

if TYPE_CHECKING:
    from salesctl.model.config import Config
    from salesctl.store.store import Store

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
    """Reader name -> age recipient: active members with a key, and ``recovery``."""
    out = {m.id: m.age for m in config.members.values() if m.active and m.age}
    if config.recovery:
        out[sealing.RECOVERY] = config.recovery
    return out


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

    def of(self, path: str, place: RecordDir) -> frozenset[str]:
        return self.names | self.also if path == place.main_file else self.names

    def as_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"readers": sorted(self.names)}
        if self.also:
            out["record_file_also"] = sorted(self.also)
        return out


def manifest_readers(raw: bytes | None, where: str) -> Readers | None:
    if raw is None:
        return None
    data = yamlio.loads(raw, source=where)
    if not isinstance(data, dict) or not isinstance(data.get("readers"), list):
        raise Invalid(f"{where}: expected `readers: [member, ...]`", "run `salesctl rekey`")
    also = data.get("record_file_also") or []
    return Readers(frozenset(map(str, data["readers"])), frozenset(map(str, also)))


class Sealer:
    """Seals one change of an encrypted store (``seal``): every staged file in a sealed
    record directory is encrypted to the directory's readers as they are after the change;
    a directory whose readers changed has all its files re-encrypted and its manifest
    rewritten; a directory that went into the pool turns plain."""

    def __init__(self, store: Store, keyring: sealing.Keyring, config: Config) -> None:
        self.store = store
        self.config = config
        self.keyring = keyring
        self.directory = recipient_directory(self.config)

    # -- reading the state after the change ---------------------------------------------

    def files_after(self, change: Change, place: RecordDir) -> list[str]:
        root = self.store.root
        found: set[str] = set()
        base = os.path.join(root, place.path)
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            found.update(f"{rel}/{name}" for name in files)
        prefix = place.path + "/"
        found |= {p for p in change.writes if p.startswith(prefix)}
        found -= change.deletes
        found.discard(place.manifest)
        return sorted(found)

    def plain(self, path: str, change: Change) -> bytes:
        """The plaintext of ``path`` after the change (staged, or on disk and decrypted)."""
        raw = change.writes.get(path)
        if raw is None:
            raw = yamlio.read_regular(os.path.join(self.store.root, path), source=path)
        if not sealing.is_sealed(raw):
            return raw
        plain = self.keyring.open(raw, path)
        if plain is None:
            raise Invalid(
                f"{path} is not encrypted to you, so it cannot be re-encrypted",
                "ask a director (who reads everything) to run `salesctl rekey`",
            )
        return plain

    def readers(
        self, change: Change, place: RecordDir, files: Iterable[str], *, strict: bool = True
    ) -> Readers:
        """The readers of ``place`` after ``change``. ``strict``: a file that shares and
        cannot be decrypted is an error; else it is passed over (``check``, as a member
        who reads only part of it)."""
        names = directory_readers(self.config, place)
        complete = True
        for path in files:
            loc = parse_path(path)
            if loc is None or loc.kind.name not in SHARING_KINDS:
                continue
            try:
                data = yamlio.loads(self.plain(path, change), source=path)
            except yamlio.YamlError:
                continue  # a broken file shares nothing (check names it)
            except Invalid:
                if strict:
                    raise
                complete = False
                continue
            if not isinstance(data, dict):
                continue
            for share in shares_of(loc, data):
                lapsed = share.while_owner is not None and share.while_owner != loc.owner.member
                if share.how == "tree" and not lapsed:
                    names.add(share.member)
        names &= set(self.directory)
        also: set[str] = set()
        if place.kind == "customer":
            also = self.customer_file_readers(change, place) - names
        return Readers(frozenset(names | {sealing.RECOVERY}), frozenset(also), complete)

    def customer_file_readers(self, change: Change, place: RecordDir) -> set[str]:
        """Assignees of tasks on contracts of this customer (they read its file)."""
        assignees: set[str] = set()
        rows = self.store.index.execute(
            "SELECT t.path FROM records k JOIN records t ON t.parent = k.id AND t.kind = 'task' "
            "WHERE k.kind = 'contract' AND json_extract(k.data, '$.customer') = ?",
            [place.id],
            kinds=["contract", "task"],
        )
        task_paths = {p for (p,) in rows} - change.deletes
        task_paths |= {
            p
            for p in change.writes
            if (loc := parse_path(p)) and loc.kind.name == "task" and self._on_customer(p, place)
        }
        for path in task_paths:
            try:
                data = yamlio.loads(self.plain(path, change), source=path)
            except (yamlio.YamlError, FileNotFoundError, Invalid):
                continue
            if isinstance(data, dict) and isinstance(data.get("assignee"), str):
                assignees.add(data["assignee"])
        return assignees & set(self.directory)

    def _on_customer(self, task_path: str, place: RecordDir) -> bool:
        contract_file = task_path.rsplit("/", 2)[0] + "/contract.yaml"
        try:
            data = yamlio.loads(self.plain(contract_file, Change()), source=contract_file)
        except (yamlio.YamlError, FileNotFoundError, Invalid):
            return False
        return isinstance(data, dict) and data.get("customer") == place.id

    # -- sealing -------------------------------------------------------------------------

    def ordered(self, names: Iterable[str]) -> list[str]:
        """Readers in the order their stanzas are written: age tries them in turn, so those
        who read the most (scope all, then team) come first and the recovery key last."""
        rank = {"all": 0, "team": 1, "own": 2}

        def key(name: str) -> tuple[int, str]:
            member = self.config.members.get(name)
            if member is None:
                return (9, name)
            return (rank.get(self.config.role_of(member).scope, 3), name)

        return sorted((n for n in names if n in self.directory), key=key)

    def places(self, change: Change) -> dict[str, RecordDir]:
        places: dict[str, RecordDir] = {}
        for path in change.paths:
            place = record_dir_of(path)
            if place is not None:
                places[place.path] = place
        for path in list(change.writes):  # a task moves its contract's customer's readers
            loc = parse_path(path)
            if loc is not None and loc.kind.name == "task":
                customer = self._customer_dir(path, change)
                if customer is not None:
                    places.setdefault(customer.path, customer)
        return places

    def _customer_dir(self, task_path: str, change: Change) -> RecordDir | None:
        contract_file = task_path.rsplit("/", 2)[0] + "/contract.yaml"
        try:
            data = yamlio.loads(self.plain(contract_file, change), source=contract_file)
        except (yamlio.YamlError, FileNotFoundError, Invalid):
            return None
        customer = data.get("customer") if isinstance(data, dict) else None
        if not isinstance(customer, str):
            return None
        rows = self.store.index.execute(
            "SELECT path FROM records WHERE id = ? AND kind = 'customer'",
            [customer],
            kinds=["customer"],
        )
        found = [record_dir_of(p) for (p,) in rows]
        return next((p for p in found if p is not None), None)

    def seal(self, change: Change, also: Iterable[RecordDir] = ()) -> bool:
        """Encrypt ``change`` in place; True if anything in it is sealed. ``also``: record
        directories to re-encrypt whole whatever their manifest says (``encrypt``,
        ``rekey``)."""
        forced = {place.path: place for place in also}
        places = {**self.places(change), **forced}
        sealed_any = False
        for path, place in places.items():
            sealed_any |= self._seal_dir(change, place, force=path in forced)
        return sealed_any

    def _seal_dir(self, change: Change, place: RecordDir, *, force: bool = False) -> bool:
        root = self.store.root
        files = self.files_after(change, place)
        on_disk = os.path.exists(os.path.join(root, place.manifest))
        if place.owner.is_pool or not files:
            if on_disk or place.manifest in change.writes:
                change.writes.pop(place.manifest, None)
                if on_disk:
                    change.deletes.add(place.manifest)
            for path in files:  # into the pool: plain again
                if path in change.writes and sealing.is_sealed(change.writes[path]):
                    change.writes[path] = self.plain(path, change)
            return False
        readers = self.readers(change, place, files)
        old = None
        if on_disk:
            raw = yamlio.read_regular(os.path.join(root, place.manifest), source=place.manifest)
            try:
                old = manifest_readers(raw, place.manifest)
            except Invalid:
                old = None  # a damaged manifest: rewrite it and everything it covers
        renew = force or old != readers
        resealed = files if renew else [p for p in files if p in change.writes]
        for path in resealed:
            names = self.ordered(readers.of(path, place))
            change.writes[path] = sealing.seal(
                self.plain(path, change), [self.directory[n] for n in names]
            )
        if renew:
            body = "# who this record's files are encrypted to (age): docs/permissions.md\n"
            change.writes[place.manifest] = (body + yamlio.dumps(readers.as_yaml())).encode()
            change.deletes.discard(place.manifest)
        return True


def seal_change(store: Store, change: Change, also: Iterable[RecordDir] = ()) -> bool:
    """Seal ``change`` if the store is (or, by the config this change writes, becomes)
    encrypted (see ``Sealer``); True if it sealed any. A change of ``salesctl.yaml`` seals
    by the new config: a member moving team takes their records to the new team lead."""
    config = store.config
    staged = change.writes.get(CONFIG_FILE)
    if staged is not None:
        from salesctl.model.config import parse_config

        config = parse_config(yamlio.loads(staged, source=CONFIG_FILE), CONFIG_FILE)[0]
    if not config.encrypted:
        return False
    if not config.recovery:
        raise Invalid("the store is encrypted but has no recovery recipient", "set recovery:")
    return Sealer(store, store.keyring, config).seal(change, also)
