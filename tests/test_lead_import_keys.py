"""``existing_keys``: the duplicate keys of every lead, read from the index in one query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git

from salesctl.ops.sales.lead_import import duplicate_keys, existing_keys
from salesctl.store.store import Store


def add_lead(cli: Any, company: str, *extra: str) -> str:
    result = cli("--as", "alice", "lead", "add", "--company", company, *extra, "-f", "json")
    assert result.code == 0, result.err
    return str(result.json()["id"])


def test_each_key_names_the_first_lead_by_id_that_has_it(store: Path, cli: Any) -> None:
    first = add_lead(
        cli, "Acme Ltd", "--email", " Wei@Acme.Example", "--phone", "+86 138-0013-8000"
    )
    second = add_lead(cli, "ACME", "--email", "wei@acme.example", "--phone", "13800138000")
    beta = add_lead(cli, "Beta Corp")
    # a hand-edited phone too short to be a key (no command accepts it as a new number)
    (lead_file,) = store.glob(f"teams/*/alice/leads/{beta}/lead.yaml")
    lead_file.write_text(lead_file.read_text("utf-8") + "phone: '12345'\n", "utf-8")

    keys = existing_keys(Store(store))

    acme = min(first, second)
    assert keys["e:wei@acme.example"] == keys["p:13800138000"] == keys["c:acme"] == acme
    assert keys["c:beta"] == beta
    assert set(keys) == {"e:wei@acme.example", "p:13800138000", "c:acme", "c:beta"}


def test_a_lead_committed_by_hand_since_the_last_command_is_found(store: Path, cli: Any) -> None:
    add_lead(cli, "Known Co")
    path = store / "pool" / "leads" / "L-HANDMADE0001" / "lead.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("schema_version: 1\ncompany: Hand Made Ltd\ncreated: 2026-11-01\n")
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "by hand")  # fmt: skip

    keys = existing_keys(Store(store))

    assert keys["c:hand made"] == "L-HANDMADE0001"
    assert "c:known co" in keys


def test_the_keys_of_a_row_are_the_keys_it_is_found_by() -> None:
    row = {"email": "A@B.example ", "phone": "0086 138 0013 8000", "company": "Kite Co., Ltd."}
    assert duplicate_keys(row) == ["e:a@b.example", "p:13800138000", "c:kite"]
    assert duplicate_keys({"company": "Ltd"}) == ["c:ltd"]
    assert duplicate_keys({}) == []


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
