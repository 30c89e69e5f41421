"""Hostile record files: explicit YAML tags, half-valid records in aggregates, and files
that are not regular files (a FIFO would block a reader forever).

Each test breaks a store the way a person (or a script) could by hand, then asserts on
exit codes, JSON output and the file named in the problem or warning: ``check`` reports the
file (with its line where there is one), every other reading command skips it with a
warning, and nothing fails with "internal error".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import git, salesctl_subprocess

from salesctl import clock

TAGGED = [
    "!!timestamp 2026-01-01 10:00",
    "!!bool maybe",
    "!!int ''",
    "!!float ''",
    "!!binary not-base64",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!pairs [a: 1]",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!foo bar",
    "!<tag:example.com,2026:x> y",
    "!!str 2026-01-01",
    "!!map {a: 1}",
]


@pytest.fixture(autouse=True)
def never_hang() -> Iterator[None]:
    """A safety net, not a timing: a command blocked on a FIFO (in this process) is
    interrupted and fails the test instead of hanging CI forever."""

    def blocked(_signum: int, _frame: Any) -> None:
        # pytest.fail raises a BaseException: no `except OSError` on the way swallows it
        pytest.fail("blocked for 60 s: opened a FIFO?")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args)
    assert result.code == 0, result.err
    return result.json() if "json" in args else result


def add_lead(cli: Any, actor: str = "alice", company: str = "Good Co") -> dict[str, Any]:
    lead: dict[str, Any] = ok(cli, "--as", actor, "lead", "add", "--company", company, "-f", "json")
    return lead


def commit_all(store: Path, message: str = "hand edit") -> None:
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-q",
        "-m", message)  # fmt: skip


def check(cli: Any) -> tuple[int, list[dict[str, Any]]]:
    result = cli("check", "-f", "json")
    assert "internal error" not in result.err
    return result.code, result.json()


def where_of(problems: list[dict[str, Any]], path: str) -> list[str]:
    return [p["where"] for p in problems if p["where"].split(":")[0] == path]


def no_internal_error(result: Any) -> None:
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err


# -- item 2: explicit tags -------------------------------------------------------------------


@pytest.mark.parametrize("tagged", TAGGED)
def test_explicit_tag_is_a_check_problem_with_its_line(store: Path, cli: Any, tagged: str) -> None:
    lead = add_lead(cli)
    path = lead["path"]
    text = (store / path).read_text(encoding="utf-8")
    lines = text.splitlines()
    line = next(i for i, row in enumerate(lines, 1) if row.startswith("created:"))
    lines[line - 1] = f"created: {tagged}"
    (store / path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    other = add_lead(cli, company="Other Co")

    code, problems = check(cli)
    if tagged.startswith(("!!str ", "!!map ")):
        # a tag that says what the value is anyway changes nothing; !!str on a date does
        assert tagged == "!!map {a: 1}" or where_of(problems, path) == [f"{path}:{line}"]
        return
    assert code == 1
    assert where_of(problems, path) == [f"{path}:{line}"]

    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    no_internal_error(listed)
    assert listed.code == 0
    assert [r["id"] for r in listed.json()] == [other["id"]]
    assert path in listed.err

    shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", "json")
    no_internal_error(shown)
    assert shown.code == 1 and path in shown.err

    for command in (("report", "weekly", "--all", "-f", "json"), ("pipeline", "-f", "json")):
        result = cli("--as", "dana", *command)
        no_internal_error(result)
        assert result.code == 0, result.err
    # a report's figures are its commit's: the hand edit is named, not counted
    report = cli("--as", "dana", "report", "weekly", "--all", "-f", "json").json()
    assert report["uncommitted"] == [path] and report["skipped"] == []
    git(store, "-c", "user.email=alice@acme.example", "commit", "-q", "-am", "by hand")
    report = cli("--as", "dana", "report", "weekly", "--all", "-f", "json").json()
    assert [s.split(":")[0] for s in report["skipped"]] == [path]


def test_hook_refuses_a_tagged_file_naming_it(store: Path, cli: Any) -> None:
    """``check --range`` (what the pre-receive hook runs) names the file, not a KeyError."""
    lead = add_lead(cli)
    before = git(store, "rev-parse", "HEAD").strip()
    path = lead["path"]
    text = (store / path).read_text(encoding="utf-8")
    (store / path).write_text(text.replace("stage: new", "stage: !!bool maybe"), "utf-8")
    commit_all(store)
    result = cli("check", "--range", f"{before}..HEAD", "--actor", "alice", "-f", "json")
    no_internal_error(result)
    assert result.code == 1
    assert any(p["where"].startswith(f"{path}:") for p in result.json()["problems"])


def test_anchors_and_aliases_of_containers_are_problems(store: Path, cli: Any) -> None:
    lead = add_lead(cli)
    path = lead["path"]
    text = (store / path).read_text(encoding="utf-8")
    (store / path).write_text(text + "tags: &t [a]\nparticipants: *t\n", encoding="utf-8")
    code, problems = check(cli)
    assert code == 1 and where_of(problems, path)
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert listed.code == 0 and listed.json() == [] and path in listed.err


def test_nan_in_a_custom_field_does_not_break_queries(store: Path, cli: Any) -> None:
    """``.nan`` would be written to the index as JSON SQLite cannot read, failing every
    query over the kind; it is a problem of its file instead."""
    lead = add_lead(cli)
    other = add_lead(cli, company="Other Co")
    path = lead["path"]
    text = (store / path).read_text(encoding="utf-8")
    (store / path).write_text(text + "custom:\n  score: .nan\n", encoding="utf-8")
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    no_internal_error(listed)
    assert [r["id"] for r in listed.json()] == [other["id"]] and path in listed.err
    code, problems = check(cli)
    assert code == 1 and where_of(problems, path)


# -- item 3: a half-valid record in aggregates ---------------------------------------------


@pytest.fixture
def broken_plan(store: Path, cli: Any) -> dict[str, Any]:
    """Two signed contracts of alice; the first one's first instalment lost its amount."""
    today = clock.today()
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme", "-f", "json")
    signed = (today - dt.timedelta(days=40)).isoformat()
    plan = [f"{today - dt.timedelta(days=20)}:600", f"{today + dt.timedelta(days=20)}:400"]
    made = []
    for title in ("Broken", "Fine"):
        args = ["contract", "add", customer["id"], "--title", title, "--amount", "1000"]
        args += ["--signed", signed, "--plan", plan[0], "--plan", plan[1], "-f", "json"]
        made.append(ok(cli, "--as", "alice", *args))
    broken, fine = made
    path = store / broken["path"]
    text = path.read_text(encoding="utf-8")
    cut = re.sub(r"(?m)^(- due: .*\n)  amount: 600\n", r"\1", text, count=1)
    assert cut != text
    path.write_text(cut, encoding="utf-8")
    return {"broken": broken, "fine": fine}


