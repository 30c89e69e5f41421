"""``salesctl sync`` with a real bare remote and several clones: offline work merged without
conflicts, retries when someone pushes first, and a real conflict that changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, git, make_store

from salesctl.ops.collab import sync as sync_module


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    seed = make_store(tmp_path / "seed")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    return bare


def clone(remote: Path, name: str) -> Path:
    target = remote.parent / name
    git(remote.parent, "clone", "-q", str(remote), str(target))
    git(target, "config", "user.email", f"{name}@acme.example")
    git(target, "config", "user.name", name.title())
    return target


def run(cli: Any, clone_dir: Path, actor: str, *args: str) -> Any:
    return cli("--store", str(clone_dir), "--as", actor, *args)


def lead_ids(cli: Any, clone_dir: Path) -> list[str]:
    result = run(cli, clone_dir, "dana", "lead", "list", "-f", "json")
    assert result.code == 0, result.err
    return [row["id"] for row in result.json()]


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    return git(root, "rev-parse", "HEAD"), status, files


ADD_FIFTY = textwrap.dedent(
    """
    import sys
    from salesctl.cli.app import run
    store, actor = sys.argv[1], sys.argv[2]
    for i in range(50):
        code = run(["--store", store, "--as", actor, "lead", "add",
                    "--company", f"{actor} company {i}", "--phone", f"1380000{i:04d}"])
        assert code == 0, code
    """
)


def test_two_clones_add_fifty_leads_each_offline_and_sync_in_turns(remote: Path, cli: Any) -> None:
    alice, bob = clone(remote, "alice"), clone(remote, "bob")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_FIFTY, str(path), actor],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for path, actor in ((alice, "alice"), (bob, "bob"))
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read() if worker.stderr else ""
    alice_commits = git(alice, "rev-list", "--count", "HEAD").strip()
    assert alice_commits == "51"

    first = run(cli, alice, "alice", "sync", "-f", "json")
    assert first.code == 0, first.err
    assert first.json()["pushed"] == 50 and first.json()["received"] == 0
    second = run(cli, bob, "bob", "sync", "-f", "json")
    assert second.code == 0, second.err
    assert second.json() | {"head": ""} == {
        "remote": "origin",
        "branch": "main",
        "received": 50,
        "rebased": 50,
        "pushed": 50,
        "attempts": 1,
        "head": "",
    }
    third = run(cli, alice, "alice", "sync")
    assert third.code == 0 and "received 50" in third.out

    for path in (alice, bob):
        ids = lead_ids(cli, path)
        assert len(ids) == len(set(ids)) == 100
    assert git(alice, "rev-parse", "HEAD") == git(bob, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")
    # no commit was lost or merged away: one commit per lead, by its author
    authors = git(remote, "log", "--format=%ae", "main").split()
    assert authors.count("alice@acme.example") == authors.count("bob@acme.example") == 50
    assert run(cli, bob, "bob", "sync").out.startswith("up to date")


def test_sync_retries_when_someone_pushes_first(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = clone(remote, "alice"), clone(remote, "bob")
    assert run(cli, alice, "alice", "lead", "add", "--company", "A").code == 0
    assert run(cli, bob, "bob", "lead", "add", "--company", "B").code == 0
    original = sync_module._Git.call
    raced = []

    def call(self: Any, *args: str) -> Any:
        if args[0] == "push" and not raced and self.root == alice:
            raced.append(True)  # bob gets in between alice's fetch and her push
            git(bob, "push", "-q", "origin", "main")
        return original(self, *args)

    monkeypatch.setattr(sync_module._Git, "call", call)
    result = run(cli, alice, "alice", "sync", "-f", "json")
    assert result.code == 0, result.err
    assert result.json()["attempts"] == 2 and result.json()["received"] == 1
    assert len(lead_ids(cli, alice)) == 2
    assert git(remote, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")


def test_a_real_conflict_stops_changes_nothing_and_says_how_to_settle_it(
    remote: Path, cli: Any
) -> None:
    alice, lee = clone(remote, "alice"), clone(remote, "lee")
    added = run(cli, alice, "alice", "lead", "add", "--company", "Acme", "-f", "json")
    lead = added.json()["id"]
    assert run(cli, alice, "alice", "sync").code == 0
    assert run(cli, lee, "lee", "sync").code == 0
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "phone=13811111111").code == 0
    assert run(cli, lee, "lee", "lead", "edit", lead, "--set", "phone=13922222222").code == 0
    assert run(cli, lee, "lee", "lead", "edit", lead, "--set", "source=fair").code == 0
    assert run(cli, alice, "alice", "sync").code == 0

    before = snapshot(lee)
    stopped = run(cli, lee, "lee", "sync")
    assert stopped.code == 1
    assert lead in stopped.err and "phone" in stopped.err
    assert "13811111111" in stopped.err and "13922222222" in stopped.err
    assert "salesctl sync --keep remote" in stopped.err
    assert snapshot(lee) == before  # exactly as before: HEAD, status, every file
    assert not (lee / ".git" / "rebase-merge").exists()

    settled = run(cli, lee, "lee", "sync", "--keep", "local")
    assert settled.code == 0, settled.err
    shown = run(cli, alice, "alice", "sync")
    assert shown.code == 0
    data = run(cli, alice, "alice", "lead", "show", lead, "-f", "json").json()
    assert (data["phone"], data["source"]) == ("13922222222", "fair")
    # both of lee's commits survived the rebase
    assert git(remote, "log", "--format=%ae", "main").split().count("lee@acme.example") == 2


def test_sync_refuses_to_start_on_uncommitted_tracked_edits(remote: Path, cli: Any) -> None:
    alice = clone(remote, "alice")
    (alice / "salesctl.yaml").write_text("org: changed\n")
    result = run(cli, alice, "alice", "sync")
    assert (
        result.code == 1 and "uncommitted changes" in result.err and "salesctl.yaml" in result.err
    )


def test_sync_reports_a_push_the_servers_hook_refused(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("hook", "install", str(remote)).code == 0
    bob = clone(remote, "bob")
    bob_lead = run(cli, bob, "bob", "lead", "add", "--company", "Bob's", "-f", "json").json()["id"]
    monkeypatch.setenv("SALESCTL_PUSHER", "bob")
    assert run(cli, bob, "bob", "sync").code == 0
    alice = clone(remote, "alice")
    path = alice / f"teams/east/bob/leads/{bob_lead}/lead.yaml"
    path.write_text(path.read_text().replace("company: Bob's", "company: Mine"))
    git(alice, "commit", "-qam", "take it")
    monkeypatch.setenv("SALESCTL_PUSHER", "alice")
    refused = run(cli, alice, "alice", "sync")
    assert refused.code == 3
    assert "refused the push" in refused.err
    assert f"teams/east/bob/leads/{bob_lead}/lead.yaml" in refused.err


def overtaking_pushes(bob: Path, count: int) -> list[str]:
    """``count`` commits in bob's clone that can be pushed one by one to overtake alice."""
    before = git(bob, "rev-parse", "HEAD").strip()
    for i in range(count):
        git(bob, "commit", "-q", "--allow-empty", "-m", f"bob's change {i}")
    return git(bob, "rev-list", "--reverse", f"{before}..HEAD").split()


