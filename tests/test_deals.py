"""Deals end to end on a real git store: where they live, stage moves dated in ``stages``,
lost deals with reasons, the pipeline's exact sums and weighted amounts to the cent, and the losses
summary."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store

# Odd probabilities and amounts with cents make rounding mistakes visible.
STAGES = """\
deal_stages:
  - {id: lead-in, probability: 5}
  - {id: demo, probability: 33}
  - {id: proposal, probability: 67}
  - {id: won, probability: 100}
  - {id: lost, probability: 0}
"""


@pytest.fixture
def deal_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_store(tmp_path / "deals", CONFIG + STAGES)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


# -- helpers ---------------------------------------------------------------------------------


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def trailers(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def changed(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "show", "--name-only", "--format=", rev)
    return sorted(line for line in out.splitlines() if line.strip())


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return head(root), git(root, "status", "--porcelain", "--untracked-files=all"), files


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def customer_of(cli: Any, owner: str, name: str | None = None) -> str:
    # each customer its own company: the same one twice is refused as a duplicate (撞单)
    name = name or f"Acme {next(SERIAL)}"
    return str(ok(cli, "--as", owner, "customer", "add", "--name", name)["id"])


SERIAL = itertools.count(1)


def deal(cli: Any, actor: str, customer: str, amount: str, *extra: str) -> dict[str, Any]:
    title = f"Deal {amount}"
    return ok(
        cli, "--as", actor, "deal", "add", customer, "--title", title, "--amount", amount, *extra
    )


# -- add and move ------------------------------------------------------------------------------


def test_deal_lives_with_the_customers_owner_and_links_the_customer(store: Path, cli: Any) -> None:
    customer = customer_of(cli, "alice")
    count = commits(store)
    added = ok(
        cli, "--as", "lee", "deal", "add", customer[:6], "--title", "ERP rollout",
        "--amount", "120000.50", "--close", "2026-12-31", "--competitor", "Globex",
        "--competitor", "Initech",
    )  # fmt: skip
    assert added["owner"] == "alice" and added["team"] == "east"
    assert added["path"] == f"teams/east/alice/deals/{added['id']}/deal.yaml"
    assert added["customer"] == customer and added["stage"] == "qualify"
    assert added["stages"] == {"qualify": "2026-11-20"}
    assert added["amount"] == 120000.5 and added["close"] == "2026-12-31"
    assert added["competitors"] == ["Globex", "Initech"]
    assert commits(store) == count + 1 and changed(store) == [added["path"]]
    assert trailers(store, "Salesctl-Action") == ["deal.add"]
    assert trailers(store, "Salesctl-Record") == [added["id"]]
    assert git(store, "log", "-1", "--format=%an").strip() == "Lee Chen"
    text = (store / added["path"]).read_text(encoding="utf-8")
    assert "amount: 120000.50\n" in text  # exact, as typed: no float rounding in the file
    shown = ok(cli, "--as", "alice", "customer", "show", customer)
    assert [d["id"] for d in shown["deals"]] == [added["id"]]


def test_bad_deals_are_refused_and_change_nothing(store: Path, cli: Any) -> None:
    customer = customer_of(cli, "alice")
    pooled = ok(cli, "--as", "alice", "customer", "add", "--name", "P", "--pool")["id"]
    before = snapshot(store)
    for args, code in (
        ((customer, "--title", "T", "--amount", "-5"), 1),
        ((customer, "--title", "T", "--amount", "12.345"), 1),
        ((customer, "--title", "T", "--amount", "lots"), 1),
        ((customer, "--title", "T", "--amount", "5", "--stage", "dreaming"), 1),
        ((customer, "--title", "T", "--amount", "5", "--stage", "lost"), 1),
        ((customer, "--title", "T", "--amount", "5", "--close", "soon"), 1),
        ((pooled, "--title", "T", "--amount", "5"), 1),
        (("C-ZZZZZZ", "--title", "T", "--amount", "5"), 1),
    ):
        result = cli("--as", "alice", "deal", "add", *args)
        assert result.code == code, (args, result.err)
        assert result.err.startswith("error: ")
    refused = cli("--as", "bob", "deal", "add", customer, "--title", "T", "--amount", "5")
    assert refused.code == 3
    assert snapshot(store) == before


def test_moves_are_dated_and_lost_needs_a_reason(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customer_of(cli, "alice")
    added = deal(cli, "alice", customer, "5000")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-23T09:00:00+08:00")
    count = commits(store)
    moved = ok(cli, "--as", "alice", "deal", "move", added["id"], "--stage", "proposal")
    assert moved["stage"] == "proposal"
    assert moved["stages"] == {"qualify": "2026-11-20", "proposal": "2026-11-23"}
    assert commits(store) == count + 1 and changed(store) == [added["path"]]
    assert trailers(store, "Salesctl-Action") == ["deal.move"]
    assert trailers(store, "Salesctl-Record") == [added["id"]]
    subject = git(store, "log", "-1", "--format=%s").strip()
    assert subject == f"deal.move: {added['id']} qualify -> proposal"

    before = snapshot(store)
    no_reason = cli("--as", "alice", "deal", "move", added["id"], "--stage", "lost")
    assert no_reason.code == 1 and "reason" in no_reason.err
    stray = cli("--as", "alice", "deal", "move", added["id"], "--stage", "won", "--lost-to", "X")
    assert stray.code == 1
    assert cli("--as", "alice", "deal", "move", added["id"], "--stage", "nowhere").code == 1
    assert cli("--as", "bob", "deal", "move", added["id"], "--stage", "won").code == 3
    assert snapshot(store) == before

    monkeypatch.setenv("SALESCTL_NOW", "2026-11-25T09:00:00+08:00")
    lost = ok(
        cli, "--as", "alice", "deal", "move", added["id"], "--stage", "lost",
        "--reason", "price too high", "--lost-to", "Globex",
    )  # fmt: skip
    assert lost["stage"] == "lost" and lost["stages"]["lost"] == "2026-11-25"
    assert lost["reason"] == "price too high" and lost["lost_to"] == "Globex"
    assert lost["competitors"] == ["Globex"]
    same = cli(
        "--as",
        "alice",
        "deal",
        "move",
        added["id"],
        "--stage",
        "lost",
        "--reason",
        "price too high",
    )
    assert same.code == 0 and "nothing to change" in same.out
    reopened = ok(cli, "--as", "alice", "deal", "move", added["id"], "--stage", "negotiate")
    assert "lost_to" not in reopened and "reason" not in reopened
    # the loss no longer holds (git history keeps it): the stage path stays in date order
    assert "lost" not in reopened["stages"] and reopened["stages"]["negotiate"] == "2026-11-25"


def test_deal_list_filters_and_respects_read_scope(store: Path, cli: Any) -> None:
    a = deal(cli, "alice", customer_of(cli, "alice"), "100")
    b = deal(cli, "bob", customer_of(cli, "bob"), "200", "--stage", "proposal")
    n = deal(cli, "nora", customer_of(cli, "nora"), "300")

    def ids(actor: str, *args: str) -> list[str]:
        return sorted(d["id"] for d in ok(cli, "--as", actor, "deal", "list", *args))

    assert ids("dana") == sorted([a["id"], b["id"], n["id"]])
    assert ids("lee") == sorted([a["id"], b["id"]])
    assert ids("alice") == [a["id"]]
    assert ids("dana", "--team", "north") == [n["id"]]
    assert ids("dana", "--owner", "bob") == [b["id"]]
    assert ids("dana", "--stage", "proposal") == [b["id"]]
    assert ids("dana", "--customer", a["customer"]) == [a["id"]]
    assert cli("--as", "dana", "deal", "list", "--stage", "nowhere").code == 1
    assert cli("--as", "alice", "deal", "show", b["id"]).code == 3


# -- pipeline ----------------------------------------------------------------------------------


def test_pipeline_sums_are_exact_and_weighted_amounts_are_to_the_cent(
    deal_store: Path, cli: Any
) -> None:
    config = yaml.safe_load(STAGES)["deal_stages"]
    probability = {s["id"]: Decimal(s["probability"]) for s in config}
    plan = [
        ("alice", "0.01", "lead-in"),
        ("alice", "99.99", "demo"),
        ("alice", "12345.67", "demo"),
        ("bob", "1000000", "proposal"),
        ("bob", "33.33", "proposal"),
        ("alice", "7.77", "won"),
        ("nora", "555.55", "demo"),
        ("nora", "0.03", "lost"),
    ]
    customers = {m: customer_of(cli, m, f"{m} Co") for m in ("alice", "bob", "nora")}
    for member, amount, stage in plan:
        added = deal(
            cli, member, customers[member], amount, "--stage", stage.replace("lost", "demo")
        )
        if stage == "lost":  # a deal cannot start lost
            ok(cli, "--as", member, "deal", "move", added["id"], "--stage", stage, "--reason", "x")

    def expected(members: set[str]) -> dict[str, tuple[int, Decimal, Decimal]]:
        result = {}
        for stage in probability:
            amounts = [Decimal(a) for m, a, s in plan if s == stage and m in members]
            total = sum(amounts, Decimal(0))
            exact = sum((a * probability[stage] / 100 for a in amounts), Decimal(0))
            weighted = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
            result[stage] = (len(amounts), total, weighted)
        return result

    def actual(*args: str) -> dict[str, tuple[int, Decimal, Decimal]]:
        rows = ok(cli, *args)
        assert [r["stage"] for r in rows] == list(probability)  # the config's order
        return {
            r["stage"]: (r["count"], Decimal(str(r["amount"])), Decimal(str(r["weighted"])))
            for r in rows
        }

    everyone = actual("--as", "dana", "pipeline")
    assert everyone == expected({"alice", "bob", "nora"})
    assert everyone["demo"][2] == Decimal("4290.40")  # (99.99 + 12345.67 + 555.55) * 33%
    assert sum(w for _c, _a, w in everyone.values()) == Decimal("674320.50")
    assert actual("--as", "dana", "pipeline", "--team", "east") == expected({"alice", "bob"})
    assert actual("--as", "dana", "pipeline", "--owner", "bob") == expected({"bob"})
    assert actual("--as", "alice", "pipeline") == expected({"alice"})  # a rep sees their own
    assert cli("--as", "dana", "pipeline", "--owner", "bob", "--team", "east").code == 1
    table = cli("--as", "dana", "pipeline", "-f", "table")
    # the table's total is the sum of the stages' cents, as the JSON rows give them
    assert table.code == 0 and "total" in table.out and "674,320.50" in table.out


def test_losses_by_competitor_and_reason(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customer_of(cli, "alice")
    other = customer_of(cli, "nora", "North Co")
    losses = [
        ("2026-10-05", "alice", customer, "1000", "price", "Globex"),
        ("2026-11-02", "alice", customer, "2500.50", "Price ", "Globex"),
        ("2026-11-10", "alice", customer, "400", "no budget", None),
        ("2026-11-12", "nora", other, "99.50", "price", "Initech"),
    ]
    for day, member, cust, amount, reason, competitor in losses:
        monkeypatch.setenv("SALESCTL_NOW", f"{day}T10:00:00+08:00")
        added = deal(cli, member, cust, amount)
        extra = ("--lost-to", competitor) if competitor else ()
        ok(cli, "--as", member, "deal", "move", added["id"], "--stage", "lost", "--reason", reason,
           *extra)  # fmt: skip
    deal(cli, "alice", customer, "77777")  # open: not a loss

    summary = ok(cli, "--as", "dana", "deal", "losses")
    assert summary["count"] == 4 and Decimal(str(summary["amount"])) == Decimal("4000.00")
    assert [
        (r["competitor"], r["count"], Decimal(str(r["amount"]))) for r in summary["by_competitor"]
    ] == [
        ("Globex", 2, Decimal("3500.50")),
        ("(not given)", 1, Decimal("400")),
        ("Initech", 1, Decimal("99.50")),
    ]
    assert [(r["reason"], r["count"]) for r in summary["by_reason"]] == [
        ("price", 3),
        ("no budget", 1),
    ]

    november = ok(
        cli, "--as", "dana", "deal", "losses", "--from", "2026-11-01", "--to", "2026-11-11"
    )
    assert november["count"] == 2 and november["from"] == "2026-11-01"
    assert [(r["reason"], r["count"]) for r in november["by_reason"]] == [
        ("Price", 1),
        ("no budget", 1),
    ]
    east = ok(cli, "--as", "lee", "deal", "losses")
    assert east["count"] == 3  # a team lead sees the team's deals only
    assert (
        cli("--as", "dana", "deal", "losses", "--from", "2026-12-01", "--to", "2026-11-01").code
        == 1
    )


# -- the stage path stays in date order ---------------------------------------------------------


def dates_in_order(stages: dict[str, str]) -> bool:
    days = list(stages.values())
    return days == sorted(days)


def test_reopening_a_lost_deal_drops_the_loss_and_what_it_passed(
    deal_store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customer_of(cli, "alice")
    made = deal(cli, "alice", customer, "1000")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-22T10:00:00+08:00")
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-24T10:00:00+08:00")
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "lost", "--reason", "price")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-26T10:00:00+08:00")
    back = ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "demo")
    assert list(back["stages"]) == ["lead-in", "demo"]
    assert back["stages"]["demo"] == "2026-11-26" and "reason" not in back
    again = ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    assert list(again["stages"]) == ["lead-in", "demo", "proposal"]
    assert dates_in_order(again["stages"])


def test_a_backdated_signing_keeps_the_stage_path_in_date_order(
    deal_store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customer_of(cli, "alice")
    made = deal(cli, "alice", customer, "1000")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-25T10:00:00+08:00")
    ok(cli, "--as", "alice", "deal", "move", made["id"], "--stage", "proposal")
    signed = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", "T", "--amount", "1000",
        "--signed", "2026-11-23", "--deal", made["id"],
    )  # fmt: skip
    assert signed["signed"] == "2026-11-23"  # the contract keeps the day it was signed
    won = ok(cli, "--as", "alice", "deal", "show", made["id"])
    assert won["stage"] == "won"
    assert list(won["stages"]) == ["lead-in", "proposal", "won"]
    assert won["stages"]["won"] == "2026-11-25" and dates_in_order(won["stages"])


def test_a_refused_new_deal_is_named_by_its_kind_not_a_file_that_does_not_exist(
    store: Path, cli: Any
) -> None:
    customer = customer_of(cli, "alice")
    before = snapshot(store)
    refused = cli("--as", "alice", "deal", "add", customer, "--title", "X", "--amount", "-5")
    assert refused.code == 1
    assert refused.err.startswith("error: new deal D-") and "amount: -5 is negative" in refused.err
    assert "deal.yaml" not in refused.err
    assert snapshot(store) == before
