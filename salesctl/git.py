"""The git layer: one commit per command, only our paths, atomic, serialised, recoverable.

Writes go through git's plumbing on the command line, never GitPython's index objects
(4.4 s per add+commit at 100,000 files, no index v4) nor porcelain that would sweep up a
user's unrelated edits. A change is applied in this order, under a per-clone lock:

1. refuse if a path we touch has uncommitted edits (we must not commit someone's work);
2. write a journal naming the paths and the old HEAD;
3. write the files atomically (temp file, fsync, rename) and delete removed ones;
4. build the commit's tree from the old commit's trees, rewriting only the directories
   along our paths (``git mktree``; a big change's blobs and trees go into one pack
   instead), so the user's staged changes stay out of it, then ``commit-tree``; meanwhile
   a copy of the user's index takes our paths, under git's index lock
   (``git_user_index.py``);
5. compare-and-swap the branch with ``update-ref HEAD <new> <old>``;
6. the copy becomes the user's index (or, if git's lock was busy, the index is refreshed
   for our paths only), then delete the journal.

A crash anywhere leaves HEAD wholly old or wholly new. The next command, a read too, finds
the journal and makes the journal's paths match HEAD again (roll forward if the ref moved,
roll back if it did not), and removes the temp files the dead command left. The lock is
``flock`` on a file in the git dir: the kernel drops it when its holder dies, so there are
no stale locks.

Here: ``Repo`` (reading HEAD, applying a change) and the change's files. Running a git
process is ``git_run.py``; the lock, the journal and recovery are in ``git_journal.py``;
the user's index in ``git_user_index.py``; building the tree and writing objects
(``mktree`` or a pack) in ``git_trees.py``; atomic file writes in ``atomic.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from salesctl import git_journal
from salesctl.atomic import refuse_blocked, remove_files, write_atomic
from salesctl.errors import BranchMoved, Conflict, SalesctlError
from salesctl.git_head import UNSURE, head_from_files, head_not_holding
from salesctl.git_journal import LOCK_TIMEOUT_SECONDS
from salesctl.git_run import REAL_OBJECTS_ENV as REAL_OBJECTS_ENV
from salesctl.git_run import TRACE as TRACE
from salesctl.git_run import GitError as GitError
from salesctl.git_run import git_argv as git_argv
from salesctl.git_run import git_env as git_env
from salesctl.git_run import run_git as run_git
from salesctl.git_run import trace as trace
from salesctl.git_trees import Pack, Trees, blob_ids

if TYPE_CHECKING:
    from salesctl.git_user_index import Staged

# A change writing more files than this (an import) has its objects written as one pack: git
# writes a file per loose object (10,000 leads: 3-8 s of hash-object and mktree on a slow VM).
PACK_ABOVE = 200
FILTERED_ROOTS = ("toolkit/",)  # files hashed through .gitattributes filters (Git LFS)


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass
class Change:
    """What one command changes: files to write (path -> bytes) and paths to delete."""

    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)

    @property
    def paths(self) -> list[str]:
        return sorted(set(self.writes) | self.deletes)

    def __bool__(self) -> bool:
        return bool(self.writes or self.deletes)

    @property
    def packed(self) -> bool:
        """Big enough (an import) for its objects to go to git as one pack."""
        return len(self.writes) > PACK_ABOVE


def blob_id(content: bytes) -> str:
    """git's object id of a blob with this content (SHA-1 repositories)."""
    import hashlib  # not at import: OpenSSL's 3 ms, and reads never hash

    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324


