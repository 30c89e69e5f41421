"""Record files into index rows, fast: one open per file, an optional faster YAML parser,
and every core on a cold build.

- Reading: ``lstat``, then ``open(O_NOFOLLOW | O_NONBLOCK)`` + ``fstat`` per file (the stat
  signature describes exactly the bytes parsed); anything but a regular file (a symlink, a
  directory, a named pipe, a socket, a device) is a problem of the record and is never
  opened (a FIFO would block the command forever); ancestors are checked once per directory.
- Parsing: PyYAML's libyaml ``CSafeLoader`` (through ``yamlio``) is the reference; the
  optional ``yaml_rs`` parses what it provably reads the same way (``accelerator.py``).
- Parallelism: ``parse_many`` forks one worker per core for batches worth it (a cold build).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from salesctl import sealing, yamlio
from salesctl.model.dupkeys import phone_key
from salesctl.model.problems import Problem
from salesctl.model.values import to_json
from salesctl.scopes import Share, shares_of
from salesctl.store import manifests
from salesctl.store.accelerator import accelerator, load_yaml
from salesctl.store.index_dupkeys import keys_json
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.plain_copy import plain_copy as plain_copy  # what store.py writes from
from salesctl.store.records import Record

# (path, id, kind, parent, owner, team, pool, sig, data JSON, problems JSON, shares JSON,
# duplicate keys JSON): index_schema.COLUMNS
Row = tuple[
    str,
    str,
    str,
    str | None,
    str | None,
    str | None,
    int,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
]

# json.dumps(..., ensure_ascii=False) builds an encoder per call (three per row); the same
# encoder, once. No value here is cyclic (fresh containers from to_json and the parsers).
_dumps = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_SHARE_FIELDS = tuple(f.name for f in fields(Share))  # dataclasses.astuple, without its deep copy

RACY_NS = 50_000_000  # a file this fresh may change again within the file system's tick
PARALLEL_MIN_FILES = 2000  # below this, forking workers costs more than it saves
CHUNK = 400


# -- reading files safely ---------------------------------------------------------------------


class Ancestors:
    """Which directories below the root are real directories (not symlinks), cached."""

    def __init__(self, root: str, trusted: bool = False) -> None:
        self.root = root
        self.trusted = trusted  # paths from our own walk, which never follows a symlink
        self._known: dict[str, bool] = {}

    def safe(self, path: str) -> bool:
        if self.trusted:
            return True
        cut = path.rfind("/")
        while cut > 0:
            parent = path[:cut]
            known = self._known.get(parent)
            if known is None:
                try:
                    mode = os.lstat(os.path.join(self.root, parent)).st_mode
                    known = stat.S_ISDIR(mode)
                except OSError:
                    known = False
                self._known[parent] = known
            if not known:
                return False
            cut = path.rfind("/", 0, cut)
        return True


def signature(st: os.stat_result, now_ns: int | None = None) -> str:
    """What says a file is unchanged: mtime, size, inode. A file modified within the file
    system's timestamp tick of being read may change again unseen, so it gets a signature
    that never matches (it is re-read next time it is looked at)."""
    sig = f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"
    if now_ns is not None and now_ns - st.st_mtime_ns < RACY_NS:
        return "racy:" + sig
    return sig


SYMLINK = "is a symlink; the store refuses symlinks"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def not_regular(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is no record file (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return SYMLINK
    if stat.S_ISDIR(mode):
        return "is a directory where a record file should be; move it out of the store"
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket or device file"
    return f"is {what}, not a regular file; remove it"


def _read(root: str, path: str, ancestors: Ancestors) -> tuple[bytes | None, str, str | None]:
    """(bytes, signature, problem) of one file; bytes is None when it cannot be read.
    Only a regular file is ever opened (``lstat`` first; non-blocking in case it is swapped
    for a pipe in between)."""
    full = os.path.join(root, path)
    if not ancestors.safe(path):
        return None, _lstat_sig(full), SYMLINK
    try:
        st = os.lstat(full)
        odd = not_regular(st.st_mode)
        if odd:
            return None, signature(st), odd
        fd = os.open(full, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, _lstat_sig(full), SYMLINK
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(full) from None
        return None, _lstat_sig(full), f"cannot be read: {exc.strerror}"
    try:
        st = os.fstat(fd)
        odd = not_regular(st.st_mode)
        if odd:
            return None, signature(st), odd
        limit = yamlio.MAX_FILE_BYTES + 1  # one byte over the limit says "too big"
        # One read of the whole file, plus one only if it grew since fstat (or lied).
        chunks = [os.read(fd, min(st.st_size + 1, limit))]
        size = len(chunks[0])
        while size > st.st_size and size < limit:
            chunk = os.read(fd, limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), signature(st, time.time_ns()), None
    finally:
        os.close(fd)


def _lstat_sig(full: str) -> str:
    try:
        return signature(os.lstat(full))
    except FileNotFoundError:
        raise
    except OSError:
        return "unreadable"


def _record(loc: RecordPath, raw: bytes | None, problem: str | None, root: str = "") -> Record:
    if raw is None:
        return Record(loc, {}, (Problem(loc.path, problem or "cannot be read"),))
    if sealing.is_sealed(raw):  # an encrypted store's record (store/readers.py)
        keyring = sealing.active()
        if not keyring or (root and not manifests.among_readers(root, loc, keyring.names)):
            return Record(loc, {}, (), sealed=True)
        try:
            plain = keyring.open(raw, loc.path)
        except sealing.SealedError:
            fix = f"damaged age message; restore it with `git checkout -- {loc.path}`"
            return Record(loc, {}, (Problem(loc.path, fix),))
        if plain is None:  # not encrypted to this member: as if outside their scope
            return Record(loc, {}, (), sealed=True)
        raw = plain
    try:
        loaded = load_yaml(raw, loc.path)
    except yamlio.YamlError as exc:
        return Record(loc, {}, (Problem(exc.where, exc.detail),))
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise these for well-formed but impossible values
        # (``2026-13-40``, ``2026-02-30``); a broken file must never stop a command.
        return Record(loc, {}, (Problem(loc.path, f"malformed YAML: {exc}"),))
    return _normalised(loc, loaded)


def _normalised(loc: RecordPath, loaded: Any) -> Record:
    data, problems = loc.kind.normalise(loaded, loc.path)
    if not _finite(data.get("custom")):
        # NaN/infinity would make the index's JSON unreadable to SQLite (every query fails)
        nan = Problem(loc.path, "holds .nan or .inf, which is no value", "custom")
        return Record(loc, {}, (*problems, nan))
    return Record(loc, data, tuple(problems))


def _finite(value: Any) -> bool:
    """No NaN or infinite float anywhere in ``value`` (the only field left untyped)."""
    if isinstance(value, float):
        return value - value == 0
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def read_record(root: Path, loc: RecordPath) -> Record:
    """Parse one record file; problems (malformed YAML, bad fields, symlinks) come back as
    data. A missing file raises ``FileNotFoundError``."""
    raw, _sig, problem = _read(str(root), loc.path, Ancestors(str(root)))
    manifests.forget()
    return _record(loc, raw, problem, str(root))


def row_for(root: str, loc: RecordPath, ancestors: Ancestors, region: str = "CN") -> Row:
    """The index row of one record file (``FileNotFoundError`` if it is gone); its
    duplicate keys are made with the org's phone ``region``."""
    raw, sig, problem = _read(root, loc.path, ancestors)
    return row_of(loc, raw, sig, problem, region, root)


