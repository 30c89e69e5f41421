"""Receivables aging end to end: outstanding amounts per the plan's due dates, payments
settling the earliest instalment first, buckets at their exact boundaries, grouping by
owner/team/customer/contract, read scope, and which contracts count on a given day.

The expected figures are computed here independently of salesctl's code, from the plan
and payments the test itself wrote."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import clock
from salesctl.ids import new_id

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus")
Plan = list[tuple[str, str]]


def add_customer(root: Path, owner: str, team: str | None, name: str) -> str:
    customer_id = new_id("C")
    base = f"teams/{team}/{owner}" if team else f"members/{owner}"
    folder = root / base / "customers" / customer_id
    folder.mkdir(parents=True)
    (folder / "customer.yaml").write_text(
        f"schema_version: 1\nname: {name}\ncreated: 2026-01-05\n", encoding="utf-8"
    )
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm", "c")
    return customer_id


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def add_contract(cli: Any, owner: str, customer: str, signed: str, plan: Plan, *extra: str) -> str:
    amount = sum((Decimal(a) for _d, a in plan), Decimal(0))
    args = [a for due, value in plan for a in ("--plan", f"{due}:{value}")]
    made = ok(
        cli, "--as", owner, "contract", "add", customer, "--title", f"{owner} {signed}",
        "--amount", str(amount), "--signed", signed, *args, *extra,
    )  # fmt: skip
    return str(made["id"])


def pay(cli: Any, contract: str, amount: str, date: str) -> None:
    ok(cli, "--as", "fay", "contract", "pay", contract, "--amount", amount, "--date", date)


def expected_aging(plan: Plan, payments: list[tuple[str, str]], as_of: str) -> dict[str, Decimal]:
    """The buckets worked out by hand: payments up to ``as_of`` fill the instalments in
    due-date order; what is left of each lands in the bucket of its days overdue."""
    day = dt.date.fromisoformat(as_of)
    pot = sum((Decimal(a) for d, a in payments if d <= as_of), Decimal(0))
    result = dict.fromkeys(BUCKETS, Decimal(0))
    for due, value in sorted(plan):
        left = Decimal(value)
        taken = min(left, pot)
        pot -= taken
        left -= taken
        if not left:
            continue
        late = (day - dt.date.fromisoformat(due)).days
        if late <= 0:
            bucket = "current"
        elif late <= 30:
            bucket = "d1_30"
        elif late <= 60:
            bucket = "d31_60"
        elif late <= 90:
            bucket = "d61_90"
        else:
            bucket = "d90_plus"
        result[bucket] += left
    return result


def figures(row: dict[str, Any]) -> dict[str, Decimal]:
    return {b: Decimal(str(row[b])) for b in BUCKETS}


def rows_by(cli: Any, actor: str, key: str, *args: str) -> dict[Any, dict[str, Any]]:
    rows = ok(cli, "--as", actor, "receivables", "--by", key, *args)
    return {row[key]: row for row in rows}


# -- one contract, three instalments, a partial payment ----------------------------------------

PLAN: Plan = [("2026-06-10", "33333.33"), ("2026-08-20", "33333.33"), ("2026-10-31", "33333.44")]
PAYMENTS = [("2026-07-01", "40000.05")]


@pytest.mark.parametrize(
    ("as_of", "by_hand"),
    [
        # inst. 1 paid; 26666.61 of inst. 2 is 92 days late; inst. 3 is 20 days late
        ("2026-11-20", {"d1_30": "33333.44", "d90_plus": "26666.61"}),
        ("2026-09-01", {"current": "33333.44", "d1_30": "26666.61"}),
        # before the payment: inst. 1 is 20 days late, the rest not yet due
        ("2026-06-30", {"current": "66666.77", "d1_30": "33333.33"}),
    ],
)
def test_three_instalments_and_a_partial_payment_age_as_computed_by_hand(
    store: Path, cli: Any, as_of: str, by_hand: dict[str, str]
) -> None:
    customer = add_customer(store, "alice", "east", "Acme")
    contract = add_contract(cli, "alice", customer, "2026-06-01", PLAN)
    for date, amount in PAYMENTS:
        pay(cli, contract, amount, date)

    [row] = ok(cli, "--as", "dana", "receivables", "--aging", "--as-of", as_of)
    expected = expected_aging(PLAN, PAYMENTS, as_of)
    assert figures(row) == expected
    assert expected == {b: Decimal(by_hand.get(b, "0")) for b in BUCKETS}
    assert Decimal(str(row["total"])) == sum(expected.values())
    assert row["owner"] == "alice" and row["contracts"] == 1
    shown = ok(cli, "--as", "alice", "contract", "show", contract, "--as-of", as_of)
    assert Decimal(str(shown["overdue"])) == sum(v for b, v in expected.items() if b != "current")


def test_buckets_at_their_exact_boundaries(store: Path, cli: Any) -> None:
    as_of = dt.date(2026, 11, 20)
    plan = [
        ((as_of - dt.timedelta(days=late)).isoformat(), str(2**i))
        for i, late in enumerate((0, 1, 30, 31, 60, 61, 90, 91))
    ]
    customer = add_customer(store, "alice", "east", "Acme")
    add_contract(cli, "alice", customer, "2026-01-01", plan)
    [row] = ok(cli, "--as", "alice", "receivables")  # as of today, the frozen clock
    assert figures(row) == {
        "current": Decimal(1),
        "d1_30": Decimal(2 + 4),
        "d31_60": Decimal(8 + 16),
        "d61_90": Decimal(32 + 64),
        "d90_plus": Decimal(128),
    }
    assert row["total"] == 255 and row["overdue"] == 254


# -- several contracts: grouping, scope, what counts ------------------------------------------


def test_grouping_scope_and_which_contracts_count(store: Path, cli: Any) -> None:
    acme = add_customer(store, "alice", "east", "Acme")
    globex = add_customer(store, "alice", "east", "Globex")
    initech = add_customer(store, "bob", "east", "Initech")
    north = add_customer(store, "nora", "north", "北方公司")
    hq = add_customer(store, "dana", None, "HQ Client")
    contracts: dict[str, tuple[str, str, str | None, str, Plan, list[tuple[str, str]]]] = {}

    def contract(
        owner: str, team: str | None, customer: str, signed: str, plan: Plan, *paid: str
    ) -> str:
        contract_id = add_contract(cli, owner, customer, signed, plan)
        payments = [(p.split("@")[1], p.split("@")[0]) for p in paid]
        for date, amount in payments:
            pay(cli, contract_id, amount, date)
        contracts[contract_id] = (owner, customer, team, signed, plan, payments)
        return contract_id

    contract("alice", "east", acme, "2026-07-01", [("2026-08-01", "1000"), ("2026-12-01", "500")],
             "300@2026-08-15")  # fmt: skip
    contract("alice", "east", globex, "2026-09-15", [("2026-10-15", "2000.50")])
    contract("bob", "east", initech, "2026-03-01", [("2026-04-01", "700"), ("2026-05-01", "700")],
             "900@2026-11-19")  # fmt: skip
    contract("nora", "north", north, "2026-10-01", [("2026-11-01", "9999.99")], "0.99@2026-11-02")
    contract("dana", None, hq, "2026-11-01", [("2026-12-01", "50")])
    closed = add_contract(cli, "alice", acme, "2026-10-01", [("2026-10-31", "10")])
    pay(cli, closed, "10", "2026-10-10")
    ok(cli, "--as", "fay", "contract", "invoice", closed, "--amount", "10", "--number", "Z-1")
    cancelled = contract("bob", "east", initech, "2026-09-01", [("2026-09-30", "400")])
    ok(cli, "--as", "lee", "contract", "cancel", cancelled, "--reason", "withdrew")
    # it owed 400 until it was cancelled, today: a day before, it still counts
    cancelled_on = {cancelled: clock.today().isoformat()}
    ok(cli, "--as", "alice", "contract", "add", acme, "--title", "Draft", "--amount", "99")
    later = add_contract(cli, "nora", north, "2026-11-20", [("2026-11-25", "123")])

    def expected(as_of: str, key: str, owners: set[str] | None = None) -> dict[Any, Any]:
        groups: dict[Any, dict[str, Decimal]] = defaultdict(
            lambda: dict.fromkeys(BUCKETS, Decimal(0))
        )
        for contract_id, (owner, customer, team, signed, plan, payments) in contracts.items():
            if signed > as_of or (owners is not None and owner not in owners):
                continue
            if cancelled_on.get(contract_id, "9999") <= as_of:
                continue
            aged = expected_aging(plan, payments, as_of)
            if not sum(aged.values()):
                continue
            group = {"owner": owner, "team": team, "customer": customer}[key]
            for bucket, value in aged.items():
                groups[group][bucket] += value
        return dict(groups)

    def actual(actor: str, key: str, *args: str) -> dict[Any, Any]:
        return {k: figures(r) for k, r in rows_by(cli, actor, key, *args).items()}

    contracts[later] = ("nora", north, "north", "2026-11-20", [("2026-11-25", "123")], [])
    for as_of in ("2026-11-20", "2026-10-31", "2027-03-01"):
        for key in ("owner", "team", "customer"):
            assert actual("dana", key, "--as-of", as_of) == expected(as_of, key), (as_of, key)
    assert actual("fay", "owner") == expected("2026-11-20", "owner")
    assert actual("lee", "owner") == expected("2026-11-20", "owner", {"alice", "bob"})
    assert actual("alice", "customer") == expected("2026-11-20", "customer", {"alice"})
    assert actual("nick", "team") == expected("2026-11-20", "team", {"nora"})
    assert actual("sam", "owner") == {}
    assert set(actual("dana", "owner", "--as-of", "2026-09-01")) == {"alice", "bob"}

    by_customer = rows_by(cli, "dana", "customer")
    assert by_customer[north]["customer_name"] == "北方公司"
    assert by_customer[acme]["contracts"] == 1  # the closed contract owes nothing
    by_contract = rows_by(cli, "dana", "contract")
    assert closed not in by_contract and cancelled not in by_contract
    assert len(by_contract) == 6
    assert by_contract[later]["current"] == 123 and by_contract[later]["owner"] == "nora"
    # bob's 900 settled all of April's 700 and 200 of May's: 500 left, 203 days late
    bob_row = next(r for r in by_contract.values() if r["owner"] == "bob")
    assert bob_row["d90_plus"] == 500 and bob_row["total"] == 500


def test_table_output_and_bad_options(store: Path, cli: Any) -> None:
    customer = add_customer(store, "alice", "east", "Acme")
    add_contract(cli, "alice", customer, "2026-09-01", [("2026-10-01", "1500")])
    aging = cli("--as", "dana", "receivables", "--aging", "-f", "table")
    assert aging.code == 0
    header = aging.out.splitlines()[0].split()
    assert header == ["owner", *BUCKETS, "total"]
    assert "total" in aging.out.splitlines()[-2]  # the sum row before the row count
    brief = cli("--as", "dana", "receivables", "--by", "team", "-f", "table")
    assert brief.code == 0 and brief.out.splitlines()[0].split() == [
        "team", "contracts", "overdue", "total",
    ]  # fmt: skip
    assert cli("--as", "dana", "receivables", "--by", "region").code == 1
    assert cli("--as", "dana", "receivables", "--as-of", "2026-02-30").code == 1
    csv = cli("--as", "dana", "receivables", "-f", "csv")
    assert csv.code == 0 and csv.out.splitlines()[0].startswith("owner,current,d1_30")
