"""Weekly and monthly reports end to end on a real git store built through the CLI.

One store (the "world") is built once per module, with records dated inside and outside
2026-W47 (2026-11-16..22), in both teams and in the pool; every figure a report states is
compared with a value computed here, independently, from a ledger of what was created.
Tests that change the store work on a copy of it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, git, make_store

from salesctl.cli.app import run

W47 = (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
W46 = (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
OCT = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
Q4 = (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
COUNTS = (
    "new_leads",
    "followups",
    "visits",
    "leads_converted",
    "deals_won",
    "deals_lost",
    "contracts_signed",
)
AMOUNTS = ("contract_amount", "payments_received", "outstanding")
FIGURES = COUNTS + AMOUNTS
STAGE_PROBABILITY = {"qualify": 10, "proposal": 40, "negotiate": 70, "won": 100, "lost": 0}
EVIL_NAME = "<b>Acme & Co</b>"
SVG_NS = "http://www.w3.org/2000/svg"


# -- the ledger: what the world holds, as this test module understands it ----------------------


@dataclass
class Lead:
    id: str
    owner: str | None
    created: dt.date
    converted: dt.date | None = None


@dataclass
class Deal:
    id: str
    owner: str
    amount: Decimal
    stages: dict[str, dt.date]
    stage: str


@dataclass
class Contract:
    id: str
    owner: str
    amount: Decimal
    signed: dt.date | None
    status: str  # draft, signed, cancelled


@dataclass
class Payment:
    contract: str
    owner: str
    day: dt.date
    amount: Decimal


@dataclass
class Customer:
    id: str
    owner: str
    source: str | None
    created: dt.date


@dataclass
class World:
    root: Path
    ids: dict[str, str] = field(default_factory=dict)
    leads: list[Lead] = field(default_factory=list)
    followups: list[tuple[str, dt.date]] = field(default_factory=list)  # (author, day)
    visits: list[tuple[str, dt.date, str]] = field(default_factory=list)  # author, day, status
    deals: list[Deal] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)

    def contract(self, contract_id: str) -> Contract:
        return next(c for c in self.contracts if c.id == contract_id)

    def paid(self, contract_id: str, until: dt.date) -> Decimal:
        return sum(
            (p.amount for p in self.payments if p.contract == contract_id and p.day <= until),
            Decimal(0),
        )


def expected_facts(w: World, member: str, span: tuple[dt.date, dt.date]) -> dict[str, Any]:
    """The facts of one member over ``span``, from the ledger (not from salesctl)."""
    start, end = span

    def inside(day: dt.date | None) -> bool:
        return day is not None and start <= day <= end

    live = [c for c in w.contracts if c.owner == member and c.status not in ("draft", "cancelled")]
    signed = [c for c in live if inside(c.signed)]
    return {
        "new_leads": sum(1 for x in w.leads if x.owner == member and inside(x.created)),
        "followups": sum(1 for a, day in w.followups if a == member and inside(day)),
        "visits": sum(1 for a, d, s in w.visits if a == member and s == "done" and inside(d)),
        "leads_converted": sum(1 for x in w.leads if x.owner == member and inside(x.converted)),
        "deals_won": sum(
            1 for d in w.deals if d.owner == member and d.stage == "won" and inside(d.stages["won"])
        ),
        "deals_lost": sum(
            1
            for d in w.deals
            if d.owner == member and d.stage == "lost" and inside(d.stages["lost"])
        ),
        "contracts_signed": len(signed),
        "contract_amount": sum((c.amount for c in signed), Decimal(0)),
        "payments_received": sum(
            (
                p.amount
                for p in w.payments
                if p.owner == member and inside(p.day) and w.contract(p.contract) in live
            ),
            Decimal(0),
        ),
        "outstanding": sum(
            (
                c.amount - w.paid(c.id, end)
                for c in live
                if c.signed is not None and c.signed <= end
            ),
            Decimal(0),
        ),
    }


def summed(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    return {k: sum((Decimal(str(r[k])) for r in rows), Decimal(0)) for k in FIGURES}


# -- building the world through the CLI --------------------------------------------------------


def invoke(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def isolate(mp: pytest.MonkeyPatch, base: Path) -> None:
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("SALESCTL_USER", "SALESCTL_DEBUG", "EDITOR", "VISUAL"):
        mp.delenv(name, raising=False)


def build_world(root: Path, mp: pytest.MonkeyPatch) -> World:
    make_store(root)
    mp.setenv("SALESCTL_STORE", str(root))
    w = World(root)

    def on(day: str) -> dt.date:
        mp.setenv("SALESCTL_NOW", f"{day}T23:30:00+08:00")
        return dt.date.fromisoformat(day)

    def ok(actor: str, *args: str) -> Any:
        result = invoke("--as", actor, *args, "-f", "json")
        assert result.code == 0, (args, result.err)
        return json.loads(result.out)

    def lead(actor: str, company: str, *extra: str, owner: str | None = None) -> str:
        made = ok(actor, "lead", "add", "--company", company, "--name", "Contact", *extra)
        w.leads.append(Lead(made["id"], made["owner"], dt.date.fromisoformat(made["created"])))
        assert made["owner"] == owner if "--pool" in extra else made["owner"] == actor
        return str(made["id"])

    def customer(actor: str, name: str, source: str, *extra: str) -> str:
        made = ok(actor, "customer", "add", "--name", name, "--source", source, *extra)
        day = dt.date.fromisoformat(made["created"])
        w.customers.append(Customer(made["id"], actor, source, day))
        return str(made["id"])

    def followup(actor: str, record: str, at: str) -> None:
        ok(actor, "followup", "add", record, "--text", f"called at {at}", "--at", at)
        w.followups.append((actor, dt.date.fromisoformat(at[:10])))

    def visit(actor: str, record: str, at: str, status: str) -> None:
        made = ok(actor, "visit", "add", record, "--at", at)
        if status == "done":
            ok(actor, "visit", "done", made["id"], "--text", "met the buyer")
        elif status == "cancelled":
            ok(actor, "visit", "cancel", made["id"], "--reason", "they postponed")
        w.visits.append((actor, dt.date.fromisoformat(at[:10]), status))

    def deal(actor: str, cust: str, title: str, amount: str, stage: str, today: dt.date) -> str:
        made = ok(
            actor, "deal", "add", cust, "--title", title, "--amount", amount, "--stage", stage
        )
        w.deals.append(Deal(made["id"], actor, Decimal(amount), {stage: today}, stage))
        return str(made["id"])

    def move(actor: str, deal_id: str, stage: str, today: dt.date, *extra: str) -> None:
        ok(actor, "deal", "move", deal_id, "--stage", stage, *extra)
        d = next(d for d in w.deals if d.id == deal_id)
        d.stage, d.stages[stage] = stage, today

    def contract(
        actor: str, cust: str, title: str, amount: str, signed: str | None, *extra: str
    ) -> str:
        args = ["contract", "add", cust, "--title", title, "--amount", amount, *extra]
        if signed:
            args += ["--signed", signed]
        made = ok(actor, *args)
        day = dt.date.fromisoformat(signed) if signed else None
        w.contracts.append(
            Contract(made["id"], actor, Decimal(amount), day, "signed" if signed else "draft")
        )
        return str(made["id"])

    def pay(actor: str, contract_id: str, amount: str, day: str) -> None:
        ok(actor, "contract", "pay", contract_id, "--amount", amount, "--date", day)
        owner = w.contract(contract_id).owner
        w.payments.append(Payment(contract_id, owner, dt.date.fromisoformat(day), Decimal(amount)))

    ids = w.ids
    # Q3: a contract signed long ago, partly paid, overdue by the end of W47.
    on("2026-09-15")
    ids["old_co"] = customer("alice", "Old Co", "fair", "--industry", "retail")
    ids["k_old"] = contract("alice", ids["old_co"], "Old contract", "40000", "2026-09-15")
    on("2026-09-30")
    pay("fay", ids["k_old"], "15000", "2026-09-30")
    on("2026-10-20")
    ids["l_october"] = lead("alice", "October Co")
    on("2026-11-03")
    lead("alice", "Early Co")  # W45
    # W46: records just before the period.
    today = on("2026-11-10")
    ids["acme"] = customer("alice", EVIL_NAME, "web", "--industry", "tech")
    ids["k_acme"] = contract("alice", ids["acme"], "Acme licence", "50000", "2026-11-10")
    ids["d_lost"] = deal("alice", ids["acme"], "Lost deal", "8000", "qualify", today)
    ids["d_late"] = deal("alice", ids["acme"], "Won later", "15000", "proposal", today)
    lead("bob", "Bob early")
    visit("alice", ids["acme"], "2026-11-10 14:00", "done")
    on("2026-11-12")
    pay("fay", ids["k_acme"], "20000", "2026-11-12")
    on("2026-11-13")
    followup("alice", ids["acme"], "2026-11-13 16:00")
    # W47: the report's period.
    today = on("2026-11-17")
    ids["l_beta"] = lead("alice", "Beta Co", "--source", "referral")
    ids["l_gamma"] = lead("alice", "Gamma Co")
    ids["l_delta"] = lead("alice", "Delta Co")
    ids["l_pool"] = lead("alice", "Pool Co", "--pool")
    ok("lee", "lead", "assign", ids["l_delta"], "--to", "bob")
    next(x for x in w.leads if x.id == ids["l_delta"]).owner = "bob"
    converted = ok(
        "alice", "lead", "convert", ids["l_beta"], "--deal", "Beta deal", "--amount", "30000"
    )
    ids["beta"] = converted["customer"]["id"]
    ids["d_beta"] = converted["deal"]["id"]
    next(x for x in w.leads if x.id == ids["l_beta"]).converted = today
    w.customers.append(Customer(ids["beta"], "alice", "referral", today))
    w.deals.append(Deal(ids["d_beta"], "alice", Decimal(30000), {"qualify": today}, "qualify"))
    followup("alice", ids["l_gamma"], "2026-11-16 00:30")  # first minutes of W47
    followup("alice", ids["beta"], "2026-11-17 09:30")
    followup("lee", ids["beta"], "2026-11-17 10:00")
    ids["bob_corp"] = customer("bob", "Bob Corp", "web", "--industry", "tech")
    deal("bob", ids["bob_corp"], "Bob open", "20000", "proposal", today)
    contract("bob", ids["bob_corp"], "Bob draft", "5000", None)
    ids["north_co"] = customer("nora", "北方公司", "fair")
    lead("nora", "North lead")
    ids["k_north"] = contract("nora", ids["north_co"], "North deal", "9000", "2026-11-17")
    followup("nora", ids["north_co"], "2026-11-17 11:00")
    ids["okr"] = ok(
        "alice", "okr", "add", "--period", "2026-Q4", "--objective", "Grow Acme", "--owner", "alice"
    )["id"]
    ok("alice", "okr", "kr", "add", ids["okr"], "--title", "Sign 200k", "--target", "200000",
       "--metric", "contract_amount")  # fmt: skip
    today = on("2026-11-18")
    visit("alice", ids["beta"], "2026-11-18 10:00", "done")
    ids["k_beta"] = contract(
        "alice", ids["beta"], "Beta contract", "30000", "2026-11-18", "--deal", ids["d_beta"],
        "--plan", "2026-11-20:10000", "--plan", "2026-12-18:20000",
    )  # fmt: skip
    move_won = next(d for d in w.deals if d.id == ids["d_beta"])
    move_won.stage, move_won.stages["won"] = "won", today
    ids["k_cancelled"] = contract("bob", ids["bob_corp"], "Bob cancelled", "7000", "2026-11-18")
    ok("lee", "contract", "cancel", ids["k_cancelled"], "--reason", "customer withdrew")
    w.contract(ids["k_cancelled"]).status = "cancelled"
    today = on("2026-11-19")
    move("alice", ids["d_lost"], "lost", today, "--reason", "price too high", "--lost-to", "Globex")
    visit("alice", ids["beta"], "2026-11-19 15:00", "planned")
    visit("alice", ids["beta"], "2026-11-19 16:00", "cancelled")
    ids["k_bob"] = contract("bob", ids["bob_corp"], "Bob big", "12345.67", "2026-11-19")
    followup("bob", ids["bob_corp"], "2026-11-19 10:00")
    on("2026-11-20")
    pay("fay", ids["k_beta"], "10000", "2026-11-20")
    pay("fay", ids["k_bob"], "2345.67", "2026-11-20")
    followup("alice", ids["beta"], "2026-11-20 09:00")
    # W48: after the period.
    today = on("2026-11-24")
    move("alice", ids["d_late"], "won", today)
    pay("fay", ids["k_bob"], "1000", "2026-11-24")
    lead("alice", "Late Co")
    followup("alice", ids["beta"], "2026-11-24 09:00")
    mp.setenv("SALESCTL_NOW", "2026-11-20T10:00:00+08:00")
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("reports-world")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base)
        return build_world(base / "store", mp)


@pytest.fixture
def wstore(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the world's store (tests may change it)."""
    root = tmp_path / "world"
    shutil.copytree(world.root, root, symlinks=True)
    shutil.rmtree(root / ".git" / "salesctl", ignore_errors=True)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


