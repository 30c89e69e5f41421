"""``history`` answers from the log it keeps (``.git/salesctl/history.sqlite``), and that
answer must be git's whatever happened to the clone since it was kept: hand commits,
merges, resets, a fresh clone, a file from another repository or a broken one.

Each test compares the kept log's answer with git's own (the kept log switched off), and
where the kept log should answer alone it forbids the walk through git, so a stale log
cannot hide behind it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import git, make_store

from salesctl.ops.collab import history as history_module
from salesctl.ops.collab.gitread import GitReader
from salesctl.ops.collab.places import place_of, record_and_dir

HAND = ("-c", "user.name=Lee Chen", "-c", "user.email=lee@acme.example")


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def add_lead(cli: Any, actor: str, company: str = "Acme", *extra: str) -> str:
    added = ok(cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json"))
    return str(added.json()["id"])


def told(cli: Any, lead: str, *where: str) -> list[dict[str, Any]]:
    return list(ok(cli(*where, "--as", "dana", "history", lead, "-f", "json")).json())


def from_git(cli: Any, lead: str, monkeypatch: pytest.MonkeyPatch, *where: str) -> Any:
    """The story as git's own walks tell it: no kept log."""
    with monkeypatch.context() as patch:
        patch.setattr(history_module, "_record_log", lambda store, git: None)
        return told(cli, lead, *where)


def from_kept_log(cli: Any, lead: str, monkeypatch: pytest.MonkeyPatch, *where: str) -> Any:
    """The story from the kept log alone: a walk through git fails the test."""

    def no_walk(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("history walked git's log: the kept log did not answer")

    with monkeypatch.context() as patch:
        patch.setattr(GitReader, "path_log_until", no_walk)
        return told(cli, lead, *where)


def kept_file(store: Path) -> Path:
    return store / ".git" / "salesctl" / "history.sqlite"


def moves(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["move"]["verb"], e["move"]["from"], e["move"]["to"]) for e in entries if e["move"]]


# through_the_pool's moves, newest first
POOL_MOVES = [("claim", "pool", "bob"), ("release", "alice", "pool"), ("claim", "pool", "alice")]


def through_the_pool(cli: Any) -> str:
    """A lead put in the pool, claimed by alice, followed up, released, claimed by bob."""
    lead = add_lead(cli, "lee", "Acme", "--pool")
    ok(cli("--as", "alice", "lead", "claim", lead))
    ok(cli("--as", "alice", "followup", "add", lead, "--text", "first call"))
    ok(cli("--as", "alice", "lead", "release", lead, "--reason", "no budget"))
    ok(cli("--as", "bob", "lead", "claim", lead))
    return lead


