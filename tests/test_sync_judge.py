"""``salesctl sync`` judging its rebased commits before pushing: a follow-up added to a lead
that meanwhile moved on the remote to another rep lands in that rep's directory, where its
author may not write. Sync stops before pushing (exit 3, as the hook would refuse it), says
whose the lead is now and how to keep the note (become a participant) or drop the commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git
from test_sync import clone, remote, run
from test_sync_merge import followup_paths, shared_lead

__all__ = ["remote"]  # the fixture, shared with test_sync

NOTE = "called, wants a quote"


@pytest.fixture
def hooked(remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The remote with salesctl's pre-receive hook installed."""
    assert cli("hook", "install", str(remote)).code == 0
    return remote


def sync_as(cli: Any, path: Path, member: str, monkeypatch: Any, *args: str) -> Any:
    monkeypatch.setenv("SALESCTL_PUSHER", member)  # whom the server authenticates
    return run(cli, path, member, "sync", *args)


def reassigned_under_a_followup(
    cli: Any, remote: Path, monkeypatch: Any, *, participant: bool = False
) -> tuple[str, Path, Path]:
    """alice's lead in three clones; lee reassigns it to bob and pushes (bob first makes
    alice a participant, if asked) while alice adds a follow-up to it."""
    monkeypatch.setenv("SALESCTL_PUSHER", "alice")
    lead, (alice, bob, lee) = shared_lead(cli, remote, "alice", "bob", "lee")
    assert run(cli, lee, "lee", "lead", "assign", lead, "--to", "bob").code == 0
    assert sync_as(cli, lee, "lee", monkeypatch).code == 0
    if participant:
        make_participant(cli, bob, lead, monkeypatch)
    added = run(cli, alice, "alice", "followup", "add", lead, "--text", NOTE)
    assert added.code == 0, added.err
    return lead, alice, bob


def make_participant(cli: Any, bob: Path, lead: str, monkeypatch: Any) -> None:
    assert sync_as(cli, bob, "bob", monkeypatch).code == 0
    edit = ("lead", "edit", lead, "--set", "participants=alice")
    assert run(cli, bob, "bob", *edit).code == 0
    assert sync_as(cli, bob, "bob", monkeypatch).code == 0


