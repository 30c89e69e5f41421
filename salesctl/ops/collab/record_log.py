"""The record log: which commits changed each record's files, read from git once and kept
for ``history``.

``history`` asks, for each directory a record lived in, ``git log -- DIR`` back to where the
record arrived. git answers from the commit-graph's changed-path Bloom filters, but a commit
that changed more than 512 paths (an import, a bulk reclaim) has no filter, and each of
those, like each false positive, makes git read two versions of the directory's parent
(the pool's 16,700 leads: 4-6 ms each): 0.3 s for a lead that sat in the pool a long time
in the 50,000-commit benchmark store, with or without a commit-graph of the clone's own.
So the log is read once and kept in ``.git/salesctl/history.sqlite`` (derived, never
committed, deleted at will):

- ``commits``: HEAD's first-parent chain down to the root, each with its first-parent
  depth (``seq``), whether it is a merge, and its header as ``history`` shows it;
- ``changes``: every change to a file in a record's directory, by record and commit (a
  merge's against its first parent).

Kept current by ``history`` itself, not by writes: it reads git's log from HEAD down the
first-parent chain only as far as the first commit kept already (after a write or a pull,
a few commits: milliseconds). Whatever was kept above that commit has left the chain (a
reset, an amend, a rebase, a force-pushed branch pulled) and is dropped. The first
``history`` of a clone reads the whole log: 10-25 s at 50,000 commits (a progress bar on a
terminal).

Exactly git's answer. ``git log -- DIR`` lists, newest first, the commits that changed
DIR; at a merge it follows the first parent whose tree is the same under DIR (history
simplification), and on a linear stretch that is every commit in turn. So a walk down the
chain that meets only merges that left DIR as their first parent had it is the chain's own
rows for DIR; a walk that meets a merge which changed DIR (a branch that moved the record,
merged), or starts off the chain, is not answered here (``stay`` returns None) and
``history`` asks git, as it did before.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from salesctl.git import GitError
from salesctl.ops.collab.gitread import (
    HEADER_FIELDS,
    CommitInfo,
    FileChange,
    GitReader,
    commit_info,
)
from salesctl.ops.collab.places import place_of, record_and_dir
from salesctl.store.index_refresh import Progress
from salesctl.store.sqlite_tx import immediate

FILE_NAME = "history.sqlite"
SCHEMA_VERSION = 2
# Another history catching up takes milliseconds: wait for it. One reading the whole log
# takes seconds: ask git meanwhile (half a second) rather than wait for it.
BUSY_TIMEOUT_SECONDS = 2.0
BATCH = 5000  # rows per insert while the log is read
LOG_CHUNK = 5000  # commits per git process reading the log
SCHEMA = """
CREATE TABLE commits (
    seq INTEGER PRIMARY KEY,        -- first-parent depth: the root is 1
    id TEXT NOT NULL UNIQUE,
    merge INTEGER NOT NULL,
    header TEXT NOT NULL            -- HEADER_FIELDS joined by \\x1f, for commit_info
);
CREATE TABLE changes (
    record TEXT NOT NULL,
    seq INTEGER NOT NULL,
    path BLOB NOT NULL,             -- UTF-8, or the bytes git gave (surrogate escapes)
    status TEXT NOT NULL,
    old_mode TEXT NOT NULL,
    new_mode TEXT NOT NULL,
    old_blob BLOB,                  -- the object id as bytes (NULL: no such file)
    new_blob BLOB,
    PRIMARY KEY (record, seq, path)
) WITHOUT ROWID;
"""
# git's log as history reads it, whatever the user's configuration says about log output
LOG_ARGS = (
    "log",
    "--first-parent",
    "--diff-merges=first-parent",
    "--format=@@" + "%x1f".join(HEADER_FIELDS),
    "--raw",
    "-z",
    "--no-renames",
    "--no-abbrev",
    "--no-color",
    "--no-show-signature",
)
LOG_CONFIG = (
    "log.showRoot=true",  # the root commit's files count as changes
    # git maps each pack in windows of up to 1 GB and keeps up to 8 GB mapped: reading the
    # whole log of a 50,000-commit store, each git held 300+ MB of pack. Small windows and
    # a small limit: ≈ 200 MB, for ≈ 10 % more time (a first history, once per clone).
    "core.packedGitWindowSize=16m",
    "core.packedGitLimit=64m",
)

# a row of ``changes``: record, seq, path, status, old mode, new mode, old id, new id
Row = tuple[str, int, bytes, str, str, str, bytes | None, bytes | None]
Stay = tuple[list[tuple[str, list[FileChange]]], bool, dict[str, CommitInfo]]


class RecordLog:
    """The kept log of one clone, brought up to its HEAD when opened."""

    def __init__(self, db: sqlite3.Connection, head: str) -> None:
        self.db = db
        self.head = head

    @classmethod
    def open(
        cls, state_dir: Path, git: GitReader, head: str, progress: Callable[..., Progress]
    ) -> RecordLog | None:
        """The log up to ``head``; None when it cannot be kept (a read-only clone, a busy
        or broken file): ``history`` then asks git for everything."""
        path = state_dir / FILE_NAME
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except (sqlite3.Error, OSError):
            return None
        try:
            log = cls(db, head)
            log._ensure_schema()
            log._catch_up(git, progress)
            return log
        except (sqlite3.Error, GitError, ValueError) as error:  # ValueError: git said odd things
            db.close()
            if isinstance(error, sqlite3.DatabaseError) and not isinstance(
                error, sqlite3.OperationalError
            ):
                with contextlib.suppress(OSError):  # not a database (any more): start over
                    path.unlink()
            return None

    def close(self) -> None:
        self.db.close()

    # -- answering ------------------------------------------------------------------------

    def stay(
        self, directory: str, rev: str, last: Callable[[list[FileChange]], bool]
    ) -> Stay | None:
        """What ``GitReader.path_log_until(directory, rev, last)`` answers (the changes always
        complete), or None where git must be asked (see the module's note)."""
        top = self._seq(rev)
        record = directory.rsplit("/", 1)[-1]
        if top is None or record_and_dir(f"{directory}/x") != (record, directory):
            return None
        rows = self.db.execute(
            "SELECT seq, id, merge, header, path, status, old_mode, new_mode, old_blob, new_blob"
            " FROM changes JOIN commits USING (seq)"
            " WHERE record = ? AND seq <= ? ORDER BY seq DESC, path",
            (record, top),
        )
        inside = (directory + "/").encode("utf-8", "surrogateescape")
        stay: list[tuple[str, list[FileChange]]] = []
        infos: dict[str, CommitInfo] = {}
        for _seq, group in groupby((r for r in rows if r[4].startswith(inside)), lambda r: r[0]):
            first, *more = list(group)
            if first[2]:
                return None  # a merge that changed the directory: git's walk may branch here
            info = commit_info(first[3])
            changes = [_change(r[4:]) for r in (first, *more)]
            stay.append((info.id, changes))
            infos[info.id] = info
            if last(changes):
                return stay, True, infos
        return stay, False, infos

    def changes_of(self, commit: str, record: str) -> list[FileChange] | None:
        """Every change to the record's files (in any directory) in a commit on the chain."""
        seq = self._seq(commit)
        if seq is None:
            return None
        rows = self.db.execute(
            "SELECT path, status, old_mode, new_mode, old_blob, new_blob FROM changes"
            " WHERE record = ? AND seq = ? ORDER BY path",
            (record, seq),
        )
        return [_change(r) for r in rows]

    def dirs_of(self, record: str) -> list[str]:
        """The directories the record's own file was written or removed in, newest first:
        where a deleted record lived, without git's ``log --grep`` through every commit."""
        rows = self.db.execute(
            "SELECT path FROM changes WHERE record = ? ORDER BY seq DESC, path", (record,)
        )
        dirs: list[str] = []
        for (raw,) in rows:
            path = raw.decode("utf-8", "surrogateescape")
            place = place_of(path)
            directory = path.rsplit("/", 1)[0]
            if place.record == record and place.is_main and directory not in dirs:
                dirs.append(directory)
        return dirs

    def _seq(self, rev: str) -> int | None:
        """Where ``rev`` (HEAD, a commit id, or a non-merge commit's ``id^@``) is on the
        chain; None if it is not on it."""
        if rev == "HEAD":
            rev = self.head
        parents = rev.endswith("^@")
        found = self.db.execute(
            "SELECT seq, merge FROM commits WHERE id = ?", (rev.removesuffix("^@"),)
        ).fetchone()
        if found is None or not parents:
            return found[0] if found else None
        seq, merge = found
        return seq - 1 if not merge and seq > 1 else None  # a root's parents are none

    # -- keeping it current ---------------------------------------------------------------

    def _ensure_schema(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        with immediate(self.db):
            if self._version() != SCHEMA_VERSION:  # unless another history just made it
                for table in ("commits", "changes"):
                    self.db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _tip(self) -> str | None:
        row = self.db.execute("SELECT id FROM commits ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def _catch_up(self, git: GitReader, progress: Callable[..., Progress]) -> None:
        if self._tip() == self.head:
            return
        with immediate(self.db):  # one reader of git's log at a time
            if self._tip() != self.head:  # unless another history just did it
                self._read_log(git, progress)

    def _read_log(self, git: GitReader, progress: Callable[..., Progress]) -> None:
        """Add HEAD's first-parent chain down to the newest commit kept already, dropping
        what was kept above that commit."""
        fresh: list[str] = []  # the chain's commits not kept yet, newest first
        below = 0  # the seq of the newest commit on the chain that is kept: 0, none
        for line in _lines(git.stream("rev-list", "--first-parent", self.head)):
            found = self.db.execute("SELECT seq FROM commits WHERE id = ?", (line,)).fetchone()
            if found:
                below = found[0]
                break
            fresh.append(line)
        new = len(fresh)
        if self.db.execute("SELECT 1 FROM commits WHERE seq > ?", (below,)).fetchone():
            # a reset or a rewrite: rare, and worth a look through the whole table
            self.db.execute("DELETE FROM commits WHERE seq > ?", (below,))
            self.db.execute("DELETE FROM changes WHERE seq > ?", (below,))
        if not new:
            return
        shown = progress("history: reading git's log once", new) if new > BATCH else None
        commits: list[tuple[int, str, int, str]] = []
        changes: list[Row] = []
        record_in = lru_cache(maxsize=1 << 16)(_record_in)  # by directory: files share them
        for count, (header, raw) in enumerate(_log_of(git, fresh)):
            seq = below + new - count
            info = commit_info(header)
            commits.append((seq, info.id, int(len(info.parents) > 1), header))
            for head, path in raw:
                directory, slash, _name = path.rpartition(b"/")
                record = record_in(directory) if slash else None
                if record is not None:
                    old_mode, new_mode, old_id, new_id, status = head[1:].decode().split(" ")
                    old, new_blob = _object_id(old_id), _object_id(new_id)
                    changes.append(
                        (record, seq, path, status[:1], old_mode, new_mode, old, new_blob)
                    )
            if len(changes) >= BATCH or len(commits) >= BATCH:
                self._insert(commits, changes)
                if shown is not None:
                    shown.update(count + 1)
        self._insert(commits, changes)
        if shown is not None:
            shown.done()

    def _insert(self, commits: list[tuple[int, str, int, str]], changes: list[Row]) -> None:
        self.db.executemany("INSERT INTO commits VALUES (?, ?, ?, ?)", commits)
        changes.sort(key=lambda row: row[0])  # in the table's order: fewer pages touched
        self.db.executemany(
            "INSERT OR REPLACE INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", changes
        )
        commits.clear()
        changes.clear()


def _log_of(git: GitReader, fresh: list[str]) -> Iterator[tuple[str, list[tuple[bytes, bytes]]]]:
    """``_log_entries`` of the ``fresh`` commits (a first-parent chain, newest first), read
    by one git process per ``LOG_CHUNK`` commits: git keeps what it parsed until it exits,
    and one ``git log --raw`` over 50,000 commits peaked at 420 MB."""
    for start in range(0, len(fresh), LOG_CHUNK):
        count = min(LOG_CHUNK, len(fresh) - start)
        stream = git.stream(*LOG_ARGS, f"--max-count={count}", fresh[start], config=LOG_CONFIG)
        yield from _log_entries(stream)


def _record_in(directory: bytes) -> str | None:
    """The record whose directory a file in ``directory`` belongs to (``record_and_dir``
    looks at the directories only)."""
    found = record_and_dir(directory.decode("utf-8", "surrogateescape") + "/file")
    return found[0] if found else None


def _object_id(text: str) -> bytes | None:
    return None if text.strip("0") == "" else bytes.fromhex(text)


def _change(row: tuple[object, ...]) -> FileChange:
    path, status, old_mode, new_mode, old, new = row
    assert isinstance(path, bytes)
    assert isinstance(old, bytes | None) and isinstance(new, bytes | None)
    return FileChange(
        status=str(status),
        path=path.decode("utf-8", "surrogateescape"),
        old_mode=str(old_mode),
        new_mode=str(new_mode),
        old_blob=old.hex() if old is not None else None,
        new_blob=new.hex() if new is not None else None,
    )


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    pending = b""
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line.decode() for line in lines if line)
    if pending:
        yield pending.decode()


def _log_entries(chunks: Iterator[bytes]) -> Iterator[tuple[str, list[tuple[bytes, bytes]]]]:
    """``git log --format=@@... --raw -z`` as it arrives: per commit, its header and each
    change as git wrote it (``:modes ids status`` and the path)."""
    header: str | None = None
    changes: list[tuple[bytes, bytes]] = []
    pending = b""
    for chunk in _with_end(chunks):
        tokens = (pending + chunk).split(b"\0")
        pending = tokens.pop() if chunk else b""
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n")
            if token.startswith(b"@@"):
                if header is not None:
                    yield header, changes
                header, changes = token[2:].decode("utf-8", "replace"), []
            elif token.startswith(b":"):
                if i + 1 == len(tokens):  # its path is in the next chunk
                    pending = tokens[i] + b"\0" + pending
                    break
                changes.append((token, tokens[i + 1]))
                i += 1
            i += 1
    if header is not None:
        yield header, changes


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks, then an empty one: the end, when nothing is left partial."""
    yield from chunks
    yield b""
