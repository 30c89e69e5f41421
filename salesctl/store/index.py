"""The derived index: SQLite under ``.git/salesctl/``, never committed, rebuilt from files.

It answers "which records match" (by id prefix, kind, owner, team, field values) without
parsing every YAML file on every command. Each row is one record file: where it lives, its
fields as JSON, its problems, and the stat signature (mtime, size, inode) of the bytes that
were parsed. A broken or unreadable file is a row with problems, never an error.

Keeping it fresh costs what changed, not what exists:

- **Commits** (ours, a pull, a checkout, a reset): the index remembers the HEAD it reflects;
  ``git diff --name-only OLD NEW`` names the files to look at.
- **The work tree**, per ``git config salesctl.worktreeCheck``:
  ``tracked`` (default) asks ``git status -uno``: edits, deletions and staged files (git's
  stat cache, fsmonitor and preload threads do the work); ``all`` also lists untracked files
  (``-unormal`` with ``core.untrackedCache``), as slow as a directory walk on big stores;
  ``none`` trusts commits and salesctl's own writes only (hand edits show up after
  ``salesctl index status``).
- Untracked record files the index knows about (written with ``--no-commit``, or found by a
  full walk) are re-checked on every command until they are committed or gone; so are the
  files that were dirty last time (a ``git checkout -- FILE`` or a stash puts them back).
- A full walk of the record directories (the first build, ``check``, ``index status``,
  ``index rebuild``) finds everything, untracked files included.

Of the named files, only those whose stat signature changed are parsed again; a big batch
(a cold build, a large pull) is parsed by one process per core (``parsing.parse_many``).
A build writes the database once with journaling off and adds the lookups (including the
hot JSON fields reports filter on) at the end. Delete the database at any time: the next
command rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from salesctl.git import Repo
from salesctl.model.kinds import KINDS
from salesctl.store import parsing
from salesctl.store.layout import RECORD_ROOTS, parse_path
from salesctl.store.parsing import read_record

__all__ = ["INDEX_VERSION", "Index", "read_record"]

INDEX_VERSION = "2"
WORKTREE_CHECKS = ("tracked", "all", "none")
SQL_VARS = 900
BUILD_WALKS = (
    os.environ.get("SALESCTL_BUILD_WALKS", "1") == "1"
)  # experiment  # parameters per IN (...) list

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records(
    path TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT,
    owner TEXT, team TEXT, pool INTEGER NOT NULL, sig TEXT NOT NULL,
    data TEXT, problems TEXT);
CREATE TABLE IF NOT EXISTS strays(path TEXT PRIMARY KEY, reason TEXT NOT NULL);
"""

# Created after a build's bulk insert (cheaper than maintaining them row by row). The
# expression indexes match, character for character, the JSON expressions that
# reports/facts.py filters on, so SQLite range-scans them instead of parsing every row.
LOOKUPS = """
CREATE UNIQUE INDEX IF NOT EXISTS records_path ON records(path);
CREATE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_kind_owner ON records(kind, owner);
CREATE INDEX IF NOT EXISTS records_kind_team ON records(kind, team);
CREATE INDEX IF NOT EXISTS records_parent ON records(parent, kind);
CREATE INDEX IF NOT EXISTS records_created ON records(kind, json_extract(data, '$.created'));
CREATE INDEX IF NOT EXISTS records_stage ON records(kind, json_extract(data, '$.stage'));
CREATE INDEX IF NOT EXISTS records_at_day
    ON records(kind, substr(json_extract(data, '$.at'), 1, 10));
CREATE INDEX IF NOT EXISTS records_signed ON records(kind, json_extract(data, '$.signed'));
CREATE INDEX IF NOT EXISTS records_date ON records(kind, json_extract(data, '$.date'));
"""

COLUMNS = "path, id, kind, parent, owner, team, pool, sig, data, problems"
INSERT = f"INSERT OR REPLACE INTO records({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
ALLOWED_NON_RECORDS = ("attachments", "reports")  # directories that hold other files


