"""Running git for ``sync`` (its own environment: committer, no prompts, no housekeeping)
and git's complaints turned into one line that keeps the cause."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from salesctl.git import GitError, git_env

MESSAGE_LIMIT = 600  # characters of git's complaint kept on the error line


@dataclass
class Git:
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def call(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        env = git_env(self.env)
        return subprocess.run(
            # fetch and rebase would start housekeeping inside the race window: sync runs
            # it once, after pushing
            ["git", "-c", "maintenance.auto=false", "-c", "gc.auto=0", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            env=env,
            input=input,
            check=False,
        )

    def out(self, *args: str, input: str | None = None) -> str:
        proc = self.call(*args) if input is None else self.call(*args, input=input)
        if proc.returncode != 0:
            said = git_message(proc.stderr) or str(proc.returncode)
            raise GitError(f"git {args[0]} failed: {said}")
        return proc.stdout.strip()

    def maybe(self, *args: str) -> str | None:
        proc = self.call(*args)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def blob(self, blob: str) -> bytes:
        proc = subprocess.run(
            ["git", "cat-file", "blob", blob],
            cwd=self.root,
            capture_output=True,
            check=False,
            env=git_env(self.env),
        )
        return proc.stdout

    def with_env(self, **env: str) -> Git:
        return Git(self.root, {**self.env, **env})


def git_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """git's stderr on one line: its ``fatal:``/``error:`` lines with the file lists
    indented under them (the cause, and what to fix), else all it said; hints dropped."""
    groups: list[str] = []
    others: list[str] = []
    in_error = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("hint:"):
            continue
        if stripped.startswith(("fatal:", "error:")):
            groups.append(stripped)
            in_error = True
        elif in_error and line[:1] in ("\t", " "):
            groups[-1] += (" " if groups[-1].endswith(":") else ", ") + stripped
        else:
            in_error = False
            others.append(stripped)
    said = "; ".join(groups) if groups else " ".join(others)
    return said if len(said) <= limit else said[: limit - 1] + "…"
