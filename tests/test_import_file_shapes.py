"""``lead import`` of the files people actually have (QA findings 4, 6, 7, 13): tab- and
semicolon-separated exports are read by their header's separator (an ambiguous header is
refused), two columns mapped to one field are refused, an Excel workbook or UTF-16 file is
named for what it is, a closing stage in a row is that row's problem, and a row refused for
permission is named by its number. Files are built in ``tmp_path``; each refusal leaves
HEAD and ``git status`` as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import git


def state(store: Path) -> tuple[str, str]:
    status = git(store, "status", "--porcelain", "--untracked-files=all")
    return git(store, "rev-parse", "HEAD").strip(), status


def commits(store: Path) -> int:
    return int(git(store, "rev-list", "--count", "HEAD").strip())


def refused(cli: Any, store: Path, code: int, *args: str) -> str:
    before = state(store)
    result = cli(*args)
    assert result.code == code, (result.out, result.err)
    assert state(store) == before
    assert "Traceback" not in result.err and "internal error" not in result.err
    return str(result.err)


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
