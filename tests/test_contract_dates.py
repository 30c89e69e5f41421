"""A contract's dates follow its signing, end to end: no signing later than today (`contract
add --signed`, `contract sign --date`), no instalment due and no payment or invoice dated
before the signing; each refused with exit 1, the flag and the signing date, and nothing
changed. `check` reports stored records that break the second rule (a merge, a hand edit).

The clock is frozen (conftest: 2026-11-20); dates are typed relative to it where they can be.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from test_contracts import add_customer, commit_all, commits, contract, ok, snapshot

from salesctl import clock
from salesctl.ids import new_id
from salesctl.ops.sales.contract_rules import dating_problems


def refused(cli: Any, store: Path, *args: str) -> str:
    """Run a command that must be refused with exit 1 and change nothing; its error."""
    before = snapshot(store)
    result = cli(*args)
    assert result.code == 1, (args, result.out, result.err)
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert snapshot(store) == before  # HEAD, git status and every file as they were
    return result.err


def days(n: int) -> str:
    return str(clock.today() + dt.timedelta(days=n))


def test_a_signing_later_than_today_is_refused(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    add = ("--as", "alice", "contract", "add", customer, "--title", "X", "--amount", "100")
    err = refused(cli, store, *add, "--signed", "+1d")
    assert "--signed" in err and days(1) in err and str(clock.today()) in err
    draft = contract(cli, customer)
    err = refused(cli, store, "--as", "alice", "contract", "sign", draft["id"], "--date", "+30d")
    assert "--date" in err and days(30) in err
    # today is the latest a contract can be signed
    assert contract(cli, customer, "--signed", "today")["signed"] == days(0)
    assert ok(cli, "--as", "alice", "contract", "sign", draft["id"], "--date", "today")


def test_payments_and_invoices_are_not_dated_before_the_signing(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "-10d")
    signed = days(-10)
    pay = ("--as", "fay", "contract", "pay", made["id"], "--amount", "100")
    err = refused(cli, store, *pay, "--date", "-11d")
    assert "--date" in err and days(-11) in err and signed in err and made["id"] in err
    invoice = ("--as", "fay", "contract", "invoice", made["id"], "--amount", "100")
    err = refused(cli, store, *invoice, "--number", "FP-1", "--date", "2019-01-01")
    assert "--date 2019-01-01" in err and signed in err
    before = commits(store)
    assert ok(cli, *pay, "--date", "-10d")["date"] == signed  # on the signing day is fine
    assert ok(cli, *invoice, "--number", "FP-1", "--date", "-10d")["date"] == signed
    assert commits(store) == before + 2


def test_money_on_a_contract_stored_as_signed_in_the_future_is_refused(
    store: Path, cli: Any
) -> None:
    """A contract written before the rule (or by hand) signed ahead of today takes no money
    dated before that signing, today's default included."""
    customer = add_customer(store)
    contract_id = new_id("K")
    folder = store / f"teams/east/alice/contracts/{contract_id}"
    folder.mkdir(parents=True)
    (folder / "contract.yaml").write_text(
        f"schema_version: 1\ncustomer: {customer}\ntitle: Ahead\namount: 1000\n"
        f"signed: {days(30)}\nstatus: signed\nplan:\n- due: {days(60)}\n  amount: 1000\n"
        f"created: {days(0)}\n",
        encoding="utf-8",
    )
    commit_all(store, "a contract signed ahead")
    err = refused(cli, store, "--as", "fay", "contract", "pay", contract_id, "--amount", "100")
    assert f"today {days(0)} is before" in err and days(30) in err


def test_plan_instalments_are_not_due_before_the_signing(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    add = ("--as", "alice", "contract", "add", customer, "--title", "X", "--amount", "100")
    err = refused(cli, store, *add, "--signed", "-5d", "--plan", "-6d:50", "--plan", "+30d:50")
    assert "--plan" in err and days(-6) in err and days(-5) in err
    assert contract(cli, customer, "--signed", "-5d", "--plan", "-5d:100000")  # the same day

    made = contract(cli, customer, "--signed", "-5d", "--plan", "+30d:100000")
    edit = ("--as", "alice", "contract", "edit", made["id"])
    err = refused(cli, store, *edit, "--plan", "2020-01-01:100000")
    assert "--plan" in err and "2020-01-01" in err and days(-5) in err
    assert ok(cli, *edit, "--plan", "+10d:100000")["plan"][0]["due"] == days(10)

    # signing a draft: neither a given plan nor the draft's own may fall due before it
    draft = contract(cli, customer, "--plan", "-3d:100000")
    sign = ("--as", "alice", "contract", "sign", draft["id"])
    err = refused(cli, store, *sign, "--date", "today")
    assert "--date" in err and days(-3) in err and days(0) in err and "--plan" in err
    err = refused(cli, store, *sign, "--date", "today", "--plan", "-1d:100000")
    assert "--plan" in err and days(-1) in err
    assert ok(cli, *sign, "--date", "-3d")["signed"] == days(-3)


def hand_written_contract(store: Path, customer: str, signed: str, due: str) -> str:
    contract_id = new_id("K")
    folder = store / f"teams/east/alice/contracts/{contract_id}"
    (folder / "payments").mkdir(parents=True)
    (folder / "contract.yaml").write_text(
        f"schema_version: 1\ncustomer: {customer}\ntitle: By hand\namount: 1000\n"
        f"signed: {signed}\nstatus: signed\nplan:\n- due: {due}\n  amount: 1000\n"
        f"created: {signed}\n",
        encoding="utf-8",
    )
    return contract_id


def test_check_reports_stored_dates_before_the_signing(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "-10d")
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "100", "--date", "-1d")
    assert cli("--as", "dana", "check").code == 0
    # what a merge or a hand edit can bring in: a plan and a payment dated before signing
    early = hand_written_contract(store, customer, signed=days(-10), due=days(-20))
    payment = f"teams/east/alice/contracts/{early}/payments/{new_id('P')}.yaml"
    (store / payment).write_text(
        f"schema_version: 1\ncontract: {early}\ndate: {days(-15)}\namount: 100\nauthor: fay\n",
        encoding="utf-8",
    )
    commit_all(store, "by hand")
    result = cli("--as", "dana", "check")
    assert result.code == 1
    contract_file = f"teams/east/alice/contracts/{early}/contract.yaml"
    assert f"{contract_file}: plan: an instalment is due {days(-20)}" in result.out
    assert f"{payment}: date: dated {days(-15)}, before its contract's signing date" in result.out
    assert made["id"] not in result.out
    assert cli("--as", "dana", "check").out == result.out  # the same from the cache


def test_a_future_signing_is_a_write_rule_not_a_stored_problem(store: Path, cli: Any) -> None:
    """`check` says the same of a store on any day: a contract signed ahead of the day check
    runs is not reported (as a payment's future date is not)."""
    customer = add_customer(store)
    hand_written_contract(store, customer, signed=days(5), due=days(35))
    commit_all(store, "signed ahead")
    assert cli("--as", "dana", "check").code == 0


def test_the_rule_check_shares_with_the_writes() -> None:
    signed = dt.date(2026, 11, 10)
    before, on, after = (signed + dt.timedelta(days=d) for d in (-1, 0, 1))
    assert dating_problems(signed, [on, after], [("P-1", on), ("I-1", after)]) == []
    assert dating_problems(None, [before], [("P-1", before)]) == []  # a draft: no signing yet
    found = dating_problems(signed, [after, before], [("P-1", before), ("I-1", on)])
    assert [(entry, field) for entry, field, _message in found] == [(None, "plan"), ("P-1", "date")]
