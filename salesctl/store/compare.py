"""Comparing stored signatures with the file system's: ``lstat`` each directory and record
file a look covers (``watch.py`` says which).

A look is all ``lstat``, and one core waits on the kernel for each in turn: a whole-store
look (630,000 at 100,000 leads) is split across processes that each stream their share of
the stored signatures from the database. A scope's look stays in the command's process:
split across forked processes, ``receivables``' 18,500 stats took 51-55 ms instead of
80-88 ms in a bare process, but whole commands were no faster (2026-12-05: the fork and
the copy-on-write of the command's memory ate the gain).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable

from salesctl.store import parsing


def dir_signature(st: os.stat_result, now_ns: int) -> str:
    sig = f"{st.st_mtime_ns}:{st.st_ino}"
    return "racy:" + sig if now_ns - st.st_mtime_ns < parsing.RACY_NS else sig


MISSING, LINK = "missing", "link"  # what compare_part says of a directory that is no more
ALL_DIRS, ALL_FILES = "SELECT path, sig FROM dirs", "SELECT path, sig FROM records"
# A process's share of a whole-store look: a range of directory paths, a range of rowids.
DIRS_FROM = "SELECT path, sig FROM dirs WHERE path >= ?"
DIRS_BETWEEN = "SELECT path, sig FROM dirs WHERE path >= ? AND path < ?"
FILES_BETWEEN = "SELECT path, sig FROM records WHERE rowid > ? AND rowid <= ?"
# (directories whose signature moved, with the new one or MISSING/LINK; files to parse;
# files gone)
Compared = tuple[list[tuple[str, str]], list[str], list[str]]
PAST_ALL = "\U0010ffff"  # sorts after every path
PARALLEL_MIN = 100_000  # a whole-store look is split across processes from here (~630,000)
Share = tuple[str, str, int, tuple[str, str | None], tuple[int, int]]


def _compare_share(share: Share) -> Compared:
    """One forked process's part of a whole-store look, read through its own connection
    (never the parent's): the directories from one path to the next, the record files
    of a range of rowids. Each used to read every row and skip the others' (0.15 s each
    at 100,000 leads, of a 1.4 s ``check``)."""
    where, top, now, (low, high), rowids = share
    db = sqlite3.connect(f"file:{where}?mode=ro", uri=True, timeout=60)
    try:
        dirs = (
            db.execute(DIRS_FROM, (low,)) if high is None else db.execute(DIRS_BETWEEN, (low, high))
        )
        os.chdir(top)  # (this process's own): relative paths, 5-8 % less time in lstat
        return compare_part("", dirs, db.execute(FILES_BETWEEN, rowids), now)
    finally:
        db.close()


def _joined(parts: list[Compared]) -> Compared:
    return (
        [m for part in parts for m in part[0]],
        [p for part in parts for p in part[1]],
        [g for part in parts for g in part[2]],
    )


def compare_everything(db: sqlite3.Connection, top: str, now: int) -> Compared:
    """``compare`` of every stored directory and file, none of their rows held here:
    at 100,000 leads the 730,000 (path, signature) pairs were 190 MB. Each process
    streams its share of the rows from the database and stats them."""
    where = next((r[2] for r in db.execute("PRAGMA database_list") if r[1] == "main"), "")
    dirs = db.execute("SELECT count(*) FROM dirs").fetchone()[0]
    last = db.execute("SELECT max(rowid) FROM records").fetchone()[0] or 0  # ≈ the count
    workers = parsing.workers_for(dirs + last) if dirs + last > PARALLEL_MIN and where else 1
    if workers <= 1:
        return compare_part(top, db.execute(ALL_DIRS), db.execute(ALL_FILES), now)
    nth = "SELECT path FROM dirs ORDER BY path LIMIT 1 OFFSET ?"
    found = [db.execute(nth, (dirs * i // workers,)).fetchone() for i in range(1, workers)]
    cuts = [PAST_ALL if row is None else row[0] for row in found]  # (none listed yet)
    paths = list(zip(["", *cuts], [*cuts, None], strict=True))
    rowids = [(last * i // workers, last * (i + 1) // workers) for i in range(workers)]
    shares = [(where, top, now, p, r) for p, r in zip(paths, rowids, strict=True)]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return _joined(pool.map(_compare_share, shares))


def compare_part(
    top: str, dirs: Iterable[tuple[str, str]], files: Iterable[tuple[str, str]], now: int
) -> Compared:
    """Stat the stored directories and files under ``top`` ("": the current directory)."""
    moved: list[tuple[str, str]] = []
    lstat, is_dir, is_link, signature = os.lstat, stat.S_ISDIR, stat.S_ISLNK, parsing.signature
    prefix = f"{top}/" if top else ""
    for path, sig in dirs:
        try:
            st = lstat(prefix + path)
        except OSError:
            moved.append((path, MISSING))
            continue
        if not is_dir(st.st_mode):
            moved.append((path, LINK if is_link(st.st_mode) else MISSING))
            continue
        new_sig = dir_signature(st, now)
        if new_sig != sig or sig.startswith("racy:"):  # racy: may have changed unseen
            moved.append((path, new_sig))
    parse: list[str] = []
    gone: list[str] = []
    for path, sig in files:
        try:
            st = lstat(prefix + path)
        except FileNotFoundError:
            gone.append(path)
            continue
        except OSError:  # e.g. a file where a directory should be: re-read, get a problem
            parse.append(path)
            continue
        if is_link(st.st_mode) or sig != signature(st):
            parse.append(path)
    return moved, parse, gone
