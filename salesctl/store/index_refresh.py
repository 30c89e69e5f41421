"""Keeping the derived index in step with the files: opening it, building it, refreshing it.

Keeping it fresh costs what changed and what the command reads, not what exists:

- **Commits** (ours, a pull, a checkout, a reset): the index remembers the HEAD it reflects;
  ``git diff --name-only OLD NEW`` names the files to look at.
- **The work tree**, per ``git config salesctl.worktreeCheck``: ``stat`` (the default)
  compares the files and directories the command is about to read with their stored
  signatures (``watch.py``): hand edits, deletions, renames and new files, tracked or not,
  are seen at once, for the price of an ``lstat`` per file in scope. ``none`` trusts
  commits and salesctl's own writes only (hand edits show up after ``index status``).
- A full look (``check``, ``index status``) stats every file and directory; ``index
  rebuild`` walks the record directories from scratch.

Of the named files, only those whose stat signature changed are parsed again; a big batch
(a cold build, a large pull) is parsed by one process per core (``parsing.parse_many``).
A build writes the database once with journaling off and adds the lookups (including the
hot JSON fields reports filter on) at the end. Delete the database at any time: the next
command rebuilds it; one found damaged is rebuilt too, with a warning (``index_repair.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from salesctl.errors import SalesctlError
from salesctl.git import Repo
from salesctl.store import index_bulk, index_dupkeys, index_repair, parsing
from salesctl.store.index_schema import (
    CHANGES,
    DIR_LOOKUPS,
    FIGURES,
    INDEX_VERSION,
    INSERT,
    INSERT_DIR,
    LOOKUPS,
    SCHEMA,
    SHARES,
    connect,
)
from salesctl.store.layout import RECORD_ROOTS, parse_path
from salesctl.store.sqlite_tx import immediate
from salesctl.store.watch import Changes, Scope, Watcher, below

WORKTREE_CHECKS = ("stat", "none")
SQL_VARS = 900  # parameters per IN (...) list
DIRECT_ROWS_MIN = 200  # a commit of this many records is stored from its fields (an import)


class Progress(Protocol):
    """How long work reports how far it got; whoever runs the store renders it (the CLI: a
    line on a terminal). The store itself prints nothing."""

    def update(self, done: int, total: int | None = None) -> None: ...

    def done(self, message: str = "") -> None: ...


class Silent:
    """No progress shown: the default, for library use, cron and tests."""

    def __init__(self, label: str, total: int | None = None) -> None:
        pass

    def update(self, done: int, total: int | None = None) -> None:
        pass

    def done(self, message: str = "") -> None:
        pass


class RefreshingIndex:
    """The index database of one store, opened (built when missing or stale) and refreshed
    before each read; ``Index`` adds the queries."""

    def __init__(self, root: Path, repo: Repo) -> None:
        self.root = root
        self.repo = repo
        self._db: sqlite3.Connection | None = None
        self._caught_up = False  # this process has applied the commits since the last look
        self._head: str | None = None  # the commit it caught up with
        self._looked: list[Scope] = []  # and looked at these parts of the work tree
        self._mode: str | None = None
        self.last_refresh: dict[str, Any] = {}  # what the last refresh did (index status)
        self.progress: Callable[[str, int | None], Progress] = Silent
        # One-line warnings (a damaged database rebuilt): the CLI prints them on stderr.
        self.warn: Callable[[str], None] = index_repair.logged
        self.repaired: str | None = None  # why this command rebuilt a damaged database
        self._built_now = False
        # The org's phone region, for the duplicate keys (the store sets it from the config).
        self.region_of: Callable[[], str] = lambda: "CN"
        self._region: str | None = None
        self.key_tag: Callable[[], str] = lambda: ""  # set by the store of an encrypted org
        # Reads as of HEAD (index_committed.py): commits only, never a look at the work tree.
        self.committed_only = False

    @property
    def db_path(self) -> Path:
        # An encrypted store's index holds what this identity decrypts: one per identity,
        # so members taking turns in one clone (--as) neither rebuild nor see each other's.
        tag = self.key_tag()
        return self.repo.state_dir / (f"index-{tag}.sqlite" if tag else "index.sqlite")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.repo.owns_root:
                # A store that is not its own git repository (the bundled sample in
                # salesctl's source tree or wheel) is read-only: index it in memory.
                self._db = self._keyed(connect(":memory:"))
                self._db.executescript(SCHEMA + LOOKUPS + DIR_LOOKUPS + SHARES + FIGURES + CHANGES)
                index_dupkeys.install(self._db, self.keys_region())
            else:
                self._db = self._keyed(self._open())
        return self._db

    def _open(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = None
        damaged = None
        try:
            db = connect(str(self.db_path))
            version = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if version is not None and version[0] == INDEX_VERSION:
                return db
        except index_repair.ERRORS as exc:  # missing tables, an old schema, a damaged file
            damaged = (
                index_repair.reason(exc)
                if index_repair.damaged_at_open(exc, self.db_path)
                else None
            )
        if db is not None:
            db.close()
        built = self._build(self.repo.head() or "-", damaged=damaged)
        if damaged is not None:
            self.repaired = damaged
            self.warn(index_repair.rebuilt(self))
        return built

    def reopen(self) -> None:
        """Close the connection: the next query opens the database file anew."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self.fresh = False

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _meta_set(self, db: sqlite3.Connection) -> Callable[[str, Any], None]:
        def put(key: str, value: Any) -> None:
            text = value if isinstance(value, str) else json.dumps(sorted(value))
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

        return put

    # -- building from scratch (index_build.py) ---------------------------------------------

    def _build(
        self,
        head: str,
        *,
        walk: bool = False,
        damaged: str | None = None,
        found: tuple[int, int] | None = None,
    ) -> sqlite3.Connection:
        from salesctl.store.index_build import build

        try:
            return build(self, head, walk=walk, damaged=found)
        except (OSError, sqlite3.DatabaseError) as exc:  # a read-only .git, a full disk
            raise index_repair.IndexUnavailable(index_repair.shown(self), exc, damaged) from exc

    def _tracked_paths(self) -> set[str]:
        out = self.repo.run("ls-files", "-z", "--", *RECORD_ROOTS, check=False)
        return {p for p in out.split("\0") if p}

    # -- keeping it fresh --------------------------------------------------------------------

    def worktree_check(self) -> str:
        """How hand edits in the work tree are found (see the module docstring)."""
        if self._mode is None:
            mode = (self.repo.config_value("salesctl.worktreeCheck") or "stat").lower()
            self._mode = mode if mode in WORKTREE_CHECKS else "stat"  # "tracked", "all": old names
        return self._mode

    @property
    def fresh(self) -> bool:
        """Whether this process already knows the whole index is current."""
        return self._caught_up and any(scope.everything for scope in self._looked)

    @fresh.setter
    def fresh(self, value: bool) -> None:
        self._caught_up = value
        self._looked = [Scope()] if value else []

    @index_repair.recovering
    def refresh(
        self,
        *,
        full: bool = False,
        kinds: Iterable[str] | None = None,
        within: Iterable[str] = (),
        files: Iterable[str] | None = None,
        look: bool = False,
        worktree: bool = True,
    ) -> None:
        """Bring the index up to date with the work tree (cheap when little changed).

        ``kinds``, ``within`` (directory prefixes such as ``teams/east``) and ``files`` say
        what the caller is about to read, so only that part is looked at. ``full`` looks at
        every file and directory whatever the work tree check (``check``, ``index status``);
        ``look`` looks at the scope even when the check is ``none`` (a record's children);
        ``worktree=False`` does not look even under ``stat`` (commits and salesctl's own
        writes only: the duplicate guard of one new record, which must not cost a stat of
        every lead)."""
        scope = Scope() if full else Scope.of(kinds, within, files)
        if not self.repo.owns_root:
            if self._meta("version") is None or (full and not self.fresh):
                self._refresh_in_memory()
            self.fresh = True
            return
        watch = full or (
            not self.committed_only and (look or (worktree and self.worktree_check() == "stat"))
        )
        if self._caught_up and (not watch or any(d.covers(scope) for d in self._looked)):
            return
        db = self.db
        if self._built_now and not full:
            self._built_now = False
            if self.last_refresh.get("walked"):  # built from a walk of the work tree itself
                self.fresh = True
                return
            # built from ``git ls-files``: untracked files wait in the unlisted directories
        old = self._read_meta()
        # A command reads one commit: once caught up, and while the index still stands at
        # it, another part's refresh does not ask git again (``lead show``: 3 asks, 3 ms each)
        same = self._caught_up and self._head is not None and old["head"] == self._head
        head = self._head if same and self._head else self.repo.head() or "-"
        self._head = head
        plan = self._plan(head, old)
        found = Watcher(self.root, db).look(scope) if watch else None
        if plan["parse"] or plan["gone"] or plan["meta"] != old or found:
            with immediate(db):
                if self._read_meta() != old:  # another command refreshed first
                    plan = self._plan(head, self._read_meta())
                self._apply(plan, found)
        self.last_refresh = {
            "mode": self.worktree_check(),
            "parsed": len(set(plan["parse"]) | (found.parse if found else set())),
            "removed": len(set(plan["gone"]) | (found.gone if found else set())),
            "full": full,
        }
        self._caught_up = True
        if watch:
            self._looked.append(scope)

    def note_written(
        self,
        paths: Iterable[str],
        *,
        committed: bool,
        commit: str | None = None,
        fields: Mapping[str, index_bulk.Written] | None = None,
    ) -> None:
        """salesctl wrote ``paths``. Committed ones show up in the next ``git diff``;
        uncommitted ones (``--no-commit``) are remembered so the next command sees them.
        A big commit (an import) whose files' ``fields`` are known is stored straight away
        instead: its rows are made from the fields (and the duplicate keys the command made,
        where it made them), not by reading the files back. The change stands whatever
        the index does: one that cannot take it (busy, not writable) is told so, once."""
        self.fresh = False
        try:
            self._note(list(paths), committed, commit, fields)
        except (*index_repair.ERRORS, SalesctlError) as exc:
            self.reopen()
            self.warn(
                f"the change is saved, but the index could not note it ({exc}): "
                "`salesctl index status` brings it up to date"
            )

    @index_repair.recovering
    def _note(
        self,
        paths: list[str],
        committed: bool,
        commit: str | None,
        fields: Mapping[str, index_bulk.Written] | None,
    ) -> None:
        big = committed and commit and fields and len(fields) >= DIRECT_ROWS_MIN
        if big and index_bulk.store_committed(self, str(commit), paths, fields or {}):
            return
        if committed or not self.repo.owns_root:
            return
        db = self.db  # builds it if missing: a build from ``git ls-files`` would not see these
        with immediate(db):
            extra = set(json.loads(self._meta("extra") or "[]")) | set(paths)
            self._meta_set(db)("extra", extra)

    def _read_meta(self) -> dict[str, str | None]:
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('head', 'extra')"))
        return {key: rows.get(key) for key in ("head", "extra")}

    def _plan(self, head: str, old: dict[str, str | None]) -> dict[str, Any]:
        """What commits (and salesctl's own uncommitted writes) changed: files to re-parse,
        rows to drop, and the meta to store. Reads files' stats, no YAML."""
        extra = set(json.loads(old["extra"] or "[]"))
        committed: set[str] = set()
        if (old["head"] or "-") != head:
            changed = self._changed_between(old["head"] or "-", head)
            # None: the old HEAD is gone (a gc'd rebase): look at every stored file
            committed = changed if changed is not None else self._stored_paths()
        parse, gone, missing = self._changed_files(committed | extra)
        extra = {p for p in extra - committed - missing if parse_path(p) is not None}
        meta = {"head": head, "extra": json.dumps(sorted(extra))}
        return {"parse": parse, "gone": gone, "meta": meta, "committed": committed}

    def _stored_paths(self) -> set[str]:
        return {p for (p,) in self.db.execute("SELECT path FROM records")}

    def _apply(self, plan: dict[str, Any], found: Changes | None = None) -> None:
        db = self.db
        parse = set(plan["parse"])
        gone = set(plan["gone"])
        # What a commit named is as committed again; what a look found may not be.
        settled = plan.get("committed", set())
        db.executemany("DELETE FROM unsettled WHERE path = ?", [(p,) for p in sorted(settled)])
        if found is not None:
            for directory in found.dropped:
                db.execute(
                    "INSERT OR IGNORE INTO unsettled SELECT path FROM records "
                    "WHERE path > ? AND path < ?",
                    below(directory),
                )
            looked = [(p,) for p in found.parse | found.gone if parse_path(p) is not None]
            db.executemany("INSERT OR IGNORE INTO unsettled VALUES (?)", looked)
            for directory in found.dropped:  # the directory and everything below it
                for table in ("records", "dirs", "strays"):
                    db.execute(
                        f"DELETE FROM {table} WHERE path = ? OR (path > ? AND path < ?)",
                        (directory, *below(directory)),
                    )
            for directory in found.rescanned:
                low, high = below(directory)
                db.execute(
                    "DELETE FROM strays WHERE path > ? AND path < ? "
                    "AND instr(substr(path, ?), '/') = 0",
                    (low, high, len(directory) + 2),
                )
            db.executemany(INSERT_DIR, found.dirs)
            db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", found.strays)
            parse |= found.parse
            gone |= found.gone
        gone -= parse
        progress = self.progress("indexing changed records", len(parse) or None)
        done = 0
        for rows, vanished in parsing.parse_many(
            str(self.root),
            sorted(parse),
            workers=parsing.workers_for(len(parse)),
            region=self.keys_region(),
        ):
            db.executemany(INSERT, rows)
            gone.update(vanished)
            done += len(rows)
            progress.update(done)
        progress.done(f"{done:,} files")
        db.executemany("DELETE FROM records WHERE path = ?", [(p,) for p in sorted(gone)])
        # A file a commit named is read from the work tree, which may have been edited since
        # (no command looked in between): figures as committed compare it with its blob
        # (index_committed.py) before they trust it; reads that never ask pay nothing.
        unchecked = [(p,) for p in sorted(parse & settled)]
        db.executemany("INSERT OR IGNORE INTO unsettled VALUES (?)", unchecked)
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

    def _refresh_in_memory(self) -> None:
        from salesctl.store.index_build import build_in_memory

        build_in_memory(self)

    def rebuild(self) -> None:
        """Throw the database away and build it again from the files."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if not self.repo.owns_root:
            self._refresh_in_memory()
        else:
            self._db = self._keyed(self._build(self.repo.head() or "-", walk=True))
            self._built_now = False
        self.fresh = True

    # -- duplicate keys (the dupkeys table, index_dupkeys.py) ------------------------------

    def keys_region(self) -> str:
        """The phone region duplicate keys are made with: the config's, read once."""
        if self._region is None:
            try:
                self._region = self.region_of()
            except SalesctlError:  # a broken config: `check` still reads; keys as by default
                self._region = "CN"
        return self._region

    def _keyed(self, db: sqlite3.Connection) -> sqlite3.Connection:
        return index_dupkeys.register(db, self.keys_region)
