"""``salesctl history ID`` (a record's life from git, through its moves) and ``salesctl diff``
(a per-record, per-field review of a range), on real git stores.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from conftest import git


def add_lead(cli: Any, actor: str, *extra: str, company: str = "Acme") -> str:
    result = cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json")
    assert result.code == 0, result.err
    return str(result.json()["id"])


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def history(cli: Any, actor: str, record: str) -> list[dict[str, Any]]:
    return list(ok(cli("--as", actor, "history", record, "-f", "json")).json())


def test_history_shows_assignment_and_stage_change_with_who_and_when(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice")
    ok(cli("--as", "alice", "lead", "edit", lead, "--set", "stage=contacted"))
    ok(cli("--as", "lee", "lead", "assign", lead, "--to", "bob"))
    ok(cli("--as", "bob", "followup", "add", lead, "--text", "Called: wants a quote"))
    entries = history(cli, "bob", lead[:6])  # a unique prefix is enough
    assert [(e["member"], e["action"]) for e in entries] == [
        ("bob", "followup.add"),
        ("lee", "lead.assign"),
        ("alice", "lead.edit"),
        ("alice", "lead.add"),
    ]
    followup, assign, edit, created = entries
    assert created["change"] == "created"
    assert assign["move"] == {"from": "alice", "to": "bob", "verb": "assign"}
    assert assign["author"] == "Lee Chen" and assign["date"][:4] >= "2025"
    # told in the org's zone (Asia/Shanghai), whatever the zone of the machine that committed
    assert {e["date"][-6:] for e in entries} == {"+08:00"}
    git_date = git(store, "log", "-1", "--format=%aI", assign["commit"]).strip()
    assert dt.datetime.fromisoformat(assign["date"]) == dt.datetime.fromisoformat(git_date)
    assert {"field": "stage", "old": "new", "new": "contacted"} in edit["fields"]
    assert [f["field"] for f in edit["fields"]] == ["stage", "stages.contacted"]
    assert followup["children"][0]["kind"] == "followup"
    assert followup["children"][0]["summary"] == "Called: wants a quote"
    # every entry names its commit, which git knows
    for entry in entries:
        assert git(store, "cat-file", "-t", entry["commit"]).strip() == "commit"

    table = ok(cli("--as", "bob", "history", lead, "-f", "table")).out
    assert "assign: alice -> bob" in table and "stage: new -> contacted" in table
    assert "lee" in table and "created in alice" in table


def test_history_follows_the_record_through_the_pool_and_hand_made_moves(
    store: Path, cli: Any
) -> None:
    lead = add_lead(cli, "lee", "--pool")
    ok(cli("--as", "alice", "lead", "claim", lead))
    ok(cli("--as", "alice", "lead", "release", lead, "--reason", "no budget"))
    ok(cli("--as", "bob", "lead", "claim", lead))
    # a move made by hand (no salesctl trailers): history still follows it
    (store / "teams/east/lee/leads").mkdir(parents=True)
    git(store, "mv", f"teams/east/bob/leads/{lead}", f"teams/east/lee/leads/{lead}")
    git(
        store,
        "-c",
        "user.name=Lee Chen",
        "-c",
        "user.email=lee@acme.example",
        "commit",
        "-q",
        "-m",
        "take it over",
    )
    entries = history(cli, "lee", lead)
    moves = [(e["move"]["verb"], e["move"]["from"], e["move"]["to"]) for e in entries if e["move"]]
    assert moves == [
        ("assign", "bob", "lee"),
        ("claim", "pool", "bob"),
        ("release", "alice", "pool"),
        ("claim", "pool", "alice"),
    ]
    assert entries[0]["action"] == "(no salesctl trailer)"
    assert entries[-1]["change"] == "created"
    release = entries[2]
    assert {"field": "release_reason", "old": None, "new": "no budget"} in release["fields"]


def test_history_respects_read_scope_and_finds_deleted_records(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "nora", company="North")
    assert cli("--as", "alice", "history", lead).code == 3  # another team's rep's record
    assert cli("--as", "nick", "history", lead).code == 0
    git(store, "rm", "-q", "-r", f"teams/north/nora/leads/{lead}")
    git(
        store,
        "-c",
        "user.name=Nick Wang",
        "-c",
        "user.email=nick@acme.example",
        "commit",
        "-q",
        "-m",
        "duplicate",
    )
    entries = history(cli, "nick", lead)
    assert [e["change"] for e in entries] == ["deleted", "created"]
    assert cli("--as", "nick", "history", "L-0000").code == 1


def test_diff_names_exactly_the_changed_fields(store: Path, cli: Any) -> None:
    edited = add_lead(cli, "alice", company="Edited")
    moved = add_lead(cli, "alice", company="Moved")
    followed = add_lead(cli, "bob", company="Followed")
    git(store, "switch", "-q", "-c", "work")
    git(store, "branch", "-q", "--set-upstream-to=main")
    ok(cli("--as", "alice", "lead", "edit", edited, "--set", "phone=13800000000"))
    created = add_lead(cli, "bob", company="New | Co")
    ok(cli("--as", "lee", "lead", "assign", moved, "--to", "bob"))
    ok(cli("--as", "bob", "followup", "add", followed, "--text", "visited"))
    (store / "notes.txt").write_text("hand-written\n")
    git(store, "add", "notes.txt")
    git(store, "-c", "user.name=D", "-c", "user.email=dana@acme.example", "commit", "-qm", "n")

    result = ok(cli("--as", "dana", "diff", "-f", "json")).json()  # default: upstream...HEAD
    by_id = {r["id"]: r for r in result["records"]}
    assert set(by_id) == {edited, moved, followed, created}
    assert by_id[edited]["change"] == "changed"
    assert by_id[edited]["fields"] == [{"field": "phone", "old": None, "new": "13800000000"}]
    assert by_id[moved]["change"] == "moved"
    assert (by_id[moved]["owner_before"], by_id[moved]["owner_after"]) == ("alice", "bob")
    assert [f["field"] for f in by_id[moved]["fields"]] == ["assigned"]
    assert by_id[followed]["fields"] == [] and by_id[followed]["label"] == "Followed"
    assert by_id[followed]["children"][0]["change"] == "added"
    assert by_id[created]["change"] == "created" and by_id[created]["owner_after"] == "bob"
    assert result["files"] == ["notes.txt"]

    markdown = ok(cli("--as", "dana", "diff", "main..work", "--format", "md")).out
    assert markdown.startswith("### salesctl diff `main..work`: 4 records")
    assert f"**{edited}** lead · Edited — changed" in markdown
    assert "| phone | - | 13800000000 |" in markdown
    assert "New \\| Co" in markdown  # table cells are escaped
    assert f"**{moved}** lead · Moved — moved alice → bob" in markdown

    table = ok(cli("--as", "dana", "diff", "main..work", "-f", "table")).out
    assert "phone" in table and "13800000000" in table

    # a rep sees only what they may read; no upstream is an error with the fix
    assert {r["id"] for r in ok(cli("--as", "alice", "diff", "-f", "json")).json()["records"]} == {
        edited
    }
    git(store, "branch", "-q", "--unset-upstream")
    missing = cli("--as", "dana", "diff")
    assert missing.code == 1 and "no upstream" in missing.err


def test_diff_of_a_stage_change_is_one_field_plus_its_date(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice")
    before = git(store, "rev-parse", "HEAD").strip()
    ok(cli("--as", "alice", "lead", "edit", lead, "--set", "stage=qualified"))
    record = ok(cli("--as", "alice", "diff", f"{before}..HEAD", "-f", "json")).json()["records"][0]
    fields = {f["field"]: (f["old"], f["new"]) for f in record["fields"]}
    data = yaml.safe_load((store / record["path"]).read_text())
    assert fields == {"stage": ("new", "qualified"), "stages.qualified": (None, "2026-11-20")}
    assert data["stage"] == "qualified"


def test_a_nouns_history_is_the_same_story_and_takes_only_its_own_kind(
    store: Path, cli: Any
) -> None:
    """``lead history`` and ``customer history`` are the shared history verb: the same
    entries as ``history``, for a record of that noun only, a deleted one too."""
    lead = add_lead(cli, "alice")
    ok(cli("--as", "alice", "lead", "edit", lead, "--set", "stage=contacted"))
    as_lead = ok(cli("--as", "alice", "lead", "history", lead[:6], "-f", "json")).json()
    assert as_lead == history(cli, "alice", lead)
    customer = ok(cli("--as", "alice", "customer", "add", "--name", "Beta", "-f", "json")).json()
    wrong = cli("--as", "alice", "lead", "history", customer["id"])
    assert wrong.code == 1 and "lead list" in wrong.err
    assert cli("--as", "alice", "customer", "history", lead).code == 1
    mine = ok(cli("--as", "alice", "customer", "history", customer["id"], "-f", "json")).json()
    assert [e["action"] for e in mine] == ["customer.add"]
    git(store, "rm", "-q", "-r", f"teams/east/alice/leads/{lead}")
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qm", "rm")
    gone = ok(cli("--as", "alice", "lead", "history", lead, "-f", "json")).json()
    assert [e["change"] for e in gone] == ["deleted", "changed", "created"]
    assert cli("--as", "alice", "customer", "history", lead).code == 1
