"""Whole-store validation: the config, every record's schema and rules, references between
records, duplicate ids (after a merge), and each record's path against its owner.

Returns problems as data; ``salesctl check`` prints them all and exits 1 if there are any.
Warnings (members over the claim cap, which an assignment may exceed on purpose) are
printed too, but do not fail the check.

It reads the index, never the whole tree. What a record file decides alone (its parse and
schema problems, its owner directory, the config's rules, a child's link to its directory,
the ids it names) is kept per file in the index database's ``check_cache`` table, keyed by
the file's stat signature and the config, so only files changed since the last check are
validated again; when the index's ``changes`` counter says no record row changed at all,
not even that comparison is made (a warm check validates only files read too recently for
their signature to pin their content). Everything between records (duplicate ids, dangling
references, money totals, dates against the signing: ``check_between``) and the stray files
the index's walk found are SQL queries.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesctl import __version__, sealing, yamlio
from salesctl.errors import SalesctlError
from salesctl.model.config import Config, with_lines
from salesctl.model.kinds import KINDS
from salesctl.model.problems import Problem
from salesctl.model.rules import record_problems
from salesctl.ops.collab import check_between as between
from salesctl.ops.collab.gitread import GitReader, refused_mode
from salesctl.ops.collab.limits import EXECUTABLE
from salesctl.ops.collab.orphans import orphan_problems
from salesctl.store.index import Index
from salesctl.store.layout import RECORD_ROOTS, Owner, RecordPath, is_toolkit_file, parse_path
from salesctl.store.store import CONFIG_FILE, Store
from salesctl.store.validation import link_problems, owner_problems
from salesctl.store.watch import NOT_A_RECORD as INDEX_NOT_A_RECORD
from salesctl.store.watch import SYMLINK
from salesctl.yamlio import YamlError

NON_RECORD_FILES = re.compile(r"(^|/)(attachments|reports)/")
NOT_A_RECORD_PLACE = "is not where a record can live (see docs/data-format.md)"
CACHE_FORMAT = "6"  # bump when what a cached entry holds changes (salesctl's version is in the key)
BATCH = 10_000  # records validated per read and per write
JOURNAL = ".git/salesctl/journal.json"  # where an interrupted change is reported

CACHE_TABLE = """
CREATE TABLE IF NOT EXISTS check_cache(
    path TEXT PRIMARY KEY, sig TEXT NOT NULL, config TEXT NOT NULL, problems TEXT, refs TEXT
) WITHOUT ROWID"""
# The few files with problems, without a pass over every entry (30 ms at 100,000 leads).
PROBLEMS_LOOKUP = """
CREATE INDEX IF NOT EXISTS check_cache_problems ON check_cache(path) WHERE problems IS NOT NULL"""
# Records whose cached result is missing or out of date, in path order after ``?``.
# Unreadable files (no data) and files read within the file system's timestamp tick
# (``racy:`` signatures) are always validated again: their signature does not pin content.
STALE = """
SELECT r.path, r.sig, r.id, r.kind, r.parent, r.owner, r.team, r.pool, r.data, r.problems
FROM records r
LEFT JOIN check_cache c ON c.path = r.path
WHERE r.path > ?
  AND (c.sig IS NOT r.sig OR c.config IS NOT ? OR r.data IS NULL OR r.sig LIKE 'racy:%')
ORDER BY r.path LIMIT ?"""
# The same, when no record row changed since the last check under this config (the index's
# ``changes`` counter): only the rows whose signature does not pin their content
# (index_schema.CHANGES's partial index).
UNSURE = """
SELECT r.path, r.sig, r.id, r.kind, r.parent, r.owner, r.team, r.pool, r.data, r.problems
FROM records r
WHERE (r.data IS NULL OR r.sig LIKE 'racy:%')"""
CHECKED = "checked"  # meta: "<config key>:<changes>" of the last check that validated all
# meta: "<config key>:<changes>" and, after a newline, the problems and the warnings between
# records that the last check found ([problems, warnings] as JSON): the same while no
# record row changed under the same config.
BETWEEN = "checked.between"
# A whole batch in one statement (one transaction): [[path, sig, problems, refs], ...] as
# one JSON parameter.
SAVE = """
INSERT OR REPLACE INTO check_cache(path, sig, config, problems, refs)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?,
       json_extract(value, '$[2]'), json_extract(value, '$[3]')
