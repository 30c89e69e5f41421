"""Concurrent commands in one clone, processes killed mid-write, and HEAD moving under us.

Real processes: two writers at once must both land (lock), a SIGKILL at any step must leave
valid files and a next command that rolls the change forward or back (journal), and a commit
made by someone else in the middle must not leave our half-change behind (CAS on HEAD).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, git

# -- helpers -----------------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SALESCTL_LOCK_TIMEOUT"] = "30"
    env.update(extra)
    return env


def status(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def lead_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob("**/leads/*/lead.yaml"))


def head_lead_files(root: Path) -> list[str]:
    out = git(root, "ls-tree", "-r", "--name-only", "HEAD")
    return sorted(p for p in out.splitlines() if p.endswith("/lead.yaml"))


def assert_every_yaml_parses(root: Path) -> None:
    for path in root.rglob("*.yaml"):
        if ".git" in path.relative_to(root).parts:
            continue
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path


def journal(root: Path) -> Path:
    return root / ".git" / "salesctl" / "journal.json"


def check_clean(cli: Any) -> None:
    result = cli("check", "-f", "json")
    assert result.code == 0, result.out + result.err
    assert result.json() == []


def assert_lock_free(root: Path) -> None:
    """Nobody holds the store lock (a dead process's flock is gone with it)."""
    lock = root / ".git" / "salesctl" / "lock"
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if held
    finally:
        os.close(fd)


def add_now(cli: Any, root: Path, actor: str, company: str) -> dict[str, Any]:
    """The next command: it must not wait for a lock, and must succeed."""
    assert_lock_free(root)
    result = cli("--as", actor, "lead", "add", "--company", company, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


# -- 4. concurrency ------------------------------------------------------------------------------

WRITER = """
import os, sys, time
from salesctl.cli.app import run
actor, n, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
open(ready, "w").close()
while not os.path.exists(go):  # start together: both are imported and waiting
    time.sleep(0.002)
failed = [i for i in range(n) if run(["--as", actor, "lead", "add", "--company", f"{actor} {i}",
                                      "-f", "json"]) != 0]
sys.exit(1 if failed else 0)
"""


def test_two_concurrent_writers_lose_nothing(store: Path, cli: Any, tmp_path: Path) -> None:
    start = commit_count(store)
    env = child_env(SALESCTL_STORE=str(store))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, actor, "20", str(tmp_path / f"ready-{actor}"), str(go)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for actor in ("alice", "nora")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{a}").exists() for a in ("alice", "nora")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.005)
    go.touch()
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    assert commit_count(store) == start + 40
    assert git(store, "rev-list", "--min-parents=2", "HEAD") == ""  # linear: no merges
    files = lead_files(store)
    assert len(files) == 40
    assert head_lead_files(store) == files
    assert len([f for f in files if "/alice/" in f]) == 20
    assert len([f for f in files if "/nora/" in f]) == 20
    # every commit holds exactly one lead, authored by its owner
    log = git(store, "log", "-40", "--format=%x00%ae", "--name-only").split("\0")[1:]
    commits = [entry.split() for entry in log]
    assert all(len(c) == 2 for c in commits)
    assert all(f"/{email.split('@')[0]}/" in path for email, path in commits)
    assert sorted(path for _email, path in commits) == files
    assert status(store) == ""
    assert not journal(store).exists()
    check_clean(cli)
    listed = cli("--as", "dana", "lead", "list", "-f", "json")
    companies = sorted(r["company"] for r in listed.json())
    assert companies == sorted([f"alice {i}" for i in range(20)] + [f"nora {i}" for i in range(20)])
    # the lock is free: the next command succeeds at once
    add_now(cli, store, "bob", "After")
    assert commit_count(store) == start + 41


# -- 5. crash safety -----------------------------------------------------------------------------

KILL = "os.kill(os.getpid(), signal.SIGKILL)"

CRASH_POINTS = {
    # files written and journalled, no commit object yet
    "before-commit": f"""
        def patched(self, *args, **kwargs):
            {KILL}
        git.Repo._commit = patched
    """,
    # a record's temp file written, killed before renaming it into place
    "mid-write": f"""
        real_replace = os.replace
        def patched(src, dst, *args, **kwargs):
            if not str(dst).endswith("journal.json"):
                {KILL}
            return real_replace(src, dst, *args, **kwargs)
        os.replace = patched
    """,
    # commit object built, the branch not yet moved
    "before-ref-update": f"""
        real_run = git.Repo.run
        def patched(self, *args, **kwargs):
            if args and args[0] == "update-ref":
                {KILL}
            return real_run(self, *args, **kwargs)
        git.Repo.run = patched
    """,
    # branch moved, the user's index not yet pointed at it (a copy of it made, under git's
    # index lock: both are left behind)
    "after-ref-update": f"""
        def patched(self, *args, **kwargs):
            {KILL}
        git.Repo._point_user_index = patched
    """,
    # everything done except removing the journal
    "before-journal-removed": f"""
        real_point = git.Repo._point_user_index
        def patched(self, *args, **kwargs):
            real_point(self, *args, **kwargs)
            {KILL}
        git.Repo._point_user_index = patched
    """,
}
ROLLED_FORWARD = {"after-ref-update", "before-journal-removed"}


def run_killed(root: Path, point: str, args: list[str]) -> None:
    script = (
        "import os, signal, sys\nfrom salesctl import git\nfrom salesctl.cli.app import run\n"
        + textwrap.dedent(CRASH_POINTS[point])
        + "sys.exit(run(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=child_env(SALESCTL_STORE=str(root)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, (proc.returncode, proc.stderr)


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_killed_lead_add_is_rolled_forward_or_back(store: Path, cli: Any, point: str) -> None:
    existing = add_now(cli, store, "alice", "Existing")
    start = git(store, "rev-parse", "HEAD").strip()

    run_killed(store, point, ["--as", "alice", "lead", "add", "--company", "Crashed"])
    assert_every_yaml_parses(store)
    crashed = [f for f in lead_files(store) if f != existing["path"]]
    assert len(crashed) <= 1

    after = add_now(cli, store, "alice", "After")

    assert_every_yaml_parses(store)
    assert status(store) == ""
    assert not journal(store).exists()
    assert git(store, "rev-list", "--min-parents=2", "HEAD") == ""
    if point in ROLLED_FORWARD:
        # the interrupted lead is fully committed, just before ours
        assert git(store, "rev-parse", "HEAD~2").strip() == start
        assert len(crashed) == 1
        assert head_lead_files(store) == sorted([existing["path"], after["path"], crashed[0]])
        assert git(store, "show", "--name-only", "--format=", "HEAD~1").split() == crashed
        assert (
            git(
                store, "log", "-1", "--format=%(trailers:key=Salesctl-Action,valueonly)", "HEAD~1"
            ).strip()
            == "lead.add"
        )
    else:
        # the interrupted lead is gone from the tree and was never committed
        assert git(store, "rev-parse", "HEAD~1").strip() == start
        assert head_lead_files(store) == sorted([existing["path"], after["path"]])
    assert lead_files(store) == head_lead_files(store)
    check_clean(cli)


@pytest.mark.parametrize("point", ["before-ref-update", "after-ref-update"])
def test_killed_lead_edit_leaves_the_old_or_the_new_record(
    store: Path, cli: Any, point: str
) -> None:
    lead = add_now(cli, store, "alice", "Acme")
    path = store / lead["path"]
    original = path.read_bytes()
    start = git(store, "rev-parse", "HEAD").strip()

    run_killed(
        store, point, ["--as", "alice", "lead", "edit", lead["id"], "--set", "stage=contacted"]
    )
    if point in ROLLED_FORWARD:  # and again: recover from the first crash, then crash too
        run_killed(
            store, point, ["--as", "alice", "lead", "edit", lead["id"], "--set", "stage=qualified"]
        )
    assert_every_yaml_parses(store)
    add_now(cli, store, "alice", "After")

    assert status(store) == ""
    assert not journal(store).exists()
    stage = yaml.safe_load(path.read_text(encoding="utf-8"))["stage"]
    committed = yaml.safe_load(git(store, "show", f"HEAD:{lead['path']}"))["stage"]
    assert stage == committed
    if point in ROLLED_FORWARD:
        assert stage == "qualified"
    else:
        assert path.read_bytes() == original
        assert git(store, "rev-parse", "HEAD~1").strip() == start
    check_clean(cli)


# -- compare-and-swap on HEAD ------------------------------------------------------------------


def test_head_moved_by_someone_else_mid_command_changes_nothing(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone moves the branch between our commit-tree and update-ref (with plumbing: a
    `git commit` cannot, while we hold git's index lock, below): the CAS must fail, our
    change must be undone, theirs kept, and the next command must work."""
    from salesctl import git as salesctl_git

    real_commit = salesctl_git.Repo._commit

    def commit_then_race(self: Any, *args: Any, **kwargs: Any) -> str:
        new = real_commit(self, *args, **kwargs)
        theirs = git(
            store, "-c", "user.name=X", "-c", "user.email=x@x",
            "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "someone else",
        ).strip()  # fmt: skip
        git(store, "update-ref", "HEAD", theirs)
        return new

    monkeypatch.setattr(salesctl_git.Repo, "_commit", commit_then_race)
    result = cli("--as", "alice", "lead", "add", "--company", "Raced", "-f", "json")
    monkeypatch.setattr(salesctl_git.Repo, "_commit", real_commit)

    assert result.code == 1, (result.out, result.err)
    assert result.err.startswith("error: the branch moved while this command ran (")
    assert "someone committed meanwhile (nothing of this command was kept" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert git(store, "log", "-1", "--format=%s").strip() == "someone else"
    assert head_lead_files(store) == []
    assert lead_files(store) == []  # the written file was taken back
    assert status(store) == ""
    after = cli("--as", "alice", "lead", "add", "--company", "After", "-f", "json")
    assert after.code == 0, after.err
    assert lead_files(store) == [after.json()["path"]]


def test_a_git_commit_mid_command_waits_for_gits_index_lock(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While our commit is built the user's index takes our paths in a copy, under git's own
    index lock: a user's `git commit` then is refused by git (it would otherwise take our
    staged files into their commit), nothing of theirs or ours is lost, and it works after."""
    from salesctl import git as salesctl_git

    real_commit = salesctl_git.Repo._commit
    refused: list[str] = []
    (store / "notes.md").write_text("mine\n", encoding="utf-8")
    git(store, "add", "notes.md")

    def commit_then_race(self: Any, *args: Any, **kwargs: Any) -> str:
        new = real_commit(self, *args, **kwargs)
        lock = store / ".git" / "index.lock"
        assert lock.read_bytes().startswith(b"salesctl ")  # names who holds it
        race = subprocess.run(
            ["git", "-c", "user.name=X", "-c", "user.email=x@x", "commit", "-q", "-m", "theirs"],
            cwd=store, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert race.returncode != 0
        refused.append(race.stderr)
        return new

    monkeypatch.setattr(salesctl_git.Repo, "_commit", commit_then_race)
    added = cli("--as", "alice", "lead", "add", "--company", "Locked", "-f", "json")
    monkeypatch.setattr(salesctl_git.Repo, "_commit", real_commit)

    assert added.code == 0, added.err
    assert "index.lock" in refused[0]
    assert not (store / ".git" / "index.lock").exists()
    assert list((store / ".git" / "salesctl").glob(".index.*")) == []  # the copy is gone
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [added.json()["path"]]
    assert status(store).splitlines() == ["A  notes.md"]  # theirs: still staged, not in ours
    git(store, "-c", "user.name=X", "-c", "user.email=x@x", "commit", "-q", "-m", "theirs")
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == ["notes.md"]
    assert status(store) == ""
