"""The index database's shape: its tables, the lookups a build adds, and its connections.

One row of ``records`` per record file (where it lives, its fields as JSON, its problems,
the stat signature of the bytes parsed); ``dirs`` holds the signatures of the directories
the work tree check compares (``watch.py``); ``strays`` the files that are no record;
``meta`` the HEAD the index reflects and its version; ``dupkeys`` each lead's and
customer's duplicate keys (``index_dupkeys.py``). ``index_refresh.py`` writes them,
``index.py`` reads them.
"""

from __future__ import annotations

import sqlite3

INDEX_VERSION = "8"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records(
    path TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT,
    owner TEXT, team TEXT, pool INTEGER NOT NULL, sig TEXT NOT NULL,
    data TEXT, problems TEXT, shares TEXT, keys TEXT);
CREATE TABLE IF NOT EXISTS shares(
    source TEXT NOT NULL, member TEXT NOT NULL, how TEXT NOT NULL, target TEXT NOT NULL,
    while_owner TEXT, anchor TEXT);
CREATE TABLE IF NOT EXISTS strays(path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dirs(
    path TEXT PRIMARY KEY, parent TEXT, kind TEXT, role TEXT, sig TEXT NOT NULL) WITHOUT ROWID;
"""

# Created after a build's bulk insert (cheaper than maintaining them row by row). The
# expression indexes match, character for character, the JSON expressions that
# reports/facts.py filters on, so SQLite range-scans them instead of parsing every row.
LOOKUPS = """
CREATE UNIQUE INDEX IF NOT EXISTS records_path ON records(path);
CREATE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_kind_owner ON records(kind, owner);
CREATE INDEX IF NOT EXISTS records_kind_team ON records(kind, team);
CREATE INDEX IF NOT EXISTS records_parent ON records(parent, kind);
CREATE INDEX IF NOT EXISTS records_created ON records(kind, json_extract(data, '$.created'));
CREATE INDEX IF NOT EXISTS records_stage ON records(kind, json_extract(data, '$.stage'));
CREATE INDEX IF NOT EXISTS records_stage_day ON records(kind, json_extract(data, '$.stage'),
    json_extract(data, '$.stages.' || json_extract(data, '$.stage')));
CREATE INDEX IF NOT EXISTS records_kind_path ON records(kind, path, sig);
CREATE INDEX IF NOT EXISTS records_at_day
    ON records(kind, substr(json_extract(data, '$.at'), 1, 10));
CREATE INDEX IF NOT EXISTS records_signed ON records(kind, json_extract(data, '$.signed'));
CREATE INDEX IF NOT EXISTS records_date ON records(kind, json_extract(data, '$.date'));
CREATE INDEX IF NOT EXISTS dirs_parent ON dirs(parent);
CREATE INDEX IF NOT EXISTS dirs_kind ON dirs(kind, path, role, sig);
"""

# What each record shares with whom (scopes.shares_of, computed when the file is parsed and
# kept as JSON in ``records.shares``), one row per share so a member's are one lookup.
# Filled in bulk after a build, then kept in step by triggers; an INSERT OR REPLACE does not
# fire the delete trigger, so the insert trigger clears the replaced row's shares first.
_FIELDS = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(5))  # scopes.Share's
SHARES = f"""
INSERT INTO shares SELECT r.path, {_FIELDS.replace("value", "s.value")}
    FROM records r, json_each(r.shares) s
    WHERE r.shares IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shares);
CREATE INDEX IF NOT EXISTS shares_member ON shares(member);
CREATE INDEX IF NOT EXISTS shares_source ON shares(source);
CREATE TRIGGER IF NOT EXISTS records_shares_insert AFTER INSERT ON records BEGIN
    DELETE FROM shares WHERE source = new.path;
    INSERT INTO shares SELECT new.path, {_FIELDS} FROM json_each(new.shares)
        WHERE new.shares IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS records_shares_delete AFTER DELETE ON records BEGIN
    DELETE FROM shares WHERE source = old.path;
