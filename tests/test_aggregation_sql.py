"""Totals that SQL computes, pinned to figures worked out by hand on a store with tricky
money: 0.1 + 0.2, amounts near the 10**13 limit (sums beyond a float's precision), a deal
without an amount, a broken file, draft and cancelled contracts, payments dated after the
day asked about, and a rep whose config moved her to another team while some of her files
still sit under the old team's directory (``teams/north/alice``).

The store is written file by file (fixed ids, so every ordering is known) and read through
the ``ops`` functions the commands call, plus the CLI once for the JSON contract.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import git, make_store

from salesctl.model.values import MAX_AMOUNT, to_json
from salesctl.ops.sales import contract_figures, deals, okrs, receivables
from salesctl.reports import build as reports
from salesctl.reports import stats
from salesctl.reports.facts import from_cents
from salesctl.store.index_schema import cents
from salesctl.store.store import Store

A, B, N = "teams/east/alice", "teams/east/bob", "teams/north/nora"
MOVED = "teams/north/alice"  # alice is in east now; these files were never moved
BIG = "9999999999999.99"  # the largest amount a record may hold


def _id(prefix: str, tail: str) -> str:
    return f"{prefix}-{tail:0>12}"


def _write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("schema_version: 1\n" + text.strip() + "\n", encoding="utf-8")


def _customer(root: Path, base: str, tail: str, name: str, source: str, created: str) -> None:
    cid = _id("C", tail)
    _write(
        root,
        f"{base}/customers/{cid}/customer.yaml",
        f"name: {name}\nsource: {source}\ncreated: {created}",
    )


def _stages(stages: dict[str, str]) -> str:
    return "stages:\n" + "".join(f"  {s}: {d}\n" for s, d in stages.items())


def _deal(root: Path, base: str, tail: str, amount: str | None, stage: str, **stages: str) -> None:
    did = _id("D", tail)
    customer = _id("C", "X1" if tail == "A3" else tail[0] + "1")  # C-...X1 does not exist
    money = f"amount: {amount}\n" if amount is not None else ""
    lost = "reason: price\nlost_to: Globex\n" if stage == "lost" else ""
    _write(
        root,
        f"{base}/deals/{did}/deal.yaml",
        f"customer: {customer}\ntitle: deal {tail}\n{money}"
        f"stage: {stage}\n{_stages(stages)}{lost}created: 2026-09-01",
    )


def _contract(
    root: Path,
    base: str,
    tail: str,
    customer: str,
    amount: str,
    status: str,
    signed: str | None = None,
    plan: tuple[tuple[str, str], ...] = (),
    payments: tuple[tuple[str, str], ...] = (),
) -> None:
    kid = _id("K", tail)
    text = f"customer: {_id('C', customer)}\ntitle: contract {tail}\namount: {amount}\n"
    text += f"signed: {signed}\n" if signed else ""
    text += f"status: {status}\n"
    text += "reason: withdrew\n" if status == "cancelled" else ""
    if plan:
        text += "plan:\n" + "".join(f"- due: {d}\n  amount: {a}\n" for d, a in plan)
    _write(root, f"{base}/contracts/{kid}/contract.yaml", text + "created: 2026-01-01")
    for number, (date, paid) in enumerate(payments, 1):
        pid = _id("P", f"{tail}{number}")
        _write(
            root,
            f"{base}/contracts/{kid}/payments/{pid}.yaml",
            f"contract: {kid}\ndate: {date}\namount: {paid}\nauthor: fay",
        )


def _lead(root: Path, base: str, tail: str, stage: str, created: str, **stages: str) -> None:
    lid = _id("L", tail)
    _write(
        root,
        f"{base}/leads/{lid}/lead.yaml",
        f"company: Co {tail}\nname: P {tail}\nstage: {stage}\n{_stages(stages)}created: {created}",
    )


def build(root: Path) -> None:
    for base, tail, name, source in (
        (A, "A1", "Acme 甲", "fair"),
        (B, "B1", "Beta", "web"),
        (B, "B2", "Acme 甲", "web"),  # another customer with the same name
        (N, "N1", "Gamma", "fair"),
        (MOVED, "M1", "Delta", "fair"),
    ):
        _customer(root, base, tail, name, source, "2026-11-18" if tail == "B2" else "2026-10-05")
    _deal(root, A, "A1", "0.1", "qualify", qualify="2026-11-16")
    _deal(root, A, "A2", "0.2", "qualify", qualify="2026-11-17")
    _deal(root, A, "A3", BIG, "won", qualify="2026-10-01", won="2026-11-18")
    _deal(root, B, "B1", BIG, "won", qualify="2026-09-01", won="2026-11-19")
    # no amount, which a deal requires: invalid, so no figure counts it (with a warning)
    _deal(root, B, "B2", None, "proposal", proposal="2026-11-02")
    _deal(root, B, "B3", "5", "lost", qualify="2026-11-01", lost="2026-11-20")
    _deal(root, N, "N1", "1234.56", "lost", lost="2026-11-17")
    _deal(root, MOVED, "M1", "500.05", "negotiate", negotiate="2026-11-21")
    (root / B / "deals" / _id("D", "B9")).mkdir(parents=True)
    (root / B / "deals" / _id("D", "B9") / "deal.yaml").write_text("amount: [1,\n")

    _contract(
        root, A, "A1", "A1", "100.3", "signed", "2026-09-01",
        plan=(("2026-10-01", "0.1"), ("2026-11-01", "0.2"), ("2026-12-31", "100")),
        payments=(("2026-10-05", "0.1"), ("2026-11-25", "0.05")),  # the second: after today
    )  # fmt: skip
    _contract(
        root, B, "B1", "B1", BIG, "active", "2026-06-01",
        payments=(("2026-08-01", "0.99"), ("2026-11-18", "0.01")),
    )  # fmt: skip
    _contract(root, B, "B2", "B2", "50", "closed", "2026-01-10", payments=(("2026-02-01", "50"),))
    _contract(root, B, "B3", "B1", "0.7", "signed", "2026-11-17")
    _contract(root, N, "N1", "N1", "500", "draft")
    _contract(root, N, "N2", "N1", "700", "cancelled", "2026-05-01")
    _contract(root, MOVED, "M1", "M1", "0.3", "signed", "2026-11-01")

    _lead(root, A, "A1", "contacted", "2026-11-16", new="2026-11-16", contacted="2026-11-18")
    _lead(root, B, "B1", "converted", "2026-11-10", new="2026-11-10", converted="2026-11-17")
    _lead(root, MOVED, "M1", "new", "2026-11-19", new="2026-11-19")
    for tail, at in (("A1", "2026-11-17T10:00:00+08:00"), ("A2", "2026-11-23T10:00:00+08:00")):
        fid = _id("F", tail)
        _write(
            root,
            f"{A}/leads/{_id('L', 'A1')}/followups/{fid}.yaml",
            f"record: {_id('L', 'A1')}\nauthor: alice\nat: {at}\nvia: call\ntext: called",
        )
    _write(
        root,
        f"teams/east/okrs/{_id('O', 'E1')}/okr.yaml",
        """
