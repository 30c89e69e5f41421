"""Contracts end to end on a real git store: where they live, the plan, signing (checklist,
deal won), payments and invoices (who may, refusals with the figures and nothing changed,
closing), show/list figures, status changes, commits, events and a two-clone merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, make_store

from salesctl.ids import new_id
from salesctl.store.store import Store

# -- helpers ---------------------------------------------------------------------------------


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(
        root,
        "-c",
        "user.name=Dana Wu",
        "-c",
        "user.email=dana@acme.example",
        "commit",
        "-qm",
        message,
    )


def add_customer(
    root: Path, owner: str | None = "alice", team: str | None = "east", name: str = "Acme"
) -> str:
    """A customer written by hand (as another tool or person would), committed; owner
    None puts it in the pool."""
    customer_id = new_id("C")
    base = "pool" if owner is None else f"teams/{team}/{owner}" if team else f"members/{owner}"
    folder = root / base / "customers" / customer_id
    folder.mkdir(parents=True)
    (folder / "customer.yaml").write_text(
        f"schema_version: 1\nname: {name}\ncreated: 2026-10-01\n", encoding="utf-8"
    )
    commit_all(root, f"customer {customer_id}")
    return customer_id


def add_deal(root: Path, customer_id: str, owner: str = "alice", team: str = "east") -> str:
    deal_id = new_id("D")
    folder = root / f"teams/{team}/{owner}/deals/{deal_id}"
    folder.mkdir(parents=True)
    (folder / "deal.yaml").write_text(
        "schema_version: 1\n"
        f"customer: {customer_id}\n"
        "title: ERP rollout\n"
        "amount: 100000\n"
        "stage: negotiate\n"
        "stages:\n  negotiate: 2026-10-20\n"
        "created: 2026-10-01\n",
        encoding="utf-8",
    )
    commit_all(root, f"deal {deal_id}")
    return deal_id


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def trailers(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return head(root), git(root, "status", "--porcelain", "--untracked-files=all"), files


def load(root: Path, path: str) -> Any:
    return yaml.safe_load((root / path).read_text(encoding="utf-8"))


def contract(
    cli: Any, customer: str, *extra: str, actor: str = "alice", amount: str = "100000"
) -> Any:
    return ok(
        cli, "--as", actor, "contract", "add", customer, "--title", "ERP licence",
        "--amount", amount, *extra,
    )  # fmt: skip


def D(value: Any) -> Decimal:
    return Decimal(str(value))


# -- add ----------------------------------------------------------------------------------------


def test_add_signed_contract_lives_with_the_customer_and_marks_the_deal_won(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    deal = add_deal(store, customer)
    before = commits(store)
    made = contract(
        cli, customer, "--signed", "2026-11-18", "--deal", deal[:6], "--starts", "2026-12-01",
        "--ends", "2027-11-30", "--plan", "2026-12-01:30000", "--plan", "2027-01-01:30000",
        "--plan", "2027-02-01:40000",
    )  # fmt: skip
    assert commits(store) == before + 1
    assert made["path"] == f"teams/east/alice/contracts/{made['id']}/contract.yaml"
    data = load(store, made["path"])
    assert list(data) == [
        "schema_version", "customer", "deal", "title", "amount", "signed", "starts", "ends",
        "status", "plan", "created",
    ]  # fmt: skip
    assert data["status"] == "signed" and data["deal"] == deal and data["customer"] == customer
    assert [(str(r["due"]), r["amount"]) for r in data["plan"]] == [
        ("2026-12-01", 30000),
        ("2027-01-01", 30000),
        ("2027-02-01", 40000),
    ]
    deal_data = load(store, f"teams/east/alice/deals/{deal}/deal.yaml")
    assert deal_data["stage"] == "won"
    assert str(deal_data["stages"]["won"]) == "2026-11-18"  # won the day it was signed
    assert trailers(store, "Salesctl-Action") == ["contract.add"]
    records = trailers(store, "Salesctl-Record")
    task_ids = [t["id"] for t in made["tasks"]]
    assert len(task_ids) == 5  # the parent and four steps
    assert set(records) == {made["id"], deal, *task_ids} and len(records) == 7
    changed = git(store, "show", "--name-only", "--format=", "HEAD").split()
    assert len(changed) == 7


def test_default_plan_is_due_30_days_after_signing_and_a_draft_has_none(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    signed = contract(cli, customer, "--signed", "2026-11-20", amount="5000.50")
    assert signed["plan"] == [{"due": "2026-12-20", "amount": 5000.5}]
    draft = contract(cli, customer)
    assert draft["status"] == "draft" and "plan" not in draft and "tasks" not in draft
    assert not (store / draft["path"]).parent.joinpath("tasks").exists()
    shown = ok(cli, "--as", "alice", "contract", "show", draft["id"])
    assert shown["outstanding"] == 0 and shown["overdue"] == 0 and shown["plan"] == []


def test_bad_input_is_refused_and_changes_nothing(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    pooled = add_customer(store, owner=None, name="Pool Co")
    other = add_customer(store, owner="nora", team="north", name="North Co")
    deal = add_deal(store, other, owner="nora", team="north")
    before = snapshot(store)
    base = ("--as", "alice", "contract", "add", customer, "--title", "X")
    cases = [
        (*base, "--amount", "100000", "--signed", "2026-11-01", "--plan", "2026-12-01:60000",
         "--plan", "2027-01-01:30000"),
        (*base, "--amount", "-5", "--signed", "2026-11-01"),
        (*base, "--amount", "0"),
        (*base, "--amount", "12.345"),
        (*base, "--amount", "100", "--signed", "2026-13-01"),
        (*base, "--amount", "100", "--plan", "2026-12-01"),
        (*base, "--amount", "100", "--starts", "2027-01-01", "--ends", "2026-01-01"),
        (*base, "--amount", "100", "--deal", deal),  # another customer's deal
        ("--as", "alice", "contract", "add", "C-0000", "--title", "X", "--amount", "1"),
        ("--as", "dana", "contract", "add", pooled, "--title", "X", "--amount", "1"),
    ]  # fmt: skip
    for args in cases:
        result = cli(*args)
        assert result.code == 1, args
        assert result.err.startswith("error: ") and "Traceback" not in result.err
    sum_error = cli(*cases[0]).err
    assert "90000" in sum_error and "100000" in sum_error
    assert (
        cli("--as", "nora", "contract", "add", customer, "--title", "X", "--amount", "1").code == 3
    )
    assert (
        cli("--as", "fay", "contract", "add", customer, "--title", "X", "--amount", "1").code == 3
    )
    assert snapshot(store) == before


def test_sign_a_draft_creates_the_checklist_and_wins_the_deal(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    deal = add_deal(store, customer)
    draft = contract(cli, customer, "--deal", deal)
    assert load(store, f"teams/east/alice/deals/{deal}/deal.yaml")["stage"] == "negotiate"
    signed = ok(cli, "--as", "alice", "contract", "sign", draft["id"], "--date", "2026-11-19")
    assert signed["status"] == "signed" and signed["signed"] == "2026-11-19"
    assert signed["plan"] == [{"due": "2026-12-19", "amount": 100000}]
    assert [t["title"] for t in signed["tasks"]][1:] == [
        "Send contract", "Collect payment", "Activate service", "Issue invoice",
    ]  # fmt: skip
    assert signed["tasks"][2]["due"] == "2026-12-19"  # collecting: with the plan
    assert load(store, f"teams/east/alice/deals/{deal}/deal.yaml")["stage"] == "won"
    assert trailers(store, "Salesctl-Action") == ["contract.sign"]
    again = cli("--as", "alice", "contract", "sign", draft["id"], "--date", "2026-11-19")
    assert again.code == 1 and "not a draft" in again.err


# -- payments and invoices -----------------------------------------------------------------


def test_who_may_record_payments(store: Path, cli: Any) -> None:
    """回款 is finance's (and a director's): not the contract's owner rep or their lead."""
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "2026-11-01")
    pay = ("contract", "pay", made["id"], "--amount", "100", "--date", "2026-11-10")
    for actor in ("fay", "dana", "fay", "dana"):
        before = commits(store)
        paid = ok(cli, "--as", actor, *pay)
        assert paid["author"] == actor and commits(store) == before + 1
        assert trailers(store, "Salesctl-Action") == ["contract.pay"]
        assert set(trailers(store, "Salesctl-Record")) == {paid["id"], made["id"]}
    before = snapshot(store)
    for actor in ("alice", "lee", "bob", "nora", "nick", "sam"):
        result = cli("--as", actor, *pay)
        assert result.code == 3, actor
        invoice = cli("--as", actor, "contract", "invoice", made["id"], "--amount", "1",
                      "--number", f"FP-{actor}")  # fmt: skip
        assert invoice.code == 3, actor
    assert snapshot(store) == before
    shown = ok(cli, "--as", "alice", "contract", "show", made["id"])
    assert shown["received"] == 400 and len(shown["payments"]) == 4


