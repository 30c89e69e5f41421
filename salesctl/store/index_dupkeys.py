"""The index's ``dupkeys`` table: every lead's and customer's duplicate keys
(``model/dupkeys.py``), so ``lead add`` and the other guarded commands find a duplicate with
one indexed lookup however big the store is.

The keys are made when a file is parsed (``parsing.row_for``, in the build's workers) and
kept in ``records.keys``; the table is filled from that column. The keys of a phone depend
on the org's ``region:``. The region the stored keys were made with is kept in ``meta``
(``dupkeys_region``); when the config says another, the keys are made again, in SQL, before
anything is looked up (``current``), so a stale key is never served.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from salesctl.model.dupkeys import record_keys
from salesctl.store.index_schema import (
    DUPKEYS_FILL,
    DUPKEYS_LOOKUPS,
    DUPKEYS_REKEY,
    DUPKEYS_TABLE,
)
from salesctl.store.sqlite_tx import immediate

SQL_VARS = 900
REGION_KEY = "dupkeys_region"


def keys_json(
    kind: str, data: dict[str, Any] | None, region: str, made: list[str] | None = None
) -> str | None:
    """``records.keys`` of a record's fields: its keys as JSON, None for none. ``made``:
    the keys, if the command made them already with ``region`` (an import's guard)."""
    if made is not None:
        found = made
    elif not data or kind not in ("lead", "customer"):
        return None
    else:
        try:
            found = record_keys(kind, data, region)
        except Exception:  # a broken file must never stop a refresh: it just has no keys
            found = []
    return json.dumps(found, ensure_ascii=False) if found else None


def register(db: sqlite3.Connection, region_of: Callable[[], str]) -> sqlite3.Connection:
    """Give ``db`` the ``salesctl_dupkeys(kind, data)`` function that makes the keys again
    from the stored fields when the region changes (``current``)."""

    def keys(kind: str, data: str | None) -> str | None:
        try:
            fields = json.loads(data) if data else None
        except ValueError:
            return None
        return keys_json(kind, fields if isinstance(fields, dict) else None, region_of())

    db.create_function("salesctl_dupkeys", 2, keys)
    return db


def install(db: sqlite3.Connection, region: str, *, filled: bool = False) -> None:
    """Create and fill the table from ``records.keys`` (a build: in bulk, lookups after).
    ``region``: the one the rows' keys were made with; ``filled``: the build filled it
    already, batch by batch (``index_build.fill``)."""
    db.execute("BEGIN")
    db.execute(DUPKEYS_TABLE)
    if not filled:
        db.execute("DELETE FROM dupkeys")
        db.execute(DUPKEYS_FILL)
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (REGION_KEY, region))
    db.execute("COMMIT")
    db.executescript(DUPKEYS_LOOKUPS)


def current(db: sqlite3.Connection, region: str) -> None:
    """Make the keys again if they were made for another region than ``region``."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (REGION_KEY,)).fetchone()
    if row is not None and row[0] == region:
        return
    with immediate(db):
        db.execute(DUPKEYS_REKEY)
        db.execute("DELETE FROM dupkeys")
        db.execute(DUPKEYS_FILL)
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (REGION_KEY, region))


def holders(db: sqlite3.Connection, keys: Iterable[str]) -> list[tuple[Any, ...]]:
    """(key, id, kind, path, owner, team, pool, stage) of each record holding one of ``keys``."""
    keys = list(dict.fromkeys(keys))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), SQL_VARS):
        batch = keys[start : start + SQL_VARS]
        marks = ",".join("?" * len(batch))
        found += db.execute(
            "SELECT k.key, r.id, r.kind, r.path, r.owner, r.team, r.pool, "
            "json_extract(r.data, '$.stage') FROM dupkeys k JOIN records r ON r.path = k.path "
            f"WHERE k.key IN ({marks}) ORDER BY r.id",
            batch,
        )
    return found


def all_keys(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """(key, id, kind, path, owner, team, pool, stage, name) of every key, for ``dupes``."""
    return list(
        db.execute(
            "SELECT k.key, r.id, r.kind, r.path, r.owner, r.team, r.pool, "
            "json_extract(r.data, '$.stage'), "
            "json_extract(r.data, CASE r.kind WHEN 'lead' THEN '$.company' ELSE '$.name' END) "
            "FROM dupkeys k JOIN records r ON r.path = k.path ORDER BY r.id"
        )
    )
