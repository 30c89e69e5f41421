"""The store: a directory (a git work tree) holding ``salesctl.yaml`` and the records.

``Store.discover`` finds it as git finds a repository: an explicit path, else
``$SALESCTL_STORE``, else the nearest parent of the working directory with ``salesctl.yaml``.
``Store.transaction`` is the only way to change records: it takes the clone's lock,
recovers an interrupted change, lets the caller read and stage changes, and on success
writes them and makes exactly one commit (see ``salesctl.git``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from salesctl import clock, sealing, yamlio
from salesctl.errors import (
    AmbiguousId,
    Forbidden,
    Invalid,
    NotFound,
    SalesctlError,
    UnknownRecord,
)
from salesctl.git import Author, Change, Repo
from salesctl.ids import is_id, normalise_prefix
from salesctl.model.config import Config, Member, parse_config
from salesctl.model.kinds import kind_of_id
from salesctl.store.index import Index
from salesctl.store.index_bulk import Written
from salesctl.store.index_refresh import Progress, Silent
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.parsing import plain_copy, read_record
from salesctl.store.reader_rule import recipient_directory
from salesctl.store.readers import seal_change
from salesctl.store.records import Record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.validation import checked_fields

if TYPE_CHECKING:
    from salesctl.git_user_index import Staged

CONFIG_FILE = "salesctl.yaml"
T = TypeVar("T")


def find_root(explicit: str | None = None, cwd: Path | None = None) -> Path:
    candidate = explicit or os.environ.get("SALESCTL_STORE")
    if candidate:
        root = Path(candidate).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise NotFound(
                f"no {CONFIG_FILE} in {root}",
                "point --store/$SALESCTL_STORE at a store, or create one with `salesctl init`",
            )
        return root
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / CONFIG_FILE).is_file():
            return directory
    raise NotFound(
        f"no salesctl store here: no {CONFIG_FILE} in {here} or its parents",
        "cd into a store, pass --store PATH, or create one with `salesctl init`",
    )


@dataclass
class Transaction:
    """The changes one command stages; written and committed as one unit on success."""

    store: Store
    actor: Member
    action: str
    opts: WriteOpts = WRITE
    change: Change = field(default_factory=Change)
    records: list[str] = field(default_factory=list)
    summary: str = ""
    commit_id: str | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    trailers: list[str] = field(default_factory=list)  # extra "Key: value" lines
    sealed: bool = False  # encrypted files in it: its message names ids and actions only
    reseal: list[Any] = field(default_factory=list)  # record dirs to re-encrypt whole
    dup_secret: bytes | None = None  # the org's duplicate-key secret, when this commit makes it
    # A copy of each record's fields as a reader normalises them (``check`` accepted them),
    # where the file loads back exactly as written, and its duplicate keys where the command
    # made them already (an import's guard): the index stores a big commit's rows from these
    # instead of reading the files back.
    fields: dict[str, Written] = field(default_factory=dict)
    _touched: set[str] = field(default_factory=set, repr=False)
    # A big change's entries, streamed into a copy of the user's git index as they are
    # staged (git_user_index.Staged); ``apply`` finishes it.
    _index: Staged | None = field(default=None, repr=False)
    _may_stream: bool = field(default=True, repr=False)

    def write(
        self,
        loc: RecordPath,
        data: dict[str, Any],
        *,
        normalised: bool = False,
        keys: list[str] | None = None,
    ) -> None:
        """Stage a record file of ``data``. ``normalised``: the caller has normalised and
        checked ``data`` already (``validation.checked_fields``); ``keys``: its duplicate
        keys, as ``model.dupkeys.record_keys`` makes them with the org's region."""
        canonical = self._stage(loc.path, data, loc, normalised=normalised)
        if normalised:  # ``data`` is ``canonical``: one copy tells both
            self.fields[loc.path] = (loc, plain_copy(data), keys)
        else:
            exact = canonical is not None and plain_copy(data) is not None
            self.fields[loc.path] = (loc, plain_copy(canonical) if exact else None, keys)
        self.change.deletes.discard(loc.path)
        self._touch(loc.id)

    def mention(self, record_id: str) -> None:
        """Name a record in the commit's trailers without writing it (e.g. a follow-up's
        parent)."""
        self._touch(record_id)

    def emit(self, event: str, **payload: Any) -> None:
        """Announce a business event (``deal.won``, ``contract.signed``,
        ``payment.received``) to be delivered to chat hooks once the commit has landed."""
        self.events.append((event, payload))

    def write_file(self, path: str, content: bytes) -> None:
        self._stage(path, content, parse_path(path))
        self.fields.pop(path, None)

    def _stage(
        self,
        path: str,
        content: dict[str, Any] | bytes,
        loc: RecordPath | None,
        *,
        normalised: bool = False,
    ) -> dict[str, Any] | None:
        """Every file a command writes comes through here, so every record file is checked
        as ``check`` would check it before anything is written: no command can commit a
        record that ``check`` refuses. Other files (attachments, reports) go as they are.
        Returns a record's fields as a reader normalises them."""
        canonical = None
        if loc is not None:
            content, canonical = checked_fields(
                self.store.config, loc, content, normalised=normalised
            )
        assert isinstance(content, bytes)  # only write() passes fields, always with a loc
        self.change.writes[path] = content
        self._stream(path, content)
        return canonical

    def delete(self, path: str) -> None:
        self.change.writes.pop(path, None)
        self.fields.pop(path, None)
        self.change.deletes.add(path)
        self._stream(path, None)

    def _stream(self, path: str, content: bytes | None) -> None:
        """Once the change is big (an import), hand each entry to git as it is staged: its
        index inserts (1.3 s of a 10,000-row import) then overlap with the staging."""
        if self._index is not None:
            self._index.add(path, content)
        elif self._may_stream and self.change.packed:
            self._may_stream = False
            self._index = self._start_stream()

    def _start_stream(self) -> Staged | None:
        # Only a plain store's commit: a dry run or --no-commit leaves the index alone, and
        # sealing would change every file (``entries_done`` would send them all again).
        if not self.opts.commit or self.opts.dry_run or self.store.config.encrypted:
            return None
        from salesctl.git_user_index import Staged  # a write's cost, not a read's

        # None when git's lock is busy: ``apply`` tries again, as before. The entries
        # staged so far go with ``entries_done``, as anything else not streamed.
        return Staged.stream(self.store.repo)

    def streamed_index(self) -> Staged | None:
        """The streamed index copy, for ``apply`` (which finishes or abandons it)."""
        staged, self._index, self._may_stream = self._index, None, False
        return staged

    def drop_streamed_index(self) -> None:
        """The change will not be applied: the copy and git's lock go."""
        staged = self.streamed_index()
        if staged is not None:
            staged.abandon()

    def move_dir(self, old_dir: str, new_dir: str) -> None:
        """Move a record directory with everything in it (history follows: same blobs);
        ``old_dir`` may be a single file, too."""
        root = self.store.root
        if (root / new_dir).exists():
            raise Invalid(f"{new_dir} already exists", "run `salesctl check` to find duplicates")
        old = root / old_dir
        walk: Iterable[tuple[str, list[str], list[str]]] = os.walk(old)
        if old.is_symlink() or old.is_file():  # (read_regular refuses a symlink below)
            walk = [(str(old.parent), [], [old.name])]
        for dirpath, _dirs, files in walk:
            for name in files:
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                if rel in self.change.writes:
                    content = self.change.writes.pop(rel)
                else:
                    content = yamlio.read_regular(full, source=rel)  # never a pipe
                    if sealing.is_sealed(content):  # sealed again for its new readers
                        content = self.store.open_sealed(content, rel)
                self.change.writes[new_dir + rel[len(old_dir) :]] = content
                self.change.deletes.add(rel)
                self.fields.pop(rel, None)

    def _touch(self, record_id: str) -> None:
        if record_id not in self._touched:
            self._touched.add(record_id)
            self.records.append(record_id)

    def result(self, data: T) -> WriteResult[T]:
        """What the write did, for the caller: ``data`` (the record(s) as JSON) and the
        commit, paths and summary; read it after the ``transaction`` block has ended."""
        return WriteResult(
            data,
            commit_id=self.commit_id,
            paths=tuple(self.change.paths),
            deletes=frozenset(self.change.deletes),
            summary=self.message().partition("\n")[0],
            opts=self.opts,
            staged=MappingProxyType(dict(self.change.writes)),
        )

    def message(self) -> str:
        ids = ", ".join(self.records[:5]) + (" ..." if len(self.records) > 5 else "")
        # An encrypted record's names and amounts stay out of the (plain) history.
        summary = (None if self.sealed and ids else self.summary) or f"{self.action}: {ids}"
        summary = " ".join(summary.split())  # one line, whatever a title or tag held
        if len(summary) > SUBJECT_MAX:  # a 100 KB title is the file's, not every log line's
            summary = summary[: SUBJECT_MAX - 1] + "…"
        trailers = [f"Salesctl-Action: {self.action}"]
        trailers += [f"Salesctl-Record: {rid}" for rid in self.records]
        trailers += self.trailers
        return f"{summary}\n\n" + "\n".join(trailers) + "\n"


