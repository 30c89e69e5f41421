"""Every write is checked as ``check`` checks: no command commits a record ``check`` refuses,
and text that is not UTF-8 (argv bytes, JSON's lone surrogates) is an error naming the
argument or row, never a crash. A refusal changes nothing: same HEAD, clean work tree.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, salesctl_subprocess

from salesctl import clock, yamlio
from salesctl.errors import Invalid
from salesctl.ids import new_id
from salesctl.model.kinds import DEAL, LEAD, OKR
from salesctl.ops.collab.check import check_store
from salesctl.store.layout import POOL, Owner, RecordPath, record_file
from salesctl.store.store import Store
from salesctl.store.validation import InvalidRecord

NOT_UTF8 = os.fsdecode(b"\xff")  # how Python hands over an argv byte that is not UTF-8


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def snapshot(root: Path) -> tuple[str, str]:
    """What a refused command must leave as it was: HEAD and the work tree."""
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain", "--untracked-files=all"),
    )


def refused(cli: Any, root: Path, *args: str) -> str:
    """Run a command that must fail with exit 1 and change nothing; its error line."""
    before = snapshot(root)
    result = cli(*args)
    assert result.code == 1, (result.out, result.err)
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert "internal error" not in result.err
    assert snapshot(root) == before
    return str(result.err)


def store_is_valid(cli: Any) -> None:
    result = cli("check", "-f", "json")
    assert result.code == 0, result.out + result.err


@pytest.fixture
def alice_lead(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "lead", "add", "--company", "Acme")["id"])


@pytest.fixture
def alice_customer(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "customer", "add", "--name", "Globex")["id"])


# -- 5. blank titles and oversized records: refused like `check` refuses them ---------------


def test_lead_convert_with_a_blank_deal_title_is_refused(
    store: Path, cli: Any, alice_lead: str
) -> None:
    err = refused(
        cli, store, "--as", "alice", "lead", "convert", alice_lead, "--deal", " ", "--amount", "100"
    )
    assert "title" in err
    store_is_valid(cli)


def test_deal_add_with_a_blank_title_is_refused(store: Path, cli: Any, alice_customer: str) -> None:
    err = refused(cli, store, "--as", "alice", "deal", "add", alice_customer, "--title", " ",
                  "--amount", "5")  # fmt: skip
    assert "title" in err
    store_is_valid(cli)


def test_okr_with_a_blank_objective_is_refused(store: Path, cli: Any) -> None:
    err = refused(cli, store, "--as", "alice", "okr", "add", "--period", "2026-Q4",
                  "--objective", " ")  # fmt: skip
    assert "objective" in err
    store_is_valid(cli)


def test_key_result_with_a_blank_title_is_refused(store: Path, cli: Any) -> None:
    okr = ok(cli, "--as", "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow")
    err = refused(cli, store, "--as", "alice", "okr", "kr", "add", okr["id"], "--title", " ",
                  "--target", "5")  # fmt: skip
    assert "key_results[1].title" in err
    store_is_valid(cli)


def test_lead_import_of_an_oversized_row_names_the_row(store: Path, cli: Any) -> None:
    rows = [
        {"company": "Small Co"},
        {"company": "Big Notes Co", "notes": "x" * (yamlio.MAX_FILE_BYTES + 50_000)},
    ]
    (store.parent / "big.json").write_text(json.dumps(rows), encoding="utf-8")
    err = refused(cli, store, "--as", "alice", "lead", "import", str(store.parent / "big.json"))
    assert "row 2: notes:" in err
    store_is_valid(cli)


def test_blank_text_is_missing_text(store: Path) -> None:
    """Kind.normalise's canonical data holds nothing it would call missing on a re-read."""
    deal = {"schema_version": 1, "customer": "C-1", "title": " ", "amount": 5, "stage": "lead",
            "created": dt.date(2026, 1, 1)}  # fmt: skip
    _data, problems = DEAL.normalise(deal, "deal.yaml")
    assert [(p.field, p.message) for p in problems] == [("title", "is required")]
    okr = {"schema_version": 1, "period": "2026-Q4", "owner": "alice", "objective": "Grow",
           "key_results": [{"id": "KR1", "title": "\t", "target": 5}],
           "created": dt.date(2026, 1, 1)}  # fmt: skip
    _data, problems = OKR.normalise(okr, "okr.yaml")
    assert [p.field for p in problems] == ["key_results[1].title"]
    lead = {"schema_version": 1, "company": "Acme", "source": "  ", "stage": "new",
            "created": dt.date(2026, 1, 1)}  # fmt: skip
    data, problems = LEAD.normalise(lead, "lead.yaml")
    assert problems == [] and "source" not in data