def test_sync_keeps_retrying_past_five_overtaken_pushes_within_its_timeout(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = clone(remote, "alice"), clone(remote, "bob")
    assert run(cli, alice, "alice", "lead", "add", "--company", "A").code == 0
    overtakers = overtaking_pushes(bob, 7)  # more than the five attempts sync used to make
    original = sync_module._Git.call
    pauses: list[float] = []

    def call(self: Any, *args: str) -> Any:
        if args[0] == "push" and self.root == alice and overtakers:
            git(bob, "push", "-q", "origin", f"{overtakers.pop(0)}:main")  # bob gets in first
        return original(self, *args)

    monkeypatch.setattr(sync_module._Git, "call", call)
    monkeypatch.setattr(sync_module, "_pause", pauses.append, raising=False)
    result = run(cli, alice, "alice", "sync", "-f", "json")
    assert result.code == 0, result.err
    assert result.json() | {"head": ""} == {
        "remote": "origin",
        "branch": "main",
        "received": 7,
        "rebased": 1,
        "pushed": 1,
        "attempts": 8,
        "head": "",
    }
    assert git(remote, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")
    assert git(remote, "rev-list", "--count", "main").strip() == "9"  # config + 7 + alice's
    assert len(pauses) == 7  # one jittered pause before each retry
    assert all(0 <= pause <= sync_module.BACKOFF_CAP_SECONDS for pause in pauses)
    assert len(set(pauses)) == len(pauses)  # drawn at random, not a fixed schedule


def test_backoff_is_full_jitter_under_a_growing_cap_that_shrinks_as_time_runs_out() -> None:
    delay = sync_module.backoff_delay
    cap = sync_module.BACKOFF_CAP_SECONDS
    assert all(0 <= delay(1, 0.0) <= 0.05 for _ in range(100))  # a short first pause
    assert all(0 <= delay(3, 0.1) <= 1.6 for _ in range(100))  # attempt time, grown twice
    late = [delay(12, 1.0) for _ in range(300)]
    assert all(0 <= d <= cap for d in late) and max(late) > cap / 2 and min(late) < cap / 4
    assert all(delay(12, 1.0, time_left=0.5) <= cap / 16 for _ in range(100))  # waited long
    assert delay(12, 1.0, time_left=0.0) == 0.0


def test_clones_do_not_draw_the_same_pauses() -> None:
    draw = (
        "from salesctl.ops.collab.sync import backoff_delay\n"
        "print([backoff_delay(9, 1.0) for _ in range(3)])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outputs = {
        subprocess.run(
            [sys.executable, "-c", draw], env=env, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(outputs) == 2  # no fixed seed: two processes retry at different moments


def test_sync_gives_up_when_its_time_runs_out_and_says_how_many_commits_wait(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = clone(remote, "alice")
    for company in ("A", "B"):
        assert run(cli, alice, "alice", "lead", "add", "--company", company).code == 0
    head = git(alice, "rev-parse", "HEAD")
    original = sync_module._Git.call
    pushes: list[int] = []

    def call(self: Any, *args: str) -> Any:
        if args[0] == "push":  # the remote moves on before every one of alice's pushes
            pushes.append(1)
            return subprocess.CompletedProcess(
                args, 1, "!\tHEAD:refs/heads/main\t[rejected] (fetch first)\n", ""
            )
        return original(self, *args)

    now = [0.0]

    def clock() -> float:
        now[0] += 4.0  # each look at the clock finds 4 s gone
        return now[0]

    monkeypatch.setattr(sync_module._Git, "call", call)
    monkeypatch.setattr(sync_module, "_clock", clock, raising=False)
    monkeypatch.setattr(sync_module, "_pause", lambda _seconds: None, raising=False)
    gave_up = run(cli, alice, "alice", "sync", "--timeout", "30")
    assert gave_up.code == 1
    assert "2 local commits wait" in gave_up.err and "salesctl sync" in gave_up.err
    assert 2 <= len(pushes) < 10  # it retried, then stopped once 30 s had passed
    assert git(alice, "rev-parse", "HEAD") == head  # both commits are safe in the clone
    assert git(remote, "rev-list", "--count", "main").strip() == "1"

    pushes.clear()
    once = run(cli, alice, "alice", "sync", "--timeout", "0")  # no time for a retry
    assert once.code == 1 and len(pushes) == 1 and "2 local commits wait" in once.err
    assert run(cli, alice, "alice", "sync", "--timeout", "-1").code == 1


def test_a_conflict_found_on_a_retry_is_reported_not_retried(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, lee = clone(remote, "alice"), clone(remote, "lee")
    lead = run(cli, alice, "alice", "lead", "add", "--company", "Acme", "-f", "json").json()["id"]
    assert run(cli, alice, "alice", "sync").code == 0
    assert run(cli, lee, "lee", "sync").code == 0
    assert run(cli, lee, "lee", "lead", "edit", lead, "--set", "phone=13922222222").code == 0
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "phone=13811111111").code == 0
    before = snapshot(alice)
    original = sync_module._Git.call
    pauses: list[float] = []

    def call(self: Any, *args: str) -> Any:
        if args[0] == "push" and self.root == alice and not pauses:
            git(lee, "push", "-q", "origin", "main")  # lee's edit lands between fetch and push
        return original(self, *args)

    monkeypatch.setattr(sync_module._Git, "call", call)
    monkeypatch.setattr(sync_module, "_pause", pauses.append, raising=False)
    stopped = run(cli, alice, "alice", "sync")
    assert stopped.code == 1
    assert lead in stopped.err and "13811111111" in stopped.err and "13922222222" in stopped.err
    assert len(pauses) == 1  # one retry found the conflict, and sync stopped there
    assert snapshot(alice) == before
