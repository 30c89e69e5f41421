"""The derived index: SQLite under ``.git/salesctl/``, never committed, rebuilt from files.

It answers "which records match" (by id prefix, kind, owner, team, field values) without
parsing every YAML file on every command. It tracks the commit it reflects: when HEAD moves,
``git diff`` names the files to re-read; ``git status`` names uncommitted ones. Only those
are re-parsed; a file is re-read when its (mtime, size, inode) changed. A broken file is
indexed with its problems rather than stopping anything. Delete the database at any time:
the next command rebuilds it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from salesctl import yamlio
from salesctl.git import Repo
from salesctl.model.problems import Problem
from salesctl.model.values import to_json
from salesctl.store.layout import RECORD_ROOTS, RecordPath, parse_path
from salesctl.store.records import Record

INDEX_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records(
    path TEXT PRIMARY KEY, id TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT,
    owner TEXT, team TEXT, pool INTEGER NOT NULL, sig TEXT NOT NULL,
    data TEXT, problems TEXT);
CREATE INDEX IF NOT EXISTS records_id ON records(id);
CREATE INDEX IF NOT EXISTS records_kind_owner ON records(kind, owner);
CREATE INDEX IF NOT EXISTS records_kind_team ON records(kind, team);
CREATE INDEX IF NOT EXISTS records_parent ON records(parent);
"""


def read_record(root: Path, loc: RecordPath) -> Record:
    """Parse one record file; problems (malformed YAML, bad fields) come back as data."""
    full = root / loc.path
    real_root = os.path.realpath(root)
    if full.is_symlink() or not os.path.realpath(full).startswith(real_root + os.sep):
        return Record(loc, {}, (Problem(loc.path, "is a symlink; the store refuses symlinks"),))
    try:
        raw = yamlio.load_file(str(root / loc.path), source=loc.path)
    except yamlio.YamlError as exc:
        return Record(loc, {}, (Problem(exc.where, exc.detail),))
    data, problems = loc.kind.normalise(raw, loc.path)
    return Record(loc, data, tuple(problems))


