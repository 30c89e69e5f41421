"""What a killed command leaves behind, and who cleans it up (issue 20, part 9: debris).

A writing command killed mid-change leaves a journal, half-written files in the work tree
and temp files (``.lead.yaml.<pid>.<tid>.tmp``) under ``.git/salesctl/``. The next command
of any kind, a read too, must finish or undo the change and remove the temp files; it must
never touch a live writer's; and on a store it cannot write, a read still works and says a
change is pending (``check`` reports it as a problem).

The kills reuse the crash points of tests/test_foundation_concurrency.py and
tests/test_git_pack.py: a child process patches one step of the write path to SIGKILL
itself there.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, git, salesctl_subprocess
from test_foundation_concurrency import CRASH_POINTS as FOUNDATION_CRASHES
from test_foundation_concurrency import KILL, ROLLED_FORWARD, add_now, journal, status
from test_git_pack import CRASH_POINTS as PACK_CRASHES
from test_git_pack import import_csv

from salesctl.git import PACK_ABOVE

# Killed once 100 records of an import are in place: half an import on disk, the ref not
# moved, the 100th record's temp file left in .git/salesctl/.
MID_IMPORT = f"""
    real_replace = os.replace
    placed = []
    def patched(src, dst, *args, **kwargs):
        if str(dst).endswith("lead.yaml"):
            placed.append(dst)
            if len(placed) == 100:
                {KILL}
        return real_replace(src, dst, *args, **kwargs)
    os.replace = patched
"""
# Killed with the journal's temp file written but not yet renamed: no journal at all.
MID_JOURNAL = f"""
    real_replace = os.replace
    def patched(src, dst, *args, **kwargs):
        if str(dst).endswith("journal.json"):
            {KILL}
        return real_replace(src, dst, *args, **kwargs)
    os.replace = patched
"""
# Stopped (not killed) with a record's temp file written and the lock held, until $GO exists.
PAUSED = """
    import time
    real_replace = os.replace
    def patched(src, dst, *args, **kwargs):
        if str(dst).endswith("lead.yaml"):
            open(os.environ["READY"], "w").close()
            while not os.path.exists(os.environ["GO"]):
                time.sleep(0.01)
        return real_replace(src, dst, *args, **kwargs)
    os.replace = patched
