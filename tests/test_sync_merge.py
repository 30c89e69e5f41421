"""``salesctl sync`` merging what git's lines cannot: edits of different fields of one record
(a field-by-field merge, ``--keep`` deciding the clashing fields only), children added while
the other side moved their record, and what the remote says when it refuses a push.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git
from test_sync import clone, remote, run, snapshot

from salesctl.ops.collab.sync_git import git_message

__all__ = ["remote"]  # the fixture, shared with test_sync


def shared_lead(cli: Any, remote: Path, *clones: str, **fields: str) -> tuple[str, list[Path]]:
    """A lead of alice's, synced into a clone for each name."""
    dirs = [clone(remote, name) for name in clones]
    extra = [arg for name, value in fields.items() for arg in (f"--{name}", value)]
    added = run(cli, dirs[0], "alice", "lead", "add", "--company", "Acme", *extra, "-f", "json")
    assert added.code == 0, added.err
    for path in dirs:
        assert run(cli, path, "alice" if path == dirs[0] else "dana", "sync").code == 0
    return added.json()["id"], dirs


def show(cli: Any, path: Path, lead: str) -> dict[str, Any]:
    result = run(cli, path, "dana", "lead", "show", lead, "-f", "json")
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


@pytest.mark.parametrize("email", ["old@acme.example", None], ids=["changed", "added"])
def test_edits_of_adjacent_fields_merge_without_a_conflict(
    remote: Path, cli: Any, email: str | None
) -> None:
    fields = {"name": "Wang", **({"email": email} if email else {})}
    lead, (alice, dana) = shared_lead(cli, remote, "alice", "dana", **fields)
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "name=New Name").code == 0
    assert run(cli, dana, "dana", "lead", "edit", lead, "--set", "email=new@acme.example").code == 0
    assert run(cli, dana, "dana", "sync").code == 0

    synced = run(cli, alice, "alice", "sync", "-f", "json")
    assert synced.code == 0, synced.err
    assert synced.json()["pushed"] == 1
    data = show(cli, alice, lead)
    assert (data["name"], data["email"]) == ("New Name", "new@acme.example")
    # written as the commands write a record: editing it again changes one line only
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "name=Again").code == 0
    changed = git(alice, "diff", "--numstat", "HEAD~1", "HEAD").split()
    assert changed[:2] == ["1", "1"]
    assert run(cli, alice, "dana", "check").code == 0
    authors = git(remote, "log", "-2", "--format=%ae", "main").split()
    assert authors == ["alice@acme.example", "dana@acme.example"]


def test_one_field_set_on_both_sides_is_named_and_keep_settles_only_it(
    remote: Path, cli: Any
) -> None:
    lead, (alice, lee) = shared_lead(cli, remote, "alice", "lee", name="Wang")
    edit = ("lead", "edit", lead, "--set")
    assert (
        run(cli, alice, "alice", *edit, "name=Alice's", "--set", "email=a@acme.example").code == 0
    )
    assert run(cli, alice, "alice", "sync").code == 0
    assert run(cli, lee, "lee", *edit, "name=Lee's", "--set", "source=fair").code == 0

    before = snapshot(lee)
    stopped = run(cli, lee, "lee", "sync")
    assert stopped.code == 1
    assert f'{lead} name: remote has "Alice\'s", yours has "Lee\'s"' in stopped.err
    conflicts = [line for line in stopped.err.splitlines() if "remote has" in line]
    assert len(conflicts) == 1  # not email, not source: those changed on one side only
    assert "(lines)" not in stopped.err and "--keep local" in stopped.err
    assert snapshot(lee) == before

    settled = run(cli, lee, "lee", "sync", "--keep", "local")
    assert settled.code == 0, settled.err
    data = show(cli, lee, lead)
    # lee's name wins; alice's email, which lee never touched, is kept
    assert (data["name"], data["source"], data["email"]) == ("Lee's", "fair", "a@acme.example")
    assert git(remote, "rev-parse", "main") == git(lee, "rev-parse", "HEAD")


