"""A write transaction on salesctl's SQLite files (the index, the history cache)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE``: SQLite's write lock taken at once, so two commands queue instead
    of both reading and then one failing to write; committed when the block ends (a block
    that wrote nothing commits nothing), rolled back on any exception (SQLite ends the
    transaction itself on some errors)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        if db.in_transaction:
            db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
