"""Typed dates, weeks, months and quarters stay within the years salesctl takes (QA items 4,
5 and 15): a date such as 9999-12-31 or 0001-01-01 is refused with a line naming the flag,
never an internal OverflowError, and a record that still holds one (written before the
check, or edited by hand) costs the calendar export that one event, not the whole file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import icalendar
import pytest
from conftest import git, ok, refused

from salesctl.model import values

RANGE = values.DATE_RANGE  # "dates run from 1900-01-01 to 2199-12-31"


@pytest.fixture
def customer(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"])


def test_writes_refuse_dates_out_of_range_naming_the_flag(
    store: Path, cli: Any, customer: str
) -> None:
    contract = ["--as", "alice", "contract", "add", customer, "--title", "E", "--amount", "100"]
    draft = ok(cli, *contract)["id"]
    cases = [
        ([*contract, "--signed", "9999-12-31"], "--signed 9999-12-31 is out of range"),
        ([*contract, "--signed", "0001-01-01"], "--signed 0001-01-01 is out of range"),
        ([*contract, "--signed", "1899-12-31"], "--signed 1899-12-31 is out of range"),
        ([*contract, "--signed", "-1d", "--plan", "9999-12-25:100"], "--plan 9999-12-25"),
        (["--as", "alice", "contract", "sign", draft, "--date", "9999-12-31"], "--date 9999"),
        (["--as", "alice", "followup", "add", customer, "--text", "hi", "--next", "9999-12-31"],
         "--next 9999-12-31 is out of range"),
        (["--as", "alice", "visit", "add", customer, "--at", "9999-12-31 23:30",
          "--duration", "2h"], "--at 9999-12-31 23:30 is out of range"),
        (["--as", "alice", "task", "add", "--title", "T", "--due", "+9999w"], "--due +9999w ("),
    ]  # fmt: skip
    for args, message in cases:
        err = refused(store, cli, *args)
        assert err.startswith(f"error: {message}") and RANGE in err, (args, err)
    # the last days in range are taken, and what follows from them (a plan) does not overflow
    ok(cli, "--as", "alice", "task", "add", "--title", "T", "--due", "2199-12-31")  # the last day
    ok(cli, *contract, "--signed", "1900-01-01", "--plan", "2199-12-31:100")
    ok(
        cli,
        "--as",
        "alice",
        "visit",
        "add",
        customer,
        "--at",
        "2199-12-31 23:30",
        "--duration",
        "24h",
    )
    ok(cli, "--as", "alice", "followup", "add", customer, "--text", "hi", "--next", "2199-12-31")
    assert ok(cli, "--as", "alice", "contract", "list")


def test_a_deal_close_date_out_of_range_says_so(store: Path, cli: Any, customer: str) -> None:
    args = ["--as", "alice", "deal", "add", customer, "--title", "T", "--amount", "5"]
    err = refused(store, cli, *args, "--close", "0001-01-01")
    assert "--close 0001-01-01 is out of range" in err and RANGE in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "weekly", "--all", "--week", "9999-W52"), "--week 9999-W52 is out of range"),
        (("report", "weekly", "--all", "--week", "0001-W01"), "--week 0001-W01 is out of range"),
        (("report", "monthly", "--all", "--month", "9999-12"), "--month 9999-12 is out of range"),
        (("report", "monthly", "--all", "--month", "0001-01"), "--month 0001-01 is out of range"),
        (("stats", "contracts", "--period", "9999-W52"), "--period 9999-W52 is out of range"),
        (("stats", "contracts", "--period", "9999-12"), "--period 9999-12 is out of range"),
        (("stats", "contracts", "--period", "9999-Q4"), "--period 9999-Q4 is out of range"),
        (("stats", "contracts", "--from", "0001-01-01"), "--from 0001-01-01 is out of range"),
        (("okr", "add", "--period", "9999-Q4", "--objective", "X"), "--period 9999-Q4 is out"),
        (("okr", "list", "--period", "0001-01"), "--period 0001-01 is out of range"),
        (("receivables", "--as-of", "9999-12-31"), "--as-of 9999-12-31 is out of range"),
    ],
)
def test_periods_and_read_dates_out_of_range_are_refused(
    store: Path, cli: Any, args: tuple[str, ...], message: str
) -> None:
    err = refused(store, cli, "--as", "dana", *args)
    assert err.startswith(f"error: {message}") and RANGE in err


def test_the_first_and_last_periods_in_range_report(store: Path, cli: Any, customer: str) -> None:
    for args in (
        ("report", "weekly", "--all", "--week", "2199-W52"),
        ("report", "weekly", "--all", "--week", "1900-W01"),
        ("report", "monthly", "--all", "--month", "2199-12"),
        ("report", "monthly", "--all", "--month", "1900-01"),
        ("stats", "contracts", "--period", "2199-Q4"),
        ("stats", "contracts", "--by", "month", "--from", "1900-01-01", "--to", "2199-12-31"),
    ):
        ok(cli, "--as", "dana", *args)


def test_a_week_flag_names_the_week_format(store: Path, cli: Any) -> None:
    """QA item 15: ``--week 2026-47`` said "2026-47 is not a month"."""
    for args in (
        ("report", "weekly", "--week", "2026-47"),
        ("report", "answer", "--week", "2026-47"),
    ):
        err = refused(store, cli, "--as", "alice", *args)
        assert err.startswith("error: --week '2026-47' is not a week") and "2026-W47" in err
    err = refused(store, cli, "--as", "alice", "report", "monthly", "--month", "2026-W47")
    assert "--month 2026-W47 is a week, not a month" in err and "2026-11" in err


@pytest.mark.parametrize(
    "args",
    [
        ("receivables", "--as-of", ""),
        ("contract", "list", "--as-of", ""),
        ("pipeline", "--as-of", ""),
        ("stats", "contracts", "--from", ""),
        ("stats", "contracts", "--period", ""),
        ("report", "weekly", "--week", ""),
        ("calendar", "export", "--to", ""),
        ("visit", "list", "--from", ""),
        ("okr", "list", "--period", ""),
    ],
)
def test_an_empty_date_is_an_error_not_today(store: Path, cli: Any, args: tuple[str, ...]) -> None:
    """QA item 15: ``--as-of ""`` silently meant today."""
    err = refused(store, cli, "--as", "dana", *args)
    assert err.startswith(f"error: {args[-2]} ''"), err


def test_calendar_out_must_be_a_path_one_may_write(store: Path, cli: Any, tmp_path: Path) -> None:
    for out in (tmp_path / "missing" / "x.ics", tmp_path):
        err = refused(store, cli, "--as", "alice", "calendar", "export", "--out", str(out))
        assert err.startswith(f"error: --out {out}: ") and "give --out a path you may write" in err


def test_calendar_export_skips_a_record_no_calendar_can_hold(
    store: Path, cli: Any, customer: str, tmp_path: Path
) -> None:
    """QA item 5: one follow-up planned for 9999-12-31 (accepted before the range check, or
    edited in by hand) made every export of its owner an internal OverflowError."""
    far = ok(cli, "--as", "alice", "followup", "add", customer, "--text", "hi", "--next", "+7d")
    late = ok(cli, "--as", "alice", "visit", "add", customer, "--at", "2026-12-01 23:30")
    kept = ok(cli, "--as", "alice", "visit", "add", customer, "--at", "2026-12-02 10:00")
    for path, old, new in (
        (far["path"], "next: ", "next: 9999-12-31\n"),
        (late["path"], "at: ", "at: '9999-12-31T23:30:00+00:00'\n"),
    ):
        file = store / path
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        file.write_text("".join(new if ln.startswith(old) else ln for ln in lines), "utf-8")
    git(store, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-qam", "by hand")

    out = tmp_path / "alice.ics"
    for actor, who in (("alice", []), ("lee", ["--member", "alice"])):
        result = cli("--as", actor, "calendar", "export", *who, "--out", str(out), "--force")
        assert result.code == 0, result.err
        warnings = [ln for ln in result.err.splitlines() if ln.startswith("warning: skipped")]
        assert len(warnings) == 2 and RANGE in warnings[0], result.err
        assert any(far["path"] in w and "next 9999-12-31" in w for w in warnings)
        assert any(late["path"] in w for w in warnings)
        uids = {
            str(e["UID"]) for e in icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
        }
        assert uids == {f"{kept['id']}@salesctl"}