END;
"""

# A counter of changes to ``records`` (any row inserted, replaced, updated or deleted), so a
# reader that derived something from every row (``check``'s cache) can tell that nothing
# changed since, without comparing every row. Added after a build's bulk insert. The
# partial index finds the rows whose signature does not pin their content (files read
# within the file system's timestamp tick, unreadable files) without a scan.
CHANGES = """
INSERT OR IGNORE INTO meta VALUES ('changes', '0');
CREATE TRIGGER IF NOT EXISTS records_changes_insert AFTER INSERT ON records BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes';
END;
CREATE TRIGGER IF NOT EXISTS records_changes_update AFTER UPDATE ON records BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes';
END;
CREATE TRIGGER IF NOT EXISTS records_changes_delete AFTER DELETE ON records BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes';
END;
CREATE INDEX IF NOT EXISTS records_unsure ON records(path)
    WHERE data IS NULL OR sig LIKE 'racy:%';
"""

COLUMNS = "path, id, kind, parent, owner, team, pool, sig, data, problems, shares, keys"
INSERT = f"INSERT OR REPLACE INTO records({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
INSERT_DIR = "INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?)"


# -- duplicate keys (model/dupkeys.py; kept by index_dupkeys.py) ------------------------------
# dupkeys(key, path): so the duplicate guard is a lookup, not a scan of every lead. The keys
# are made where the file is parsed (parsing.row_for, in the build's worker processes) and
# kept as JSON in ``records.keys``, like shares; a build fills the table from that column in
# bulk, then adds the lookups and the triggers that keep it in step however a row is
# inserted, replaced or deleted. Only a change of the org's region makes keys in SQL
# (DUPKEYS_REKEY, through ``index_dupkeys.register``'s function).
DUPKEYS_TABLE = "CREATE TABLE IF NOT EXISTS dupkeys(key TEXT NOT NULL, path TEXT NOT NULL);"
DUPKEYS_FILL = (
    "INSERT INTO dupkeys SELECT k.value, r.path FROM records r, json_each(r.keys) k "
    "WHERE r.keys IS NOT NULL AND r.kind IN ('lead', 'customer')"
)
DUPKEYS_REKEY = (
    "UPDATE records SET keys = salesctl_dupkeys(kind, data) WHERE kind IN ('lead', 'customer')"
)
DUPKEYS_LOOKUPS = """
CREATE INDEX IF NOT EXISTS dupkeys_key ON dupkeys(key);
CREATE INDEX IF NOT EXISTS dupkeys_path ON dupkeys(path);
CREATE TRIGGER IF NOT EXISTS dupkeys_written AFTER INSERT ON records
WHEN new.kind IN ('lead', 'customer') BEGIN
    DELETE FROM dupkeys WHERE path = new.path;
    INSERT INTO dupkeys SELECT value, new.path FROM json_each(new.keys)
        WHERE new.keys IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS dupkeys_removed AFTER DELETE ON records
WHEN old.kind IN ('lead', 'customer') BEGIN
    DELETE FROM dupkeys WHERE path = old.path;
END;
"""


def connect(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(target, timeout=60, isolation_level=None)
    # A rollback journal, not WAL: a rebuild replaces the file, and a WAL connection that
    # outlives its file would delete the new database's -wal on close. No-op refreshes write
    # nothing, so readers rarely wait.
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA synchronous=NORMAL")
    # What figures are computed from (reports/facts.py): records that parsed without a
    # problem. A view of this connection only, so it needs no schema change; SQLite folds
    # it into each query, which keeps using the lookups above.
    db.execute(
        "CREATE TEMP VIEW IF NOT EXISTS valid_records AS SELECT * FROM main.records "
        "WHERE problems IS NULL AND data IS NOT NULL"
    )
    return db
