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