SUBJECT_MAX = 200  # characters of a commit's subject line


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        sealing.forget()  # a new command: its own identity (tests run many in one process)
        self.repo = Repo(root)
        self.interrupted: SalesctlError | None = None  # a pending change left (a warning)
        # How long work (an index build) reports progress; None: silently. The CLI sets it.
        self.progress: Callable[[str, int | None], Progress] | None = None
        # One-line warnings (a damaged index rebuilt); None: logged. The CLI prints them.
        self.warn: Callable[[str], None] | None = None

    def report_progress(self, label: str, total: int | None = None) -> Progress:
        """A reporter for long work (an import): the CLI's progress bar, or silence."""
        return (self.progress or Silent)(label, total)

    @classmethod
    def discover(cls, explicit: str | None = None) -> Store:
        """The store, after finishing or undoing a change a killed command left: every
        command, a read too, sees no half-written change (a stat when there is none)."""
        store = cls(find_root(explicit))
        store.interrupted = store.repo.recover_for_read()
        return store

    @cached_property
    def config(self) -> Config:
        config, problems = self.load_config()
        if problems:
            more = (
                f" (+{len(problems) - 1} more; `salesctl check` lists all)"
                if len(problems) > 1
                else ""
            )
            first = problems[0]
            raise Invalid(f"{first}{more}", f"fix {CONFIG_FILE}")
        clock.use_zone(config.timezone)
        return config

    def load_config(self) -> tuple[Config, list[Any]]:
        raw = yamlio.load_file(str(self.root / CONFIG_FILE), source=CONFIG_FILE)
        return parse_config(raw, CONFIG_FILE)

    @cached_property
    def keyring(self) -> sealing.Keyring:
        """The acting user's age identity (``$SALESCTL_IDENTITY`` or the user config
        directory), for an encrypted store; no keys for a plain one."""
        if not self.config.encrypted:
            return sealing.NO_KEYS
        keyring = sealing.load_keyring()
        mine = set(keyring.public())
        readers = recipient_directory(self.config)
        if keyring and all(s.startswith("AGE-SECRET-KEY-") for s in keyring.secrets):
            keyring.names = frozenset(name for name, r in readers.items() if r in mine)
        return keyring

    def dup_secret(self) -> bytes | None:
        """The org's secret for keyed duplicate keys (``keys/duplicates.age``); None in a
        plain store or if this member's identity does not open it (a member added since
        the last ``rekey``). A commit that makes it (``encrypt``, ``rekey``) hands it to
        the sealer itself (``Transaction.dup_secret``)."""
        if not self.config.encrypted:
            return None
        try:
            raw = (self.root / sealing.DUPLICATES_FILE).read_bytes()
        except OSError:
            return None
        if not sealing.is_sealed(raw):
            return None
        try:
            return self.keyring.open(raw, sealing.DUPLICATES_FILE)
        except SalesctlError:
            return None

    def open_sealed(self, raw: bytes, where: str) -> bytes:
        """The plaintext of a sealed file this member must be able to read."""
        plain = self.keyring.open(raw, where)
        if plain is None:
            self.not_for_you(where)
        return plain

    def not_for_you(self, where: str) -> NoReturn:
        hint = (
            "run `salesctl key init` and ask a director to add your age: recipient"
            if not self.keyring
            else "ask a director to run `salesctl rekey` if you should read it"
        )
        raise Forbidden(f"{where} is not encrypted to you", hint)

    @cached_property
    def index(self) -> Index:
        index = Index(self.root, self.repo)
        try:
            config: Config | None = self.config
        except SalesctlError:  # a broken config: `check` reads on, keyless
            config = None
        if config is not None:
            # A broken identity is one error naming it, not a warning for each sealed file
            sealing.use(self.keyring)
            if config.encrypted:
                index.key_tag = self.keyring.tag
        index.region_of = lambda: self.config.region  # read only when keys are made
        if self.progress is not None:
            index.progress = self.progress
        if self.warn is not None:
            index.warn = self.warn
        return index

    # -- identity ----------------------------------------------------------------------------

    def identify(self, explicit: str | None = None) -> Member:
        """The acting member: ``--as``, else ``$SALESCTL_USER``, else git's user.email."""
        config = self.config
        wanted = explicit or os.environ.get("SALESCTL_USER")
        if wanted:
            member = config.member(wanted) or config.member_by_email(wanted)
            if member is None:
                raise NotFound(
                    f"unknown member {wanted!r}",
                    "use a member id from `salesctl member list`, or add them to salesctl.yaml",
                )
            return member
        email = self.repo.config_value("user.email")
        if not email:
            raise NotFound(
                "who are you? no --as, $SALESCTL_USER or git user.email",
                "pass --as MEMBER or run `git config user.email you@example.com`",
            )
        member = config.member_by_email(email)
        if member is None:
            raise NotFound(
                f"git user.email {email} is not a member's email in {CONFIG_FILE}",
                "pass --as MEMBER, or add yourself to members: in salesctl.yaml",
            )
        return member

    # -- reading -----------------------------------------------------------------------------

    def read(self, loc: RecordPath) -> Record:
        if self.config.encrypted:
            sealing.use(self.keyring)
        record = read_record(self.root, loc)
        if record.sealed:
            self.not_for_you(loc.path)
        return record

    def resolve(self, text: str, kinds: tuple[str, ...] = ()) -> RecordPath:
        """The record an id or unique id prefix names (as git does with hashes)."""
        prefix = normalise_prefix(text)
        if prefix is None or "-" not in prefix:
            raise Invalid(
                f"{text!r} is not a record id",
                "ids look like L-7KQ2M4XR9TAB; any unique prefix such as L-7KQ2 works",
            )
        matches = self.index.paths_for_id_prefix(prefix, kinds)
        ids = sorted({m[0] for m in matches})
        if not ids:
            raise UnknownRecord(prefix, kinds or _kind_names(prefix))
        if len(ids) > 1:
            raise AmbiguousId(prefix, ids)
        paths = [m[1] for m in matches]
        if len(paths) > 1:
            raise Invalid(
                f"{ids[0]} exists in {len(paths)} places: {', '.join(paths)}",
                "a merge duplicated it; keep one directory and `git rm -r` the other",
            )
        loc = parse_path(paths[0])
        if loc is None or not is_id(loc.id):  # pragma: no cover - index only holds parsed paths
            raise UnknownRecord(prefix, kinds)
        return loc

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(
        self, actor: Member, action: str, opts: WriteOpts = WRITE
    ) -> Iterator[Transaction]:
        """Stage changes under the lock; on success write them and make one commit (or,
        as ``opts`` say, write without committing, or write nothing: a dry run). After the
        block, ``tx.result(data)`` is what the op returns."""
        if not actor.active:  # as the server's hook and ``check --range`` judge the commit
            raise Forbidden(
                f"{actor.id} is inactive and may not write",
                f"a director reactivates them: salesctl member edit {actor.id} --set active=true",
            )
        with self.repo.lock():
            self.repo.recover()
            tx = Transaction(self, actor, action, opts)
            try:
                yield tx
                if opts.dry_run or not (tx.change or tx.reseal):
                    return
                tx.sealed = seal_change(self, tx.change, tx.reseal, tx.dup_secret)
                tx.commit_id = self.repo.apply(
                    tx.change,
                    author=Author(actor.name, actor.email),
                    message=tx.message(),
                    commit=opts.commit,
                    alongside=lambda commit: self.index.note_written(
                        tx.change.paths,
                        committed=opts.commit,
                        commit=commit,
                        fields=tx.fields,
                    ),
                    streamed=tx.streamed_index(),
                )
            finally:
                tx.drop_streamed_index()  # (none left once ``apply`` took it)
        if tx.commit_id is not None:  # after the lock: a slow chat hook holds up no one
            _announce(self, tx)


def _kind_names(record_id: str) -> tuple[str, ...]:
    kind = kind_of_id(record_id)
    return (kind.name,) if kind else ()


AfterCommit = Callable[["Store", Transaction], None]
_after_commit: list[AfterCommit] = []


def on_commit(callback: AfterCommit) -> None:
    """Call ``callback(store, tx)`` after every commit that lands, outside the lock. Whoever
    runs salesctl registers what should follow a change (the CLI and ``serve``: the chat
    notifications), so the store depends on nothing above it."""
    if callback not in _after_commit:
        _after_commit.append(callback)


def _announce(store: Store, tx: Transaction) -> None:
    """Hand a landed commit to the registered callbacks. Never raises: the command has
    succeeded, and what follows it must not say otherwise."""
    for callback in _after_commit:
        try:
            callback(store, tx)
        except Exception as exc:  # see the docstring
            import logging

            logging.getLogger("salesctl").warning("after the commit: %s", exc)