FROM json_each(?)"""


@dataclass(frozen=True)
class StoreCheck:
    """What ``check`` found: problems (it fails) and warnings (it passes, and says them)."""

    problems: list[Problem]
    warnings: list[Problem]


def check_store(store: Store) -> list[Problem]:
    """Every problem of the store (``checked_store`` with its warnings)."""
    return checked_store(store).problems


def checked_store(store: Store) -> StoreCheck:
    # Recovered first, as by any command: else the files checked are half a change.
    interrupted = store.repo.recover_for_read()
    pending = [Problem(JOURNAL, str(interrupted))] if interrupted else []
    try:
        key = _config_key(store.root)  # before loading: an edit in between only costs a redo
        config, problems = store.load_config()
        text = yamlio.read_regular(store.root / CONFIG_FILE, source=CONFIG_FILE)
    except YamlError as exc:
        return StoreCheck([*pending, Problem(exc.where, exc.detail)], [])
    except SalesctlError as exc:
        return StoreCheck([*pending, Problem(CONFIG_FILE, exc.message)], [])
    problems = pending + with_lines(list(problems), text.decode("utf-8", "replace"))
    index = store.index
    index.refresh(full=True)  # a whole-store look: untracked files and strays too
    problems += _stray_problems(index, store.root)
    problems += _committed_link_problems(store)
    _update_cache(index, store.root, config, key)
    problems += _file_problems(index, store.root)
    between, warnings = _between_records(store, index, config, key)
    problems += between
    problems += _sealing_problems(store, index, config)
    return StoreCheck(_in_order(problems), _in_order(warnings))


def _in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems), key=lambda p: (p.where, p.field or "", p.message))


def _sealing_problems(store: Store, index: Index, config: Config) -> list[Problem]:
    """An encrypted store: members without a key, directories sealed to other readers than
    the rule's, plain record files where sealed ones belong and sealed ones in the pool (a
    stale reader is a finding, never a crash)."""
    if not config.encrypted:
        sealed_here = index.execute(
            "SELECT path FROM records WHERE data IS NULL AND problems IS NULL", kinds=[]
        )
        return [
            Problem(p, "is encrypted, but salesctl.yaml has no `encryption: age`")
            for (p,) in sealed_here
        ]
    from salesctl.ops.keys import readers_problems
    from salesctl.store.reader_rule import is_sealed_path

    problems = [Problem(where, message) for where, message in readers_problems(store)]
    for (path,) in index.execute("SELECT path FROM records", kinds=[]):
        raw_head = _head(store.root / path)
        sealed = sealing.is_sealed(raw_head)
        if is_sealed_path(config, path) and not sealed:
            problems.append(Problem(path, "is plain in an encrypted store; run `salesctl rekey`"))
        elif sealed and not is_sealed_path(config, path):
            problems.append(Problem(path, "is encrypted in the pool, which is open to all members"))
    return problems


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(64)
    except OSError:
        return b""


# -- what each file decides alone: cached ------------------------------------------------------


def _config_key(root: Path) -> str:
    """What a cached result depends on besides the file: the config and salesctl's rules."""
    digest = hashlib.sha256(f"{__version__}\0{CACHE_FORMAT}\0".encode())
    digest.update((root / CONFIG_FILE).read_bytes())
    return digest.hexdigest()[:16]


def _update_cache(index: Index, root: Path, config: Config, key: str) -> None:
    """Validate the records whose cached result is missing or stale; drop the gone ones.
    When no record changed since the last check with this config, that is only the rows
    whose signature does not pin their content: no pass over every row."""
    index.execute(CACHE_TABLE, kinds=[])
    index.execute(PROBLEMS_LOOKUP, kinds=[])
    changes = _meta(index, "changes")
    if changes is not None and _meta(index, CHECKED) == f"{key}:{changes}":
        _validate(index, root, config, key, index.execute(UNSURE, kinds=[]).fetchall())
        return
    after = ""
    while rows := index.execute(STALE, (after, key, BATCH), kinds=[]).fetchall():
        _validate(index, root, config, key, rows)
        after = rows[-1][0]
    # Every record has its entry now, so a count above the records' means some are gone.
    cached, records = index.execute(
        "SELECT (SELECT count(*) FROM check_cache), (SELECT count(*) FROM records)", kinds=[]
    ).fetchone()
    if cached != records:
        index.execute(
            "DELETE FROM check_cache WHERE path NOT IN (SELECT path FROM records)", kinds=[]
        )
    if changes is not None:  # read before the pass: a change during it is seen next time
        index.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (CHECKED, f"{key}:{changes}"), kinds=[]
        )


def _meta(index: Index, name: str) -> str | None:
    row = index.execute("SELECT value FROM meta WHERE key = ?", (name,), kinds=[]).fetchone()
    return None if row is None else str(row[0])


def _validate(
    index: Index, root: Path, config: Config, key: str, rows: list[tuple[Any, ...]]
) -> None:
    if rows:
        entries = [[row[0], row[1], *_file_result(root, config, row)] for row in rows]
        index.execute(SAVE, (key, json.dumps(entries, ensure_ascii=False)), kinds=[])