period: 2026-Q4
owner: east
objective: Grow
key_results:
- {id: kr1, title: Signed, target: 10, metric: contract_amount}
- {id: kr2, title: Converted, target: 4, metric: leads_converted}
- {id: kr3, title: Received, target: 1, metric: payments_received}
- {id: kr4, title: Owed, target: 20000000000000, metric: outstanding}
- {id: kr5, title: Happy, target: 90, value: 86}
created: 2026-09-29
""",
    )
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm", "w")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    root = make_store(tmp_path / "store")
    build(root)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return Store(root)


def member(store: Store, name: str) -> Any:
    return store.config.members[name]


def money(value: str) -> Any:
    """An amount as the JSON output carries it (int or float), from exact decimal text."""
    return to_json(Decimal(value))


# -- summing in SQL -------------------------------------------------------------------------


def test_sql_sums_of_cents_equal_decimal_sums_across_the_amount_range() -> None:
    """Amounts reach the index as JSON numbers (floats when they have cents); summed as
    integer cents they must give the Decimal sum exactly, where a float sum would not."""
    rng = random.Random(47)
    top = int(MAX_AMOUNT * 100) - 1
    amounts = [Decimal(c).scaleb(-2) for c in (1, 10, 29, 30, 57, 99, 100, top, top - 1)]
    amounts += [Decimal(rng.randrange(top)).scaleb(-2) for _ in range(3000)]
    amounts += [Decimal(rng.randrange(10**6)).scaleb(-2) for _ in range(3000)]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE records(data TEXT)")
    db.executemany(
        "INSERT INTO records VALUES (?)", [(json.dumps({"amount": to_json(a)}),) for a in amounts]
    )
    amount = "json_extract(data, '$.amount')"
    [(total,)] = db.execute(f"SELECT sum({cents(amount)}) FROM records")
    assert from_cents(total) == sum(amounts, Decimal(0))
    [(as_float,)] = db.execute(f"SELECT sum({amount}) FROM records")
    assert Decimal(as_float) != sum(amounts, Decimal(0))  # why the sum is not left to REAL
    each = db.execute(f"SELECT {cents(amount)} FROM records").fetchall()
    assert [from_cents(c) for (c,) in each] == amounts


# -- pipeline ------------------------------------------------------------------------------


def _funnel(rows: list[dict[str, Any]]) -> dict[str, tuple[int, Decimal, Decimal]]:
    return {r["stage"]: (r["count"], r["amount"], r["weighted"]) for r in rows}


def test_pipeline_sums_exactly_per_stage_and_scope(shop: Store) -> None:
    dana = member(shop, "dana")
    everything = deals.pipeline(shop, dana)
    assert [r["stage"] for r in everything] == ["qualify", "proposal", "negotiate", "won", "lost"]
    assert _funnel(everything) == {
        "qualify": (2, Decimal("0.3"), Decimal("0.03")),
        "proposal": (0, Decimal(0), Decimal(0)),
        "negotiate": (1, Decimal("500.05"), Decimal("350.04")),  # 350.035: to the cent, half up
        "won": (2, Decimal("19999999999999.98"), Decimal("19999999999999.98")),
        "lost": (2, Decimal("1239.56"), Decimal(0)),
    }
    no_amount, unreadable = everything.skipped  # type: ignore[attr-defined]
    assert no_amount == f"{B}/deals/{_id('D', 'B2')}/deal.yaml: amount: is required"
    assert unreadable.startswith(f"{B}/deals/{_id('D', 'B9')}/deal.yaml: ")

    east = _funnel(deals.pipeline(shop, dana, team="east"))
    assert east["negotiate"] == (0, Decimal(0), Decimal(0))  # alice's old directory is north
    assert east["lost"] == (1, Decimal(5), Decimal(0))
    north = _funnel(deals.pipeline(shop, dana, team="north"))
    assert north["negotiate"][:2] == (1, Decimal("500.05"))
    mine = _funnel(deals.pipeline(shop, dana, owner="alice"))
    assert mine == _funnel(deals.pipeline(shop, member(shop, "alice")))
    assert {s: c for s, (c, _a, _w) in mine.items()} == {
        "qualify": 2, "proposal": 0, "negotiate": 1, "won": 1, "lost": 0,
    }  # fmt: skip
    assert deals.pipeline(shop, member(shop, "alice")).skipped == []  # type: ignore[attr-defined]


def test_pipeline_json_keeps_its_shape(shop: Store, cli: Any) -> None:
    result = cli("--as", "dana", "pipeline", "-f", "json")
    assert result.code == 0
    assert "warning: skipped" in result.err
    assert result.json()[0] == {
        "stage": "qualify",
        "probability": 10,
        "count": 2,
        "amount": 0.3,
        "weighted": 0.03,
    }
    assert result.json()[3]["amount"] == money("19999999999999.98")


# -- receivables ---------------------------------------------------------------------------

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "d90_plus", "total", "overdue", "contracts")


def _aging(rows: list[dict[str, Any]], key: str) -> dict[Any, tuple[Any, ...]]:
    return {r[key]: tuple(r[b] for b in BUCKETS) for r in rows}


def _d(*values: str | int) -> tuple[Any, ...]:
    return tuple(Decimal(v) if isinstance(v, str) else v for v in values)


def test_receivables_by_owner_team_customer_and_contract(shop: Store) -> None:
    fay = member(shop, "fay")
    # alice: K-A1 has 0.2 19 days late and 100 not yet due (the 0.05 paid on 11-25 is
    # after today), K-M1 0.3 not yet due; bob: K-B1 owes all but 1.00 since 07-01 (142 days),
    # K-B3 0.7 not yet due, K-B2 is paid; nora's draft and cancelled contracts owe nothing.
    by_owner = receivables.receivables(shop, fay)
    assert [r["owner"] for r in by_owner] == ["alice", "bob"]
    assert _aging(by_owner, "owner") == {
        "alice": _d("100.3", "0.2", "0", "0", "0", "100.5", "0.2", 2),
        "bob": _d("0.7", "0", "0", "0", "9999999999998.99", "9999999999999.69",
                  "9999999999998.99", 2),
    }  # fmt: skip
    assert _aging(receivables.receivables(shop, fay, by="team"), "team") == {
        "east": _d("100.7", "0.2", "0", "0", "9999999999998.99", "10000000000099.89",
                   "9999999999999.19", 3),
        "north": _d("0.3", "0", "0", "0", "0", "0.3", "0", 1),
    }  # fmt: skip
    customers = receivables.receivables(shop, fay, by="customer")
    assert [(r["customer"], r["customer_name"], r["contracts"]) for r in customers] == [
        (_id("C", "A1"), "Acme 甲", 1),
        (_id("C", "B1"), "Beta", 2),
        (_id("C", "M1"), "Delta", 1),
    ]
    rows = receivables.receivables(shop, fay, by="contract")
    assert [r["contract"] for r in rows] == [_id("K", t) for t in ("A1", "B1", "B3", "M1")]
    assert rows[3] == {
        "contract": _id("K", "M1"),
        "title": "contract M1",
        "customer": _id("C", "M1"),
        "customer_name": "Delta",
        "owner": "alice",
        "team": "north",
        **dict(zip(BUCKETS, _d("0.3", "0", "0", "0", "0", "0.3", "0", 1), strict=True)),
    }


def test_receivables_on_other_days_and_in_other_scopes(shop: Store) -> None:
    fay = member(shop, "fay")
    early = receivables.receivables(shop, fay, as_of=dt.date(2026, 1, 20))
    assert _aging(early, "owner") == {"bob": _d("50", "0", "0", "0", "0", "50", "0", 1)}
    # 11-10: K-B3 is not signed yet; K-A1's second instalment is 9 days late
    mid = receivables.receivables(shop, fay, as_of=dt.date(2026, 11, 10))
    assert _aging(mid, "owner")["alice"] == _d("100.3", "0.2", "0", "0", "0", "100.5", "0.2", 2)
    assert _aging(mid, "owner")["bob"][4] == Decimal("9999999999999.00")
    mine = receivables.receivables(shop, member(shop, "alice"), by="contract")
    assert [r["contract"] for r in mine] == [_id("K", "A1"), _id("K", "M1")]
    lead = receivables.receivables(shop, member(shop, "lee"), by="contract")
    assert [r["contract"] for r in lead] == [_id("K", t) for t in ("A1", "B1", "B3")]
    assert receivables.receivables(shop, member(shop, "nora")) == []


def test_receivables_json_through_the_cli(shop: Store, cli: Any) -> None:
    result = cli("--as", "fay", "receivables", "--by", "team", "-f", "json")
    assert result.code == 0, result.err
    assert result.json() == to_json(receivables.receivables(shop, member(shop, "fay"), by="team"))
    assert result.json()[0]["d90_plus"] == money("9999999999998.99")


def test_contract_list_and_show_agree_with_receivables(shop: Store) -> None:
    dana = member(shop, "dana")
    listed = {r["id"]: r for r in contract_figures.list_contracts(shop, dana)}
    assert len(listed) == 7
    a1 = listed[_id("K", "A1")]
    assert (a1["received"], a1["outstanding"], a1["overdue"]) == _d("0.1", "100.2", "0.2")
    assert a1["customer_name"] == "Acme 甲"
    assert listed[_id("K", "N1")]["outstanding"] == 0  # a draft owes nothing yet
    assert listed[_id("K", "N2")]["outstanding"] == 0  # nor does a cancelled contract
    later = contract_figures.list_contracts(shop, dana, as_of=dt.date(2026, 11, 30))
    assert {r["id"]: r["received"] for r in later}[_id("K", "A1")] == Decimal("0.15")
    late = contract_figures.list_contracts(shop, dana, overdue=True)
    assert [r["id"] for r in late] == [_id("K", "A1"), _id("K", "B1")]
    shown = contract_figures.show_contract(shop, dana, _id("K", "B1"))
    assert (shown["received"], shown["outstanding"]) == _d("1.00", "9999999999998.99")
    assert shown["customer_name"] == "Beta"


# -- reports -------------------------------------------------------------------------------


def _report(store: Store, **subject: Any) -> dict[str, Any]:
    ask = reports.ReportAsk("week", "2026-W47", **subject)
    return reports.build_report(store, member(store, "dana"), ask)


def test_team_report_counts_members_by_owner_wherever_their_files_are(shop: Store) -> None:
    data = _report(shop, team="east")
    facts = {r["member"]: r for r in data["members"]}
    assert list(facts) == ["lee", "alice", "bob"]  # carol is inactive and did nothing
    alice, bob = facts["alice"], facts["bob"]
    assert (alice["new_leads"], alice["followups"], alice["deals_won"]) == (2, 1, 1)
    assert alice["outstanding"] == money("100.5")  # 11-22: K-A1 100.2 + K-M1 0.3
    assert (bob["leads_converted"], bob["deals_won"], bob["deals_lost"]) == (1, 1, 1)
    assert (bob["contracts_signed"], bob["contract_amount"]) == (1, 0.7)
    assert bob["payments_received"] == 0.01
    assert bob["outstanding"] == money("9999999999999.69")
    assert data["totals"]["outstanding"] == money("10000000000100.19")
    # first seen first: records in id order, stages in each record's order
    assert data["stage_movements"] == {
        "lead": {"new": 2, "contacted": 1, "converted": 1},
        "deal": {"qualify": 2, "won": 2, "lost": 1, "negotiate": 1},
    }
    assert [(r["stage"], r["count"], r["amount"], r["weighted"]) for r in data["pipeline"]] == [
        ("qualify", 2, 0.3, 0.03),
        ("proposal", 0, 0, 0),
        ("negotiate", 1, 500.05, 350.04),
        ("won", 2, money("19999999999999.98"), money("19999999999999.98")),
        ("lost", 1, 5, 0),
    ]
    assert [(d["id"], d["customer"], d["on"]) for d in data["deals_closed"]] == [
        (_id("D", "B3"), "Beta", "2026-11-20"),
        (_id("D", "A3"), _id("C", "X1"), "2026-11-18"),  # no such customer: its id
        (_id("D", "B1"), "Beta", "2026-11-19"),
    ]
    assert [(r["contract"], r["amount"], r["days_overdue"]) for r in data["overdue"]] == [
        (_id("K", "B1"), money("9999999999998.99"), 144),
        (_id("K", "A1"), 0.2, 21),
    ]
    assert data["overdue"][0]["customer"] == "Beta"
    assert data["aging"] == {
        "current": 101,
        "d1_30": 0.2,
        "d31_60": 0,
        "d61_90": 0,
        "d90_plus": money("9999999999998.99"),
        "total": money("10000000000100.19"),
    }
    trend = {r["period"]: (r["new_leads"], r["contract_amount"]) for r in data["trend"]}
    assert len(trend) == 8
    assert (trend["2026-W44"], trend["2026-W46"], trend["2026-W47"]) == ((0, 0.3), (1, 0), (2, 0.7))
    [okr] = data["okrs"]
    current = {kr["id"]: (kr["current"], kr["progress"]) for kr in okr["key_results"]}
    assert current == {
        "kr1": (1, 0.1),  # K-B3 0.7 + K-M1 0.3 signed in Q4
        "kr2": (1, 0.25),
        "kr3": (0.16, 0.16),  # 0.1 + 0.01 + the 0.05 dated 11-25, all in Q4
        "kr4": (money("10000000000100.14"), 0.5),  # owed at 12-31
        "kr5": (86, 0.9556),
    }


def test_the_old_team_of_a_moved_rep_does_not_count_her(shop: Store) -> None:
    data = _report(shop, team="north")
    assert [r["member"] for r in data["members"]] == ["nick", "nora"]
    assert data["totals"]["deals_lost"] == 1 and data["totals"]["new_leads"] == 0
    assert data["stage_movements"] == {"lead": {}, "deal": {"lost": 1}}
    assert [r["count"] for r in data["pipeline"]] == [0, 0, 0, 0, 1]
    assert data["overdue"] == [] and data["aging"]["total"] == 0
    assert data["okrs"] == []
    alice = _report(shop, member="alice")
    assert alice["stage_movements"]["deal"] == {"qualify": 2, "won": 1, "negotiate": 1}
    assert alice["aging"]["current"] == 100.3


def test_report_json_through_the_cli(shop: Store, cli: Any) -> None:
    args = ("report", "weekly", "--team", "east", "--week", "2026-W47", "--format", "json")
    result = cli("--as", "dana", *args)
    assert result.code == 0, result.err
    assert result.json()["totals"]["contract_amount"] == 0.7
    assert cli("--as", "nora", *args).code == 3


# -- stats and OKRs -------------------------------------------------------------------------


def test_contract_stats_group_exact_sums(shop: Store) -> None:
    dana = member(shop, "dana")
    by_owner = stats.stats(shop, dana, "contracts", by="owner")
    assert by_owner == [
        {"owner": "alice", "count": 2, "amount": 100.6, "received": 0.1, "outstanding": 100.5},
        {
            "owner": "bob",
            "count": 3,
            "amount": money("10000000000050.69"),
            "received": 51,
            "outstanding": money("9999999999999.69"),
        },
    ]
    by_customer = stats.stats(shop, dana, "contracts", by="customer")
    assert [(r["customer"], r["count"], r["amount"]) for r in by_customer] == [
        ("Acme 甲", 2, 150.3),  # two customers of one name make one row
        ("Beta", 2, money("10000000000000.69")),
        ("Delta", 1, 0.3),
    ]
    by_month = stats.stats(shop, dana, "contracts", by="month", start="2026-06-01")
    assert [(r["month"], r["count"]) for r in by_month] == [
        ("2026-06", 1),
        ("2026-09", 1),
        ("2026-11", 2),
    ]
    by_stage = stats.stats(shop, dana, "contracts", by="stage", end="2026-11-10")
    assert [(r["stage"], r["count"], r["received"]) for r in by_stage] == [
        ("active", 1, 0.99),  # the 0.01 of 11-18 is after --to
        ("closed", 1, 50),
        ("signed", 2, 0.1),
    ]
    mine = stats.stats(shop, member(shop, "bob"), "contracts", by="team")
    assert mine == [
        {
            "team": "east",
            "count": 3,
            "amount": money("10000000000050.69"),
            "received": 51,
            "outstanding": money("9999999999999.69"),
        }
    ]


def test_customer_and_sales_stats(shop: Store) -> None:
    dana = member(shop, "dana")
    assert stats.stats(shop, dana, "customers", by="source") == [
        {"source": "fair", "count": 3},
        {"source": "web", "count": 2},
    ]
    assert stats.stats(shop, dana, "customers", by="team", start="2026-11-01") == [
        {"team": "east", "count": 1}
    ]
    sales = stats.stats(shop, dana, "sales", by="team", period="2026-W47")
    east = next(r for r in sales if r["team"] == "east")
    assert (east["deals_won"], east["contract_amount"], east["new_leads"]) == (2, 0.7, 2)


def test_okr_list_computes_metrics_over_the_okr_period(shop: Store) -> None:
    [okr] = okrs.list_okrs(shop, member(shop, "dana"))
    assert [kr["current"] for kr in okr["key_results"]] == [
        1,
        1,
        0.16,
        money("10000000000100.14"),
        86,
    ]
    assert okr["progress"] == round((0.1 + 0.25 + 0.16 + 0.5 + 0.9556) / 5, 4)
    assert okrs.list_okrs(shop, member(shop, "nora")) == []
