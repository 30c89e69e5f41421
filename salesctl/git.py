"""The git layer: one commit per command, only our paths, atomic, serialised, recoverable.

Writes go through git's plumbing on the command line, never GitPython's index objects
(4.4 s per add+commit at 100,000 files, no index v4) nor porcelain that would sweep up a
user's unrelated edits. A change is applied in this order, under a per-clone lock:

1. refuse if a path we touch has uncommitted edits (we must not commit someone's work);
2. write a journal naming the paths and the old HEAD;
3. write the files atomically (temp file, fsync, rename) and delete removed ones;
4. build the commit's tree from the old commit's trees, rewriting only the directories
   along our paths (``git mktree``; a big change's blobs and trees go into one pack
   instead), so the user's staged changes stay out of it, then ``commit-tree``;
5. compare-and-swap the branch with ``update-ref HEAD <new> <old>``;
6. refresh the user's index for our paths only, then delete the journal.

A crash anywhere leaves HEAD wholly old or wholly new. The next command, a read too, finds
the journal and makes the journal's paths match HEAD again (roll forward if the ref moved,
roll back if it did not), and removes the temp files the dead command left. The lock is
``flock`` on a file in the git dir: the kernel drops it when its holder dies, so there are
no stale locks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from salesctl.errors import Conflict, SalesctlError

LOCK_TIMEOUT_SECONDS = float(os.environ.get("SALESCTL_LOCK_TIMEOUT", "120"))
TRACE = bool(os.environ.get("SALESCTL_TRACE"))  # time every git call on stderr
# A change writing more files than this (an import) has its objects written as one pack: git
# writes a file per loose object (10,000 leads: 3-8 s of hash-object and mktree on a slow VM).
PACK_ABOVE = 200

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


PACK_TYPES = {b"tree": 2, b"blob": 3}  # git's numbers for object types in a pack

Entries = dict[str, tuple[str, str, str]]  # one directory: {name: (mode, type, id)}


class GitError(SalesctlError):
    pass


class LockBusy(Conflict):
    """Another live command holds the clone's lock."""


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