"""
READS = {
    "lead list": ["--as", "dana", "lead", "list", "-f", "json"],
    "check": ["check", "-f", "json"],
}


def child(patch: str, root: Path, args: list[str], **env: str) -> subprocess.Popen[str]:
    script = (
        "import os, signal, sys\nfrom salesctl import git\nfrom salesctl.cli.app import run\n"
        + textwrap.dedent(patch)
        + "sys.exit(run(sys.argv[1:]))\n"
    )
    full_env = dict(os.environ, SALESCTL_STORE=str(root), **env)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_killed(root: Path, patch: str, args: list[str]) -> None:
    proc = child(patch, root, args)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == -9, (proc.returncode, err)


def temp_files(root: Path) -> list[str]:
    """Our temp files anywhere in the store: .git/salesctl/ and the work tree."""
    found = [p for p in (root / ".git" / "salesctl").rglob("*.tmp")]
    found += [p for p in root.rglob(".*.tmp") if ".git" not in p.relative_to(root).parts]
    return sorted(p.relative_to(root).as_posix() for p in found)


def companies(cli: Any) -> list[str]:
    listed = cli("--as", "dana", "lead", "list", "-f", "json")
    assert listed.code == 0, listed.err
    return sorted(lead["company"] for lead in listed.json())


def imported_on_disk(root: Path) -> int:
    return len(list((root / "pool" / "leads").glob("*/lead.yaml")))


# -- (1) the next command, a read, cleans up a killed write -------------------------------------


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("point", list(FOUNDATION_CRASHES))
def test_a_read_after_a_killed_write_recovers_and_leaves_no_temp_files(
    store: Path, cli: Any, point: str, read: str
) -> None:
    add_now(cli, store, "alice", "Existing")
    run_killed(
        store, FOUNDATION_CRASHES[point], ["--as", "alice", "lead", "add", "--company", "Killed"]
    )
    assert journal(store).exists()
    if point == "mid-write":  # the temp file the kill left is what must go
        assert temp_files(store) != []

    result = cli(*READS[read])

    assert result.code == 0, result.out + result.err
    if read == "check":
        assert result.json() == []
    assert not journal(store).exists()
    assert temp_files(store) == []
    assert status(store) == ""
    expected = ["Existing", "Killed"] if point in ROLLED_FORWARD else ["Existing"]
    assert companies(cli) == expected


def test_a_temp_journal_left_by_a_kill_is_removed_by_the_next_write(store: Path, cli: Any) -> None:
    """Killed before the journal existed: reads (one stat, no journal) leave the directory
    alone, and the next write, which lists it under the lock, removes the temp file."""
    run_killed(store, MID_JOURNAL, ["--as", "alice", "lead", "add", "--company", "Killed"])
    assert not journal(store).exists()
    assert temp_files(store) != []

    add_now(cli, store, "alice", "After")

    assert temp_files(store) == []
    assert companies(cli) == ["After"]
    assert status(store) == ""


# -- (2) half an import is never seen ------------------------------------------------------------

IMPORT_CRASHES = {"mid-import": MID_IMPORT, **PACK_CRASHES}


@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("point", list(IMPORT_CRASHES))
def test_a_killed_import_is_finished_or_undone_by_the_next_read(
    store: Path, cli: Any, tmp_path: Path, point: str, read: str
) -> None:
    rows = PACK_ABOVE + 1
    src = import_csv(tmp_path / "leads.csv", rows)
    start = git(store, "rev-parse", "HEAD").strip()
    run_killed(store, IMPORT_CRASHES[point], ["--as", "dana", "lead", "import", str(src), "--pool"])
    assert imported_on_disk(store) in ((100 - 1) if point == "mid-import" else rows, rows)

    result = cli(*READS[read])

    assert result.code == 0, result.out + result.err
    if read == "check":
        assert result.json() == []  # checked after the recovery, not half an import
    else:
        assert len(result.json()) in (0, rows)
    assert not journal(store).exists()
    assert temp_files(store) == []
    assert status(store) == ""
    if point in ROLLED_FORWARD:
        assert git(store, "rev-parse", "HEAD~1").strip() == start
        assert imported_on_disk(store) == rows
    else:
        assert git(store, "rev-parse", "HEAD").strip() == start
        assert imported_on_disk(store) == 0
    assert len(companies(cli)) == imported_on_disk(store)


# -- (3) a live writer is never disturbed --------------------------------------------------------


def test_reads_during_a_live_write_leave_its_journal_and_temp_files_alone(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    writer = child(
        PAUSED,
        store,
        ["--as", "alice", "lead", "add", "--company", "Live", "-f", "json"],
        READY=str(ready),
        GO=str(go),
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None, writer.communicate()
            assert time.monotonic() < deadline, "the writer never reached its rename"
            time.sleep(0.01)
        in_flight = temp_files(store)
        assert in_flight != []
        assert journal(store).exists()

        other = salesctl_subprocess(*READS["lead list"], env={"SALESCTL_STORE": str(store)})
        checked = cli(*READS["check"])

        assert other.returncode == 0, other.stderr
        assert checked.code == 0, checked.out + checked.err
        assert checked.json() == []  # a change under way is not a problem
        assert "warning" not in other.stderr + checked.err
        assert temp_files(store) == in_flight
        assert journal(store).exists()
    finally:
        go.touch()
        _out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert companies(cli) == ["Live"]
    assert temp_files(store) == []
    assert not journal(store).exists()
    assert status(store) == ""


def test_recovery_removes_only_the_temp_files_of_dead_processes(store: Path, cli: Any) -> None:
    """Under the lock no command of this clone writes, but a temp file whose process lives
    (say, another clone's salesctl sharing the git directory) is still left alone."""
    alive = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    try:
        args = ["--as", "alice", "lead", "add", "--company", "Killed"]
        run_killed(store, FOUNDATION_CRASHES["before-commit"], args)
        state = store / ".git" / "salesctl"
        (killed,) = store.glob("**/leads/*/lead.yaml")  # written, never committed
        live = state / f".lead.yaml.{alive.pid}.1.tmp"
        # ``write_atomic``'s fallback (temp dir on another file system) writes next to the file
        gone = [
            state / f".lead.yaml.{dead.pid}.1.tmp",
            killed.parent / f".lead.yaml.{dead.pid}.7.tmp",
        ]
        for path in (live, *gone):
            path.write_bytes(b"half")

        assert cli(*READS["lead list"]).code == 0

        assert live.exists()
        assert [path.exists() for path in gone] == [False, False]
        assert not killed.parent.exists()  # rolled back, its directory too
        assert not journal(store).exists()
        assert status(store) == ""
    finally:
        alive.communicate(b"")


# -- stores a read cannot recover: it still reads, and says so -----------------------------------


def refuse_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store lock cannot be opened for writing, as on a read-only file system (tests
    may run as root, whom file modes do not stop)."""
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("/salesctl/lock") and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)


def pending_problems(result: Any) -> list[dict[str, Any]]:
    return [p for p in result.json() if p["where"] == ".git/salesctl/journal.json"]


def test_a_read_that_cannot_write_still_reads_and_check_names_the_pending_change(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = import_csv(tmp_path / "leads.csv", PACK_ABOVE + 1)
    run_killed(store, MID_IMPORT, ["--as", "dana", "lead", "import", str(src), "--pool"])
    with monkeypatch.context() as read_only:
        refuse_lock(read_only)

        listed = cli(*READS["lead list"])
        checked = cli(*READS["check"])

        assert listed.code == 0, listed.err
        assert "warning" in listed.err
        assert checked.code == 1
        (problem,) = pending_problems(checked)
        assert "salesctl check" in problem["message"]  # the command that finishes it
        assert journal(store).exists()

    # writable again: the next read rolls the import back
    assert companies(cli) == []
    assert not journal(store).exists()
    assert temp_files(store) == []
    assert status(store) == ""


def test_a_read_after_someone_committed_over_a_killed_change_reads_and_check_reports_it(
    store: Path, cli: Any
) -> None:
    """HEAD moved since the journal (a plain `git commit`): recovery cannot tell whose the
    files are, so a write refuses, but a read only warns and `check` reports it."""
    args = ["--as", "alice", "lead", "add", "--company", "Killed"]
    run_killed(store, FOUNDATION_CRASHES["before-ref-update"], args)
    # The killed command held git's index lock (it says so); the user removes it, as git's
    # "index.lock exists" tells them to (any salesctl command would have).
    lock = store / ".git" / "index.lock"
    assert lock.read_text(encoding="utf-8").startswith("salesctl ")
    lock.unlink()
    (store / "notes.md").write_text("mine\n", encoding="utf-8")
    git(store, "add", "notes.md")
    git(store, "-c", "user.name=X", "-c", "user.email=x@x", "commit", "-q", "-m", "notes")

    listed = cli(*READS["lead list"])
    checked = cli(*READS["check"])

    assert listed.code == 0, listed.err
    assert "warning" in listed.err
    assert checked.code == 1
    assert len(pending_problems(checked)) == 1
    assert journal(store).exists()


def test_the_bundled_sample_outside_git_is_read_without_recovery(cli: Any) -> None:
    sample = ROOT / "records"
    if not (sample / "salesctl.yaml").exists():
        pytest.skip("no bundled sample store")
    listed = cli("--store", str(sample), "--as", "wanglei", "lead", "list", "-f", "json")
    assert listed.code == 0, listed.err
    assert listed.json() != []
    assert not (sample / ".git").exists()
