"""Comparing stored signatures with the file system's: ``lstat`` each directory and record
file a look covers (``watch.py`` says which), on as many cores as pay.

A look is all ``lstat``, and one core waits on the kernel for each in turn: a scope of
thousands (``receivables``: 18,500 at 100,000 leads) is split across forked processes
that only stat and send back what moved, and a whole-store look (630,000) across processes
that each stream their share of the stored signatures from the database.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterable

from salesctl.store import parsing


def dir_signature(st: os.stat_result, now_ns: int) -> str:
    sig = f"{st.st_mtime_ns}:{st.st_ino}"
    return "racy:" + sig if now_ns - st.st_mtime_ns < parsing.RACY_NS else sig


MISSING, LINK = "missing", "link"  # what compare says of a directory that is no more
ALL_DIRS, ALL_FILES = "SELECT path, sig FROM dirs", "SELECT path, sig FROM records"
COUNT_DIRS, COUNT_FILES = "SELECT count(*) FROM dirs", "SELECT count(*) FROM records"
# (directories whose signature moved, with the new one or MISSING/LINK; files to parse;
# files gone)
Compared = tuple[list[tuple[str, str]], list[str], list[str]]
PARALLEL_MIN = 100_000  # a whole-store look is split across processes from here (~630,000)
FORK_MIN = 4_000  # a scope's stats split across forked processes from here (~2 ms a fork)


def compare(
    top: str, dirs: list[tuple[str, str]], files: list[tuple[str, str]], now: int
) -> Compared:
    """``Compared`` of these directories and files. A big scope (``receivables``: 18,000
    stats at 100,000 leads) is split across the cores: it is all ``lstat``, and one core
    waits on the kernel for each in turn."""
    workers = min(_cores(), (len(dirs) + len(files)) // FORK_MIN)
    if workers <= 1:
        return compare_part(top, dirs, files, now)
    return in_forks(
        [
            functools.partial(compare_part, top, dirs[i::workers], files[i::workers], now)
            for i in range(workers)
        ]
    )


def _cores() -> int:
    """The cores a look may fork onto: one where there is no fork, or where another
    thread runs (``serve``): a forked child of a threaded process may deadlock."""
    threading = sys.modules.get("threading")
    if not hasattr(os, "fork") or (threading is not None and threading.active_count() > 1):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def in_forks(parts: list[Callable[[], Compared]]) -> Compared:
    """Each of ``parts`` after the first in a forked child that sends its result back
    through a pipe, the first here meanwhile. The children only stat and write: they never
    touch the parent's database connection, and leave with ``os._exit`` (no cleanup of the
    parent's). A child that fails has its part done here instead."""
    import json

    children = []
    for part in parts[1:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            code = 1
            try:
                os.close(read)
                with os.fdopen(write, "wb") as out:
                    out.write(json.dumps(part()).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        children.append((pid, read, part))
    results = [parts[0]()]
    for pid, read, part in children:
        with os.fdopen(read, "rb") as sent:
            data = sent.read()
        _pid, status = os.waitpid(pid, 0)
        if status == 0 and data:
            moved, parse, gone = json.loads(data)
            results.append(([(path, sig) for path, sig in moved], parse, gone))
        else:
            results.append(part())
    return _joined(results)


def _compare_share(share: tuple[str, str, int, int, int]) -> Compared:
    """One forked process's part of a whole-store look: every ``count``-th row from
    ``index`` on, read through its own connection (never the parent's)."""
    import itertools

    where, top, now, index, count = share
    db = sqlite3.connect(f"file:{where}?mode=ro", uri=True, timeout=60)
    try:
        dirs = itertools.islice(db.execute(ALL_DIRS), index, None, count)
        files = itertools.islice(db.execute(ALL_FILES), index, None, count)
        return compare_part(top, dirs, files, now)
    finally:
        db.close()


def _joined(parts: list[Compared]) -> Compared:
    return (
        [m for part in parts for m in part[0]],
        [p for part in parts for p in part[1]],
        [g for part in parts for g in part[2]],
    )


def compare_part(
    top: str, dirs: Iterable[tuple[str, str]], files: Iterable[tuple[str, str]], now: int
) -> Compared:
    moved: list[tuple[str, str]] = []
    lstat, is_dir, is_link, signature = os.lstat, stat.S_ISDIR, stat.S_ISLNK, parsing.signature
    for path, sig in dirs:
        try:
            st = lstat(f"{top}/{path}")
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
            st = lstat(f"{top}/{path}")
        except FileNotFoundError:
            gone.append(path)
            continue
        except OSError:  # e.g. a file where a directory should be: re-read, get a problem
            parse.append(path)
            continue
        if is_link(st.st_mode) or sig != signature(st):
            parse.append(path)
    return moved, parse, gone


def compare_everything(db: sqlite3.Connection, top: str, now: int) -> Compared:
    """``compare`` of every stored directory and file, none of their rows held here:
    at 100,000 leads the 730,000 (path, signature) pairs were 190 MB. Each process
    streams the rows from the database and stats its share."""
    where = next((r[2] for r in db.execute("PRAGMA database_list") if r[1] == "main"), "")
    count = db.execute(f"SELECT ({COUNT_DIRS}) + ({COUNT_FILES})").fetchone()[0]
    workers = parsing.workers_for(count) if count > PARALLEL_MIN and where else 1
    if workers <= 1:
        return compare_part(top, db.execute(ALL_DIRS), db.execute(ALL_FILES), now)
    import multiprocessing

    shares = [(where, top, now, i, workers) for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return _joined(pool.map(_compare_share, shares))
