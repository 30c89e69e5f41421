"""The shared sales toolkit (銷售工具包共享): "an unlimited drive for sharing the sales toolkit".

An item is ``toolkit/<ID>/item.yaml`` (title, tags, file name, size, sha256, author, added)
plus the file itself beside it. Every member reads the toolkit; leads and directors add and
remove items (``toolkit.add``/``toolkit.remove``, configurable through ``roles:``). Large files
go through Git LFS once ``toolkit init`` has set it up; without it, files over
``toolkit: {max_size_mb: 10}`` are refused. PDFs are found by title and tags only: no
well-kept PDF text extractor is a dependency.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid, NotFound
from salesctl.ids import new_id
from salesctl.model.config import Config, Member
from salesctl.model.kinds import TOOLKIT
from salesctl.model.problems import Problem
from salesctl.ops.out_files import write_out_file
from salesctl.ops.records import new_record, record_json, validate
from salesctl.ops.sales.followups import safe_file_name
from salesctl.store.layout import COMPANY, RecordPath, parse_path, record_dir, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

ATTRIBUTES = ".gitattributes"
LFS_RULES = (
    "toolkit/** filter=lfs diff=lfs merge=lfs -text",
    "toolkit/*/item.yaml !filter !diff !merge text",
)
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
TEXT_SUFFIXES = (".md", ".markdown", ".txt")  # searched by their text
DEFAULT_MAX_MB = 10
INIT_HINT = "set up Git LFS for the toolkit: salesctl toolkit init (a director)"


def max_size(store: Store) -> int:
    """The largest file (bytes) the toolkit takes without Git LFS."""
    return max_size_in(store.config)


def max_size_in(config: Config) -> int:
    """``max_size`` by a config (the gate judges pushed files with the same limit)."""
    section = config.extra.get("toolkit") or {}
    limit = section.get("max_size_mb", DEFAULT_MAX_MB) if isinstance(section, dict) else None
    if not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0:
        limit = DEFAULT_MAX_MB  # `check` reports the bad setting
    return int(limit * 1024 * 1024)


def lfs_ready(store: Store) -> bool:
    """Does the store send toolkit files through Git LFS (git-lfs installed, the rule set)?"""
    attributes = store.root / ATTRIBUTES
    rules = attributes.read_text("utf-8").splitlines() if attributes.is_file() else []
    return shutil.which("git-lfs") is not None and LFS_RULES[0] in rules


def init(store: Store, actor: Member, opts: WriteOpts = WRITE) -> WriteResult[dict[str, Any]]:
    """Write the .gitattributes rule and install git-lfs's hooks and filters in the store,
    in one commit (a director's: .gitattributes is configuration)."""
    if not scopes.action_allowed(store.config, actor, "config.edit"):
        raise Forbidden(
            f"{actor.id} may not change {ATTRIBUTES}", "ask a director to run salesctl toolkit init"
        )
    if shutil.which("git-lfs") is None:
        raise Invalid(
            "git-lfs is not installed", "install it (apt-get install git-lfs), then run this again"
        )
    attributes = store.root / ATTRIBUTES
    lines = attributes.read_text("utf-8").splitlines() if attributes.is_file() else []
    missing = [rule for rule in LFS_RULES if rule not in lines]
    if not opts.dry_run:
        done = subprocess.run(
            ["git", "lfs", "install", "--local"],
            cwd=store.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise Invalid(f"git lfs install failed: {done.stderr.strip()}", "see git lfs env")
    with store.transaction(actor, "toolkit.init", opts) as tx:
        if missing:
            content = "".join(f"{line}\n" for line in [*lines, *missing])
            tx.write_file(ATTRIBUTES, content.encode("utf-8"))
        tx.summary = "toolkit.init: toolkit files through Git LFS"
    return tx.result({"id": ATTRIBUTES, "rules": list(LFS_RULES), "added": missing})


def _file_name(name: str) -> str:
    """The given name, refused unless it is already safe (no separators, no leading dot)."""
    if (
        not name
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or safe_file_name(name) != name
        or name == TOOLKIT.file_name
    ):
        raise Invalid(
            f"file name {name!r} is not allowed",
            "rename it: letters, digits, spaces, - _ . (no path separators, no leading dot)",
        )
    return name


def add(
    store: Store,
    actor: Member,
    file: str,
    *,
    title: str,
    tags: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """A new toolkit item: the file and its item.yaml, one commit (leads and directors)."""
    config = store.config
    item_id = new_id(TOOLKIT.prefix)
    scopes.check_write(config, actor, "toolkit.add", COMPANY, record=item_id)
    source = Path(file)
    if source.is_dir():
        raise Invalid(f"{file} is a directory, not a file", "give the path of a file to share")
    name = _file_name(source.name)
    if not source.exists():
        raise NotFound(f"{file}: no such file", "give the path of a file to share")
    if not source.is_file():  # a pipe would block the read
        raise Invalid(f"{file} is not a regular file", "give the path of a file to share")
    if not title or not title.strip():
        raise Invalid("--title is required", "e.g. --title 'Pricing sheet 2026'")
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise Invalid(f"{file}: {exc.strerror}", "give the path of a file you may read") from None
    if len(content) > max_size(store) and not lfs_ready(store):
        raise Invalid(
            f"{file} is {len(content) / 1048576:.1f} MB, over the toolkit's "
            f"{max_size(store) // 1048576} MB limit without Git LFS",
            INIT_HINT,
        )
    loc = RecordPath(record_file(COMPANY, TOOLKIT, item_id), TOOLKIT, item_id, COMPANY)
    data: dict[str, Any] = {
        "schema_version": 1,
        "title": title.strip(),
        "tags": list(dict.fromkeys(t.strip() for t in tags if t.strip())),
        "file": name,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "author": actor.id,
        "added": clock.now(),
    }
    data = validate(config, TOOLKIT, data, new_record(loc))
    with store.transaction(actor, "toolkit.add", opts) as tx:
        tx.write(loc, data)
        tx.write_file(f"{record_dir(COMPANY, TOOLKIT, item_id)}/{name}", content)
        tx.summary = f"toolkit.add: {item_id} {data['title']}"
    return tx.result(record_json(Record(loc, data)))


def items(store: Store, tag: str | None = None) -> list[dict[str, Any]]:
    """Every toolkit item (every member reads them), newest first; ``tag`` filters."""
    rows = []
    for path, data, _problems in store.index.query("toolkit", "", []):
        loc = parse_path(path)
        if loc is None or data is None:
            continue
        if tag and tag.casefold() not in {str(t).casefold() for t in data.get("tags") or []}:
            continue
        rows.append(json_record(loc, data))
    return sorted(rows, key=lambda r: str(r.get("added", "")), reverse=True)


def search(store: Store, words: Iterable[str]) -> list[dict[str, Any]]:
    """Items whose title, tags or text (Markdown and plain-text files) hold every word."""
    wanted = [w.casefold() for w in words if w.strip()]
    if not wanted:
        raise Invalid("give words to search for", "e.g. salesctl toolkit search pricing")
    found = []
    for item in items(store):
        haystack = " ".join([str(item.get("title", "")), *map(str, item.get("tags") or [])])
        if str(item.get("file", "")).lower().endswith(TEXT_SUFFIXES):
            haystack += " " + _text(store, item)
        if all(word in haystack.casefold() for word in wanted):
            found.append(item)
    return found


def _text(store: Store, item: dict[str, Any]) -> str:
    try:
        content = (store.root / _file_path(item)).read_bytes()
    except (OSError, Invalid):  # not there (yet), or a broken item: title and tags only
        return ""
    return "" if content.startswith(LFS_POINTER) else content.decode("utf-8", "replace")


def _file_path(item: dict[str, Any], problems: Iterable[Problem] = ()) -> str:
    """Where an item's file is; a hand-edited ``file:`` that is missing, empty or not a plain
    name (``problems``: what reading the item found) is refused, naming the item's file and
    the field."""
    folder = record_dir(COMPANY, TOOLKIT, str(item["id"]))
    value = item.get("file")
    said = next((p.message for p in problems if p.field == "file"), None)
    if not isinstance(value, str) or not value.strip():
        said = said if said and said != "is required" else "is missing (the item's file name)"
    else:
        try:
            value = _file_name(value)
        except Invalid:
            said = f"{value!r} is not a plain file name"
    if said is not None:
        raise Invalid(
            f"{item['path']}: file: {said}",
            f"set file: to the name of the file beside it in {folder}/ and commit; "
            "`salesctl check` lists every broken item",
        )
    return f"{folder}/{value}"


def resolve(store: Store, text: str) -> Record:
    return store.read(store.resolve(text, ("toolkit",)))


def get(store: Store, text: str, out: str | None = None, *, force: bool = False) -> dict[str, Any]:
    """Copy an item's file to ``out`` (default: its file name here), checked by sha256,
    where ``ops.out_files`` lets a command write: never inside the store (run in the store's
    top directory, a shared salesctl.yaml would overwrite the store's own), and an existing
    file only with ``force``."""
    record = resolve(store, text)
    item = record_json(record)
    source = store.root / _file_path(item, record.problems)
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise NotFound(f"{_file_path(item)}: {exc.strerror}", "run git pull") from None
    if content.startswith(LFS_POINTER):
        raise Invalid(
            f"{_file_path(item)} is a Git LFS pointer, not the file",
            "fetch the files: git lfs pull",
        )
    if hashlib.sha256(content).hexdigest() != item.get("sha256"):
        raise Invalid(
            f"{_file_path(item)} does not match its sha256 in item.yaml",
            f"restore it: git checkout HEAD -- {_file_path(item)}",
        )
    target = Path(out or str(item["file"])).expanduser()
    if target.is_dir():  # a link to a directory too: the file itself is checked
        target = target / str(item["file"])
    write_out_file(store, target, content, force=force)
    return {**item, "out": str(target)}


def remove(
    store: Store, actor: Member, text: str, opts: WriteOpts = WRITE
) -> WriteResult[dict[str, Any]]:
    """Delete an item and its file, one commit (leads and directors)."""
    record = resolve(store, text)
    scopes.check_write(store.config, actor, "toolkit.remove", record.owner, record=record.id)
    item = record_json(record)
    with store.transaction(actor, "toolkit.remove", opts) as tx:
        tx.delete(record.loc.path)
        tx.delete(_file_path(item, record.problems))
        tx.mention(record.id)
        tx.summary = f"toolkit.remove: {record.id} {item.get('title')}"
    return tx.result(item)