def blob_id(content: bytes) -> str:
    """git's object id of a blob with this content (SHA-1 repositories)."""
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
        full_env = git_env(env)
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=input,
                capture_output=True,
                env=full_env,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed", "install git and try again") from None
        if TRACE:
            elapsed = (time.perf_counter() - started) * 1000
            print(f"trace: git {' '.join(args)[:60]} {elapsed:.0f} ms", file=sys.stderr)
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
        return proc.stdout

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
        out = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip()
        return out or None

    def data_commit(self, skip_action_prefix: str = "report.") -> str | None:
        """The newest commit that is not salesctl's own report commit: what a report's data
        came from, so committing a report does not change the next report's source."""
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

    # -- lock and journal ------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
        """Serialise mutating commands in this clone (cron and a person at once queue)."""
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
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

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.json"

    def recover(self) -> str | None:
        """Finish or undo a change a crashed command left; returns what was done.

        Call with the lock held: then no command of this clone is writing, so the temp files
        of dead processes are debris (a live pid's are left alone all the same)."""
        journal = self.journal_path
        # A small directory, listed only by writers and a read that found a journal: a
        # command killed while writing the journal itself leaves a temp file and no journal.
        _remove_dead_temp_files(self.state_dir)
        if not journal.exists():
            return None
        try:
            state = json.loads(journal.read_text())
            paths: list[str] = state["paths"]
        except (ValueError, KeyError):
            journal.unlink()
            return None
        head = self.head()
        if head not in (state.get("old"), state.get("new")):
            raise Conflict(
                f"an interrupted salesctl change ({len(paths)} paths) predates commits made since",
                f"compare its paths with `git status`, then delete {journal}",
            )
        # ``write_atomic``'s fallback puts temp files next to their targets (another file
        # system): only the journal's directories can hold ours. Before the rollback, which
        # removes the directories they leave empty.
        for directory, names in _names_by_directory(paths).items():
            _remove_dead_temp_files(self.root / directory, names)
        self._restore(paths, head)
        journal.unlink()
        return "rolled forward" if head and head == state.get("new") else "rolled back"

    def recover_for_read(self) -> SalesctlError | None:
        """Before a command reads: finish or undo an interrupted change, as a write would.

        Costs a few ``stat`` calls when there is no journal. Never raises, so reads work on stores
        they cannot write; returns why a pending change was left (for a warning), or None.
        A journal under a lock someone holds is a live command's: not ours to touch."""
        if not self.owns_root:
            return None  # outside git (the bundled sample): read-only, never journalled
        try:
            journal = self.git_dir / "salesctl" / "journal.json"  # not state_dir: no mkdir
            if not journal.exists():
                return None
            with self.lock(timeout=0):
                self.recover()
        except LockBusy:
            return None
        except Conflict as exc:  # HEAD moved since: its message says what to do
            return exc
        except (SalesctlError, OSError) as exc:  # a read-only file system, no permission
            reason = exc.strerror if isinstance(exc, OSError) else exc.message
            return Conflict(
                "an interrupted salesctl change is pending (its journal is in .git/salesctl), "
                f"and this command cannot finish it: {reason or exc}",
                "run any salesctl command, e.g. `salesctl check`, as a user who can write "
                "to the store",
            )
        return None

    def _restore(self, paths: Sequence[str], commit: str | None) -> None:
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
                input=_nul(present),
            )
        for path in absent:
            with contextlib.suppress(FileNotFoundError):
                (self.root / path).unlink()
            _prune_empty_dirs(self.root, path)
        if absent:
            self.run("update-index", "--force-remove", "-z", "--stdin", input=_nul(absent))

    # -- reading HEAD ----------------------------------------------------------------------

    def paths_in_head(self, paths: Sequence[str]) -> dict[str, str | None]:
        """Blob id in HEAD of each path (None where HEAD has no such file)."""
        return self.paths_in(paths, self.head())

    def paths_in(self, paths: Sequence[str], commit: str | None) -> dict[str, str | None]:
        """Blob id in ``commit`` of each path (None where it has no such file)."""
        if not paths or commit is None:
            return {p: None for p in paths}
        out = self.run(
            "cat-file", "--batch-check", input="".join(f"{commit}:{p}\n" for p in paths).encode()
        )
        result: dict[str, str | None] = {}
        for path, line in zip(paths, out.splitlines(), strict=True):
            parts = line.split()
            result[path] = parts[0] if len(parts) == 3 and parts[1] == "blob" else None
        return result

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

    def apply(self, change: Change, *, author: Author, message: str, commit: bool) -> str | None:
        """Write ``change`` into the work tree and (with ``commit``) make one commit of it.

        Call with the lock held. Returns the new commit id, or None without ``commit``.
        """
        if not commit:
            _write_files(self.root, change, self.state_dir)
            return None
        old = self.head()
        paths = change.paths
        # A path that is not on disk cannot hold uncommitted edits unless we delete it.
        self.guard_uncommitted(
            [p for p in paths if p in change.deletes or os.path.lexists(self.root / p)]
        )
        _write_json_atomic(self.journal_path, {"old": old, "new": None, "paths": paths})
        try:
            _write_files(self.root, change, self.state_dir)
            new = self._commit(change, old, author, message)
            _write_json_atomic(self.journal_path, {"old": old, "new": new, "paths": paths})
            self.run(
                "update-ref", "-m", f"salesctl: {message.splitlines()[0]}", "HEAD", new, old or ""
            )
        except BaseException:
            # Undo our files: back to the commit we started from (the ref never moved to
            # ours; if someone else moved it meanwhile, their commit is left alone).
            with contextlib.suppress(Exception):
                self._restore(paths, old)
                self.journal_path.unlink()
            raise
        self._refresh_user_index(paths)
        self.journal_path.unlink()
        return new

    def _commit(self, change: Change, old: str | None, author: Author, message: str) -> str:
        written = sorted(change.writes)
        pack = _Pack() if len(written) > PACK_ABOVE else None
        if pack is not None:
            blobs = [pack.add(b"blob", change.writes[path]) for path in written]
        else:
            blobs = self._hash_files(written)
        changes: dict[str, str | None] = dict.fromkeys(change.deletes - set(written))
        changes.update(zip(written, blobs, strict=True))
        tree = self._tree_with(old, changes, pack.trees if pack is not None else self._mktree)
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
        return self.run(
            "hash-object",
            "-w",
            "--no-filters",
            "--stdin-paths",
            input="".join(f"{p}\n" for p in paths).encode(),
        ).split()

    def _tree_with(
        self,
        base: str | None,
        changes: dict[str, str | None],
        write: Callable[[Sequence[Entries]], list[str]] | None = None,
    ) -> str:
        """The tree of commit ``base`` with ``changes`` (path -> blob id, or None: delete).

        Only the directories along the changed paths are read and written again (by
        ``write``, ``git mktree`` unless told, deepest first); everything else is shared with
        ``base`` by id. A temporary index (``read-tree HEAD``) costs seconds at 384,000 files
        for the same result."""
        write = write or self._mktree
        dirs = {""}
        for path in changes:
            parts = path.split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        entries = self._read_trees(base, sorted(dirs))
        for path, blob in changes.items():
            parent, _, name = path.rpartition("/")
            if blob is None:
                entries[parent].pop(name, None)
            else:
                entries[parent][name] = ("100644", "blob", blob)
        depths: dict[int, list[str]] = {}
        for directory in dirs - {""}:
            depths.setdefault(directory.count("/"), []).append(directory)
        for depth in sorted(depths, reverse=True):  # children before their parents
            level = sorted(depths[depth])
            full = [d for d in level if entries[d]]
            for directory, tree in zip(full, write([entries[d] for d in full]), strict=True):
                parent, _, name = directory.rpartition("/")
                entries[parent][name] = ("040000", "tree", tree)
            for directory in level:
                if not entries[directory]:  # git keeps no empty directories
                    parent, _, name = directory.rpartition("/")
                    entries[parent].pop(name, None)
        return write([entries[""]])[0]

    def _read_trees(self, base: str | None, dirs: Sequence[str]) -> dict[str, Entries]:
        """{directory: {name: (mode, type, id)}} of ``dirs`` in commit ``base`` (empty for
        directories it does not have)."""
        entries: dict[str, Entries] = {d: {} for d in dirs}
        if base is None:
            return entries
        by_depth: dict[int, list[str]] = {}
        for directory in dirs:
            by_depth.setdefault(directory.count("/") + bool(directory), []).append(directory)
        for depth in sorted(by_depth):
            # Parents first, and only the directories a parent lists: looking up thousands of
            # new directories (an import) in a big tree costs seconds in ``cat-file``.
            wanted = []
            for directory in by_depth[depth]:
                parent, _, name = directory.rpartition("/")
                if not directory or entries[parent].get(name, ("",))[0] == "040000":
                    wanted.append(directory)
            if wanted:
                self._read_tree_batch(base, wanted, entries)
        return entries

    def _read_tree_batch(self, base: str, dirs: Sequence[str], entries: dict[str, Entries]) -> None:
        names = [f"{base}^{{tree}}" if d == "" else f"{base}:{d}" for d in dirs]
        out = self.run_bytes("cat-file", "--batch", input="".join(f"{n}\n" for n in names).encode())
        pos = 0
        for directory in dirs:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if header[-1] == b"missing" or len(header) != 3:
                continue
            size = int(header[2])
            body, pos = out[pos : pos + size], pos + size + 1
            if header[1] != b"tree":
                continue  # a file where a directory is wanted: replaced
            table, at = entries[directory], 0
            width = len(header[0]) // 2  # bytes of an object id (20 for SHA-1)
            while at < len(body):
                space = body.index(b" ", at)
                nul = body.index(b"\0", space)
                mode = body[at:space].decode()
                name = body[space + 1 : nul].decode("utf-8", "surrogateescape")
                oid = body[nul + 1 : nul + 1 + width].hex()
                kind = "tree" if mode == "40000" else "commit" if mode == "160000" else "blob"
                table[name] = (mode.rjust(6, "0"), kind, oid)
                at = nul + 1 + width

    def _mktree(self, trees: Sequence[Entries]) -> list[str]:
        """Write ``trees`` ({name: (mode, type, id)}) as git tree objects; their ids."""
        if not trees:
            return []
        if not all(trees):  # only a root can end up empty: --batch cannot say so
            return [
                self._mktree([t])[0] if t else self.run("mktree", input=b"").strip() for t in trees
            ]
        parts = []
        for tree in trees:
            parts.append(
                b"".join(
                    f"{mode} {kind} {oid}\t".encode()
                    + name.encode("utf-8", "surrogateescape")
                    + b"\0"
                    for name, (mode, kind, oid) in tree.items()
                )
            )
        ids = self.run("mktree", "-z", "--batch", input=b"\0".join(parts)).split()
        if len(ids) != len(trees):
            raise GitError(f"git mktree wrote {len(ids)} trees, not {len(trees)}")
        return ids

    def _refresh_user_index(self, paths: Sequence[str]) -> None:
        """Point the user's index at our new files (only our paths; retries a busy index)."""
        for attempt in range(50):
            try:
                self.run("update-index", "--add", "--remove", "-z", "--stdin", input=_nul(paths))
                break
            except GitError:
                if not (self.git_dir / "index.lock").exists() or attempt == 49:
                    raise
                time.sleep(0.1)
        # ``update-index`` drops git's cached tree ids (the cache-tree) of every directory
        # above our paths, and nothing of ours ever restores them: after a hundred commits in
        # different directories ``git status`` (the user's, and every salesctl read that
        # asks it) re-reads most trees of HEAD, seconds at 384,000 files. ``write-tree``
        # recomputes just the dropped ones and saves them (0.4 s there, milliseconds on small
        # stores). It fails harmlessly mid-merge (unmerged entries) or with a busy index.
        self.run("write-tree", check=False)


