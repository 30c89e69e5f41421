"""A deal's stage history only grows: reopening a lost or won deal, or moving it back, keeps
the entries its path no longer holds in ``earlier_stages``, so the past pipeline, the losses
and a past week's report answer as they did before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_deals import customer_of, deal, ok, snapshot
from test_deals import deal_store as deal_store  # the fixture: a store with the test stages

DAYS = [dt.date(2026, 11, 20) + dt.timedelta(days=n) for n in range(14)]  # Fri .. Thu


def at(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setenv("SALESCTL_NOW", f"{day.isoformat()}T10:00:00+08:00")


def the_past(cli: Any, until: dt.date) -> dict[str, Any]:
    """Every answer about the days up to ``until``: the pipeline of each day, the losses
    and the weekly reports of the weeks it ended."""
    days = [d.isoformat() for d in DAYS if d <= until]
    answers: dict[str, Any] = {
        day: ok(cli, "--as", "dana", "pipeline", "--as-of", day) for day in days
    }
    answers["losses"] = ok(cli, "--as", "dana", "deal", "losses", "--to", until.isoformat())
    for week in ("2026-W47", "2026-W48"):
        answers.update(weekly_reports(cli, week))
    return answers


def weekly_reports(cli: Any, week: str) -> dict[str, Any]:
    """The week's reports of alice and of the company, less what says when they were made."""
    reports = {}
    for who in (("--member", "alice"), ("--all",)):
        report = ok(cli, "--as", "dana", "report", "weekly", *who, "--week", week)
        report.pop("data_commit")  # the commit the figures were read from
        report.pop("generated")  # and the day they were
        reports[f"{week} {who}"] = report
    return reports


def test_reopening_a_lost_deal_leaves_the_past_as_it_was(
    deal_store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customer_of(cli, "alice")
    made = deal(cli, "alice", customer, "1000")  # 2026-11-20, lead-in
    other = deal(cli, "alice", customer, "250")
    at(monkeypatch, DAYS[2])
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    ok(cli, "--as", "alice", "deal", "move", other["id"], "--stage", "won")
    at(monkeypatch, DAYS[4])
    ok(
        cli, "--as", "alice", "deal", "move", made["id"], "--stage", "lost",
        "--reason", "price", "--lost-to", "Globex",
    )  # fmt: skip
    at(monkeypatch, DAYS[10])  # Monday: weeks 47 and 48 are over
    before = the_past(cli, DAYS[9])
    assert before["2026-11-24"][4]["stage"] == "lost" and before["2026-11-24"][4]["count"] == 1
    assert before["losses"]["count"] == 1 and before["losses"]["by_reason"][0]["reason"] == "price"

    at(monkeypatch, DAYS[11])  # reopened: back to proposal, then lost again, then to demo
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    ok(cli, "--as", "alice", "deal", "move", other["id"], "--stage", "demo")  # a won one
    at(monkeypatch, DAYS[12])
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "lost", "--reason", "timing")
    at(monkeypatch, DAYS[13])
    now = ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "demo")

    assert the_past(cli, DAYS[9]) == before
    assert now["stage"] == "demo" and now["stages"] == {
        "lead-in": "2026-11-20",
        "demo": "2026-12-03",
    }
    assert "reason" not in now and "lost_to" not in now
    assert now["earlier_stages"] == [
        {"stage": "proposal", "date": "2026-11-22"},
        {"stage": "lost", "date": "2026-11-24", "reason": "price", "lost_to": "Globex"},
        {"stage": "proposal", "date": "2026-12-01"},
        {"stage": "lost", "date": "2026-12-02", "reason": "timing"},
    ]
    # each day answers with the entry it had: the second loss too
    by_day = {
        day: {r["stage"]: r["count"] for r in ok(cli, "--as", "dana", "pipeline", "--as-of", day)}
        for day in ("2026-12-01", "2026-12-02", "2026-12-03")
    }
    assert (by_day["2026-12-01"]["proposal"], by_day["2026-12-02"]["lost"]) == (1, 1)
    assert by_day["2026-12-03"]["demo"] == 2 and by_day["2026-12-03"]["lost"] == 0
    losses = ok(cli, "--as", "dana", "deal", "losses", "--from", "2026-11-30")
    assert losses["count"] == 1 and losses["by_reason"][0]["reason"] == "timing"
    assert cli("--as", "dana", "check").code == 0


def test_moving_back_keeps_what_the_deal_was(
    deal_store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = deal(cli, "alice", customer_of(cli, "alice"), "1000")
    at(monkeypatch, DAYS[1])
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    at(monkeypatch, DAYS[3])
    back = ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "demo")
    assert back["stages"] == {"lead-in": "2026-11-20", "demo": "2026-11-23"}
    assert back["earlier_stages"] == [{"stage": "proposal", "date": "2026-11-21"}]
    then = ok(cli, "--as", "dana", "pipeline", "--as-of", "2026-11-22")
    assert {r["stage"]: r["count"] for r in then}["proposal"] == 1


def test_old_files_still_read_and_check_judges_the_earlier_entries(
    deal_store: Path, cli: Any
) -> None:
    made = deal(cli, "alice", customer_of(cli, "alice"), "1000")
    check_judges_earlier_entries(cli, deal_store / made["path"], "demo")


def check_judges_earlier_entries(cli: Any, path: Path, stage: str) -> None:
    """A record never moved back has no ``earlier_stages`` (its file as before) and passes
    ``check``; an entry written by hand without its date fails it, named."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert "earlier_stages" not in data
    assert cli("--as", "dana", "check").code == 0
    data["earlier_stages"] = [{"stage": stage}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    broken = cli("--as", "dana", "check")
    assert broken.code != 0 and "earlier_stages[1].date" in broken.out + broken.err


def test_a_refused_reopening_changes_nothing(deal_store: Path, cli: Any) -> None:
    made = deal(cli, "alice", customer_of(cli, "alice"), "1000")
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "lost", "--reason", "x")
    before = snapshot(deal_store)
    refused = cli("--as", "bob", "deal", "move", made["id"], "--stage", "demo")
    assert refused.code == 3
    assert snapshot(deal_store) == before