def row_of(
    loc: RecordPath,
    raw: bytes | None,
    sig: str,
    problem: str | None = None,
    region: str = "CN",
    root: str = "",
    *,
    keyed: bool = True,
) -> Row:
    """The index row of a record file's bytes (a file's, or a commit's blob; ``root``: the
    work tree a file is in, whose manifests say whom a sealed file is for). ``keyed=False``:
    without its duplicate keys (figures as committed never read them; a phone's key costs
    libphonenumber's import, 25 ms, and ≈ 60 µs)."""
    return _row(loc, _record(loc, raw, problem, root), sig, region, root, keyed=keyed)


def row_of_written(
    loc: RecordPath,
    fields: dict[str, Any],
    sig: str,
    region: str,
    *,
    checked: bool = False,
    keys: list[str] | None = None,
) -> Row:
    """The row ``row_for`` would read from a file salesctl just wrote from ``fields`` (a
    ``plain_copy``, dumped by ``yamlio.dumps``), without reading it back. ``checked``: the
    fields are already as normalising them gives, without a problem (``Transaction.fields``).
    ``keys``: the record's duplicate keys, made already with ``region`` (an import's guard)."""
    if not checked:
        return _row(loc, _normalised(loc, fields), sig, region)
    return _row(loc, Record(loc, fields, ()), sig, region, plain=True, keys=keys)


