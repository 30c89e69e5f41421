"""HEAD's commit read from the files of a plain ``.git`` directory, as git reads them.

Every command asks for HEAD, most reads twice (the index's freshness, the data's commit),
and a ``git rev-parse`` costs 3-5 ms of a 0.12-0.17 s read. The common layout is read
here: ``HEAD`` naming a branch (``ref: refs/heads/…``) whose id is in its loose ref file
or in ``packed-refs``, or a detached HEAD's id. Anything else (a linked worktree's
``commondir``, reftable storage, a ref naming another ref, SHA-256 ids, a branch with no
commit yet, ``GIT_DIR`` and friends) is ``UNSURE``: the caller asks git.

``head_not_holding`` answers the other question a report asks git (``Repo.data_commit``: is
HEAD salesctl's own report commit?) from HEAD's loose object, where it is one.
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Final

UNSURE: Final = "?"  # not a commit id: ask git
_ID = re.compile(rb"[0-9a-f]{40}")
_BRANCH = re.compile(rb"ref: (refs/heads/[^\s]+)\s*")
# git's own environment overrides where it looks: then only git knows
_GIT_PLACES = ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_REF_STORAGE")
# and where it finds objects, or which it shows instead
_GIT_OBJECTS = (*_GIT_PLACES, "GIT_OBJECT_DIRECTORY", "GIT_REPLACE_REF_BASE")


def head_from_files(root: Path) -> str:
    """HEAD's commit id for the work tree at ``root``, or ``UNSURE``."""
    git_dir = root / ".git"
    if any(name in os.environ for name in _GIT_PLACES):
        return UNSURE
    try:
        head = (git_dir / "HEAD").read_bytes()
        if (git_dir / "commondir").exists() or (git_dir / "reftable").exists():
            return UNSURE
    except OSError:  # no .git directory here (.git is a file, or the store is below the top)
        return UNSURE
    if _ID.fullmatch(head.rstrip(b"\n")):
        return head[:40].decode()
    branch = _BRANCH.fullmatch(head)
    if branch is None:
        return UNSURE
    name = branch[1]
    if b".." in name:  # git refuses such a name; it is not ours to follow
        return UNSURE
    try:
        loose = (git_dir / os.fsdecode(name)).read_bytes()
    except FileNotFoundError:
        return _packed(git_dir, name)
    except OSError:  # e.g. a directory by that name: git's business
        return UNSURE
    return loose[:40].decode() if _ID.fullmatch(loose.rstrip(b"\n")) else UNSURE


def _packed(git_dir: Path, name: bytes) -> str:
    """The branch's id in ``packed-refs``; ``UNSURE`` when it is not there either (a
    branch with no commit yet: git says so)."""
    try:
        packed = _packed_refs(git_dir)
    except OSError:
        return UNSURE
    for line in packed.splitlines():
        oid, _, ref = line.partition(b" ")
        if ref == name and _ID.fullmatch(oid):
            return oid.decode()
    return UNSURE


def head_not_holding(root: Path, text: bytes) -> str | None:
    """HEAD's id if its loose commit object does not hold ``text`` (a report's data commit:
    HEAD, unless HEAD is a report commit); None when that takes git to tell."""
    head = head_from_files(root)
    if head == UNSURE or loose_commit_has(root, head, text) is not False:
        return None
    return head


def loose_commit_has(root: Path, commit: str, text: bytes) -> bool | None:
    """Does the loose object of ``commit`` (as git would show it) hold ``text``? None when
    only git can say: the object is packed, refs/replace may stand in for it, or git's
    environment points elsewhere."""
    git_dir = root / ".git"
    if any(name in os.environ for name in _GIT_OBJECTS) or not _ID.fullmatch(commit.encode()):
        return None
    try:
        if (git_dir / "refs" / "replace").exists() or b"refs/replace/" in _packed_refs(git_dir):
            return None
        raw = zlib.decompress((git_dir / "objects" / commit[:2] / commit[2:]).read_bytes())
    except (OSError, zlib.error):
        return None
    if not raw.startswith(b"commit "):
        return None
    return text in raw


def _packed_refs(git_dir: Path) -> bytes:
    """``packed-refs`` (empty if there is none; other errors raise)."""
    try:
        return (git_dir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return b""