# -- the one check in the write path ---------------------------------------------------------


def _lead(**fields: Any) -> dict[str, Any]:
    return {"schema_version": 1, "company": "Acme", "stage": "new", "created": clock.today(),
            **fields}  # fmt: skip


def _pool_lead() -> RecordPath:
    lead_id = new_id("L")
    return RecordPath(record_file(POOL, LEAD, lead_id), LEAD, lead_id, POOL)


def _staging(root: Path, stage: Callable[[Any], None]) -> InvalidRecord:
    """Stage through a transaction directly (no op's own validation): must be refused, with
    nothing written or committed."""
    store = Store(root)
    before = snapshot(root)
    actor = store.identify("alice")
    with pytest.raises(InvalidRecord) as caught, store.transaction(actor, "lead.add") as tx:
        stage(tx)
    assert snapshot(root) == before
    return caught.value


def test_a_transaction_refuses_a_record_check_would_refuse(store: Path) -> None:
    loc = _pool_lead()
    cases = {
        "stage": _lead(stage="no-such-stage"),
        "created": _lead(created=None),
        "colour": _lead(colour="red"),
        "participants": _lead(participants=["nobody"]),
        "notes": _lead(notes="x" * (yamlio.MAX_FILE_BYTES + 1)),
        "company": _lead(company="Acme \ud800"),
    }
    for field, data in cases.items():
        error = _staging(store, lambda tx, data=data: tx.write(loc, data))
        assert [p.field for p in error.problems] == [field]
        assert error.problems[0].where == loc.path


def test_a_transaction_checks_record_bytes_and_owner_directories(store: Path) -> None:
    loc = _pool_lead()
    stranger = Owner(member="zed", team="east")
    stray_id = new_id("L")
    stray = RecordPath(record_file(stranger, LEAD, stray_id), LEAD, stray_id, stranger)
    # Bytes staged as they are (the webhook's previewed lead) are parsed as `check` would.
    store_ = Store(store)
    with pytest.raises(Invalid), store_.transaction(store_.identify("alice"), "lead.add") as tx:
        tx.write_file(loc.path, b"company: [unclosed\n")
    error = _staging(store, lambda tx: tx.write_file(loc.path, b"schema_version: 1\n"))
    assert {p.field for p in error.problems} == {"stage", "created", "company"}  # or a name
    error = _staging(store, lambda tx: tx.write(stray, _lead()))
    assert "zed" in error.problems[0].message
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_transaction_writes_other_files_as_they_are(store: Path, cli: Any) -> None:
    """Attachments, reports and CODEOWNERS are not records: any bytes go."""
    lead_id = ok(cli, "--as", "alice", "lead", "add", "--company", "Acme")["id"]
    store_ = Store(store)
    lead_dir = store_.resolve(lead_id).record_dir
    followup = new_id("F")
    files = {
        f"{lead_dir}/attachments/{followup}/notes.yaml": b"not: [yaml",
        f"{lead_dir}/attachments/{followup}/lead.yaml": b"\xff\xfe",
        "reports/weekly/alice/2026-W47.md": b"# week\n",
        ".github/CODEOWNERS": b"* @dana\n",
    }
    with store_.transaction(store_.identify("alice"), "lead.add") as tx:
        for path, content in files.items():
            tx.write_file(path, content)
    assert tx.commit_id is not None
    assert set(git(store, "show", "--name-only", "--format=", "HEAD").split()) == set(files)
    for path, content in files.items():
        assert (store / path).read_bytes() == content


