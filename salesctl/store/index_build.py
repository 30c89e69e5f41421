"""Building the index from scratch: every record file that ``git ls-files`` names (or a
walk of the record directories finds) parsed by one process per core into a new database,
its lookups added at the end. ``index_refresh.py`` keeps it fresh afterwards."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from salesctl.git import trace
from salesctl.store import index_bulk, index_dupkeys, index_repair, parsing
from salesctl.store.index_schema import (
    CHANGES,
    DIR_LOOKUPS,
    DUPKEYS_TABLE,
    FIGURE_TABLES_SQL,
    FIGURES,
    INDEX_VERSION,
    INSERT,
    INSERT_DIR,
    LOOKUPS,
    PATH_LOOKUPS,
    SCHEMA,
    SHARES,
    connect,
)
from salesctl.store.layout import RECORD_ROOTS, parse_path
from salesctl.store.watch import DirRow, Walk, dir_role

if TYPE_CHECKING:
    from salesctl.store.index_refresh import Progress, RefreshingIndex


@contextlib.contextmanager
def build_lock(index: RefreshingIndex) -> Iterator[None]:
    fd = os.open(index.repo.state_dir / "index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a second command waits, then uses this build
        yield
    finally:
        os.close(fd)


def build(
    index: RefreshingIndex,
    head: str,
    *,
    walk: bool = False,
    damaged: tuple[int, int] | None = None,
) -> sqlite3.Connection:
    """Build the database file, then open it. The files come from ``git ls-files``; their
    directories are stored unlisted, so the first look at each lists it once (finding
    untracked files). ``walk``: from a walk of the record directories instead, which lists
    every directory now (a directory read per record on top). ``damaged``: the (device,
    inode) of a file found damaged, built again even if its version is current.

    Built aside (``index.sqlite.new``), so commands read the old one meanwhile, then put in
    its place (``_install``)."""
    with build_lock(index):
        db, healthy = _existing(index, walk=walk, damaged=damaged)
        if db is not None:
            return db  # another command built it while this one waited
        built = index.db_path.with_name(index.db_path.name + ".new")
        index_repair.discard(built)  # what a build killed midway left
        count = _build_at(index, str(built), head, walk=walk)
        _install(built, index.db_path, healthy=healthy)
    index.last_refresh = {"built": True, "parsed": count, "walked": walk}
    index._built_now = True
    return connect(str(index.db_path))


def _existing(
    index: RefreshingIndex, *, walk: bool, damaged: tuple[int, int] | None
) -> tuple[sqlite3.Connection | None, bool]:
    """(the database if it is current, for a command that waited while another built it;
    whether the file in place is a database, not the one found ``damaged``)."""
    try:
        db = connect(str(index.db_path))
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
        except BaseException:
            db.close()
            raise
    except index_repair.ERRORS:  # missing, of no known shape, damaged
        return None, False
    healthy = damaged is None or index_repair.identity(index.db_path) != damaged
    if healthy and meta.get("version") == INDEX_VERSION and not walk:
        return db, True
    db.close()
    return None, healthy


def _install(built: Path, path: Path, *, healthy: bool) -> None:
    """Put the database ``built`` in place of ``path``. A healthy one, which other commands
    may have open, is overwritten page by page under SQLite's locks (its backup): they read
    the new one on their next query. A connection left on a file renamed over would take
    the next writer's journal on the new one for a hot journal of its own, play it back
    and delete it (the writer's commit: "disk I/O error"). A missing or damaged file, and
    its journal, are replaced."""
    if healthy:
        try:
            _copy_into(built, path)
        except index_repair.ERRORS:  # damaged after all: replaced
            pass
        else:
            os.unlink(built)
            return
    index_repair.discard(path)
    os.replace(built, path)


def _copy_into(built: Path, path: Path) -> None:
    started = time.perf_counter()
    source = sqlite3.connect(str(built))
    target = sqlite3.connect(str(path), timeout=60, isolation_level=None)
    try:
        source.backup(target)  # one step: the target's exclusive lock waits for readers
    finally:
        target.close()
        source.close()
    trace("copied into place", started, "build")


def _build_at(index: RefreshingIndex, where: str, head: str, *, walk: bool) -> int:
    """Build a new database at ``where``; the record files stored."""
    db = sqlite3.connect(where, timeout=60, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")  # a crash mid-build leaves no version: rebuilt
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-32768")  # 32 MB for sorting the lookups
    db.executescript(SCHEMA + FIGURE_TABLES_SQL + DUPKEYS_TABLE + PATH_LOOKUPS)
    index._keyed(db)
    walker = Walk(index.root)
    with ThreadPoolExecutor(1) as asking:  # alongside the parse (git's a subprocess)
        edited = asking.submit(_not_committed, index, head, walk=walk)
        if walk:
            progress = index.progress("indexing records", None)
            count = fill(index, db, walker, progress, expected=0, trusted=True)
        else:
            tracked = sorted(index._tracked_paths())
            progress = index.progress("indexing records", len(tracked) or None)
            count = fill(index, db, tracked, progress, expected=len(tracked), trusted=False)
        started = time.perf_counter()
        db.executescript(LOOKUPS + SHARES + FIGURES + CHANGES)
        trace("lookups", started, "build")
        unsettled = edited.result()
    # The directories after the lookups (listing them alongside took 14 MB more at the
    # peak), but before their own lookups, which are then made once, not row by row.
    dirs = walker.dirs if walk else unlisted_dirs(tracked)
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO unsettled VALUES (?)", unsettled)
    db.executemany(INSERT_DIR, dirs)
    db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", walker.strays)
    db.execute("COMMIT")
    db.executescript(DIR_LOOKUPS)  # once, in bulk, not row by row
    trace(f"{len(dirs)} directories stored", started, "build")
    started = time.perf_counter()
    index_dupkeys.install(db, index.keys_region(), filled=True)
    trace("duplicate keys' lookups", started, "build")
    progress.done(f"{count:,} files")
    db.execute("BEGIN")
    put = index._meta_set(db)
    put("head", head)
    put("extra", [])
    put("built", f"{time.time():.0f}")
    put("version", INDEX_VERSION)  # last: a build without it is incomplete
    db.execute("COMMIT")
    db.close()
    return count


def build_in_memory(index: RefreshingIndex) -> None:
    """Fill the in-memory index of a store that is not its own repository from a walk."""
    db = index.db
    walk = Walk(index.root)
    db.execute("BEGIN")
    db.execute("DELETE FROM records")
    rows_of = parsing.parse_many(str(index.root), walk, trusted=True, region=index.keys_region())
    for rows, _gone in rows_of:
        db.executemany(INSERT, rows)
    db.execute("DELETE FROM strays")
    db.executemany("INSERT OR REPLACE INTO strays VALUES (?, ?)", walk.strays)
    index._meta_set(db)("version", INDEX_VERSION)
    db.execute("COMMIT")


def _not_committed(index: RefreshingIndex, head: str, *, walk: bool) -> list[tuple[str]]:
    """The record files a build reads whose content may not be HEAD's: hand edits and
    staged files (``git diff HEAD``, while the files are parsed), and with ``walk`` the
    untracked ones. Figures as committed (``index_committed``) compare these with HEAD's
    blobs; a build that stored them as settled let a report count an uncommitted edit."""
    if head == "-":  # no commit yet: nothing is committed, and reports say so
        return []
    from salesctl.git import run_git

    # Size and whole-second mtime say a file is unchanged: a copied store (new inodes and
    # ctimes) made git hash all 385,000 files (12 s) instead of 0.4 s of lstat.
    lenient = ("core.checkStat=minimal", "core.trustctime=false")
    asks: list[tuple[str, ...]] = [
        ("diff", "--name-only", "-z", "--no-renames", "HEAD", "--", *RECORD_ROOTS)
    ]
    if walk:
        asks.append(("ls-files", "--others", "--exclude-standard", "-z", "--", *RECORD_ROOTS))
    found: set[str] = set()
    for args in asks:  # a git that fails leaves the build as it was: best effort
        out = run_git(index.root, args, check=False, config=lenient)
        found.update(os.fsdecode(path) for path in out.split(b"\0"))
    return [(path,) for path in sorted(found) if parse_path(path) is not None]


def fill(
    index: RefreshingIndex,
    db: sqlite3.Connection,
    paths: Iterable[str],
    progress: Progress,
    *,
    expected: int,
    trusted: bool,
) -> int:
    """Parse ``paths`` into ``db`` and its side tables (no lookups yet); rows stored."""
    stored = 0
    workers = parsing.workers_for(expected)
    started = time.perf_counter()
    db.execute("BEGIN")
    for rows, _gone in parsing.parse_many(
        str(index.root), paths, workers=workers, trusted=trusted, region=index.keys_region()
    ):
        # Each side table filled from each batch as it is stored (the rows after ``first``),
        # while the workers parse the next ones, not by one statement over every row at the
        # end: the same SELECTs an import's bulk insert runs, rows for rows.
        (first,) = db.execute("SELECT coalesce(max(rowid), 0) FROM records").fetchone()
        db.executemany(INSERT, rows)  # each path once: each row is a new rowid
        for side_fill in index_bulk.fills_for(rows):
            db.execute(side_fill, {"first": first})
        stored += len(rows)
        progress.update(stored, max(expected, stored))
    db.execute("COMMIT")
    trace(f"{stored} files parsed and stored by {workers} workers", started, "build")
    progress.update(stored)
    return stored


def unlisted_dirs(paths: Iterable[str]) -> list[DirRow]:
    """The directories above ``paths``, as rows of ``dirs`` whose signature matches nothing
    (so each is listed the first time a command looks at it)."""
    # The record roots too: one with no tracked file yet (a first hand-made record in the
    # pool) must still be listed on the first look, or what it holds stays unseen.
    seen: set[str] = set(RECORD_ROOTS)
    for path in paths:
        directory = path.rpartition("/")[0]
        while directory and directory not in seen:
            seen.add(directory)
            directory = directory.rpartition("/")[0]
    return [(d, d.rpartition("/")[0] or None, *dir_role(d), "") for d in sorted(seen)]