class _Pack:
    """Objects hashed here and handed to git as one pack (``git index-pack --stdin``, which
    checks every object, writes the pack's index and syncs both): one file for any number
    of objects. Nothing is compressed hard, trees not at all: ``git gc`` repacks it later."""

    def __init__(self) -> None:
        self.objects: dict[bytes, tuple[int, bytes]] = {}  # id -> (type, body), each once

    def add(self, kind: bytes, body: bytes) -> str:
        oid = hashlib.sha1(b"%s %d\0" % (kind, len(body)) + body).digest()  # noqa: S324
        self.objects.setdefault(oid, (PACK_TYPES[kind], body))
        return oid.hex()

    def trees(self, trees: Sequence[Entries]) -> list[str]:
        """``Repo._mktree``'s counterpart: the same ids, the objects kept for the pack."""
        return [self.add(b"tree", _tree_object(tree)) for tree in trees]

    def data(self) -> bytes:
        """The pack file (version 2, no deltas)."""
        parts = [b"PACK", struct.pack(">II", 2, len(self.objects))]
        for kind, body in self.objects.values():
            # Trees are mostly object ids, which do not compress (a 200,000-entry directory:
            # 0.3 s for 20 %). A small window for blobs: zlib's default allocates 256 KB a
            # call, which costs more than compressing a record (20,000: 2.6 s against 0.1 s).
            level = 0 if kind == PACK_TYPES[b"tree"] else 1
            deflate = zlib.compressobj(level, zlib.DEFLATED, 12, 4)
            parts += [_pack_header(kind, len(body)), deflate.compress(body), deflate.flush()]
        data = b"".join(parts)
        return data + hashlib.sha1(data).digest()  # noqa: S324