AGGREGATES = [
    ("report", "weekly", "--all"),
    ("report", "monthly", "--all"),
    ("receivables",),
    ("receivables", "--by", "contract"),
    ("contract", "list"),
    ("contract", "list", "--overdue"),
    ("stats", "contracts"),
    ("stats", "sales"),
]


@pytest.mark.parametrize("command", AGGREGATES, ids=" ".join)
def test_aggregates_skip_a_half_valid_record_with_a_warning(
    store: Path, broken_plan: dict[str, Any], cli: Any, command: tuple[str, ...]
) -> None:
    broken = broken_plan["broken"]
    if command[0] in ("report", "stats", "receivables"):
        # their figures are the commit's: the hand edit (which a live list has seen) is
        # named, then counted once committed
        assert broken["path"] in cli("--as", "dana", "contract", "list").err
        result = cli("--as", "dana", *command, "-f", "json")
        assert result.code == 0 and broken["path"] in result.err
        git(store, "-c", "user.email=alice@acme.example", "commit", "-q", "-am", "by hand")
    result = cli("--as", "dana", *command, "-f", "json")
    no_internal_error(result)
    assert result.code == 0, result.err
    assert f"warning: skipped {broken['path']}" in result.err
    data = result.json()
    if isinstance(data, dict):
        assert [s.split(":")[0] for s in data.pop("skipped")] == [broken["path"]]
    assert broken["id"] not in json.dumps(data)  # no figure counts it


def test_the_figures_are_those_of_the_valid_records(
    store: Path, broken_plan: dict[str, Any], cli: Any
) -> None:
    fine = broken_plan["fine"]
    git(store, "-c", "user.email=alice@acme.example", "commit", "-q", "-am", "by hand")
    rows = ok(cli, "--as", "dana", "receivables", "--by", "contract", "-f", "json")
    assert [(r["contract"], r["total"], r["overdue"]) for r in rows] == [(fine["id"], 1000, 600)]
    listed = ok(cli, "--as", "dana", "contract", "list", "-f", "json")
    assert [(r["id"], r["outstanding"]) for r in listed] == [(fine["id"], 1000)]
    code, problems = check(cli)
    assert code == 1
    assert [p["field"] for p in problems] == ["plan[1].amount"]


def test_a_broken_payment_is_left_out_of_received(
    store: Path, cli: Any, broken_plan: dict[str, Any]
) -> None:
    fine = broken_plan["fine"]
    paid = ok(
        cli, "--as", "fay", "contract", "pay", fine["id"], "--amount", "100",
        "--date", clock.today().isoformat(), "-f", "json",
    )  # fmt: skip
    payment = store / paid["path"]
    payment.write_text(payment.read_text(encoding="utf-8") + "surprise: 1\n", encoding="utf-8")
    result = cli("--as", "dana", "contract", "list", "-f", "json")
    assert result.code == 0 and f"warning: skipped {paid['path']}" in result.err
    [row] = [r for r in result.json() if r["id"] == fine["id"]]
    assert row["received"] == 0


