"""A big store's git index is kept split (``core.splitIndex``): a write then rewrites the
entries that changed, not the whole file. The user's own setting wins, and git sees the
same clean work tree either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import git_split_index


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
    monkeypatch.setattr(git_split_index, "FROM_BYTES", 0)
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
    monkeypatch.setattr(git_split_index, "FROM_BYTES", 0)
    git(store, "config", "core.splitIndex", "false")
    add_lead(cli, "Whole Index Co")
    assert shared_index(store) == ""
    assert git(store, "status", "--porcelain") == ""


def entries_in(index_file: Path) -> int:
    """How many entries an index file holds itself (git's index header: the third word).
    The shared part of a split index holds all it had when written; the split part the
    entries added since, and those changed (git's racy-clean marks change some)."""
    header = index_file.read_bytes()[:12]
    assert header[:4] == b"DIRC"
    return int.from_bytes(header[8:12], "big")


def many_files(root: Path, count: int) -> None:
    """``count`` more tracked files, committed outside salesctl (a store that has grown)."""
    for n in range(count):
        path = root / "docs" / f"note-{n:04d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"note {n}\n", encoding="utf-8")
    git(root, "add", "docs")
    git(root, "-c", "user.name=D", "-c", "user.email=d@x.example", "commit", "-q", "-m", "docs")


def import_rows(tmp_path: Path, rows: int) -> Path:
    lines = ["Company,Email"] + [f"Split Co {n},p{n}@split{n}.example" for n in range(rows)]
    src = tmp_path / "leads.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def test_a_change_over_one_percent_of_a_split_index_gets_a_new_shared_part(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git merges the split part into the shared one on every read, and entries the split
    part adds are what costs there (seconds after a few big imports). 30 new leads in a
    store of about 1,000 files are 3 %: under git's default 20 % they would stay in the
    split part; salesctl's writes let it hold 1 % only."""
    many_files(store, 1000)
    monkeypatch.setattr(git_split_index, "FROM_BYTES", 0)
    add_lead(cli, "First Split Co")
    first = shared_index(store)

    imported = cli("--as", "dana", "lead", "import", str(import_rows(tmp_path, 30)), "--pool")

    assert imported.code == 0, imported.err
    assert shared_index(store) != first
    tracked = len(git(store, "ls-files").split())
    assert entries_in(store / shared_index(store)) == tracked  # the 30 leads among them
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    assert len(git(store, "ls-files", "pool/leads").split()) == 30


def test_the_users_own_max_percent_change_wins(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_files(store, 1000)
    monkeypatch.setattr(git_split_index, "FROM_BYTES", 0)
    git(store, "config", "splitIndex.maxPercentChange", "20")
    add_lead(cli, "First Split Co")
    first = shared_index(store)

    imported = cli("--as", "dana", "lead", "import", str(import_rows(tmp_path, 30)), "--pool")

    assert imported.code == 0, imported.err
    assert shared_index(store) == first
    tracked = len(git(store, "ls-files").split())
    assert entries_in(store / shared_index(store)) == tracked - 30  # the leads: split part
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
