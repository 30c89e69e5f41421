"""Phone numbers (issue 13): a new number from the CLI, an import or a webhook must be a real
number of the org's ``region`` (libphonenumber's data) or carry its country code; what the
person typed is kept as typed. A number already in a file is checked for its shape only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git

ACCEPTED = ["+1 (415) 555-0134 ext. 12", "138 0013 8000", "021-6888 8888", "(415) 555-0134"]


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


@pytest.mark.parametrize("phone", ACCEPTED)
def test_a_new_lead_keeps_the_number_as_typed(store: Path, cli: Any, phone: str) -> None:
    added = cli(
        "--as", "alice", "lead", "add", "--company", "Tel Co", "--phone", phone, "-f", "json"
    )
    assert added.code == 0, added.err
    lead = added.json()
    assert lead["phone"] == phone
    shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", "json").json()
    assert shown["phone"] == phone
    assert cli("check").code == 0


def test_a_number_too_short_for_the_region_is_refused_and_nothing_changes(
    store: Path, cli: Any
) -> None:
    before = head(store)
    refused = cli("--as", "alice", "lead", "add", "--company", "Tel Co", "--phone", "1381234")
    assert refused.code == 1
    assert refused.err.startswith("error: --phone: '1381234' is not a valid phone number in CN")
    assert head(store) == before and "Traceback" not in refused.err
    added = cli("--as", "alice", "lead", "add", "--company", "Tel Co", "-f", "json").json()
    edit = cli("--as", "alice", "lead", "edit", added["id"], "--set", "phone=1381234")
    assert edit.code == 1 and "phone: '1381234' is not a valid phone number" in edit.err
    edited = cli("--as", "alice", "lead", "edit", added["id"], "--set", "phone=(415) 555-0134")
    assert edited.code == 0, edited.err


def test_a_contact_phone_is_checked_too(store: Path, cli: Any) -> None:
    customer = cli("--as", "alice", "customer", "add", "--name", "Tel Co", "-f", "json").json()
    args = ("--as", "alice", "contact", "add", customer["id"], "--name", "Wei")
    assert cli(*args, "--phone", "1381234").code == 1
    assert cli(*args, "--phone", "+49 30 901820").code == 0  # another country's, with its code


def test_an_import_names_the_row_of_a_bad_number_and_imports_nothing(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "Company,Phone\nGood Co,(415) 555-0134\nAlso Co,138 0013 8000\nBad Co,1381234\n", "utf-8"
    )
    before = head(store)
    result = cli("--as", "alice", "lead", "import", str(csv))
    assert result.code == 1
    assert "row 4: Phone: '1381234' is not a valid phone number in CN" in result.err
    assert head(store) == before
    csv.write_text("Company,Phone\nGood Co,(415) 555-0134\n", "utf-8")
    assert cli("--as", "alice", "lead", "import", str(csv)).code == 0


def test_the_region_says_where_a_number_without_a_country_code_is(store: Path, cli: Any) -> None:
    config = store / "salesctl.yaml"
    original = config.read_text("utf-8")
    config.write_text(original + "region: US\n", "utf-8")
    us = ("--as", "alice", "lead", "add", "--name", "Wei", "--phone")  # no company: two leads
    assert cli(*us, "(415) 555-0134").code == 0
    assert cli(*us, "138 0013 8000").code == 1  # a Chinese mobile number is not a US one
    assert cli(*us, "+86 138 0013 8000").code == 0
    config.write_text(original + "region: USA\n", "utf-8")
    problems = cli("check", "-f", "json")
    assert problems.code == 1
    assert any(p["field"] == "region" for p in problems.json())


def test_a_hand_written_number_is_checked_for_its_shape_only(store: Path, cli: Any) -> None:
    added = cli("--as", "alice", "lead", "add", "--company", "Tel Co", "-f", "json").json()
    (path,) = store.glob(f"teams/*/alice/leads/{added['id']}/lead.yaml")
    text = path.read_text("utf-8")
    path.write_text(text + "phone: +86 154 7204 9538\n", "utf-8")  # well formed, unallocated
    assert cli("check").code == 0
    path.write_text(text + "phone: call me\n", "utf-8")
    bad = cli("check")
    assert bad.code == 1 and "is not a phone number" in bad.out + bad.err
