"""The user's git index, brought up to date with a salesctl commit while the commit is made.

After a commit salesctl points the user's index (``.git/index``) at the files it wrote, so
``git status`` stays clean: ``update-index`` of its paths, then ``write-tree`` for the cached
tree ids that drops (``write_tree``). At 385,000 entries git needs 1.3 s to insert an
import's 10,000 (each insert moves every entry after it) and 0.15 s for one file; done
after the commit (``refresh``), that is added to every write. ``Staged`` does it while
the commit is built instead, and no git command can see or change the index half done:

- ``start`` takes git's own lock, ``.git/index.lock``, as git does (``O_EXCL``): meanwhile a
  user's ``git commit`` fails with git's "index.lock exists" rather than taking our files
  into their commit, and ``git status`` does not write the index;
- ``update-index --info-only`` updates a copy (``GIT_INDEX_FILE``), so readers see the old
  index, and no blob is written loose before the commit's pack brings it; a big change's
  entries go in by blob id before its files are written (``--index-info``), their stat data
  after (``files_written``), so git's inserts overlap with the files and the pack;
- ``finish``, once the branch has moved: ``write-tree`` on the copy (the commit's trees are
  in by then), which replaces ``.git/index`` by a rename, as git commits its lock; the lock
  goes. False if the copy could not be made: the caller updates the index as before;
- ``abandon``, when the commit fails: the copy and the lock go, the index is untouched.

The lock says ``salesctl PID``: recovery (``git_journal.recover``) removes one whose command
died, and its copy (``remove_stale``); git's own locks, and live commands', are left alone.
When the lock is busy, or ``GIT_INDEX_FILE`` names another index, ``start`` returns None.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from salesctl import git_split_index
from salesctl.atomic import TEMP_NAME, process_alive, remove_dead_temp_files
from salesctl.git import GitError, Repo, nul, run_git

LOCK_MARK = b"salesctl "


class Staged:
    """Our paths in a copy of the user's index, under git's index lock, till ``finish``."""

    def __init__(
        self,
        repo: Repo,
        paths: Sequence[str],
        copy: Path,
        known: Mapping[str, str | None] | None,
    ) -> None:
        self.repo = repo
        self.copy = copy
        self.env = {"GIT_INDEX_FILE": str(copy)}
        self.config: tuple[str, ...] = ()  # the split index's settings, read by the thread
        self.failed = False
        self._written = threading.Event()  # the files are in the work tree (or never will be)
        self._cancelled = False
        if known is None:
            self._written.set()
        args = (list(paths), known)
        self._thread = threading.Thread(target=self._update, args=args, daemon=True)
        self._thread.start()

    @classmethod
    def start(
        cls, repo: Repo, paths: Sequence[str], known: Mapping[str, str | None] | None = None
    ) -> Staged | None:
        """Lock the user's index and start updating a copy of it; None if it is busy.

        Without ``known`` the paths' files must be written already. With it ({path: blob id,
        None: deleted}, a big change's, before its files are written) the copy takes those
        entries at once (``--index-info``: the inserts, most of git's time, overlap with
        writing the files and building the commit), and their stat data once the caller
        says ``files_written`` (the entries are in place by then: 0.2 s for 10,000)."""
        if "GIT_INDEX_FILE" in os.environ:
            return None  # the user works with another index: update that one afterwards
        lock = repo.git_dir / "index.lock"
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError:  # git (or a person) holds it, or the git dir is read-only
            return None
        # named as write_atomic's temp files are, so recovery knows a dead command's copy
        copy = repo.state_dir / f".index.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.write(fd, LOCK_MARK + b"%d\n" % os.getpid())
            os.close(fd)
            # With the index's mtime: git takes an entry as possibly changed (racily clean)
            # when its file's mtime is not older than the index, and a copy stamped now
            # would pass a file edited in the second it was recorded as unchanged for good.
            with contextlib.suppress(FileNotFoundError):  # none yet: git makes one
                shutil.copy2(repo.git_dir / "index", copy)
            return cls(repo, paths, copy, known)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            _unlink(copy)
            _unlink(lock)
            raise

    def files_written(self) -> None:
        """The paths' files are in the work tree now: their stat data can be taken."""
        self._written.set()

    def _update(self, paths: list[str], known: Mapping[str, str | None] | None) -> None:
        zeros = "0" * 40
        try:
            self.config = git_split_index.config_for(self.repo)
            if known is not None:
                info = "".join(
                    f"0 {zeros}\t{path}\0" if oid is None else f"100644 {oid}\t{path}\0"
                    for path, oid in known.items()
                )
                self._git("--index-info", input=info.encode("utf-8", "surrogateescape"))
                paths = [p for p, oid in known.items() if oid is not None]
            self._written.wait()
            if not self._cancelled and paths:
                self._git("--add", "--remove", "--info-only", "--stdin", input=nul(paths))
        except Exception:  # any failure: finish says so, and the caller falls back
            self.failed = True

    def _git(self, *args: str, input: bytes) -> None:
        run_git(
            self.repo.root,
            ("update-index", "-z", *args),
            input=input,
            env=self.env,
            config=self.config,
        )

    def finish(self) -> bool:
        """Once the branch has moved: the copy becomes the user's index, the lock goes.
        False if the copy could not be made (nothing changed; the lock is gone)."""
        self._written.set()  # (the caller said so already: the branch has moved)
        self._thread.join()
        try:
            if self.failed:
                return False
            write_tree(self.repo, self.env, self.config)
            os.replace(self.copy, self.repo.git_dir / "index")
            return True
        finally:
            self._release()

    def abandon(self) -> None:
        """The commit failed: drop the copy and the lock; the user's index is as it was."""
        self._cancelled = True
        self._written.set()
        self._thread.join()
        self._release()

    def _release(self) -> None:
        _unlink(self.copy)
        _unlink(self.repo.git_dir / "index.lock")


