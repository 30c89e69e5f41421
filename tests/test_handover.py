"""``member handover`` (issue 13, 人员变动): everything a member owns moves to a colleague in
one commit that ``check --range`` accepts from the team lead, and the new owner can work on
all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def alices_book(cli: Any) -> dict[str, str]:
    """An open lead, a converted one (with its customer and deal), a follow-up, a contract
    with a payment: what a rep leaves behind."""
    a = ("--as", "alice")
    lead = ok(cli(*a, "lead", "add", "--company", "Open Co", "-f", "json")).json()["id"]
    won = ok(cli(*a, "lead", "add", "--company", "Won Co", "-f", "json")).json()["id"]
    converted = ok(
        cli(*a, "lead", "convert", won, "--deal", "ERP", "--amount", "1000", "-f", "json")
    ).json()
    customer, deal = converted["customer"]["id"], converted["deal"]["id"]
    ok(cli(*a, "followup", "add", customer, "--text", "Demo went well"))
    contract = ok(
        cli(*a, "contract", "add", customer, "--title", "ERP", "--amount", "1000",
            "--signed", "today", "-f", "json")
    ).json()["id"]  # fmt: skip
    ok(cli("--as", "fay", "contract", "pay", contract, "--amount", "400"))
    return {"lead": lead, "won": won, "customer": customer, "deal": deal, "contract": contract}


def test_a_handover_moves_every_record_in_one_commit_the_lead_may_push(
    store: Path, cli: Any
) -> None:
    book = alices_book(cli)
    before = head(store)
    moved = ok(cli("--as", "lee", "member", "handover", "alice", "--to", "bob", "-f", "json"))
    assert git(store, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert moved.json()["moved"] == {"lead": 2, "customer": 1, "deal": 1, "contract": 1}
    assert not list(store.glob("teams/east/alice/*/*/*.yaml"))  # nothing of alice's is left
    assert ok(cli("check")).code == 0
    range_ = f"{before}..HEAD"
    assert ok(cli("check", "--range", range_, "--actor", "lee")).code == 0
    assert cli("check", "--range", range_, "--actor", "alice").code == 1  # a rep may not
    # bob sees and works on all of it: the customer with its follow-up, the contract's money
    shown = ok(cli("--as", "bob", "customer", "show", book["customer"], "-f", "json")).json()
    assert [f["text"] for f in shown["followups"]] == ["Demo went well"]
    contract = ok(cli("--as", "bob", "contract", "show", book["contract"], "-f", "json")).json()
    assert float(contract["received"]) == 400.0
    ok(cli("--as", "bob", "followup", "add", book["lead"], "--text", "Called, new owner"))
    ok(cli("--as", "bob", "deal", "move", book["deal"], "--stage", "negotiate"))
    assert cli("--as", "alice", "lead", "show", book["lead"]).code == 3
    story = ok(cli("--as", "bob", "history", book["customer"], "-f", "json")).json()
    assert any(e.get("move") == {"from": "alice", "to": "bob", "verb": "assign"} for e in story)


def test_open_leads_can_go_back_to_the_pool_instead(store: Path, cli: Any) -> None:
    book = alices_book(cli)
    args = ("--as", "lee", "member", "handover", "alice", "--to", "bob", "--leads-to-pool")
    result = ok(cli(*args, "-f", "json")).json()
    assert result["released"] == [book["lead"]]
    assert result["moved"]["lead"] == 1  # the converted one stays with the relationship
    pooled = ok(cli("--as", "bob", "lead", "show", book["lead"], "-f", "json")).json()
    assert pooled["owner"] is None and pooled["release_reason"] == "alice handed over to bob"


def test_who_may_hand_over_and_to_whom(store: Path, cli: Any) -> None:
    alices_book(cli)
    before = head(store)
    refused = [
        (("--as", "alice", "member", "handover", "alice", "--to", "bob"), 3),  # a rep
        (("--as", "nick", "member", "handover", "alice", "--to", "bob"), 3),  # another team
        (("--as", "lee", "member", "handover", "alice", "--to", "nora"), 3),  # out of the team
        (("--as", "lee", "member", "handover", "alice", "--to", "carol"), 1),  # inactive
        (("--as", "lee", "member", "handover", "alice", "--to", "alice"), 1),
        (("--as", "lee", "member", "handover", "bob", "--to", "alice"), 1),  # owns nothing
        (("--as", "lee", "member", "handover", "ghost", "--to", "bob"), 1),
    ]
    for args, code in refused:
        result = cli(*args)
        assert result.code == code, (args, result.err)
        assert result.err.startswith("error:"), args
    assert head(store) == before
    assert ok(cli("--as", "dana", "member", "handover", "alice", "--to", "nora")).code == 0


def test_a_dry_run_lists_the_moves_and_changes_nothing(store: Path, cli: Any) -> None:
    alices_book(cli)
    before = head(store)
    result = ok(cli("--as", "lee", "member", "handover", "alice", "--to", "bob", "--dry-run"))
    assert "would delete teams/east/alice/leads/" in result.err
    assert "would write teams/east/bob/leads/" in result.err
    assert head(store) == before and not list(store.glob("teams/east/bob/*"))


def test_three_hundred_records_are_one_commit(store: Path, cli: Any, tmp_path: Path) -> None:
    rows = "".join(f"Co {n},lead{n}@co{n}.example\n" for n in range(300))
    (tmp_path / "leads.csv").write_text("Company,Email\n" + rows, "utf-8")
    ok(cli("--as", "alice", "lead", "import", str(tmp_path / "leads.csv")))
    before = head(store)
    result = ok(cli("--as", "lee", "member", "handover", "alice", "--to", "bob", "-f", "json"))
    assert result.json()["moved"] == {"lead": 300}
    assert git(store, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    mine = ok(cli("--as", "bob", "lead", "list", "--owner", "bob", "-f", "json")).json()
    assert len(mine) == 300
    assert ok(cli("check")).code == 0
    for lead in mine[::60]:
        story = ok(cli("--as", "bob", "history", lead["id"], "-f", "json")).json()
        assert story[0]["action"] == "member.handover", lead["id"]