class Progress:
    """A one-line progress report on stderr, only on a terminal and only for work that has
    already taken a second (like git's): quick commands and pipes stay silent."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label, self.total = label, total
        self.started = time.monotonic()
        self.shown = 0.0
        self.enabled = sys.stderr.isatty()

    def update(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < 1.0 or now - self.shown < 0.1:
            return
        self.shown = now
        total = total or self.total
        of = f"/{total:,} ({100 * done // max(total, 1)}%)" if total else ""
        sys.stderr.write(f"\r{self.label}: {done:,}{of} ")
        sys.stderr.flush()

    def done(self, message: str = "") -> None:
        if self.enabled and self.shown:
            sys.stderr.write(f"\r{self.label}: {message or 'done'}\033[K\n")
            sys.stderr.flush()


class Walk:
    """The record files under the record directories, found without following symlinks;
    ``strays`` collects what is there but is not a record (iterate first)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.strays: list[tuple[str, str]] = []
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        root = str(self.root)
        stack = [top for top in RECORD_ROOTS if os.path.isdir(f"{root}/{top}")]
        for top in RECORD_ROOTS:
            if os.path.islink(f"{root}/{top}"):
                self.strays.append((top, "is a symlink; the store refuses symlinks"))
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(f"{root}/{directory}"))
            except OSError as exc:
                self.strays.append((directory, f"cannot be read: {exc.strerror}"))
                continue
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                path = f"{directory}/{name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif name.endswith(".yaml") and parse_path(path) is not None:
                    self.count += 1
                    yield path
                elif entry.is_symlink():
                    self.strays.append((path, "is a symlink; the store refuses symlinks"))
                elif not any(f"/{part}/" in f"/{path}" for part in ALLOWED_NON_RECORDS):
                    self.strays.append((path, "is not a record file (see docs/data-format.md)"))


