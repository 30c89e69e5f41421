"""Reading the index as HEAD stands: what reports, ``stats``, ``receivables`` and
``pipeline --as-of`` use.

A report states the commit its data came from (``data_commit``), so its figures are that
commit's: it catches the index up with the commits and never looks at the work tree (a
look is an ``lstat`` per file in scope: 0.7 s for a team's quarter of a 100,000-lead store).
The index re-parses what each commit changes, so it mostly holds committed content,
except where it does not know it: the rows a look at the work tree found changed, and the
files commits named, which it reads from the work tree where a hand edit may have followed
the commit (both ``unsettled``, written by ``index_refresh.py``), and salesctl's own
``--no-commit`` writes (``meta.extra``). For those under the directories read,
``committed`` reads HEAD's blobs and, where they differ from the index's rows, shadows the
rows for this connection with temp views named like the tables (SQLite resolves an
unqualified name to ``temp`` first). The paths are handed back, so a report can say in its
footer which uncommitted edits it left out. Hand edits no command has looked at since the
last commit are not known, and need not be: they never reached the index's rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from salesctl.git_trees import LOOKUP_MAX, listed_blob_ids, parse_batch
from salesctl.store import parsing
from salesctl.store.index_refresh import RefreshingIndex
from salesctl.store.index_schema import (
    COLUMNS,
    FIGURE_ROWS,
    FIGURE_TABLES,
)
from salesctl.store.layout import parse_path
from salesctl.store.sqlite_tx import immediate
from salesctl.store.watch import below

SHADOW = (
    "CREATE TEMP TABLE committed_rows AS SELECT * FROM main.records WHERE 0;"
    "CREATE TEMP TABLE shadowed(path TEXT PRIMARY KEY) WITHOUT ROWID;"
)
VIEWS = (
    "DROP VIEW IF EXISTS temp.valid_records;"
    "CREATE TEMP VIEW records AS SELECT * FROM main.records "
    "WHERE path NOT IN (SELECT path FROM temp.shadowed) "
    "UNION ALL SELECT * FROM temp.committed_rows;"
    "CREATE TEMP VIEW valid_records AS SELECT * FROM temp.records "
    "WHERE problems IS NULL AND data IS NOT NULL;"
)
VIEWS += "".join(
    f"CREATE TEMP VIEW {table} AS SELECT * FROM main.{table} "
    "WHERE path NOT IN (SELECT path FROM temp.shadowed) "
    f"UNION ALL {rows.format(rows='temp.committed_rows')};"
    for table, rows in FIGURE_ROWS.items()
)
UNSHADOW = (
    "".join(f"DROP VIEW IF EXISTS temp.{table};" for table in FIGURE_TABLES)
    + "DROP VIEW IF EXISTS temp.valid_records; DROP VIEW IF EXISTS temp.records;"
    "DROP TABLE IF EXISTS temp.committed_rows; DROP TABLE IF EXISTS temp.shadowed;"
    "CREATE TEMP VIEW valid_records AS SELECT * FROM main.records "
    "WHERE problems IS NULL AND data IS NOT NULL;"
)


@contextlib.contextmanager
def committed(index: RefreshingIndex, within: Iterable[str] = ()) -> Iterator[list[str]]:
    """Within the block, ``index`` answers as HEAD stands, for the records under ``within``
    (every record if empty). Yields the record files there whose work tree version (as the
    index knows it) is not HEAD's: the uncommitted edits left out."""
    within = tuple(w.strip("/") for w in within)
    index.committed_only = True
    shadowed = False
    try:
        index.refresh(kinds=())  # commits only: committed_only turns the look off
        head = index.repo.head()
        candidates = _candidates(index, within) if head else []
        settled: dict[str, tuple[Any, Any] | None] = {}
        edited = _differing(index, head, candidates, settled) if head else {}
        _settle(index.db, settled)
        if edited:
            _shadow(index.db, edited)
            shadowed = True
        yield sorted(edited)
    finally:
        if shadowed:
            index.db.executescript(UNSHADOW)
        index.committed_only = False