def test_overpayment_is_refused_with_the_figures_and_nothing_changes(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "2026-11-01")
    ok(
        cli,
        "--as",
        "fay",
        "contract",
        "pay",
        made["id"],
        "--amount",
        "100000",
        "--date",
        "2026-11-10",
    )
    (store / "notes.txt").write_text("someone's unrelated edit\n", encoding="utf-8")
    before = snapshot(store)
    result = cli(
        "--as", "fay", "contract", "pay", made["id"], "--amount", "5000", "--date", "2026-11-11"
    )
    assert result.code == 1
    assert "payment 5000 would bring received to 105000 of 100000" in result.err
    assert snapshot(store) == before

    invoice = ("--as", "fay", "contract", "invoice", made["id"], "--date", "2026-11-12")
    ok(cli, *invoice, "--amount", "60000.50", "--number", "FP-1")
    before = snapshot(store)
    refused = cli(*invoice, "--amount", "40000", "--number", "FP-2")
    assert refused.code == 1
    assert "invoice 40000 would bring invoiced to 100000.50 of 100000" in refused.err
    duplicate = cli(*invoice, "--amount", "1", "--number", "FP-1")
    assert duplicate.code == 1 and "FP-1" in duplicate.err
    future = cli(
        "--as", "fay", "contract", "pay", made["id"], "--amount", "1", "--date", "2026-12-01"
    )
    assert future.code == 1
    assert snapshot(store) == before