def test_keep_remote_keeps_the_local_fields_the_remote_did_not_touch(
    remote: Path, cli: Any
) -> None:
    lead, (alice, lee) = shared_lead(cli, remote, "alice", "lee", name="Wang")
    assert run(cli, alice, "alice", "lead", "edit", lead, "--set", "name=Alice's").code == 0
    assert run(cli, alice, "alice", "sync").code == 0
    edit = ("lead", "edit", lead, "--set", "name=Lee's", "--set", "email=lee@x.example")
    assert run(cli, lee, "lee", *edit).code == 0
    assert run(cli, lee, "lee", "sync", "--keep", "remote").code == 0
    data = show(cli, lee, lead)
    assert (data["name"], data["email"]) == ("Alice's", "lee@x.example")


def test_a_config_line_set_on_both_sides_is_settled_by_keep_as_lines(
    remote: Path, cli: Any
) -> None:
    one, two = clone(remote, "one"), clone(remote, "two")
    for path, org in ((one, "Acme One"), (two, "Acme Two")):
        config = path / "salesctl.yaml"
        config.write_text(config.read_text().replace("org: Acme Trading", f"org: {org}"))
        git(path, "commit", "-qam", f"rename to {org}")
    assert run(cli, one, "dana", "sync").code == 0
    stopped = run(cli, two, "dana", "sync")
    assert stopped.code == 1
    assert "salesctl.yaml: changed in the same lines on both sides" in stopped.err
    assert "--keep remote" in stopped.err
    assert run(cli, two, "dana", "sync", "--keep", "remote").code == 0
    assert "org: Acme One\n" in (two / "salesctl.yaml").read_text()


def followup_paths(root: Path, lead: str) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob(f"{lead}/followups/*.yaml")
        if ".git" not in p.parts
    )


@pytest.mark.parametrize("earlier", [False, True], ids=["first-followup", "more-followups"])
def test_a_followup_added_while_the_remote_moved_its_lead_moves_with_it(
    remote: Path, cli: Any, earlier: bool
) -> None:
    lead, (alice, dana) = shared_lead(cli, remote, "alice", "dana")
    if earlier:
        assert run(cli, alice, "alice", "followup", "add", lead, "--text", "met").code == 0
        assert run(cli, alice, "alice", "sync").code == 0
        assert run(cli, dana, "dana", "sync").code == 0
    # alice stays on as a participant, so she may still add follow-ups to bob's lead
    # (without that, sync stops before pushing: test_sync_judge)
    assign = ("lead", "assign", lead, "--to", "bob", "--participant", "alice")
    assert run(cli, dana, "dana", *assign).code == 0
    assert run(cli, dana, "dana", "sync").code == 0
    assert run(cli, alice, "alice", "followup", "add", lead, "--text", "called").code == 0

    synced = run(cli, alice, "alice", "sync")
    assert synced.code == 0, synced.err
    paths = followup_paths(alice, lead)
    assert paths and all(p.startswith(f"teams/east/bob/leads/{lead}/") for p in paths)
    assert len(paths) == (2 if earlier else 1)
    assert not (alice / f"teams/east/alice/leads/{lead}").exists()
    # still one commit by alice, now adding the follow-up in the lead's new directory
    assert git(alice, "log", "-1", "--format=%ae %s", "HEAD").startswith("alice@acme.example")
    added = git(alice, "show", "--name-status", "--format=", "HEAD").split()
    assert added[0] == "A" and added[1].startswith(f"teams/east/bob/leads/{lead}/followups/")
    assert git(alice, "status", "--porcelain") == ""
    assert run(cli, alice, "dana", "check").code == 0
    assert run(cli, alice, "dana", "lead", "assign", lead, "--to", "alice").code == 0


def test_a_move_synced_after_a_remote_followup_takes_the_followup_along(
    remote: Path, cli: Any
) -> None:
    lead, (alice, lee) = shared_lead(cli, remote, "alice", "lee")
    assert run(cli, lee, "lee", "lead", "assign", lead, "--to", "bob").code == 0
    assert run(cli, alice, "alice", "followup", "add", lead, "--text", "called").code == 0
    assert run(cli, alice, "alice", "sync").code == 0

    assert run(cli, lee, "lee", "sync").code == 0
    assert followup_paths(lee, lead)[0].startswith(f"teams/east/bob/leads/{lead}/")
    assert not (lee / f"teams/east/alice/leads/{lead}").exists()
    moved = git(lee, "show", "--name-status", "--format=%ae", "HEAD").split()
    assert moved[0] == "lee@acme.example" and len([m for m in moved if m[:1] == "R"]) == 2
    assert run(cli, lee, "dana", "check").code == 0


