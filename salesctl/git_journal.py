"""The per-clone lock, and recovery from a change a crashed command left half done.

``Repo.apply`` writes a journal (``.git/salesctl/journal.json``: the old HEAD, the new one
once its commit exists, the paths it touches) before it writes a file, and deletes it last.
The next command, a read too, finds a journal and makes its paths match HEAD again: rolled
forward if the ref moved to the new commit, rolled back if not; it refuses if someone
committed since. It also deletes the temp files of dead writers (``atomic.py``). All of it
runs under the lock: ``flock`` on a file in the git dir, which the kernel drops when its
holder dies, so there are no stale locks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from salesctl.atomic import remove_dead_temp_files, write_atomic
from salesctl.errors import Conflict, SalesctlError

if TYPE_CHECKING:
    from salesctl.git import Repo

LOCK_TIMEOUT_SECONDS = float(os.environ.get("SALESCTL_LOCK_TIMEOUT", "120"))


def write(path: Path, old: str | None, new: str | None, paths: Sequence[str]) -> None:
    """The journal of a change from commit ``old`` (to ``new``, once it exists) of ``paths``."""
    write_atomic(path, json.dumps({"old": old, "new": new, "paths": paths}).encode())


class LockBusy(Conflict):
    """Another live command holds the clone's lock."""


@contextlib.contextmanager
def lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """``Repo.lock``: hold ``path``'s ``flock``, waiting up to ``timeout`` seconds."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise LockBusy(
                        f"another salesctl command has held the store lock for {timeout:.0f}s",
                        "wait for it to finish, or raise $SALESCTL_LOCK_TIMEOUT",
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing drops the flock


def recover(repo: Repo) -> str | None:
    """Finish or undo a change a crashed command left; returns what was done.

    Call with the lock held: then no command of this clone is writing, so the temp files
    of dead processes are debris (a live pid's are left alone all the same)."""
    journal = repo.journal_path
    # A small directory, listed only by writers and a read that found a journal: a
    # command killed while writing the journal itself leaves a temp file and no journal.
    remove_dead_temp_files(repo.state_dir)
    if not journal.exists():
        return None
    try:
        state = json.loads(journal.read_text())
        paths: list[str] = state["paths"]
    except (ValueError, KeyError):
        journal.unlink()
        return None
    head = repo.head()
    if head not in (state.get("old"), state.get("new")):
        raise Conflict(
            f"an interrupted salesctl change ({len(paths)} paths) predates commits made since",
            f"compare its paths with `git status`, then delete {journal}",
        )
    # ``write_atomic``'s fallback puts temp files next to their targets (another file
    # system): only the journal's directories can hold ours. Before the rollback, which
    # removes the directories they leave empty.
    for directory, names in _names_by_directory(paths).items():
        remove_dead_temp_files(repo.root / directory, names)
    from salesctl.git_user_index import remove_stale  # imports git.py, which imports us

    remove_stale(repo)  # git's index lock, if the dead command held it: restore needs it
    repo.restore(paths, head)
    journal.unlink()
    return "rolled forward" if head and head == state.get("new") else "rolled back"


def recover_for_read(repo: Repo) -> SalesctlError | None:
    """Before a command reads: finish or undo an interrupted change, as a write would.

    Costs a few ``stat`` calls when there is no journal. Never raises, so reads work on stores
    they cannot write; returns why a pending change was left (for a warning), or None.
    A journal under a lock someone holds is a live command's: not ours to touch."""
    if not repo.owns_root:
        return None  # outside git (the bundled sample): read-only, never journalled
    try:
        journal = repo.git_dir / "salesctl" / "journal.json"  # not state_dir: no mkdir
        if not journal.exists():
            return None
        with repo.lock(timeout=0):
            recover(repo)
    except LockBusy:
        return None
    except Conflict as exc:  # HEAD moved since: its message says what to do
        return exc
    except (SalesctlError, OSError) as exc:  # a read-only file system, no permission
        reason = exc.strerror if isinstance(exc, OSError) else exc.message
        return Conflict(
            "an interrupted salesctl change is pending (its journal is in .git/salesctl), "
            f"and this command cannot finish it: {reason or exc}",
            "run any salesctl command, e.g. `salesctl check`, as a user who can write to the store",
        )
    return None


def _names_by_directory(paths: Sequence[str]) -> dict[str, set[str]]:
    by_directory: dict[str, set[str]] = {}
    for path in paths:
        directory, _, name = path.rpartition("/")
        by_directory.setdefault(directory, set()).add(name)
    return by_directory