class Repo:
    """A git work tree; ``root`` is the top directory of the store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._git_dir: Path | None = None

    # -- running git -----------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> str:
        return self.run_bytes(*args, input=input, env=env, check=check).decode("utf-8", "replace")

    def run_bytes(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        """``run``, returning git's output as bytes (binary objects, NUL-separated paths)."""
        return run_git(self.root, args, input=input, env=env, check=check)

    @property
    def owns_root(self) -> bool:
        """Is the store the top of its own git work tree (required for writes)?"""
        return (self.root / ".git").exists()

    @property
    def git_dir(self) -> Path:
        if self._git_dir is None:
            dot_git = self.root / ".git"
            if dot_git.is_dir():
                self._git_dir = dot_git
            elif dot_git.is_file():  # a linked worktree or submodule: .git names the real dir
                self._git_dir = Path(self.run("rev-parse", "--absolute-git-dir").strip())
            else:
                raise GitError(
                    f"{self.root} is not the top of a git repository, so it is read-only",
                    "copy it into a store of its own with `salesctl init PATH --sample`, "
                    "or run `git init` there",
                )
        return self._git_dir

    @property
    def state_dir(self) -> Path:
        """salesctl's private, never-committed state: lock, journal, index cache."""
        path = self.git_dir / "salesctl"
        path.mkdir(exist_ok=True)
        return path

    def head(self) -> str | None:
        found = head_from_files(self.root)  # a git process is 3-5 ms of a read
        if found != UNSURE:
            return found
        out = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip()
        return out or None

    def data_commit(self, skip_action_prefix: str = "report.") -> str | None:
        """The newest commit that is not salesctl's own report commit: what a report's data
        came from, so committing a report does not change the next report's source."""
        if (quick := head_not_holding(self.root, skip_action_prefix.encode())) is not None:
            return quick  # HEAD's loose commit names no report: no git process
        first = None
        for depth in ("1", "50"):  # git log -n 50 costs 20 ms on 50,000 commits, -n 1 none
            out = self.run(
                "log",
                "-n",
                depth,
                "--format=%H %(trailers:key=Salesctl-Action,valueonly,separator=)",
                check=False,
            )
            for line in out.splitlines():
                commit, _, action = line.partition(" ")
                first = first or commit
                if not action.strip().startswith(skip_action_prefix):
                    return commit
        return first

    def config_value(self, key: str) -> str | None:
        out = self.run("config", "--get", key, check=False).strip()
        return out or None

    # -- lock, journal and recovery (the mechanism: git_journal.py) ------------------------

    def lock(
        self, timeout: float = LOCK_TIMEOUT_SECONDS
    ) -> contextlib.AbstractContextManager[None]:
        """Serialise mutating commands in this clone (cron and a person at once queue)."""
        return git_journal.lock(self.state_dir / "lock", timeout)

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.json"

    def recover(self) -> str | None:
        """Finish or undo a change a crashed command left; returns what was done. Call with
        the lock held."""
        return git_journal.recover(self)

    def recover_for_read(self) -> SalesctlError | None:
        """Before a command reads: finish or undo an interrupted change, as a write would;
        never raises, returns why a pending change was left (for a warning), or None."""
        return git_journal.recover_for_read(self)

    def restore(self, paths: Sequence[str], commit: str | None) -> None:
        """Make the work tree and index match ``commit`` for exactly these paths."""
        in_commit = self.paths_in(paths, commit)
        present = [p for p in paths if in_commit.get(p)]
        absent = [p for p in paths if not in_commit.get(p)]
        if present and commit:
            self.run(
                "checkout",
                commit,
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
                input=nul(present),
            )
        remove_files(self.root, absent)
        if absent:
            self.run("update-index", "--force-remove", "-z", "--stdin", input=nul(absent))

    # -- reading HEAD ----------------------------------------------------------------------

    def paths_in_head(self, paths: Sequence[str]) -> dict[str, str | None]:
        """Blob id in HEAD of each path (None where HEAD has no such file)."""
        return self.paths_in(paths, self.head())

    def paths_in(self, paths: Sequence[str], commit: str | None) -> dict[str, str | None]:
        """Blob id in ``commit`` of each path (None where it has no such file)."""
        if not paths or commit is None:
            return {p: None for p in paths}
        return blob_ids(self.run_bytes, commit, paths)

    # -- committing ------------------------------------------------------------------------

    def guard_uncommitted(self, paths: Sequence[str]) -> None:
        """Refuse to touch files that hold someone's uncommitted edits."""
        in_head = self.paths_in_head(paths)
        for path in paths:
            full = self.root / path
            try:
                current: str | None = blob_id(full.read_bytes())
            except FileNotFoundError:
                current = None
            except IsADirectoryError:
                current = "dir"
            if current != in_head.get(path):
                raise Conflict(
                    f"{path} has uncommitted changes",
                    f"commit them, or discard them with `git checkout HEAD -- {path}`"
                    if in_head.get(path)
                    else f"move the untracked file away: {path}",
                )

    def apply(
        self,
        change: Change,
        *,
        author: Author,
        message: str,
        commit: bool,
        alongside: Callable[[str | None], None] | None = None,
        streamed: Staged | None = None,
    ) -> str | None:
        """Write ``change`` into the work tree and (with ``commit``) make one commit of it.

        Call with the lock held. Returns the new commit id, or None without ``commit``.
        ``alongside(commit id or None)`` runs once the files are written and the branch
        has moved, while git refreshes the user's index (an import's index rows: the two
        took 1.5 s each, one after the other). ``streamed``: a copy of the user's index
        that took the change's entries as they were staged (``Staged.stream``); ``apply``
        finishes or abandons it.
        """
        paths = change.paths
        early = change.packed and not any(p.startswith(FILTERED_ROOTS) for p in paths)
        streamed, old = self._before_writing(change, commit, early, streamed)
        if not commit:
            _write_files(self.root, change, self.state_dir)
            if alongside is not None:
                alongside(None)
            return None
        staged, new = self._write_and_commit(change, old, author, message, early, streamed)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as refresher:
            refreshed = refresher.submit(self._point_user_index, paths, staged)
            try:
                if alongside is not None:
                    alongside(new)
            finally:
                # The commit is whole once git's index is: whatever the caller's part did.
                refreshed.result()
                self.journal_path.unlink()
                self._extend_commit_graph()
        return new

    def _before_writing(
        self, change: Change, commit: bool, early: bool, streamed: Staged | None
    ) -> tuple[Staged | None, str | None]:
        """The checks before any file is written, and the journal entry that lets a killed
        write be undone: (the streamed index copy if it is still of use, the commit we start
        from)."""
        try:
            refuse_blocked(self.root, change.writes)
            if streamed is not None and not (
                commit and early and streamed.entries_done(change.writes, change.deletes)
            ):
                streamed.abandon()
                streamed = None
            if not commit:
                return None, None
            old = self.head()
            # A path that is not on disk cannot hold uncommitted edits unless we delete it.
            self.guard_uncommitted(
                [p for p in change.paths if p in change.deletes or os.path.lexists(self.root / p)]
            )
            git_journal.write(self.journal_path, old, None, change.paths)
            return streamed, old
        except BaseException:
            if streamed is not None:
                streamed.abandon()
            raise

    def _write_and_commit(
        self,
        change: Change,
        old: str | None,
        author: Author,
        message: str,
        early: bool,
        staged: Staged | None,
    ) -> tuple[Staged | None, str]:
        """Write the files, make the commit and move the branch to it; on any failure put
        the files back as they were at ``old`` (the ref never moved to ours; if someone else
        moved it meanwhile, their commit is left alone). Returns (the staged index copy,
        the new commit)."""
        from salesctl.git_user_index import Staged  # a write's cost, not a read's

        paths = change.paths
        try:
            # The user's index takes our paths while the commit is built, under git's lock;
            # a big change's entries while it is staged and its files written, by blob id
            # (git_user_index.py).
            if early and staged is None:
                staged = Staged.stream(self)
                if staged is not None:
                    staged.entries_done(change.writes, change.deletes)
            # Writing a packed change's files while its pack is built gained nothing: four
            # alternating pairs of 10,000-row imports, -0.34 to +0.26 s (2026-12-05).
            _write_files(self.root, change, self.state_dir)
            if not early:
                staged = Staged.start(self, paths)
            elif staged is not None:
                staged.files_written()
            new = self._commit(change, old, author, message)
            git_journal.write(self.journal_path, old, new, paths)
            note = f"salesctl: {message.splitlines()[0]}"
            try:
                self.run("update-ref", "-m", note, "HEAD", new, old or "")
            except GitError:
                if (moved := self.head()) == old:
                    raise
                raise BranchMoved(old, moved) from None
        except BaseException:
            if staged is not None:
                with contextlib.suppress(Exception):
                    staged.abandon()
            with contextlib.suppress(Exception):
                self.restore(paths, old)
                self.journal_path.unlink()
            raise
        return staged, new

    def _extend_commit_graph(self) -> None:
        """Add our commit to the clone's commit-graph, with its changed-path Bloom filter,
        so ``history``'s path-limited logs stay fast: a new layer of just the new commits
        (≈ 20 ms at 50,000 commits). Only where the clone keeps a commit-graph already: a
        first one computes every commit's filter (tens of seconds), which is the user's
        call (docs/collaboration.md)."""
        info = self.git_dir / "objects" / "info"
        if (info / "commit-graph").exists() or (info / "commit-graphs").is_dir():
            self.run("commit-graph", "write", "--split", "--reachable", "--changed-paths",
                     check=False)  # fmt: skip

    def _commit(self, change: Change, old: str | None, author: Author, message: str) -> str:
        written = sorted(change.writes)
        pack = Pack() if change.packed else None
        if pack is not None:
            blobs = [pack.add(b"blob", change.writes[path]) for path in written]
        else:
            blobs = self._hash_files(written)
        changes: dict[str, str | None] = dict.fromkeys(change.deletes - set(written))
        changes.update(zip(written, blobs, strict=True))
        trees = Trees(self)
        tree = trees.tree_with(old, changes, pack.trees if pack is not None else trees.mktree)
        if pack is not None:
            self.run_bytes("index-pack", "--stdin", input=pack.data())
        args = ["commit-tree", tree]
        if old:
            args += ["-p", old]
        signing = self.run("config", "--type=bool", "--get", "commit.gpgsign", check=False)
        if signing.strip() == "true":  # honour the user's signing setup (ssh or gpg)
            args.append("-S")
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        return self.run(*args, "-F", "-", input=message.encode(), env=identity).strip()

    def _hash_files(self, paths: Sequence[str]) -> list[str]:
        """Write these work tree files as loose blobs; their ids."""
        if not paths:
            return []
        # Toolkit files go through the store's .gitattributes filters: with Git LFS set up
        # (``salesctl toolkit init``) the blob is the LFS pointer and git-lfs keeps the file.
        filtered = [p for p in paths if p.startswith(FILTERED_ROOTS)]
        ids = dict(zip(filtered, self._hash(filtered, filters=True), strict=True))
        plain = [p for p in paths if not p.startswith(FILTERED_ROOTS)]
        ids.update(zip(plain, self._hash(plain, filters=False), strict=True))
        return [ids[p] for p in paths]

    def _hash(self, paths: Sequence[str], *, filters: bool) -> list[str]:
        if not paths:
            return []
        return self.run(
            "hash-object",
            "-w",
            *(() if filters else ("--no-filters",)),
            "--stdin-paths",
            input="".join(f"{p}\n" for p in paths).encode(),
        ).split()

    def _point_user_index(self, paths: Sequence[str], staged: Staged | None) -> None:
        """The user's index as our commit left the paths: the staged copy, or refreshed
        for them now (git's lock was busy when the commit began)."""
        from salesctl.git_user_index import refresh

        if staged is None or not staged.finish():
            refresh(self, paths)


def nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode() + b"\0" for p in paths)


FSYNC_EACH_UP_TO = 16  # bigger changes (imports) sync once at the end: 10k fsyncs cost ~2 s


def _write_files(root: Path, change: Change, tmp_dir: Path) -> None:
    each = len(change.writes) <= FSYNC_EACH_UP_TO
    # A big change's temp files go next to their targets: renaming 10,000 files out of one
    # directory into others cost 2-3 s on ext4, a rename within a directory 0.2-0.5 s.
    # Recovery removes such temp files too (the journal names their directories).
    temps = tmp_dir if each else None
    for path, content in sorted(change.writes.items()):
        write_atomic(root / path, content, tmp_dir=temps, fsync=each)
    remove_files(root, sorted(change.deletes - set(change.writes)))
    if not each:
        os.sync()
