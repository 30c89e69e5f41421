"""Customers end to end on a real git store: add, custom fields, edit, tag, contacts, list
filters, ownership moves and permissions, each command exactly one commit."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store

CUSTOM_CONFIG = (
    CONFIG
    + """\
custom_fields:
  customer:
    - {name: region, type: choice, choices: [North, South, East, West]}
    - {name: employees, type: number}
    - {name: renewal, type: date}
    - {name: products, type: multi-choice, choices: [erp, crm, bi]}
    - {name: notes2, type: text}
"""
)


@pytest.fixture
def custom_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_store(tmp_path / "custom", CUSTOM_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


# -- helpers ---------------------------------------------------------------------------------


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def trailers(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def changed(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "show", "--name-only", "--format=", rev)
    return sorted(line for line in out.splitlines() if line.strip())


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return head(root), git(root, "status", "--porcelain", "--untracked-files=all"), files


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def add_customer(cli: Any, actor: str, name: str, *extra: str) -> dict[str, Any]:
    return ok(cli, "--as", actor, "customer", "add", "--name", name, *extra)


# -- add, edit, show ---------------------------------------------------------------------------


def test_customer_add_is_one_commit_in_the_owners_directory(store: Path, cli: Any) -> None:
    count = commits(store)
    customer = add_customer(
        cli, "alice", "阿里巴巴", "--industry", "retail", "--source", "expo", "--tag", "vip"
    )
    assert customer["kind"] == "customer" and customer["owner"] == "alice"
    assert customer["team"] == "east" and customer["id"].startswith("C-")
    assert customer["path"] == f"teams/east/alice/customers/{customer['id']}/customer.yaml"
    assert customer["name"] == "阿里巴巴" and customer["tags"] == ["vip"]
    assert customer["created"] == "2026-11-20"
    assert commits(store) == count + 1
    assert trailers(store, "Salesctl-Action") == ["customer.add"]
    assert trailers(store, "Salesctl-Record") == [customer["id"]]
    assert changed(store) == [customer["path"]]
    assert git(store, "log", "-1", "--format=%an <%ae>").strip() == "Alice Lin <alice@acme.example>"
    stored = load(store / customer["path"])
    assert stored["schema_version"] == 1 and stored["industry"] == "retail"
    assert git(store, "status", "--porcelain") == ""


def test_customer_add_to_another_member_and_to_the_pool(store: Path, cli: Any) -> None:
    given = add_customer(cli, "lee", "Globex", "--to", "bob")
    assert given["owner"] == "bob"
    assert git(store, "log", "-1", "--format=%an").strip() == "Lee Chen"
    pooled = add_customer(cli, "alice", "Initech", "--pool")
    assert pooled["owner"] is None and pooled["path"].startswith("pool/customers/")
    refused = cli("--as", "alice", "customer", "add", "--name", "X", "--to", "bob")
    assert refused.code == 3, refused.err
    inactive = cli("--as", "lee", "customer", "add", "--name", "X", "--to", "carol")
    assert inactive.code == 1


def test_custom_fields_are_set_typed_and_stored_under_custom(custom_store: Path, cli: Any) -> None:
    customer = add_customer(
        cli,
        "alice",
        "Acme",
        "--set",
        "region=North",
        "--set",
        "employees=250",
        "--set",
        "renewal=2027-03-31",
        "--set",
        "custom.products=erp,bi",
    )
    assert customer["custom"] == {
        "region": "North",
        "employees": 250,
        "renewal": "2027-03-31",
        "products": ["erp", "bi"],
    }
    stored = load(custom_store / customer["path"])
    assert stored["custom"]["employees"] == 250
    assert str(stored["custom"]["renewal"]) == "2027-03-31"
    assert "region" not in stored  # values live under custom, nowhere else

    count = commits(custom_store)
    edited = ok(cli, "--as", "alice", "customer", "edit", customer["id"], "--set", "region=South")
    assert edited["custom"]["region"] == "South" and edited["custom"]["employees"] == 250
    assert commits(custom_store) == count + 1
    assert trailers(custom_store, "Salesctl-Action") == ["customer.edit"]
    assert changed(custom_store) == [customer["path"]]


WRONG_VALUES = {
    "region=Central": "North, South, East, West",
    "employees=many": "not a number",
    "renewal=next spring": "not a date",
    "products=erp,hr": "erp, crm, bi",
    "colour=red": "cannot be set",
}


def test_wrong_custom_value_is_refused_listing_what_is_allowed_and_changes_nothing(
    custom_store: Path, cli: Any
) -> None:
    customer = add_customer(cli, "alice", "Acme", "--set", "region=North")
    before = snapshot(custom_store)
    for assignment, expected in WRONG_VALUES.items():
        edit = cli("--as", "alice", "customer", "edit", customer["id"], "--set", assignment)
        assert edit.code == 1, (assignment, edit.out)
        assert edit.err.startswith("error: ") and expected in edit.err, edit.err
        assert "Traceback" not in edit.err
        add = cli("--as", "alice", "customer", "add", "--name", "Other", "--set", assignment)
        assert add.code == 1 and expected in add.err, add.err
    assert snapshot(custom_store) == before


def test_required_custom_field_must_be_given(tmp_path: Path, monkeypatch: Any, cli: Any) -> None:
    config = CONFIG + textwrap.dedent(
        """\
        custom_fields:
          customer:
            - {name: region, type: choice, choices: [North, South], required: true}
        """
    )
    root = make_store(tmp_path / "req", config)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    before = snapshot(root)
    missing = cli("--as", "alice", "customer", "add", "--name", "Acme")
    assert missing.code == 1 and "custom.region" in missing.err and "required" in missing.err
    assert snapshot(root) == before
    assert add_customer(cli, "alice", "Acme", "--set", "region=South")["custom"] == {
        "region": "South"
    }


def test_list_where_filters_on_custom_fields_by_type(custom_store: Path, cli: Any) -> None:
    north = add_customer(cli, "alice", "N1", "--set", "region=North", "--set", "employees=500")
    add_customer(cli, "alice", "S1", "--set", "region=South", "--set", "employees=50")
    big_north = add_customer(
        cli, "bob", "N2", "--set", "region=North", "--set", "employees=500.0",
        "--set", "products=crm",
    )  # fmt: skip

    def ids(*args: str) -> list[str]:
        rows = ok(cli, "--as", "lee", "customer", "list", *args)
        return sorted(r["id"] for r in rows)

    assert ids("--where", "region=North") == sorted([north["id"], big_north["id"]])
    assert ids("--where", "custom.region=North", "--owner", "alice") == [north["id"]]
    assert ids("--where", "employees=500") == sorted([north["id"], big_north["id"]])
    assert ids("--where", "products=crm") == [big_north["id"]]
    assert ids("--where", "region=North", "--where", "employees=50") == []
    bad = cli("--as", "lee", "customer", "list", "--where", "region=Central")
    assert bad.code == 1 and "North, South, East, West" in bad.err
    unknown = cli("--as", "lee", "customer", "list", "--where", "shoe_size=42")
    assert unknown.code == 1


def test_edit_in_editor_validates_before_commit(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = add_customer(cli, "alice", "Acme")
    script = tmp_path / "ed.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('name: Acme', 'name: Acme Holding'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    edited = ok(cli, "--as", "alice", "customer", "edit", customer["id"])
    assert edited["name"] == "Acme Holding"
    assert trailers(store, "Salesctl-Action") == ["customer.edit"]
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text() + 'shoe_size: 42\\n')\n"
    )
    before = snapshot(store)
    broken = cli("--as", "alice", "customer", "edit", customer["id"])
    assert broken.code == 1 and "shoe_size" in broken.err
    assert snapshot(store) == before


# -- tags and contacts -------------------------------------------------------------------------


def test_tag_adds_and_removes_in_one_commit(store: Path, cli: Any) -> None:
    customer = add_customer(cli, "alice", "Acme", "--tag", "cold", "--tag", "expo")
    count = commits(store)
    tagged = ok(cli, "--as", "alice", "customer", "tag", customer["id"][:6], "+vip", "-cold", "key")
    assert tagged["tags"] == ["expo", "vip", "key"]
    assert commits(store) == count + 1
    assert trailers(store, "Salesctl-Action") == ["customer.tag"]
    assert trailers(store, "Salesctl-Record") == [customer["id"]]
    assert load(store / customer["path"])["tags"] == ["expo", "vip", "key"]

    again = cli("--as", "alice", "customer", "tag", customer["id"], "+vip", "-cold")
    assert again.code == 0 and "nothing to change" in again.out
    assert commits(store) == count + 1

    # ``-fast`` is a tag removal even though click first reads it as ``-f ast``.
    ok(cli, "--as", "alice", "customer", "tag", customer["id"], "+fast")
    assert (
        "fast" not in ok(cli, "--as", "alice", "customer", "tag", customer["id"], "-fast")["tags"]
    )
    cleared = ok(cli, "--as", "alice", "customer", "tag", customer["id"], "-expo", "-vip", "-key")
    assert "tags" not in cleared and "tags" not in load(store / customer["path"])
    assert cli("--as", "alice", "customer", "tag", customer["id"], "+a", "-a").code == 1


def test_contacts_are_added_and_shown_with_the_customer(store: Path, cli: Any) -> None:
    customer = add_customer(cli, "alice", "Acme")
    ok(
        cli,
        "--as",
        "alice",
        "contact",
        "add",
        customer["id"],
        "--name",
        "张伟",
        "--title",
        "CTO",
        "--phone",
        "+86 138 0000 0000",
        "--email",
        "wei@acme.example",
    )
    assert trailers(store, "Salesctl-Action") == ["contact.add"]
    assert trailers(store, "Salesctl-Record") == [customer["id"]]
    ok(cli, "--as", "alice", "contact", "add", customer["id"], "--name", "Li Na")
    shown = ok(cli, "--as", "alice", "customer", "show", customer["id"])
    assert shown["contacts"] == [
        {"name": "张伟", "title": "CTO", "phone": "+86 138 0000 0000", "email": "wei@acme.example"},
        {"name": "Li Na"},
    ]
    assert shown["followups"] == [] and shown["visits"] == [] and shown["deals"] == []
    duplicate = cli("--as", "alice", "contact", "add", customer["id"], "--name", "Li Na")
    assert duplicate.code == 1
    bad_email = cli(
        "--as", "alice", "contact", "add", customer["id"], "--name", "X", "--email", "nope"
    )
    assert bad_email.code == 1 and "email" in bad_email.err
    listed = ok(cli, "--as", "alice", "contact", "list", customer["id"])
    assert [c["name"] for c in listed] == ["张伟", "Li Na"]


# -- permissions and ownership -----------------------------------------------------------------


def test_a_rep_may_not_touch_another_reps_customer(store: Path, cli: Any) -> None:
    customer = add_customer(cli, "alice", "Acme")
    before = snapshot(store)
    for args in (
        ("customer", "edit", customer["id"], "--set", "industry=x"),
        ("customer", "tag", customer["id"], "+vip"),
        ("contact", "add", customer["id"], "--name", "Bob's friend"),
        ("customer", "release", customer["id"]),
        ("customer", "assign", customer["id"], "--to", "bob"),
    ):
        result = cli("--as", "bob", *args)
        assert result.code == 3, (args, result.err)
        assert result.err.startswith("error: ")
    assert cli("--as", "nora", "customer", "show", customer["id"]).code == 3
    assert snapshot(store) == before
    assert ok(cli, "--as", "bob", "customer", "list") == []
    assert [r["id"] for r in ok(cli, "--as", "lee", "customer", "list")] == [customer["id"]]
    assert ok(cli, "--as", "nick", "customer", "list") == []


def test_assign_moves_the_directory_with_its_followups(store: Path, cli: Any) -> None:
    customer = add_customer(cli, "alice", "Acme")
    followup = ok(cli, "--as", "alice", "followup", "add", customer["id"], "--text", "called")
    count = commits(store)
    [moved] = ok(cli, "--as", "lee", "customer", "assign", customer["id"], "--to", "bob")
    assert moved["owner"] == "bob"
    assert moved["path"] == f"teams/east/bob/customers/{customer['id']}/customer.yaml"
    assert commits(store) == count + 1
    assert trailers(store, "Salesctl-Action") == ["customer.assign"]
    assert not (store / "teams/east/alice/customers").exists()
    new_followup = f"teams/east/bob/customers/{customer['id']}/followups/{followup['id']}.yaml"
    assert (store / new_followup).is_file()
    listed = ok(cli, "--as", "bob", "followup", "list", customer["id"])
    assert [r["id"] for r in listed] == [followup["id"]]
    assert ok(cli, "--as", "bob", "customer", "show", customer["id"])["assigned"] == "2026-11-20"
    assert cli("--as", "lee", "customer", "assign", customer["id"], "--to", "nora").code == 3


def test_release_to_the_pool_and_claim_with_the_cap(store: Path, cli: Any) -> None:
    customer = add_customer(cli, "alice", "Acme")
    [released] = ok(
        cli, "--as", "alice", "customer", "release", customer["id"], "--reason", "not ours"
    )
    assert released["owner"] is None and released["release_reason"] == "not ours"
    assert trailers(store, "Salesctl-Action") == ["customer.release"]
    [claimed] = ok(cli, "--as", "bob", "customer", "claim", customer["id"])
    assert claimed["owner"] == "bob" and claimed["path"].startswith("teams/east/bob/customers/")
    assert trailers(store, "Salesctl-Action") == ["customer.claim"]
    assert cli("--as", "alice", "customer", "claim", customer["id"]).code == 1  # not in the pool

    # The config caps owned records at 5 (pool.max_owned_leads).
    pooled = [add_customer(cli, "dana", f"P{i}", "--pool")["id"] for i in range(5)]
    before = snapshot(store)
    over = cli("--as", "bob", "customer", "claim", *pooled)
    assert over.code == 3 and "cap" in over.err
    assert snapshot(store) == before


def test_assigning_a_customer_takes_all_its_deals_along(store: Path, cli: Any) -> None:
    """Won deals too (issue 13): the new owner holds the whole relationship, and its credit
    (tests/test_customer_moves.py covers contracts and the converted lead)."""
    customer = add_customer(cli, "alice", "Moving Co")
    deal = ("--as", "alice", "deal", "add", customer["id"], "--close", "2026-12-31")
    open_deal = ok(cli, *deal, "--title", "Open", "--amount", "100", "--stage", "proposal")
    won_deal = ok(cli, *deal, "--title", "Won", "--amount", "200", "--stage", "proposal")
    ok(cli, "--as", "alice", "deal", "move", won_deal["id"], "--stage", "won")
    before = commits(store)
    ok(cli, "--as", "lee", "customer", "assign", customer["id"], "--to", "bob")
    assert commits(store) == before + 1
    moved = ok(cli, "--as", "bob", "deal", "show", open_deal["id"])
    assert moved["owner"] == "bob"
    assert moved["path"].startswith("teams/east/bob/deals/")
    won = ok(cli, "--as", "bob", "deal", "show", won_deal["id"])
    assert won["owner"] == "bob" and won["stage"] == "won"
    assert {open_deal["id"], won_deal["id"]} <= set(trailers(store, "Salesctl-Record"))
    assert cli("check").code == 0


def test_customers_are_warned_before_a_reclaim_like_leads(store: Path, cli: Any) -> None:
    """The shared reclaim verb: --warn-days works for customers too and changes nothing."""
    made = cli("--as", "alice", "customer", "add", "--name", "Idle Co", "-f", "json")
    assert made.code == 0, made.err
    before = git(store, "rev-parse", "HEAD")
    warned = cli(
        "--as", "dana", "customer", "reclaim", "--idle-days", "1", "--warn-days", "3", "-f", "json"
    )
    assert warned.code == 0, warned.err
    assert [item["id"] for item in warned.json()["alice"]] == [made.json()["id"]]
    assert git(store, "rev-parse", "HEAD") == before


def test_a_converted_customer_shows_the_leads_follow_ups_from_the_first_touch(
    store: Path, cli: Any
) -> None:
    """Issue 13: converting keeps the relationship whole: ``customer show`` lists the lead's
    follow-ups (their record is the lead) with the customer's own, newest first; a member
    who may not read the lead does not get them through the customer."""
    a = ("--as", "alice")
    lead = cli(*a, "lead", "add", "--company", "First Touch", "-f", "json").json()["id"]
    assert (
        cli(*a, "followup", "add", lead, "--text", "cold call", "--at", "2026-11-01 10:00").code
        == 0
    )
    made = cli(*a, "lead", "convert", lead, "-f", "json").json()
    customer = made["customer"]["id"]
    assert (
        cli(*a, "followup", "add", customer, "--text", "kick-off", "--at", "2026-11-20 10:00").code
        == 0
    )
    shown = cli(*a, "customer", "show", customer, "-f", "json").json()
    assert [(f["text"], f["record"]) for f in shown["followups"]] == [
        ("kick-off", customer),
        ("cold call", lead),
    ]
    assert cli("--as", "lee", "customer", "show", customer, "-f", "json").json()["followups"]
    assert cli("--as", "lee", "customer", "assign", customer, "--to", "bob").code == 0
    bobs = cli("--as", "bob", "customer", "show", customer, "-f", "json").json()
    assert [f["text"] for f in bobs["followups"]] == ["kick-off", "cold call"]  # lead came too
    assert cli("--as", "dana", "lead", "assign", lead, "--to", "nora").code == 0
    bobs = cli("--as", "bob", "customer", "show", customer, "-f", "json").json()
    assert [f["text"] for f in bobs["followups"]] == ["kick-off"]  # the lead is north's now


def test_a_reclaimed_customer_takes_the_lead_it_was_converted_from(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reclaim returns a customer to the pool as release does: with its converted lead, in
    the same commit (left behind, the lead stayed with the rep who lost the customer)."""
    lead = cli("--as", "alice", "lead", "add", "--company", "Idle Lead Co", "-f", "json").json()
    converted = cli("--as", "alice", "lead", "convert", lead["id"], "-f", "json")
    assert converted.code == 0, converted.err
    customer = converted.json()["customer"]["id"]
    monkeypatch.setenv("SALESCTL_NOW", "2027-01-20T10:00:00+08:00")  # two months idle
    before = git(store, "rev-parse", "HEAD").strip()
    res = cli("--as", "dana", "customer", "reclaim", "--idle-days", "30", "-f", "json")
    assert res.code == 0, res.err
    assert customer in [item["id"] for item in res.json()["reclaimed"]]
    assert git(store, "rev-parse", "HEAD~1").strip() == before  # one commit
    assert (store / "pool" / "customers" / customer).is_dir()
    assert (store / "pool" / "leads" / lead["id"] / "lead.yaml").is_file()
    assert not list(store.glob(f"teams/*/alice/leads/{lead['id']}"))