def assert_rebased_not_pushed(alice: Path, remote: Path, remote_tip: str, lead: str) -> str:
    """alice's follow-up is intact on top of the remote's tip, in a clean clone."""
    assert git(remote, "rev-parse", "main") == remote_tip  # nothing pushed
    assert git(alice, "rev-parse", "HEAD~1") == remote_tip  # rebased onto it
    assert git(alice, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (alice / ".git" / "rebase-merge").exists()
    author, subject = git(alice, "log", "-1", "--format=%ae%n%s").splitlines()
    assert author == "alice@acme.example" and subject.startswith("followup.add")
    paths = followup_paths(alice, lead)
    assert len(paths) == 1 and paths[0].startswith(f"teams/east/bob/leads/{lead}/")
    assert NOTE in (alice / paths[0]).read_text()
    return git(alice, "rev-parse", "--short", "HEAD").strip()


def test_a_followup_on_a_lead_moved_to_another_rep_stops_before_pushing(
    hooked: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, alice, bob = reassigned_under_a_followup(cli, hooked, monkeypatch)
    remote_tip = git(hooked, "rev-parse", "main")

    stopped = sync_as(cli, alice, "alice", monkeypatch)
    assert stopped.code == 3, stopped.err  # forbidden, as the hook's refusal
    commit = assert_rebased_not_pushed(alice, hooked, remote_tip, lead)
    said = stopped.err.splitlines()[0]
    assert said.startswith(f"error: {lead} is bob's now (moved on origin): your commit {commit}")
    assert "nothing was pushed" in said and "refused the push" not in said
    assert f"`salesctl lead edit {lead} --set participants=alice`" in said
    assert f"`salesctl sync --drop {commit}`" in said
    assert "followup.add bob" in stopped.err  # the judge's reason, with the path

    # bob makes alice a participant: the same commit now goes through the hook
    make_participant(cli, bob, lead, monkeypatch)
    synced = sync_as(cli, alice, "alice", monkeypatch, "-f", "json")
    assert synced.code == 0, synced.err
    assert synced.json()["pushed"] == 1
    assert git(hooked, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")
    assert NOTE in git(hooked, "show", f"main:{followup_paths(alice, lead)[0]}")


def test_a_participants_followup_on_a_lead_moved_to_its_owner_pushes(
    hooked: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, alice, _bob = reassigned_under_a_followup(cli, hooked, monkeypatch, participant=True)
    synced = sync_as(cli, alice, "alice", monkeypatch)
    assert synced.code == 0, synced.err
    assert git(hooked, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")
    assert followup_paths(alice, lead)[0].startswith(f"teams/east/bob/leads/{lead}/")


def test_sync_drop_takes_the_refused_commit_out_and_pushes_the_rest(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no hook on this remote: sync's own judgement is what keeps the follow-up off it
    lead, alice, _bob = reassigned_under_a_followup(cli, remote, monkeypatch)
    assert run(cli, alice, "alice", "lead", "add", "--company", "Other Co").code == 0
    remote_tip = git(remote, "rev-parse", "main")
    stopped = run(cli, alice, "alice", "sync")
    assert stopped.code == 3 and f"{lead} is bob's now" in stopped.err
    assert git(remote, "rev-parse", "main") == remote_tip
    refused = git(alice, "rev-parse", "--short", "HEAD~1").strip()  # the follow-up's commit
    assert refused in stopped.err.splitlines()[0]

    pushed = git(alice, "rev-parse", "--short", "HEAD~2").strip()
    wrong = run(cli, alice, "alice", "sync", "--drop", pushed)
    assert wrong.code == 1 and "not one of your commits waiting to be pushed" in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1

    dropped = run(cli, alice, "alice", "sync", "--drop", refused)
    assert dropped.code == 0, dropped.err
    assert f"dropped {refused} followup.add" in dropped.out
    assert f"`git show {refused}`" in dropped.out
    assert git(remote, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")
    assert followup_paths(alice, lead) == []
    # what it wrote is still there to copy, under a ref that is neither pushed nor expired
    kept = git(alice, "for-each-ref", "--format=%(objectname:short)", "refs/salesctl/dropped/")
    assert kept.split() == [refused]
    assert "followup.add" in git(alice, "show", "--stat", refused)
    assert "refs/salesctl" not in git(remote, "for-each-ref")
    assert git(remote, "log", "-1", "--format=%s", "main").startswith("lead.add")


def test_an_edit_of_a_lead_moved_to_another_rep_says_to_ask_its_owner(
    remote: Path, cli: Any
) -> None:
    lead, (alice, lee) = shared_lead(cli, remote, "alice", "lee")
    assert run(cli, lee, "lee", "lead", "assign", lead, "--to", "bob").code == 0
    assert run(cli, lee, "lee", "sync").code == 0
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "source=fair").code == 0
    stopped = run(cli, alice, "alice", "sync")
    assert stopped.code == 3, stopped.err
    said = stopped.err.splitlines()[0]
    assert f"{lead} is bob's now" in said and "changes it" in said
    assert "ask bob or your lead" in said and "participant" not in said


def test_a_record_moved_on_the_remote_that_we_did_not_touch_pushes(remote: Path, cli: Any) -> None:
    lead, (alice, lee) = shared_lead(cli, remote, "alice", "lee")
    assert run(cli, lee, "lee", "lead", "assign", lead, "--to", "bob").code == 0
    assert run(cli, lee, "lee", "sync").code == 0
    assert run(cli, alice, "alice", "lead", "add", "--company", "Mine").code == 0
    synced = run(cli, alice, "alice", "sync")
    assert synced.code == 0, synced.err
    assert git(remote, "rev-parse", "main") == git(alice, "rev-parse", "HEAD")


def test_a_clone_with_one_commit_judges_nothing_when_nothing_moved(
    remote: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.ops.collab import sync as sync_module

    def judged(*args: Any) -> None:
        raise AssertionError("judged without a moved record")

    monkeypatch.setattr(sync_module, "refuse_writes_moved_away", judged)
    alice, bob = clone(remote, "alice"), clone(remote, "bob")
    assert run(cli, bob, "bob", "lead", "add", "--company", "B").code == 0
    assert run(cli, bob, "bob", "sync").code == 0
    assert run(cli, alice, "alice", "lead", "add", "--company", "A").code == 0
    assert run(cli, alice, "alice", "sync").code == 0


def test_a_push_the_hook_refuses_is_dropped_with_sync_drop(
    hooked: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = clone(hooked, "bob")
    added = run(cli, bob, "bob", "lead", "add", "--company", "Bob's", "-f", "json")
    assert sync_as(cli, bob, "bob", monkeypatch).code == 0
    alice = clone(hooked, "alice")
    path = alice / f"teams/east/bob/leads/{added.json()['id']}/lead.yaml"
    path.write_text(path.read_text().replace("company: Bob's", "company: Mine"))
    git(alice, "commit", "-qam", "take it")
    taken = git(alice, "rev-parse", "--short", "HEAD").strip()

    refused = sync_as(cli, alice, "alice", monkeypatch)
    assert refused.code == 3 and "refused the push" in refused.err  # no move: the hook's say
    assert "`salesctl sync --drop COMMIT`" in refused.err and taken in refused.err
    dropped = sync_as(cli, alice, "alice", monkeypatch, "--drop", taken)
    assert dropped.code == 0, dropped.err
    assert dropped.out.startswith(f"dropped {taken} take it")
    assert git(alice, "rev-parse", "HEAD") == git(hooked, "rev-parse", "main")
