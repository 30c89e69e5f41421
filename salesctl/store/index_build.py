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
from typing import TYPE_CHECKING

from salesctl.git import trace
from salesctl.store import index_bulk, index_dupkeys, parsing
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


def build(index: RefreshingIndex, head: str, *, walk: bool = False) -> sqlite3.Connection:
    """Build the database file, then open it. The files come from ``git ls-files``; their
    directories are stored unlisted, so the first look at each lists it once (finding
    untracked files). ``walk``: from a walk of the record directories instead, which lists
    every directory now (a directory read per record on top)."""
    with build_lock(index):
        with contextlib.suppress(sqlite3.DatabaseError):
            db = connect(str(index.db_path))
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("version") == INDEX_VERSION and not walk:
                return db  # another command built it while this one waited
            db.close()
        for suffix in ("-journal", "-wal", "-shm", ""):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{index.db_path}{suffix}")
        db = sqlite3.connect(str(index.db_path), timeout=60, isolation_level=None)
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
    index.last_refresh = {"built": True, "parsed": count, "walked": walk}
    index._built_now = True
    return connect(str(index.db_path))


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
