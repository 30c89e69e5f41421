"""OKRs: who may set them, key results that compute themselves from the records (the same
definitions as the reports), check-ins for the others, and read scope."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import git


def ok(cli: Any, actor: str, *args: str) -> Any:
    result = cli("--as", actor, *args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return json.loads(result.out, parse_float=Decimal)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def on(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    monkeypatch.setenv("SALESCTL_NOW", f"{day}T12:00:00+08:00")


@pytest.fixture
def signed(store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Decimal]:
    """Contracts in and around 2026-Q4; returns each member's Q4 signed amount as computed
    here from what was created."""
    amounts: dict[str, Decimal] = {}

    def contract(actor: str, customer: str, amount: str, day: str | None, q4: bool) -> str:
        args = ["contract", "add", customer, "--title", f"T {amount}", "--amount", amount]
        made = ok(cli, actor, *args, *(["--signed", day] if day else []))
        if q4:
            amounts[actor] = amounts.get(actor, Decimal(0)) + Decimal(amount)
        return str(made["id"])

    on(monkeypatch, "2026-09-10")
    acme = ok(cli, "alice", "customer", "add", "--name", "Acme")["id"]
    bobco = ok(cli, "bob", "customer", "add", "--name", "Bob Co")["id"]
    north = ok(cli, "nora", "customer", "add", "--name", "North Co")["id"]
    on(monkeypatch, "2026-09-30")  # a contract is recorded signed on the day, not before
    contract("alice", acme, "40000", "2026-09-30", q4=False)  # Q3: last day before Q4
    on(monkeypatch, "2026-10-01")
    contract("alice", acme, "25000", "2026-10-01", q4=True)  # Q4: its first day
    on(monkeypatch, "2026-11-18")
    contract("alice", acme, "30000.50", "2026-11-18", q4=True)
    cancelled = contract("alice", acme, "90000", "2026-11-18", q4=False)
    ok(cli, "lee", "contract", "cancel", cancelled, "--reason", "customer withdrew")
    contract("alice", acme, "70000", None, q4=False)  # a draft
    on(monkeypatch, "2026-11-19")
    contract("bob", bobco, "12000", "2026-11-19", q4=True)
    contract("nora", north, "9000", "2026-11-19", q4=True)
    on(monkeypatch, "2026-11-20")
    return amounts


def kr(okr: dict[str, Any], kr_id: str) -> dict[str, Any]:
    return next(k for k in okr["key_results"] if k["id"] == kr_id)


def test_member_okr_metric_and_checkin(store: Path, cli: Any, signed: dict[str, Decimal]) -> None:
    okr = ok(cli, "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow Acme",
             "--owner", "alice")  # fmt: skip
    okr_id = okr["id"]
    assert okr["owner"] == "alice" and okr["period"] == "2026-Q4"
    assert okr["path"].startswith("teams/east/alice/")
    ok(cli, "alice", "okr", "kr", "add", okr_id[:8], "--title", "Sign 100k", "--target", "100000",
       "--metric", "contract_amount")  # fmt: skip
    ok(cli, "alice", "okr", "kr", "add", okr_id, "--title", "Pilots live", "--target", "5")
    ok(cli, "alice", "okr", "kr", "add", okr_id, "--title", "Sign 50k", "--target", "50000",
       "--metric", "contract_amount")  # fmt: skip

    shown = ok(cli, "alice", "okr", "show", okr_id)
    money = kr(shown, "kr1")
    want = signed["alice"]
    assert want == Decimal("55000.50")  # the Q3, cancelled and draft contracts do not count
    assert Decimal(str(money["current"])) == want
    assert Decimal(str(money["target"])) == 100000 and money["metric"] == "contract_amount"
    assert float(money["progress"]) == pytest.approx(float(want / 100000), abs=1e-4)
    capped = kr(shown, "kr3")
    assert Decimal(str(capped["current"])) == want and float(capped["progress"]) == 1.0
    assert Decimal(str(kr(shown, "kr2")["current"])) == 0

    before = head(store)
    checked = cli("--as", "alice", "okr", "checkin", f"{okr_id}/kr2", "--value", "3")
    assert checked.code == 0, checked.err
    assert head(store) != before
    actions = git(store, "log", "-1", "--format=%(trailers:key=Salesctl-Action,valueonly)")
    assert actions.split() == ["okr.checkin"]
    pilots = kr(ok(cli, "alice", "okr", "show", okr_id), "kr2")
    assert Decimal(str(pilots["current"])) == 3
    assert float(pilots["progress"]) == pytest.approx(0.6, abs=1e-4)

    before = head(store)
    refused = cli("--as", "alice", "okr", "checkin", f"{okr_id}/kr1", "--value", "5")
    assert refused.code == 1 and refused.err.startswith("error:")
    assert head(store) == before
    assert Decimal(str(kr(ok(cli, "alice", "okr", "show", okr_id), "kr1")["current"])) == want
    missing = cli("--as", "alice", "okr", "checkin", f"{okr_id}/kr9", "--value", "1")
    assert missing.code == 1 and head(store) == before

    # the report states the same progress
    report = ok(cli, "alice", "report", "weekly", "--week", "2026-W47")
    stated = next(o for o in report["okrs"] if o["id"] == okr_id)
    assert Decimal(str(kr(stated, "kr1")["current"])) == want
    assert Decimal(str(kr(stated, "kr2")["current"])) == 3


def test_team_and_company_okrs_sum_their_members(
    store: Path, cli: Any, signed: dict[str, Decimal]
) -> None:
    team = ok(cli, "lee", "okr", "add", "--period", "2026-Q4", "--objective", "East grows",
              "--owner", "east")  # fmt: skip
    assert team["path"].startswith("teams/east/okrs/")
    ok(cli, "lee", "okr", "kr", "add", team["id"], "--title", "Sign 200k", "--target", "200000",
       "--metric", "contract_amount")  # fmt: skip
    current = Decimal(str(ok(cli, "lee", "okr", "show", team["id"])["key_results"][0]["current"]))
    assert current == signed["alice"] + signed["bob"]  # not north's nora
    assert current == Decimal("67000.50")
    # the team's members read it too
    seen = ok(cli, "bob", "okr", "show", team["id"])
    assert Decimal(str(seen["key_results"][0]["current"])) == current

    company = ok(cli, "dana", "okr", "add", "--period", "2026-Q4", "--objective", "Acme grows",
                 "--owner", "company")  # fmt: skip
    ok(cli, "dana", "okr", "kr", "add", company["id"], "--title", "Sign 1M", "--target", "1000000",
       "--metric", "contract_amount")  # fmt: skip
    everyone = sum(signed.values(), Decimal(0))
    shown = ok(cli, "dana", "okr", "show", company["id"])
    assert Decimal(str(shown["key_results"][0]["current"])) == everyone
    assert float(shown["key_results"][0]["progress"]) == pytest.approx(
        float(everyone / 1000000), abs=1e-4
    )
    listed = {o["id"]: o for o in ok(cli, "nora", "okr", "list", "--period", "2026-Q4")}
    assert company["id"] in listed and team["id"] not in listed  # nora is in north


def test_who_may_set_which_okr(store: Path, cli: Any) -> None:
    before = head(store)
    for actor, owner in (
        ("alice", "east"),
        ("alice", "bob"),
        ("alice", "company"),
        ("lee", "company"),
        ("lee", "north"),
        ("lee", "nora"),
        ("nick", "east"),
    ):
        result = cli("--as", actor, "okr", "add", "--period", "2026-Q4", "--objective", "X",
                     "--owner", owner)  # fmt: skip
        assert result.code == 3, (actor, owner, result.err)
        assert result.err.startswith("error:")
    assert head(store) == before
    assert not (store / "teams").exists() and not (store / "okrs").exists()

    mine = ok(cli, "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Mine")
    assert mine["owner"] == "alice"
    refused = cli("--as", "bob", "okr", "kr", "add", mine["id"], "--title", "T", "--target", "1")
    assert refused.code == 3
    hidden = cli("--as", "bob", "okr", "show", mine["id"], "-f", "json")
    assert hidden.code == 3
    assert mine["id"] not in {o["id"] for o in ok(cli, "bob", "okr", "list")}
    assert mine["id"] in {o["id"] for o in ok(cli, "lee", "okr", "list")}
    ok(cli, "lee", "okr", "add", "--period", "2026-Q4", "--objective", "East", "--owner", "east")
    ok(cli, "dana", "okr", "add", "--period", "2026-Q4", "--objective", "All", "--owner", "company")


def test_bad_key_results_are_refused(store: Path, cli: Any) -> None:
    okr = ok(cli, "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow")
    before = head(store)
    for args in (
        ("--title", "T", "--target", "100", "--metric", "happiness"),
        ("--title", "T", "--target", "lots"),
    ):
        result = cli("--as", "alice", "okr", "kr", "add", okr["id"], *args)
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("error:")
    bad_period = cli("--as", "alice", "okr", "add", "--period", "2026-Q5", "--objective", "X")
    assert bad_period.code == 1
    # an objective is one line: a report lists it as a bullet, which a newline would break
    two_lines = cli("--as", "alice", "okr", "add", "--period", "2026-Q4", "--objective", "a\nb")
    assert two_lines.code == 1 and "objective" in two_lines.err, two_lines.err
    assert len(two_lines.err.strip().splitlines()) == 1
    assert head(store) == before


def test_okr_json_carries_numbers_like_the_report(
    store: Path, cli: Any, signed: dict[str, Decimal]
) -> None:
    okr = ok(cli, "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow")
    ok(cli, "alice", "okr", "kr", "add", okr["id"], "--title", "Sign", "--target", "100000",
       "--metric", "contract_amount")  # fmt: skip
    ok(cli, "alice", "okr", "kr", "add", okr["id"], "--title", "Pilots", "--target", "5")
    ok(cli, "alice", "okr", "checkin", f"{okr['id']}/kr2", "--value", "3")
    report = ok(cli, "alice", "report", "weekly", "--week", "2026-W47")
    in_report = next(o for o in report["okrs"] if o["id"] == okr["id"])
    for shown in (ok(cli, "alice", "okr", "show", okr["id"]), ok(cli, "alice", "okr", "list")[0]):
        for row in shown["key_results"]:
            for key in ("target", "current", "progress"):
                assert isinstance(row[key], int | Decimal), (key, row)  # a JSON number
        assert shown["key_results"] == in_report["key_results"]
        assert shown["key_results"][0]["current"] == signed["alice"]


def test_key_result_numbers_are_read_as_amounts_are(store: Path, cli: Any) -> None:
    """QA item 9: a target of 0 or -5, full-width digits, 1e400 (a 401-digit integer in the
    file) and a negative check-in were all accepted. Now a target is more than 0 and every
    number is read by the amount rules; a refusal names the flag and writes nothing."""
    okr = ok(cli, "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow")
    ok(cli, "alice", "okr", "kr", "add", okr["id"], "--title", "Pilots", "--target", "10")
    before = head(store)
    refusals = [
        (("kr", "add", okr["id"], "--title", "T", "--target", target), "--target")
        for target in ("0", "-5", "１０", "1e400", "nan", "")
    ]
    refusals += [
        (("checkin", f"{okr['id']}/kr1", "--value", value), "--value")
        for value in ("1e400", "-3", "３", "inf", "", "10000000000000")
    ]
    for args, flag in refusals:
        result = cli("--as", "alice", "okr", *args)
        assert result.code == 1, (args, result.err)
        assert result.err.startswith(f"error: {flag}") and "internal" not in result.err, args
        assert head(store) == before and not git(store, "status", "--porcelain")
    ok(cli, "alice", "okr", "checkin", f"{okr['id']}/kr1", "--value", "4.50")
    ok(cli, "alice", "okr", "kr", "add", okr["id"], "--title", "Sign", "--target", "2,000,000")
    shown = ok(cli, "alice", "okr", "show", okr["id"])["key_results"]
    assert [(r["target"], r["current"]) for r in shown] == [(10, Decimal("4.5")), (2000000, 0)]
    assert shown[0]["progress"] == Decimal("0.45")
