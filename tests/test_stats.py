"""``salesctl stats`` over the reports' world: grouped sums equal what the ledger of created
records gives, sales statistics agree with the weekly report, and read scope is respected."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_reports import (
    FIGURES,
    Q4,
    W47,
    World,
    as_json,
    build_world,
    expected_facts,
    isolate,
    summed,
)

TEAMS = {"east": ("lee", "alice", "bob", "carol"), "north": ("nick", "nora")}
NO_TEAM = ("dana", "fay", "sam", "ada")
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("stats-world")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base)
        return build_world(base / "store", mp)


@pytest.fixture
def wstore(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "world"
    shutil.copytree(world.root, root, symlinks=True)
    shutil.rmtree(root / ".git" / "salesctl", ignore_errors=True)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


def stats(cli: Any, actor: str, *args: str) -> list[dict[str, Any]]:
    rows = as_json(cli("--as", actor, "stats", *args, "-f", "json"))
    assert isinstance(rows, list)
    return rows


def expected_contracts(
    w: World, span: tuple[dt.date, dt.date], owners: set[str]
) -> dict[str, dict[str, Any]]:
    """Per owner: contracts signed in ``span`` (not cancelled), their amount, what was
    received on them by the span's end and what is still outstanding."""
    start, end = span
    result: dict[str, dict[str, Any]] = {}
    for c in w.contracts:
        if c.owner not in owners or c.status == "cancelled" or c.signed is None:
            continue
        if not start <= c.signed <= end:
            continue
        row = result.setdefault(
            c.owner,
            {
                "owner": c.owner,
                "count": 0,
                "amount": Decimal(0),
                "received": Decimal(0),
                "outstanding": Decimal(0),
            },
        )
        paid = w.paid(c.id, end)
        row["count"] += 1
        row["amount"] += c.amount
        row["received"] += paid
        row["outstanding"] += c.amount - paid
    return result


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    keyed = {str(r[key]): r for r in rows}
    assert len(keyed) == len(rows), rows
    return keyed


# -- contracts ---------------------------------------------------------------------------------


def test_contract_stats_by_owner_equal_the_ledger(wstore: Path, world: World, cli: Any) -> None:
    rows = by_key(stats(cli, "dana", "contracts", "--by", "owner", "--period", "2026-Q4"), "owner")
    everyone = {"alice", "bob", "nora", "lee", "nick"}
    want = expected_contracts(world, Q4, everyone)
    assert set(rows) == set(want)
    for owner, expected in want.items():
        got = {k: rows[owner][k] for k in ("owner", "count", "amount", "received", "outstanding")}
        assert got == expected, owner
    # spelled out: the Q3 contract, the draft and the cancelled one do not count
    assert rows["alice"]["count"] == 2 and rows["alice"]["amount"] == 80000
    assert rows["alice"]["received"] == 30000 and rows["alice"]["outstanding"] == 50000
    assert rows["bob"]["count"] == 1 and rows["bob"]["amount"] == Decimal("12345.67")
    assert rows["bob"]["received"] == Decimal("3345.67")  # includes the W48 payment
    assert rows["bob"]["outstanding"] == 9000

    # a narrower range: W47 only, payments counted up to its end
    w47 = by_key(
        stats(cli, "dana", "contracts", "--by", "owner", "--from", "2026-11-16", "--to",
              "2026-11-22"),
        "owner",
    )  # fmt: skip
    want = expected_contracts(world, W47, everyone)
    assert {o: {k: r[k] for k in want[o]} for o, r in w47.items()} == want


def test_contract_stats_by_team(wstore: Path, world: World, cli: Any) -> None:
    rows = by_key(stats(cli, "dana", "contracts", "--by", "team", "--period", "2026-Q4"), "team")
    for team, members in TEAMS.items():
        per_owner = expected_contracts(world, Q4, set(members)).values()
        assert rows[team]["count"] == sum(r["count"] for r in per_owner)
        assert rows[team]["amount"] == sum((r["amount"] for r in per_owner), Decimal(0))
        assert rows[team]["received"] == sum((r["received"] for r in per_owner), Decimal(0))
    assert set(rows) == {"east", "north"}


# -- customers ---------------------------------------------------------------------------------


def test_customer_stats_by_source(wstore: Path, world: World, cli: Any) -> None:
    start, end = NOVEMBER
    rows = by_key(
        stats(cli, "dana", "customers", "--by", "source", "--from", str(start), "--to", str(end)),
        "source",
    )
    want: dict[str, int] = {}
    for c in world.customers:
        if start <= c.created <= end:
            want[c.source or "(unknown)"] = want.get(c.source or "(unknown)", 0) + 1
    assert {k: r["count"] for k, r in rows.items()} == want
    assert want == {"web": 2, "referral": 1, "fair": 1}  # Old Co (fair) is from September

    mine = by_key(stats(cli, "alice", "customers", "--by", "source", "--from", str(start),
                        "--to", str(end)), "source")  # fmt: skip
    assert {k: r["count"] for k, r in mine.items()} == {"web": 1, "referral": 1}


