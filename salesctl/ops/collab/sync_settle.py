"""Settling a rebase that stopped on a conflict, for ``sync``.

Each path git could not merge is read from the index's stages (1 base, 2 the remote's side,
3 the local commit's: in a rebase "ours" is upstream). A record file is merged field by
field (``record_merge``) and written as the commands write it; another text file is settled
only with ``--keep`` (by git's own hunk merge, favouring that side). If any path stays
open, nothing is settled and the caller aborts the rebase, so the clone is as it was.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from salesctl import sealing, yamlio
from salesctl.atomic import write_atomic
from salesctl.errors import Invalid
from salesctl.model.config import Config
from salesctl.ops.collab.places import place_of
from salesctl.ops.collab.record_merge import FieldConflict, Stuck, merge_fields
from salesctl.ops.collab.sync_git import Git
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.store import CONFIG_FILE, Store
from salesctl.store.validation import InvalidRecord, checked_fields

Open = FieldConflict | Stuck
# git merge-file favouring one side: in a rebase the remote's side is "ours" (stage 2)
FAVOUR = {"remote": "--ours", "local": "--theirs"}


def settle(
    git: Git, store: Store, stages: dict[str, dict[int, str]], keep: str | None
) -> list[Open]:
    """Settle every unmerged path of the stopped rebase (``stages``: ``unmerged``'s), or
    none: what stays open."""
    texts: dict[str, bytes] = {}
    records: dict[str, tuple[RecordPath, dict[str, Any]]] = {}
    still: list[Open] = []
    for path, by_stage in sorted(stages.items()):
        record = place_of(path).record
        loc = parse_path(path)
        if 2 not in by_stage or 3 not in by_stage:
            gone, kept = (
                ("yours", "the remote's") if 3 not in by_stage else ("the remote's", "yours")
            )
            still.append(Stuck(path, record, f"deleted in {gone}, changed in {kept}"))
        elif loc is not None:
            merged = _merge_record(git, loc, by_stage, keep, still)
            if merged is not None:
                records[path] = (loc, merged)
        elif keep is not None:
            content = _merge_text(git, by_stage, keep)
            if content is None:
                still.append(Stuck(path, record, "is not text git can merge; settle it by hand"))
            else:
                texts[path] = content
        else:
            still.append(Stuck(path, record, "changed in the same lines on both sides", True))
    if still:
        return still
    for path, content in texts.items():  # the config first: records are checked against it
        _stage(git, path, content)
    return _write_records(git, store, records)


def unmerged(git: Git) -> dict[str, dict[int, str]]:
    """Each unmerged path's blob by stage."""
    listing = git.call("ls-files", "-u", "-z")
    stages: dict[str, dict[int, str]] = {}
    for entry in listing.stdout.split("\0"):
        if not entry:
            continue
        info, _, path = entry.partition("\t")
        _mode, blob, stage = info.split()
        stages.setdefault(path, {})[int(stage)] = blob
    return stages


def _merge_record(
    git: Git, loc: RecordPath, by_stage: dict[int, str], keep: str | None, still: list[Open]
) -> dict[str, Any] | None:
    """The merged fields, or None (what is open appended to ``still``)."""
    record = loc.parent or loc.id
    sides = [_fields(git, by_stage.get(n), loc.path) for n in (1, 2, 3)]
    if any(isinstance(side, str) for side in sides):
        reason = next(side for side in sides if isinstance(side, str))
        still.append(Stuck(loc.path, record, reason))
        return None
    base, remote, local = (side if isinstance(side, dict) else {} for side in sides)
    merged, clashes = merge_fields(base, remote, local, keep)
    if clashes and keep is None:
        record_id = loc.id if loc.parent is None else f"{loc.parent} {loc.id}"
        still += [FieldConflict(loc.path, record_id, *clash) for clash in clashes]
        return None
    return merged


def _fields(git: Git, blob: str | None, path: str) -> dict[str, Any] | str | None:
    """A side's fields (None: the side has no file), or why it cannot be merged by field."""
    if blob is None:
        return None
    raw = git.blob(blob)
    if sealing.is_sealed(raw):
        return "is encrypted: sync merges plain records only; settle it by hand"
    try:
        data = yamlio.loads(raw, source=path)
    except Invalid as exc:
        return f"is not a readable record on one side ({exc.message})"
    return data if isinstance(data, dict) else "is not a mapping of fields on one side"


def _merge_text(git: Git, by_stage: dict[int, str], keep: str) -> bytes | None:
    """git's hunk merge of a non-record file, the conflicting hunks taken from ``keep``'s
    side (as ``rebase -X`` would); None for a file git cannot merge (binary)."""
    with tempfile.TemporaryDirectory(prefix="salesctl-sync-") as tmp:
        names = []
        for stage in (2, 1, 3):  # merge-file CURRENT BASE OTHER
            name = Path(tmp) / str(stage)
            name.write_bytes(git.blob(by_stage[stage]) if stage in by_stage else b"")
            names.append(str(name))
        proc = subprocess.run(
            ["git", "merge-file", "-p", FAVOUR[keep], *names],
            cwd=git.root,
            capture_output=True,
            check=False,
        )
    return proc.stdout if proc.returncode == 0 else None


def _write_records(
    git: Git, store: Store, records: dict[str, tuple[RecordPath, dict[str, Any]]]
) -> list[Open]:
    """Each merged record in canonical YAML, checked as a command's write is (against the
    config as the rebase has it now); nothing written if one fails."""
    if not records:
        return []
    try:
        config, _problems = store.load_config()
    except Invalid as exc:
        return [Stuck(CONFIG_FILE, None, f"cannot be read to check the merged records: {exc}")]
    contents: dict[str, bytes] = {}
    still: list[Open] = []
    for path, (loc, merged) in records.items():
        content = _checked(config, loc, merged)
        if isinstance(content, str):
            still.append(Stuck(path, loc.parent or loc.id, content))
        else:
            contents[path] = content
    if still:
        return still
    for path, content in contents.items():
        _stage(git, path, content)
    return []


def _checked(config: Config, loc: RecordPath, merged: dict[str, Any]) -> bytes | str:
    canonical, problems = loc.kind.normalise(merged, loc.path)
    lost = sorted(set(merged) - set(canonical), key=str)
    if problems or lost:  # written as merged, a field would be dropped without a word
        said = problems[0].message if problems else f"{lost[0]} is not a field salesctl knows"
        return f"merged, a field would not be kept ({said}): rebase by hand"
    try:
        content, _fields_read = checked_fields(config, loc, canonical)
    except InvalidRecord as exc:
        return f"merged, its fields would break a rule: {exc.message}"
    return content


def _stage(git: Git, path: str, content: bytes) -> None:
    write_atomic(git.root / path, content, fsync=False)
    git.out("add", "--", path)
