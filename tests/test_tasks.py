"""Tasks end to end: the won-deal checklist (steps assigned by role, round-robin, the
configurable template), who may update which task, added and reassigned tasks, the list
and the board."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store

from salesctl.ids import new_id
from salesctl.ops.sales.checklist import Step, step_due

STEPS = ["Send contract", "Collect payment", "Activate service", "Issue invoice"]


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


def add_customer(root: Path, owner: str = "alice", team: str = "east") -> str:
    customer_id = new_id("C")
    folder = root / f"teams/{team}/{owner}/customers/{customer_id}"
    folder.mkdir(parents=True)
    (folder / "customer.yaml").write_text(
        "schema_version: 1\nname: Acme\ncreated: 2026-10-01\n", encoding="utf-8"
    )
    commit_all(root, f"customer {customer_id}")
    return customer_id


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def signed_contract(cli: Any, root: Path, owner: str = "alice", team: str = "east") -> Any:
    return ok(
        cli, "--as", owner, "contract", "add", add_customer(root, owner, team), "--title", "ERP",
        "--amount", "1000", "--signed", "2026-11-20",
    )  # fmt: skip


def steps_of(made: Any) -> dict[str, Any]:
    return {t["title"]: t for t in made["tasks"]}


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def trailers(root: Path, key: str) -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)")
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


def store_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str) -> Path:
    root = make_store(tmp_path / "custom", config)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


# -- the won-deal checklist ----------------------------------------------------------------


def test_signing_creates_the_four_steps_assigned_by_role(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    parent, *subtasks = made["tasks"]
    contract_dir = f"teams/east/alice/contracts/{made['id']}"
    assert parent["title"] == "Won-deal checklist: ERP" and parent["assignee"] == "alice"
    assert [t["title"] for t in subtasks] == STEPS
    assert [(t["role"], t["assignee"]) for t in subtasks] == [
        ("owner", "alice"),
        ("finance", "fay"),
        ("service", "sam"),
        ("finance", "fay"),
    ]
    for task in made["tasks"]:
        assert task["path"] == f"{contract_dir}/tasks/{task['id']}.yaml"
        data = load(store, task["path"])
        assert data["record"] == made["id"] and data["status"] == "todo"
        assert data.get("parent") == (None if task is parent else parent["id"])
    assert load(store, subtasks[1]["path"])["done_when"] == "paid"
    assert load(store, subtasks[3]["path"])["done_when"] == "invoiced"
    assert "done_when" not in load(store, subtasks[0]["path"])
    assert cli("--as", "dana", "check").code == 0


def test_steps_go_round_robin_by_fewest_open_tasks(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = (
        "  - {id: fiona, name: Fiona Gu, email: fiona@acme.example, role: finance}\n"
        "  - {id: fred, name: Fred Old, email: fred@acme.example, role: finance, active: false}\n"
    )
    root = store_with(
        tmp_path, monkeypatch, CONFIG.replace("  - {id: sam,", extra + "  - {id: sam,")
    )

    def finance_steps(made: Any) -> tuple[str, str]:
        steps = steps_of(made)
        return steps["Collect payment"]["assignee"], steps["Issue invoice"]["assignee"]

    first = signed_contract(cli, root)
    assert finance_steps(first) == ("fay", "fiona")  # a tie goes by id; the batch counts
    second = signed_contract(cli, root, "nora", "north")
    assert finance_steps(second) == ("fay", "fiona")
    ok(cli, "--as", "fay", "contract", "pay", first["id"], "--amount", "1000")  # ticks hers
    assert finance_steps(signed_contract(cli, root)) == ("fay", "fay")  # fay had fewer open


def test_the_template_comes_from_the_config(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = (
        "won_deal_tasks:\n"
        "  - {title: 寄送合同, role: owner, due_days: 3}\n"
        "  - {title: 收款, role: finance, done_when: paid}\n"
        "  - {title: 复盘, role: lead}\n"
    )
    root = store_with(tmp_path, monkeypatch, CONFIG + template)
    made = signed_contract(cli, root, "nora", "north")
    steps = steps_of(made)
    assert [t["title"] for t in made["tasks"][1:]] == ["寄送合同", "收款", "复盘"]
    assert steps["寄送合同"]["due"] == "2026-11-23"
    assert steps["收款"]["due"] == "2026-12-20"  # the default plan: all due 30 days on
    assert steps["复盘"]["assignee"] == "nick"  # the lead of the owner's team
    paid = ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "1000")
    assert paid["completed_tasks"] == [steps["收款"]["id"]]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("won_deal_tasks:\n  - {title: X, role: wizard}\n", "wizard"),
        ("won_deal_tasks:\n  - {title: X, role: owner, when: later}\n", "when"),
        ("won_deal_tasks:\n  - {role: owner}\n", "title"),
        ("won_deal_tasks:\n  - {title: X, done_when: shipped}\n", "done_when"),
        ("won_deal_tasks: send it\n", "won_deal_tasks"),
    ],
)
def test_a_broken_template_refuses_signing_and_changes_nothing(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, template: str, message: str
) -> None:
    root = store_with(tmp_path, monkeypatch, CONFIG + template)
    customer = add_customer(root)
    before = snapshot(root)
    result = cli(
        "--as", "alice", "contract", "add", customer, "--title", "X", "--amount", "1",
        "--signed", "2026-11-20",
    )  # fmt: skip
    assert result.code == 1 and message in result.err and "salesctl.yaml" in result.err
    assert snapshot(root) == before


def test_an_empty_template_means_no_checklist(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = store_with(tmp_path, monkeypatch, CONFIG + "won_deal_tasks: []\n")
    made = signed_contract(cli, root)
    assert made["tasks"] == []
    assert trailers(root, "Salesctl-Record") == [made["id"]]


def test_a_paid_step_is_due_with_the_plans_last_instalment_and_others_by_due_days() -> None:
    signed = dt.date(2026, 11, 20)
    plan = [{"due": dt.date(2026, 12, 1), "amount": 1}, {"due": dt.date(2027, 3, 1), "amount": 2}]
    collect = Step("Collect payment", "finance", "paid", due_days=30)
    assert step_due(collect, signed, plan) == dt.date(2027, 3, 1)  # the money, not the days
    assert step_due(collect, signed, []) == dt.date(2026, 12, 20)  # a contract without a plan
    invoice = Step("Issue invoice", "finance", "invoiced", due_days=7)
    assert step_due(invoice, signed, plan) == dt.date(2026, 11, 27)
    assert step_due(Step("Send contract", "owner"), signed, plan) is None


# -- who may update which task -----------------------------------------------------------------


def test_the_assignee_updates_their_task_in_someone_elses_contract(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    steps = steps_of(made)
    activate = steps["Activate service"]
    check_po = ok(
        cli, "--as", "alice", "task", "add", "--parent", made["tasks"][0]["id"],
        "--title", "Check the PO", "--assignee", "fay",
    )  # fmt: skip
    assert check_po["path"].startswith(f"teams/east/alice/contracts/{made['id']}/")

    done = ok(cli, "--as", "fay", "task", "done", check_po["id"][:8])
    assert done["status"] == "done" and load(store, check_po["path"])["status"] == "done"
    assert trailers(store, "Salesctl-Action") == ["task.done"]
    assert trailers(store, "Salesctl-Record") == [check_po["id"]]
    assert git(store, "log", "-1", "--format=%ae").strip() == "fay@acme.example"

    before = snapshot(store)
    for actor, task in (
        ("nora", steps["Send contract"]),  # another team's rep
        ("nora", activate),
        ("sam", steps["Send contract"]),  # service: only their own tasks
        ("bob", steps["Send contract"]),  # same team, not theirs, not their directory
    ):
        result = cli("--as", actor, "task", "done", task["id"])
        assert result.code == 3, (actor, task["title"])
        assert result.err.startswith("error: ")
    assert cli("--as", "sam", "task", "assign", activate["id"], "--to", "bob").code == 3
    assert cli("--as", "sam", "task", "add", "--parent", activate["id"], "--title", "x").code == 3
    assert snapshot(store) == before

    started = ok(cli, "--as", "sam", "task", "start", activate["id"])
    assert started["status"] == "doing" and trailers(store, "Salesctl-Action") == ["task.start"]
    assert ok(cli, "--as", "sam", "task", "done", activate["id"])["status"] == "done"
    assert ok(cli, "--as", "lee", "task", "done", steps["Send contract"]["id"])["status"] == "done"
    commits_before = head(store)
    again = cli("--as", "alice", "task", "done", steps["Send contract"]["id"])
    assert again.code == 0 and head(store) == commits_before  # nothing to change, no commit


# -- what a hand may not tick -------------------------------------------------------------------


def test_a_step_the_money_ticks_waits_for_the_money_whoever_asks(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)  # 1000
    steps = steps_of(made)
    collect, invoice = steps["Collect payment"], steps["Issue invoice"]
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "400")
    before = snapshot(store)
    for actor in ("alice", "fay", "dana"):  # the contract's owner, the assignee, a director
        refused = cli("--as", actor, "task", "done", collect["id"])
        assert refused.code == 1, actor
        assert refused.err.startswith("error: ") and refused.err.count("\n") == 1
        assert "400 of 1000 received, 600 still owed" in refused.err
        assert f"contract pay {made['id']} --amount 600" in refused.err  # what ticks it
    refused = cli("--as", "fay", "task", "done", invoice["id"], "--dry-run")
    assert refused.code == 1 and "0 of 1000 invoiced" in refused.err
    assert f"contract invoice {made['id']} --amount 1000" in refused.err
    assert snapshot(store) == before

    assert ok(cli, "--as", "fay", "task", "start", collect["id"])["status"] == "doing"
    paid = ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "600")
    assert paid["completed_tasks"] == [collect["id"]]
    assert ok(cli, "--as", "fay", "task", "done", collect["id"])["status"] == "done"  # no-op
    invoiced = ok(
        cli, "--as", "fay", "contract", "invoice", made["id"], "--amount", "1000",
        "--number", "FP-1",
    )  # fmt: skip
    assert invoiced["completed_tasks"] == [invoice["id"]]


def test_a_step_whose_condition_holds_may_be_ticked_by_hand(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    collect = steps_of(made)["Collect payment"]
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "600")
    ok(cli, "--as", "alice", "contract", "edit", made["id"], "--set", "amount=600")
    assert load(store, collect["path"])["status"] == "todo"  # lowering the amount ticks nothing
    done = ok(cli, "--as", "fay", "task", "done", collect["id"])  # but it is paid in full now
    assert done["status"] == "done" and trailers(store, "Salesctl-Action") == ["task.done"]


def test_a_checklist_is_done_once_its_subtasks_are(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    parent, *subtasks = made["tasks"]
    steps = steps_of(made)
    before = snapshot(store)
    refused = cli("--as", "alice", "task", "done", parent["id"])
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "4 subtask(s) still open" in refused.err
    named = [t["id"] for t in subtasks if t["id"] in refused.err]
    assert len(named) == 3 and " ..." in refused.err  # a few ids, not all
    assert cli("--as", "dana", "task", "done", parent["id"]).code == 1
    assert snapshot(store) == before

    ok(cli, "--as", "alice", "task", "done", steps["Send contract"]["id"])
    ok(cli, "--as", "sam", "task", "done", steps["Activate service"]["id"])
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "1000")
    refused = cli("--as", "alice", "task", "done", parent["id"])
    assert refused.code == 1 and "1 subtask(s) still open" in refused.err
    assert steps["Issue invoice"]["id"] in refused.err and " ..." not in refused.err
    ok(
        cli, "--as", "fay", "contract", "invoice", made["id"], "--amount", "1000",
        "--number", "FP-1",
    )  # fmt: skip
    assert ok(cli, "--as", "alice", "task", "done", parent["id"])["status"] == "done"

    own = ok(cli, "--as", "bob", "task", "add", "--title", "QBR")  # a checklist of one's own
    sub = ok(cli, "--as", "bob", "task", "add", "--parent", own["id"], "--title", "Slides")
    refused = cli("--as", "bob", "task", "done", own["id"])
    assert refused.code == 1 and sub["id"] in refused.err
    ok(cli, "--as", "bob", "task", "done", sub["id"])
    assert ok(cli, "--as", "bob", "task", "done", own["id"])["status"] == "done"


def test_a_cancelled_contracts_step_owes_nothing_and_may_be_ticked(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    collect = steps_of(made)["Collect payment"]
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "100")  # not paid in full
    ok(cli, "--as", "lee", "contract", "cancel", made["id"], "--reason", "withdrew")  # closes all
    reopened = (store / collect["path"]).read_text(encoding="utf-8")
    (store / collect["path"]).write_text(
        reopened.replace("status: done", "status: todo"), encoding="utf-8"
    )
    commit_all(store, "reopened by hand")
    assert ok(cli, "--as", "fay", "task", "done", collect["id"])["status"] == "done"


# -- adding and assigning -----------------------------------------------------------------------


def test_later_needs_join_the_checklist_and_own_tasks_live_with_the_assignee(
    store: Path, cli: Any
) -> None:
    made = signed_contract(cli, store)
    parent = made["tasks"][0]
    renewal = ok(
        cli, "--as", "alice", "task", "add", "--parent", parent["id"], "--title", "Renewal call",
        "--due", "2027-10-01",
    )  # fmt: skip
    contract_dir = f"teams/east/alice/contracts/{made['id']}"
    assert renewal["path"] == f"{contract_dir}/tasks/{renewal['id']}.yaml"
    assert (renewal["parent"], renewal["record"], renewal["assignee"], renewal["due"]) == (
        parent["id"],
        made["id"],
        "alice",
        "2027-10-01",
    )
    assert trailers(store, "Salesctl-Action") == ["task.add"]
    visit = ok(
        cli, "--as", "fay", "task", "add", "--parent", parent["id"], "--title", "Service visit",
        "--assignee", "sam",
    )  # fmt: skip
    assert visit["assignee"] == "sam" and visit["path"].startswith(contract_dir)
    shown = ok(cli, "--as", "alice", "task", "show", parent["id"])
    assert len(shown["subtasks"]) == 6

    own = ok(cli, "--as", "bob", "task", "add", "--title", "Call Wei")
    assert own["path"] == f"teams/east/bob/tasks/{own['id']}/task.yaml"
    by_lead = ok(cli, "--as", "lee", "task", "add", "--title", "Prepare QBR", "--assignee", "bob")
    assert by_lead["owner"] == "bob"
    for_finance = ok(
        cli, "--as", "dana", "task", "add", "--title", "Close books", "--assignee", "fay"
    )
    assert for_finance["path"] == f"members/fay/tasks/{for_finance['id']}/task.yaml"

    before = snapshot(store)
    assert cli("--as", "alice", "task", "add", "--title", "x", "--assignee", "nora").code == 3
    assert cli("--as", "nora", "task", "add", "--parent", parent["id"], "--title", "x").code == 3
    for args in (
        ("--title", "x", "--assignee", "carol"),  # inactive
        ("--title", "x", "--assignee", "zed"),
        ("--title", "x", "--due", "someday"),
        ("--title", "x", "--parent", "T-0000"),
        ("--title", " "),
    ):
        assert cli("--as", "lee", "task", "add", *args).code == 1, args
    assert snapshot(store) == before
    assert cli("--as", "dana", "check").code == 0


def test_assign_keeps_contract_tasks_in_place_and_moves_own_tasks(store: Path, cli: Any) -> None:
    made = signed_contract(cli, store)
    send = steps_of(made)["Send contract"]
    moved = ok(cli, "--as", "lee", "task", "assign", send["id"], "--to", "bob")
    assert moved["assignee"] == "bob" and moved["path"] == send["path"]
    assert trailers(store, "Salesctl-Action") == ["task.assign"]
    assert ok(cli, "--as", "bob", "task", "done", send["id"])["status"] == "done"

    own = ok(cli, "--as", "bob", "task", "add", "--title", "Call Wei")
    given = ok(cli, "--as", "lee", "task", "assign", own["id"], "--to", "alice")
    assert given["path"] == f"teams/east/alice/tasks/{own['id']}/task.yaml"
    assert not (store / own["path"]).exists() and (store / given["path"]).exists()
    changed = git(store, "show", "--name-status", "--no-renames", "--format=", "HEAD").split("\n")
    assert len([c for c in changed if c.strip()]) == 2  # one rename: delete + add
    before = snapshot(store)
    assert cli("--as", "alice", "task", "assign", given["id"], "--to", "nora").code == 3
    assert cli("--as", "lee", "task", "assign", given["id"], "--to", "carol").code == 1
    assert snapshot(store) == before


# -- list and board ---------------------------------------------------------------------------


def test_list_shows_scope_plus_own_tasks_and_the_board_has_three_columns(
    store: Path, cli: Any
) -> None:
    made = signed_contract(cli, store)
    steps = steps_of(made)
    ok(cli, "--as", "sam", "task", "start", steps["Activate service"]["id"])
    ok(cli, "--as", "fay", "contract", "pay", made["id"], "--amount", "1000")  # ticks collect
    ok(cli, "--as", "nora", "task", "add", "--title", "North call")

    def titles(actor: str, *args: str) -> list[str]:
        return [t["title"] for t in ok(cli, "--as", actor, "task", "list", *args)]

    # In alice's directory, but his task shares the contract with him, checklist and all
    # (scopes.shares_of); his own are one flag away.
    assert sorted(titles("sam")) == sorted(["Won-deal checklist: ERP", *STEPS])
    assert titles("sam", "--mine") == ["Activate service"]
    assert titles("nora") == ["North call"]
    assert sorted(titles("alice")) == sorted(["Won-deal checklist: ERP", *STEPS])
    assert sorted(titles("alice", "--mine")) == ["Send contract", "Won-deal checklist: ERP"]
    assert titles("fay", "--mine") == ["Issue invoice", "Collect payment"]  # open first
    assert titles("dana", "--assignee", "sam") == ["Activate service"]
    assert titles("dana", "--status", "done") == ["Collect payment"]
    assert len(titles("dana", "--contract", made["id"])) == 5
    assert len(titles("dana")) == 6
    assert cli("--as", "dana", "task", "list", "--status", "later").code == 1

    board = ok(cli, "--as", "dana", "task", "list", "--board")
    assert list(board) == ["todo", "doing", "done"]
    assert [len(board[c]) for c in board] == [4, 1, 1]
    assert board["doing"][0]["title"] == "Activate service"
    table = cli("--as", "alice", "task", "list", "--board", "-f", "table")
    assert table.code == 0
    header = table.out.splitlines()[0]
    assert header.index("todo") < header.index("doing") < header.index("done")
    assert "Collect payment @fay" in table.out

    assert (
        ok(cli, "--as", "sam", "task", "show", steps["Activate service"]["id"])["status"] == "doing"
    )
    assert cli("--as", "nora", "task", "show", steps["Activate service"]["id"]).code == 3


def test_the_board_by_person_shows_each_won_customer_as_one_card_with_its_subtasks(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = signed_contract(cli, store)
    steps = steps_of(made)
    ok(cli, "--as", "alice", "task", "done", steps["Send contract"]["id"])
    checklist = next(t for t in made["tasks"] if t["title"].startswith("Won-deal checklist"))
    renewal = ok(
        cli, "--as", "alice", "task", "add", "--parent", checklist["id"], "--title", "Renewal",
        "--due", "2026-12-01",
    )  # fmt: skip
    assert renewal["parent"] == checklist["id"] and renewal["record"] == made["id"]
    ok(cli, "--as", "bob", "task", "add", "--title", "Call Initech", "--due", "2026-11-21")
    monkeypatch.setenv("SALESCTL_NOW", "2026-12-24T10:00:00+08:00")  # past every due date

    board = ok(cli, "--as", "lee", "task", "list", "--board", "--by", "assignee")
    assert list(board)[:3] == ["lee", "alice", "bob"]  # the team's active members, in order
    assert "nick" not in board and "carol" not in board  # another team; inactive
    (card,) = board["alice"]
    assert card["id"] == checklist["id"] and card["customer"] == "Acme"
    assert card["progress"] == "1/5"
    assert {s["title"] for s in card["subtasks"]} == {*STEPS, "Renewal"}
    overdue = {s["title"]: s["overdue"] for s in card["subtasks"]}
    # no due date, or done; collecting is due with the plan's last instalment (2026-12-20)
    assert overdue == {**dict.fromkeys(STEPS, False), "Collect payment": True, "Renewal": True}
    (own,) = board["bob"]
    assert own["title"] == "Call Initech" and own["overdue"] is True
    assert own["progress"] is None and own["subtasks"] == []
    # nobody's subtask is a card of its own while its checklist is on the board
    assert not [c for cards in board.values() for c in cards if c.get("parent")]

    north = ok(
        cli, "--as", "dana", "task", "list", "--board", "--by", "assignee", "--team", "north"
    )
    assert set(north) >= {"nick", "nora"} and not north["nick"]
    text = cli("--as", "lee", "task", "list", "--board", "--by", "assignee", "-f", "table").out
    assert "(1/5)" in text and "Acme" in text and "[x]" in text
    assert cli("--as", "lee", "task", "list", "--board", "--by", "colour").code == 1
