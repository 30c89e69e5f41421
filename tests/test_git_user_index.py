"""The user's git index takes a salesctl commit's paths in a copy, under git's own index lock,
while the commit is built (``salesctl/git_user_index.py``): afterwards it holds exactly what
`git update-index` and `git write-tree` would have left, and no lock or copy stays behind;
when git's lock is busy the write waits for it as before; a dead command's lock is removed by
recovery and nobody else's is."""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import git_user_index
from salesctl.git import Repo
from salesctl.git_user_index import Staged, remove_stale


def add_lead(cli: Any, company: str) -> dict[str, Any]:
    done = cli("--as", "alice", "lead", "add", "--company", company, "-f", "json")
    assert done.code == 0, done.err
    result: dict[str, Any] = done.json()
    return result


def invalid_cached_trees(root: Path) -> list[str]:
    """Directories whose cached tree id (the index's TREE extension) git would have to
    compute again: what `update-index` drops and `write-tree` restores."""
    data = (root / ".git" / "index").read_bytes()
    assert data[:4] == b"DIRC" and struct.unpack(">I", data[4:8])[0] == 2
    at = data.index(b"TREE", 12) + 8  # past the signature and the extension's size
    invalid = []
    while at < len(data) - 20 and data[at : at + 4] not in (b"REUC", b"link", b"UNTR"):
        end = data.index(b"\0", at)
        path = data[at:end].decode()
        counts = data[end + 1 : data.index(b"\n", end)]
        entries, _subtrees = (int(n) for n in counts.split())
        at = data.index(b"\n", end) + 1
        if entries < 0:
            invalid.append(path or "/")
        else:
            at += 20  # the tree's id
    return invalid


def assert_nothing_left(store: Path) -> None:
    """No lock of git's and no copy of the index stays behind a command."""
    assert not (store / ".git" / "index.lock").exists()
    assert list((store / ".git" / "salesctl").glob(".index.*")) == []


def assert_clean_index(store: Path) -> None:
    """The index matches HEAD and the work tree, its cached trees whole, nothing left."""
    assert git(store, "status", "--porcelain") == ""
    assert invalid_cached_trees(store) == []
    assert_nothing_left(store)


def test_a_write_leaves_the_index_git_would_have_with_every_cached_tree(
    store: Path, cli: Any
) -> None:
    (store / "notes.md").write_text("mine\n", encoding="utf-8")
    git(store, "add", "notes.md")  # a user's staged file stays staged, and out of our commit
    before = git(store, "ls-files", "--stage")
    lead = add_lead(cli, "Indexed Co")

    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [lead["path"]]
    staged = git(store, "ls-files", "--stage").splitlines()
    blob = git(store, "rev-parse", f"HEAD:{lead['path']}").strip()
    ours = f"100644 {blob} 0\t{lead['path']}"
    assert sorted(staged) == sorted([*before.splitlines(), ours])  # ours added, nothing else
    assert git(store, "status", "--porcelain").splitlines() == ["A  notes.md"]
    git(store, "reset", "-q", "notes.md")
    assert invalid_cached_trees(store) == ["/"]  # the reset of notes.md, not ours
    add_lead(cli, "Indexed Co 2")
    assert invalid_cached_trees(store) == []
    assert_nothing_left(store)


def test_an_edit_in_the_second_git_recorded_its_file_stays_visible(store: Path, cli: Any) -> None:
    """git's racy-git rule: an entry whose file is not older than the index may have changed
    unseen, so git compares its content. The copy must keep the index's mtime, or a hand
    edit made in the second the entry was recorded (same size) would pass as clean."""
    git(store, "config", "core.trustctime", "false")  # the edit's ctime cannot be set back
    path = store / add_lead(cli, "Racy Co")["path"]
    recorded = path.stat().st_mtime_ns - 100 * 10**9
    os.utime(path, ns=(recorded, recorded))
    git(store, "update-index", "--refresh")  # the entry takes that mtime and its size
    os.utime(store / ".git" / "index", ns=(recorded, recorded))  # written in that second
    text = path.read_text(encoding="utf-8")
    edited = text.replace("Racy Co", "Racy Cx")
    assert len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(recorded, recorded))  # size and mtime as recorded
    add_lead(cli, "Other Co")  # our copy of the index is written
    assert git(store, "status", "--porcelain").split() == ["M", path.relative_to(store).as_posix()]


