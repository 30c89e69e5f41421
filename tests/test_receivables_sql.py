"""``Facts.receivables`` settles plans in SQL, from the index's ``instalments`` side table:
it must give, to the cent, what ``money.open_instalments`` gives in Decimal, for any plan
(or none), any payments and any day."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl.model.values import to_json
from salesctl.reports.facts import Facts
from salesctl.reports.money import default_plan, open_instalments
from salesctl.store.index_schema import FIGURES, LOOKUPS, SCHEMA, connect

DAY0 = dt.date(2026, 1, 1)  # the days are offsets from it: the clock plays no part
COLUMNS = "path, id, kind, parent, owner, team, pool, sig, data, problems"


class BareIndex:
    """The part of ``Index`` that ``Facts`` uses, over an in-memory database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, args: Any = (), *, kinds: Any, within: Any = ()) -> Any:
        return self.db.execute(sql, list(args))


cents = st.integers(min_value=0, max_value=10**9) | st.sampled_from([0, 1, 5000, 10000])
instalment = st.tuples(st.integers(min_value=0, max_value=40), cents)  # days often shared
contract = st.tuples(
    st.integers(min_value=0, max_value=100),  # signed
    cents,  # the amount (what a contract without a plan owes)
    st.none() | st.lists(instalment, max_size=5),  # the plan, or none
    st.lists(instalment, max_size=4),  # payments: (day, cents)
)


def amount(value: int) -> Any:
    return to_json(Decimal(value) / 100)


def day(offset: int) -> str:
    return (DAY0 + dt.timedelta(days=offset)).isoformat()


def insert(db: sqlite3.Connection, n: int, spec: tuple[Any, ...]) -> None:
    signed, total, plan, payments = spec
    data: dict[str, Any] = {"customer": "C-1", "title": f"K{n}", "signed": day(signed)}
    data["amount"] = amount(total)
    if plan is not None:
        data["plan"] = [{"due": day(d), "amount": amount(c)} for d, c in plan]
    path = f"teams/east/bob/contracts/K-{n}/contract.yaml"
    rows: list[tuple[Any, ...]] = [
        (path, f"K-{n}", "contract", None, "bob", "east", 0, "s", json.dumps(data), None)
    ]
    for m, (paid_on, paid) in enumerate(payments):
        fields = {"date": day(paid_on), "amount": amount(paid)}
        rows.append(
            (f"{path[:-14]}/payments/P-{n}-{m}.yaml", f"P-{n}-{m}", "payment", f"K-{n}", "bob",
             "east", 0, "s", json.dumps(fields), None)
        )  # fmt: skip
    db.executemany(f"INSERT INTO records({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def expected(spec: tuple[Any, ...], as_of: dt.date) -> list[tuple[dt.date, Decimal]]:
    signed, total, plan, payments = spec
    signed_on = DAY0 + dt.timedelta(days=signed)
    if signed_on > as_of:
        return []
    schedule = (
        [(DAY0 + dt.timedelta(days=d), Decimal(c) / 100) for d, c in plan]
        if plan
        else default_plan(Decimal(total) / 100, signed_on)
    )
    paid = sum(
        (Decimal(c) / 100 for d, c in payments if DAY0 + dt.timedelta(days=d) <= as_of),
        Decimal(0),
    )
    return [(i.due, i.amount) for i in open_instalments(schedule, paid)]


@settings(max_examples=150, deadline=None)
@given(st.lists(contract, min_size=1, max_size=6), st.integers(min_value=0, max_value=120))
def test_sql_settlement_is_money_settle_to_the_cent(
    specs: list[tuple[Any, ...]], as_of_offset: int
) -> None:
    db = connect(":memory:")
    db.executescript(SCHEMA + LOOKUPS + FIGURES)
    for n, spec in enumerate(specs):
        insert(db, n, spec)
    as_of = DAY0 + dt.timedelta(days=as_of_offset)
    config = SimpleNamespace(won_stage="won", lost_stage="lost")
    found = Facts(BareIndex(db), config).receivables(as_of)  # type: ignore[arg-type]
    got = {r.contract: [(i.due, i.amount) for i in r.items] for r in found}
    want = {f"K-{n}": expected(spec, as_of) for n, spec in enumerate(specs)}
    assert got == {k: v for k, v in want.items() if v}


def test_an_amount_the_index_holds_as_text_is_settled_the_exact_way() -> None:
    # Valid records hold numbers (values.to_json); should a row hold an amount as text, its
    # instalment has no cents in the side table and the contract is settled in Decimal.
    db = connect(":memory:")
    db.executescript(SCHEMA + LOOKUPS + FIGURES)
    data: dict[str, Any] = {"customer": "C-1", "title": "K", "signed": day(0), "amount": "300.10"}
    data["plan"] = [{"due": day(10), "amount": "100.05"}, {"due": day(20), "amount": 200.05}]
    path = "teams/east/bob/contracts/K-1/contract.yaml"
    row = (path, "K-1", "contract", None, "bob", "east", 0, "s", json.dumps(data), None)
    db.execute(f"INSERT INTO records({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", row)
    paid = json.dumps({"date": day(1), "amount": 100.06})
    payment = (f"{path[:-14]}/payments/P-1.yaml", "P-1", "payment", "K-1", "bob", "east", 0, "s")
    db.execute(
        f"INSERT INTO records({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", (*payment, paid, None)
    )
    assert db.execute("SELECT cents FROM instalments ORDER BY due").fetchall() == [
        (None,),
        (20005,),
    ]
    config = SimpleNamespace(won_stage="won", lost_stage="lost")
    (found,) = Facts(BareIndex(db), config).receivables(DAY0 + dt.timedelta(days=30))  # type: ignore[arg-type]
    assert [(i.due, i.amount) for i in found.items] == [
        (DAY0 + dt.timedelta(days=20), Decimal("200.04"))  # 0.01 left after the first
    ]
