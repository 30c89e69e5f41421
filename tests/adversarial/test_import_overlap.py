"""A big change's files are written while its objects are made (``Repo._write_and_commit``):
whichever of the two fails, the work tree, HEAD and the journal are as before the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git
from test_git_pack import DANA

from salesctl import git as git_module
from salesctl.git import PACK_ABOVE, Change, Repo

FILES = PACK_ABOVE + 50


def big_change() -> Change:
    return Change(writes={f"pool/leads/L-{n:05d}/lead.yaml": b"company: x\n" for n in range(FILES)})


def unchanged(store: Path, head: str, repo: Repo) -> None:
    assert git(store, "rev-parse", "HEAD").strip() == head
    assert not repo.journal_path.exists()
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (store / "pool" / "leads").exists()


def test_a_failed_commit_object_leaves_no_file_of_the_change(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(store)
    head = git(store, "rev-parse", "HEAD").strip()

    def fail(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("git could not take the pack")

    monkeypatch.setattr(Repo, "_commit", fail)
    with repo.lock(), pytest.raises(RuntimeError):
        repo.apply(big_change(), author=DANA, message="lead.import: x\n", commit=True)

    unchanged(store, head, repo)


def test_a_failed_file_write_leaves_no_commit(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(store)
    head = git(store, "rev-parse", "HEAD").strip()

    def disk_full(root: Path, change: Change, tmp_dir: Path) -> None:
        for path in sorted(change.writes)[: FILES // 2]:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(change.writes[path])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(git_module, "_write_files", disk_full)
    with repo.lock(), pytest.raises(OSError):
        repo.apply(big_change(), author=DANA, message="lead.import: x\n", commit=True)

    unchanged(store, head, repo)


def test_a_big_change_is_written_and_committed_whole(store: Path) -> None:
    repo = Repo(store)
    with repo.lock():
        new = repo.apply(big_change(), author=DANA, message="lead.import: x\n", commit=True)

    assert git(store, "rev-parse", "HEAD").strip() == new
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    assert len(list((store / "pool" / "leads").glob("*/lead.yaml"))) == FILES
