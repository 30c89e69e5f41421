"""``member handover`` (issue 13, 人员变动): everything a member owns moves to a colleague in
one commit that ``check --range`` accepts from the team lead, and the new owner can work on
all of it."""

from __future__ import annotations

import datetime as dt
import os
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


def changed_files(store: Path, rev: str = "HEAD") -> list[str]:
    return git(store, "diff-tree", "--no-commit-id", "-r", "--name-only", rev).split()


def test_deactivate_marks_the_member_inactive_in_the_same_commit(store: Path, cli: Any) -> None:
    book = alices_book(cli)
    before = head(store)
    args = ("member", "handover", "alice", "--to", "bob", "--deactivate", "-f", "json")
    result = ok(cli("--as", "dana", *args)).json()
    assert result["deactivated"] is True and result["moved"]["contract"] == 1
    assert git(store, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert "salesctl.yaml" in changed_files(store)
    numstat = git(store, "diff", "--numstat", before, "HEAD", "--", "salesctl.yaml").split()
    assert numstat[:2] == ["1", "1"]  # alice's line only: the rest of the file is kept
    members = {m["id"]: m for m in ok(cli("member", "list", "-f", "json")).json()}
    assert members["alice"]["active"] is False and members["bob"]["active"] is True
    assert ok(cli("check")).code == 0
    assert ok(cli("check", "--range", f"{before}..HEAD", "--actor", "dana")).code == 0
    assert cli("check", "--range", f"{before}..HEAD", "--actor", "lee").code == 1
    # the leaving rep's checklist steps are the colleague's; finance's and service's stay
    contract = ok(cli("--as", "bob", "contract", "show", book["contract"], "-f", "json")).json()
    assignees = {t["title"]: t["assignee"] for t in contract["tasks"]}
    assert assignees["Send contract"] == "bob" and assignees["Activate service"] == "sam"


def test_deactivate_needs_the_right_to_edit_members(store: Path, cli: Any) -> None:
    alices_book(cli)
    before = head(store)
    config = (store / "salesctl.yaml").read_bytes()
    args = ("member", "handover", "alice", "--to", "bob", "--deactivate")
    refused = cli("--as", "lee", *args)  # a team lead may hand over, not deactivate
    assert refused.code == 3 and refused.err.startswith("error:")
    assert head(store) == before and not git(store, "status", "--porcelain")
    assert (store / "salesctl.yaml").read_bytes() == config
    ok(cli("--as", "lee", "member", "handover", "alice", "--to", "bob"))
    assert "salesctl.yaml" not in changed_files(store)  # without --deactivate: no config change
    assert (store / "salesctl.yaml").read_bytes() == config


def write_record(store: Path, path: str, text: str) -> None:
    full = store / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text, "utf-8")


def alices_300_records(store: Path) -> dict[str, list[str]]:
    """100 leads, 50 customers with a follow-up each, 100 deals (an open and a won one per
    customer) and 50 contracts with a payment: 300 records written as files, one commit."""
    from salesctl.ids import new_id

    today = dt.date.fromisoformat(os.environ["SALESCTL_NOW"][:10])
    day, due = today.isoformat(), (today + dt.timedelta(days=30)).isoformat()
    home = "teams/east/alice"
    book: dict[str, list[str]] = {"lead": [], "customer": [], "deal": [], "contract": []}
    for n in range(100):
        lead = new_id("L")
        write_record(
            store,
            f"{home}/leads/{lead}/lead.yaml",
            f"schema_version: 1\ncompany: Lead Co {n}\nstage: new\nstages:\n  new: {day}\n"
            f"created: {day}\n",
        )
        book["lead"].append(lead)
    for n in range(50):
        customer, open_deal, won, contract = (new_id(p) for p in "CDDK")
        base = f"{home}/customers/{customer}"
        write_record(
            store,
            f"{base}/customer.yaml",
            f"schema_version: 1\nname: Customer {n}\ncreated: {day}\n",
        )
        write_record(
            store,
            f"{base}/followups/{new_id('F')}.yaml",
            f"schema_version: 1\nrecord: {customer}\nauthor: alice\nat: {day}T09:00:00+08:00\n"
            f"text: Visit {n}\n",
        )
        for deal, stage in ((open_deal, "proposal"), (won, "won")):
            write_record(
                store,
                f"{home}/deals/{deal}/deal.yaml",
                f"schema_version: 1\ncustomer: {customer}\ntitle: Deal {n}\namount: 1000\n"
                f"stage: {stage}\nstages:\n  {stage}: {day}\ncreated: {day}\n",
            )
        write_record(
            store,
            f"{home}/contracts/{contract}/contract.yaml",
            f"schema_version: 1\ncustomer: {customer}\ndeal: {won}\ntitle: Contract {n}\n"
            f"amount: 1000\nsigned: {day}\nstatus: signed\nplan:\n- due: {due}\n  amount: 1000\n"
            f"created: {day}\n",
        )
        write_record(
            store,
            f"{home}/contracts/{contract}/payments/{new_id('P')}.yaml",
            f"schema_version: 1\ncontract: {contract}\ndate: {day}\namount: 400\nauthor: fay\n",
        )
        book["customer"].append(customer)
        book["deal"] += [open_deal, won]
        book["contract"].append(contract)
    git(store, "add", "-A")
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qm", "300")
    return book


def test_a_handover_of_300_records_of_every_kind(store: Path, cli: Any) -> None:
    """Done means (issue 13): one commit; bob reads and works on every record alice had;
    ``history`` of ten of each kind shows the move; ``check`` and the lead's range pass."""
    book = alices_300_records(store)
    assert ok(cli("check")).code == 0
    before = head(store)
    result = ok(cli("--as", "lee", "member", "handover", "alice", "--to", "bob", "-f", "json"))
    assert result.json()["moved"] == {"lead": 100, "customer": 50, "deal": 100, "contract": 50}
    assert git(store, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert not list(store.glob("teams/east/alice/**/*.yaml"))
    for kind in ("lead", "customer", "deal", "contract"):
        mine = ok(cli("--as", "bob", kind, "list", "--owner", "bob", "-f", "json")).json()
        assert {r["id"] for r in mine} == set(book[kind]), kind
    for lead in book["lead"][::10]:
        ok(cli("--as", "bob", "lead", "show", lead))
        ok(cli("--as", "bob", "followup", "add", lead, "--text", "New owner"))
    for customer in book["customer"][::5]:
        shown = ok(cli("--as", "bob", "customer", "show", customer, "-f", "json")).json()
        assert len(shown["followups"]) == 1 and len(shown["deals"]) == 2
        ok(cli("--as", "bob", "followup", "add", customer, "--text", "New owner"))
    for contract in book["contract"][::5]:
        shown = ok(cli("--as", "bob", "contract", "show", contract, "-f", "json")).json()
        assert float(shown["received"]) == 400.0
    for deal in book["deal"][::20]:  # every tenth customer's open deal
        ok(cli("--as", "bob", "deal", "move", deal, "--stage", "negotiate"))
    handed = {"from": "alice", "to": "bob", "verb": "assign"}
    samples = book["lead"][::10] + book["customer"][::5] + book["deal"][::10]
    for record in samples + book["contract"][::5]:
        story = ok(cli("--as", "bob", "history", record, "-f", "json")).json()
        moves = [e for e in story if e["action"] == "member.handover"]
        assert [e["move"] for e in moves] == [handed], record
    assert ok(cli("check")).code == 0
    assert ok(cli("check", "--range", f"{before}..HEAD", "--actor", "lee")).code == 0
