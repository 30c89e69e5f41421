"""The index database's shape: its tables, the lookups a build adds, and its connections.

One row of ``records`` per record file (where it lives, its fields as JSON, its problems,
the stat signature of the bytes parsed); ``dirs`` holds the signatures of the directories
the work tree check compares (``watch.py``); ``strays`` the files that are no record;
``meta`` the HEAD the index reflects and its version; ``unsettled`` the record files
whose row came from a look at the work tree rather than a commit (``index_committed.py``
reads those as committed); ``dupkeys`` each lead's and
customer's duplicate keys (``index_dupkeys.py``). ``index_refresh.py`` writes them,
``index.py`` reads them.
"""

from __future__ import annotations

import sqlite3

from salesctl.model.kinds import DEFAULT_TERMS_DAYS

INDEX_VERSION = "18"

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
CREATE TABLE IF NOT EXISTS unsettled(path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirs(
    path TEXT PRIMARY KEY, parent TEXT, kind TEXT, role TEXT, sig TEXT NOT NULL) WITHOUT ROWID;
"""

# Created after a build's bulk insert (cheaper than maintaining them row by row), but for
# the two that lead with the path: a build stores rows in path order, so those only ever
# append, and it creates them first. The expression indexes match, character for
# character, the JSON expressions that reports/facts.py filters on, so SQLite range-scans
# them instead of parsing every row.
PATH_LOOKUPS = """
CREATE UNIQUE INDEX IF NOT EXISTS records_path ON records(path);
CREATE INDEX IF NOT EXISTS records_kind_path ON records(kind, path, sig);
"""
LOOKUPS = f"""{PATH_LOOKUPS}
CREATE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_kind_owner ON records(kind, owner);
CREATE INDEX IF NOT EXISTS records_kind_team ON records(kind, team);
CREATE INDEX IF NOT EXISTS records_parent ON records(parent, kind);
-- partial and with the owner: new leads per owner and period read the lookup alone
CREATE INDEX IF NOT EXISTS records_created ON records(kind, json_extract(data, '$.created'), owner)
    WHERE problems IS NULL AND data IS NOT NULL;
-- (kind, stage) queries use this one's first two columns: no lookup of its own
CREATE INDEX IF NOT EXISTS records_stage_day ON records(kind, json_extract(data, '$.stage'),
    json_extract(data, '$.stages.' || json_extract(data, '$.stage')));
CREATE INDEX IF NOT EXISTS records_date ON records(kind, json_extract(data, '$.date'));
CREATE INDEX IF NOT EXISTS records_broken ON records(kind, path)
    WHERE problems IS NOT NULL OR data IS NULL;
"""
# (a build adds these after storing the directories, which it lists alongside the lookups)
DIR_LOOKUPS = """
CREATE INDEX IF NOT EXISTS dirs_parent ON dirs(parent);
CREATE INDEX IF NOT EXISTS dirs_kind ON dirs(kind, path, role, sig);
"""

# What each record shares with whom (scopes.shares_of, computed when the file is parsed and
# kept as JSON in ``records.shares``), one row per share so a member's are one lookup.
# Filled by a build batch by batch as it stores the rows (index_build.py; the INSERT below
# fills an in-memory index), then kept in step by triggers; an INSERT OR REPLACE does not
# fire the delete trigger, so the insert trigger clears the replaced row's shares first.
_FIELDS = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(5))  # scopes.Share's
# The shares of the records in {rows} (a table, or a subquery of records' rows).
SHARE_ROWS = (
    f"SELECT r.path, {_FIELDS.replace('value', 's.value')} "
    "FROM {rows} AS r, json_each(r.shares) s WHERE r.shares IS NOT NULL"
)
SHARES = f"""
INSERT INTO shares {SHARE_ROWS.format(rows="records")}
    AND NOT EXISTS (SELECT 1 FROM shares);
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

# -- what figures group on (reports/facts.py) ----------------------------------------------
# SQLite can filter through an expression index on the JSON, but grouping on a JSON value
# means parsing every row in range. So the values the figures group by live in side tables
# of valid records (no problems), kept by triggers like ``shares``: follow-ups and visits by
# author and day, and every stage entry of a lead or deal (one row per ``stages`` key, in
# the file's order; ``current``: the record is in that stage now; and before those, with
# ``current`` NULL and a negative ``seq``, each of its ``earlier_stages``, which a move back
# or a reopening took off its path), and each deal's stage and amount (``deal_figures``).
# Each is defined once as a SELECT over a table of records, so the committed view
# (index_committed.py) derives the same rows from HEAD's blobs.
ACTIVITY_ROWS = (
    "SELECT r.path, r.kind, json_extract(r.data, '$.author'), "
    "substr(json_extract(r.data, '$.at'), 1, 10), json_extract(r.data, '$.status') "
    "FROM {rows} AS r WHERE r.kind IN ('followup', 'visit') "
    "AND r.problems IS NULL AND r.data IS NOT NULL"
)


def cents(expr: str) -> str:
    """SQL for an amount as integer cents, exactly. Amounts have at most two decimals and
    are below 10**13 (``values.coerce_amount``), so there are fewer than 2**53 cents and
    the double the index's JSON holds, times 100, is within a quarter cent of their number:
    rounding gives the cents the file says. SQLite sums integers exactly (a sum beyond
    2**63 cents is an error, never a wrong total), where summing the doubles would not be.
    """
    return f"CAST(round({expr} * 100) AS INTEGER)"


def _cents_if_number(expr: str) -> str:
    """``cents``, or NULL for a value that is not a plain number."""
    return f"CASE WHEN typeof({expr}) IN ('integer', 'real') THEN {cents(expr)} END"


AMOUNT_CENTS = cents("json_extract(r.data, '$.amount')")
STAGE_ROWS = (
    "SELECT r.path, r.kind, r.id, r.owner, s.id, s.key, s.value, "
    "s.key = json_extract(r.data, '$.stage') "
    "FROM {rows} AS r, json_each(r.data, '$.stages') AS s WHERE r.kind IN ('lead', 'deal') "
    "AND r.problems IS NULL AND r.data IS NOT NULL "
    # earlier entries (``earlier_stages``): before its path's, ``current`` NULL
    "UNION ALL SELECT r.path, r.kind, r.id, r.owner, "
    "e.key - json_array_length(r.data, '$.earlier_stages'), "
    "json_extract(e.value, '$.stage'), json_extract(e.value, '$.date'), NULL "
    "FROM {rows} AS r, json_each(r.data, '$.earlier_stages') AS e "
    "WHERE r.kind IN ('lead', 'deal') "
    "AND r.problems IS NULL AND r.data IS NOT NULL"
)
# a valid deal's stage and amount in cents, with the columns the
# read scope's SQL names (path, owner, team, pool): the funnel without reading its JSON
DEAL_ROWS = (
    "SELECT r.path, r.owner, r.team, r.pool, json_extract(r.data, '$.stage'), "
    f"{AMOUNT_CENTS} "
    "FROM {rows} AS r WHERE r.kind = 'deal' AND r.problems IS NULL AND r.data IS NOT NULL"
)
# each instalment of a valid contract: its plan's rows, or (no plan) the one instalment due
# DEFAULT_TERMS_DAYS after signing; NULL for an amount or a day that is not a plain number
# or text (the figures take the exact way)
INSTALMENT_ROWS = (
    "SELECT r.path, p.key, CASE WHEN typeof(json_extract(p.value, '$.due')) = 'text' "
    "THEN json_extract(p.value, '$.due') END, "
    + _cents_if_number("json_extract(p.value, '$.amount')")
    + " FROM {rows} AS r, json_each(r.data, '$.plan') AS p WHERE r.kind = 'contract' "
    "AND r.problems IS NULL AND r.data IS NOT NULL "
    "UNION ALL SELECT r.path, 0, "
    f"date(json_extract(r.data, '$.signed'), '+{DEFAULT_TERMS_DAYS} days'), "
    + _cents_if_number("json_extract(r.data, '$.amount')")
    + " FROM {rows} AS r WHERE r.kind = 'contract' AND r.problems IS NULL "
    "AND r.data IS NOT NULL AND coalesce(json_array_length(r.data, '$.plan'), 0) = 0"
)
# a valid contract's terms and amount in cents, with the columns the read scope's SQL names
# (path, owner, team, pool), and a valid payment's contract, day and cents: what receivables
# and the contracts signed filter and sum
CONTRACT_ROWS = (
    "SELECT r.path, r.id, r.owner, r.team, r.pool, json_extract(r.data, '$.customer'), "
    "json_extract(r.data, '$.title'), json_extract(r.data, '$.signed'), "
    "coalesce(json_extract(r.data, '$.status'), ''), "
    "coalesce(json_extract(r.data, '$.cancelled'), ''), "
    f"{AMOUNT_CENTS} "
    "FROM {rows} AS r WHERE r.kind = 'contract' AND r.problems IS NULL AND r.data IS NOT NULL"
)
PAYMENT_ROWS = (
    "SELECT r.path, r.parent, json_extract(r.data, '$.date'), "
    f"{AMOUNT_CENTS} "
    "FROM {rows} AS r WHERE r.kind = 'payment' AND r.problems IS NULL AND r.data IS NOT NULL"
)
_NEW = (
    "(SELECT new.path AS path, new.kind AS kind, new.id AS id, new.parent AS parent, "
    "new.owner AS owner, "
    "new.team AS team, new.pool AS pool, new.data AS data, new.problems AS problems)"
)
FIGURE_ROWS = {  # each figures' table and the rows it holds
    "activities": ACTIVITY_ROWS,
    "stage_entries": STAGE_ROWS,
    "deal_figures": DEAL_ROWS,
    "instalments": INSTALMENT_ROWS,
    "contract_terms": CONTRACT_ROWS,
    "payment_figures": PAYMENT_ROWS,
}
FIGURE_TABLES = tuple(FIGURE_ROWS)
# day and the others untyped: values compare as the JSON held them, as the old queries did
# (the tables alone: a build creates them first and fills them while it stores the rows)
FIGURE_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS activities(path TEXT NOT NULL, kind TEXT NOT NULL, author, day, status);
CREATE TABLE IF NOT EXISTS stage_entries(
    path TEXT NOT NULL, kind TEXT NOT NULL, id, owner, seq, stage, day, current);
CREATE TABLE IF NOT EXISTS deal_figures(path TEXT NOT NULL, owner, team, pool, stage, cents);
CREATE TABLE IF NOT EXISTS instalments(path TEXT NOT NULL, seq, due, cents);
CREATE TABLE IF NOT EXISTS contract_terms(
    path TEXT NOT NULL, id, owner, team, pool, customer, title, signed, status, cancelled, cents);
CREATE TABLE IF NOT EXISTS payment_figures(path TEXT NOT NULL, parent, day, cents);
"""
FIGURES = f"""{FIGURE_TABLES_SQL}
INSERT INTO activities {ACTIVITY_ROWS.format(rows="records")}
    AND NOT EXISTS (SELECT 1 FROM activities);
INSERT INTO stage_entries SELECT * FROM ({STAGE_ROWS.format(rows="records")})
    WHERE NOT EXISTS (SELECT 1 FROM stage_entries);
INSERT INTO deal_figures {DEAL_ROWS.format(rows="records")}
    AND NOT EXISTS (SELECT 1 FROM deal_figures);
INSERT INTO instalments SELECT * FROM ({INSTALMENT_ROWS.format(rows="records")})
    WHERE NOT EXISTS (SELECT 1 FROM instalments);
CREATE INDEX IF NOT EXISTS instalments_path ON instalments(path, due, cents);
INSERT INTO contract_terms {CONTRACT_ROWS.format(rows="records")}
    AND NOT EXISTS (SELECT 1 FROM contract_terms);
INSERT INTO payment_figures {PAYMENT_ROWS.format(rows="records")}
    AND NOT EXISTS (SELECT 1 FROM payment_figures);
CREATE INDEX IF NOT EXISTS contract_terms_path ON contract_terms(path);
CREATE INDEX IF NOT EXISTS contract_terms_signed ON contract_terms(signed);
CREATE INDEX IF NOT EXISTS payment_figures_path ON payment_figures(path);
CREATE INDEX IF NOT EXISTS payment_figures_parent ON payment_figures(parent, day, cents);
CREATE INDEX IF NOT EXISTS deal_figures_path ON deal_figures(path);
CREATE INDEX IF NOT EXISTS activities_day ON activities(kind, day, author, status);
CREATE INDEX IF NOT EXISTS activities_path ON activities(path);
CREATE INDEX IF NOT EXISTS stage_entries_day
    ON stage_entries(kind, day, owner, stage, current, id, seq);
CREATE INDEX IF NOT EXISTS stage_entries_path ON stage_entries(path, day, seq, stage);
CREATE TRIGGER IF NOT EXISTS figures_written AFTER INSERT ON records
WHEN new.kind IN ('followup', 'visit', 'lead', 'deal', 'contract', 'payment') BEGIN
    DELETE FROM activities WHERE path = new.path;
    DELETE FROM stage_entries WHERE path = new.path;
    INSERT INTO activities {ACTIVITY_ROWS.format(rows=_NEW)};
    INSERT INTO stage_entries {STAGE_ROWS.format(rows=_NEW)};
    DELETE FROM deal_figures WHERE path = new.path;
    INSERT INTO deal_figures {DEAL_ROWS.format(rows=_NEW)};
    DELETE FROM instalments WHERE path = new.path;
    INSERT INTO instalments {INSTALMENT_ROWS.format(rows=_NEW)};
    DELETE FROM contract_terms WHERE path = new.path;
    INSERT INTO contract_terms {CONTRACT_ROWS.format(rows=_NEW)};
    DELETE FROM payment_figures WHERE path = new.path;
    INSERT INTO payment_figures {PAYMENT_ROWS.format(rows=_NEW)};
END;
CREATE TRIGGER IF NOT EXISTS figures_removed AFTER DELETE ON records
WHEN old.kind IN ('followup', 'visit', 'lead', 'deal', 'contract', 'payment') BEGIN
    DELETE FROM activities WHERE path = old.path;
    DELETE FROM stage_entries WHERE path = old.path;
    DELETE FROM deal_figures WHERE path = old.path;
    DELETE FROM instalments WHERE path = old.path;
    DELETE FROM contract_terms WHERE path = old.path;
    DELETE FROM payment_figures WHERE path = old.path;
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
# The duplicate keys of the leads and customers in {rows}.
DUPKEY_ROWS = (
    "SELECT k.value, r.path FROM {rows} AS r, json_each(r.keys) k "
    "WHERE r.keys IS NOT NULL AND r.kind IN ('lead', 'customer')"
)
DUPKEYS_FILL = f"INSERT INTO dupkeys {DUPKEY_ROWS.format(rows='records')}"
# (a sealed record this member cannot decrypt keeps the keyed keys of its manifest)
DUPKEYS_REKEY = (
    "UPDATE records SET keys = salesctl_dupkeys(kind, data) "
    "WHERE kind IN ('lead', 'customer') AND data IS NOT NULL"
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
    # A rollback journal, not WAL: a damaged file is replaced, and a WAL connection that
    # outlives its file would delete the new database's -wal on close (a healthy one is
    # rebuilt in place: index_build._install). No-op refreshes write nothing, so readers
    # rarely wait.
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
