"""Children left behind by a move, for ``sync``.

A record's directory moves whole (assign, claim, release). When one side of a sync moved a
record and the other added a follow-up, visit or attachment under its old path, git
replays the new file where it was written: a child in a directory with no record file,
which lists under the old owner and blocks moving the record back. So after rebasing, sync
looks at the records either side moved and, in each rebased commit whose tree has files
left in such an old directory, moves them to the record's new directory: the commit is
rewritten (same author, date and message; committed by whoever syncs), so the command that
added the child is still one commit, now adding it in the right place.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from salesctl.errors import Conflict
from salesctl.ops.collab.orphans import record_file_of
from salesctl.ops.collab.sync_git import Git, git_message
from salesctl.store.layout import parse_path


def moved_records(git: Git, base: str, *tips: str) -> dict[str, str]:
    """Record directories moved between ``base`` and each tip: old directory -> new."""
    moves: dict[str, str] = {}
    for tip in tips:
        out = git.out("diff", "--name-status", "-z", "-M", "--diff-filter=R", base, tip)
        fields = out.split("\0")
        for at in range(0, len(fields) - 2, 3):
            old, new = parse_path(fields[at + 1]), parse_path(fields[at + 2])
            if old and new and old.parent is None and new.parent is None and old.id == new.id:
                moves[old.record_dir] = new.record_dir
    return moves


def carry_children(git: Git, upstream: str, moves: dict[str, str]) -> int:
    """Rewrite the rebased commits (``upstream..HEAD``) so no file stays in a moved
    record's old directory; returns how many files were carried (0: nothing rewritten)."""
    moves = _stranded(git, moves)
    if not moves:
        return 0
    listing = git.out("rev-list", "--reverse", "--topo-order", "--parents", f"{upstream}..HEAD")
    rewritten: dict[str, str] = {}
    carried = 0
    with tempfile.TemporaryDirectory(prefix="salesctl-sync-") as tmp:
        trees = git.with_env(GIT_INDEX_FILE=str(Path(tmp) / "index"))
        for line in listing.splitlines():
            commit, *parents = line.split()
            new_parents = [rewritten.get(p, p) for p in parents]
            tree, count = _carried_tree(trees, commit, moves)
            carried += count
            if count or new_parents != parents:
                rewritten[commit] = _recommit(git, commit, tree, new_parents)
    head = git.out("rev-parse", "HEAD")
    if head in rewritten:
        moved = git.call("reset", "--keep", "--quiet", rewritten[head])
        if moved.returncode != 0:
            raise Conflict(
                f"sync could not move the files of a moved record: {git_message(moved.stderr)}",
                "your commits are rebased but not pushed; fix what git says and sync again",
            )
    return carried


def _stranded(git: Git, moves: dict[str, str]) -> dict[str, str]:
    """The moves whose old directory HEAD still has files in, without the record file."""
    if not moves:
        return {}
    listed = git.out("ls-tree", "-r", "--name-only", "-z", "--full-tree", "HEAD", "--", *moves)
    paths = set(listed.split("\0"))
    return {
        old: new
        for old, new in moves.items()
        if record_file_of(old) not in paths and any(p.startswith(f"{old}/") for p in paths)
    }


def _carried_tree(trees: Git, commit: str, moves: dict[str, str]) -> tuple[str, int]:
    """The commit's tree with every file of a moved record's old directory in its new
    one (when the tree has the record in the new place only), and how many files moved."""
    dirs = [d for pair in moves.items() for d in pair]
    listed = trees.out("ls-tree", "-r", "-z", "--full-tree", commit, "--", *dirs).split("\0")
    entries = {path: info.split() for info, _, path in (e.partition("\t") for e in listed if e)}
    changes: list[str] = []
    for old, new in moves.items():
        stranded = [p for p in entries if p.startswith(f"{old}/")]
        if not stranded or record_file_of(old) in entries or record_file_of(new) not in entries:
            continue  # nothing left behind, or the record is not (only) in its new place
        for path in stranded:
            target = new + path[len(old) :]
            mode, _type, blob = entries[path]
            if target in entries and entries[target][2] != blob:
                raise Conflict(
                    f"{path} and {target} differ, and both belong to the moved record",
                    "keep one of them (`git rm` the other, then commit) and sync again",
                )
            changes += [f"0 {'0' * 40}\t{path}", f"{mode} {blob}\t{target}"]
    if not changes:
        return trees.out("rev-parse", f"{commit}^{{tree}}"), 0
    trees.out("read-tree", commit)
    trees.out("update-index", "--index-info", input="\n".join(changes) + "\n")
    return trees.out("write-tree"), len(changes) // 2


def _recommit(git: Git, commit: str, tree: str, parents: list[str]) -> str:
    """``commit`` again with this tree and these parents: its author, date and message."""
    who = git.out("log", "-1", "--format=%an%x00%ae%x00%ad", "--date=raw", commit)
    name, email, date = who.split("\0")
    raw = git.out("cat-file", "commit", commit)
    message = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
    author = git.with_env(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_AUTHOR_DATE=date)
    args = [arg for parent in parents for arg in ("-p", parent)]
    return author.out("commit-tree", tree, *args, input=message + "\n")
