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


def _git_data_commit(root: Path) -> str | None:
    """``Repo.data_commit`` as git alone answers it (the shortcut turned off)."""
    repo = Repo(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("salesctl.git.head_not_holding", lambda root, text: None)
        return repo.data_commit()


def commit_with(root: Path, name: str, message: str) -> str:
    (root / name).write_text(name, encoding="utf-8")
    git(root, "add", name)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def test_a_reports_data_commit_from_heads_loose_object(repo: Path) -> None:
    """HEAD's loose commit that names no report is the data commit without git; a report
    commit (any case of the trailer's key), a packed HEAD and replace refs go to git, and
    both ways agree."""
    data = commit_with(repo, "a", "lead.add: L-1\n\nSalesctl-Action: lead.add")
    assert head_from_files(repo) == data
    from salesctl import git_head

    assert git_head.head_not_holding(repo, b"report.") == data
    assert Repo(repo).data_commit() == _git_data_commit(repo) == data

    report = commit_with(repo, "b", "report: W47\n\nsalesctl-action: report.weekly")
    assert git_head.head_not_holding(repo, b"report.") is None  # git decides
    assert Repo(repo).data_commit() == _git_data_commit(repo) == data != report

    later = commit_with(repo, "c", "a note about the report. nothing more")
    assert git_head.head_not_holding(repo, b"report.") is None  # "report." anywhere: git
    assert Repo(repo).data_commit() == _git_data_commit(repo) == later

    plain = commit_with(repo, "d", "lead.edit: L-1")
    git(repo, "gc", "-q")  # packed: no loose object to read
    assert git_head.loose_commit_has(repo, plain, b"report.") is None
    assert Repo(repo).data_commit() == plain

    other = commit_with(repo, "e", "lead.edit: L-2")
    git(repo, "replace", other, data)  # git would show `data` in its place
    assert git_head.head_not_holding(repo, b"report.") is None
    assert Repo(repo).data_commit() == _git_data_commit(repo)