def _connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(target, timeout=60, isolation_level=None)
    # A rollback journal, not WAL: a rebuild replaces the file, and a WAL connection that
    # outlives its file would delete the new database's -wal on close. No-op refreshes write
    # nothing, so readers rarely wait.
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class Index:
    def __init__(self, root: Path, repo: Repo) -> None:
        self.root = root
        self.repo = repo
        self._db: sqlite3.Connection | None = None
        self.fresh = False
        self.last_refresh: dict[str, Any] = {}  # what the last refresh did (index status)
        self.progress: Callable[[str, int | None], Progress] = Progress
        self._built_now = False

    @property
    def db_path(self) -> Path:
        return self.repo.state_dir / "index.sqlite"

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.repo.owns_root:
                # A store that is not its own git repository (the bundled sample in
                # salesctl's source tree or wheel) is read-only: index it in memory.
                self._db = _connect(":memory:")
                self._db.executescript(SCHEMA + LOOKUPS)
            else:
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = None
        try:
            db = _connect(str(self.db_path))
            version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if version is not None and version[0] == INDEX_VERSION:
                return db
        except sqlite3.DatabaseError:
            pass  # missing tables, an old schema, or a damaged file: rebuild
        if db is not None:
            db.close()
        return self._build(self.repo.head() or "-")

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _meta_set(self, db: sqlite3.Connection) -> Callable[[str, Any], None]:
        def put(key: str, value: Any) -> None:
            text = value if isinstance(value, str) else json.dumps(sorted(value))
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

        return put

    # -- building from scratch ---------------------------------------------------------------

    @contextlib.contextmanager
    def _build_lock(self) -> Iterator[None]:
        fd = os.open(self.repo.state_dir / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a second command waits, then uses this build
            yield
        finally:
            os.close(fd)

    def _build(self, head: str, *, walk: bool = False) -> sqlite3.Connection:
        """Build the database file, then open it. The files come from ``git ls-files`` plus
        the untracked files the old database knew (``walk``: from a walk of the record
        directories instead, which also finds unknown untracked files and strays, and costs
        a directory read per record on top)."""
        with self._build_lock():
            known_extra: set[str] = set()
            with contextlib.suppress(sqlite3.DatabaseError):
                db = _connect(str(self.db_path))
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if meta.get("version") == INDEX_VERSION and not walk:
                    return db  # another command built it while this one waited
                with contextlib.suppress(ValueError):
                    known_extra = set(json.loads(meta.get("extra") or "[]"))
                db.close()
            for suffix in ("-journal", "-wal", "-shm", ""):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.db_path}{suffix}")
            db = sqlite3.connect(str(self.db_path), timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")  # a crash mid-build leaves no version: rebuilt
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA cache_size=-32768")  # 32 MB for sorting the lookups
            db.executescript(SCHEMA)
            mode = self.worktree_check()
            status = self._worktree_start(mode) if mode != "none" else None
            tracked = self._tracked_paths()
            walker = Walk(self.root)
            if walk or mode == "all":
                untracked: set[str] = set()

                def untracked_too(paths: Iterable[str]) -> Iterator[str]:
                    for path in paths:
                        if path not in tracked:
                            untracked.add(path)
                        yield path

                count = self._fill(db, untracked_too(walker), expected=len(tracked), trusted=True)
                extra = untracked
            else:
                extra = {p for p in known_extra - tracked if parse_path(p) is not None}
                tracked |= extra
                count = self._fill(db, sorted(tracked), expected=len(tracked), trusted=False)
                extra = {p for p in extra if os.path.lexists(self.root / p)}
            dirty = self._worktree_result(status) if status else set()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", walker.strays)
            put = self._meta_set(db)
            put("head", head)
            put("dirty", dirty)
            put("extra", extra)
            put("built", f"{time.time():.0f}")
            put("version", INDEX_VERSION)  # last: a build without it is incomplete
            db.execute("COMMIT")
            db.close()
        self.last_refresh = {"built": True, "parsed": count, "walked": walk or mode == "all"}
        self._built_now = True
        return _connect(str(self.db_path))

    def _fill(
        self, db: sqlite3.Connection, paths: Iterable[str], *, expected: int, trusted: bool
    ) -> int:
        """Parse ``paths`` into ``db`` (no lookups yet), then add the lookups; rows stored."""
        progress = self.progress("indexing records", expected or None)
        stored = 0
        workers = parsing.workers_for(expected)
        db.execute("BEGIN")
        for rows, _gone in parsing.parse_many(
            str(self.root), paths, workers=workers, trusted=trusted
        ):
            db.executemany(INSERT, rows)
            stored += len(rows)
            progress.update(stored, max(expected, stored))
        db.execute("COMMIT")
        progress.update(stored)
        db.executescript(LOOKUPS)
        progress.done(f"{stored:,} files")
        return stored

    def _tracked_paths(self) -> set[str]:
        out = self.repo.run("ls-files", "-z", "--", *RECORD_ROOTS, check=False)
        return {p for p in out.split("\0") if p}

    # -- keeping it fresh --------------------------------------------------------------------

    def worktree_check(self) -> str:
        """How hand edits in the work tree are found (see the module docstring)."""
        mode = (self.repo.config_value("salesctl.worktreeCheck") or "tracked").lower()
        return mode if mode in WORKTREE_CHECKS else "tracked"

    def refresh(
        self,
        *,
        full: bool = False,
        kinds: Iterable[str] | None = None,
        within: Iterable[str] = (),
    ) -> None:
        """Bring the index up to date with the work tree (cheap when little changed).

        ``kinds`` and ``within`` (directory prefixes such as ``teams/east``) say what the
        caller is about to read, so only that part needs checking. ``full`` walks every
        record directory (untracked files included) and compares every file's signature:
        what ``check`` and ``index status`` need."""
        if self.fresh and not full:
            return
        if not self.repo.owns_root:
            if self._meta("version") is None or full:
                self._refresh_in_memory()
            self.fresh = True
            return
        head = self.repo.head() or "-"
        db = self.db
        if self._built_now and not full:  # this command just built it from the work tree
            self._built_now = False
            self.fresh = True
            return
        mode = self.worktree_check()
        plan = self._plan(head, mode, full)
        if plan["parse"] or plan["gone"] or plan["meta"] != plan["old_meta"] or full:
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._read_meta() != plan["old_meta"]:  # another command refreshed first
                    plan = self._plan(head, mode, full)
                self._apply(plan)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.last_refresh = {
            "mode": mode,
            "parsed": len(plan["parse"]),
            "removed": len(plan["gone"]),
            "full": full,
        }
        self.fresh = True

    def note_written(self, paths: Iterable[str], *, committed: bool) -> None:
        """salesctl wrote ``paths``. Committed ones show up in the next ``git diff``;
        uncommitted ones (``--no-commit``) are remembered so the next command sees them."""
        self.fresh = False
        if committed or not self.repo.owns_root:
            return
        db = self.db  # builds it if missing: a build from ``git ls-files`` would not see these
        db.execute("BEGIN IMMEDIATE")
        try:
            extra = set(json.loads(self._meta("extra") or "[]")) | set(paths)
            self._meta_set(db)("extra", extra)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _refresh_dirs(self, parent_id: str, plural: str) -> None:
        """Re-check the files in ``<parent's directory>/<plural>/`` against the index."""
        listed: set[str] = set()
        dirs = [
            f"{path.rsplit('/', 1)[0]}/{plural}"
            for (path,) in self.db.execute(
                "SELECT path FROM records WHERE id = ? AND parent IS NULL", (parent_id,)
            )
        ]
        for directory in dirs:
            with contextlib.suppress(OSError):
                listed.update(
                    f"{directory}/{e.name}"
                    for e in os.scandir(self.root / directory)
                    if e.name.endswith(".yaml") and not e.name.startswith(".")
                )
            listed.update(
                p
                for (p,) in self.db.execute(
                    "SELECT path FROM records WHERE path > ? AND path < ?",
                    (directory + "/", directory + "/\uffff"),
                )
            )
        parse, gone, _missing = self._changed_files(listed)
        if not parse and not gone:
            return
        known = set(self._signatures(sorted(listed)))
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._apply({"parse": parse, "gone": gone, "meta": {}, "strays": None})
            new = [p for p in parse if p not in known]  # found by listing: untracked
            if new:
                extra = set(json.loads(self._meta("extra") or "[]")) | set(new)
                self._meta_set(db)("extra", extra)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _read_meta(self) -> dict[str, str | None]:
        rows = dict(
            self.db.execute("SELECT key, value FROM meta WHERE key IN ('head', 'dirty', 'extra')")
        )
        return {key: rows.get(key) for key in ("head", "dirty", "extra")}

    def _plan(self, head: str, mode: str, full: bool) -> dict[str, Any]:
        """What to re-parse and drop, and the meta to store; reads files' stats, no YAML."""
        old = self._read_meta()
        old_head = old["head"] or "-"
        dirty_before = set(json.loads(old["dirty"] or "[]"))
        extra = set(json.loads(old["extra"] or "[]"))
        committed: set[str] = set()
        everything = full
        if old_head != head:
            changed = self._changed_between(old_head, head)
            if changed is None:
                everything = True  # the old HEAD is gone (a gc'd rebase): look at everything
            else:
                committed = changed
        dirty = self._worktree_paths(mode) if mode != "none" else dirty_before
        candidates = dirty_before | extra | committed | dirty
        strays: list[tuple[str, str]] | None = None
        if everything:
            parse, gone, found, strays = self._compare_all()
            extra = (extra | found) - committed
            missing = set(gone)
        else:
            parse, gone, missing = self._changed_files(candidates)
            extra -= committed
        extra = {p for p in extra - missing if parse_path(p) is not None}
        meta = {
            "head": head,
            "dirty": json.dumps(sorted(dirty)),
            "extra": json.dumps(sorted(extra)),
        }
        return {"parse": parse, "gone": gone, "meta": meta, "old_meta": old, "strays": strays}

    def _compare_all(self) -> tuple[list[str], list[str], set[str], list[tuple[str, str]]]:
        """Walk everything: (files to parse, rows whose file is gone, untracked files found,
        strays). One pass of lstat over the tree, one scan of the stored signatures."""
        tracked = self._tracked_paths()
        known = dict(self.db.execute("SELECT path, sig FROM records"))
        walk = Walk(self.root)
        root = str(self.root)
        parse: list[str] = []
        untracked: set[str] = set()
        for path in walk:
            sig = known.pop(path, None)
            if path not in tracked:
                untracked.add(path)
            try:
                st = os.lstat(f"{root}/{path}")
            except OSError:
                parse.append(path)  # vanished while walking: the parser says so
                continue
            if stat.S_ISLNK(st.st_mode) or sig != parsing.signature(st):
                parse.append(path)
        return parse, list(known), untracked, walk.strays

    def _apply(self, plan: dict[str, Any]) -> None:
        db = self.db
        parse: list[str] = plan["parse"]
        gone = list(plan["gone"])
        progress = self.progress("indexing changed records", len(parse) or None)
        done = 0
        for rows, vanished in parsing.parse_many(
            str(self.root), parse, workers=parsing.workers_for(len(parse))
        ):
            db.executemany(INSERT, rows)
            gone += vanished
            done += len(rows)
            progress.update(done)
        progress.done(f"{done:,} files")
        db.executemany("DELETE FROM records WHERE path = ?", [(p,) for p in gone])
        if plan["strays"] is not None:
            db.execute("DELETE FROM strays")
            db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", plan["strays"])
        put = self._meta_set(db)
        for key, value in plan["meta"].items():
            put(key, value)

    def _changed_files(self, candidates: Iterable[str]) -> tuple[list[str], list[str], set[str]]:
        """(files whose signature differs from the stored one, stored files now gone,
        every named file that does not exist)."""
        paths = sorted(p for p in set(candidates) if parse_path(p) is not None)
        known = self._signatures(paths)
        root = str(self.root)
        parse, gone, missing = [], [], set()
        for path in paths:
            try:
                st = os.lstat(f"{root}/{path}")
            except FileNotFoundError:
                missing.add(path)
                if path in known:
                    gone.append(path)
                continue
            except OSError:  # e.g. a file where a directory should be: re-read, get a problem
                parse.append(path)
                continue
            if stat.S_ISLNK(st.st_mode) or known.get(path) != parsing.signature(st):
                parse.append(path)
        return parse, gone, missing

    def _signatures(self, paths: list[str]) -> dict[str, str]:
        if len(paths) > 20 * SQL_VARS:  # most of the store: one scan beats many lookups
            wanted = set(paths)
            rows = self.db.execute("SELECT path, sig FROM records")
            return {p: s for p, s in rows if p in wanted}
        known: dict[str, str] = {}
        for start in range(0, len(paths), SQL_VARS):
            batch = paths[start : start + SQL_VARS]
            marks = ",".join("?" * len(batch))
            known.update(
                self.db.execute(f"SELECT path, sig FROM records WHERE path IN ({marks})", batch)
            )
        return known

    def _changed_between(self, old: str, new: str) -> set[str] | None:
        """Record files that differ between two commits; None if ``old`` is unknown."""
        if old == "-" or new == "-":
            return None
        out = self.repo.run(
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            old,
            new,
            "--",
            *RECORD_ROOTS,
            check=False,
        )
        if not out and self.repo.run("cat-file", "-t", old, check=False).strip() != "commit":
            return None
        return {p for p in out.split("\0") if p}

    def _worktree_paths(self, mode: str) -> set[str]:
        """Record paths that differ from HEAD in the work tree or git's index."""
        return self._worktree_result(self._worktree_start(mode))

    def _worktree_start(self, mode: str) -> subprocess.Popen[bytes]:
        """Start ``git status`` (a build parses meanwhile: git needs no Python)."""
        if mode == "all":  # no pathspec: with one, git ignores its untracked cache
            args = ["-c", "core.untrackedCache=true", "status", "--porcelain", "-z", "-unormal"]
        else:
            args = ["status", "--porcelain", "-z", "-uno", "--", *RECORD_ROOTS]
        args.insert(args.index("-z"), "--no-renames")  # a staged rename: both paths, plainly
        return subprocess.Popen(
            ["git", *args], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )

    def _worktree_result(self, proc: subprocess.Popen[bytes]) -> set[str]:
        out = proc.communicate()[0].decode("utf-8", "surrogateescape")
        paths: set[str] = set()
        for entry in out.split("\0"):
            path = entry[3:]
            if len(entry) <= 3 or path.split("/", 1)[0] not in RECORD_ROOTS:
                continue
            if path.endswith("/"):  # an untracked directory (-unormal): its files
                for dirpath, dirnames, filenames in os.walk(self.root / path):
                    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                    rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                    paths.update(f"{rel}/{name}" for name in filenames)
            else:
                paths.add(path)
        return paths

    def _refresh_in_memory(self) -> None:
        db = self.db
        walk = Walk(self.root)
        db.execute("BEGIN")
        db.execute("DELETE FROM records")
        for rows, _gone in parsing.parse_many(str(self.root), walk, trusted=True):
            db.executemany(INSERT, rows)
        db.execute("DELETE FROM strays")
        db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", walk.strays)
        self._meta_set(db)("version", INDEX_VERSION)
        db.execute("COMMIT")

    def rebuild(self) -> None:
        """Throw the database away and build it again from the files."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if not self.repo.owns_root:
            self._refresh_in_memory()
        else:
            self._db = self._build(self.repo.head() or "-", walk=True)
            self._built_now = False
        self.fresh = True

    # -- queries ---------------------------------------------------------------------------

    def paths_for_id_prefix(self, prefix: str, kinds: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(id, path) of records whose id starts with ``prefix``."""
        self.refresh()
        sql = "SELECT id, path FROM records WHERE id >= ? AND id < ?"
        args: list[Any] = [prefix, prefix + "\uffff"]
        kinds = list(kinds)
        if kinds:
            # ``+kind``: filter, but look up by id (the kind index would scan a whole kind)
            sql += f" AND +kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        return list(self.db.execute(sql + " ORDER BY id", args))

    def query(
        self,
        kind: str,
        where: str = "",
        args: Iterable[Any] = (),
        order: str = "id",
        within: Iterable[str] = (),
    ) -> list[tuple[str, dict[str, Any] | None, list[list[str]] | None]]:
        """(path, fields as JSON data, problems) of ``kind`` records matching SQL ``where``
        (and under one of the ``within`` directories, if any are given)."""
        within = tuple(within)
        self.refresh(kinds=[kind], within=within)
        sql = "SELECT path, data, problems FROM records WHERE kind = ?"
        where, args = _within(where, args, within)
        if where:
            sql += f" AND ({where})"
        rows = self.db.execute(f"{sql} ORDER BY {order}", [kind, *args])
        loads = json.loads
        return [
            (path, loads(data) if data else None, loads(probs) if probs else None)
            for path, data, probs in rows
        ]

    def children(self, parent_id: str, kind: str) -> list[tuple[str, dict[str, Any] | None]]:
        """(path, fields) of the ``kind`` records in the parent's directory. The directory is
        listed too (one record's worth of files), so a child added by hand shows up even
        when the work tree check would not see it."""
        self.refresh()
        if self.repo.owns_root:
            self._refresh_dirs(parent_id, KINDS[kind].plural)
        rows = self.db.execute(
            "SELECT path, data FROM records WHERE parent = ? AND kind = ? ORDER BY id",
            (parent_id, kind),
        )
        return [(p, json.loads(d) if d else None) for p, d in rows]

    def all_rows(self) -> list[tuple[str, str, str, str | None]]:
        """(path, id, kind, problems JSON) of everything, after a full walk (whole-store
        checks must see untracked files too)."""
        self.refresh(full=True)
        return list(self.db.execute("SELECT path, id, kind, problems FROM records ORDER BY path"))

    def select(
        self,
        kind: str,
        fields: Iterable[str],
        where: str = "",
        args: Iterable[Any] = (),
        within: Iterable[str] = (),
    ) -> list[tuple[Any, ...]]:
        """(id, owner, team, parent, *field values) of valid ``kind`` records, by SQL."""
        fields = list(fields)
        within = tuple(within)
        columns = "".join(", json_extract(data, ?)" for _ in fields)
        sql = f"SELECT id, owner, team, parent{columns} FROM records "
        sql += "WHERE kind = ? AND data IS NOT NULL"
        where, args = _within(where, args, within)
        if where:
            sql += f" AND ({where})"
        self.refresh(kinds=[kind], within=within)
        return list(
            self.db.execute(sql + " ORDER BY id", [*(f"$.{f}" for f in fields), kind, *args])
        )

    def last_touch_by_parent(self) -> dict[str, str]:
        """The latest follow-up or done visit date (YYYY-MM-DD, as written) per record id."""
        self.refresh()
        rows = self.db.execute(
            "SELECT parent, max(substr(json_extract(data, '$.at'), 1, 10)) FROM records "
            "WHERE kind IN ('followup', 'visit') AND data IS NOT NULL "
            "AND coalesce(json_extract(data, '$.status'), 'done') = 'done' GROUP BY parent"
        )
        return {parent: day for parent, day in rows if parent and day}

    def count(
        self, kind: str, where: str = "", args: Iterable[Any] = (), within: Iterable[str] = ()
    ) -> int:
        within = tuple(within)
        self.refresh(kinds=[kind], within=within)
        # ``where`` is built by salesctl's own code; every value travels as a parameter.
        where, args = _within(where, args, within)
        sql = "SELECT count(*) FROM records WHERE kind = ?"
        sql += f" AND ({where})" if where else ""
        return int(self.db.execute(sql, [kind, *args]).fetchone()[0])

    def execute(
        self,
        sql: str,
        args: Iterable[Any] = (),
        *,
        kinds: Iterable[str],
        within: Iterable[str] = (),
    ) -> sqlite3.Cursor:
        """Run salesctl's own SQL over ``records`` once the ``kinds`` it reads (under the
        ``within`` directories, if given) are fresh. Values travel as parameters."""
        self.refresh(kinds=kinds, within=within)
        return self.db.execute(sql, list(args))

    # -- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the index holds, after a full walk (counts, problems, strays, freshness)."""
        self.refresh(full=True)
        db = self.db
        kinds = dict(db.execute("SELECT kind, count(*) FROM records GROUP BY kind ORDER BY kind"))
        broken, flagged = db.execute(
            "SELECT total(data IS NULL), total(problems IS NOT NULL) FROM records"
        ).fetchone()
        meta = dict(db.execute("SELECT key, value FROM meta"))
        return {
            "database": str(self.db_path) if self.repo.owns_root else ":memory:",
            "size_bytes": self.db_path.stat().st_size if self.repo.owns_root else None,
            "head": None if meta.get("head") in (None, "-") else meta.get("head"),
            "records": sum(kinds.values()),
            "by_kind": kinds,
            "unreadable": int(broken),
            "with_problems": int(flagged),
            "untracked": len(json.loads(meta.get("extra") or "[]")),
            "strays": [
                {"path": p, "reason": r}
                for p, r in db.execute("SELECT path, reason FROM strays ORDER BY path")
            ],
            "worktree_check": self.worktree_check() if self.repo.owns_root else None,
            "yaml_parser": parsing.parser_name(),
            "refreshed": dict(self.last_refresh),
        }


def within_sql(within: Iterable[str]) -> tuple[str, list[str]]:
    """SQL (and its parameters) for "the record's path is under one of these directories"."""
    within = [w.strip("/") for w in within]
    if not within:
        return "", []
    sql = " OR ".join("(path > ? AND path < ?)" for _ in within)
    return f"({sql})", [a for w in within for a in (f"{w}/", f"{w}/\uffff")]


def _within(where: str, args: Iterable[Any], within: tuple[str, ...]) -> tuple[str, list[Any]]:
    extra, extra_args = within_sql(within)
    if not extra:
        return where, list(args)
    return (f"({where}) AND {extra}" if where else extra), [*args, *extra_args]
