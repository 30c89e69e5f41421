"""Orphaned child records: a follow-up, visit, payment ... whose directory has no record
file, because the record moved (assign, claim, release) or was deleted while another clone
added the child under its old path. Such a child lists under the wrong owner and blocks
moving the record back there, so ``check`` names it and where its record is now; ``sync``
moves the children it would leave behind (``sync_moves``).
"""

from __future__ import annotations

from salesctl.model.kinds import BY_PLURAL
from salesctl.model.problems import Problem
from salesctl.store.index import Index

# Children whose directory holds no record file of their parent's id (a record's directory
# is its file's path up to the last '/': SQLite's rtrim idiom for dirname).
ORPHANS = """
SELECT c.path, c.parent FROM records c
WHERE c.parent IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM records p
    WHERE p.id = c.parent AND p.parent IS NULL
      AND substr(c.path, 1, length(rtrim(p.path, replace(p.path, '/', ''))))
          = rtrim(p.path, replace(p.path, '/', '')))
ORDER BY c.path"""
RECORD_DIRS = "SELECT id, path FROM records WHERE parent IS NULL AND id IN ({})"


def record_file_of(record_dir: str) -> str:
    """The record file a record directory (``.../leads/L-7KQ2``) holds."""
    plural = record_dir.rsplit("/", 2)[-2] if record_dir.count("/") else ""
    kind = BY_PLURAL.get(plural)
    return f"{record_dir}/{kind.file_name if kind else ''}"


def orphan_problems(index: Index) -> list[Problem]:
    """``check``'s problem for each orphaned child in the index, naming where its record
    is now (if it is anywhere)."""
    rows = index.execute(ORPHANS, kinds=[]).fetchall()
    parents = sorted({parent for _path, parent in rows})
    now: dict[str, str] = {}
    for start in range(0, len(parents), 500):
        chunk = parents[start : start + 500]
        found = index.execute(RECORD_DIRS.format(",".join("?" * len(chunk))), chunk, kinds=[])
        now.update((record_id, path.rsplit("/", 1)[0]) for record_id, path in found)
    return [_problem(path, parent, now.get(parent)) for path, parent in rows]


def _problem(path: str, parent: str, moved_to: str | None) -> Problem:
    record_dir = path.rsplit("/", 2)[0]
    if moved_to is None:
        return Problem(
            path,
            f"sits in {record_dir}/, which has no record file, and {parent} exists nowhere "
            "(`git rm` it, or restore the record)",
        )
    rest = path[len(record_dir) :]
    return Problem(
        path,
        f"sits in {record_dir}/, which has no record file: {parent} is now in {moved_to}/ "
        f"(move it there: `git mv {path} {moved_to}{rest}`)",
    )
