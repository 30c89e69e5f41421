"""Running git: every git process salesctl starts goes through ``run_git`` (real objects
only, its time traced with ``SALESCTL_TRACE``, a failure as ``GitError``)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from salesctl.errors import SalesctlError

TRACE = bool(os.environ.get("SALESCTL_TRACE"))  # time every git call on stderr

# git reads a replacement (refs/replace/*) or a graft in place of the object a commit names.
# A pushed replace ref could swap salesctl.yaml's blob for the pre-receive hook, so every git
# salesctl runs reads the real objects only. (A graft file that does not exist is silently
# empty; /dev/null would make git print its grafts deprecation advice on every call.)
REAL_OBJECTS_ENV = {
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_GRAFT_FILE": os.path.join(os.sep, "nonexistent", "salesctl-no-grafts"),
}


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a git subprocess: ours, reading real objects only, plus ``extra``."""
    return {**os.environ, **REAL_OBJECTS_ENV, **(extra or {})}


class GitError(SalesctlError):
    pass


def trace(what: str, started: float, kind: str = "git") -> None:
    """With ``SALESCTL_TRACE``: log how long a git call (or another ``kind`` of step, e.g. a
    build's stages) took (``started``: its perf_counter)."""
    if TRACE:
        import logging

        elapsed = (time.perf_counter() - started) * 1000
        logging.getLogger("salesctl.trace").debug("%s %s %.0f ms", kind, what[:60], elapsed)


def git_argv(args: Sequence[str], config: Sequence[str] = ()) -> list[str]:
    """``git -c CONFIG... ARGS``."""
    return ["git", *(part for item in config for part in ("-c", item)), *args]


def run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    config: Sequence[str] = (),
) -> bytes:
    """Run ``git -c CONFIG... ARGS`` in ``cwd``; its output, or ``GitError`` with git's last
    line of complaint when it fails (unless ``check`` is off)."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            git_argv(args, config), cwd=cwd, input=input, capture_output=True, env=git_env(env),
            check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise GitError("git is not installed", "install git and try again") from None
    trace(" ".join(args), started)
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc.stdout
