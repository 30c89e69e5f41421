"""Where ``--out`` may write (``ops/out_files.py``), one rule for ``calendar export``,
``toolkit get`` and ``report``: never a file of the store, its git directory or a new file
in its work tree, never through a symlink, and an existing file only with ``--force``
(field test 4, finding 1: ``calendar export --out salesctl.yaml`` broke every command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.ops.out_files import check_out_file, store_place
from salesctl.store.store import Store


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def rglob_files(store: Path) -> dict[str, bytes]:
    """Every file of the work tree and .git's HEAD, to show that nothing changed."""
    return {
        p.relative_to(store).as_posix(): p.read_bytes()
        for p in store.rglob("*")
        if p.is_file() and not p.relative_to(store).as_posix().startswith(".git/")
    } | {".git/HEAD": (store / ".git" / "HEAD").read_bytes()}


@pytest.fixture
def customer(store: Path, cli: Any) -> str:
    made = ok(cli, "--as", "alice", "customer", "add", "--name", "Hangzhou Tea Co")
    ok(cli, "--as", "alice", "visit", "add", made["id"], "--at", "2026-11-24 10:00")
    return str(made["id"])


@pytest.mark.parametrize(
    "out",
    [
        "salesctl.yaml",
        ".git/HEAD",
        "teams/east/alice/customers/{id}/customer.yaml",
        "teams/east/bob/alice.ics",  # a new file: a stray in a colleague's directory
        "alice.ics",
    ],
)
def test_calendar_export_never_writes_into_the_store(
    store: Path, cli: Any, customer: str, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(store)  # where users run it, and where `--out salesctl.yaml` hurt
    before = rglob_files(store)
    for extra in ((), ("--force",)):
        result = cli(
            "--as", "alice", "calendar", "export", "--out", out.format(id=customer), *extra
        )
        assert result.code == 1, result.err
        first = result.err.splitlines()[0]
        assert first.startswith("error: ") and first.endswith("under ~/Downloads/)"), first
        assert "is a file of the store" in first or "is inside the store" in first, first
    assert rglob_files(store) == before
    assert git(store, "status", "--porcelain") == ""
    ok(cli, "--as", "alice", "whoami")


def test_calendar_export_replaces_a_file_only_with_force_and_never_follows_a_link(
    store: Path, cli: Any, customer: str, tmp_path: Path
) -> None:
    out = tmp_path / "alice.ics"
    written = cli("--as", "alice", "calendar", "export", "--out", str(out))
    assert written.code == 0, written.err
    assert out.read_bytes().startswith(b"BEGIN:VCALENDAR")

    out.write_bytes(b"my own calendar")
    again = cli("--as", "alice", "calendar", "export", "--out", str(out))
    assert again.code == 1 and "exists" in again.err and "--force" in again.err
    assert out.read_bytes() == b"my own calendar"
    forced = cli("--as", "alice", "calendar", "export", "--out", str(out), "--force")
    assert forced.code == 0, forced.err
    assert out.read_bytes().startswith(b"BEGIN:VCALENDAR")

    config = (store / "salesctl.yaml").read_bytes()
    for pointing_at in (store / "salesctl.yaml", tmp_path / "elsewhere.ics"):
        link = tmp_path / "link.ics"
        link.unlink(missing_ok=True)
        link.symlink_to(pointing_at)
        for extra in ((), ("--force",)):
            refused = cli("--as", "alice", "calendar", "export", "--out", str(link), *extra)
            assert refused.code == 1 and "symbolic link" in refused.err, refused.err
    assert (store / "salesctl.yaml").read_bytes() == config
    assert not (tmp_path / "elsewhere.ics").exists()

    # a directory on the way that links into the store is the store
    (tmp_path / "into-store").symlink_to(store)
    via = cli(
        "--as", "alice", "calendar", "export", "--out", str(tmp_path / "into-store" / "x.ics")
    )
    assert via.code == 1 and "inside the store" in via.err, via.err
    assert not (store / "x.ics").exists()


def test_toolkit_get_refuses_a_new_file_inside_the_store(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "pricing.md"
    source.write_text("# Price ladder\n", encoding="utf-8")
    item = ok(cli, "--as", "lee", "toolkit", "add", str(source), "--title", "Prices")
    monkeypatch.chdir(store)
    for out in ((), ("--out", "teams/east/bob/pricing.md")):  # its file name here, or named
        result = cli("--as", "alice", "toolkit", "get", item["id"], *out)
        assert result.code == 1 and "inside the store" in result.err, result.err
    assert git(store, "status", "--porcelain") == ""
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "nowhere.md")
    refused = cli("--as", "alice", "toolkit", "get", item["id"], "--out", str(link), "--force")
    assert refused.code == 1 and "symbolic link" in refused.err, refused.err
    assert not (tmp_path / "nowhere.md").exists()
    got = ok(cli, "--as", "alice", "toolkit", "get", item["id"], "--out", str(tmp_path / "copy"))
    assert Path(got["out"]).read_text(encoding="utf-8") == "# Price ladder\n"


def test_report_out_does_not_write_through_a_symlink(store: Path, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    first = cli("--as", "alice", "report", "weekly", "--out", str(out))
    assert first.code == 0, first.err
    (written,) = out.iterdir()
    # regenerating a period replaces its own file, as documented (docs/reports.md)
    assert cli("--as", "alice", "report", "weekly", "--out", str(out)).code == 0
    config = (store / "salesctl.yaml").read_bytes()
    for pointing_at in (store / "salesctl.yaml", tmp_path / "elsewhere.md"):
        written.unlink()
        written.symlink_to(pointing_at)
        for extra in ((), ("--commit",)):
            refused = cli("--as", "alice", "report", "weekly", "--out", str(out), *extra)
            assert refused.code == 1 and "symbolic link" in refused.err, refused.err
    assert (store / "salesctl.yaml").read_bytes() == config
    assert not (tmp_path / "elsewhere.md").exists()


def test_store_place_names_the_git_directory_of_a_linked_worktree(
    store: Path, tmp_path: Path
) -> None:
    """A store checked out with `git worktree add` keeps its git directory elsewhere; a
    path in there is the store's too."""
    ident = ("-c", "user.name=A", "-c", "user.email=a@x")
    git(store, *ident, "commit", "-q", "--allow-empty", "-m", "x")
    linked = tmp_path / "linked"
    git(store, "worktree", "add", "-q", str(linked))
    other = Store(linked)
    git_dir = Path(git(linked, "rev-parse", "--absolute-git-dir").strip())
    assert store_place(other, git_dir / "HEAD") == ".git/HEAD"
    assert store_place(other, linked / "salesctl.yaml") == "salesctl.yaml"
    assert store_place(other, tmp_path / "x.ics") is None
    with pytest.raises(Exception, match="of the store"):
        check_out_file(other, git_dir / "HEAD", force=True)