def refresh(repo: Repo, paths: Sequence[str]) -> None:
    """Point the user's index at our new files after the commit (only our paths; waits for
    a busy index): the way when ``Staged`` could not start."""
    config = git_split_index.config_for(repo)
    for attempt in range(50):
        try:
            run_git(
                repo.root,
                ("update-index", "--add", "--remove", "-z", "--stdin"),
                input=nul(paths),
                config=config,
            )
            break
        except GitError:
            if not (repo.git_dir / "index.lock").exists() or attempt == 49:
                raise
            time.sleep(0.1)
    write_tree(repo, {}, config)


def write_tree(repo: Repo, env: dict[str, str], config: Sequence[str]) -> None:
    """Restore the cached tree ids (the cache-tree) ``update-index`` dropped.

    It drops them for every directory above our paths, and nothing of ours ever restores
    them: after a hundred commits in different directories ``git status`` (the user's, and
    every salesctl read that asks it) re-reads most trees of HEAD, seconds at 384,000 files.
    ``write-tree`` recomputes just the dropped ones and saves them (0.2-0.4 s there,
    milliseconds on small stores). It fails harmlessly mid-merge (unmerged entries) or with
    a busy index. ``--missing-ok``: no lookup of every entry's object in the directories it
    hashes again (0.2 s of every write in a pool of 130,000 leads). Our entries' objects are
    in the commit just made; the others' were written or checked out by git."""
    run_git(repo.root, ("write-tree", "--missing-ok"), env=env, check=False, config=config)


def remove_stale(repo: Repo) -> None:
    """Remove the index lock and copies a salesctl command that died left behind."""
    lock = repo.git_dir / "index.lock"
    with contextlib.suppress(OSError, ValueError):
        with open(lock, "rb") as fh:
            head = fh.read(64)
        if head.startswith(LOCK_MARK) and not process_alive(int(head[len(LOCK_MARK) :])):
            _unlink(lock)
    remove_dead_temp_files(repo.state_dir)  # the copy
    with contextlib.suppress(OSError):  # and git's lock on it, if it died writing the copy
        for entry in os.scandir(repo.state_dir):
            match = TEMP_NAME.fullmatch(entry.name.removesuffix(".lock"))
            if entry.name.endswith(".lock") and match and not process_alive(int(match["pid"])):
                _unlink(Path(entry.path))


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
