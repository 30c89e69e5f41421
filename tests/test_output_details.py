"""What reading commands print around the records: a warning for a record shown despite its
problems, YAML dates written as dates, the history table's row count, and dupes' owner key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git


def add_lead(cli: Any, actor: str, company: str, *extra: str) -> dict[str, Any]:
    res = cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json")
    assert res.code == 0, res.err
    return res.json()


def hand_edit(store: Path, path: str, old: str, new: str) -> None:
    file = store / path
    file.write_text(file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qam", "edit")


def broken_lead(store: Path, cli: Any) -> dict[str, Any]:
    """A lead hand-edited to fail the schema (the field test's: a bad date, an unknown field)."""
    lead = add_lead(cli, "alice", "Broken Dates Co")
    created = f"created: {lead['created']}\n"
    hand_edit(store, lead["path"], created, "created: notadate\nbogus_field: 1\n")
    return lead


WARNING = "warning: {id} has problems: created: 'notadate' is not a date"


def test_show_warns_of_a_record_with_problems(store: Path, cli: Any) -> None:
    lead = broken_lead(store, cli)
    for fmt in ("table", "json", "yaml", "csv"):
        shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", fmt)
        assert shown.code == 0, shown.err
        [line] = shown.err.splitlines()
        assert line.startswith(WARNING.format(id=lead["id"])), (fmt, shown.err)
        assert "bogus_field: unknown field" in line and line.endswith("(see `salesctl check`)")
    data = cli("--as", "alice", "lead", "show", lead["id"], "-f", "json").json()
    assert "problems" not in data and "created" not in data  # JSON keys as before


def test_list_warns_once_per_record_with_problems(store: Path, cli: Any) -> None:
    lead = broken_lead(store, cli)
    fine = add_lead(cli, "alice", "Fine Co")
    for fmt in ("table", "json", "yaml", "csv"):
        listed = cli("--as", "alice", "lead", "list", "-f", fmt)
        assert listed.code == 0, listed.err
        [line] = listed.err.splitlines()
        assert line.startswith(WARNING.format(id=lead["id"])), (fmt, listed.err)
    rows = {r["id"]: r for r in cli("--as", "alice", "lead", "list", "-f", "json").json()}
    assert rows[lead["id"]]["problems"][0].startswith("created: 'notadate' is not a date")
    assert "problems" not in rows[fine["id"]]


def test_show_and_list_of_sound_records_warn_of_nothing(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Fine Co")
    assert cli("--as", "alice", "lead", "show", lead["id"]).err == ""
    assert cli("--as", "alice", "lead", "list").err == ""