def test_the_write_check_and_check_find_the_same_problems(store: Path, cli: Any) -> None:
    """The same rules: a record committed by hand, then `check`, names what a write of the
    same data is refused for."""
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Globex")["id"]
    owner = Owner(member="alice", team="east")
    deal_id = new_id("D")
    loc = RecordPath(record_file(owner, DEAL, deal_id), DEAL, deal_id, owner)
    deal = {"schema_version": 1, "customer": customer, "title": "", "amount": "-5",
            "stage": "nowhere", "created": clock.today(), "colour": "red"}  # fmt: skip
    error = _staging(store, lambda tx: tx.write(loc, deal))
    (store / loc.path).parent.mkdir(parents=True)
    (store / loc.path).write_text(yaml.safe_dump(deal), encoding="utf-8")
    found = [p for p in check_store(Store(store)) if p.where.split(":")[0] == loc.path]
    assert sorted(p.field or "" for p in found) == sorted(p.field or "" for p in error.problems)
    assert {p.field for p in found} == {"title", "amount", "stage", "colour"}


# -- 6. text that is not UTF-8 ---------------------------------------------------------------


def _argv_cases(lead: str, customer: str, deal: str) -> dict[str, list[str]]:
    """Each command that writes text, with a non-UTF-8 byte in one text argument."""
    when = f"{clock.today() + dt.timedelta(days=1)} 10:00"
    return {
        "--company": ["lead", "add", "--company", f"Acme {NOT_UTF8}"],
        "--name": ["customer", "add", "--name", NOT_UTF8],
        "--reason": ["deal", "move", deal, "--stage", "lost", "--reason", f"price{NOT_UTF8}"],
        "--text": ["followup", "add", lead, "--text", NOT_UTF8],
        "--place": ["visit", "add", customer, "--at", when, "--place", NOT_UTF8],
        "--title": ["task", "add", "--title", NOT_UTF8],
        "--tag": ["lead", "add", "--company", "Acme", "--tag", "ok", "--tag", NOT_UTF8],
    }


def test_non_utf8_arguments_name_the_argument(
    store: Path, cli: Any, alice_lead: str, alice_customer: str
) -> None:
    deal = ok(cli, "--as", "alice", "deal", "add", alice_customer, "--title", "ERP",
              "--amount", "100")["id"]  # fmt: skip
    for option, args in _argv_cases(alice_lead, alice_customer, deal).items():
        err = refused(cli, store, "--as", "alice", *args)
        assert f"argument {option} " in err, err
        assert "0xff" in err
    err = refused(cli, store, "--as", "alice", "followup", "add", f"L-{NOT_UTF8}", "--text", "hi")
    assert "argument record_id " in err
    store_is_valid(cli)


def test_non_utf8_bytes_in_a_real_argv(store: Path, cli: Any, alice_lead: str) -> None:
    before = snapshot(store)
    done = salesctl_subprocess("--as", "alice", "followup", "add", alice_lead, "--text", NOT_UTF8)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: argument --text ") and "Traceback" not in done.stderr
    assert snapshot(store) == before


def test_a_file_name_that_is_not_utf8_still_works(store: Path, cli: Any) -> None:
    """File names may be any bytes (a GBK name from a Windows zip): only text is refused."""
    path = store.parent / os.fsdecode(b"leads-\xb5\xe7.csv")
    path.write_text("Company\nAcme\n", encoding="utf-8")
    result = ok(cli, "--as", "alice", "lead", "import", str(path))
    assert len(result["created"]) == 1


def test_lead_import_of_lone_surrogates_names_row_and_field(store: Path, cli: Any) -> None:
    text = '[{"company": "Good"}, {"company": "Sur \\ud800"}, {"Sur \\udfff": "x", "company": "Z"}]'
    (store.parent / "sur.json").write_text(text, encoding="utf-8")
    err = refused(cli, store, "--as", "alice", "lead", "import", str(store.parent / "sur.json"))
    assert "row 2: company:" in err
    assert "row 3: Sur \\udfff:" in err
    store_is_valid(cli)