def _file_result(root: Path, config: Config, row: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """(problems, references) of one ``STALE`` row as JSON, None for none: its parse and
    schema problems, its owner directory, its rules, its link to its parent directory; the
    ids it names that only a query can confirm."""
    path, _sig, record_id, kind, parent, member, team, pool, data_json, problems_json = row
    # The row's columns say what ``parse_path`` would, without parsing the path again.
    company = not pool and member is None and team is None
    loc = RecordPath(path, KINDS[kind], record_id, Owner(member, team, company), parent)
    problems = [
        Problem(_with_line(root, path, field) if where == path else where, message, field)
        for where, message, field in (json.loads(problems_json) if problems_json else ())
    ]
    problems += owner_problems(config, loc)
    if _executable(root / path):
        problems.append(Problem(path, f"{EXECUTABLE} (`chmod -x {path}`, then commit it)"))
    refs: list[list[str]] = []
    if data_json:
        data = json.loads(data_json)
        for p in record_problems(config, loc.kind, data, path):
            problems.append(Problem(_with_line(root, path, p.field), p.message, p.field))
        problems += link_problems(loc, data)
        for field, target_kind, target in between.references(loc, data):
            # An id's first letter is its kind's prefix (layout.parse_path), so only an id
            # with the right one can name a record of the kind.
            if isinstance(target, str) and target[:1] == KINDS[target_kind].prefix:
                refs.append([field, target_kind, target])
            else:
                problems.append(between.dangling(loc.path, field, target_kind, target))
    listed = [[p.where, p.message, p.field] for p in problems]
    return (
        json.dumps(listed, ensure_ascii=False) if listed else None,
        json.dumps(refs, ensure_ascii=False) if refs else None,
    )


FILE_PROBLEMS = "SELECT problems FROM check_cache WHERE problems IS NOT NULL"


def _file_problems(index: Index, root: Path) -> list[Problem]:
    rows = index.execute(FILE_PROBLEMS, kinds=[])
    problems = [Problem(*problem) for (text,) in rows for problem in json.loads(text)]
    # A chmod leaves the file's signature as it was: an executable bit reported before is
    # looked at again (a new one is seen when the file next changes, and by the gate).
    return [
        p
        for p in problems
        if not p.message.startswith(EXECUTABLE) or _executable(root / p.where.split(":")[0])
    ]


def _executable(path: Path) -> bool:
    """A regular file with an executable bit (a directory or a link where a record file
    belongs is reported as such)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and bool(mode & 0o111)


def _with_line(root: Path, path: str, field: str | None) -> str:
    """``path:line`` of the field's key, when it can be found."""
    if not field:
        return path
    key = field.split(".")[0].split("[")[0]
    try:
        text = yamlio.read_regular(root / path, limit=yamlio.MAX_FILE_BYTES)
    except (OSError, yamlio.YamlError):
        return path
    for number, line in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return f"{path}:{number}"
    return path


# -- between records: queries ------------------------------------------------------------------


def _between_records(
    store: Store, index: Index, config: Config, key: str
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) between records: duplicate ids, dangling references, money and
    dates over the contracts; members over the claim cap. Passes over every row (0.2 s at
    100,000 leads), done again only once a record row has changed (the index's ``changes``
    counter) or the config has."""
    changes = _meta(index, "changes")  # before the queries: a change meanwhile is seen next
    stamp = f"{key}:{changes}"
    saved_stamp, _, saved = (_meta(index, BETWEEN) or "").partition("\n")
    if changes is not None and saved_stamp == stamp:
        problems, warnings = json.loads(saved)
        return [Problem(*p) for p in problems], [Problem(*w) for w in warnings]
    found = between.duplicate_problems(index) + between.dangling_references(index)
    found += between.money_problems(store) + orphan_problems(index)
    found += between.dating_problems(index) + between.competitor_problems(store)
    warnings = between.over_the_cap(store, config)
    if changes is not None:
        listed = json.dumps(
            [[[p.where, p.message, p.field] for p in each] for each in (found, warnings)],
            ensure_ascii=False,
        )
        index.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (BETWEEN, f"{stamp}\n{listed}"), kinds=[]
        )
    return found, warnings


def _stray_problems(index: Index, root: Path) -> list[Problem]:
    """Files under the record directories that are not records, symlinks above all, as the
    index's walk found them (in ``check``'s wording, which ``check --range`` shares)."""
    problems = []
    for path, reason in index.execute("SELECT path, reason FROM strays", kinds=[]):
        if reason == SYMLINK:
            problems.append(Problem(path, SYMLINK))
            if _misplaced_file(root, path):
                problems.append(Problem(path, NOT_A_RECORD_PLACE))
        elif reason == INDEX_NOT_A_RECORD:
            problems.append(Problem(path, NOT_A_RECORD_PLACE))
        else:
            problems.append(Problem(path, reason))
    return problems


def _committed_link_problems(store: Store) -> list[Problem]:
    """Symlinks and submodules committed outside the record directories (a template linked
    to /etc/passwd), by ``check --range``'s rule; inside them the index's walk finds every
    symlink, committed or not. Only those trees are read: ms at 384,000 files."""
    head = store.repo.head() if store.repo.owns_root else None
    if head is None:
        return []
    outside = [".", *(f":(exclude,top){top}" for top in RECORD_ROOTS)]
    changes = GitReader(store.root).diff(None, head, outside)
    return [Problem(c.path, why) for c in changes if (why := refused_mode(c.new_mode))]


def _misplaced_file(root: Path, path: str) -> bool:
    """A symlink that stands for a file (not a directory) where no record can live."""
    return (
        "/" in path
        and parse_path(path) is None
        and not NON_RECORD_FILES.search(path)
        and not is_toolkit_file(path)
        and not os.path.isdir(root / path)
    )
