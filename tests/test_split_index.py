"""A big store's git index is kept split (``core.splitIndex``): a write then rewrites the
entries that changed, not the whole file. The user's own setting wins, and git sees the
same clean work tree either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import git as salesctl_git


def shared_index(root: Path) -> str:
    return git(root, "rev-parse", "--shared-index-path").strip()


def add_lead(cli: Any, company: str) -> None:
    done = cli("--as", "alice", "lead", "add", "--company", company, "-f", "json")
    assert done.code == 0, done.err


def test_a_big_index_is_split_by_a_write_and_stays_a_valid_index(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_lead(cli, "Small Store Co")
    assert shared_index(store) == ""  # below the threshold: the index stays whole
    monkeypatch.setattr(salesctl_git, "SPLIT_INDEX_FROM_BYTES", 0)
    add_lead(cli, "Big Store Co")
    path = shared_index(store)
    assert path and (store / path).exists()
    assert git(store, "status", "--porcelain") == ""
    tracked = git(store, "ls-files").split()
    assert any("leads/" in p for p in tracked)
    assert git(store, "diff", "--cached", "--quiet", "HEAD") == ""
    add_lead(cli, "Big Store Co 2")  # a write to a split index keeps it split
    assert shared_index(store) and git(store, "status", "--porcelain") == ""


def test_the_users_core_split_index_setting_wins(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(salesctl_git, "SPLIT_INDEX_FROM_BYTES", 0)
    git(store, "config", "core.splitIndex", "false")
    add_lead(cli, "Whole Index Co")
    assert shared_index(store) == ""
    assert git(store, "status", "--porcelain") == ""
