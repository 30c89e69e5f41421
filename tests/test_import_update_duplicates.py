"""``lead import --update`` holds each updated row to the duplicate guard ``lead edit`` has
(field test: an update could give a lead another record's company, phone or email). A row
that would is reported by number like any other bad row, and nothing is imported; the keys
are those the file's one index lookup found, plus what the file's own rows bring in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

PHONE = "13800138000"


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


def add_lead(cli: Any, actor: str, *args: str) -> str:
    return str(ok(cli("--as", actor, "lead", "add", *args, "-f", "json"))["id"])


def csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text("Company,Email,Phone,Lead Source\n" + "".join(f"{r}\n" for r in rows), "utf-8")
    return path


def refused_import(store: Path, cli: Any, path: Path) -> list[str]:
    """An ``--update`` import refused with exit 1, nothing written; its row lines."""
    before = git(store, "rev-parse", "HEAD"), git(store, "status", "--porcelain")
    result = cli("--as", "dana", "lead", "import", str(path), "--update")
    assert result.code == 1, (result.out, result.err)
    assert (git(store, "rev-parse", "HEAD"), git(store, "status", "--porcelain")) == before
    first, *details = result.err.splitlines()
    assert first.startswith("error: leads.csv: ") and "nothing was imported" in first
    assert "Traceback" not in result.err
    return [line.strip() for line in details]


@pytest.fixture
def leads(store: Path, cli: Any) -> dict[str, str]:
    """alice's Known Co, bob's Beta Corp (email and phone), and a lead in the pool."""
    return {
        "known": add_lead(cli, "alice", "--company", "Known Co", "--email", "k@known.example"),
        "beta": add_lead(cli, "bob", "--company", "Beta Corp", "--email", "b@beta.example",
                         "--phone", PHONE),
        "pooled": add_lead(cli, "dana", "--company", "Pooled Ltd", "--pool"),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("row", "field", "holder", "owner"),
    [
        ("Known Co,b@beta.example,,Expo", "email", "beta", "(owner bob)"),
        ("Known Co,,+86 138 0013 8000,Expo", "phone", "beta", "(owner bob)"),
        ("Beta Corp,k@known.example,,Expo", "email", "known", "(owner alice)"),
        ("Pooled Ltd,k@known.example,,Expo", "email", "known", "(owner alice)"),
        ("Known Co,z@pooled.example,,Expo", None, None, None),  # nobody has these: updated
    ],
)
def test_an_update_that_takes_another_records_key_is_refused_by_row(
    store: Path,
    cli: Any,
    tmp_path: Path,
    leads: dict[str, str],
    row: str,
    field: str | None,
    holder: str | None,
    owner: str | None,
) -> None:
    path = csv(tmp_path, "Fresh Co,f@fresh.example,,Web", row)
    if field is None:
        summary = ok(cli("--as", "dana", "lead", "import", str(path), "--update", "-f", "json"))
        assert summary["updated"] == [leads["known"]] and len(summary["created"]) == 1
        return
    [line] = refused_import(store, cli, path)
    assert line.startswith(f"row 3: {field}: a lead with this {field} already exists: ")
    assert f"{leads[holder or '']} {owner}" in line
    assert "--allow-duplicate --reason" in line and "lead edit" in line


def test_an_update_whose_key_a_new_row_or_another_update_brings_is_refused(
    store: Path, cli: Any, tmp_path: Path, leads: dict[str, str]
) -> None:
    path = csv(
        tmp_path,
        "Fresh Co,f@fresh.example,13911112222,Web",  # row 2: a new lead
        "Known Co,,139 1111 2222,Expo",  # row 3: its phone, to an existing lead
        "Known Co,,13700000001,Expo",  # row 4: a new phone for Known Co ...
        "Beta Corp,,,Expo",
        "Pooled Ltd,,13700000001,Expo",  # row 6: ... and the same for Pooled Ltd
    )
    lines = refused_import(store, cli, path)
    assert lines == [
        f"row 3: phone: row 2 of this file adds a lead with it; the row updates {leads['known']}: "
        f"fix the row, or a lead or director may set it with `salesctl lead edit "
        f"{leads['known']} --set ... --allow-duplicate --reason TEXT`",
        f"row 6: phone: row 4 of this file gives it to {leads['known']}; the row updates "
        f"{leads['pooled']}: fix the row, or a lead or director may set it with `salesctl lead "
        f"edit {leads['pooled']} --set ... --allow-duplicate --reason TEXT`",
    ]


def test_an_update_keeps_the_keys_a_lead_had_and_refused_rows_are_all_listed(
    store: Path, cli: Any, tmp_path: Path, leads: dict[str, str]
) -> None:
    """A lead's own keys are never its duplicates (it was added with them), and a bad row of
    another kind is listed beside a duplicate: one run tells every row to fix."""
    same = csv(tmp_path, "Beta Corp,B@Beta.example,+86 13800138000,Web")
    summary = ok(cli("--as", "dana", "lead", "import", str(same), "--update", "-f", "json"))
    assert summary["updated"] == [leads["beta"]]
    lead_file = next(store.glob(f"teams/*/bob/leads/{leads['beta']}/lead.yaml"))
    assert yaml.safe_load(lead_file.read_text("utf-8"))["source"] == "Web"

    path = csv(tmp_path, "Known Co,b@beta.example,,Expo", "Odd Co,not-an-email,,Expo")
    lines = refused_import(store, cli, path)
    assert [line.split(":")[0] for line in lines] == ["row 2", "row 3"]
    assert lines[1].startswith("row 3: Email: ")


def test_the_override_the_refusal_names_works(
    store: Path, cli: Any, tmp_path: Path, leads: dict[str, str]
) -> None:
    args = ("lead", "edit", leads["known"], "--set", "email=b@beta.example")
    assert cli("--as", "alice", *args).code == 1  # the guard of lead edit, as import's
    ok(cli("--as", "lee", *args, "--allow-duplicate", "--reason", "their shared inbox", "-fjson"))
