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
  index, and no blob is written loose before the commit's pack brings it;
- a big change's entries go in by blob id (``--index-info``), streamed to one git process
  as the transaction stages them (``stream``, ``add``; ``entries_done`` sends what staging
  did not, e.g. sealed contents), their stat data once the files are written
  (``files_written``): git's inserts (1.3 s for an import, each moving every entry after
  it) overlap with staging, the files and the pack;
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
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

from salesctl import git_split_index
from salesctl.atomic import TEMP_NAME, process_alive, remove_dead_temp_files
from salesctl.git import GitError, Repo, blob_id, git_argv, git_env, nul, run_git, trace

LOCK_MARK = b"salesctl "


class Staged:
    """Our paths in a copy of the user's index, under git's index lock, till ``finish``."""

    def __init__(self, repo: Repo, copy: Path, *, by_id: bool) -> None:
        self.repo = repo
        self.copy = copy
        self.env = {"GIT_INDEX_FILE": str(copy)}
        self.config: tuple[str, ...] = ()  # the split index's settings, read by the thread
        self.failed = False
        self.by_id = by_id  # entries come by blob id (``add``), before the files are written
        self.sent: dict[str, tuple[bytes | None, str | None]] = {}  # path: (content, blob id)
        self._lines: list[bytes] = []  # ``--index-info`` lines not yet handed to the thread
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stat_paths: list[str] = []  # whose stat data to take once the files are written
        self._written = threading.Event()  # the files are in the work tree (or never will be)
        self._proc: subprocess.Popen[bytes] | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._update, daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, repo: Repo, paths: Sequence[str]) -> Staged | None:
        """Lock the user's index and take ``paths`` (their files written already) into a copy
        of it; None if it is busy."""
        copy = _lock(repo)
        if copy is None:
            return None
        staged = _started(cls, repo, copy, by_id=False)
        staged._stat_paths = list(paths)
        staged._written.set()
        return staged

    @classmethod
    def stream(cls, repo: Repo) -> Staged | None:
        """Lock the user's index and start a copy that takes entries by blob id as they are
        ``add``-ed, before any file is written; None if it is busy. ``entries_done`` ends
        them, ``files_written`` says their stat data can be taken."""
        copy = _lock(repo)
        return None if copy is None else _started(cls, repo, copy, by_id=True)

    def add(self, path: str, content: bytes | None) -> None:
        """``path`` will hold ``content`` (None: deleted); the last word on a path wins."""
        oid = None if content is None else blob_id(content)
        self.sent[path] = (content, oid)
        self._lines.append(_info_line(path, oid))
        if len(self._lines) >= 256:  # handed over in batches: a queue item costs ≈ 1 µs
            self._queue.put(b"".join(self._lines))
            self._lines.clear()

    def entries_done(self, writes: Mapping[str, bytes], deletes: AbstractSet[str]) -> bool:
        """The change as it will be committed: send what ``add`` did not say (or said
        otherwise), and end the entries. False if a path was sent that the change no longer
        touches (its entry would have to go back to HEAD's): the caller abandons this."""
        if not self.sent.keys() <= writes.keys() | deletes:
            return False
        for path, content in writes.items():
            sent = self.sent.get(path)
            if sent is None or sent[0] is not content:  # the same object: the same blob
                self.add(path, content)
        for path in deletes - writes.keys():
            if path not in self.sent or self.sent[path][1] is not None:
                self.add(path, None)
        self._stat_paths = [p for p, (_content, oid) in self.sent.items() if oid is not None]
        self._queue.put(b"".join(self._lines))
        self._lines.clear()
        self._queue.put(None)
        return True

    def files_written(self) -> None:
        """The paths' files are in the work tree now: their stat data can be taken."""
        self._written.set()

    def _update(self) -> None:
        try:
            self.config = git_split_index.config_for(self.repo)
            if self.by_id:
                self._take_entries()
            self._written.wait()
            if not self._cancelled and self._stat_paths:
                args = ("update-index", "-z", "--add", "--remove", "--info-only", "--stdin")
                run_git(self.repo.root, args, input=nul(self._stat_paths), env=self.env,
                        config=self.config)  # fmt: skip
        except Exception:  # any failure: finish says so, and the caller falls back
            self.failed = True

    def _take_entries(self) -> None:
        """One ``update-index --index-info`` fed from the queue till its end (None)."""
        argv = git_argv(("update-index", "-z", "--index-info"), self.config)
        started = time.perf_counter()
        self._proc = proc = subprocess.Popen(
            argv, cwd=self.repo.root, env=git_env(self.env), stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdin is not None
        try:
            while (chunk := self._queue.get()) is not None and not self._cancelled:
                proc.stdin.write(chunk)
        finally:
            with contextlib.suppress(OSError):  # a git that died: its exit status says so
                proc.stdin.close()
            code = proc.wait()
        trace("update-index -z --index-info (streamed)", started)
        if code != 0:
            raise GitError(f"git update-index failed: exit status {code}")

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
        """The commit failed (or will not be made): drop the copy and the lock; the user's
        index is as it was."""
        self._cancelled = True
        self._queue.put(None)
        self._written.set()
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.terminate()  # git removes its lock on the copy as it goes
        self._thread.join()
        self._release()

    def _release(self) -> None:
        _unlink(self.copy)
        _unlink(self.copy.with_name(self.copy.name + ".lock"))  # git's, if it died writing
        _unlink(self.repo.git_dir / "index.lock")


def _lock(repo: Repo) -> Path | None:
    """Take git's index lock as git does and copy the index beside it; the copy's path, or
    None when the lock is busy or the user works with another index (``GIT_INDEX_FILE``:
    update that one afterwards)."""
    if "GIT_INDEX_FILE" in os.environ:
        return None
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
        return copy
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        _unlink(copy)
        _unlink(lock)
        raise


def _started(cls: type[Staged], repo: Repo, copy: Path, *, by_id: bool) -> Staged:
    try:
        return cls(repo, copy, by_id=by_id)
    except BaseException:
        _unlink(copy)
        _unlink(repo.git_dir / "index.lock")
        raise


def _info_line(path: str, oid: str | None) -> bytes:
    line = f"0 {'0' * 40}\t{path}\0" if oid is None else f"100644 {oid}\t{path}\0"
    return line.encode("utf-8", "surrogateescape")


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
