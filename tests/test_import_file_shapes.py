"""``lead import`` of the files people actually have (QA findings 4, 6, 7, 13): tab- and
semicolon-separated exports are read by their header's separator (an ambiguous header is
refused), two columns mapped to one field are refused, an Excel workbook or UTF-16 file is
named for what it is, a closing stage in a row is that row's problem, and a row refused for
permission is named by its number. Files are built in ``tmp_path``; each refusal leaves
HEAD and ``git status`` as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git
from test_lead_input_rules import refused


def commits(store: Path) -> int:
    return int(git(store, "rev-list", "--count", "HEAD").strip())


def imported(cli: Any, store: Path, file: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Import ``file`` as alice: one commit; the leads it wrote, by company."""
    before = commits(store)
    result = cli("--as", "alice", "lead", "import", str(file), *args, "-f", "json")
    assert result.code == 0, result.err
    assert commits(store) == before + 1 and not git(store, "status", "--porcelain")
    written = {}
    for lead_id in result.json()["created"]:
        (path,) = store.glob(f"**/leads/{lead_id}/lead.yaml")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        written[data["company"]] = data
    return written


# -- item 6: the separator -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sep", "suffix"), [("\t", "tsv"), (";", "csv"), (",", "csv"), ("\t", "txt")]
)
def test_the_header_tells_the_separator(
    store: Path, cli: Any, tmp_path: Path, sep: str, suffix: str
) -> None:
    rows = [
        ["company", "name", "phone"],
        ["Sep Trading GmbH", "Hans Müller", "138 0013 8000"],
        ['"Komma, Semikolon; GmbH"', "Eva", ""],
    ]
    file = tmp_path / f"leads.{suffix}"
    file.write_text("\r\n".join(sep.join(row) for row in rows) + "\r\n", encoding="utf-8")
    written = imported(cli, store, file)
    assert written["Sep Trading GmbH"]["name"] == "Hans Müller"
    assert written["Sep Trading GmbH"]["phone"] == "138 0013 8000"
    assert written["Komma, Semikolon; GmbH"]["name"] == "Eva"


def test_a_single_column_file_is_read_as_such(store: Path, cli: Any, tmp_path: Path) -> None:
    file = tmp_path / "one.csv"
    file.write_text("company\nOnly Co\n", encoding="utf-8")
    assert list(imported(cli, store, file)) == ["Only Co"]


@pytest.mark.parametrize("header", ["company;name,phone", "company\tname,phone"])
def test_an_ambiguous_header_is_refused_naming_the_file(
    store: Path, cli: Any, tmp_path: Path, header: str
) -> None:
    file = tmp_path / "mixed.csv"
    file.write_text(f"{header}\nA Co;B,C\n", encoding="utf-8")
    message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(file))
    assert "mixed.csv row 1" in message and "cannot tell which divides the columns" in message


# -- item 7: two columns, one field ----------------------------------------------------------


def test_two_columns_mapped_to_one_field_are_refused(store: Path, cli: Any, tmp_path: Path) -> None:
    file = tmp_path / "m.csv"
    file.write_text("Firma,Kontakt,Mail\nMap Test GmbH,Hans,hans@maptest.de\n", encoding="utf-8")
    a = ("--as", "alice", "lead", "import", str(file))
    message = refused(cli, store, 1, *a, "--map", "Firma=company", "--map", "Kontakt=company")
    assert "error: --map: columns Firma and Kontakt both map to company" in message
    # a mapped column meeting a column named for the field: the same loss, the same refusal
    named = tmp_path / "n.csv"
    named.write_text("Company,Firma\nA Co,B Co\n", encoding="utf-8")
    message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(named),
                      "--map", "Firma=company")  # fmt: skip
    assert "columns Company and Firma both map to company" in message
    assert "map names column 'Firma' twice" in refused(
        cli, store, 1, *a, "--map", "Firma=company", "--map", "Firma=name"
    )
    written = imported(cli, store, file, "--map", "Firma=company", "--map", "Kontakt=name")
    assert written["Map Test GmbH"]["name"] == "Hans"


# -- item 13: files that are not CSV UTF-8 ---------------------------------------------------


def test_an_excel_workbook_is_named_as_one(store: Path, cli: Any, tmp_path: Path) -> None:
    for name, magic in (
        ("leads.xlsx", b"PK\x03\x04"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ):
        file = tmp_path / name
        file.write_bytes(magic + b"\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe" * 20)
        message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(file))
        assert f"{name}: an Excel workbook" in message and "CSV UTF-8" in message
        assert "GBK" not in message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_is_named_as_such(store: Path, cli: Any, tmp_path: Path, encoding: str) -> None:
    file = tmp_path / "unicode.txt"
    body = "company\tname\r\nU16 Co\tA\r\n".encode(encoding)
    file.write_bytes(body if encoding == "utf-16" else b"\xfe\xff" + body)
    message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(file))
    assert "unicode.txt: UTF-16" in message and "CSV UTF-8" in message and "GBK" not in message


# -- item 4: closing stages in rows ----------------------------------------------------------


def test_a_closing_stage_is_a_row_problem(store: Path, cli: Any, tmp_path: Path) -> None:
    file = tmp_path / "s.csv"
    file.write_text(
        "company,name,stage\nOpen Ltd,Z,contacted\nImp Conv Ltd,A,converted\n"
        "Imp Disq Ltd,B,disqualified\nJunk Ltd,C,Junk\n",
        encoding="utf-8",
    )
    message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(file))
    assert "row 3: stage converted is set by converting the lead" in message
    for row in (4, 5):
        assert f"row {row}: stage disqualified needs a reason" in message
    assert "row 2" not in message
    reasons = tmp_path / "r.csv"
    reasons.write_text("company,stage,Why\nGone Ltd,disqualified,closed down\n", encoding="utf-8")
    written = imported(cli, store, reasons, "--map", "Why=reason")
    assert (written["Gone Ltd"]["stage"], written["Gone Ltd"]["reason"]) == (
        "disqualified",
        "closed down",
    )


def test_a_blank_company_cell_is_no_company(store: Path, cli: Any, tmp_path: Path) -> None:
    file = tmp_path / "blank.csv"
    file.write_text('company,name,email\nReal Co,A,\n"  ", ,a@blank.example\n', encoding="utf-8")
    message = refused(cli, store, 1, "--as", "alice", "lead", "import", str(file))
    assert "row 3: needs a company or a name" in message


# -- item 13: a row refused for permission ---------------------------------------------------


def test_a_row_refused_for_permission_is_named_by_its_number(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    file = tmp_path / "owners.csv"
    file.write_text("company,owner\nMine Co,alice\nBobs Co,bob\n", encoding="utf-8")
    message = refused(cli, store, 3, "--as", "alice", "lead", "import", str(file))
    assert "owners.csv row 3" in message and "L-" not in message
