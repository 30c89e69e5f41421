"""Storing many new records at once: an import's commit, stored from the fields it wrote.

The insert triggers of ``records`` keep the side tables (``shares``, the figures' tables,
``dupkeys``) and the change counter in step one row at a time: for 10,000 leads they were
0.9 s of the 1.1 s insert. When none of the rows' paths is stored yet, those triggers are
set aside inside the transaction and each side table is filled by one statement over the
new rows, as a build fills them, then the triggers are put back as they were (DDL is
transactional in SQLite: a rollback, or a kill, restores them; other connections see the
schema only once the transaction commits, unchanged). Anything else (a replaced row, an
index without exactly these triggers) goes through the triggers as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from salesctl.store.index_schema import (
    DUPKEY_ROWS,
    FIGURE_ROWS,
    INSERT,
    SHARE_ROWS,
)

BULK_MIN = 200  # fewer rows: the triggers cost less than setting them aside
# The insert triggers this module stands in for, and the side tables they keep.
TRIGGERS = ("records_shares_insert", "figures_written", "dupkeys_written", "records_changes_insert")
SIDE_PATHS = {"shares": "source", **dict.fromkeys(FIGURE_ROWS, "path"), "dupkeys": "path"}
_NEW = "(SELECT r.* FROM temp.bulk_paths b JOIN main.records r ON r.path = b.path)"
FILLS = tuple(  # what a build fills each side table with, over the new rows only
    f"INSERT INTO {table} {rows.format(rows=_NEW)}"
    for table, rows in {"shares": SHARE_ROWS, **FIGURE_ROWS, "dupkeys": DUPKEY_ROWS}.items()
)


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
    if stored is not None or len(found) != len(TRIGGERS):
        db.executemany(INSERT, rows)
        return
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER main.{name}")
    db.executemany(INSERT, rows)
    for table, column in SIDE_PATHS.items():  # as each trigger clears before it adds
        db.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT path FROM temp.bulk_paths)")
    for fill in FILLS:
        db.execute(fill)
    db.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'changes'", (len(rows),)
    )
    for name in TRIGGERS:
        db.execute(found[name])
    db.execute("DELETE FROM temp.bulk_paths")