def _pack_header(kind: int, size: int) -> bytes:
    """An object's header in a pack: type and size, 4 bits of size then 7 a byte, low first."""
    header = bytearray()
    byte = kind << 4 | size & 0x0F
    size >>= 4
    while size:
        header.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    header.append(byte)
    return bytes(header)


def _tree_object(tree: Entries) -> bytes:
    """The body of a git tree object: entries in git's order, where a directory sorts as if
    its name ended in "/", modes in octal without leading zeros (as ``git mktree``)."""
    entries = []
    modes: dict[str, bytes] = {}
    for name, (mode, kind, oid) in tree.items():
        raw = name.encode("utf-8", "surrogateescape")
        prefix = modes.get(mode) or modes.setdefault(mode, b"%o " % int(mode, 8))
        entries.append(
            (raw + b"/" if kind == "tree" else raw, prefix + raw + b"\0" + bytes.fromhex(oid))
        )
    entries.sort()
    return b"".join([entry for _key, entry in entries])


def _nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode() + b"\0" for p in paths)


FSYNC_EACH_UP_TO = 16  # bigger changes (imports) sync once at the end: 10k fsyncs cost ~2 s


def _write_files(root: Path, change: Change, tmp_dir: Path) -> None:
    each = len(change.writes) <= FSYNC_EACH_UP_TO
    for path, content in sorted(change.writes.items()):
        write_atomic(root / path, content, tmp_dir=tmp_dir, fsync=each)
    for path in sorted(change.deletes - set(change.writes)):
        with contextlib.suppress(FileNotFoundError):
            (root / path).unlink()
        _prune_empty_dirs(root, path)
    if not each:
        os.sync()


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


def _write_json_atomic(path: Path, data: object) -> None:
    write_atomic(path, json.dumps(data).encode())


# ``write_atomic``'s temp file names: .<target name>.<pid>.<thread id>.tmp
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9]+\.tmp")


def _remove_dead_temp_files(directory: Path, names: set[str] | None = None) -> None:
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
        if not _process_alive(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process (EPERM): alive
    return True


def _names_by_directory(paths: Sequence[str]) -> dict[str, set[str]]:
    by_directory: dict[str, set[str]] = {}
    for path in paths:
        directory, _, name = path.rpartition("/")
        by_directory.setdefault(directory, set()).add(name)
    return by_directory


def _prune_empty_dirs(root: Path, path: str) -> None:
    parent = (root / path).parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