def test_a_hand_commit_after_the_log_was_kept_is_in_the_story(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = add_lead(cli, "alice")
    ok(cli("--as", "alice", "lead", "release", lead, "--reason", "no budget"))
    assert not kept_file(store).exists()  # writes never read the log: history does
    before = from_kept_log(cli, lead, monkeypatch)  # the first history keeps the log
    assert kept_file(store).stat().st_size > 0
    # by hand, with plain git: an edit in the pool, then a move to lee
    lead_file = store / "pool" / "leads" / lead / "lead.yaml"
    lead_file.write_text(lead_file.read_text().replace("Acme", "Acme Holdings"))
    git(store, *HAND, "commit", "-q", "-am", "rename")
    (store / "teams/east/lee/leads").mkdir(parents=True)
    git(store, "mv", f"pool/leads/{lead}", f"teams/east/lee/leads/{lead}")
    git(store, *HAND, "commit", "-q", "-m", "take it over")
    after = from_kept_log(cli, lead, monkeypatch)
    assert after == from_git(cli, lead, monkeypatch)
    assert [e["action"] for e in after[:2]] == ["(no salesctl trailer)"] * 2
    assert after[2:] == before
    assert moves(after) == [("claim", "pool", "lee"), ("release", "alice", "pool")]
    renamed = {(f["field"], f["new"]) for f in after[1]["fields"]}
    assert ("company", "Acme Holdings") in renamed


def test_a_merged_branch_that_moved_the_lead_is_told_as_git_tells_it(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = add_lead(cli, "alice")
    other = add_lead(cli, "alice", "Beta")
    told(cli, lead)  # the log is kept up to here
    git(store, "checkout", "-q", "-b", "side")
    ok(cli("--as", "lee", "lead", "assign", lead, "--to", "bob"))
    assign = git(store, "rev-parse", "HEAD").strip()
    git(store, "checkout", "-q", "main")
    ok(cli("--as", "alice", "lead", "edit", other, "--set", "stage=contacted"))
    git(store, *HAND, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    # The merge changed bob's directory against its first parent: git follows the branch
    # and names the assign commit there, not the merge.
    entries = told(cli, lead)
    assert entries == from_git(cli, lead, monkeypatch)
    assert moves(entries) == [("assign", "alice", "bob")]
    (moved,) = [e for e in entries if e["move"]]
    assert moved["commit"] == assign and moved["action"] == "lead.assign"
    # A merge that left the other lead's directory as the first parent had it: the kept
    # log answers alone, and as git does.
    assert from_kept_log(cli, other, monkeypatch) == from_git(cli, other, monkeypatch)


def test_a_reset_to_an_older_commit_drops_what_was_kept_above_it(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = add_lead(cli, "alice")
    ok(cli("--as", "alice", "followup", "add", lead, "--text", "first call"))
    dropped = git(store, "rev-parse", "HEAD").strip()
    assert dropped in {e["commit"] for e in from_kept_log(cli, lead, monkeypatch)}
    git(store, "reset", "-q", "--hard", "HEAD~1")
    back = from_kept_log(cli, lead, monkeypatch)
    assert back == from_git(cli, lead, monkeypatch)
    assert [e["action"] for e in back] == ["lead.add"]
    # new commits where the dropped one was: its place in the chain is theirs now
    ok(cli("--as", "alice", "lead", "edit", lead, "--set", "stage=qualified"))
    ok(cli("--as", "lee", "lead", "assign", lead, "--to", "bob"))
    again = from_kept_log(cli, lead, monkeypatch)
    assert again == from_git(cli, lead, monkeypatch)
    assert dropped not in {e["commit"] for e in again}
    assert [e["action"] for e in again] == ["lead.assign", "lead.edit", "lead.add"]
    # the follow-up the dropped commit added is no part of the edit in its place
    assert [e["children"] for e in again] == [[], [], []]
    stage = [f for f in again[1]["fields"] if f["field"] == "stage"]
    assert stage == [{"field": "stage", "old": "new", "new": "qualified"}]


def test_a_fresh_clone_keeps_its_own_log_and_tells_the_same_story(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lead = through_the_pool(cli)
    here = from_kept_log(cli, lead, monkeypatch)
    for how in ("--no-local", "--shared"):  # its own objects, and borrowed ones
        clone = tmp_path / f"clone{how}"
        git(tmp_path, "clone", "-q", how, str(store), str(clone))
        assert not kept_file(clone).exists()
        there = from_kept_log(cli, lead, monkeypatch, "--store", str(clone))
        assert there == here
        assert kept_file(clone).stat().st_size > 0
    assert moves(here) == POOL_MOVES


def test_the_log_read_in_chunks_of_a_few_commits_tells_the_same_story(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.ops.collab import record_log

    lead = through_the_pool(cli)
    monkeypatch.setattr(record_log, "LOG_CHUNK", 2)  # a git process per two commits
    chunked = from_kept_log(cli, lead, monkeypatch)
    assert chunked == from_git(cli, lead, monkeypatch)
    assert moves(chunked) == POOL_MOVES
    assert len(chunked) >= 5  # every commit of every chunk: added, claimed, followed up ...


def test_a_merged_away_lead_is_found_in_the_kept_log_without_a_grep_of_every_commit(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = through_the_pool(cli)  # bob's now, after a stay in the pool and with alice
    kept = add_lead(cli, "bob", "Acme Trading")
    ok(cli("--as", "dana", "lead", "merge", kept, other))
    by_git = {lead: from_git(cli, lead, monkeypatch) for lead in (kept, other)}
    assert moves(by_git[other]) == POOL_MOVES  # the merged-away lead's own story
    with monkeypatch.context() as patch:

        def no_grep(*args: Any) -> Any:
            raise AssertionError("history grepped every commit: the kept log did not answer")

        patch.setattr(history_module, "_dirs_from_trailers", no_grep)
        for lead in (kept, other):  # the merged one alone, and inside the one it went into
            assert from_kept_log(cli, lead, monkeypatch) == by_git[lead]


def test_a_log_kept_for_another_history_or_broken_is_not_believed(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = make_store(tmp_path / "other")
    for company in ("One", "Two", "Three"):
        ok(cli("--store", str(other), "--as", "alice", "lead", "add", "--company", company))
    leads = ok(cli("--store", str(other), "--as", "dana", "lead", "list", "-f", "json")).json()
    told(cli, leads[0]["id"], "--store", str(other))
    lead = add_lead(cli, "alice")
    ok(cli("--as", "lee", "lead", "assign", lead, "--to", "bob"))
    expected = from_git(cli, lead, monkeypatch)
    # the log another repository kept: none of its commits are this one's
    shutil.copy(kept_file(other), kept_file(store))
    assert from_kept_log(cli, lead, monkeypatch) == expected
    # a file that is not a database: told from git, then kept afresh
    kept_file(store).write_bytes(b"not a database" * 100)
    assert told(cli, lead) == expected
    assert from_kept_log(cli, lead, monkeypatch) == expected


def test_a_shallow_clone_deepened_later_tells_the_whole_story(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lead = add_lead(cli, "alice")
    for stage in ("contacted", "qualified", "disqualified"):
        reason = ("--set", "reason=no budget") if stage == "disqualified" else ()
        ok(cli("--as", "alice", "lead", "edit", lead, "--set", f"stage={stage}", *reason))
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{store}", str(clone))
    where = ("--store", str(clone))
    assert len(told(cli, lead, *where)) == 2  # all a two-commit clone knows
    git(clone, "fetch", "-q", "--unshallow")
    whole = told(cli, lead, *where)
    assert whole == from_git(cli, lead, monkeypatch, *where) == told(cli, lead)
    assert [e["action"] for e in whole] == ["lead.edit"] * 3 + ["lead.add"]


@pytest.mark.parametrize(
    "path",
    [
        "pool/leads/L-7KQ2M9XW4HBD/lead.yaml",
        "pool/leads/L-7KQ2M9XW4HBD/followups/F-7KQ2M9XW4HBD.yaml",
        "teams/east/alice/leads/L-7KQ2M9XW4HBD/lead.yaml",
        "teams/east/deals/D-7KQ2M9XW4HBD/deal.yaml",
        "members/dana/customers/C-7KQ2M9XW4HBD/customer.yaml",
        "okrs/O-7KQ2M9XW4HBD/okr.yaml",
        "pool/leads/C-7KQ2M9XW4HBD/lead.yaml",  # a customer's id among leads: nobody's
        "pool/leads/L-7KQ2M9XW4HBD",  # a file where the directory should be
        "pool/leads/not-an-id/lead.yaml",
        "teams/east/alice/leads/L-7KQ2M9XW4HBD/attachments/F-7KQ2M9XW4HBD/a.pdf",
        "reports/2026-W01.md",
        "salesctl.yaml",
    ],
)
def test_the_kept_log_files_a_path_under_the_record_history_names(path: str) -> None:
    place = place_of(path)
    found = record_and_dir(path)
    assert (found[0] if found else None) == place.record
    if found:
        assert path.startswith(found[1] + "/") and found[1].endswith("/" + found[0])
