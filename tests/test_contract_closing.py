"""How a contract ends and what it takes with it, end to end: a cancelled contract's open
checklist tasks are marked done in the cancelling commit, and a lost deal is not turned into
a won one by linking a contract to it (it is reopened first, by a person)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git
from test_contracts import (
    add_customer,
    add_deal,
    commits,
    contract,
    load,
    ok,
    snapshot,
    trailers,
)


def changed_files(store: Path) -> set[str]:
    return set(git(store, "show", "--name-only", "--format=", "HEAD").split())


# -- cancelling closes the checklist -----------------------------------------------------------


def test_cancel_marks_the_open_checklist_tasks_done_in_the_same_commit(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    made = contract(
        cli, customer, "--signed", "-5d", "--plan", "+30d:60000", "--plan", "+90d:40000"
    )
    steps = {t["title"]: t for t in made["tasks"]}
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "100")  # not the full amount
    sent = ok(cli, "--as", "alice", "task", "done", steps["Send contract"]["id"])
    assert sent["status"] == "done"
    before = commits(store)

    cancelled = ok(cli, "--as", "lee", "contract", "cancel", made["id"], "--reason", "withdrew")

    assert commits(store) == before + 1
    assert cancelled["status"] == "cancelled"
    open_before = [t for t in made["tasks"] if t["title"] != "Send contract"]
    assert sorted(cancelled["closed_tasks"]) == sorted(t["id"] for t in open_before)
    for task in made["tasks"]:
        assert load(store, task["path"])["status"] == "done", task["title"]
    # one commit: the contract and the tasks it closed, not the one already done
    assert changed_files(store) == {made["path"], *(t["path"] for t in open_before)}
    assert trailers(store, "Salesctl-Action") == ["contract.cancel"]
    assert set(trailers(store, "Salesctl-Record")) == {made["id"], *cancelled["closed_tasks"]}
    assert "4 open task(s) closed" in git(store, "log", "-1", "--format=%s")
    finance = ok(cli, "--as", "fay", "task", "list", "--mine")
    assert not [t for t in finance if t["record"] == made["id"] and t["status"] != "done"]
    # the team lead's commit is within the lead's write scope, as the gate judges it
    gate = cli("check", "--range", "HEAD~1..HEAD", "--actor", "lee")
    assert gate.code == 0, gate.out + gate.err
    assert cli("--as", "dana", "check").code == 0


def test_a_refused_cancel_leaves_the_tasks_open(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "-5d")
    before = snapshot(store)
    refused = cli("--as", "alice", "contract", "cancel", made["id"], "--reason", "x")
    assert refused.code == 3 and refused.err.startswith(
        "error: "
    )  # a rep cannot cancel a signed one
    assert snapshot(store) == before
    assert {load(store, t["path"])["status"] for t in made["tasks"]} == {"todo"}


def test_cancelling_a_draft_has_no_tasks_to_close(store: Path, cli: Any) -> None:
    draft = contract(cli, add_customer(store))
    cancelled = ok(cli, "--as", "alice", "contract", "cancel", draft["id"], "--reason", "no")
    assert cancelled["closed_tasks"] == [] and changed_files(store) == {draft["path"]}


# -- a lost deal stays lost ----------------------------------------------------------------------


def test_a_contract_on_a_lost_deal_is_refused_until_the_deal_is_reopened(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    deal = add_deal(store, customer)
    deal_file = f"teams/east/alice/deals/{deal}/deal.yaml"
    ok(cli, "--as", "alice", "deal", "move", deal, "--stage", "lost", "--reason", "price")
    before = snapshot(store)
    add = ("--as", "alice", "contract", "add", customer, "--title", "X", "--amount", "100")
    for extra in (("--signed", "today"), ()):  # signed, or a draft that signing would win
        result = cli(*add, *extra, "--deal", deal)
        assert result.code == 1, result.err
        assert result.err.startswith(f"error: deal {deal} is lost (price)")
        assert f"salesctl deal move {deal} --stage negotiate" in result.err  # where it was
        assert result.err.count("\n") == 1
        assert snapshot(store) == before
    assert load(store, deal_file)["stage"] == "lost"

    ok(cli, "--as", "alice", "deal", "move", deal, "--stage", "negotiate")
    made = ok(cli, *add, "--signed", "today", "--deal", deal)
    won = load(store, deal_file)
    assert made["deal"] == deal and won["stage"] == "won" and "reason" not in won


def test_signing_a_draft_whose_deal_was_lost_since_is_refused(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    deal = add_deal(store, customer)
    draft = contract(cli, customer, "--deal", deal)
    ok(cli, "--as", "alice", "deal", "move", deal, "--stage", "lost", "--reason", "budget")
    before = snapshot(store)
    result = cli("--as", "alice", "contract", "sign", draft["id"], "--date", "today")
    assert result.code == 1 and f"deal {deal} is lost (budget)" in result.err
    assert snapshot(store) == before
    assert load(store, draft["path"])["status"] == "draft"
