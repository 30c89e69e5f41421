"""Reading git history as data: raw tree diffs, blobs, files at a revision, commit headers.

The collaboration features (``check --range``, ``history``, ``diff``, the pre-receive hook)
read commits and blobs, never the work tree. So they behave the same in a clone, in CI on a
pull request's commits that were fetched but never checked out, and in a bare repository
during a push, where the pushed objects sit in git's quarantine directory and are reachable
only through the environment git hands the hook (which is why every call here inherits it).

Also here: ``field_changes``, the field-level comparison ``history`` and ``diff`` print
(whose directory a changed path is in: ``places.py``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesctl import sealing, yamlio
from salesctl.errors import Invalid
from salesctl.git import GitError, git_env, run_git
from salesctl.git_trees import LOOKUP_MAX, blob_ids, parse_batch
from salesctl.model.config import Config, parse_config
from salesctl.model.problems import Problem
from salesctl.model.values import to_json
from salesctl.yamlio import YamlError

CONFIG_FILE = "salesctl.yaml"
SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"  # a submodule
PIPE_BUF = 4096  # POSIX's least: a pipe write up to this size is never split
# diff-tree reads the work tree's index although comparing two trees never needs it: 90 ms
# at 384,000 files, per call. An index file that does not exist reads as empty, at once.
NO_INDEX = {"GIT_INDEX_FILE": os.path.join(os.sep, "nonexistent", "salesctl-no-index")}
# a commit's header as ``--format`` fields (joined by \x1f), as ``commit_info`` reads them
HEADER_FIELDS = (
    "%H",
    "%ct",
    "%P",
    "%an",
    "%ae",
    "%aI",
    "%(trailers:key=Salesctl-Action,valueonly,separator=%x2C)",
    "%s",
)


def refused_mode(mode: str) -> str | None:
    """Why the store refuses a file of this git mode (a symlink, a submodule), or None:
    the one rule ``check --range`` judges each commit's changes and ``check`` the committed
    tree by."""
    if mode not in (SYMLINK_MODE, GITLINK_MODE):
        return None
    what = "a symlink" if mode == SYMLINK_MODE else "a submodule"
    return f"is {what}; the store refuses symlinks and submodules"


@dataclass(frozen=True)
class FileChange:
    """One path changed between two trees (``git diff-tree --raw --no-renames``)."""

    status: str  # A added, M modified, D deleted, T type changed
    path: str
    old_mode: str
    new_mode: str
    old_blob: str | None
    new_blob: str | None


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    date: str  # author date, ISO 8601
    action: str  # the Salesctl-Action trailer, or ""
    subject: str
    timestamp: int = 0  # committer date, seconds: the order history is told in
    signature: str = ""  # %G?: G good, B bad, U unknown key, N none, E cannot check ...
    signer: str = ""  # %GS: the allowed-signers principal of a good key


class GitReader:
    """Runs git in ``cwd`` (a work tree or a bare repository) and returns bytes or text."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._empty_tree: str | None = None

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        config: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        extra = dict(env) if env else None
        return run_git(self.cwd, args, input=input, env=extra, check=check, config=config)

    def succeeds(self, *args: str) -> bool:
        """Does this git command exit 0 (``merge-base --is-ancestor`` and the like)?"""
        proc = subprocess.run(
            ["git", *args], cwd=self.cwd, capture_output=True, check=False, env=git_env()
        )
        return proc.returncode == 0

    def text(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        return self.run(*args, input=input, check=check).decode("utf-8", "surrogateescape")

    def commit(self, rev: str) -> str | None:
        """The full id of the commit ``rev`` names, or None."""
        out = self.text(
            "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        return out.strip() or None

    def require_commit(self, rev: str) -> str:
        found = self.commit(rev)
        if found is None:
            raise Invalid(f"{rev!r} is not a commit here", "fetch it first, or check the range")
        return found

    def merge_base(self, *commits: str) -> str | None:
        out = self.text("merge-base", "--octopus", *commits, check=False).split()
        return out[0] if out else None

    @property
    def empty_tree(self) -> str:
        if self._empty_tree is None:
            self._empty_tree = self.text("hash-object", "-t", "tree", "/dev/null").strip()
        return self._empty_tree

    # -- trees ------------------------------------------------------------------------------

    def diff(self, old: str | None, new: str, paths: Sequence[str] = ()) -> list[FileChange]:
        """Every path that differs between two commits (or trees); ``old`` None = empty."""
        out = self.run(
            "diff-tree",
            "-r",
            "-z",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "--full-index",
            old or self.empty_tree,
            new,
            "--",
            *paths,
            env=NO_INDEX,
        )
        return parse_raw(out)

    def list_paths(self, rev: str, paths: Sequence[str] = ()) -> list[str]:
        out = self.run("ls-tree", "-r", "-z", "--name-only", "--full-tree", rev, "--", *paths)
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def path_log(self, path: str, rev: str = "HEAD") -> list[tuple[str, list[FileChange]]]:
        """Commits (newest first) that changed files under ``path``, with those changes.

        One literal path, so git can answer from the commit-graph's changed-path Bloom
        filters instead of diffing every commit's tree (see docs/collaboration.md)."""
        out = self.run(
            "log",
            "--format=@@%H",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            rev,
            "--",
            path,
        )
        result: list[tuple[str, list[FileChange]]] = []
        tokens = out.split(b"\0")
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n")
            if token.startswith(b"@@"):
                result.append((token[2:].decode(), []))
            elif token.startswith(b":") and result and i + 1 < len(tokens):
                result[-1][1].extend(parse_raw(token + b"\0" + tokens[i + 1] + b"\0"))
                i += 1
            i += 1
        return result

    def path_log_until(
        self, path: str, rev: str, last: Callable[[list[FileChange]], bool]
    ) -> tuple[list[tuple[str, list[FileChange]]], bool, bool, dict[str, CommitInfo]]:
        """``path_log`` read as git writes it, up to and including the first commit whose
        changes satisfy ``last``; git is stopped there instead of walking on to the root
        (to find that nothing older touches the path would cost a walk of every older
        commit). Also says whether it stopped so, and whether that commit's changes are
        known complete (if not, ``commit_changes`` reads them); and each commit's
        header (no ``git log`` of their own for the commits found).

        Complete: under ``GIT_FLUSH=1`` git writes each commit's output at once, and a
        pipe write of at most ``PIPE_BUF`` (4,096) bytes arrives whole, so a commit that
        small which ends where the bytes read so far end has nothing more to come."""
        log_format = "--format=@@" + "%x1f".join(HEADER_FIELDS)
        argv = ["git", "log", log_format, "--raw", "-z", "--no-renames", "--no-abbrev"]
        proc = subprocess.Popen(
            [*argv, rev, "--", path],
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env({"GIT_FLUSH": "1"}),  # each commit as soon as it is found
        )
        assert proc.stdout is not None
        result: list[tuple[str, list[FileChange]]] = []
        infos: dict[str, CommitInfo] = {}
        pending = b""
        arrived = complete = False
        size = 0  # bytes of the current commit's output
        try:
            while True:
                chunk = proc.stdout.read1(1 << 16)  # type: ignore[attr-defined]
                tokens = (pending + chunk).split(b"\0")
                pending = b"" if not chunk else tokens.pop()  # at the end, nothing is partial
                i = 0
                while i < len(tokens):
                    token = tokens[i].lstrip(b"\n")
                    if token.startswith(b"@@"):
                        info = commit_info(token[2:].decode("utf-8", "replace"))
                        infos[info.id] = info
                        result.append((info.id, []))
                        size = len(tokens[i]) + 1
                    elif token.startswith(b":") and result:
                        if i + 1 == len(tokens):  # its path is still to come
                            pending = tokens[i] + b"\0" + pending
                            break
                        result[-1][1].extend(parse_raw(token + b"\0" + tokens[i + 1] + b"\0"))
                        size += len(tokens[i]) + len(tokens[i + 1]) + 2
                        if last(result[-1][1]):
                            arrived = True
                            ends = i + 2 == len(tokens) and not pending
                            complete = ends and size < PIPE_BUF
                            break
                        i += 1
                    i += 1
                if arrived or not chunk:
                    break
        finally:
            proc.kill()  # before reading on: a walk left running would compete for the disk
            proc.stdout.close()
            proc.wait()
        return result, arrived, complete, infos

    def stream(self, *args: str, config: Sequence[str] = ()) -> Iterator[bytes]:
        """git's output as it is written, in chunks; git is stopped once the reader stops
        (a walk left running would compete for the disk), and a failure raises
        ``GitError`` once the output has ended."""
        argv = ["git"]
        for item in config:
            argv += ["-c", item]
        proc = subprocess.Popen(
            [*argv, *args],
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env({"GIT_FLUSH": "1"}),
        )
        assert proc.stdout is not None
        ended = False
        try:
            while chunk := proc.stdout.read1(1 << 16):  # type: ignore[attr-defined]
                yield chunk
            ended = True
        finally:
            if not ended:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            raise GitError(f"git {args[0]} failed ({code})")

    def commit_changes(self, commit: str, paths: Sequence[str]) -> list[FileChange]:
        """What a (non-merge) commit changed under ``paths``, against its parent."""
        out = self.run(
            "diff-tree", "--root", "-r", "-z", "--raw", "--no-renames", "--no-abbrev",
            commit, "--", *paths, env=NO_INDEX,
        )  # fmt: skip
        return parse_raw(out.split(b"\0", 1)[1] if not out.startswith(b":") else out)

    def blob_ids(self, rev: str, paths: Sequence[str]) -> dict[str, str | None]:
        """The blob id of each path in ``rev`` (None where there is none)."""
        return blob_ids(self.run, rev, paths) if paths else {}

    # -- blobs ------------------------------------------------------------------------------

    def blobs(self, ids: Iterable[str | None]) -> dict[str, bytes]:
        """Contents of blobs by id, in one ``cat-file --batch``; missing ones are left out."""
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", input="".join(f"{i}\n" for i in wanted).encode())
        return parse_batch(out, wanted)

    def files_at(self, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of files in ``rev`` (None where there is no such file)."""
        if not paths:
            return {}
        if len(paths) > LOOKUP_MAX:
            ids = self.blob_ids(rev, paths)
            found_blobs = self.blobs(ids.values())
            return {p: found_blobs.get(i) if i else None for p, i in ids.items()}
        names = [f"{rev}:{p}" for p in paths]
        out = self.run("cat-file", "--batch", input="".join(f"{n}\n" for n in names).encode())
        found = parse_batch(out, names)
        return {p: found.get(n) for p, n in zip(paths, names, strict=True)}

    def config_at(self, rev: str) -> tuple[Config, list[Problem]] | None:
        """``salesctl.yaml`` as it was in ``rev``, parsed; None if it had none."""
        content = self.files_at(rev, [CONFIG_FILE])[CONFIG_FILE]
        if content is None:
            return None
        raw = yamlio.loads(content, source=f"{CONFIG_FILE} at {rev[:10]}")
        return parse_config(raw, CONFIG_FILE)

    # -- commits ----------------------------------------------------------------------------

    def commits(
        self, ids: Sequence[str], *, signatures: bool = False, config: Sequence[str] = ()
    ) -> list[CommitInfo]:
        """Headers of these commits, in the order given."""
        if not ids:
            return []
        fields = list(HEADER_FIELDS)
        if signatures:
            fields += ["%G?", "%GS"]
        out = self.run(
            "log",
            "--no-walk=unsorted",
            "--stdin",
            "-z",
            f"--format={'%x1f'.join(fields)}",
            input="".join(f"{i}\n" for i in ids).encode(),
            config=config,
        ).decode("utf-8", "replace")
        return [commit_info(entry) for entry in out.split("\0") if entry.strip()]


def commit_info(entry: str) -> CommitInfo:
    """One commit's ``HEADER_FIELDS`` (and the signature's two, if asked for)."""
    parts = entry.split("\x1f")
    parts += [""] * (10 - len(parts))
    return CommitInfo(
        id=parts[0].strip(),
        timestamp=int(parts[1] or 0),
        parents=tuple(parts[2].split()),
        author_name=parts[3],
        author_email=parts[4],
        date=parts[5],
        action=parts[6].strip().split(",")[0],
        subject=parts[7],
        signature=parts[8].strip(),
        signer=parts[9].strip(),
    )


def parse_raw(out: bytes) -> list[FileChange]:
    """Parse ``--raw -z`` output without renames: ``:old new oldsha newsha S\\0path\\0``."""
    items = out.split(b"\0")
    changes = []
    i = 0
    while i + 1 < len(items):
        head = items[i].decode()
        if not head.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_blob, new_blob, status = head[1:].split(" ")
        path = items[i + 1].decode("utf-8", "surrogateescape")
        changes.append(
            FileChange(
                status=status[0],
                path=path,
                old_mode=old_mode,
                new_mode=new_mode,
                old_blob=None if set(old_blob) == {"0"} else old_blob,
                new_blob=None if set(new_blob) == {"0"} else new_blob,
            )
        )
        i += 2
    return changes


# -- fields -----------------------------------------------------------------------------------


def load_fields(content: bytes | None, where: str) -> dict[str, Any] | None:
    """A record blob's fields as JSON-ready data (None if absent or unreadable, or sealed
    to others: history, diff and the gate read what this member's identity opens)."""
    return read_fields(content, where)[0]


def read_fields(content: bytes | None, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """``load_fields``, and why a blob that is there cannot be read (``malformed YAML at
    line 2: ...``, ``not UTF-8 (byte 7)``), for ``history`` and ``diff`` to say so instead
    of showing every field cleared. Absent or sealed to others: no fields and no problem."""
    if content is None:
        return None, None
    try:
        opened = sealing.plaintext(content, where)
        if opened is None:
            return None, None
        data = yamlio.loads(opened, source=where)
    except YamlError as exc:
        return None, _yaml_problem(exc, where)
    except Invalid as exc:
        return None, exc.message.removeprefix(f"{where}: ")
    converted = to_json({str(k): v for k, v in data.items()}) if isinstance(data, dict) else None
    if not isinstance(converted, dict):
        return None, "not a mapping of fields"
    return converted, None


def _yaml_problem(exc: YamlError, where: str) -> str:
    """``malformed YAML at line 3: ...`` from the error's ``where:3`` and its detail."""
    line = exc.where.removeprefix(f"{where}:") if exc.where.startswith(f"{where}:") else ""
    if not line:
        return exc.detail
    head, sep, rest = exc.detail.partition(": ")
    return f"{head} at line {line}{sep}{rest}"


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings (``stages``, ``custom``) as dotted names; lists stay whole values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def field_changes(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[tuple[str, Any, Any]]:
    """``(field, old, new)`` for every field that differs, in the new file's order."""
    before = flatten(old or {})
    after = flatten(new or {})
    names = [*after, *(k for k in before if k not in after)]
    return [
        (name, before.get(name), after.get(name))
        for name in names
        if name != "schema_version" and before.get(name) != after.get(name)
    ]


def show_value(value: Any, limit: int = 60) -> str:
    """A field value on one short line, for tables and Markdown."""
    if value is None:
        return "-"
    if isinstance(value, list):
        text = "[" + ", ".join(show_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {show_value(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
