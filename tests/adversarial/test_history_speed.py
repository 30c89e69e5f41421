"""``history`` of a lead that moved through the pool reads commits and blobs only: it must
not read the work tree's git index (90 ms a look at 384,000 files; a diff of two trees
never needs it), and it reads the blobs of all the commits it shows in one go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def lead_through_the_pool(cli: Any) -> str:
    """alice adds a lead, releases it; nora (another team) claims it; dana assigns it."""
    added = ok(cli("--as", "alice", "lead", "add", "--company", "Acme", "-f", "json"))
    lead = str(added.json()["id"])
    ok(cli("--as", "alice", "followup", "add", lead, "--text", "first call"))
    ok(cli("--as", "alice", "lead", "release", lead, "--reason", "no budget"))
    ok(cli("--as", "nora", "lead", "claim", lead))
    ok(cli("--as", "dana", "lead", "assign", lead, "--to", "bob"))
    return lead


def test_history_through_the_pool_never_reads_the_work_trees_index(store: Path, cli: Any) -> None:
    git(store, "commit-graph", "write", "--reachable", "--changed-paths")
    lead = lead_through_the_pool(cli)
    before = ok(cli("--as", "dana", "history", lead, "-f", "json")).json()
    # An index git cannot read (another tool's half-written one): reading history needs none.
    index = store / ".git" / "index"
    index.write_bytes(b"DIRC" + b"\xff" * 64)
    after = ok(cli("--as", "dana", "history", lead, "-f", "json")).json()
    assert after == before
    moves = [(e["move"]["from"], e["move"]["to"], e["move"]["verb"]) for e in after if e["move"]]
    assert moves == [
        ("nora", "bob", "assign"),
        ("pool", "nora", "claim"),
        ("alice", "pool", "release"),
    ]


def test_history_reads_every_commits_blobs_in_one_batch(
    store: Path, cli: Any, monkeypatch: Any
) -> None:
    """A git process costs more than what it reads: one ``cat-file --batch`` for the whole
    story, and each commit's header (author, date, action) from the walk that found it."""
    from salesctl.ops.collab import gitread

    lead = lead_through_the_pool(cli)
    calls: list[tuple[str, ...]] = []
    real_run_git = gitread.run_git

    def counting_run_git(cwd: Path, args: Any, **kwargs: Any) -> bytes:
        calls.append(tuple(args))
        return real_run_git(cwd, args, **kwargs)

    monkeypatch.setattr(gitread, "run_git", counting_run_git)
    entries = ok(cli("--as", "dana", "history", lead, "-f", "json")).json()
    assert [e["action"] for e in entries] == [
        "lead.assign",
        "lead.claim",
        "lead.release",
        "followup.add",
        "lead.add",
    ]
    # the blobs were read: the fields each commit changed are there
    created = {f["field"]: f["new"] for f in entries[-1]["fields"]}
    assert entries[-1]["change"] == "created" and created["company"] == "Acme"
    (claim,) = [e for e in entries if e["action"] == "lead.claim"]
    assert "assigned" in {f["field"] for f in claim["fields"]}
    assert sum(1 for c in calls if c[:2] == ("cat-file", "--batch")) == 1
    assert not [c for c in calls if c[0] == "log"]  # the walks print every header needed
