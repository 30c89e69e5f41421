"""Where a command may write a file the user names with ``--out`` (``calendar export``,
``toolkit get``, ``report``): one rule, so that no output lands on the store's own files.

Run in the store's top directory, ``--out salesctl.yaml`` would replace the org's config,
``--out .git/HEAD`` the repository's branch pointer, a record path a record; a new file
anywhere in the work tree is a stray every later ``git status`` shows. So a path inside the
store's work tree or its git directory is refused (its directories' symlinks resolved), as
is a symlink as the file itself (it could point anywhere, the store included), and an
existing file is replaced only with ``--force``. ``report --out`` commits a file inside the
store with ``--commit``; it asks ``store_place`` and goes its own way there.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from salesctl.errors import Invalid, SalesctlError

if TYPE_CHECKING:
    from salesctl.store.store import Store

WRITABLE = "give --out a path you may write"
ELSEWHERE = "save it outside the store, e.g. under ~/Downloads/"


def store_place(store: Store, target: Path) -> str | None:
    """``target``'s path inside the store as git names it (``.git/...`` for one inside its
    git directory, wherever that is), or None outside. A symlink as ``target`` is refused:
    where it points is not where the user asked to write."""
    if target.is_symlink():
        raise Invalid(f"--out {target}: is a symbolic link", f"{WRITABLE}, not a link")
    where = target.parent.resolve() / target.name  # the file itself need not exist yet
    git_dir = None
    with contextlib.suppress(SalesctlError):  # not a git repository: a read-only store
        git_dir = store.repo.git_dir.resolve()
    if git_dir is not None and where.is_relative_to(git_dir):
        return Path(".git", where.relative_to(git_dir)).as_posix()
    root = store.root.resolve()
    return where.relative_to(root).as_posix() if where.is_relative_to(root) else None


def check_out_file(store: Store, target: Path, *, force: bool = False) -> None:
    """Refuse ``target`` as a command's output file: inside the store, a symlink, a
    directory or other non-regular file, or an existing file without ``force``."""
    place = store_place(store, target)
    exists = os.path.lexists(target)
    if place is not None:
        what = "is a file of the store" if exists else "is inside the store"
        raise Invalid(f"{target} {what}", ELSEWHERE)
    if not exists:
        return
    mode = os.lstat(target).st_mode
    if stat.S_ISDIR(mode):
        raise Invalid(f"--out {target}: is a directory", f"{WRITABLE}: a file's name")
    if not stat.S_ISREG(mode):
        raise Invalid(f"--out {target}: is not a regular file", WRITABLE)
    if not force:
        raise Invalid(f"{target} exists", "give another --out, or --force to replace it")


def write_out_file(store: Store, target: Path, content: bytes, *, force: bool = False) -> Path:
    """``content`` written to ``target`` once ``check_out_file`` allows it. The file is
    created exclusively (or, with ``force``, opened without following a symlink), so a file
    or link that appears in between is not written through."""
    check_out_file(store, target, force=force)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_TRUNC if force else os.O_EXCL
    try:
        fd = os.open(target, flags, 0o666)
    except FileExistsError:
        raise Invalid(f"{target} exists", "give another --out, or --force to replace it") from None
    except OSError as exc:
        raise Invalid(f"--out {target}: {exc.strerror}", WRITABLE) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
    except OSError as exc:  # a full disk, a quota
        raise Invalid(f"--out {target}: {exc.strerror}", WRITABLE) from None
    return target