# -- item 4: what is not a regular file ----------------------------------------------------


def replace_with(store: Path, path: str, what: str, tmp_path: Path) -> Any:
    """Put a FIFO, socket, directory, symlink or device where the record file was."""
    full = store / path
    full.unlink()
    if what == "fifo":
        os.mkfifo(full)
    elif what == "directory":
        full.mkdir()
        (full / "inside.yaml").write_text("schema_version: 1\n", encoding="utf-8")
    elif what == "symlink":
        target = tmp_path / "elsewhere.yaml"
        target.write_text("schema_version: 1\nstage: new\ncreated: 2026-01-01\n", "utf-8")
        full.symlink_to(target)
    elif what == "socket":
        # AF_UNIX paths are short: bind from inside the directory
        here = os.getcwd()
        os.chdir(full.parent)
        try:
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(full.name)
        finally:
            os.chdir(here)
        return sock
    elif what == "device":
        try:
            os.mknod(full, 0o600 | 0o020000, os.makedev(1, 3))  # a character device
        except PermissionError:
            pytest.skip("making a device file needs root")
    return None


@pytest.mark.parametrize("what", ["fifo", "socket", "directory", "symlink", "device"])
def test_non_regular_record_file_is_a_problem_and_skipped(
    store: Path, cli: Any, tmp_path: Path, what: str
) -> None:
    lead = add_lead(cli)
    other = add_lead(cli, company="Other Co")
    path = lead["path"]
    held = replace_with(store, path, what, tmp_path)
    try:
        code, problems = check(cli)
        assert code == 1
        assert where_of(problems, path) == [path]
        listed = cli("--as", "alice", "lead", "list", "-f", "json")
        no_internal_error(listed)
        assert listed.code == 0
        assert [r["id"] for r in listed.json()] == [other["id"]]
        assert f"warning: skipped {path}" in listed.err
        shown = cli("--as", "alice", "lead", "show", lead["id"], "-f", "json")
        assert shown.code == 1 and path in shown.err
        report = cli("--as", "dana", "report", "weekly", "--all", "-f", "json")
        assert report.code == 0 and path in report.err
    finally:
        if held is not None:
            held.close()


def test_fifo_child_blocks_no_command(store: Path, cli: Any) -> None:
    """A follow-up that is a FIFO: listing skips it; moving its lead refuses, naming it."""
    lead = add_lead(cli)
    note = ok(cli, "--as", "alice", "followup", "add", lead["id"], "--text", "hi", "-f", "json")
    kept = ok(cli, "--as", "alice", "followup", "add", lead["id"], "--text", "yo", "-f", "json")
    commit_head = git(store, "rev-parse", "HEAD")
    (store / note["path"]).unlink()
    os.mkfifo(store / note["path"])
    listed = cli("--as", "alice", "followup", "list", lead["id"], "-f", "json")
    assert listed.code == 0 and [f["id"] for f in listed.json()] == [kept["id"]]
    assert note["path"] in listed.err
    code, problems = check(cli)
    assert code == 1 and where_of(problems, note["path"]) == [note["path"]]
    moved = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "bob")
    no_internal_error(moved)
    assert moved.code == 1 and note["path"] in moved.err
    assert git(store, "rev-parse", "HEAD") == commit_head


READERS = [
    ("check",),
    ("--as", "alice", "lead", "list"),
    ("--as", "alice", "lead", "show", "{id}"),
    ("--as", "dana", "report", "weekly", "--all"),
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[-3:]))
def test_fifo_end_to_end_never_blocks(store: Path, cli: Any, command: tuple[str, ...]) -> None:
    """A real process against a real FIFO, with a timeout: a regression fails, not hangs."""
    lead = add_lead(cli)
    path = lead["path"]
    (store / path).unlink()
    os.mkfifo(store / path)
    args = [a.replace("{id}", lead["id"]) for a in command]
    try:
        result = salesctl_subprocess(*args, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"salesctl {' '.join(args)} blocked on the FIFO {path}")
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert path in result.stdout + result.stderr
    expected = {"check": 1, "show": 1}.get(args[0] if args[0] == "check" else args[3], 0)
    assert result.returncode == expected, result.stderr
    # the index was left complete: the next command reads it without rebuilding or waiting
    status = salesctl_subprocess("index", "status", "-f", "json", timeout=60)
    assert status.returncode == 0, status.stderr


def test_impossible_date_is_reported_at_its_line(store: Path, cli: Any) -> None:
    lead = add_lead(cli)
    path = lead["path"]
    lines = (store / path).read_text(encoding="utf-8").splitlines()
    line = next(i for i, row in enumerate(lines, 1) if row.startswith("created:"))
    lines[line - 1] = "created: 2026-13-40"
    (store / path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, problems = check(cli)
    assert code == 1 and where_of(problems, path) == [f"{path}:{line}"]
