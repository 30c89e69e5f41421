"""What an encrypted store's record directories say in their ``readers.yaml`` (written by
``store/readers.py``), as the index's parse workers read it: whom a sealed file is for, so a
member's build does not try to decrypt what is not theirs, and the keyed duplicate keys of
a sealed lead or customer, for the guard of members who cannot decrypt it."""

from __future__ import annotations

import json
import os

from salesctl.store.layout import RecordPath


def forget() -> None:
    """Read manifests afresh: a command may have rewritten them since."""
    _manifests.clear()


# The manifests (readers.yaml) of the record directories of sealed files met in this batch.
_manifests: dict[str, tuple[frozenset[str], tuple[str, ...]] | None] = {}


def _manifest(root: str, loc: RecordPath) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """(readers, keyed duplicate keys) of the record directory ``loc`` is in, from its
    ``readers.yaml`` (None: missing or unreadable). Its shape is salesctl's own (names and
    hashes as ``- item`` lines under ``readers:`` and ``keys:``): no YAML parser needed."""
    directory = loc.path.rsplit("/", 2 if loc.parent else 1)[0]
    if directory not in _manifests:
        if len(_manifests) > 4096:
            _manifests.clear()
        try:
            with open(os.path.join(root, directory, "readers.yaml"), "rb") as fh:
                text = fh.read(65536).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            _manifests[directory] = None
        else:
            lists: dict[str, list[str]] = {}
            section = ""
            for line in text.splitlines():
                if line.startswith("- "):
                    lists.setdefault(section, []).append(line[2:].strip())
                elif line.endswith(":") and not line.startswith((" ", "#")):
                    section = line[:-1]
            readers = frozenset([*lists.get("readers", []), *lists.get("record_file_also", [])])
            _manifests[directory] = (readers, tuple(lists.get("keys", ())))
    return _manifests[directory]


def among_readers(root: str, loc: RecordPath, names: frozenset[str] | None) -> bool:
    """Does the record directory's manifest name one of ``names``? A missing manifest, or
    unknown names, says "try": decrypting decides."""
    if names is None:
        return True
    found = _manifest(root, loc)
    return found is None or bool(found[0] & names)


def sealed_keys(root: str, loc: RecordPath) -> str | None:
    """The keyed duplicate keys a sealed lead or customer's manifest holds (the guard of
    members who cannot decrypt it compares them), as the row's ``keys`` JSON."""
    found = _manifest(root, loc) if root and loc.parent is None else None
    return json.dumps(list(found[1])) if found and found[1] else None
