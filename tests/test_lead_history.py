"""A lead's stage history only grows, as a deal's does (test_deal_history.py): moving it back
(``lead edit --set stage=``, a follow-up's ``--stage``) or reopening a disqualified or
converted one keeps the entries its path no longer holds in ``earlier_stages``, so a past
week's lead movements, leads converted and ``stats`` answer as they did before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_deal_history import check_judges_earlier_entries, weekly_reports
from test_leads_lifecycle import add_lead, lead_dir

from salesctl.model.config import Config, DealStage
from salesctl.model.kinds import DEAL, LEAD
from salesctl.ops.stages import move_stage

DAYS = [dt.date(2026, 11, 20) + dt.timedelta(days=n) for n in range(14)]  # Fri .. Thu


def at(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setenv("SALESCTL_NOW", f"{day.isoformat()}T10:00:00+08:00")


def ok(cli: Any, *args: str) -> Any:
    res = cli(*args, "-f", "json")
    assert res.code == 0, res.err
    return res.json()


def the_past(cli: Any) -> dict[str, Any]:
    """Every answer about weeks 47 and 48: the weekly reports (lead movements, leads
    converted) and the sales statistics."""
    answers: dict[str, Any] = {}
    for week in ("2026-W47", "2026-W48"):
        answers.update(weekly_reports(cli, week))
        answers[f"stats {week}"] = ok(cli, "--as", "dana", "stats", "sales", "--period", week)
    answers["stats"] = ok(cli, "--as", "dana", "stats", "sales", "--to", "2026-11-29")
    return answers


def stage(cli: Any, lead: str, to: str) -> dict[str, Any]:
    return ok(cli, "--as", "alice", "lead", "edit", lead, "--set", f"stage={to}")


def test_moving_leads_back_leaves_the_past_as_it_was(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    back, won, dropped = (add_lead(cli, "alice", name)["id"] for name in ("A Co", "B Co", "C Co"))
    at(monkeypatch, DAYS[3])  # Monday of week 48
    stage(cli, back, "contacted")
    stage(cli, won, "contacted")
    at(monkeypatch, DAYS[4])
    ok(cli, "--as", "alice", "lead", "convert", won)
    ok(cli, "--as", "alice", "lead", "disqualify", dropped, "--reason", "no budget")
    at(monkeypatch, DAYS[10])  # Monday: weeks 47 and 48 are over
    before = the_past(cli)
    movements = before["2026-W48 ('--member', 'alice')"]["stage_movements"]["lead"]
    assert movements == {"contacted": 2, "converted": 1, "disqualified": 1}
    assert before["2026-W48 ('--member', 'alice')"]["totals"]["leads_converted"] == 1

    at(monkeypatch, DAYS[11])  # contacted -> new, then forward again; the closed ones reopened
    moved = stage(cli, back, "new")
    assert moved["stages"] == {"new": "2026-12-01"}
    assert moved["earlier_stages"] == [
        {"stage": "new", "date": "2026-11-20"},
        {"stage": "contacted", "date": "2026-11-23"},
    ]
    stage(cli, won, "contacted")
    reopened = "followup", "add", dropped, "--text", "budget found", "--stage", "contacted"
    assert cli("--as", "alice", *reopened).code == 0
    at(monkeypatch, DAYS[12])
    forward = "followup", "add", back, "--text", "reached", "--stage", "contacted"
    assert cli("--as", "alice", *forward).code == 0

    assert the_past(cli) == before
    files = {
        lead: yaml.safe_load((lead_dir(store, lead) / "lead.yaml").read_text())
        for lead in (back, won, dropped)
    }
    assert files[back]["stages"] == {"new": dt.date(2026, 12, 1), "contacted": dt.date(2026, 12, 2)}
    assert len(files[back]["earlier_stages"]) == 2
    assert files[won]["stage"] == "contacted" and files[won]["customer"]  # still linked
    assert files[won]["earlier_stages"] == [
        {"stage": "contacted", "date": dt.date(2026, 11, 23)},
        {"stage": "converted", "date": dt.date(2026, 11, 24)},
    ]
    # the disqualification keeps its reason; the reopened lead has none
    assert "reason" not in files[dropped]
    assert files[dropped]["stages"] == {
        "new": dt.date(2026, 11, 20),
        "contacted": dt.date(2026, 12, 1),
    }
    assert files[dropped]["earlier_stages"] == [
        {"stage": "disqualified", "date": dt.date(2026, 11, 24), "reason": "no budget"}
    ]
    # this week's movements count the new entries
    now = ok(cli, "--as", "dana", "report", "weekly", "--member", "alice", "--week", "2026-W49")
    assert now["stage_movements"]["lead"] == {"new": 1, "contacted": 3}
    assert cli("--as", "dana", "check").code == 0


def test_old_files_still_read_and_check_judges_the_earlier_entries(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Old Co")
    check_judges_earlier_entries(cli, lead_dir(store, lead["id"]) / "lead.yaml", "contacted")


def test_a_refused_move_back_changes_nothing(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Kept Co", "--stage", "contacted")
    refused = cli("--as", "bob", "lead", "edit", lead["id"], "--set", "stage=new")
    assert refused.code == 3
    data = yaml.safe_load((lead_dir(store, lead["id"]) / "lead.yaml").read_text())
    assert data["stage"] == "contacted" and "earlier_stages" not in data


def test_leads_and_deals_move_by_one_rule() -> None:
    """``move_stage`` is the one implementation: a deal's loss takes its reason and
    competitor along, a lead's disqualification its reason; a step forward keeps nothing."""
    stages = (DealStage("open", 10), DealStage("won", 100), DealStage("lost", 0))
    config = Config("Acme", deal_stages=stages)
    day = dt.date(2026, 11, 2)
    deal = {
        "stage": "lost",
        "stages": {"open": day, "lost": day},
        "reason": "price",
        "lost_to": "X",
    }
    move_stage(config, DEAL, deal, "open")
    assert "reason" not in deal and "lost_to" not in deal
    assert deal["earlier_stages"][-1] == {
        "stage": "lost",
        "date": day,
        "reason": "price",
        "lost_to": "X",
    }
    lead = {"stage": "disqualified", "stages": {"new": day, "disqualified": day}, "reason": "spam"}
    move_stage(config, LEAD, lead, "contacted")
    assert list(lead["stages"]) == ["new", "contacted"] and "reason" not in lead
    assert lead["earlier_stages"] == [{"stage": "disqualified", "date": day, "reason": "spam"}]
    forward = {"stage": "new", "stages": {"new": day}}
    move_stage(config, LEAD, forward, "contacted")
    move_stage(config, LEAD, forward, "contacted")  # the same stage again: nothing moves
    assert "earlier_stages" not in forward and list(forward["stages"]) == ["new", "contacted"]


def test_a_merge_keeps_the_kept_leads_own_history(store: Path, cli: Any) -> None:
    """``earlier_stages`` is the kept lead's own life, as ``stages`` is: never the other's."""
    keep = add_lead(cli, "alice", "Twin Co")["id"]
    allowed = ("--allow-duplicate", "--reason", "made twice by two reps")
    other = add_lead(cli, "dana", "Twin Co Ltd", "--to", "bob", *allowed)["id"]
    ok(cli, "--as", "bob", "lead", "edit", other, "--set", "stage=contacted")
    assert ok(cli, "--as", "bob", "lead", "edit", other, "--set", "stage=new")["earlier_stages"]
    merged = ok(cli, "--as", "lee", "lead", "merge", keep, other)
    assert merged["merged"] == [other] and "earlier_stages" not in merged