def stat_sizes(root: Path, paths: list[str]) -> dict[str, int]:
    """The file size each index entry records (0: no stat data, git must hash it again)."""
    out = git(root, "ls-files", "--debug", "--", *paths)
    sizes, path = {}, ""
    for line in out.splitlines():
        if not line.startswith(" "):
            path = line
        elif line.strip().startswith("size:"):
            sizes[path] = int(line.split("size:")[1].split()[0])
    return sizes


def test_a_big_change_enters_the_index_before_its_files_then_gets_their_stat_data(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packed change (an import, a handover) gives the copy its entries by blob id while
    the files are written, then their stat data: a move's deletes and writes alike."""
    from salesctl import git as salesctl_git

    monkeypatch.setattr(salesctl_git, "PACK_ABOVE", 0)  # every change is packed
    lead = add_lead(cli, "Packed Co")
    released = cli("--as", "alice", "lead", "release", lead["id"], "--reason", "test", "-f", "json")
    assert released.code == 0, released.err
    (moved,) = released.json()
    tracked = git(store, "ls-files").split()
    assert moved["path"] in tracked and lead["path"] not in tracked
    blob = git(store, "rev-parse", f"HEAD:{moved['path']}").strip()
    assert git(store, "ls-files", "--stage", "--", moved["path"]).split()[1] == blob
    size = (store / moved["path"]).stat().st_size
    assert stat_sizes(store, [moved["path"]]) == {moved["path"]: size}
    assert_clean_index(store)


def test_a_big_change_that_fails_before_its_files_are_written_leaves_no_lock(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl import git as salesctl_git

    monkeypatch.setattr(salesctl_git, "PACK_ABOVE", 0)
    before = git(store, "ls-files", "--stage")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(salesctl_git, "_write_files", fail)
    done = cli("--as", "alice", "lead", "add", "--company", "No Space Co")
    assert done.code != 0 and done.err.startswith("error:")
    assert "Traceback" not in done.err
    assert git(store, "ls-files", "--stage") == before
    assert_nothing_left(store)


def test_a_write_waits_for_a_busy_index_lock_and_then_updates_the_index(
    store: Path, cli: Any
) -> None:
    lock = store / ".git" / "index.lock"
    lock.write_bytes(b"")  # git's, mid-write: not ours to touch
    opened = threading.Timer(0.5, lock.unlink)
    opened.start()
    try:
        lead = add_lead(cli, "Waited Co")
    finally:
        opened.join()
    assert lead["path"] in git(store, "ls-files")
    assert_clean_index(store)


def test_a_failed_copy_falls_back_to_updating_the_index_after_the_commit(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Staged, *args: Any) -> None:
        self.failed = True

    monkeypatch.setattr(Staged, "_update", broken)
    add_lead(cli, "Fallback Co")
    assert_clean_index(store)


def test_a_commit_that_fails_leaves_the_users_index_untouched(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.errors import Conflict

    before = git(store, "ls-files", "--stage")

    def refuse(self: Repo, *args: Any, **kwargs: Any) -> str:
        time.sleep(0.2)  # the copy's update-index has run by now
        raise Conflict("refused for the test", "nothing to do")

    monkeypatch.setattr(Repo, "_commit", refuse)
    done = cli("--as", "alice", "lead", "add", "--company", "Refused Co")
    assert done.code != 0 and done.err.startswith("error: refused for the test")
    assert git(store, "ls-files", "--stage") == before  # (the rollback refreshes its stats)
    assert_nothing_left(store)
    assert git(store, "status", "--porcelain") == ""


def test_another_index_file_is_updated_after_the_commit(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_INDEX_FILE", str(store / ".git" / "index"))
    assert Staged.start(Repo(store), ["pool/leads/L-1/lead.yaml"]) is None
    assert not (store / ".git" / "index.lock").exists()


def dead_pid() -> int:
    proc = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_recovery_removes_a_dead_commands_lock_and_copies_only(store: Path) -> None:
    repo = Repo(store)
    lock = store / ".git" / "index.lock"
    state = repo.state_dir
    dead, alive = dead_pid(), os.getpid()
    stale_copy = state / f".index.{dead}.1.tmp"
    stale_copy_lock = state / f".index.{dead}.1.tmp.lock"
    live_copy = state / f".index.{alive}.1.tmp"
    for path in (stale_copy, stale_copy_lock, live_copy):
        path.write_bytes(b"DIRC")

    for foreign in (b"", b"DIRC\0\0\0\2", b"salesctl %d\n" % alive, b"salesctl x\n"):
        lock.write_bytes(foreign)
        remove_stale(repo)
        assert lock.read_bytes() == foreign  # git's, a live command's, or not ours to read
    lock.write_bytes(git_user_index.LOCK_MARK + b"%d\n" % dead)
    remove_stale(repo)
    assert not lock.exists()
    assert not stale_copy.exists() and not stale_copy_lock.exists()
    assert live_copy.exists()


# -- a big change streamed to git while it is staged -------------------------------------------


def report_files(n: int, tag: str) -> dict[str, bytes]:
    return {f"reports/weekly/alice/{tag}-{i:03d}.md": f"# {tag} {i}\n".encode() for i in range(n)}


@contextlib.contextmanager
def staging_reports(store: Path, n: int, tag: str) -> Iterator[tuple[Any, dict[str, bytes]]]:
    """Alice's transaction, with ``n`` report files staged: (the transaction, the files)."""
    from salesctl.store.store import Store

    shop = Store(store)
    files = report_files(n, tag)
    with shop.transaction(shop.identify("alice"), "report.write") as tx:
        for path, content in files.items():
            tx.write_file(path, content)
        yield tx, files


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every change of over two files is big. Records what ``apply`` saw of the stream: the
    action and whether git's lock was held already (the entries went to git as staged)."""
    from salesctl import git as salesctl_git

    monkeypatch.setattr(salesctl_git, "PACK_ABOVE", 2)
    seen: list[tuple[str, bool]] = []
    apply = Repo.apply

    def watched(self: Repo, change: Any, **kwargs: Any) -> str | None:
        streamed = kwargs.get("streamed")
        seen.append((kwargs["message"].split(":")[0], streamed is not None))
        if streamed is not None:
            assert (self.git_dir / "index.lock").read_bytes().startswith(b"salesctl ")
        return apply(self, change, **kwargs)

    monkeypatch.setattr(Repo, "apply", watched)
    return seen


def test_a_big_change_streams_its_entries_while_staged_and_leaves_the_index_clean(
    store: Path, big: list[tuple[str, bool]]
) -> None:
    with staging_reports(store, 2, "old") as (_tx, gone):
        pass  # two files: not big yet
    with staging_reports(store, 5, "new") as (tx, files):
        tx.delete(next(iter(gone)))  # a delete streams too
        again = next(iter(files))
        tx.delete(again)  # written, deleted, written again: the last word wins
        tx.write_file(again, b"# again\n")
    assert big == [("report.write", False), ("report.write", True)]
    assert (store / again).read_bytes() == b"# again\n"
    head = git(store, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert set(files) <= set(head) and next(iter(gone)) not in head
    assert sorted(stat_sizes(store, list(files))) == sorted(files)  # stat data taken
    assert_clean_index(store)


def test_a_streamed_change_whose_staging_fails_leaves_the_index_and_no_lock(
    store: Path, big: list[tuple[str, bool]]
) -> None:
    before = git(store, "ls-files", "--stage")
    with pytest.raises(RuntimeError), staging_reports(store, 5, "failed"):
        assert (store / ".git" / "index.lock").exists()  # streaming: git's lock is ours
        raise RuntimeError("a bug mid-staging")
    assert big == []  # never applied
    assert git(store, "ls-files", "--stage") == before
    assert_nothing_left(store)
    assert git(store, "status", "--porcelain") == ""


def test_contents_changed_behind_the_stream_are_sent_as_committed(
    store: Path, big: list[tuple[str, bool]]
) -> None:
    """Sealing rewrites a change's files in place, past ``Transaction.write``: what is
    committed is what the index gets."""
    with staging_reports(store, 4, "sealed") as (tx, files):
        first = next(iter(files))
        tx.change.writes[first] = b"# rewritten behind the stream\n"
        tx.change.writes["reports/weekly/alice/extra.md"] = b"# not streamed\n"
    assert big == [("report.write", True)]
    for path in (first, "reports/weekly/alice/extra.md"):
        blob = git(store, "rev-parse", f"HEAD:{path}").strip()
        assert git(store, "ls-files", "--stage", "--", path).split()[1] == blob
    assert_clean_index(store)


def test_a_streamed_path_the_change_dropped_falls_back_to_the_whole_change(
    store: Path, big: list[tuple[str, bool]]
) -> None:
    """A path streamed, then taken out of the change behind the transaction's back, would
    have to go back to HEAD's entry: the stream is dropped and the index updated anew."""
    with staging_reports(store, 4, "dropped") as (tx, files):
        dropped = next(iter(files))
        del tx.change.writes[dropped]
    assert big == [("report.write", True)]
    assert dropped not in git(store, "ls-files") and not (store / dropped).exists()
    assert_clean_index(store)


@pytest.mark.parametrize("flag", ["--dry-run", "--no-commit"])
def test_a_big_change_that_is_not_committed_takes_no_lock_while_staged(
    store: Path,
    cli: Any,
    big: list[tuple[str, bool]],
    flag: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = tmp_path / "leads.csv"
    rows.write_text("Company\n" + "".join(f"Co {i}\n" for i in range(5)), encoding="utf-8")
    before = git(store, "ls-files", "--stage")
    streams: list[Repo] = []
    monkeypatch.setattr(Staged, "stream", lambda repo: streams.append(repo))
    done = cli("--as", "dana", "lead", "import", str(rows), "--pool", flag)
    assert done.code == 0, done.err
    assert streams == [] and all(not streamed for _action, streamed in big)
    assert git(store, "ls-files", "--stage") == before
    assert_nothing_left(store)


def test_a_stream_abandoned_while_git_runs_leaves_neither_lock(store: Path) -> None:
    """git holds a lock on the copy (``.lock`` beside it) from its start: a stream dropped
    while git still runs, or after git died writing, leaves no lock of git's or ours."""
    repo = Repo(store)
    before = git(store, "ls-files", "--stage")
    staged = Staged.stream(repo)
    assert staged is not None
    staged.add("pool/leads/L-0000000000Z1/lead.yaml", b"company: Z\n")
    staged.abandon()  # git is most likely still reading its index: stopped, not killed
    assert_nothing_left(store)
    staged = Staged.stream(repo)
    assert staged is not None
    staged.entries_done({}, set())
    staged.files_written()
    staged._thread.join()  # git is done with the copy
    left_by_a_killed_git = staged.copy.with_name(staged.copy.name + ".lock")
    left_by_a_killed_git.write_bytes(b"DIRC")
    staged.abandon()
    assert_nothing_left(store)
    assert git(store, "ls-files", "--stage") == before
