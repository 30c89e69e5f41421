"""Which record files changed since the index last looked: a file watcher without a daemon.

The index keeps a signature of every record file (mtime, size, inode) and of every directory
under the record roots (mtime, inode). Editing a file in place changes the file's signature;
creating, deleting or renaming anything changes its directory's. So a command that is about
to read some kinds of records (maybe only under some directories) needs to ``lstat`` only
those files and the directories that could gain new ones, and to list only the directories
whose signature moved: milliseconds for one owner's leads, where asking git (``git status``
reads its whole 70 MB index) or walking the tree costs a second or more on a big store.

What a kind's scope stats (``Scope``): its records' files; the directories tagged with the
kind (``<owner>/<plural>`` containers, each record's own directory, and, for child kinds,
``.../<ID>/<child plural>``); for child kinds also the record directories of the kinds that
hold them (a new ``followups/`` appears there); and the untagged directories above them
(``teams/<team>/<member>``: a new member's directory). Directories and files that changed
within the file system's timestamp tick get a signature that never matches, so they are
looked at again next time (git calls this "racy").
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from salesctl.model.kinds import BY_PLURAL, KINDS
from salesctl.store.compare import LINK, MISSING, compare_everything, compare_part, dir_signature
from salesctl.store.layout import (
    MEMBERS_DIR,
    POOL_DIR,
    RECORD_ROOTS,
    TEAMS_DIR,
    is_toolkit_file,
    parse_path,
)
from salesctl.store.reader_rule import MANIFEST as READERS_MANIFEST

ALLOWED_NON_RECORDS = ("attachments", "reports")  # directories that hold other files
SYMLINK = "is a symlink; the store refuses symlinks"
NOT_A_RECORD = "is not a record file (see docs/data-format.md)"
CONTAINER, RECORD, CHILDREN, OTHER = "container", "record", "children", "other"
# A row of the index's ``dirs``: path, parent directory, kind and role (dir_role), signature.
DirRow = tuple[str, str | None, str | None, str | None, str]


def dir_role(path: str) -> tuple[str | None, str | None]:
    """(kind, role) of a directory under the record roots: ``(lead, container)`` for
    ``teams/east/bob/leads``, ``(lead, record)`` for a lead's own directory, ``(followup,
    children)`` for its ``followups/``; ``(None, None)`` above the records (``teams/east``)
    and ``(None, other)`` for attachments and anything the layout does not know."""
    parts = path.split("/")
    head = parts[0]
    if head == POOL_DIR:
        rest = parts[1:]
    elif head == MEMBERS_DIR:
        rest = parts[2:]
    elif head == TEAMS_DIR:
        rest = parts[2:] if len(parts) > 2 and parts[2] in BY_PLURAL else parts[3:]
    elif head in BY_PLURAL:
        rest = parts
    else:
        return None, OTHER
    if not rest:
        return None, None
    kind = BY_PLURAL.get(rest[0])
    if kind is None:
        return None, OTHER
    if len(rest) <= 2:
        return kind.name, CONTAINER if len(rest) == 1 else RECORD
    child = BY_PLURAL.get(rest[2])
    if len(rest) == 3 and child is not None and child.name in kind.children:
        return child.name, CHILDREN
    return None, OTHER


@dataclass(frozen=True)
class Scope:
    """What a command is about to read: some kinds (None: all, and every directory), maybe
    only under some directories, maybe only some files (an id lookup)."""

    kinds: frozenset[str] | None = None
    within: tuple[str, ...] = ()
    files: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        kinds: Iterable[str] | None = None,
        within: Iterable[str] = (),
        files: Iterable[str] | None = None,
    ) -> Scope:
        return cls(
            None if kinds is None else frozenset(kinds),
            tuple(sorted({w.strip("/") for w in within})),
            None if files is None else tuple(sorted(files)),
        )

    @property
    def everything(self) -> bool:
        return self.kinds is None and not self.within and self.files is None

    def covers(self, other: Scope) -> bool:
        if self.kinds is not None and (other.kinds is None or not other.kinds <= self.kinds):
            return False
        if self.files is not None and (
            other.files is None or not set(other.files) <= set(self.files)
        ):
            return False
        if not self.within:
            return True
        return bool(other.within) and all(
            any(w == s or w.startswith(s + "/") for s in self.within) for w in other.within
        )


@dataclass
class Changes:
    """What a look found; the index applies it in one transaction."""

    parse: set[str] = field(default_factory=set)  # record files to (re)parse
    gone: set[str] = field(default_factory=set)  # stored record files that are no more
    dropped: list[str] = field(default_factory=list)  # directories gone, with all below
    dirs: list[DirRow] = field(default_factory=list)
    rescanned: list[str] = field(default_factory=list)  # their direct strays are replaced
    strays: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.parse or self.gone or self.dropped or self.dirs or self.strays)


DIRS_OF_KIND = "SELECT path, sig, role FROM dirs WHERE kind = ? AND path > ? AND path < ?"
DIRS_ABOVE_RECORDS = (
    "SELECT path, sig FROM dirs WHERE kind IS NULL AND path > ? AND path < ? AND role IS NULL"
)


def below(prefix: str) -> tuple[str, str]:
    """The bounds of the paths below directory ``prefix`` (``path > low AND path < high``)."""
    return f"{prefix}/", f"{prefix}/\uffff"


def _dir_kinds(kinds: frozenset[str]) -> list[str]:
    """The kinds whose directories can gain records of ``kinds``."""
    holders = {k.name for k in KINDS.values() if set(k.children) & kinds}
    return sorted(kinds | holders)


def _needed(
    found: list[tuple[str, str, str, str]], held: set[str], scope: Scope
) -> list[tuple[str, str]]:
    """(path, signature) of the ``found`` directories to stat (see ``Watcher._dirs_in``);
    ``held``: the directories of the record files about to be stat-ed."""
    read = scope.kinds or frozenset()
    kept: dict[str, set[str]] = {}  # record directory: the read children kinds it holds
    for path, _sig, kind, role in found:
        if role == CHILDREN:
            kept.setdefault(path.rpartition("/")[0], set()).add(kind)
    return [
        (path, sig)
        for path, sig, kind, role in found
        if role != RECORD
        or (kind in read and path not in held)
        or not set(KINDS[kind].children) & read <= kept.get(path, set())
    ]


class Watcher:
    def __init__(self, root: Path, db: sqlite3.Connection) -> None:
        self.root = root
        self.top = str(root)
        self.db = db

    # -- looking -----------------------------------------------------------------------------

    def look(self, scope: Scope) -> Changes:
        """Compare the scope's files and directories with their stored signatures."""
        changes = Changes()
        now = time.time_ns()
        known_roots = {p for (p,) in self.db.execute("SELECT path FROM dirs WHERE parent IS NULL")}
        walk = Walk(self.root, now=now)
        # Directories nobody listed yet: a record root made since (the first member without a
        # team), or a directory the scope names that only commits have touched so far.
        tops = [top for top in RECORD_ROOTS if top not in known_roots]
        if scope.within:
            marks = ",".join("?" * len(scope.within))
            sql = f"SELECT path FROM dirs WHERE path IN ({marks})"
            known = {p for (p,) in self.db.execute(sql, scope.within)}
            tops += [w for w in scope.within if w not in known]
        changes.parse.update(walk.below(tops))
        changes.dirs += walk.dirs
        changes.strays += walk.strays
        if scope.everything:
            moved, parse, gone = compare_everything(self.db, self.top, now)
        else:
            files = self._files_in(scope)
            moved, parse, gone = compare_part(self.top, self._dirs_in(scope, files), files, now)
        for path, new_sig in moved:
            if new_sig in (MISSING, LINK):
                changes.dropped.append(path)
                if new_sig == LINK:
                    changes.strays.append((path, SYMLINK))
            else:
                self._rescan(path, new_sig, changes, now)
        changes.parse.update(parse)
        changes.gone.update(gone)
        changes.gone -= changes.parse
        return changes

    def _dirs_in(self, scope: Scope, files: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """(path, signature) of the directories to stat: those of the scope's kinds (or of
        every kind) under ``within``, and the untagged ones above them.

        A record's own directory is skipped while it could only tell what other stats tell:
        its record file is among ``files`` (or its kind is not read) and, of each of its
        kind's children that are read, it holds the directory (``.../K-1/payments``). The
        file's stat sees an edit or a deletion, the children directory's a file made or
        removed, the container's a directory made, moved or removed; what else appears
        inside (a stray) is for a look at the whole store (``check``, ``index status``)."""
        kinds = None if scope.kinds is None else _dir_kinds(scope.kinds)
        roles = f"role = '{CONTAINER}'" if scope.files is not None else f"role != '{OTHER}'"
        ranges = [below(w) for w in scope.within] or [("", "\uffff")]
        rows: list[tuple[str, str]] = []
        found: list[tuple[str, str, str, str]] = []  # path, signature, kind, role
        for low, high in ranges:
            if kinds is None:
                sql = "SELECT path, sig FROM dirs WHERE path > ? AND path < ?"
                rows += self.db.execute(sql, (low, high))
                continue
            for kind in kinds:  # each one range of the (kind, path) index
                sql = f"{DIRS_OF_KIND} AND {roles}"
                found += [(p, s, kind, r) for p, s, r in self.db.execute(sql, (kind, low, high))]
            rows += self.db.execute(DIRS_ABOVE_RECORDS, (low, high))
        if found:
            rows += _needed(found, {path.rpartition("/")[0] for path, _sig in files}, scope)
        above = sorted(
            {w.rsplit("/", n)[0] for w in scope.within for n in range(1, w.count("/") + 1)}
            | set(scope.within)
        )
        if above:  # the within directories themselves and those above them
            marks = ",".join("?" * len(above))
            sql = f"SELECT path, sig, kind, role FROM dirs WHERE path IN ({marks})"
            rows += [
                (p, s)
                for p, s, k, r in self.db.execute(sql, above)
                if r is None or kinds is None or (k in kinds and r != OTHER)
            ]
        return list(dict.fromkeys(rows))

    def _files_in(self, scope: Scope) -> list[tuple[str, str]]:
        """(path, signature) of the stored record files to stat."""
        if scope.files is not None:
            if not scope.files:
                return []
            marks = ",".join("?" * len(scope.files))
            sql = f"SELECT path, sig FROM records WHERE path IN ({marks})"
            return list(self.db.execute(sql, scope.files))
        ranges = [below(w) for w in scope.within] or [("", "\uffff")]
        rows: list[tuple[str, str]] = []
        for low, high in ranges:
            if scope.kinds is None:
                sql = "SELECT path, sig FROM records WHERE path > ? AND path < ?"
                rows += self.db.execute(sql, (low, high))
                continue
            for kind in sorted(scope.kinds):  # one range of the (kind, path, sig) index each
                sql = "SELECT path, sig FROM records WHERE kind = ? AND path > ? AND path < ?"
                rows += self.db.execute(sql, (kind, low, high))
        return rows

    def _rescan(self, directory: str, sig: str, changes: Changes, now: int) -> None:
        """List a directory whose entries changed: new subdirectories are walked whole,
        vanished ones dropped with everything below; new record files parsed."""
        low, high = below(directory)
        known_dirs = {
            p for (p,) in self.db.execute("SELECT path FROM dirs WHERE parent = ?", (directory,))
        }
        kind, role = dir_role(directory)
        known_files: set[str] = set()
        if role in (RECORD, CHILDREN):  # only these hold record files directly
            known_files = {
                p
                for (p,) in self.db.execute(
                    "SELECT path FROM records WHERE path > ? AND path < ? "
                    "AND instr(substr(path, ?), '/') = 0",
                    (low, high, len(directory) + 2),
                )
            }
        seen_dirs: set[str] = set()
        seen_files: set[str] = set()
        found_below: list[str] = []  # the record files in directories not listed before
        walk = Walk(self.root, now=now)
        for entry_kind, path, extra in walk.entries(directory, known_dirs):
            if entry_kind == "dir":
                seen_dirs.add(path)
                if path not in known_dirs:
                    found_below += walk.under(path, extra)
            elif entry_kind == "record":
                seen_files.add(path)
                if path not in known_files:
                    changes.parse.add(path)
        changes.parse.update(self._unstored(found_below))
        changes.dropped += sorted(known_dirs - seen_dirs)
        changes.gone |= known_files - seen_files
        changes.dirs += walk.dirs
        changes.dirs.append((directory, directory.rpartition("/")[0] or None, kind, role, sig))
        changes.rescanned.append(directory)
        changes.strays += walk.strays

    def _unstored(self, paths: list[str]) -> list[str]:
        """Of record files found in directories the index had not listed, those it does not
        hold as they are. A commit's or salesctl's own write stores its files' rows without
        listing their new directories: after a 10,000-lead import the next look that listed
        the pool parsed the 10,000 files again, and marked each unsettled for every report."""
        stored: dict[str, str] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            sql = f"SELECT path, sig FROM records WHERE path IN ({','.join('?' * len(chunk))})"
            stored.update(self.db.execute(sql, chunk))
        if not stored:
            return paths
        _moved, changed, gone = compare_part(self.top, (), stored.items(), 0)
        return [p for p in paths if p not in stored] + changed + gone


class Walk:
    """The record files under the record directories (or under one directory), found without
    following symlinks. ``strays`` collects what is there but is not a record, ``dirs`` every
    directory walked with its signature, taken before it was listed (iterate first)."""

    def __init__(self, root: Path, now: int | None = None) -> None:
        self.root = root
        self.top = str(root)
        self.now = time.time_ns() if now is None else now
        self.strays: list[tuple[str, str]] = []
        self.dirs: list[DirRow] = []
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self.below(RECORD_ROOTS)

    def below(self, tops: Iterable[str]) -> Iterator[str]:
        """Every record file below each of ``tops`` that exists (a symlink is a stray)."""
        for top in tops:
            try:
                st = os.lstat(f"{self.top}/{top}")
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                self.strays.append((top, SYMLINK))
            elif stat.S_ISDIR(st.st_mode):
                yield from self.under(top, dir_signature(st, self.now))

    def under(self, directory: str, sig: str) -> Iterator[str]:
        """Every record file below ``directory`` (whose signature is ``sig``)."""
        stack = [(directory, sig)]
        while stack:
            current, current_sig = stack.pop()
            kind, role = dir_role(current)
            self.dirs.append((current, current.rpartition("/")[0] or None, kind, role, current_sig))
            for entry_kind, path, extra in self.entries(current):
                if entry_kind == "dir":
                    stack.append((path, extra))
                else:
                    self.count += 1
                    yield path

    def entries(
        self, directory: str, known: Collection[str] = ()
    ) -> Iterator[tuple[str, str, str]]:
        """("dir", path, signature) and ("record", path, "") for one directory's entries;
        strays (symlinks, foreign files) are noted, not yielded. A ``known`` directory's
        signature is not taken (""): relisting the pool after one lead joined it would
        otherwise stat each of its thousands of lead directories."""
        try:
            listing = list(os.scandir(f"{self.top}/{directory}"))
        except OSError as exc:
            self.strays.append((directory, f"cannot be read: {exc.strerror}"))
            return
        for entry in listing:
            name = entry.name
            if name.startswith("."):
                continue
            path = f"{directory}/{name}"
            if name.endswith(".yaml") and parse_path(path) is not None:
                # Whatever it is (a directory, a pipe, a symlink): reading it as a record
                # makes it that record's problem, so `check` names it and lists skip it.
                yield "record", path, ""
            elif entry.is_dir(follow_symlinks=False):
                if path in known:
                    yield "dir", path, ""
                    continue
                try:
                    sig = dir_signature(entry.stat(follow_symlinks=False), self.now)
                except OSError:
                    continue  # gone while listing
                yield "dir", path, sig
            elif entry.is_symlink():
                self.strays.append((path, SYMLINK))
            elif (
                not any(f"/{part}/" in f"/{path}" for part in ALLOWED_NON_RECORDS)
                and not is_toolkit_file(path)
                and name != READERS_MANIFEST  # an encrypted record's readers (readers.py)
            ):
                self.strays.append((path, NOT_A_RECORD))