def _candidates(index: RefreshingIndex, within: tuple[str, ...]) -> list[str]:
    """The record files under ``within`` whose row may not be HEAD's."""
    db = index.db
    spans = [below(w) for w in within]
    paths: set[str] = set()
    for low, high in spans or [("", "\uffff")]:  # one range of the primary key each
        sql = "SELECT path FROM unsettled WHERE path > ? AND path < ?"
        paths.update(p for (p,) in db.execute(sql, (low, high)))
    extra = db.execute("SELECT value FROM meta WHERE key = 'extra'").fetchone()
    written = json.loads(extra[0]) if extra and extra[0] else []
    paths.update(p for p in written if not spans or any(lo < p < hi for lo, hi in spans))
    return sorted(p for p in paths if parse_path(p) is not None)


def _settle(db: sqlite3.Connection, rows: dict[str, tuple[Any, Any] | None]) -> None:
    """Rows a look found changed that are HEAD's after all (a file touched, or edited and
    edited back), and paths neither HEAD nor the index holds any more (a record moved on),
    are no longer candidates: each report would read their blobs again. They stay HEAD's
    until a commit changes them (which settles them anew) or a look finds them changed
    (which unsettles them): each leaves only if its row is still the one compared with
    HEAD's (``rows``: path -> data, problems; None: no row). Best effort: a busy database
    keeps them for next time."""
    if not rows:
        return
    rowed = [(path, path, *row) for path, row in rows.items() if row is not None]
    rowless = [(path, path) for path, row in rows.items() if row is None]
    with contextlib.suppress(sqlite3.OperationalError), immediate(db):
        db.executemany(
            "DELETE FROM unsettled WHERE path = ? AND EXISTS (SELECT 1 FROM main.records "
            "WHERE path = ? AND data IS ? AND problems IS ?)",
            rowed,
        )
        db.executemany(
            "DELETE FROM unsettled WHERE path = ? AND NOT EXISTS (SELECT 1 FROM "
            "main.records WHERE path = ?)",
            rowless,
        )


def _differing(
    index: RefreshingIndex,
    head: str,
    paths: list[str],
    same: dict[str, tuple[Any, Any] | None] | None = None,
) -> dict[str, tuple[Any, ...] | None]:
    """{path: HEAD's row (None: not in HEAD)} of ``paths`` whose indexed row is not HEAD's;
    the others' (data, problems) go into ``same`` (None: in neither)."""
    if not paths:
        return {}
    blobs = _blobs(index, head, paths)
    stored = {
        p: (d, pr)
        for p, d, pr in index.db.execute(
            "SELECT path, data, problems FROM records WHERE path IN "
            "(SELECT value FROM json_each(?))",
            [json.dumps(paths)],
        )
    }
    result: dict[str, tuple[Any, ...] | None] = {}
    for path in paths:
        loc = parse_path(path)
        raw = blobs.get(path)
        row = (
            None
            if raw is None or loc is None
            else parsing.row_of(loc, raw, "committed", keyed=False)  # figures need no keys
        )
        if (None if row is None else (row[8], row[9])) != stored.get(path):
            result[path] = row
        elif same is not None:
            same[path] = stored.get(path)
    return result


def _blobs(index: RefreshingIndex, head: str, paths: list[str]) -> dict[str, bytes]:
    """Contents of ``paths`` in ``head``, in one ``cat-file --batch`` (missing: left out);
    many paths' blob ids come from the trees along them (``git_trees.listed_blob_ids``)."""
    if len(paths) > LOOKUP_MAX:
        ids = listed_blob_ids(index.repo.run_bytes, head, paths)
        paths = [p for p in paths if p in ids]
        names = [ids[p] for p in paths]
    else:
        names = [f"{head}:{p}" for p in paths]
    out = index.repo.run_bytes(
        "cat-file", "--batch", input="".join(f"{n}\n" for n in names).encode()
    )
    found = parse_batch(out, names)
    return {path: found[name] for path, name in zip(paths, names, strict=True) if name in found}


def _shadow(db: sqlite3.Connection, rows: dict[str, tuple[Any, ...] | None]) -> None:
    db.executescript(SHADOW)
    db.executemany("INSERT INTO temp.shadowed VALUES (?)", [(p,) for p in sorted(rows)])
    marks = ",".join("?" * len(COLUMNS.split(",")))
    db.executemany(
        f"INSERT INTO temp.committed_rows({COLUMNS}) VALUES ({marks})",
        [row for row in rows.values() if row is not None],
    )
    db.executescript(VIEWS)
