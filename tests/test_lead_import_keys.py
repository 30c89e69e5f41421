"""The duplicate keys of every lead, looked up in the index (``dupkeys``), as import uses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git

from salesctl.model.values import normalise_company
from salesctl.ops.sales.dupguard import first_holders
from salesctl.ops.sales.lead_import import duplicate_keys
from salesctl.store.store import Store

KEYS = ["e:wei@acme.example", "d:acme.example", "p:+8613800138000", "c:acme", "c:beta"]


def existing_keys(store: Store, keys: list[str] = KEYS) -> dict[str, str]:
    return {key: holder.id for key, holder in first_holders(store, keys).items()}


def add_lead(cli: Any, company: str, *extra: str) -> str:
    result = cli("--as", "alice", "lead", "add", "--company", company, *extra, "-f", "json")
    assert result.code == 0, result.err
    return str(result.json()["id"])


def test_each_key_names_the_first_lead_by_id_that_has_it(store: Path, cli: Any) -> None:
    first = add_lead(
        cli, "Acme Ltd", "--email", " Wei@Acme.Example", "--phone", "+86 138-0013-8000"
    )
    second = cli("--as", "lee", "lead", "add", "--company", "ACME", "--email", "wei@acme.example",
                 "--phone", "13800138000", "--to", "alice", "--allow-duplicate", "--reason",
                 "a second office", "-f", "json").json()["id"]  # fmt: skip
    beta = add_lead(cli, "Beta Corp")
    # a hand-edited phone too short to be a key (no command accepts it as a new number)
    (lead_file,) = store.glob(f"teams/*/alice/leads/{beta}/lead.yaml")
    lead_file.write_text(lead_file.read_text("utf-8") + "phone: '12345'\n", "utf-8")

    keys = existing_keys(Store(store))

    acme = min(first, second)
    assert keys["e:wei@acme.example"] == keys["p:+8613800138000"] == keys["c:acme"] == acme
    assert keys["d:acme.example"] == acme
    assert keys["c:beta"] == beta
    assert set(keys) == set(KEYS)
    assert existing_keys(Store(store), ["p:12345"]) == {}


def test_a_lead_committed_by_hand_since_the_last_command_is_found(store: Path, cli: Any) -> None:
    add_lead(cli, "Known Co")
    path = store / "pool" / "leads" / "L-HANDMADE0001" / "lead.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("schema_version: 1\ncompany: Hand Made Ltd\ncreated: 2026-11-01\n")
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "by hand")  # fmt: skip

    keys = existing_keys(Store(store), ["c:hand made", "c:known"])

    assert keys["c:hand made"] == "L-HANDMADE0001"
    assert "c:known" in keys  # "Co" is a legal form, not part of the name


def test_the_keys_of_a_row_are_the_keys_it_is_found_by() -> None:
    row = {"email": "A@B.example ", "phone": "0086 138 0013 8000", "company": "Kite Co., Ltd."}
    assert duplicate_keys(row, "CN") == [
        "c:kite", "e:a@b.example", "d:b.example", "p:+8613800138000"
    ]  # fmt: skip
    assert duplicate_keys({"company": "Ltd"}, "CN") == ["c:ltd"]
    assert duplicate_keys({}, "CN") == []


def test_update_skips_a_row_that_repeats_a_new_row_and_updates_an_existing_lead(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    known = add_lead(cli, "Known Co", "--email", "known@known.example")
    src = tmp_path / "leads.csv"
    src.write_text(
        "Company,Email,Lead Source\n"
        "New Co,new@new.example,Expo\n"
        "New Co Ltd,NEW@new.example,Web\n"  # row 3 repeats row 2, new in this file
        "Known Co,known@known.example,Web\n",  # row 4: an existing lead, updated
        encoding="utf-8",
    )

    res = cli("--as", "alice", "lead", "import", str(src), "--update", "-f", "json")

    assert res.code == 0, res.err
    summary = res.json()
    [created] = summary["created"]
    assert summary["skipped"] == [{"row": 3, "duplicate_of": created}]
    assert summary["updated"] == [known]


def test_an_import_row_for_a_company_that_is_already_a_customer_is_a_duplicate(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    """The 撞单 of the field test: a customer's name, with another legal form or in
    full-width letters, or one of its contacts' phones, is a duplicate, skipped (or, with
    --update, still skipped: an import never rewrites a customer)."""
    customer = cli("--as", "bob", "customer", "add", "--name", "青岛新航纺织有限公司", "-f", "json")
    customer_id = customer.json()["id"]
    contact = ("--as", "bob", "contact", "add", customer_id, "--name", "Wang")
    assert cli(*contact, "--phone", "138 0013 8000").code == 0
    src = tmp_path / "leads.csv"
    src.write_text(
        "Company,Phone\n"
        "青岛新航纺织股份有限公司,\n"  # row 2: the same company, another legal form
        "Other Co,+86 138-0013-8000\n"  # row 3: the customer's contact's phone
        "Fresh Co,\n",
        encoding="utf-8",
    )
    for extra in ((), ("--update",)):
        res = cli("--as", "alice", "lead", "import", str(src), *extra, "-f", "json", "--dry-run")
        assert res.code == 0, res.err
        assert res.json()["skipped"] == [
            {"row": 2, "duplicate_of": customer_id},
            {"row": 3, "duplicate_of": customer_id},
        ]
        assert res.json()["updated"] == [] and len(res.json()["created"]) == 1


def test_company_keys_fold_width_case_and_stacked_legal_forms() -> None:
    same = ["Acme Co., Ltd.", "ACME LIMITED", "ａｃｍｅ　ｃｏ．，ｌｔｄ．", "Acme Inc."]
    assert {normalise_company(name) for name in same} == {"acme"}
    chinese = ["青岛新航纺织有限公司", "青岛新航纺织股份有限公司", "（青岛）新航纺织有限公司"]
    assert {normalise_company(name) for name in chinese} == {"青岛新航纺织"}
    assert normalise_company("有限公司") == "有限公司"  # a legal form alone stays a name
    assert normalise_company("Acme Trading") != normalise_company("Acme")
