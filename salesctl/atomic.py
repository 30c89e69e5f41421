"""Files replaced whole, and the temp files a writer killed midway leaves behind.

``write_atomic`` writes a temp file (named after its target and the writing process), syncs
it and renames it over the target, so a reader sees the old file or the new, never half of
one. A writer killed before the rename leaves its temp file; ``remove_dead_temp_files``,
called by recovery (``git_journal.py``) under the lock, deletes those whose process is gone.
Used for the work tree's record files (``Repo.apply``) and salesctl's private state in the git
dir (the journal, the outbox, webhook deliveries).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from salesctl.errors import Conflict


def write_atomic(
    target: Path, content: bytes, *, tmp_dir: Path | None = None, fsync: bool = True
) -> None:
    """Replace ``target`` with ``content`` so a reader sees the old file or the new, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_parent = tmp_dir if tmp_dir is not None else target.parent
    tmp = tmp_parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(content)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    try:
        os.replace(tmp, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        os.unlink(tmp)  # temp dir on another file system: fall back to a sibling temp file
        write_atomic(target, content, fsync=fsync)


# ``write_atomic``'s temp file names: .<target name>.<pid>.<thread id>.tmp
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9]+\.tmp")


def remove_files(root: Path, paths: Iterable[str]) -> None:
    """Delete files below ``root`` (gone already is fine) and the directories left empty."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            (root / path).unlink()
        prune_empty_dirs(root, path)


def remove_dead_temp_files(directory: Path, names: set[str] | None = None) -> None:
    """Delete the temp files in ``directory`` (for targets named ``names``, or any) whose
    writing process is gone."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return  # a directory the rollback removed, or never created
    for entry in entries:
        match = TEMP_NAME.fullmatch(entry.name)
        if match is None or (names is not None and match["name"] not in names):
            continue
        if not process_alive(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process (EPERM): alive
    return True


def prune_empty_dirs(root: Path, path: str) -> None:
    parent = (root / path).parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def refuse_blocked(root: Path, paths: Iterable[str]) -> None:
    """``Conflict`` naming ``blocked_directory``'s find, with how to clear it."""
    blocked = blocked_directory(root, paths)
    if blocked is not None:
        raise Conflict(
            f"{blocked} is a file where salesctl needs a directory",
            f"move it away, e.g. `mv {blocked} {blocked}.moved`, and run the command again",
        )


def blocked_directory(root: Path, paths: Iterable[str]) -> str | None:
    """The first directory these files need that something else holds (a file or a
    symlink where ``pool/leads`` should be), or None: found before anything is written,
    it is the user's to move, not a half-written change to undo."""
    seen: set[str] = set()
    for path in paths:
        directory = path.rpartition("/")[0]
        while directory and directory not in seen:
            seen.add(directory)
            try:
                mode = os.lstat(root / directory).st_mode
            except (FileNotFoundError, NotADirectoryError):  # not there, or under a file
                directory = directory.rpartition("/")[0]
                continue
            if not stat.S_ISDIR(mode):
                return directory
            break  # an existing directory: the ones above it exist too
    return None
