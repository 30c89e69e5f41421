"""The derived index: SQLite under ``.git/salesctl/``, never committed, rebuilt from files.

It answers "which records match" (by id prefix, kind, owner, team, field values) without
parsing every YAML file on every command. Each row is one record file: where it lives, its
fields as JSON, its problems, and the stat signature (mtime, size, inode) of the bytes that
were parsed. A broken or unreadable file is a row with problems, never an error.

Here: the queries commands ask (by id prefix, kind, directory, parent, SQL over the fields)
and ``index status``. Each query first refreshes what it reads; opening, building and
refreshing are in ``index_refresh.py``, the tables in ``index_schema.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from salesctl.model.kinds import KINDS
from salesctl.scopes import Shares
from salesctl.store import accelerator, index_dupkeys
from salesctl.store.index_refresh import RefreshingIndex
from salesctl.store.index_repair import recovering
from salesctl.store.watch import below


class Index(RefreshingIndex):
    """The derived index of one store: what commands ask it."""

    # -- queries ---------------------------------------------------------------------------

    @recovering
    def paths_for_id_prefix(self, prefix: str, kinds: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(id, path) of records whose id starts with ``prefix``."""
        kinds = list(kinds) or [k.name for k in KINDS.values() if prefix.startswith(k.prefix + "-")]
        if kinds:  # look at the matching files and where new ones of the kind would appear
            self.refresh(kinds=kinds, files=[p for _id, p in self._id_prefix(prefix, kinds)])
        else:
            self.refresh()
        return self._id_prefix(prefix, kinds)

    def _id_prefix(self, prefix: str, kinds: list[str]) -> list[tuple[str, str]]:
        sql = "SELECT id, path FROM records WHERE id >= ? AND id < ?"
        args: list[Any] = [prefix, prefix + "\uffff"]
        if kinds:
            # ``+kind``: filter, but look up by id (the kind index would scan a whole kind)
            sql += f" AND +kind IN ({','.join('?' * len(kinds))})"
            args += kinds
        return list(self.db.execute(sql + " ORDER BY id", args))

    @recovering
    def query(
        self,
        kind: str,
        where: str = "",
        args: Iterable[Any] = (),
        order: str = "id",
        within: Iterable[str] = (),
    ) -> list[tuple[str, dict[str, Any] | None, list[list[str]] | None]]:
        """(path, fields as JSON data, problems) of ``kind`` records matching SQL ``where``
        (and under one of the ``within`` directories, if any are given)."""
        within = tuple(within)
        self.refresh(kinds=[kind], within=within)
        sql = "SELECT path, data, problems FROM records WHERE kind = ?"
        where, args = _within(where, args, within)
        if where:
            sql += f" AND ({where})"
        rows = self.db.execute(f"{sql} ORDER BY {order}", [kind, *args])
        loads = json.loads
        return [
            (path, loads(data) if data else None, loads(probs) if probs else None)
            for path, data, probs in rows
        ]

    @recovering
    def children(self, parent_id: str, kind: str) -> list[tuple[str, dict[str, Any] | None]]:
        """(path, fields) of the ``kind`` records in the parent's directory. The directory is
        listed too (one record's worth of files), so a child added by hand shows up even
        when the work tree check would not see it."""
        dirs = [
            path.rsplit("/", 1)[0]
            for (path,) in self.db.execute(
                "SELECT path FROM records WHERE id = ? AND parent IS NULL", (parent_id,)
            )
        ]
        if dirs:  # an unknown parent has no children to look for
            self.refresh(kinds=[kind], within=dirs, look=True)
        rows = self.db.execute(
            "SELECT path, data FROM records WHERE parent = ? AND kind = ? ORDER BY id",
            (parent_id, kind),
        )
        return [(p, json.loads(d) if d else None) for p, d in rows]

    @recovering
    def select(
        self,
        kind: str,
        fields: Iterable[str],
        where: str = "",
        args: Iterable[Any] = (),
        within: Iterable[str] = (),
    ) -> list[tuple[Any, ...]]:
        """(id, owner, team, parent, *field values) of valid ``kind`` records, by SQL."""
        fields = list(fields)
        within = tuple(within)
        columns = "".join(", json_extract(data, ?)" for _ in fields)
        sql = f"SELECT id, owner, team, parent{columns} FROM records "
        sql += "WHERE kind = ? AND data IS NOT NULL"
        where, args = _within(where, args, within)
        if where:
            sql += f" AND ({where})"
        self.refresh(kinds=[kind], within=within)
        return list(
            self.db.execute(sql + " ORDER BY id", [*(f"$.{f}" for f in fields), kind, *args])
        )

    @recovering
    def last_touch_by_parent(self) -> dict[str, str]:
        """The latest follow-up or done visit date (YYYY-MM-DD, as written) per record id."""
        self.refresh(kinds=["followup", "visit"])
        rows = self.db.execute(
            "SELECT parent, max(substr(json_extract(data, '$.at'), 1, 10)) FROM records "
            "WHERE kind IN ('followup', 'visit') AND data IS NOT NULL "
            "AND coalesce(json_extract(data, '$.status'), 'done') = 'done' GROUP BY parent"
        )
        return {parent: day for parent, day in rows if parent and day}

    @recovering
    def count(
        self, kind: str, where: str = "", args: Iterable[Any] = (), within: Iterable[str] = ()
    ) -> int:
        within = tuple(within)
        self.refresh(kinds=[kind], within=within)
        # ``where`` is built by salesctl's own code; every value travels as a parameter.
        where, args = _within(where, args, within)
        sql = "SELECT count(*) FROM records WHERE kind = ?"
        sql += f" AND ({where})" if where else ""
        return int(self.db.execute(sql, [kind, *args]).fetchone()[0])

    @recovering
    def execute(
        self,
        sql: str,
        args: Iterable[Any] = (),
        *,
        kinds: Iterable[str],
        within: Iterable[str] = (),
    ) -> sqlite3.Cursor:
        """Run salesctl's own SQL over ``records`` once the ``kinds`` it reads (under the
        ``within`` directories, if given) are fresh. Values travel as parameters."""
        self.refresh(kinds=kinds, within=within)
        return self.db.execute(sql, list(args))

    @recovering
    def duplicate_holders(
        self, keys: Iterable[str], *, worktree: bool = False
    ) -> list[tuple[Any, ...]]:
        """(key, id, kind, path, owner, team, pool, stage) of every lead and customer that
        has one of ``keys``, readable or not (what the duplicate guard asks). As committed
        (and written by salesctl); ``worktree``: hand edits in the work tree too, for the
        price of a stat of every lead and customer file."""
        # Ask git again even if this process caught up before: the guard runs under the
        # store's lock and must see what another command committed since (the webhook).
        self._caught_up = False
        self.refresh(kinds=["lead", "customer"], worktree=worktree)
        index_dupkeys.current(self.db, self.keys_region())
        return index_dupkeys.holders(self.db, keys)

    @recovering
    def duplicate_keys(self) -> list[tuple[Any, ...]]:
        """Every lead's and customer's keys with its id, owner and name (``dupes``)."""
        self.refresh(kinds=["lead", "customer"])
        index_dupkeys.current(self.db, self.keys_region())
        return index_dupkeys.all_keys(self.db)

    # -- status ------------------------------------------------------------------------------

    def _untracked_count(self) -> int:
        """Record files git does not know (``--no-commit`` writes, files made by hand)."""
        if not self.repo.owns_root:
            return 0
        tracked = self._tracked_paths()
        return sum(1 for (p,) in self.db.execute("SELECT path FROM records") if p not in tracked)

    @recovering
    def shares_of(self, member_id: str) -> Shares:
        """What records share with ``member_id`` (``scopes.shares_of``), resolved: a
        mention lapses once its record has another owner; a contract's customer is found
        by its id. From the committed records and what this command looked at: shares sit in
        other members' directories, which a clone does not edit uncommitted."""
        self.refresh(kinds=(), files=())
        trees: set[str] = set()
        contracts: list[str] = []
        rows = self.db.execute(
            "SELECT s.how, s.target FROM shares s "
            "LEFT JOIN records a ON s.anchor IS NOT NULL AND a.path = s.anchor "
            "WHERE s.member = ? AND (s.while_owner IS NULL OR s.while_owner = a.owner)",
            (member_id,),
        )
        for how, target in rows:
            if how == "customer-of":
                contracts.append(target)
            else:
                trees.add(target)
        files = self._customers_of(contracts) if contracts else []
        return Shares(tuple(sorted(trees)), tuple(sorted(files)))

    def _customers_of(self, contract_paths: list[str]) -> list[str]:
        marks = ",".join("?" * len(contract_paths))
        return [
            path
            for (path,) in self.db.execute(
                "SELECT c.path FROM records k JOIN records c ON c.id = "
                "json_extract(k.data, '$.customer') AND c.kind = 'customer' "
                f"WHERE k.path IN ({marks})",
                contract_paths,
            )
        ]

    @recovering
    def status(self) -> dict[str, Any]:
        """What the index holds, after a full walk (counts, problems, strays, freshness)."""
        self.refresh(full=True)
        db = self.db
        kinds = dict(db.execute("SELECT kind, count(*) FROM records GROUP BY kind ORDER BY kind"))
        broken, flagged = db.execute(
            "SELECT total(data IS NULL), total(problems IS NOT NULL) FROM records"
        ).fetchone()
        meta = dict(db.execute("SELECT key, value FROM meta"))
        return {
            "database": str(self.db_path) if self.repo.owns_root else ":memory:",
            "size_bytes": self.db_path.stat().st_size if self.repo.owns_root else None,
            "head": None if meta.get("head") in (None, "-") else meta.get("head"),
            "records": sum(kinds.values()),
            "by_kind": kinds,
            "unreadable": int(broken),
            "with_problems": int(flagged),
            "untracked": self._untracked_count(),
            "strays": [
                {"path": p, "reason": r}
                for p, r in db.execute("SELECT path, reason FROM strays ORDER BY path")
            ],
            "worktree_check": self.worktree_check() if self.repo.owns_root else None,
            "yaml_parser": accelerator.parser_name(),
            "refreshed": dict(self.last_refresh),
            "rebuilt_damaged": self.repaired,  # why this command rebuilt it, if it did
        }


def within_sql(within: Iterable[str], path: str = "path") -> tuple[str, list[str]]:
    """SQL (and its parameters) for "the record's path is under one of these directories"
    (``path="+path"``: without looking records up by path)."""
    within = [w.strip("/") for w in within]
    if not within:
        return "", []
    sql = " OR ".join(f"({path} > ? AND {path} < ?)" for _ in within)
    return f"({sql})", [a for w in within for a in below(w)]


def _within(where: str, args: Iterable[Any], within: tuple[str, ...]) -> tuple[str, list[Any]]:
    extra, extra_args = within_sql(within)
    if not extra:
        return where, list(args)
    return (f"({where}) AND {extra}" if where else extra), [*args, *extra_args]