def _signature(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


class Index:
    def __init__(self, root: Path, repo: Repo) -> None:
        self.root = root
        self.repo = repo
        self._db: sqlite3.Connection | None = None
        self.fresh = False

    @property
    def db_path(self) -> Path:
        return self.repo.state_dir / "index.sqlite"

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            # A store that is not its own git repository (the bundled sample inside salesctl's
            # source tree or wheel) is read-only: index it in memory from a full walk.
            target = str(self.db_path) if self.repo.owns_root else ":memory:"
            self._db = sqlite3.connect(target, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        return self._db

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # -- keeping it fresh ------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to date with the work tree (cheap when little changed)."""
        if self.fresh:
            return
        if not self.repo.owns_root:
            self._update(self._walk())
            self.fresh = True
            return
        head = self.repo.head()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._meta("version") != INDEX_VERSION or self._meta("head") is None:
                db.execute("DELETE FROM records")
                self._update(self._walk())
                dirty = self._dirty_paths()
            else:
                old_head = self._meta("head") or ""
                changed = set(json.loads(self._meta("dirty") or "[]"))
                if old_head != (head or "-"):
                    changed |= self._changed_between(old_head, head)
                dirty = self._dirty_paths()
                self._update(changed | dirty)
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("version", INDEX_VERSION),
                    ("head", head or "-"),
                    ("dirty", json.dumps(sorted(dirty))),
                ],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.fresh = True

    def _walk(self) -> Iterator[str]:
        for top in RECORD_ROOTS:
            base = self.root / top
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                for name in filenames:
                    if name.endswith(".yaml"):
                        yield f"{rel}/{name}"

    def _changed_between(self, old: str, new: str | None) -> set[str]:
        if old == "-" or new is None:
            return set(self._walk()) | self._indexed_paths()
        out = self.repo.run(
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            old,
            new,
            "--",
            *RECORD_ROOTS,
            check=False,
        )
        if not out and self.repo.run("cat-file", "-t", old, check=False).strip() != "commit":
            return set(self._walk()) | self._indexed_paths()  # old head gone (gc'd rebase)
        return {p for p in out.split("\0") if p}

    def _dirty_paths(self) -> set[str]:
        out = self.repo.run(
            "status",
            "--porcelain",
            "-z",
            "-uall",
            "--no-renames",
            "--",
            *RECORD_ROOTS,
            check=False,
        )
        return {entry[3:] for entry in out.split("\0") if len(entry) > 3}

    def _indexed_paths(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT path FROM records")}

    def _update(self, paths: Iterable[str]) -> None:
        rows, gone = [], []
        for path in paths:
            loc = parse_path(path)
            if loc is None:
                continue
            try:
                sig = _signature(os.lstat(self.root / path))
            except FileNotFoundError:
                gone.append((path,))
                continue
            known = self.db.execute("SELECT sig FROM records WHERE path=?", (path,)).fetchone()
            if known and known[0] == sig:
                continue
            record = read_record(self.root, loc)
            rows.append(
                (
                    path,
                    loc.id,
                    loc.kind.name,
                    loc.parent,
                    loc.owner.member,
                    loc.owner.team,
                    int(loc.owner.is_pool),
                    sig,
                    json.dumps(to_json(record.data), ensure_ascii=False) if record.data else None,
                    json.dumps(
                        [[p.where, p.message, p.field] for p in record.problems], ensure_ascii=False
                    )
                    if record.problems
                    else None,
                )
            )
        self.db.executemany("DELETE FROM records WHERE path=?", gone)
        self.db.executemany("INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    # -- queries ---------------------------------------------------------------------------

    def paths_for_id_prefix(self, prefix: str, kinds: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(id, path) of records whose id starts with ``prefix``."""
        self.refresh()
        sql = "SELECT id, path FROM records WHERE id >= ? AND id < ?"
        args: list[Any] = [prefix, prefix + "\uffff"]
        kinds = list(kinds)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        return list(self.db.execute(sql + " ORDER BY id", args))

    def query(
        self, kind: str, where: str = "", args: Iterable[Any] = (), order: str = "id"
    ) -> list[tuple[str, dict[str, Any] | None, list[list[str]] | None]]:
        """(path, fields as JSON data, problems) of ``kind`` records matching SQL ``where``."""
        self.refresh()
        sql = "SELECT path, data, problems FROM records WHERE kind = ?"
        if where:
            sql += f" AND ({where})"
        rows = self.db.execute(f"{sql} ORDER BY {order}", [kind, *args])
        return [
            (path, json.loads(data) if data else None, json.loads(probs) if probs else None)
            for path, data, probs in rows
        ]

    def children(self, parent_id: str, kind: str) -> list[tuple[str, dict[str, Any] | None]]:
        self.refresh()
        rows = self.db.execute(
            "SELECT path, data FROM records WHERE parent = ? AND kind = ? ORDER BY id",
            (parent_id, kind),
        )
        return [(p, json.loads(d) if d else None) for p, d in rows]

    def all_rows(self) -> list[tuple[str, str, str, str | None]]:
        """(path, id, kind, problems JSON) of everything indexed, for whole-store checks."""
        self.refresh()
        return list(self.db.execute("SELECT path, id, kind, problems FROM records ORDER BY path"))

    def select(
        self, kind: str, fields: Iterable[str], where: str = "", args: Iterable[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """(id, owner, team, parent, *field values) of valid ``kind`` records, by SQL."""
        fields = list(fields)
        columns = "".join(", json_extract(data, ?)" for _ in fields)
        sql = f"SELECT id, owner, team, parent{columns} FROM records "
        sql += "WHERE kind = ? AND data IS NOT NULL"
        if where:
            sql += f" AND ({where})"
        self.refresh()
        return list(
            self.db.execute(sql + " ORDER BY id", [*(f"$.{f}" for f in fields), kind, *args])
        )

    def last_touch_by_parent(self) -> dict[str, str]:
        """The latest follow-up or done visit date (YYYY-MM-DD, as written) per record id."""
        self.refresh()
        rows = self.db.execute(
            "SELECT parent, max(substr(json_extract(data, '$.at'), 1, 10)) FROM records "
            "WHERE kind IN ('followup', 'visit') AND data IS NOT NULL "
            "AND coalesce(json_extract(data, '$.status'), 'done') = 'done' GROUP BY parent"
        )
        return {parent: day for parent, day in rows if parent and day}

    def count(self, kind: str, where: str = "", args: Iterable[Any] = ()) -> int:
        self.refresh()
        # ``where`` is built by salesctl's own code; every value travels as a parameter.
        sql = "SELECT count(*) FROM records WHERE kind = ?"
        sql += f" AND ({where})" if where else ""
        return int(self.db.execute(sql, [kind, *args]).fetchone()[0])