# -- helpers -----------------------------------------------------------------------------------


def as_json(result: Result) -> Any:
    assert result.code == 0, result.err
    return json.loads(result.out, parse_float=Decimal)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def assert_rows_match(w: World, data: dict[str, Any], span: tuple[dt.date, dt.date]) -> None:
    for row in data["members"]:
        want = expected_facts(w, row["member"], span)
        got = {k: row[k] for k in FIGURES}
        assert got == want, row["member"]
    assert {k: data["totals"][k] for k in FIGURES} == summed(data["members"])


def md_cells(text: str, first_cell: str) -> list[str]:
    """The cells of the Markdown table row whose first cell is ``first_cell``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells[1:]
    raise AssertionError(f"no table row {first_cell!r} in:\n{text}")


def number(cell: str) -> Decimal:
    return Decimal(cell.replace(",", "").replace("*", "").strip())


def has_cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


# -- 1. JSON: the contract and every figure ----------------------------------------------------


def test_team_report_json_has_the_contract_keys_and_exact_figures(
    wstore: Path, world: World, cli: Any
) -> None:
    data = as_json(cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east",
                       "-f", "json"))  # fmt: skip
    assert data["period"] == {
        "kind": "week",
        "id": "2026-W47",
        "from": "2026-11-16",
        "to": "2026-11-22",
    }
    assert data["data_commit"] == head(wstore)
    for key in ("members", "totals", "okrs", "questions"):
        assert key in data
    for row in data["members"]:
        assert set(FIGURES) | {"member"} <= set(row)
    assert set(FIGURES) <= set(data["totals"])
    members = [r["member"] for r in data["members"]]
    assert {"lee", "alice", "bob"} <= set(members)
    assert not {"nick", "nora", "dana", "fay"} & set(members), members  # not team east
    assert_rows_match(world, data, W47)
    alice = next(r for r in data["members"] if r["member"] == "alice")
    bob = next(r for r in data["members"] if r["member"] == "bob")
    # Spelled out once, so a wrong ledger cannot hide a wrong report.
    assert alice["new_leads"] == 2  # Beta, Gamma (Delta went to bob; the pool lead is nobody's)
    assert alice["followups"] == 3 and alice["visits"] == 1
    assert alice["leads_converted"] == 1 and alice["deals_won"] == 1 and alice["deals_lost"] == 1
    assert alice["contracts_signed"] == 1 and alice["contract_amount"] == 30000
    assert alice["payments_received"] == 10000
    assert alice["outstanding"] == 25000 + 30000 + 20000
    assert bob["new_leads"] == 1 and bob["followups"] == 1
    assert bob["contracts_signed"] == 1 and bob["contract_amount"] == Decimal("12345.67")
    assert bob["payments_received"] == Decimal("2345.67") and bob["outstanding"] == 10000
    assert data["totals"]["new_leads"] == 3  # the pool lead is in no member's figures
    okrs = {o["objective"]: o for o in data["okrs"]}
    assert okrs["Grow Acme"]["key_results"][0]["current"] == 80000
    # stage movements in the period: leads entering "new"/"converted", deals entering stages
    team = {"lee", "alice", "bob", "carol"}
    start, end = W47
    lead_moves: dict[str, int] = {}
    for x in world.leads:
        for stage, day in (("new", x.created), ("converted", x.converted)):
            if x.owner in team and day is not None and start <= day <= end:
                lead_moves[stage] = lead_moves.get(stage, 0) + 1
    deal_moves: dict[str, int] = {}
    for d in world.deals:
        for stage, day in d.stages.items():
            if d.owner in team and start <= day <= end:
                deal_moves[stage] = deal_moves.get(stage, 0) + 1
    assert data["stage_movements"] == {"lead": lead_moves, "deal": deal_moves}
    # the trend: new leads and signed amount per week, the report's week last
    trend = data["trend"]
    assert trend[-1]["period"] == "2026-W47" and trend[-2]["period"] == "2026-W46"
    for row, span in ((trend[-1], W47), (trend[-2], W46)):
        want = summed(expected_facts(world, m, span) for m in team)
        assert row["new_leads"] == want["new_leads"], row
        assert row["contract_amount"] == want["contract_amount"], row
    assert isinstance(data["questions"], list) and len(data["questions"]) >= 1


def test_company_report_covers_everyone_and_member_report_one(
    wstore: Path, world: World, cli: Any
) -> None:
    data = as_json(cli("--as", "dana", "report", "weekly", "--week", "2026-W47", "--all",
                       "-f", "json"))  # fmt: skip
    assert data["data_commit"] == head(wstore)
    members = {r["member"] for r in data["members"]}
    assert {"lee", "alice", "bob", "nick", "nora", "dana", "fay"} <= members
    assert_rows_match(world, data, W47)
    nora = next(r for r in data["members"] if r["member"] == "nora")
    assert nora["contracts_signed"] == 1 and nora["contract_amount"] == 9000
    assert nora["new_leads"] == 1 and nora["outstanding"] == 9000
    everyone = ("lee", "alice", "bob", "carol", "nick", "nora", "dana", "fay", "sam", "ada")
    want = summed(expected_facts(world, m, W47) for m in everyone)
    assert {k: data["totals"][k] for k in FIGURES} == want

    mine = as_json(cli("--as", "alice", "report", "weekly", "--week", "2026-W47",
                       "--member", "alice", "-f", "json"))  # fmt: skip
    assert [r["member"] for r in mine["members"]] == ["alice"]
    assert_rows_match(world, mine, W47)
    assert {k: mine["totals"][k] for k in FIGURES} == expected_facts(world, "alice", W47)
    assert [o["objective"] for o in mine["okrs"]] == ["Grow Acme"]
    assert mine["period"]["id"] == "2026-W47" and mine["data_commit"] == head(wstore)


# -- 2. Markdown -------------------------------------------------------------------------------


def test_markdown_states_facts_pipeline_deals_receivables_okrs_and_questions(
    wstore: Path, world: World, cli: Any
) -> None:
    result = cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east")
    assert result.code == 0, result.err
    text = result.out
    names = {"lee": "Lee Chen", "alice": "Alice Lin", "bob": "Bob Li"}
    for member, name in names.items():
        cells = md_cells(text, f"{name} ({member})")
        want = expected_facts(world, member, W47)
        assert [number(c) for c in cells[: len(FIGURES)]] == [want[k] for k in FIGURES], member
    # The pipeline: every deal of the team's members, by current stage.
    team_deals = [d for d in world.deals if d.owner in names]
    for stage, probability in STAGE_PROBABILITY.items():
        amounts = [d.amount for d in team_deals if d.stage == stage]
        cells = md_cells(text, stage)
        assert number(cells[1]) == len(amounts), stage
        assert number(cells[2]) == sum(amounts, Decimal(0)), stage
        assert number(cells[3]) == sum(amounts, Decimal(0)) * probability / 100, stage
    lines = text.splitlines()
    lost = [line for line in lines if "Lost deal" in line]
    assert lost and "price too high" in lost[0] and "Globex" in lost[0]
    won = [line for line in lines if "Beta deal" in line]
    assert won and "30,000.00" in won[0]
    assert not [line for line in lines if "Won later" in line]  # won in W48
    overdue = [line for line in lines if world.ids["k_old"] in line]
    assert overdue and "25,000.00" in overdue[0] and "38" in overdue[0]
    assert not [line for line in lines if world.ids["k_acme"] in line]  # due 2026-12-10
    okr = [line for line in lines if "Sign 200k" in line]
    assert okr and "40%" in okr[0]
    assert any("Grow Acme" in line for line in lines)
    questions = as_json(cli("--as", "lee", "report", "weekly", "--week", "2026-W47",
                            "--team", "east", "-f", "json"))["questions"]  # fmt: skip
    questions = [q["question"] for q in questions]
    assert questions and not any(has_cjk(q) for q in questions)
    for q in questions:
        assert f"### {q}" in lines
    assert text.index("Sign 200k") < text.index(f"### {questions[0]}")
    assert head(wstore)[:12] in text


def test_chinese_report_has_chinese_headings_and_questions(wstore: Path, cli: Any) -> None:
    result = cli("--as", "alice", "report", "weekly", "--week", "2026-W47", "--lang", "zh")
    assert result.code == 0, result.err
    headings = [line for line in result.out.splitlines() if line.startswith("## ")]
    assert len(headings) >= 5
    assert all(has_cjk(h) for h in headings), headings
    assert "## Facts" not in result.out and "What went well" not in result.out
    data = as_json(cli("--as", "alice", "report", "weekly", "--week", "2026-W47", "--lang", "zh",
                       "-f", "json"))  # fmt: skip
    questions = [q["question"] for q in data["questions"]]
    assert len(questions) >= 3 and all(has_cjk(q) for q in questions)
    for q in questions:
        assert f"### {q}" in result.out.splitlines()


def test_configured_questions_team_over_org(wstore: Path, cli: Any) -> None:
    config = wstore / "salesctl.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "reports:\n"
        + "  questions:\n"
        + "    week: [Which customer surprised you?, What did you learn?]\n"
        + "  teams:\n"
        + "    east:\n"
        + "      questions:\n"
        + "        week: [Which East deal is at risk?]\n",
        encoding="utf-8",
    )
    git(wstore, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-qam", "report questions")  # fmt: skip
    east = cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east")
    assert east.code == 0, east.err
    assert "### Which East deal is at risk?" in east.out.splitlines()
    assert "Which customer surprised you?" not in east.out
    assert "What went well" not in east.out
    alice = cli("--as", "alice", "report", "weekly", "--week", "2026-W47")
    assert "### Which East deal is at risk?" in alice.out.splitlines()
    north = as_json(cli("--as", "nick", "report", "weekly", "--week", "2026-W47",
                        "--team", "north", "-f", "json"))  # fmt: skip
    assert [q["question"] for q in north["questions"]] == [
        "Which customer surprised you?",
        "What did you learn?",
    ]
    nora = cli("--as", "nora", "report", "weekly", "--week", "2026-W47")
    assert "### What did you learn?" in nora.out.splitlines()


# -- 3. --commit -------------------------------------------------------------------------------


MINE = "teams/east/alice/reports/2026-W47.md"
SUMMARY = "teams/east/reports/2026-W47.md"


def commit_east(cli: Any) -> None:
    result = cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east",
                 "--commit")  # fmt: skip
    assert result.code == 0, result.err


def test_commit_writes_every_report_in_one_commit(wstore: Path, world: World, cli: Any) -> None:
    before = head(wstore)
    commit_east(cli)
    assert git(wstore, "rev-parse", "HEAD~1").strip() == before  # exactly one commit
    files = set(git(wstore, "show", "--name-only", "--format=", "HEAD").split())
    assert {MINE, SUMMARY, "teams/east/bob/reports/2026-W47.md"} <= files
    assert all(f.startswith("teams/east/") for f in files), files  # nothing of north's
    actions = git(wstore, "log", "-1", "--format=%(trailers:key=Salesctl-Action,valueonly)")
    assert actions.split() == ["report.weekly"]
    assert git(wstore, "log", "-1", "--format=%an").strip() == "Lee Chen"
    assert git(wstore, "status", "--porcelain").strip() == ""
    report = (wstore / MINE).read_text(encoding="utf-8")
    alice = expected_facts(world, "alice", W47)
    cells = md_cells(report, "Alice Lin (alice)")
    assert [number(c) for c in cells[: len(FIGURES)]] == [alice[k] for k in FIGURES]
    assert before[:12] in report  # the data's commit, not the report's own
    team = (wstore / SUMMARY).read_text(encoding="utf-8")
    bob = expected_facts(world, "bob", W47)
    assert number(md_cells(team, "Bob Li (bob)")[0]) == bob["new_leads"]


def test_a_report_after_a_report_commit_names_the_data_commit_before_it(
    wstore: Path, cli: Any
) -> None:
    data_head = head(wstore)
    commit_east(cli)
    assert head(wstore) != data_head  # HEAD is now the report commit
    data = as_json(cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east",
                       "-f", "json"))  # fmt: skip
    assert data["data_commit"] == data_head


def test_committing_unchanged_reports_again_makes_no_commit(wstore: Path, cli: Any) -> None:
    commit_east(cli)
    committed = head(wstore)
    first = (wstore / MINE).read_text(encoding="utf-8")
    assert first.count("Data from commit") == 1
    commit_east(cli)
    again = (wstore / MINE).read_text(encoding="utf-8")
    assert again.count("Data from commit") == 1, again[-300:]  # the footer is not an answer
    assert again == first
    assert head(wstore) == committed  # nothing changed: no second commit


def test_regenerating_keeps_answers_and_updates_figures(
    wstore: Path, world: World, cli: Any
) -> None:
    commit_east(cli)
    report = (wstore / MINE).read_text(encoding="utf-8")
    # alice answers the first question in her report and commits it with plain git
    question = as_json(cli("--as", "alice", "report", "weekly", "--week", "2026-W47",
                           "-f", "json"))["questions"][0]["question"]  # fmt: skip
    heading = f"### {question}\n"
    assert heading in report
    start = report.index(heading) + len(heading)
    end = report.find("\n###", start)
    assert end > 0
    answer = "Closed Beta Co in two days.\nNeed a second demo engineer."
    (wstore / MINE).write_text(report[:start] + "\n" + answer + "\n" + report[end:], "utf-8")
    git(wstore, "-c", "user.name=Alice Lin", "-c", "user.email=alice@acme.example",
        "commit", "-qam", "my answers")  # fmt: skip
    # a new lead in the period changes a figure
    added = cli("--as", "alice", "lead", "add", "--company", "Epsilon Co", "-f", "json")
    assert added.code == 0, added.err
    answered = head(wstore)
    commit_east(cli)
    assert git(wstore, "rev-parse", "HEAD~1").strip() == answered  # one new commit
    text = (wstore / MINE).read_text(encoding="utf-8")
    assert answer in text
    assert text.index(heading) < text.index(answer)
    alice = expected_facts(world, "alice", W47)
    assert number(md_cells(text, "Alice Lin (alice)")[0]) == alice["new_leads"] + 1
    east = summed(expected_facts(world, m, W47) for m in ("lee", "alice", "bob", "carol"))
    total = md_cells((wstore / SUMMARY).read_text("utf-8"), "**Total**")
    assert number(total[0]) == east["new_leads"] + 1


# -- 4. templates and the sandbox --------------------------------------------------------------


def test_store_templates_override_and_the_sandbox_holds(wstore: Path, cli: Any) -> None:
    templates = wstore / "templates"
    templates.mkdir()
    (templates / "evil.md.j2").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8"
    )
    (templates / "mine.md.j2").write_text(
        "MINE {{ subject.id }} {{ period.id }} leads={{ totals.new_leads }}\n", encoding="utf-8"
    )
    git(wstore, "add", "-A")
    git(wstore, "-c", "user.name=X", "-c", "user.email=x@y", "commit", "-qm", "templates")
    evil = cli("--as", "alice", "report", "weekly", "--week", "2026-W47", "--template", "evil")
    assert evil.code == 1, (evil.out, evil.err)
    lines = evil.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), evil.err
    assert "evil" in lines[0]
    assert "Traceback" not in evil.err and "subclasses" not in evil.out
    assert "<class" not in evil.out

    mine = cli("--as", "alice", "report", "weekly", "--week", "2026-W47", "--template", "mine")
    assert mine.code == 0, mine.err
    assert mine.out.strip() == "MINE alice 2026-W47 leads=2"

    default = cli("--as", "alice", "report", "weekly", "--week", "2026-W47")
    assert default.code == 0 and "## Facts" in default.out  # the built-in
    (templates / "report.md.j2").write_text("STORE DEFAULT {{ period.id }}\n", encoding="utf-8")
    overridden = cli("--as", "alice", "report", "weekly", "--week", "2026-W47")
    assert overridden.code == 0, overridden.err
    assert overridden.out.strip() == "STORE DEFAULT 2026-W47"


# -- 5. HTML -----------------------------------------------------------------------------------


def test_html_report_is_self_contained_with_charts_and_escaped_names(
    wstore: Path, cli: Any, tmp_path: Path
) -> None:
    out = tmp_path / "html"
    result = cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east",
                 "-f", "html", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    files = list(out.iterdir())
    assert len(files) == 1 and files[0].suffix == ".html"
    html = files[0].read_text(encoding="utf-8")
    assert html.count("<svg") == 3  # funnel, trend, aging
    assert "<script" not in html.lower()
    urls = re.findall(r"https?://[^\s\"'<>)]*", html)
    assert urls and set(urls) == {SVG_NS}, set(urls)
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html  # the lost deal's customer
    assert EVIL_NAME not in html and "<b>Acme" not in html
    assert "Alice Lin" in html and "Lost deal" in html


# -- 6. permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor,args",
    [
        ("alice", ("--team", "east")),
        ("alice", ("--member", "bob")),
        ("alice", ("--all",)),
        ("lee", ("--team", "north")),
        ("lee", ("--member", "nora")),
        ("nick", ("--all",)),
    ],
)
def test_reports_respect_read_scope(
    wstore: Path, cli: Any, actor: str, args: tuple[str, ...]
) -> None:
    before = head(wstore)
    result = cli("--as", actor, "report", "weekly", "--week", "2026-W47", *args, "-f", "json")
    assert result.code == 3, (result.out, result.err)
    assert result.err.startswith("error:") and result.out == ""
    committed = cli("--as", actor, "report", "weekly", "--week", "2026-W47", *args, "--commit")
    assert committed.code == 3, committed.err
    assert head(wstore) == before


# -- 7. default periods ------------------------------------------------------------------------


def test_default_period_is_the_last_complete_one(
    wstore: Path, world: World, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-20T10:00:00+08:00")  # Friday of W47
    weekly = as_json(cli("--as", "alice", "report", "weekly", "-f", "json"))
    assert weekly["period"] == {
        "kind": "week",
        "id": "2026-W46",
        "from": "2026-11-09",
        "to": "2026-11-15",
    }
    assert_rows_match(world, weekly, W46)
    alice = weekly["members"][0]
    assert alice["contracts_signed"] == 1 and alice["contract_amount"] == 50000
    assert alice["payments_received"] == 20000 and alice["visits"] == 1
    assert alice["followups"] == 1
    explicit = as_json(cli("--as", "alice", "report", "weekly", "--week", "2026-W46", "-f", "json"))
    assert explicit["members"] == weekly["members"]

    monthly = as_json(cli("--as", "alice", "report", "monthly", "-f", "json"))
    assert monthly["period"] == {
        "kind": "month",
        "id": "2026-10",
        "from": "2026-10-01",
        "to": "2026-10-31",
    }
    assert_rows_match(world, monthly, OCT)
    assert monthly["members"][0]["new_leads"] == 1  # October Co

    # On a Monday the last complete week is the one that just ended.
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-23T07:00:00+08:00")
    monday = as_json(cli("--as", "alice", "report", "weekly", "-f", "json"))
    assert monday["period"]["id"] == "2026-W47"
    markdown = cli("--as", "alice", "report", "weekly")
    assert markdown.code == 0 and "2026-W47" in markdown.out


def test_period_flags_are_validated(wstore: Path, cli: Any) -> None:
    for args in (("weekly", "--week", "2026-11"), ("monthly", "--month", "2026-W47"),
                 ("weekly", "--week", "2026-W60"), ("monthly", "--month", "2026-13")):  # fmt: skip
        result = cli("--as", "alice", "report", *args, "-f", "json")
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("error:") and "Traceback" not in result.err
    # --commit checks the period's kind too, before it writes anything
    head = git(wstore, "rev-parse", "HEAD")
    wrong = cli("--as", "alice", "report", "weekly", "--week", "2026-11", "--commit")
    assert wrong.code == 1 and "2026-11 is a month, not a week" in wrong.err
    assert git(wstore, "rev-parse", "HEAD") == head


def test_the_company_commit_writes_reports_for_active_sellers_only(
    wstore: Path, cli: Any, tmp_path: Path
) -> None:
    """Issue 16: --all --commit wrote reports for a departed rep, finance, service and the
    admin; now each active seller of a team gets one, plus the team and company reports.
    The company's HTML file is company-2026-W47.html, not company-company-..."""
    result = cli("--as", "dana", "report", "weekly", "--week", "2026-W47", "--all", "--commit")
    assert result.code == 0, result.err
    files = set(git(wstore, "show", "--name-only", "--format=", "HEAD").split())
    members = {f.split("/")[-3] for f in files if f.count("/") == 4}
    assert members == {"lee", "alice", "bob", "nick", "nora"}  # not carol, fay, sam, ada, dana
    assert {"teams/east/reports/2026-W47.md", "reports/2026-W47.md"} <= files
    subject = git(wstore, "log", "-1", "--format=%s").strip()  # not "for company company"
    assert subject == f"report: 2026-W47 for the company ({len(files)} files)"
    out = tmp_path / "out"
    html = cli("--as", "dana", "report", "weekly", "--week", "2026-W47", "--all", "-f", "html",
               "--out", str(out))  # fmt: skip
    assert html.code == 0, html.err
    assert [p.name for p in out.iterdir()] == ["company-2026-W47.html"]
    one = cli("--as", "lee", "report", "weekly", "--week", "2026-W47", "--team", "east",
              "-f", "html", "--out", str(out))  # fmt: skip
    assert one.code == 0 and (out / "team-east-2026-W47.html").is_file()
    # configurable: only the team leads write a report of their own
    config = wstore / "salesctl.yaml"
    config.write_text(config.read_text() + "reports:\n  writers: [lead]\n")
    git(wstore, "-c", "user.name=Dana", "-c", "user.email=dana@acme.example", "commit", "-qam", "x")
    result = cli("--as", "dana", "report", "weekly", "--week", "2026-W48", "--all", "--commit")
    assert result.code == 0, result.err
    files = set(git(wstore, "show", "--name-only", "--format=", "HEAD").split())
    assert {f.split("/")[-3] for f in files if f.count("/") == 4} == {"lee", "nick"}
    config.write_text(config.read_text().replace("[lead]", "[lead, chief]"))
    assert cli("check").code == 1  # no role chief
