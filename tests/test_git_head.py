"""HEAD read from ``.git``'s files (``salesctl/git_head.py``) gives what ``git rev-parse``
gives, for each layout git writes, and says UNSURE wherever only git knows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import git

from salesctl.git import Repo
from salesctl.git_head import UNSURE, head_from_files


def rev_parse(root: Path) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", "HEAD^{commit}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def commit(root: Path, name: str) -> str:
    (root / name).write_text(name, encoding="utf-8")
    git(root, "add", name)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", name)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def test_a_branch_in_its_loose_ref_file_then_in_packed_refs(repo: Path) -> None:
    first = commit(repo, "a")
    assert head_from_files(repo) == first == rev_parse(repo)
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git/refs/heads/main").exists()
    assert head_from_files(repo) == first == Repo(repo).head()
    second = commit(repo, "b")  # a loose ref again, newer than the packed one: it wins
    assert "main" in (repo / ".git/packed-refs").read_text()
    assert head_from_files(repo) == second == rev_parse(repo)


def test_a_detached_head_and_another_branch(repo: Path) -> None:
    first = commit(repo, "a")
    commit(repo, "b")
    git(repo, "checkout", "-q", "--detach", first)
    assert head_from_files(repo) == first == rev_parse(repo)
    git(repo, "checkout", "-q", "-b", "topic/x")
    third = commit(repo, "c")
    assert head_from_files(repo) == third == rev_parse(repo)


def test_where_only_git_knows_it_says_unsure_and_head_asks_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert head_from_files(repo) == UNSURE  # a branch with no commit yet
    assert Repo(repo).head() is None
    first = commit(repo, "a")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    assert head_from_files(linked) == UNSURE  # .git is a file there
    assert Repo(linked).head() == first
    (repo / ".git/HEAD").write_text("ref: refs/heads/../../HEAD\n", encoding="utf-8")
    assert head_from_files(repo) == UNSURE
    (repo / ".git/HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert head_from_files(repo) == UNSURE
    monkeypatch.delenv("GIT_DIR")
    assert head_from_files(repo) == first
