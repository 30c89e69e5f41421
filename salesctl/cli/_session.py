"""Per-invocation state: the store and the acting member, resolved lazily and once."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from salesctl.model.config import Member
    from salesctl.store.results import WriteResult
    from salesctl.store.store import Store


class Session:
    def __init__(self, store_path: str | None, acting_as: str | None) -> None:
        self.store_path = store_path
        self.acting_as = acting_as

    @cached_property
    def store(self) -> Store:
        from salesctl.ops.integrations import announce
        from salesctl.store.store import Store, on_commit

        on_commit(announce)  # chat notifications follow every change made from the CLI
        store = Store.discover(self.store_path)
        from salesctl.cli._output import TerminalProgress, info

        store.progress = TerminalProgress
        store.warn = lambda message: info(f"warning: {message}")
        if store.interrupted is not None:
            info(f"warning: {store.interrupted}")
        return store

    @cached_property
    def actor(self) -> Member:
        return self.store.identify(self.acting_as)


def session(ctx: typer.Context) -> Session:
    obj = ctx.find_root().obj
    assert isinstance(obj, Session)
    return obj


def in_commit(result: WriteResult[Any]) -> str:
    """`` in commit 1a2b3c4d5e`` when the write made a commit, else nothing."""
    return f" in commit {result.commit_id[:10]}" if result.commit_id else ""


def describe_change(root: Path, result: WriteResult[Any]) -> None:
    """What a dry run would do, on stderr: each path, and the fields each record file
    would get (all of them for a new file, ``old -> new`` for a changed one), so a wrong
    amount or date shows before anything is written."""
    from salesctl.cli._output import info
    from salesctl.ops.collab.gitread import field_changes, load_fields, show_value

    # A record that moves keeps its id (its directory name), so a written file's tail
    # (``K-7KQ2/contract.yaml``, ``payments/P-1.yaml``) finds the file it replaces.
    moved_from = {_tail(path): path for path in result.deletes}
    for path in result.paths:
        if path in result.deletes:
            info(f"would delete {path}")
            continue
        content = result.staged[path]
        new = load_fields(content, path) if path.endswith((".yaml", ".yml")) else None
        if new is None:
            info(f"would write {path} ({len(content)} bytes)")
            continue
        info(f"would write {path}")
        before = path if (root / path).is_file() else moved_from.get(_tail(path))
        old = load_fields((root / before).read_bytes(), before) if before else None
        for name, was, now in field_changes(old, new):
            shown = show_value(now, limit=200)
            if old is not None:
                shown = f"{show_value(was, limit=200)} -> {shown}"
            info(f"    {name}: {shown}")


def _tail(path: str) -> str:
    return "/".join(path.split("/")[-2:])


def edit_in_editor(store: Any, record_id: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Open a record's YAML in $EDITOR; return what was saved (validated by the op)."""
    from salesctl import yamlio
    from salesctl.errors import Invalid

    loc = store.resolve(record_id, kinds)
    original = yamlio.read_regular(store.root / loc.path, source=loc.path)
    saved = open_in_editor(
        original,
        f"{loc.id}.yaml",
        "no --set given and $EDITOR is not set",
        "pass --set FIELD=VALUE or set $EDITOR",
    )
    data = yamlio.loads(saved, source=loc.path)
    if not isinstance(data, dict):
        raise Invalid(
            f"{loc.path}: expected a mapping of {loc.kind.name} fields", "nothing changed"
        )
    return data


def open_in_editor(content: bytes, file_name: str, missing: str, hint: str) -> bytes:
    """``content`` as the user saved it from $VISUAL or $EDITOR, in a temporary file
    named ``file_name`` (its suffix picks the editor's mode); without an editor, the error
    ``missing`` with ``hint``."""
    import os
    import shlex
    import subprocess
    import tempfile

    from salesctl.errors import Invalid

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise Invalid(missing, hint)
    with tempfile.TemporaryDirectory(prefix="salesctl-") as tmp:
        path = os.path.join(tmp, file_name)
        with open(path, "wb") as fh:
            fh.write(content)
        result = subprocess.run([*shlex.split(editor), path], check=False)
        if result.returncode != 0:
            raise Invalid(f"the editor exited with {result.returncode}; nothing changed")
        with open(path, "rb") as fh:
            return fh.read()