# -- sales: the report's figures ---------------------------------------------------------------


def test_sales_stats_by_team_equal_the_weekly_report(wstore: Path, world: World, cli: Any) -> None:
    rows = by_key(
        stats(cli, "dana", "sales", "--by", "team", "--from", "2026-11-16", "--to", "2026-11-22"),
        "team",
    )
    assert {"east", "north"} <= set(rows)
    for team, members in TEAMS.items():
        want = summed(expected_facts(world, m, W47) for m in members)
        assert {k: rows[team][k] for k in FIGURES} == want, team
        lead = members[0]
        report = as_json(cli("--as", lead, "report", "weekly", "--week", "2026-W47", "--team",
                             team, "-f", "json"))  # fmt: skip
        assert {k: rows[team][k] for k in FIGURES} == {k: report["totals"][k] for k in FIGURES}
    company = as_json(cli("--as", "dana", "report", "weekly", "--week", "2026-W47", "--all",
                          "-f", "json"))  # fmt: skip
    assert summed(rows.values()) == {k: company["totals"][k] for k in FIGURES}
    none = summed(expected_facts(world, m, W47) for m in NO_TEAM)
    if "(none)" in rows:
        assert {k: rows["(none)"][k] for k in FIGURES} == none


def test_sales_stats_by_month_and_owner(wstore: Path, world: World, cli: Any) -> None:
    rows = by_key(
        stats(cli, "lee", "sales", "--by", "month", "--from", "2026-10-01", "--to", "2026-11-30"),
        "month",
    )
    assert set(rows) == {"2026-10", "2026-11"}
    east = TEAMS["east"]
    for month, span in (
        ("2026-10", (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
        ("2026-11", NOVEMBER),
    ):
        want = summed(expected_facts(world, m, span) for m in east)
        assert {k: rows[month][k] for k in FIGURES} == want, month


# -- read scope --------------------------------------------------------------------------------


def test_a_reps_stats_cover_only_their_own_records(wstore: Path, world: World, cli: Any) -> None:
    contracts = stats(cli, "alice", "contracts", "--by", "owner", "--period", "2026-Q4")
    assert [r["owner"] for r in contracts] == ["alice"]
    want = expected_contracts(world, Q4, {"alice"})["alice"]
    assert {k: contracts[0][k] for k in want} == want
    by_team = stats(cli, "alice", "contracts", "--by", "team", "--period", "2026-Q4")
    assert len(by_team) == 1 and by_team[0]["amount"] == want["amount"]

    sales = stats(cli, "alice", "sales", "--by", "owner", "--from", "2026-11-16",
                  "--to", "2026-11-22")  # fmt: skip
    assert [r["owner"] for r in sales] == ["alice"]
    assert {k: sales[0][k] for k in FIGURES} == expected_facts(world, "alice", W47)
    team = stats(cli, "alice", "sales", "--by", "team", "--from", "2026-11-16",
                 "--to", "2026-11-22")  # fmt: skip
    assert {k: team[0][k] for k in FIGURES} == expected_facts(world, "alice", W47)

    customers = stats(cli, "bob", "customers", "--by", "owner")
    assert [r["owner"] for r in customers] == ["bob"] and customers[0]["count"] == 1

    lead = by_key(stats(cli, "lee", "contracts", "--by", "owner", "--period", "2026-Q4"), "owner")
    assert set(lead) == {"alice", "bob"}  # not north's nora
    lead_sales = by_key(stats(cli, "lee", "sales", "--by", "owner", "--from", "2026-11-16",
                              "--to", "2026-11-22"), "owner")  # fmt: skip
    assert "nora" not in lead_sales and {"alice", "bob"} <= set(lead_sales)


def test_bad_stats_requests_are_refused(wstore: Path, cli: Any) -> None:
    for args in (
        ("revenue",),
        ("sales", "--by", "industry"),
        ("contracts", "--period", "2026-Q5"),
        ("contracts", "--from", "2026-12-01", "--to", "2026-11-01"),
        ("contracts", "--period", "2026-Q4", "--from", "2026-10-01"),
    ):
        result = cli("--as", "dana", "stats", *args, "-f", "json")
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("error:") and "Traceback" not in result.err


def test_the_sales_bar_chart_compares_money_signed(wstore: Path, world: World, cli: Any) -> None:
    """Issue 16: the terminal chart of `stats sales` plotted each group's count of members,
    1 for everyone when grouped by owner; it plots the contract amount signed."""
    rows = {r["owner"]: r for r in as_json(cli("--as", "dana", "stats", "sales", "-f", "json"))}
    text = cli("--as", "dana", "stats", "sales", "-f", "table").out
    bars = {line.split()[0]: line.count("█") for line in text.splitlines() if line and "█" in line}
    top = max(rows, key=lambda m: rows[m]["contract_amount"])
    assert bars[top] == 30  # the longest bar is the most money, not the most members
    assert all(
        bars.get(m, 0) < 30
        for m in rows
        if rows[m]["contract_amount"] < rows[top]["contract_amount"] / 2
    )
