"""What a write is asked to do (``WriteOpts``) and what it did (``WriteResult``).

Every command that changes records takes one ``WriteOpts`` and returns one frozen
``WriteResult``: the record(s) as JSON, the commit it made (None for ``--dry-run`` and
``--no-commit``, or when nothing changed), the paths written and deleted, the commit's
summary line, and the staged bytes (a dry run describes them). Callers read results,
never a live ``Transaction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class WriteOpts:
    """``commit=False``: write the files, stage and commit nothing (``--no-commit``);
    ``dry_run``: stage in memory only and write nothing (``--dry-run``)."""

    commit: bool = True
    dry_run: bool = False


WRITE = WriteOpts()  # the default: write and commit


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    data: T
    commit_id: str | None
    paths: tuple[str, ...]  # written and deleted, sorted
    deletes: frozenset[str]
    summary: str
    opts: WriteOpts = WRITE
    staged: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def changed(self) -> bool:
        return bool(self.paths)
