"""The duplicate guard (issue 13 part 4, 查重/撞单): ``lead add``, ``customer add``, ``lead
convert``, ``lead import`` and the webhook check a new record against every lead and customer
in the store, readable or not, by the keys of ``model/dupkeys.py`` kept in the index."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml
from conftest import git
from hypothesis import given
from hypothesis import strategies as st

from salesctl.model.dupkeys import company_key, email_keys, phone_key, record_keys
from salesctl.ops.integrations.intake import Intake

ALLOWED = ("--allow-duplicate", "--reason", "a second branch of the same group")


def added(cli: Any, actor: str, noun: str, *args: str) -> dict[str, Any]:
    result = cli("--as", actor, noun, "add", *args, "-f", "json")
    assert result.code == 0, result.err
    return dict(result.json())


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def refused(cli: Any, store: Path, *args: str) -> str:
    """Run a command that the guard must refuse: exit 1, no commit, no file; its message."""
    before, files = head(store), sorted(store.rglob("*.yaml"))
    result = cli(*args)
    assert result.code == 1, (result.out, result.err)
    assert head(store) == before and sorted(store.rglob("*.yaml")) == files
    return str(result.err)


def test_a_lead_of_a_rep_the_actor_cannot_read_is_named_by_id_and_owner_only(
    store: Path, cli: Any
) -> None:
    noras = added(cli, "nora", "lead", "--company", "青岛新航纺织有限公司", "--name", "Wang Fang",
                  "--phone", "138 0013 8000", "--email", "wang@qinghang.com")  # fmt: skip
    assert cli("--as", "alice", "lead", "show", noras["id"]).code == 3  # nora is in another team

    for dup in (
        ("--company", "青岛新航纺织股份有限公司"),  # another legal form
        ("--name", "Someone", "--phone", "+86 13800138000"),  # another format of the phone
        ("--name", "Someone", "--email", "li@QingHang.com"),  # the company's mail domain
    ):
        message = refused(cli, store, "--as", "alice", "lead", "add", *dup)
        assert noras["id"] in message and "nora" in message
        for secret in ("青岛", "新航", "Wang", "138", "qinghang"):
            assert secret not in message.replace(dup[1], "").replace(dup[-1], "")


def test_a_pool_lead_points_to_claim(store: Path, cli: Any) -> None:
    pooled = added(cli, "lee", "lead", "--company", "Pool Co Ltd", "--pool")
    message = refused(cli, store, "--as", "bob", "lead", "add", "--company", "POOL CO")
    assert f"salesctl lead claim {pooled['id']}" in message


def test_free_mail_domains_are_no_company_but_company_domains_are(store: Path, cli: Any) -> None:
    added(cli, "alice", "lead", "--name", "Zhang", "--email", "zhang@qq.com")
    added(cli, "bob", "lead", "--name", "Li", "--email", "li@qq.com")  # not a duplicate
    added(cli, "alice", "lead", "--name", "Wu", "--email", "wu@gmail.com")
    added(cli, "bob", "lead", "--name", "Ho", "--email", "ho@gmail.com")
    added(cli, "alice", "lead", "--name", "Chen", "--email", "chen@qinghang.com")
    refused(cli, store, "--as", "bob", "lead", "add", "--name", "Ma", "--email", "ma@qinghang.com")
    # the same free-mail address twice is one person
    refused(cli, store, "--as", "bob", "lead", "add", "--name", "Z", "--email", "ZHANG@qq.com")


def test_legal_forms_and_full_width_letters_name_one_company(store: Path, cli: Any) -> None:
    added(cli, "alice", "lead", "--company", "ＡＣＭＥ Co., Ltd.")
    refused(cli, store, "--as", "bob", "lead", "add", "--company", "Acme Inc.")
    refused(cli, store, "--as", "bob", "customer", "add", "--name", "acme")
    added(cli, "bob", "customer", "--name", "青岛新航纺织有限公司")
    refused(cli, store, "--as", "alice", "lead", "add", "--company", "青岛新航纺织股份有限公司")
    refused(cli, store, "--as", "alice", "customer", "add", "--name", "青岛 新航纺织 股份有限公司")


def test_phones_of_two_countries_are_duplicates_across_formats(store: Path, cli: Any) -> None:
    added(cli, "alice", "lead", "--name", "Wang", "--phone", "138 0013 8000")
    refused(cli, store, "--as", "bob", "lead", "add", "--name", "W", "--phone", "+86 13800138000")
    added(cli, "alice", "lead", "--name", "Joe", "--phone", "+1 415-555-0134")
    refused(cli, store, "--as", "bob", "lead", "add", "--name", "J", "--phone", "+1 (415) 555 0134")
    # a US number written the US way, committed by hand while the region is CN: its key in
    # the index is a Chinese one until the region says US
    hand = store / "pool" / "leads" / "L-HANDMADE0001" / "lead.yaml"
    hand.parent.mkdir(parents=True)
    hand.write_text("schema_version: 1\nname: Ann\nphone: (212) 555-0199\nstage: new\n"
                    "created: 2026-11-01\n")  # fmt: skip
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "by hand")  # fmt: skip
    assert cli("--as", "dana", "lead", "list").code == 0  # indexed with region CN
    config = store / "salesctl.yaml"
    config.write_text(config.read_text("utf-8") + "region: US\n", "utf-8")
    message = refused(cli, store, "--as", "bob", "lead", "add", "--name", "A",
                      "--phone", "+1 212 555 0199")  # fmt: skip
    assert "salesctl lead claim L-HANDMADE0001" in message
    refused(cli, store, "--as", "bob", "lead", "add", "--name", "J", "--phone", "(415) 555-0134")


def test_a_customers_contacts_are_its_keys(store: Path, cli: Any) -> None:
    customer = added(cli, "bob", "customer", "--name", "Kite Ltd")
    contact = ("--as", "bob", "contact", "add", customer["id"], "--name", "Wei")
    assert cli(*contact, "--phone", "139 0000 1111", "--email", "wei@kite.example").code == 0
    message = refused(cli, store, "--as", "alice", "lead", "add", "--name", "X",
                      "--phone", "+86 139-0000-1111")  # fmt: skip
    assert customer["id"] in message and "bob" in message


def test_allow_duplicate_is_for_leads_and_directors_and_keeps_the_reason(
    store: Path, cli: Any
) -> None:
    first = added(cli, "alice", "lead", "--company", "Twin Co")
    before = head(store)
    rep = cli("--as", "bob", "lead", "add", "--company", "Twin Co", *ALLOWED)
    assert rep.code == 3 and head(store) == before
    assert cli("--as", "lee", "lead", "add", "--company", "Twin Co", "--allow-duplicate").code == 1
    assert cli("--as", "lee", "lead", "add", "--company", "Twin Co", "--reason", "x").code == 1
    assert head(store) == before

    second = added(cli, "lee", "lead", "--company", "Twin Co", "--to", "bob", *ALLOWED)
    assert second["id"] != first["id"] and second["owner"] == "bob"
    (path,) = store.glob(f"teams/east/bob/leads/{second['id']}/lead.yaml")
    assert yaml.safe_load(path.read_text("utf-8"))["duplicate_reason"] == ALLOWED[-1]
    customer = added(cli, "dana", "customer", "--name", "Twin Co", "--to", "alice", *ALLOWED)
    assert customer["duplicate_reason"] == ALLOWED[-1]
    # no duplicate found: nothing to explain, no reason kept
    fresh = added(cli, "dana", "lead", "--company", "Single Co", *ALLOWED)
    assert "duplicate_reason" not in fresh


def test_convert_is_refused_when_the_company_is_already_a_customer(store: Path, cli: Any) -> None:
    customer = added(cli, "bob", "customer", "--name", "Converted Co Ltd")
    lead = added(cli, "lee", "lead", "--company", "CONVERTED CO", "--to", "alice", *ALLOWED)
    message = refused(cli, store, "--as", "alice", "lead", "convert", lead["id"])
    assert customer["id"] in message and "bob" in message
    # a lead of its own company is no duplicate of itself
    alone = added(cli, "alice", "lead", "--company", "Alone Co", "--phone", "139 1111 2222")
    assert cli("--as", "alice", "lead", "convert", alone["id"]).code == 0
    done = cli("--as", "lee", "lead", "convert", lead["id"], *ALLOWED, "-f", "json")
    assert done.code == 0, done.err
    assert done.json()["customer"]["duplicate_reason"] == ALLOWED[-1]


def test_import_skips_rows_found_in_the_index_by_the_same_keys(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    noras = added(cli, "nora", "lead", "--company", "Nora Co", "--email", "a@nora-co.com")
    src = tmp_path / "leads.csv"
    src.write_text(
        "Company,Email,Phone\n"
        "Other,b@nora-co.com,\n"  # row 2: nora's company domain
        "Free One,x@163.com,\n"  # rows 3 and 4: free mail, two people
        "Free Two,y@163.com,\n",
        encoding="utf-8",
    )
    res = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    assert res.json()["skipped"] == [{"row": 2, "duplicate_of": noras["id"]}]
    assert len(res.json()["created"]) == 2


def test_the_webhook_does_not_create_a_duplicate(store: Path, cli: Any) -> None:
    bobs = added(cli, "bob", "lead", "--company", "Hook Co", "--phone", "+1 415 555 0134")
    customer = added(cli, "alice", "customer", "--name", "Hooked Ltd")
    before = head(store)
    intake = Intake(store, "dana")
    for body, existing, kind in (
        ({"company": "HOOK CO., LTD."}, bobs["id"], "lead"),
        ({"name": "Joe", "phone": "+1 (415) 555-0134 ext. 12"}, bobs["id"], "lead"),
        ({"company": "Hooked Limited"}, customer["id"], "customer"),
    ):
        created, answer = intake.add_lead(body)
        assert not created
        assert answer == {"id": existing, "kind": kind, "duplicate": True}
    assert head(store) == before
    created, answer = intake.add_lead({"company": "New Hook Co"})
    assert created and answer["duplicate"] is False


def test_the_index_keeps_the_keys_in_step_with_edits_and_deletes(store: Path, cli: Any) -> None:
    lead = added(cli, "alice", "lead", "--company", "Renamed Co")
    assert cli("--as", "alice", "lead", "edit", lead["id"], "--set", "company=New Name").code == 0
    added(cli, "bob", "lead", "--company", "Renamed Co")  # the old name is free again
    refused(cli, store, "--as", "bob", "lead", "add", "--company", "New Name Ltd")
    git(store, "rm", "-q", "-r", f"teams/east/alice/leads/{lead['id']}")  # by hand
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qm", "rm")
    added(cli, "bob", "lead", "--company", "New Name Ltd")
    db = sqlite3.connect(store / ".git" / "salesctl" / "index.sqlite")
    assert db.execute(
        "SELECT count(*) FROM dupkeys WHERE path = ?", (lead["path"],)
    ).fetchone() == (0,)


# -- the key normaliser ------------------------------------------------------------------------

# company names as people type them: letters, digits, CJK, spaces, punctuation, legal forms
words = st.sampled_from(
    ["Acme", "kite", "Co.", "Ltd", ",", "Inc", "青岛", "新航", "有限公司", "7", "&"]
)
names = st.lists(words, min_size=1, max_size=6).map(" ".join)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(names)
def test_a_company_key_is_idempotent_and_blind_to_width_case_and_spaces(name: str) -> None:
    key = company_key(name)
    if key is None:  # punctuation alone names no company, however it is written
        assert company_key(full_width(name)) is None
        return
    assert company_key(key[2:]) == key
    assert company_key(full_width(name)) == key
    assert company_key(name.upper()) == company_key(name.lower()) == key
    assert company_key(f"  {name.replace(' ', '   ')}  ") == key


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from([" ", "-", ""]))
def test_a_mobile_number_has_one_key_however_it_is_written(digits: str, sep: str) -> None:
    spaced = sep.join((digits[:3], digits[3:7], digits[7:]))
    keys = {phone_key(x, "CN") for x in (digits, spaced, f"+86 {spaced}", f"0086{digits}")}
    assert len(keys) == 1
    assert phone_key(next(iter(keys))[2:], "US") == next(iter(keys))  # E.164 is its own key


@given(st.emails())
def test_email_keys_are_case_blind_and_name_the_domain_unless_free_mail(address: str) -> None:
    keys = email_keys(address)
    assert keys == email_keys(address.upper()) == email_keys(f" {address} ")
    domain = address.rpartition("@")[2].lower()
    assert (f"d:{domain}" in keys) == (domain not in ("qq.com", "gmail.com", "163.com"))


def test_record_keys_of_a_customer_include_its_contacts() -> None:
    customer = {"name": "Kite GmbH", "contacts": [{"name": "A", "phone": "(415) 555-0134"}]}
    assert record_keys("customer", customer, "US") == ["c:kite", "p:+14155550134"]
    assert record_keys("lead", {"phone": "12"}, "CN") == []  # too short to be anyone's


def test_a_guard_under_the_lock_sees_what_another_command_committed_meanwhile(
    store: Path, cli: Any
) -> None:
    """The webhook looks once before taking the store's lock and once under it, in one
    process: the second look must not trust the first's picture of HEAD."""
    from salesctl.ops.sales.dupguard import holders
    from salesctl.store.store import Store

    opened = Store(store)
    keys = record_keys("lead", {"company": "Race Co"}, "CN")
    assert holders(opened, keys) == []
    racer = added(cli, "bob", "lead", "--company", "Race Co Ltd")  # another command, meanwhile
    assert [h.id for h in holders(opened, keys)] == [racer["id"]]
