"""Sealing a change to its readers (``encryption: age``): who they are is ``reader_rule``'s.

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
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from salesctl import sealing, yamlio
from salesctl.errors import Invalid
from salesctl.git import Change
from salesctl.scopes import shares_of
from salesctl.store.layout import (
    Owner,
    parse_path,
)
from salesctl.store.reader_rule import (
    CONFIG_FILE,
    SHARING_KINDS,
    Readers,
    RecordDir,
    directory_readers,
    manifest_data,
    manifest_readers,
    recipient_directory,
    record_dir_of,
)

if TYPE_CHECKING:
    from salesctl.model.config import Config
    from salesctl.store.store import Store


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
        self.staged: dict[str, bytes] = {}
        self._deletes: set[str] = set()
        self._dir_readers: dict[tuple[Owner, str, str], set[str]] = {}
        self._share_rows: dict[str, list[tuple[str, str, str | None]]] | None = None
        self._sealed_rows: set[str] | None = None
        self._holders: dict[str, set[str]] | None = None
        self._holders_complete = True
        self.dirs: list[str] | None = None  # the record directories sealed (None: all)
        self._by_dir: tuple[Change, dict[str, list[str]]] | None = None
        self.dup_secret: bytes | None = None  # the org's duplicate-key secret (keys/)

    def start(self, change: Change) -> None:
        """Take the change as staged (plaintext) before sealing any of it."""
        self.staged = {p: raw for p, raw in change.writes.items() if not sealing.is_sealed(raw)}
        self._deletes = set(change.deletes)
        self.dirs = None
        self._share_rows = self._sealed_rows = self._holders = None

    # -- reading the state after the change ---------------------------------------------

    def files_after(self, change: Change, place: RecordDir) -> list[str]:
        root = self.store.root
        found: set[str] = set()
        base = os.path.join(root, place.path)
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            found.update(f"{rel}/{name}" for name in files)
        found.update(self._written_in(change).get(place.path, ()))
        found -= change.deletes
        found.discard(place.manifest)
        return sorted(found)

    def _written_in(self, change: Change) -> dict[str, list[str]]:
        """The change's written paths by record directory (made once per change)."""
        if self._by_dir is None or self._by_dir[0] is not change:
            by_dir: dict[str, list[str]] = {}
            for path in change.writes:
                place = record_dir_of(path)
                if place is not None:
                    by_dir.setdefault(place.path, []).append(path)
            self._by_dir = (change, by_dir)
        return self._by_dir[1]

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
        """The readers of ``place`` after ``change``: its directory's, and what its files
        share (the staged ones read from the change, the others from the index, which holds
        every file this member reads). ``strict``: a file of it this member cannot read is
        an error; else it is passed over (``check``, as a member who reads only part)."""
        names = set(self._directory_readers(place))
        complete = True
        for path in files:
            loc = parse_path(path)
            if loc is None or loc.kind.name not in SHARING_KINDS:
                continue
            if path in self.staged:
                try:
                    data = yamlio.loads(self.staged[path], source=path)
                except yamlio.YamlError:
                    continue  # a broken file shares nothing (check names it)
                shares = shares_of(loc, data if isinstance(data, dict) else None)
                found = [(s.member, s.how, s.while_owner) for s in shares]
            elif path in self._unreadable():
                if strict:
                    self.plain(path, change)  # raises: not encrypted to this member
                complete = False
                continue
            else:
                found = self._shares().get(path, [])
            for member, how, while_owner in found:
                if how == "tree" and (while_owner is None or while_owner == loc.owner.member):
                    names.add(member)
        names &= set(self.directory)
        also: set[str] = set()
        also_complete = True
        if place.kind == "customer":
            also = self._task_holders().get(place.id, set()) & set(self.directory) - names
            also_complete = self._holders_complete
        return Readers(
            frozenset(names | {sealing.RECOVERY}), frozenset(also), complete, also_complete
        )

    def _directory_readers(self, place: RecordDir) -> set[str]:
        # What the rule looks at besides the owner: the top directory (triage hides one)
        # and the record's kind (finance reads contracts wherever they are, not the rest of
        # an owner's directory); a key without the kind gave every directory of an owner
        # the readers of the first one asked about (a contract's, finance among them).
        key = (place.owner, place.path.split("/", 1)[0], place.kind)
        if key not in self._dir_readers:
            self._dir_readers[key] = directory_readers(self.config, place)
        return self._dir_readers[key]

    def _rows(self, sql: str, args: list[Any], kinds: Iterable[str]) -> list[tuple[Any, ...]]:
        """``sql`` over the index, limited to the directories being sealed (``path`` is the
        column to limit) when they are few; the whole table for a whole store (encrypt)."""
        index = self.store.index
        if self.dirs is None or len(self.dirs) > 64:
            return list(index.execute(sql.replace("{within}", "1"), args, kinds=kinds))
        index.refresh(kinds=kinds, within=self.dirs)
        ranges = " OR ".join("(path > ? AND path < ?)" for _ in self.dirs)
        bounds = [b for d in self.dirs for b in (d + "/", d + "0")]
        return list(index.db.execute(sql.replace("{within}", f"({ranges})"), [*args, *bounds]))

    def _shares(self) -> dict[str, list[tuple[str, str, str | None]]]:
        """The indexed files' shares (member, how, while_owner), read once."""
        if self._share_rows is None:
            self._share_rows = {}
            rows = self._rows(
                "SELECT source, member, how, while_owner FROM shares "
                "JOIN records ON records.path = shares.source WHERE {within}",
                [],
                SHARING_KINDS,
            )
            for source, member, how, while_owner in rows:
                self._share_rows.setdefault(source, []).append((member, how, while_owner))
        return self._share_rows

    def _unreadable(self) -> set[str]:
        """Indexed files this member's identity does not open."""
        if self._sealed_rows is None:
            rows = self._rows(
                "SELECT path FROM records WHERE data IS NULL AND problems IS NULL AND {within}",
                [],
                SHARING_KINDS,
            )
            self._sealed_rows = {p for (p,) in rows}
        return self._sealed_rows

    def _task_holders(self) -> dict[str, set[str]]:
        """Customer id -> the assignees of the tasks on its contracts, after the change."""
        if self._holders is None:
            holders: dict[str, set[str]] = {}
            # As committed and written by salesctl (no work-tree look: a customer's file
            # must not cost a stat of every task in the store).
            index = self.store.index
            index.refresh(kinds=["contract", "task"], worktree=False)
            rows = index.db.execute(
                "SELECT t.path, json_extract(c.data, '$.customer'), "
                "json_extract(t.data, '$.assignee') FROM records t JOIN records c "
                "ON c.id = t.parent AND c.kind = 'contract' WHERE t.kind = 'task'"
            )
            for path, customer, assignee in rows:
                if path not in self.staged and path not in self._deletes and customer:
                    holders.setdefault(str(customer), set()).add(str(assignee))
            # A contract or a task of one this identity does not open hides its holders.
            hidden = index.db.execute(
                "SELECT 1 FROM records WHERE data IS NULL AND problems IS NULL "
                "AND (kind = 'contract' OR (kind = 'task' AND path GLOB '*/contracts/*')) LIMIT 1"
            )
            self._holders_complete = hidden.fetchone() is None
            for path, raw in self.staged.items():
                loc = parse_path(path)
                if loc is None or loc.kind.name != "task":
                    continue
                customer = self._customer_of_contract(path.rsplit("/", 2)[0])
                try:
                    data = yamlio.loads(raw, source=path)
                except yamlio.YamlError:
                    continue
                if customer and isinstance(data, dict) and isinstance(data.get("assignee"), str):
                    holders.setdefault(customer, set()).add(data["assignee"])
            self._holders = holders
        return self._holders

    def _customer_of_contract(self, contract_dir: str) -> str | None:
        path = f"{contract_dir}/contract.yaml"
        if path in self.staged:
            try:
                data = yamlio.loads(self.staged[path], source=path)
            except yamlio.YamlError:
                return None
            customer = data.get("customer") if isinstance(data, dict) else None
            return customer if isinstance(customer, str) else None
        rows = self.store.index.execute(
            "SELECT json_extract(data, '$.customer') FROM records WHERE path = ?",
            [path],
            kinds=["contract"],
        )
        found = [c for (c,) in rows if isinstance(c, str)]
        return found[0] if found else None

    # -- sealing -------------------------------------------------------------------------

    def places(self, change: Change) -> dict[str, RecordDir]:
        places: dict[str, RecordDir] = {}
        for path in change.paths:
            place = record_dir_of(path)
            if place is not None:
                places[place.path] = place
        for path in self.staged:  # a task moves its contract's customer's readers
            loc = parse_path(path)
            if loc is not None and loc.kind.name == "task":
                customer = self._customer_of_contract(path.rsplit("/", 2)[0])
                found = self._customer_dir(customer) if customer else None
                if found is not None:
                    places.setdefault(found.path, found)
        return places

    def _customer_dir(self, customer: str) -> RecordDir | None:
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
        self.start(change)
        forced = {place.path: place for place in also}
        places = {**self.places(change), **forced}
        self.dirs = sorted(places)  # what the index is asked about: these directories
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
        old, old_keys = None, None
        if on_disk:
            raw = yamlio.read_regular(os.path.join(root, place.manifest), source=place.manifest)
            try:
                old = manifest_readers(raw, place.manifest)
                old_keys = (manifest_data(raw, place.manifest) or {}).get("keys")
            except Invalid:
                old = None  # a damaged manifest: rewrite it and everything it covers
        if old is not None and not readers.also_complete:
            # holders of tasks this member cannot decrypt (a participant's follow-up on a
            # customer whose contracts they do not read) keep the customer's file
            kept = old.also & set(self.directory) - readers.names
            readers = replace(readers, also=readers.also | kept)
        keys = self.keyed(change, place)
        renew = force or old != readers
        resealed = files if renew else [p for p in files if p in change.writes]
        for path in resealed:
            # One stanza per reader, in the directory's order (``stanza_order``).
            names = readers.of(path, place)
            recipients = [r for n, r in self.directory.items() if n in names]
            change.writes[path] = sealing.seal(self.plain(path, change), recipients)
        if renew or keys != (old_keys or None):
            body = "# who this record's files are encrypted to (age): docs/permissions.md\n"
            fields = readers.as_yaml() | ({"keys": keys} if keys else {})
            change.writes[place.manifest] = (body + yamlio.dumps(fields)).encode()
            change.deletes.discard(place.manifest)
        return True

    def keyed(self, change: Change, place: RecordDir) -> list[str] | None:
        """A lead's or customer's duplicate keys as keyed hashes (``sealing.keyed``), for
        the guard of members who cannot decrypt it; None without the org's key."""
        if place.kind not in ("lead", "customer") or self.dup_secret is None:
            return None
        from salesctl.model.dupkeys import record_keys

        try:
            data = yamlio.loads(self.plain(place.main_file, change), source=place.main_file)
        except (yamlio.YamlError, FileNotFoundError):
            return None
        if not isinstance(data, dict):
            return None
        raw = record_keys(place.kind, data, self.config.region)
        return sorted(sealing.keyed(self.dup_secret, key) for key in raw) or None


def seal_change(
    store: Store, change: Change, also: Iterable[RecordDir] = (), secret: bytes | None = None
) -> bool:
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
    sealer = Sealer(store, store.keyring, config)
    sealer.dup_secret = secret or store.dup_secret()
    return sealer.seal(change, also)
