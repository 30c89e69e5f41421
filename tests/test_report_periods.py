"""A past period's report is a function of the records as they stood at its end: W47,
regenerated after a fortnight of deals moving and won, a check-in, a cancellation and
more payments, states exactly the figures it stated before (issue: reproducible periods).
Inside a frozen clock, so the calendar dates below never go stale."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import test_reports
from test_reports import World, as_json

# the reports' sample world and a private copy of it, as fixtures here too
world = test_reports.world
wstore = test_reports.wstore

W47 = ("--week", "2026-W47")
# What a regenerated report may state differently: when and from which commit it was made.
WHEN_MADE = ("generated", "data_commit")


def report(cli: Any, actor: str, *subject: str) -> dict[str, Any]:
    data = as_json(cli("--as", actor, "report", "weekly", *W47, *subject, "-f", "json"))
    return {k: v for k, v in data.items() if k not in WHEN_MADE}


def ok(cli: Any, actor: str, *args: str) -> Any:
    result = cli("--as", actor, *args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return json.loads(result.out, parse_float=Decimal)


def test_w47_regenerated_after_later_activity_states_the_same_figures(
    wstore: Path,
    world: World,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = world.ids
    # a key result checked in during W47, before the report
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-19T18:00:00+08:00")
    ok(cli, "alice", "okr", "kr", "add", ids["okr"], "--title", "Demos", "--target", "10")
    ok(cli, "alice", "okr", "checkin", f"{ids['okr']}/kr2", "--value", "3")

    monkeypatch.setenv("SALESCTL_NOW", "2026-12-02T10:00:00+08:00")  # W49
    subjects = {"alice": ("--member", "alice"), "lee": ("--team", "east"), "dana": ()}
    before = {actor: report(cli, actor, *subject) for actor, subject in subjects.items()}

    # the pipeline as it stood on 2026-11-22: "Won later" was still a proposal (won in W48)
    stages = {row["stage"]: row for row in before["alice"]["pipeline"]}
    assert stages["proposal"]["count"] == 1 and stages["proposal"]["amount"] == 15000
    assert stages["won"]["count"] == 1  # Beta deal, won 2026-11-18
    okr = next(o for o in before["alice"]["okrs"] if o["id"] == ids["okr"])
    # Acme licence (11-10) and Beta contract (11-18); the check-in of W47
    assert [kr["current"] for kr in okr["key_results"]] == [Decimal(80000), Decimal(3)]

    # W49: deals move on and are won, a new one too, a check-in, a cancellation, money
    bob_open = next(d["id"] for d in ok(cli, "bob", "deal", "list") if d["title"] == "Bob open")
    ok(cli, "bob", "deal", "move", bob_open, "--stage", "won")
    fresh = ok(cli, "alice", "deal", "add", ids["beta"], "--title", "New", "--amount", "999")
    ok(cli, "alice", "deal", "move", fresh["id"], "--stage", "won")
    ok(cli, "alice", "okr", "checkin", f"{ids['okr']}/kr2", "--value", "9")
    ok(cli, "alice", "contract", "add", ids["beta"], "--title", "Later", "--amount", "5000",
       "--signed", "2026-12-01")  # fmt: skip
    ok(cli, "lee", "contract", "cancel", ids["k_bob"], "--reason", "customer withdrew")
    ok(cli, "fay", "contract", "pay", ids["k_beta"], "--amount", "5000", "--date", "2026-12-01")
    ok(cli, "alice", "lead", "add", "--company", "December Co")
    ok(cli, "alice", "followup", "add", ids["beta"], "--text", "December call")

    after = {actor: report(cli, actor, *subject) for actor, subject in subjects.items()}
    for actor in subjects:
        assert after[actor] == before[actor], actor
    # and now, the current week sees all of it
    now = as_json(cli("--as", "alice", "report", "weekly", "--week", "2026-W49", "-f", "json"))
    won = {row["stage"]: row for row in now["pipeline"]}["won"]
    assert won["count"] == 3  # Beta deal, Won later, New (Bob open is bob's)


def test_pipeline_as_of_a_day_is_the_funnel_of_that_day(
    wstore: Path,
    world: World,
    cli: Any,
) -> None:
    def funnel(*args: str) -> dict[str, tuple[int, Decimal]]:
        rows = ok(cli, "alice", "pipeline", *args)
        return {r["stage"]: (r["count"], Decimal(str(r["amount"]))) for r in rows if r["count"]}

    # alice's deals: Lost deal (qualify 11-10, lost 11-19), Won later (proposal 11-10, won
    # 11-24), Beta deal (qualify 11-17, won 11-18)
    assert funnel("--as-of", "2026-11-09") == {}
    assert funnel("--as-of", "2026-11-10") == {
        "qualify": (1, Decimal(8000)),
        "proposal": (1, Decimal(15000)),
    }
    assert funnel("--as-of", "2026-11-22") == {
        "proposal": (1, Decimal(15000)),
        "won": (1, Decimal(30000)),
        "lost": (1, Decimal(8000)),
    }
    assert (
        funnel("--as-of", "2026-11-30")
        == funnel()
        == {
            "won": (2, Decimal(45000)),
            "lost": (1, Decimal(8000)),
        }
    )
