"""What reading commands print around the records: a warning for a record shown despite its
problems, YAML dates written as dates, the history table's row count, and dupes' owner key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from conftest import git

from salesctl import clock


def ok(res: Any) -> Any:
    assert res.code == 0, res.err
    return res


def add_lead(cli: Any, actor: str, company: str, *extra: str) -> dict[str, Any]:
    return ok(cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json")).json()


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


def test_yaml_writes_dates_as_dates_and_text_as_text(store: Path, cli: Any) -> None:
    """``-f yaml`` writes dates unquoted as the store's own files do (a YAML reader gets a
    date); a company or tag that reads like a date stays text."""
    today = clock.today().isoformat()
    lead = add_lead(cli, "alice", today, "--tag", today)
    res = cli("--as", "alice", "followup", "add", lead["id"], "--text", "Called", "-f", "json")
    assert res.code == 0, res.err
    shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", "yaml")
    assert shown.code == 0, shown.err
    assert f"\ncreated: {today}\n" in shown.out
    data = yaml.safe_load(shown.out)
    assert data["created"] == clock.today() and data["stages"]["new"] == clock.today()
    assert isinstance(data["followups"][0]["at"], dt.datetime)
    assert data["company"] == today and data["tags"] == [today]
    [row] = yaml.safe_load(cli("--as", "alice", "lead", "list", "-f", "yaml").out)
    assert row["created"] == clock.today() and row["company"] == today


def test_dupes_json_gives_a_pool_record_a_null_owner(store: Path, cli: Any) -> None:
    """``owner`` is a member id or null in the pool, as in every record's JSON (SPEC §5)."""
    mine = add_lead(cli, "alice", "Twin Trading Co")
    allowed = ("--allow-duplicate", "--reason", "made for this test")
    pooled = ok(
        cli("--as", "dana", "lead", "add", "--company", "Twin Trading Ltd", "--pool", *allowed,
            "-f", "json")
    ).json()  # fmt: skip
    [group] = ok(cli("--as", "dana", "dupes", "-f", "json")).json()
    owners = {r["id"]: r["owner"] for r in group["records"]}
    assert owners == {mine["id"]: "alice", pooled["id"]: None}
    listed = {r["id"]: r["owner"] for r in ok(cli("--as", "dana", "lead", "list")).json()}
    assert listed[pooled["id"]] is None


def test_history_table_counts_entries_not_lines(store: Path, cli: Any) -> None:
    """An entry of several field changes takes a line for each; the footer counts entries."""
    lead = add_lead(cli, "alice", "History Co")
    ok(cli("--as", "lee", "lead", "assign", lead["id"], "--to", "bob"))  # owner + assigned
    ok(cli("--as", "bob", "lead", "edit", lead["id"], "--set", "notes=n", "--set", "source=web"))
    entries = ok(cli("--as", "bob", "history", lead["id"], "-f", "json")).json()
    table = ok(cli("--as", "bob", "history", lead["id"], "-f", "table")).out.splitlines()
    assert len(entries) == 3 and len(table) > 2 + 3 + 1  # header, rule, continuation lines
    assert table[-1] == "(3 entries)"