def _iso(value: dt.date) -> str:
    """A plain copy's only value JSON has no form for (``to_json`` gives the same)."""
    return value.isoformat()


_dumps_plain = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=_iso).encode


def _row(
    loc: RecordPath,
    record: Record,
    sig: str,
    region: str,
    root: str = "",
    *,
    plain: bool = False,
    keys: list[str] | None = None,
    keyed: bool = True,
) -> Row:
    """``plain``: the fields are a ``plain_copy`` (dates the only values JSON needs
    converted); ``keys``: the duplicate keys, if made already; ``keyed=False``: none."""
    if not record.data:
        data = None
    elif plain:
        data = _dumps_plain(record.data)
    else:
        data = _dumps(to_json(record.data))
    problems = (
        _dumps([[p.where, p.message, p.field] for p in record.problems])
        if record.problems
        else None
    )
    if record.sealed:
        keys_column = manifests.sealed_keys(root, loc)
    else:
        keys_column = keys_json(loc.kind.name, record.data, region, keys) if keyed else None
    owner = loc.owner
    shares = shares_of(loc, record.data if not record.problems else None)
    return (
        loc.path,
        loc.id,
        loc.kind.name,
        loc.parent,
        owner.member,
        owner.team,
        int(owner.is_pool),
        sig,
        data,
        problems,
        _dumps([[getattr(s, name) for name in _SHARE_FIELDS] for s in shares]) if shares else None,
        keys_column,
    )


# -- many files: in parallel ------------------------------------------------------------------

_worker_root = ""
_worker_trusted = False
_worker_region = "CN"


def _init_worker(
    root: str,
    trusted: bool,
    region: str,
    secrets: tuple[str, ...] = (),
    names: frozenset[str] | None = None,
) -> None:
    global _worker_root, _worker_trusted, _worker_region
    _worker_root, _worker_trusted, _worker_region = root, trusted, region
    if secrets:  # a worker: the parent's keyring, by value
        sealing.use(sealing.Keyring(secrets, names=names))


def _parse_chunk(paths: list[str]) -> tuple[list[Row], list[str]]:
    """Rows of the record files among ``paths``, and the paths that were gone."""
    manifests.forget()  # read afresh: a command may have rewritten them since
    ancestors = Ancestors(_worker_root, _worker_trusted)
    rows, gone = [], []
    for path in paths:
        loc = parse_path(path)
        if loc is None:
            continue
        try:
            rows.append(row_for(_worker_root, loc, ancestors, _worker_region))
        except FileNotFoundError:
            gone.append(path)
    return rows, gone


def _chunks(paths: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for path in paths:
        chunk.append(path)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def workers_for(expected: int) -> int:
    """How many processes a batch of ``expected`` files is worth (1: no forking)."""
    if expected < PARALLEL_MIN_FILES:
        return 1
    import multiprocessing  # only big batches fork (an import of ~5 ms every command would pay)

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, int(os.environ.get("SALESCTL_INDEX_WORKERS", cores))))


def parse_many(
    root: str,
    paths: Iterable[str],
    *,
    workers: int = 1,
    trusted: bool = False,
    region: str = "CN",
) -> Iterator[tuple[list[Row], list[str]]]:
    """(rows, gone paths) per chunk of ``paths``, parsed by ``workers`` processes; the
    rows' duplicate keys are made with the phone ``region``.

    ``paths`` may be a lazy walk: with workers it is consumed in a background thread while
    the caller stores finished chunks."""
    if workers <= 1:
        _init_worker(root, trusted, region)
        for chunk in _chunks(paths, CHUNK):
            yield _parse_chunk(chunk)
        return
    import multiprocessing

    # The workers inherit libphonenumber and the region's metadata instead of each loading
    # them for its first phone (the duplicate keys).
    phone_key("138 0013 8000", region)
    accelerator()  # the same for yaml_rs
    context = multiprocessing.get_context("fork")
    keyring = sealing.active()
    init = (root, trusted, region, keyring.secrets, keyring.names)
    with context.Pool(workers, initializer=_init_worker, initargs=init) as pool:
        # In order, as one process yields them: a build stores the rows in path order, so
        # one owner's records sit on neighbouring pages of the index.
        yield from pool.imap(_parse_chunk, _chunks(paths, CHUNK))
