"""Storing many new records at once: an import's commit, stored from the fields it wrote.

The insert triggers of ``records`` keep the side tables (``shares``, the figures' tables,
``dupkeys``) and the change counter in step one row at a time: for 10,000 leads they were
0.9 s of the 1.1 s insert. When none of the rows' paths is stored yet, those triggers are
set aside inside the transaction and each side table their kinds have rows in is filled
by one statement over the new rows, as a build fills them, then the triggers are put back
as they were (DDL is transactional in SQLite: a rollback, or a kill, restores them; other
connections see the schema only once the transaction commits, unchanged). Anything else
(a replaced row, an index without exactly these triggers) goes through the triggers as
before. ``store_committed``: the rows of such a commit, stored if the index stood at its
parent.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from salesctl.store import parsing
from salesctl.store.index_schema import (
    DUPKEY_ROWS,
    FIGURE_ROWS,
    INSERT,
    SHARE_ROWS,
)
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.sqlite_tx import immediate

if TYPE_CHECKING:
    from salesctl.store.index_refresh import RefreshingIndex

# A record file a commit wrote: where, its fields as they load back (None: read the file),
# its duplicate keys if the command made them (``Transaction.fields``)
Written = tuple[RecordPath, dict[str, Any] | None, list[str] | None]
BULK_MIN = 200  # fewer rows: the triggers cost less than setting them aside
# The insert triggers this module stands in for, and the side tables they keep.
TRIGGERS = ("records_shares_insert", "figures_written", "dupkeys_written", "records_changes_insert")
SIDE_PATHS = {"shares": "source", **dict.fromkeys(FIGURE_ROWS, "path"), "dupkeys": "path"}
# The new rows: SQLite gives each row inserted without a rowid the largest one + 1 (all
# ours: the transaction holds the write lock), so a range of rowids finds them without a
# join of every new path with ``records`` for each fill. ``NOT INDEXED``: given the fills'
# ``kind = …`` SQLite chose the kind's lookup instead, reading every record of the kind for
# each fill (a cold build's batches: 31.5 -> 46.5 s at 100,000 leads; an import of leads:
# every lead twice).
_NEW = "(SELECT * FROM main.records NOT INDEXED WHERE rowid > :first)"
LAST_ROWID = 2**63 - 1  # beyond it SQLite picks rowids at random: no range
SIDE_ROWS = {"shares": SHARE_ROWS, **FIGURE_ROWS, "dupkeys": DUPKEY_ROWS}
FILLS = {  # each side table's rows of the new rows only (a build's batches, an import)
    table: f"INSERT INTO {table} {rows.format(rows=_NEW)}" for table, rows in SIDE_ROWS.items()
}
KIND, SHARES, KEYS = 2, 10, 11  # columns of a row (index_schema.COLUMNS)


def _kinds(rows_sql: str) -> frozenset[str] | None:
    """The kinds whose records a side table takes rows of (its SELECT names them), or None
    if it names none (``shares``: any record with shares)."""
    found = re.findall(r"r\.kind (?:= '(\w+)'|IN \(([^)]*)\))", rows_sql)
    names = {n for one, many in found for n in (one, *re.findall(r"'(\w+)'", many)) if n}
    return frozenset(names) or None


FILL_KINDS = {table: _kinds(rows) for table, rows in SIDE_ROWS.items()}


def fills_for(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """The fills that can add a row for these records: an import of leads skips the
    activities, deals', contracts' and payments' tables (each fill reads every new row)."""
    kinds = {row[KIND] for row in rows}
    wanted = []
    for table, fill in FILLS.items():
        of_kinds = FILL_KINDS[table]
        if of_kinds is not None and not kinds & of_kinds:
            continue
        if table == "shares" and all(row[SHARES] is None for row in rows):
            continue
        if table == "dupkeys" and all(row[KEYS] is None for row in rows):
            continue
        wanted.append(fill)
    return wanted


def insert_rows(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """``INSERT OR REPLACE`` the record ``rows``, with what the triggers would add; call
    inside a transaction."""
    if len(rows) < BULK_MIN:
        db.executemany(INSERT, rows)
        return
    found = dict(
        db.execute(
            "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'records' AND name IN (?, ?, ?, ?)",
            TRIGGERS,
        )
    )
    db.execute("CREATE TEMP TABLE IF NOT EXISTS bulk_paths(path TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("DELETE FROM temp.bulk_paths")
    db.executemany("INSERT OR IGNORE INTO temp.bulk_paths VALUES (?)", [(r[0],) for r in rows])
    stored = db.execute(
        "SELECT 1 FROM temp.bulk_paths b JOIN main.records r ON r.path = b.path LIMIT 1"
    ).fetchone()
    (first,) = db.execute("SELECT coalesce(max(rowid), 0) FROM main.records").fetchone()
    if stored is not None or len(found) != len(TRIGGERS) or first > LAST_ROWID - len(rows):
        db.executemany(INSERT, rows)
        return
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER main.{name}")
    db.executemany(INSERT, rows)
    for table, column in SIDE_PATHS.items():  # as each trigger clears before it adds
        db.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT path FROM temp.bulk_paths)")
    for fill in fills_for(rows):
        db.execute(fill, {"first": first})
    db.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'changes'", (len(rows),)
    )
    for name in TRIGGERS:
        db.execute(found[name])
    db.execute("DELETE FROM temp.bulk_paths")


def rows_written(
    root: str,
    region: str,
    paths: Sequence[str],
    fields: Mapping[str, Written],
) -> tuple[list[parsing.Row], list[str]] | None:
    """(rows of the record files a commit wrote from plain ``fields``, record files it
    deleted), or None if some record file can only be known by reading it."""
    rows: list[parsing.Row] = []
    gone: list[str] = []
    for path in paths:
        loc, data, keys = fields.get(path, (None, None, None))
        if loc is None and parse_path(path) is None:
            continue  # not a record file (an attachment): the index holds none
        try:
            st = os.lstat(f"{root}/{path}")
        except FileNotFoundError:
            if loc is not None:
                return None
            gone.append(path)
            continue
        except OSError:
            return None
        if data is None or loc is None or not stat.S_ISREG(st.st_mode):
            return None
        sig = parsing.signature(st, time.time_ns())
        rows.append(parsing.row_of_written(loc, data, sig, region, checked=True, keys=keys))
    return rows, gone


def store_committed(
    index: RefreshingIndex,
    commit: str,
    paths: list[str],
    fields: Mapping[str, Written],
) -> bool:
    """Store the rows of ``commit``'s record files from their ``fields`` (and drop the
    rows of its deleted ones), if the index reflects its parent (this command refreshed
    it). False, nothing done, if it does not, or if any record file of the commit was
    written as bytes or with fields not of the plain shapes: the next command reads the
    commit as any other."""
    if index._db is None or not index.repo.owns_root:
        return False  # not opened by this command: the next one reads the commit
    rows = rows_written(str(index.root), index.keys_region(), paths, fields)
    if rows is None:
        return False
    written, gone = rows
    parent = index.repo.run("rev-parse", "-q", "--verify", f"{commit}^", check=False).strip()
    db = index.db
    db.execute("PRAGMA cache_size=-32768")  # 32 MB: thousands of rows into 13 lookups
    with immediate(db):
        if not parent or index._read_meta()["head"] != parent:
            return False  # (nothing written: the empty transaction ends)
        insert_rows(db, written)
        db.executemany("DELETE FROM records WHERE path = ?", [(p,) for p in gone])
        index._meta_set(db)("head", commit)
    index._caught_up = True  # at the new commit; what this command looked at stays looked at
    index._head = commit
    return True
