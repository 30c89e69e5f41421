"""Sharing end to end, the truth table of docs/permissions.md: a participant, a member
@mentioned in a follow-up and the service member with a task on a contract, for reading and
for each action, through the CLI and through ``check --range`` alike.

The store: alice (east rep) owns a lead with nora (north rep, another team) as participant;
bob (alice's teammate, also a rep) is neither and must see nothing of it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from conftest import git
from test_tasks import ok, signed_contract, steps_of

from salesctl import clock


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def code(cli: Any, *args: str) -> int:
    return cli(*args, "-f", "json").code  # type: ignore[no-any-return]


def check_range(cli: Any, base: str, actor: str) -> tuple[int, set[str]]:
    """``check --range BASE..HEAD --actor ACTOR``: its exit code and the offending paths."""
    result = cli("check", "--range", f"{base}..HEAD", "--actor", actor, "-f", "json")
    assert result.code in (0, 1), result.err
    return result.code, {v["path"] for v in result.json()["violations"]}


def commit_as(root: Path, member: str, message: str) -> None:
    git(root, "add", "-A")
    git(
        root, "-c", f"user.name={member}", "-c", f"user.email={member}@acme.example",
        "commit", "-qm", message,
    )  # fmt: skip


def hand_edit(root: Path, path: str, member: str, **fields: Any) -> None:
    """Past the CLI: ``member`` edits a record file by hand and commits it."""
    data = yaml.safe_load((root / path).read_text())
    data.update(fields)
    (root / path).write_text(yaml.safe_dump(data, allow_unicode=True))
    commit_as(root, member, f"{member} edits {path} by hand")


def shared_lead(cli: Any) -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        cli, "--as", "alice", "lead", "add", "--company", "青岛新航纺织", "--set",
        "participants=nora",
    )  # fmt: skip


# -- participants ------------------------------------------------------------------------------


def test_a_participant_reads_the_record_and_its_children(store: Path, cli: Any) -> None:
    lead = shared_lead(cli)
    note = ok(cli, "--as", "alice", "followup", "add", lead["id"], "--text", "first call")
    assert ok(cli, "--as", "nora", "lead", "show", lead["id"])["company"] == "青岛新航纺织"
    touches = ok(cli, "--as", "nora", "followup", "list", lead["id"])
    assert [t["id"] for t in touches] == [note["id"]]
    assert lead["id"] in {r["id"] for r in ok(cli, "--as", "nora", "lead", "list")}
    assert [e["commit"] for e in ok(cli, "--as", "nora", "lead", "history", lead["id"])]
    # bob, alice's teammate, is no participant: nothing
    assert code(cli, "--as", "bob", "lead", "show", lead["id"]) == 3
    assert code(cli, "--as", "bob", "followup", "list", lead["id"]) == 3
    assert lead["id"] not in {r["id"] for r in ok(cli, "--as", "bob", "lead", "list")}


def test_a_participant_adds_followups_and_visits_but_does_not_touch_the_owners_fields(
    store: Path, cli: Any
) -> None:
    lead = shared_lead(cli)
    lid = lead["id"]
    base = head(store)
    touch = ok(cli, "--as", "nora", "followup", "add", lid, "--text", "demo booked")
    assert touch["author"] == "nora" and touch["owner"] == "alice"  # in alice's directory
    tomorrow = f"{clock.today() + dt.timedelta(days=1)} 10:00"
    visit = ok(cli, "--as", "nora", "visit", "add", lid, "--at", tomorrow, "--place", "HQ")
    done = ok(cli, "--as", "nora", "visit", "cancel", visit["id"], "--reason", "moved online")
    assert done["status"] == "cancelled"
    assert check_range(cli, base, "nora") == (0, set())  # the gate agrees with the CLI

    before = git(store, "rev-parse", "HEAD")
    for args in (
        ("lead", "edit", lid, "--set", "stage=contacted"),
        ("lead", "release", lid, "--reason", "not mine"),
        ("lead", "assign", lid, "--to", "nora"),
        ("followup", "add", lid, "--text", "qualified!", "--stage", "qualified"),
    ):
        assert code(cli, "--as", "nora", *args) == 3, args
    assert git(store, "rev-parse", "HEAD") == before  # nothing committed
    assert git(store, "status", "--porcelain") == ""

    # by hand, past the CLI: the gate refuses the edit of the owner's fields
    base = head(store)
    hand_edit(store, lead["path"], "nora", stage="qualified")
    assert check_range(cli, base, "nora") == (1, {lead["path"]})


def test_participants_of_deals_read_them(store: Path, cli: Any) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")
    deal = ok(
        cli, "--as", "alice", "deal", "add", customer["id"], "--title", "ERP", "--amount", "100",
        "--set", "participants=bob",
    )  # fmt: skip
    assert ok(cli, "--as", "bob", "deal", "show", deal["id"])["title"] == "ERP"
    assert deal["id"] in {d["id"] for d in ok(cli, "--as", "bob", "deal", "list")}
    assert code(cli, "--as", "bob", "customer", "show", customer["id"]) == 3  # the deal only
    assert code(cli, "--as", "bob", "deal", "move", deal["id"], "--stage", "proposal") == 3


# -- @mentions -----------------------------------------------------------------------------


def test_a_mention_reads_the_record_until_it_changes_owner(store: Path, cli: Any) -> None:
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "Mention Co")
    lid = lead["id"]
    asked = ok(cli, "--as", "alice", "followup", "add", lid, "--text", "@nick can you join?")
    assert asked["mentions"] == ["nick"] and asked["record_owner"] == "alice"
    assert ok(cli, "--as", "nick", "lead", "show", lid)["company"] == "Mention Co"
    assert [t["id"] for t in ok(cli, "--as", "nick", "followup", "list", lid)] == [asked["id"]]
    # read-only
    base = head(store)
    assert code(cli, "--as", "nick", "followup", "add", lid, "--text", "sure") == 3
    assert code(cli, "--as", "nick", "lead", "edit", lid, "--set", "source=expo") == 3
    followups = store / lead["path"].rsplit("/", 1)[0] / "followups"
    (followups / "F-0000000000NK.yaml").write_text(
        f"schema_version: 1\nrecord: {lid}\nauthor: nick\nat: 2026-01-05T10:00:00+08:00\n"
        "text: by hand\n"
    )
    commit_as(store, "nick", "nick writes in alice's lead")
    assert check_range(cli, base, "nick")[0] == 1
    git(store, "reset", "-q", "--hard", base)
    # the lead changes owner: the mention lapses
    ok(cli, "--as", "lee", "lead", "assign", lid, "--to", "bob")
    assert code(cli, "--as", "nick", "lead", "show", lid) == 3
    assert lid not in {r["id"] for r in ok(cli, "--as", "nick", "lead", "list")}
    # and bob, the new owner, mentions nick again: shared again
    ok(cli, "--as", "bob", "followup", "add", lid, "--text", "@nick over to you")
    assert code(cli, "--as", "nick", "lead", "show", lid) == 0


# -- service: a task on a won deal's contract -----------------------------------------------


def test_service_reads_and_activates_the_contract_it_has_a_task_on(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    activate = steps_of(made)["Activate service"]
    assert activate["assignee"] == "sam"
    kid, cid = made["id"], made["customer"]
    assert ok(cli, "--as", "sam", "contract", "show", kid)["id"] == kid
    assert ok(cli, "--as", "sam", "customer", "show", cid)["id"] == cid
    other = ok(cli, "--as", "alice", "lead", "add", "--company", "Not shared")
    assert code(cli, "--as", "sam", "lead", "show", other["id"]) == 3
    base = head(store)
    assert ok(cli, "--as", "sam", "contract", "activate", kid)["status"] == "active"
    ok(cli, "--as", "sam", "task", "done", activate["id"])
    assert check_range(cli, base, "sam") == (0, set())
    # still not the owner's other actions
    assert code(cli, "--as", "sam", "contract", "cancel", kid, "--reason", "x") == 3
    assert code(cli, "--as", "sam", "contract", "edit", kid, "--set", "title=Y") == 3


def test_service_without_a_task_on_the_contract_gets_nothing(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    activate = steps_of(made)["Activate service"]
    ok(cli, "--as", "dana", "task", "assign", activate["id"], "--to", "lee")
    kid = made["id"]
    assert code(cli, "--as", "sam", "contract", "show", kid) == 3
    assert code(cli, "--as", "sam", "contract", "activate", kid) == 3
    # by hand: the gate refuses it too
    base = head(store)
    hand_edit(store, made["path"], "sam", status="active")
    assert check_range(cli, base, "sam") == (1, {made["path"]})


def test_a_service_hand_commit_may_only_activate(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    base = head(store)
    hand_edit(store, made["path"], "sam", amount="1")  # not an activation
    assert check_range(cli, base, "sam") == (1, {made["path"]})
