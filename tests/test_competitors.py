"""Competitor intelligence end to end: org-wide records every member reads and leads keep,
notes anyone adds (one file each, announced to chat), deals that name competitors by name
or alias, what `competitor show`, `deal losses` and the weekly report make of them, and the
gate (`check --range`) holding the same rules for hand-made commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from chat_receiver import Receiver, store_with_hook
from conftest import git

from salesctl import clock


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return result.json()


def code(cli: Any, *args: str) -> int:
    return cli(*args, "-f", "json").code  # type: ignore[no-any-return]


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def gate(cli: Any, base: str, actor: str) -> tuple[int, set[str]]:
    result = cli("check", "--range", f"{base}..HEAD", "--actor", actor, "-f", "json")
    assert result.code in (0, 1), result.err
    return result.code, {v["path"] for v in result.json()["violations"]}


def commit_as(root: Path, member: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", f"user.name={member}", "-c", f"user.email={member}@acme.example",
        "commit", "-qm", f"{member} by hand")  # fmt: skip


@pytest.fixture
def salesforce(store: Path, cli: Any) -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        cli, "--as", "lee", "competitor", "add", "--name", "Salesforce", "--alias", "SFDC",
        "--set", "website=https://www.salesforce.com", "--set", "pricing=165 USD/seat/month",
    )  # fmt: skip


def test_leads_keep_competitors_and_every_member_reads_them(
    store: Path, cli: Any, salesforce: dict[str, Any]
) -> None:
    assert salesforce["path"] == f"competitors/{salesforce['id']}/competitor.yaml"
    assert salesforce["aliases"] == ["SFDC"] and salesforce["owner"] is None
    before = commits(store)
    assert code(cli, "--as", "alice", "competitor", "add", "--name", "Globex") == 3
    assert code(cli, "--as", "lee", "competitor", "add", "--name", "sfdc") == 1  # an alias
    for same in ("Ｓａｌｅｓｆｏｒｃｅ", "Sales\u200bforce"):  # full width, a zero-width space
        assert code(cli, "--as", "lee", "competitor", "add", "--name", same) == 1
    assert ok(cli, "--as", "alice", "competitor", "show", "ＳＦＤＣ")["id"] == salesforce["id"]
    assert code(cli, "--as", "alice", "competitor", "edit", "SFDC", "--set", "pricing=x") == 3
    assert commits(store) == before
    for member in ("alice", "nora", "fay", "sam", "dana"):
        assert [c["name"] for c in ok(cli, "--as", member, "competitor", "list")] == ["Salesforce"]
        assert ok(cli, "--as", member, "competitor", "show", "sfdc")["id"] == salesforce["id"]
    edited = ok(cli, "--as", "nick", "competitor", "edit", "Salesforce", "--set", "pricing=150")
    assert edited["pricing"] == "150"  # a lead of another team: competitors are org-wide
    assert code(cli, "--as", "alice", "competitor", "show", "Nobody") == 1


def test_anyone_adds_a_note_and_the_channel_hears_of_it(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = (
        "notify:\n  - name: intel\n    url: http://127.0.0.1:${HOOK_PORT}/hook\n"
        "    format: slack\n    on: [competitor.note]\n"
    )
    with Receiver() as receiver:
        root = store_with_hook(tmp_path, monkeypatch, receiver, hook)
        ok(cli, "--as", "lee", "competitor", "add", "--name", "Salesforce", "--alias", "SFDC")
        customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")
        deal = ok(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "CRM",
                  "--amount", "100000", "--competitor", "sfdc")  # fmt: skip
        assert deal["competitors"] == ["Salesforce"]
        for member in ("alice", "fay", "sam"):
            before = commits(root)
            note = ok(
                cli, "--as", member, "competitor", "note", "SFDC", "--text", f"{member} heard"
            )
            assert note["author"] == member and note["path"].startswith("competitors/")
            assert commits(root) == before + 1
        assert ok(cli, "--as", "alice", "competitor", "note", "SFDC", "--text", "quoted 20% off",
                  "--deal", deal["id"])["deal"] == deal["id"]  # fmt: skip
        # a deal the author may not read is refused, nothing written
        before = commits(root)
        assert code(cli, "--as", "nora", "competitor", "note", "SFDC", "--text", "x",
                    "--deal", deal["id"]) == 1  # fmt: skip
        assert commits(root) == before
        messages = receiver.wait_for(4)
    texts = [m["body"]["text"] for m in messages]
    assert all("Competitor intel: Salesforce" in t for t in texts)
    assert any("quoted 20% off" in t and deal["id"] in t for t in texts)


def test_deals_name_competitors_the_org_knows(
    store: Path, cli: Any, salesforce: dict[str, Any]
) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")
    before = commits(store)
    refused = cli("--as", "alice", "deal", "add", customer["id"], "--title", "CRM",
                  "--amount", "100", "--competitor", "Globex", "-f", "json")  # fmt: skip
    assert refused.code == 1 and "Salesforce" in refused.err  # the list of known ones
    assert commits(store) == before
    lost = ok(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "Lost one",
              "--amount", "100")  # fmt: skip
    moved = ok(cli, "--as", "alice", "deal", "move", lost["id"], "--stage", "lost",
               "--reason", "price", "--lost-to", "sfdc")  # fmt: skip
    assert moved["lost_to"] == "Salesforce" and moved["competitors"] == ["Salesforce"]
    won = ok(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "Won one",
             "--amount", "300", "--competitor", "SFDC")  # fmt: skip
    ok(cli, "--as", "alice", "deal", "move", won["id"], "--stage", "won")
    bobs = ok(cli, "--as", "bob", "customer", "add", "--name", "Initech")
    ok(cli, "--as", "bob", "deal", "add", bobs["id"], "--title", "Bob's", "--amount", "5",
       "--competitor", "Salesforce")  # fmt: skip

    shown = ok(cli, "--as", "alice", "competitor", "show", "Salesforce")
    assert shown["deals"] == sorted([lost["id"], won["id"]])  # not bob's: alice may not read
    assert shown["won_against"] == 1 and shown["lost_to"] == 1
    assert len(ok(cli, "--as", "lee", "competitor", "show", "SFDC")["deals"]) == 3
    losses = ok(cli, "--as", "lee", "deal", "losses")
    assert [(g["competitor"], g["count"]) for g in losses["by_competitor"]] == [("Salesforce", 1)]
    year, week, _day = clock.today().isocalendar()  # the deals closed this week
    report = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week",
                f"{year}-W{week:02d}")  # fmt: skip
    assert report["competitors"] == [
        {"competitor": "Salesforce", "deals": 2, "won": 1, "lost_to": 1}  # bob's is open
    ]


def test_a_store_without_competitor_records_takes_any_name(store: Path, cli: Any) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")
    deal = ok(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "CRM",
              "--amount", "100", "--competitor", "Globex")  # fmt: skip
    assert deal["competitors"] == ["Globex"]


def test_the_gate_holds_the_same_rules(store: Path, cli: Any, salesforce: dict[str, Any]) -> None:
    base = head(store)
    ok(cli, "--as", "alice", "competitor", "note", "Salesforce", "--text", "heard at the expo")
    assert gate(cli, base, "alice") == (0, set())
    assert gate(cli, base, "sam") == (0, set())  # any member may add that note
    base = head(store)
    path = store / salesforce["path"]
    data = yaml.safe_load(path.read_text())
    data["pricing"] = "free!"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    commit_as(store, "alice")
    assert gate(cli, base, "alice") == (1, {salesforce["path"]})
    assert gate(cli, base, "lee")[0] == 0


def test_edit_keeps_names_and_aliases_unique_as_add_does(
    store: Path, cli: Any, salesforce: dict[str, Any]
) -> None:
    hubspot = ok(cli, "--as", "lee", "competitor", "add", "--name", "HubSpot")
    before = commits(store)
    for taken in ("name=HubSpot", "name=ｈｕｂｓｐｏｔ", "aliases=CRM,hubspot"):
        refused = cli("--as", "lee", "competitor", "edit", "Salesforce", "--set", taken)
        assert refused.code == 1 and "is already" in refused.err, taken
    for taken in ("name=Sfdc", "aliases=salesforce"):
        assert code(cli, "--as", "lee", "competitor", "edit", "HubSpot", "--set", taken) == 1
    assert commits(store) == before
    # its own names stay its own: a new alias and the name in another case are fine
    edited = ok(
        cli, "--as", "lee", "competitor", "edit", "SFDC", "--set", "aliases=SFDC,Sales Cloud"
    )
    assert edited["aliases"] == ["SFDC", "Sales Cloud"]
    assert (
        ok(cli, "--as", "lee", "competitor", "edit", "sfdc", "--set", "name=SalesForce")["id"]
        == (salesforce["id"])
    )
    assert ok(cli, "--as", "alice", "competitor", "show", "HubSpot")["id"] == hubspot["id"]
    assert ok(cli, "check", "-f", "json") == []


def test_a_name_shared_by_hand_is_ambiguous_and_check_reports_it(
    store: Path, cli: Any, salesforce: dict[str, Any]
) -> None:
    hubspot = ok(cli, "--as", "lee", "competitor", "add", "--name", "HubSpot", "--alias", "Zoho")
    zoho = ok(cli, "--as", "lee", "competitor", "add", "--name", "Zoho CRM")
    # a name wins over another competitor's alias (a hand edit made "Zoho" both)
    path = store / zoho["path"]
    path.write_text(path.read_text().replace("name: Zoho CRM", "name: Zoho"))
    commit_as(store, "lee")
    assert ok(cli, "--as", "alice", "competitor", "show", "zoho")["id"] == zoho["id"]
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")
    deal = ok(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "CRM",
              "--amount", "100", "--competitor", "zoho")  # fmt: skip
    assert deal["competitors"] == ["Zoho"]
    checked = cli("check", "-f", "json")
    assert checked.code == 1
    assert {(p["where"], p["field"]) for p in checked.json()} == {
        (hubspot["path"], "aliases"),
        (zoho["path"], "name"),
    }
    # two competitors of one name: every lookup by it is refused with both ids
    path = store / hubspot["path"]
    path.write_text(path.read_text().replace("name: HubSpot", "name: Salesforce"))
    commit_as(store, "lee")
    before = commits(store)
    shown = cli("--as", "alice", "competitor", "show", "Salesforce", "-f", "json")
    assert shown.code == 1 and salesforce["id"] in shown.err and hubspot["id"] in shown.err
    assert code(cli, "--as", "lee", "competitor", "edit", "salesforce", "--set", "pricing=x") == 1
    assert code(cli, "--as", "alice", "deal", "add", customer["id"], "--title", "t",
                "--amount", "1", "--competitor", "Salesforce") == 1  # fmt: skip
    assert commits(store) == before
    assert ok(cli, "--as", "alice", "competitor", "show", "SFDC")["id"] == salesforce["id"]
    # the fix: rename one (its other names may still clash until that is done)
    ok(cli, "--as", "lee", "competitor", "edit", hubspot["id"], "--set", "name=HubSpot")
    ok(cli, "--as", "lee", "competitor", "edit", hubspot["id"], "--set", "aliases=")
    assert ok(cli, "check", "-f", "json") == []
