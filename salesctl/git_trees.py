"""Building a commit's tree, and writing its objects loose or as one pack.

``Repo.apply`` hands over the tree of the commit it starts from and a change (path -> new
blob id, or None to delete). ``Trees.tree_with`` reads only the directories along the changed
paths (``cat-file --batch``), edits their entries, and writes them again deepest first, so
everything else is shared with the old commit by id. A small change writes its trees with
``git mktree``; a big one (an import) collects its blobs and trees in a ``Pack`` that git
takes as one file (``index-pack``), where loose objects would cost a file each.
"""

from __future__ import annotations

import bisect
import re
import struct
import zlib
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesctl.git import Repo

PACK_TYPES = {b"tree": 2, b"blob": 3}  # git's numbers for object types in a pack
BIG_TREE = 2000  # entries: a directory bigger than this skips ``git mktree`` (``Trees.mktree``)
RAW_TREE_BYTES = 64 << 10  # a tree body bigger (≈ 2,000 entries) is read as a ``RawTree``

Entry = tuple[str, str, str]  # (mode, type, id), as ``git ls-tree`` prints them
Entries = MutableMapping[str, Entry]  # one directory: {name: (mode, type, id)}


class Trees:
    """The tree objects of one repository: read along some paths, written back edited."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def tree_with(
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
        write = write or self.mktree
        dirs = {""}
        for path in changes:
            parts = path.split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        entries = read_trees(self.repo.run_bytes, base, sorted(dirs))
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

    def mktree(self, trees: Sequence[Entries]) -> list[str]:
        """Write ``trees`` ({name: (mode, type, id)}) as git tree objects; their ids.

        ``git mktree`` looks up every entry's object to check its type: 0.3 s for a pool of
        130,000 leads, on every write there. A directory that big goes to git as the tree
        object itself (``hash-object -t tree``, which checks the object's format: 15 ms)."""
        if not trees:
            return []
        big = [i for i, tree in enumerate(trees) if _big(tree)]
        if big:
            ids = self.mktree([t for t in trees if not _big(t)])
            for i in big:
                body = _tree_object(trees[i])
                tree_id = self.repo.run("hash-object", "-t", "tree", "-w", "--stdin", input=body)
                ids.insert(i, tree_id.strip())
            return ids
        if not all(trees):  # only a root can end up empty: --batch cannot say so
            return [
                self.mktree([t])[0] if t else self.repo.run("mktree", input=b"").strip()
                for t in trees
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
        ids = self.repo.run("mktree", "-z", "--batch", input=b"\0".join(parts)).split()
        if len(ids) != len(trees):
            from salesctl.git import GitError  # git.py imports this module

            raise GitError(f"git mktree wrote {len(ids)} trees, not {len(trees)}")
        return ids


class Pack:
    """Objects hashed here and handed to git as one pack (``git index-pack --stdin``, which
    checks every object, writes the pack's index and syncs both): one file for any number
    of objects. Nothing is compressed hard, trees not at all: ``git gc`` repacks it later."""

    def __init__(self) -> None:
        self.objects: dict[bytes, tuple[int, bytes]] = {}  # id -> (type, body), each once

    def add(self, kind: bytes, body: bytes) -> str:
        from hashlib import sha1

        oid = sha1(b"%s %d\0" % (kind, len(body)) + body).digest()  # noqa: S324
        self.objects.setdefault(oid, (PACK_TYPES[kind], body))
        return oid.hex()

    def trees(self, trees: Sequence[Entries]) -> list[str]:
        """``Trees.mktree``'s counterpart: the same ids, the objects kept for the pack."""
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
        from hashlib import sha1

        return data + sha1(data).digest()  # noqa: S324


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


KEY_FUNCTION_SEARCHES = 64  # a tree searched more often lists its rows' keys once


def _big(tree: Entries) -> bool:
    return isinstance(tree, RawTree) or len(tree) > BIG_TREE


def _tree_object(tree: Entries) -> bytes:
    """The body of a git tree object: entries in git's order, where a directory sorts as if
    its name ended in "/", modes in octal without leading zeros (as ``git mktree``)."""
    if isinstance(tree, RawTree):
        return tree.body()
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


class RawTree(MutableMapping[str, Entry]):
    """A big directory (a pool of 130,000 leads) as git's tree body, not as a dict: decoding
    every entry to look up and change a few, then encoding them all again, was 0.25 s of
    each write there. A name is found by bisection in git's order; changes are kept aside
    and spliced into the body when the tree is written again (``body``)."""

    def __init__(self, body: bytes, width: int) -> None:
        self._body = body
        self._width = width
        # (mode, name, id) of each entry, in the body's order (git's)
        self._rows: list[tuple[bytes, bytes, bytes]] = re.findall(
            rb"([0-7]+) ([^\0]*)\0([\s\S]{%d})" % width, body
        )
        self._changed: dict[str, Entry | None] = {}  # name -> new entry, None: removed
        self._len = len(self._rows)
        self._keys: list[bytes] | None = None  # each row's sort key, once searched often
        self._searches = 0

    def _bisect(self, key: bytes) -> int:
        """Where ``key`` stands in git's order. A write's few searches call the key function
        on the rows they probe; an import's tens of thousands (1.1 million calls, ≈ 0.15 s)
        list every row's key once and bisect that."""
        keys = self._keys
        if keys is None:
            self._searches += 1
            if self._searches <= KEY_FUNCTION_SEARCHES:
                return bisect.bisect_left(self._rows, key, key=_row_key)
            keys = self._keys = list(map(_row_key, self._rows))
        return bisect.bisect_left(keys, key)

    def _find(self, raw: bytes) -> int | None:
        """The row of ``raw``, a file's or a directory's name, or None."""
        for key in (raw, raw + b"/"):
            i = self._bisect(key)
            if i < len(self._rows) and self._rows[i][1] == raw:
                return i
        return None

    def _original(self, name: str) -> Entry | None:
        i = self._find(name.encode("utf-8", "surrogateescape"))
        if i is None:
            return None
        mode, _name, oid = self._rows[i]
        kind = "tree" if mode == b"40000" else "commit" if mode == b"160000" else "blob"
        return (mode.decode().rjust(6, "0"), kind, oid.hex())

    def __getitem__(self, name: str) -> Entry:
        found = self._changed[name] if name in self._changed else self._original(name)
        if found is None:
            raise KeyError(name)
        return found

    def __setitem__(self, name: str, entry: Entry) -> None:
        self._len += name not in self
        self._changed[name] = entry

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._len -= 1
        self._changed[name] = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name in self._changed:
            return self._changed[name] is not None
        return self._original(name) is not None

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for _mode, raw, _oid in self._rows:
            name = raw.decode("utf-8", "surrogateescape")
            if name not in self._changed:
                yield name
        yield from (name for name, entry in self._changed.items() if entry is not None)

    def body(self) -> bytes:
        """The tree object's body with the changes: the unchanged runs copied as they are."""
        if not self._changed:
            return self._body
        width = self._width
        ends = list(accumulate(len(m) + len(n) + 2 + width for m, n, _ in self._rows))
        if (ends[-1] if ends else 0) != len(self._body):
            from salesctl.git import GitError  # git.py imports this module

            raise GitError(f"a tree object of {len(self._body)} bytes did not read as one")
        cuts: list[tuple[bytes, int, int, bytes]] = []  # (sort key, start, end, new bytes)
        for name, entry in self._changed.items():
            raw = name.encode("utf-8", "surrogateescape")
            i = self._find(raw)
            if i is not None:  # drop the old entry where it stood
                start = ends[i - 1] if i else 0
                cuts.append((_row_key(self._rows[i]), start, ends[i], b""))
            if entry is not None:  # the new one where git's order puts it
                mode, kind, oid = entry
                key = raw + b"/" if kind == "tree" else raw
                at = self._bisect(key)
                start = ends[at - 1] if at else 0
                body = b"%o " % int(mode, 8) + raw + b"\0" + bytes.fromhex(oid)
                cuts.append((key, start, start, body))
        # in the body's order, new entries at one place in git's; a removal and an insertion
        # at one place give the same bytes in either order
        cuts.sort(key=lambda cut: (cut[1], cut[0]))
        parts, at = [], 0
        for _key, start, end, new in cuts:
            parts += [self._body[at:start], new]
            at = max(at, end)
        parts.append(self._body[at:])
        return b"".join(parts)


def _row_key(row: tuple[bytes, bytes, bytes]) -> bytes:
    """git's order: a directory sorts as if its name ended in "/"."""
    return row[1] + b"/" if row[0] == b"40000" else row[1]


def read_trees(
    run_bytes: Callable[..., bytes], base: str | None, dirs: Sequence[str]
) -> dict[str, Entries]:
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
        # Each by the id its parent lists: ``base:dir`` would make git inflate and scan
        # every tree on the way again (10 ms a directory in a pool of 66,000 leads).
        wanted: dict[str, str] = {}
        for directory in by_depth[depth]:
            parent, _, name = directory.rpartition("/")
            if not directory:
                wanted[directory] = f"{base}^{{tree}}"
            elif entries[parent].get(name, ("",))[0] == "040000":
                wanted[directory] = entries[parent][name][2]
        if wanted:
            _read_tree_batch(run_bytes, list(wanted), list(wanted.values()), entries)
    return entries


def _read_tree_batch(
    run_bytes: Callable[..., bytes],
    dirs: Sequence[str],
    names: Sequence[str],
    entries: dict[str, Entries],
) -> None:
    out = run_bytes("cat-file", "--batch", input="".join(f"{n}\n" for n in names).encode())
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
        width = len(header[0]) // 2  # bytes of an object id (20 for SHA-1)
        if size > RAW_TREE_BYTES:
            entries[directory] = RawTree(body, width)
            continue
        table, at = entries[directory], 0
        while at < len(body):
            space = body.index(b" ", at)
            nul = body.index(b"\0", space)
            mode = body[at:space].decode()
            name = body[space + 1 : nul].decode("utf-8", "surrogateescape")
            oid = body[nul + 1 : nul + 1 + width].hex()
            kind = "tree" if mode == "40000" else "commit" if mode == "160000" else "blob"
            table[name] = (mode.rjust(6, "0"), kind, oid)
            at = nul + 1 + width


LOOKUP_MAX = 32  # more paths than this: their blob ids from the trees along them, not rev:path


def blob_ids(run: Callable[..., bytes], rev: str, paths: Sequence[str]) -> dict[str, str | None]:
    """The blob id of each path in ``rev`` (None where there is no file), ``run``: git's
    bytes. A few by name (``rev:path``), more from the trees along them."""
    if len(paths) > LOOKUP_MAX:
        listed = listed_blob_ids(run, rev, paths)
        return {p: listed.get(p) for p in paths}
    names = "".join(f"{rev}:{p}\n" for p in paths).encode()
    lines = (
        run("cat-file", "--batch-check", input=names)
        .decode("utf-8", "surrogateescape")
        .splitlines()
    )
    ids: dict[str, str | None] = {}
    for path, line in zip(paths, lines, strict=True):
        parts = line.split()
        ids[path] = parts[0] if len(parts) == 3 and parts[1] == "blob" else None
    return ids


def listed_blob_ids(run: Callable[..., bytes], rev: str, paths: Sequence[str]) -> dict[str, str]:
    """{path: blob id} in ``rev`` of those of ``paths`` that are files there, from the trees
    along them, each read once by its id (``read_trees``; ``run``: git's bytes).

    git finds ``rev:path`` by inflating and scanning each tree on the way, once per name:
    in a pool of 66,000 leads that is 10-13 ms a name (100 names: 1.4 s; a report that
    asked for 50,000 ran for minutes); a few names in a rep's directory cost 0.3 ms each,
    less than reading the trees level by level (a git process per level)."""
    dirs = {""}
    for path in paths:
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    entries = read_trees(run, rev, sorted(dirs))
    ids: dict[str, str] = {}
    for path in paths:
        parent, _, name = path.rpartition("/")
        found = entries.get(parent, {}).get(name)
        if found is not None and found[1] == "blob":
            ids[path] = found[2]
    return ids


def parse_batch(out: bytes, names: Sequence[str]) -> dict[str, bytes]:
    """Split ``cat-file --batch`` output, one answer per requested name, in order."""
    found: dict[str, bytes] = {}
    pos = 0
    for name in names:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<name> missing" or "ambiguous"
            continue
        size = int(header[2])
        if header[1] == b"blob":
            found[name] = out[pos : pos + size]
        pos += size + 1
    return found