def test_check_names_a_child_whose_record_directory_has_no_record(remote: Path, cli: Any) -> None:
    lead, (alice,) = shared_lead(cli, remote, "alice")
    assert run(cli, alice, "alice", "followup", "add", lead, "--text", "called").code == 0
    old, new = f"teams/east/alice/leads/{lead}", f"teams/east/bob/leads/{lead}"
    (alice / new).mkdir(parents=True)
    git(alice, "mv", f"{old}/lead.yaml", f"{new}/lead.yaml")  # the lead moved, not its child
    git(alice, "commit", "-qm", "half a move")
    stranded = followup_paths(alice, lead)[0]

    found = run(cli, alice, "dana", "check", "-f", "json")
    assert found.code == 1
    problems = [p for p in found.json() if p["where"] == stranded]
    assert len(problems) == 1
    assert f"{lead} is now in {new}/" in problems[0]["message"]
    assert f"git mv {stranded} {new}/followups/" in problems[0]["message"]

    git(alice, "rm", "-q", f"{new}/lead.yaml")
    git(alice, "commit", "-qm", "lead gone")
    gone = run(cli, alice, "dana", "check", "-f", "json")
    assert any(
        p["where"] == stranded and f"{lead} exists nowhere" in p["message"] for p in gone.json()
    )


def test_a_push_refused_by_another_hook_is_the_remotes_message_not_a_scope_violation(
    remote: Path, cli: Any
) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\necho "maintenance: repository is read-only" >&2\nexit 1\n')
    hook.chmod(0o755)
    alice = clone(remote, "alice")
    assert run(cli, alice, "alice", "lead", "add", "--company", "RO Co").code == 0
    refused = run(cli, alice, "alice", "sync")
    assert refused.code == 1
    assert "refused the push: maintenance: repository is read-only" in refused.err
    assert "salesctl hook" not in refused.err and "revert" not in refused.err


def test_fetch_errors_keep_gits_cause(remote: Path, cli: Any, tmp_path: Path) -> None:
    alice = clone(remote, "alice")
    git(alice, "remote", "set-url", "origin", str(tmp_path / "nonexistent.git"))
    failed = run(cli, alice, "alice", "sync")
    assert failed.code == 1
    assert "does not appear to be a git repository" in failed.err
    assert len(failed.err.strip().splitlines()) == 1


def test_git_message_keeps_errors_and_the_files_they_name() -> None:
    said = (
        "error: The following untracked working tree files would be overwritten by checkout:\n"
        "\tteams/east/alice/leads/L-1/lead.yaml\n\tteams/east/alice/leads/L-2/lead.yaml\n"
        "Please move or remove them before you switch branches.\nAborting\n"
        "hint: see git help\nerror: could not detach HEAD\n"
    )
    assert git_message(said) == (
        "error: The following untracked working tree files would be overwritten by checkout: "
        "teams/east/alice/leads/L-1/lead.yaml, teams/east/alice/leads/L-2/lead.yaml; "
        "error: could not detach HEAD"
    )
    assert git_message("Please make sure\nand the repository exists.\n") == (
        "Please make sure and the repository exists."
    )


def test_a_merge_that_would_drop_a_field_stops_instead() -> None:
    """Review: a merged record was normalised and written, and a field the schema does not
    know (or a value it no longer takes) vanished without a conflict."""
    from salesctl.model.config import parse_config
    from salesctl.model.kinds import LEAD
    from salesctl.ops.collab.sync_settle import _checked
    from salesctl.store.layout import Owner, RecordPath

    config, _problems = parse_config(yaml.safe_load(CONFIG))
    loc = RecordPath("teams/east/alice/leads/L-0000000000A1/lead.yaml", LEAD, "L-0000000000A1",
                     Owner(member="alice", team="east"))  # fmt: skip
    good = {"schema_version": 1, "company": "Acme", "stage": "new", "created": "2026-11-20"}
    assert isinstance(_checked(config, loc, dict(good)), bytes)
    for merged in ({**good, "from_the_future": 1}, {**good, "company": "x" * 2000}):
        said = _checked(config, loc, merged)
        assert isinstance(said, str) and "would not be kept" in said, said
