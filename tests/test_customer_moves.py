"""Moves that take the whole relationship (issue 13, item 3): ``customer assign`` moves the
customer's deals (won and lost too), contracts (with payments, invoices and checklist
tasks) and converted lead in one commit that ``check --range`` accepts from a team lead and
refuses from a rep; ``history`` follows a record across every kind of move."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import git


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def alices_customer(cli: Any) -> dict[str, str]:
    """A customer converted from a lead with a follow-up, with an open, a won and a lost
    deal, a signed contract (its checklist) closing the won deal, and a payment on it."""
    a = ("--as", "alice")
    lead = ok(cli(*a, "lead", "add", "--company", "Won Co", "-f", "json")).json()["id"]
    ok(cli(*a, "followup", "add", lead, "--text", "First call"))
    converted = ok(
        cli(*a, "lead", "convert", lead, "--deal", "ERP", "--amount", "1000", "-f", "json")
    ).json()
    customer, won = converted["customer"]["id"], converted["deal"]["id"]
    deal = ("deal", "add", customer, "--amount", "500", "-f", "json")
    open_ = ok(cli(*a, *deal, "--title", "CRM")).json()["id"]
    lost = ok(cli(*a, *deal, "--title", "BI")).json()["id"]
    ok(cli(*a, "deal", "move", lost, "--stage", "lost", "--reason", "price"))
    contract = ok(
        cli(*a, "contract", "add", customer, "--deal", won, "--title", "ERP",
            "--amount", "1000", "--signed", "today", "-f", "json")
    ).json()["id"]  # fmt: skip
    ok(cli("--as", "fay", "contract", "pay", contract, "--amount", "400"))
    return {
        "lead": lead,
        "customer": customer,
        "won": won,
        "open": open_,
        "lost": lost,
        "contract": contract,
    }


def moves_in(cli: Any, actor: str, record: str) -> list[tuple[str, str, str]]:
    story = ok(cli("--as", actor, "history", record, "-f", "json")).json()
    return [(e["move"]["verb"], e["move"]["from"], e["move"]["to"]) for e in story if e["move"]]


def test_assign_takes_the_whole_relationship_in_one_commit(store: Path, cli: Any) -> None:
    book = alices_customer(cli)
    before = head(store)
    ok(cli("--as", "lee", "customer", "assign", book["customer"], "--to", "bob"))
    assigned = head(store)
    assert git(store, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert not list(store.glob("teams/east/alice/**/*.yaml"))  # nothing stays behind
    message = git(store, "log", "-1", "--format=%B")
    for record in book.values():
        assert f"Salesctl-Record: {record}" in message, record
    # bob reads and works on every deal and the contract with its money and checklist
    for deal in ("won", "open", "lost"):
        shown = ok(cli("--as", "bob", "deal", "show", book[deal], "-f", "json")).json()
        assert shown["owner"] == "bob", deal
    contract = ok(cli("--as", "bob", "contract", "show", book["contract"], "-f", "json")).json()
    assert contract["owner"] == "bob" and float(contract["received"]) == 400.0
    assignees = {t["title"]: t["assignee"] for t in contract["tasks"]}
    assert assignees["Send contract"] == "bob"  # the old owner's steps are the new owner's
    assert assignees["Collect payment"] == "fay" and assignees["Activate service"] == "sam"
    ok(cli("--as", "bob", "deal", "move", book["open"], "--stage", "negotiate"))
    shown = ok(cli("--as", "bob", "customer", "show", book["customer"], "-f", "json")).json()
    assert "First call" in [f["text"] for f in shown["followups"]]  # the lead came along
    for record in ("won", "lost", "contract", "lead"):
        assert ("assign", "alice", "bob") in moves_in(cli, "bob", book[record]), record
    # the gate: a team lead may make exactly this commit, a rep may not
    assert ok(cli("check")).code == 0
    range_ = f"{before}..{assigned}"
    assert ok(cli("check", "--range", range_, "--actor", "lee")).code == 0
    refused = cli("check", "--range", range_, "--actor", "alice")
    assert refused.code == 1
    for record in ("customer", "won", "lost", "contract"):
        assert book[record] in refused.out + refused.err, record


def test_a_reps_hand_made_move_of_a_contract_is_refused(store: Path, cli: Any) -> None:
    book = alices_customer(cli)
    before = head(store)
    (store / "teams/east/bob/contracts").mkdir(parents=True)
    git(store, "mv", f"teams/east/alice/contracts/{book['contract']}", "teams/east/bob/contracts/")
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qm", "mv")
    assert cli("check", "--range", f"{before}..HEAD", "--actor", "alice").code == 1
    assert ok(cli("check", "--range", f"{before}..HEAD", "--actor", "lee")).code == 0


def test_release_leaves_contracts_and_closed_deals_with_the_owner(store: Path, cli: Any) -> None:
    book = alices_customer(cli)
    ok(cli("--as", "alice", "customer", "release", book["customer"], "--reason", "moving"))
    assert (store / f"pool/deals/{book['open']}/deal.yaml").exists()  # open work: the pool's
    for kind, record in (("deals", "won"), ("deals", "lost"), ("contracts", "contract")):
        assert (store / f"teams/east/alice/{kind}/{book[record]}").is_dir(), record
    assert not (store / "pool/contracts").exists()


def test_a_relationship_record_outside_the_leads_scope_stops_the_assignment(
    store: Path, cli: Any
) -> None:
    """A won deal of the customer left in another team's directory: the team lead may not
    move it, so nothing moves (exit 3); a director moves it with the rest."""
    book = alices_customer(cli)
    (store / "teams/north/nora/deals").mkdir(parents=True)
    git(store, "mv", f"teams/east/alice/deals/{book['won']}", "teams/north/nora/deals/")
    git(store, "-c", "user.name=D", "-c", "user.email=dana@acme.example", "commit", "-qm", "mv")
    before = head(store)
    refused = cli("--as", "lee", "customer", "assign", book["customer"], "--to", "bob")
    assert refused.code == 3 and book["won"] in refused.err
    assert head(store) == before and not git(store, "status", "--porcelain")
    ok(cli("--as", "dana", "customer", "assign", book["customer"], "--to", "bob"))
    assert (store / f"teams/east/bob/deals/{book['won']}/deal.yaml").exists()
    assert ok(cli("check", "--range", f"{before}..HEAD", "--actor", "dana")).code == 0
    assert cli("check", "--range", f"{before}..HEAD", "--actor", "lee").code == 1


def later(days: int) -> str:
    """The frozen clock (tests/conftest.py) moved on by ``days``."""
    now = dt.datetime.fromisoformat(os.environ["SALESCTL_NOW"])
    return (now + dt.timedelta(days=days)).isoformat()


def test_history_follows_a_lead_across_every_kind_of_move(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = ok(cli("--as", "lee", "lead", "add", "--company", "Roamer", "--pool", "-f", "json"))
    lead_id = lead.json()["id"]
    ok(cli("--as", "alice", "lead", "claim", lead_id))
    ok(cli("--as", "alice", "lead", "release", lead_id, "--reason", "no budget"))
    ok(cli("--as", "alice", "lead", "claim", lead_id))
    ok(cli("--as", "lee", "lead", "assign", lead_id, "--to", "bob"))
    ok(cli("--as", "lee", "member", "handover", "bob", "--to", "alice"))
    ok(cli("--as", "dana", "member", "edit", "alice", "--set", "team=north"))
    monkeypatch.setenv("SALESCTL_NOW", later(40))
    ok(cli("--as", "dana", "lead", "reclaim"))
    assert moves_in(cli, "dana", lead_id) == [
        ("reclaim", "alice", "pool"),
        ("team change", "alice (east)", "alice (north)"),
        ("assign", "bob", "alice"),  # the handover
        ("assign", "alice", "bob"),
        ("claim", "pool", "alice"),
        ("release", "alice", "pool"),
        ("claim", "pool", "alice"),
    ]
    table = ok(cli("--as", "dana", "history", lead_id, "-f", "table")).out
    assert "team change: alice (east) -> alice (north)" in table


def test_a_customers_history_starts_at_the_leads_first_touch(store: Path, cli: Any) -> None:
    book = alices_customer(cli)
    ok(cli("--as", "lee", "customer", "assign", book["customer"], "--to", "bob"))
    story = ok(cli("--as", "bob", "history", book["customer"], "-f", "json")).json()
    told = [(e["record"], e["action"]) for e in story]
    assert told[-3:] == [
        (book["lead"], "lead.convert"),
        (book["lead"], "followup.add"),
        (book["lead"], "lead.add"),
    ]
    assert (book["customer"], "lead.convert") in told
    assert told[0][1] == "customer.assign"
    followup = next(e for e in story if e["action"] == "followup.add")
    assert followup["children"][0]["summary"] == "First call"
    table = ok(cli("--as", "bob", "history", book["customer"], "-f", "table")).out
    assert f"lead {book['lead']}: created in alice" in table
    # the lead's own history is its own: the customer is not told with it
    lead_story = ok(cli("--as", "bob", "history", book["lead"], "-f", "json")).json()
    assert {e["record"] for e in lead_story} == {book["lead"]}
    # a lead the viewer may not read is not told through the customer
    ok(cli("--as", "dana", "lead", "assign", book["lead"], "--to", "nora"))
    story = ok(cli("--as", "bob", "history", book["customer"], "-f", "json")).json()
    assert {e["record"] for e in story} == {book["customer"]}