def test_full_payment_and_invoicing_complete_the_steps_and_close_the_contract(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    made = contract(
        cli, customer, "--signed", "2026-11-01", "--plan", "2026-11-15:40000.25",
        "--plan", "2026-12-15:59999.75",
    )  # fmt: skip
    steps = {t["title"]: t for t in made["tasks"]}
    pay = ("--as", "fay", "contract", "pay", made["id"], "--date", "2026-11-16")
    first = ok(cli, *pay, "--amount", "40000.25", "--ref", "CMB 1")
    assert first["completed_tasks"] == [] and first["outstanding"] == 59999.75
    assert load(store, steps["Collect payment"]["path"])["status"] == "todo"
    second = ok(cli, *pay, "--amount", "59999.75")
    assert second["completed_tasks"] == [steps["Collect payment"]["id"]]
    assert second["contract_status"] == "signed"  # paid, not yet invoiced
    assert load(store, steps["Collect payment"]["path"])["status"] == "done"
    assert set(trailers(store, "Salesctl-Record")) == {
        second["id"], made["id"], steps["Collect payment"]["id"],
    }  # fmt: skip

    ok(cli, "--as", "alice", "contract", "activate", made["id"])
    invoice = ("--as", "fay", "contract", "invoice", made["id"], "--date", "2026-11-18")
    ok(cli, *invoice, "--amount", "50000", "--number", "FP-10")
    last = ok(cli, *invoice, "--amount", "50000", "--number", "FP-11")
    assert last["contract_status"] == "closed"
    assert last["completed_tasks"] == [steps["Issue invoice"]["id"]]
    assert load(store, made["path"])["status"] == "closed"
    assert trailers(store, "Salesctl-Action") == ["contract.invoice"]
    changed = git(store, "show", "--name-only", "--format=", "HEAD").split()
    assert len(changed) == 3  # the invoice, the contract, the task
    shown = ok(cli, "--as", "fay", "contract", "show", made["id"])
    assert (shown["received"], shown["invoiced"], shown["outstanding"]) == (100000, 100000, 0)
    assert [i["status"] for i in shown["plan"]] == ["paid", "paid"]
    assert cli("--as", "dana", "contract", "cancel", made["id"], "--reason", "x").code == 1


def test_drafts_and_cancelled_contracts_take_no_money(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    draft = contract(cli, customer)
    result = cli("--as", "fay", "contract", "pay", draft["id"], "--amount", "1")
    assert result.code == 1 and "sign" in result.err
    signed = contract(cli, customer, "--signed", "2026-11-01")
    assert cli("--as", "alice", "contract", "cancel", signed["id"], "--reason", "x").code == 3
    assert cli("--as", "alice", "contract", "cancel", draft["id"], "--reason", "lost it").code == 0
    cancelled = ok(cli, "--as", "lee", "contract", "cancel", signed["id"], "--reason", "withdrew")
    assert cancelled["status"] == "cancelled" and cancelled["reason"] == "withdrew"
    assert trailers(store, "Salesctl-Action") == ["contract.cancel"]
    assert cli("--as", "fay", "contract", "pay", signed["id"], "--amount", "1").code == 1
    shown = ok(cli, "--as", "lee", "contract", "show", signed["id"])
    assert shown["outstanding"] == 0 and shown["plan"][0]["status"] == "cancelled"
    assert cli("--as", "alice", "contract", "activate", signed["id"]).code == 1


# -- show and list ----------------------------------------------------------------------------


def test_show_gives_money_and_each_instalments_status(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = add_customer(store)
    made = contract(
        cli, customer, "--signed", "2026-10-01", "--plan", "2026-10-15:30000",
        "--plan", "2026-11-15:30000", "--plan", "2026-12-15:40000",
    )  # fmt: skip
    ok(
        cli,
        "--as",
        "fay",
        "contract",
        "pay",
        made["id"],
        "--amount",
        "45000",
        "--date",
        "2026-10-20",
    )
    ok(cli, "--as", "fay", "contract", "invoice", made["id"], "--amount", "30000", "--number", "A1")
    shown = ok(cli, "--as", "alice", "contract", "show", made["id"][:5])
    assert (shown["received"], shown["invoiced"], shown["outstanding"]) == (45000, 30000, 55000)
    assert shown["overdue"] == 15000  # the second instalment's unpaid half, due 2026-11-15
    assert [(p["status"], p["paid"], p["outstanding"]) for p in shown["plan"]] == [
        ("paid", 30000, 0),
        ("overdue", 15000, 15000),
        ("open", 0, 40000),
    ]
    assert shown["plan"][1]["days_overdue"] == 5
    assert shown["customer_name"] == "Acme"
    assert {len(shown[k]) for k in ("payments", "invoices")} == {1}
    assert len(shown["tasks"]) == 5
    later = ok(cli, "--as", "alice", "contract", "show", made["id"], "--as-of", "2026-12-20")
    assert later["overdue"] == 55000
    assert cli("--as", "bob", "contract", "show", made["id"]).code == 3
    assert cli("--as", "alice", "contract", "show", made["id"], "-f", "table").code == 0


def test_list_filters_scope_and_overdue_as_of(store: Path, cli: Any) -> None:
    mine = contract(cli, add_customer(store), "--signed", "2026-10-01")  # due 2026-10-31
    bobs = contract(cli, add_customer(store, "bob"), "--signed", "2026-11-10", actor="bob")
    noras = contract(
        cli, add_customer(store, "nora", "north"), "--signed", "2026-09-01", actor="nora"
    )
    ok(
        cli,
        "--as",
        "fay",
        "contract",
        "pay",
        noras["id"],
        "--amount",
        "100000",
        "--date",
        "2026-10-01",
    )

    def ids(actor: str, *args: str) -> list[str]:
        return sorted(c["id"] for c in ok(cli, "--as", actor, "contract", "list", *args))

    assert ids("dana") == sorted([mine["id"], bobs["id"], noras["id"]])
    assert ids("fay") == ids("dana")
    assert ids("lee") == sorted([mine["id"], bobs["id"]])
    assert ids("alice") == [mine["id"]]
    assert ids("dana", "--team", "north") == [noras["id"]]
    assert ids("dana", "--owner", "bob") == [bobs["id"]]
    assert ids("dana", "--overdue") == [mine["id"]]
    assert ids("dana", "--overdue", "--as-of", "2026-10-30") == []
    assert ids("dana", "--overdue", "--as-of", "2026-12-11") == sorted([mine["id"], bobs["id"]])
    # nora's was due 2026-10-01 and paid that day: never overdue
    assert ids("dana", "--overdue", "--as-of", "2026-10-02") == []
    assert ids("dana", "--status", "signed") == ids("dana")
    assert cli("--as", "dana", "contract", "list", "--status", "nope").code == 1
    row = next(c for c in ok(cli, "--as", "dana", "contract", "list") if c["id"] == noras["id"])
    assert (row["received"], row["outstanding"], row["overdue"]) == (100000, 0, 0)
    assert row["customer_name"] == "Acme"
    table = cli("--as", "dana", "contract", "list", "-f", "table")
    assert table.code == 0 and mine["id"] in table.out


def test_edit_title_plan_and_amount(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "2026-11-01")
    edited = ok(cli, "--as", "alice", "contract", "edit", made["id"], "--set", "title=ERP 2027")
    assert edited["title"] == "ERP 2027"
    assert trailers(store, "Salesctl-Action") == ["contract.edit"]
    resized = ok(cli, "--as", "lee", "contract", "edit", made["id"], "--set", "amount=90000")
    assert resized["plan"] == [{"due": "2026-12-01", "amount": 90000}]  # one instalment follows
    replanned = ok(
        cli, "--as", "alice", "contract", "edit", made["id"], "--plan", "2026-12-01:45000",
        "--plan", "2027-01-01:45000",
    )  # fmt: skip
    assert len(replanned["plan"]) == 2
    ok(
        cli,
        "--as",
        "fay",
        "contract",
        "pay",
        made["id"],
        "--amount",
        "50000",
        "--date",
        "2026-11-02",
    )
    before = snapshot(store)
    for args in (
        ("--set", "amount=40000"),  # below what was received
        ("--set", "amount=95000"),  # two instalments: give the plan
        ("--set", "status=closed"),
        ("--plan", "2026-12-01:1"),
    ):
        assert cli("--as", "alice", "contract", "edit", made["id"], *args).code == 1, args
    assert cli("--as", "bob", "contract", "edit", made["id"], "--set", "title=x").code == 3
    assert snapshot(store) == before


def test_a_new_plan_moves_the_open_collect_payment_step_in_the_same_commit(
    store: Path, cli: Any
) -> None:
    customer = add_customer(store)
    made = contract(
        cli, customer, "--signed", "2026-11-01", "--plan", "2026-11-15:40000",
        "--plan", "2026-12-15:60000",
    )  # fmt: skip
    steps = {t["title"]: t for t in made["tasks"]}
    collect, invoice = steps["Collect payment"], steps["Issue invoice"]
    assert collect["due"] == "2026-12-15" and invoice.get("due") is None
    before = commits(store)

    ok(
        cli, "--as", "alice", "contract", "edit", made["id"], "--plan", "2026-11-15:40000",
        "--plan", "2027-02-15:60000",
    )  # fmt: skip
    assert commits(store) == before + 1
    assert load(store, collect["path"])["due"] == dt.date(2027, 2, 15)
    assert "due" not in load(store, invoice["path"])
    changed = set(git(store, "show", "--name-only", "--format=", "HEAD").split())
    assert changed == {made["path"], collect["path"]}
    assert set(trailers(store, "Salesctl-Record")) == {made["id"], collect["id"]}
    gate = cli("check", "--range", "HEAD~1..HEAD", "--actor", "alice")
    assert gate.code == 0, gate.out + gate.err

    ok(cli, "--as", "alice", "contract", "edit", made["id"], "--set", "title=ERP 2027")
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [made["path"]]
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "100000")  # ticks it
    ok(
        cli, "--as", "alice", "contract", "edit", made["id"], "--plan", "2026-11-15:50000",
        "--plan", "2027-03-01:50000",
    )  # fmt: skip
    assert load(store, collect["path"])["due"] == dt.date(2027, 2, 15)  # done: left alone

    draft = contract(cli, customer)
    signed = ok(
        cli, "--as", "alice", "contract", "sign", draft["id"], "--date", "2026-11-19",
        "--plan", "2026-12-01:30000", "--plan", "2027-01-31:70000",
    )  # fmt: skip
    assert {t["title"]: t.get("due") for t in signed["tasks"]}["Collect payment"] == "2027-01-31"


# -- events -----------------------------------------------------------------------------------


def test_signing_and_payments_announce_events(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from salesctl.ops.sales.contracts import add_contract
    from salesctl.ops.sales.payments import record_payment
    from salesctl.store import store as store_module

    # A WriteResult carries no events: read each landed commit's as the hooks get them.
    announced: list[list[tuple[str, dict[str, Any]]]] = []
    monkeypatch.setattr(store_module, "_after_commit", [lambda _s, tx: announced.append(tx.events)])

    customer = add_customer(store, name="阿里巴巴")
    deal = add_deal(store, customer)
    s = Store(store)
    alice, fay = s.config.members["alice"], s.config.members["fay"]
    made = add_contract(
        s, alice, customer, title="ERP", amount="1000.50", signed="2026-11-20", deal=deal
    ).data
    events = dict(announced[-1])
    assert set(events) == {"contract.signed", "deal.won"}
    assert events["contract.signed"]["amount"] == "1000.50"
    assert events["contract.signed"]["customer"] == "阿里巴巴"
    assert events["contract.signed"]["owner"] == "alice"
    assert events["deal.won"]["deal"] == deal
    s2 = Store(store)
    record_payment(s2, fay, made["id"], amount="1000", date="2026-11-20")
    [(name, payload)] = announced[-1]
    assert name == "payment.received"
    assert (payload["amount"], payload["received"], payload["outstanding"]) == (
        "1000",
        "1000",
        "0.50",
    )
    import json

    json.dumps(announced[-1])  # small JSON-able payloads


# -- two clones ------------------------------------------------------------------------------


def test_finance_payments_and_owner_edits_in_two_clones_merge_cleanly(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALESCTL_STORE", raising=False)
    origin = make_store(tmp_path / "origin")
    customer = add_customer(origin)
    made = ok(
        cli, "--store", str(origin), "--as", "alice", "contract", "add", customer,
        "--title", "ERP", "--amount", "100000", "--signed", "2026-11-01",
        "--plan", "2026-11-15:50000", "--plan", "2026-12-15:50000",
    )  # fmt: skip
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(remote))
    finance, owner = tmp_path / "finance", tmp_path / "owner"
    for clone in (finance, owner):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        git(clone, "config", "pull.rebase", "false")
        git(clone, "config", "user.name", "Someone")
        git(clone, "config", "user.email", "someone@acme.example")

    def run(clone: Path, actor: str, *args: str) -> Any:
        return ok(cli, "--store", str(clone), "--as", actor, *args)

    steps = {t["title"]: t["id"] for t in made["tasks"]}
    kid = made["id"]
    run(finance, "fay", "contract", "pay", kid, "--amount", "50000", "--date", "2026-11-14")
    run(finance, "fay", "contract", "pay", kid, "--amount", "50000", "--date", "2026-11-19")
    run(finance, "fay", "contract", "invoice", kid, "--amount", "100000", "--number", "FP-7")
    run(owner, "alice", "contract", "edit", kid, "--set", "title=ERP licence 2027")
    run(owner, "alice", "task", "done", steps["Send contract"])
    run(owner, "alice", "task", "add", "--parent", steps["Won-deal checklist: ERP"],
        "--title", "Renewal call", "--due", "2027-10-01")  # fmt: skip

    git(finance, "push", "-q", "origin", "main")
    git(owner, "pull", "-q", "--no-edit", "origin", "main")  # a real merge: both sides moved
    assert len(git(owner, "log", "-1", "--format=%P").split()) == 2
    assert git(owner, "status", "--porcelain") == ""
    shown = run(owner, "dana", "contract", "show", kid)
    assert shown["title"] == "ERP licence 2027" and shown["status"] == "closed"
    assert len(shown["payments"]) == 2 and len(shown["invoices"]) == 1
    assert (shown["received"], shown["invoiced"], shown["outstanding"]) == (100000, 100000, 0)
    tasks = {t["title"]: t["status"] for t in shown["tasks"]}
    assert tasks["Send contract"] == tasks["Collect payment"] == tasks["Issue invoice"] == "done"
    assert tasks["Renewal call"] == "todo"
    assert cli("--store", str(owner), "--as", "dana", "check").code == 0


def test_every_command_is_one_commit_with_trailers(store: Path, cli: Any) -> None:
    customer = add_customer(store)
    made = contract(cli, customer)
    ok(cli, "--as", "alice", "contract", "sign", made["id"], "--date", "2026-11-20")
    ok(cli, "--as", "alice", "contract", "activate", made["id"])
    log = git(store, "log", "--format=%(trailers:key=Salesctl-Action,valueonly)%x00", "-3")
    actions = [a.strip() for a in log.split("\0") if a.strip()]
    assert actions == ["contract.activate", "contract.sign", "contract.add"]
    assert trailers(store, "Salesctl-Record") == [made["id"]]
    assert git(store, "log", "-1", "--format=%an <%ae>") == "Alice Lin <alice@acme.example>\n"
    unchanged = cli("--as", "alice", "contract", "activate", made["id"])
    assert unchanged.code == 0 and commits(store) == 5  # config, customer, 3 commands, no 4th


def test_dates_in_json_are_iso(store: Path, cli: Any) -> None:
    made = contract(cli, add_customer(store), "--signed", "2026-11-20")
    assert dt.date.fromisoformat(made["signed"]) == dt.date(2026, 11, 20)
    assert D(made["amount"]) == Decimal(100000)


@pytest.mark.parametrize("typed", ["1,5", "12,00", "1,2,3", "1_000", "1e3", "12,0000"])
def test_a_comma_or_notation_that_is_not_thousands_is_refused_and_nothing_changes(
    store: Path, cli: Any, typed: str
) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "2026-11-01")
    before = snapshot(store)
    result = cli(
        "--as", "fay", "contract", "pay", made["id"], "--amount", typed, "--date", "2026-11-10"
    )
    assert result.code == 1
    assert result.err.startswith("error: ") and repr(typed) in result.err
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("typed", "recorded"), [("12,000", 12000), ("1,234.50", D("1234.50")), (" 99.5 ", D("99.50"))]
)
def test_thousands_separators_in_whole_groups_are_read_as_such(
    store: Path, cli: Any, typed: str, recorded: Decimal
) -> None:
    customer = add_customer(store)
    made = contract(cli, customer, "--signed", "2026-11-01")
    paid = ok(
        cli, "--as", "fay", "contract", "pay", made["id"], "--amount", typed, "--date", "2026-11-10"
    )
    assert D(paid["amount"]) == recorded
