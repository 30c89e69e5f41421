"""Customer feedback (用户反馈) end to end: matching to a customer (contact email, then the
company email domain but never free mail, then the phone), triage for leads and directors
only, the commands (one commit each), and that a rep never sees another rep's customer's
feedback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from chat_receiver import Receiver, store_with_hook
from conftest import git

from salesctl import clock, scopes
from salesctl.model.kinds import KINDS
from salesctl.ops.records import readable
from salesctl.ops.sales.feedback import match_customer
from salesctl.store.layout import parse_path
from salesctl.store.store import Store


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return result.json()


def code(cli: Any, *args: str) -> int:
    return cli(*args, "-f", "json").code  # type: ignore[no-any-return]


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


ACME = {"contacts": [{"name": "Li", "email": "li@acme-corp.cn", "phone": "13800138000"}]}
GLOBEX = {"contacts": [{"name": "Wu", "email": "wu@qq.com", "phone": "+86 139 0013 9000"}]}


@pytest.mark.parametrize(
    ("email", "phone", "expected"),
    [
        ("LI@acme-corp.cn", None, ("C-ACME", "contact-email")),
        ("boss@acme-corp.cn", None, ("C-ACME", "domain")),
        ("wu@qq.com", None, ("C-GLOBEX", "contact-email")),
        ("someone@qq.com", None, None),  # free mail names no company
        ("someone@qq.com", "139-0013-9000", ("C-GLOBEX", "phone")),
        (None, "+8613800138000", ("C-ACME", "phone")),
        ("boss@acme-corp.cn", "13900139000", ("C-ACME", "domain")),  # email before phone
        (None, None, None),
    ],
)
def test_matching_rules_in_order(email: str | None, phone: str | None, expected: Any) -> None:
    customers = [("C-ACME", ACME), ("C-GLOBEX", GLOBEX)]
    assert match_customer(customers, email=email, phone=phone, region="CN") == expected


@pytest.fixture
def customers(store: Path, cli: Any) -> dict[str, str]:
    alice = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
    ok(cli, "--as", "alice", "contact", "add", alice, "--name", "Li", "--email", "li@acme-corp.cn")
    bob = ok(cli, "--as", "bob", "customer", "add", "--name", "Globex")["id"]
    ok(cli, "--as", "bob", "contact", "add", bob, "--name", "Wu", "--phone", "13900139000")
    return {"alice": alice, "bob": bob}


def add(cli: Any, actor: str, *extra: str) -> Any:
    return ok(cli, "--as", actor, "feedback", "add", "--source", "github", "--text", "slow", *extra)


def test_matched_feedback_lives_with_its_customer_and_is_the_owners(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    before = commits(store)
    fb = add(cli, "alice", "--email", "cto@acme-corp.cn", "--author", "cto")
    assert commits(store) == before + 1
    assert fb["customer"] == customers["alice"] and fb["matched_by"] == "domain"
    assert fb["status"] == "open" and fb["id"].startswith("FB-")
    assert fb["path"].endswith(f"/customers/{customers['alice']}/feedback/{fb['id']}.yaml")
    assert (store / fb["path"]).is_file()
    shown = ok(cli, "--as", "alice", "customer", "show", customers["alice"])
    assert [f["id"] for f in shown["feedback"]] == [fb["id"]]
    # a rep cannot see another rep's customer's feedback
    assert code(cli, "--as", "bob", "feedback", "show", fb["id"]) == 3
    assert ok(cli, "--as", "bob", "feedback", "list") == []
    assert code(cli, "--as", "bob", "feedback", "close", fb["id"]) == 3
    # bob records feedback for alice's customer: placed, but he learns nothing of it
    placed = add(cli, "bob", "--email", "li@acme-corp.cn")
    assert set(placed) == {"id", "kind", "status"}
    assert ok(cli, "--as", "bob", "feedback", "list") == []
    rules = sorted(f["matched_by"] for f in ok(cli, "--as", "alice", "feedback", "list"))
    assert rules == ["contact-email", "domain"]
    # the owner's lead and a director see it; another team's lead does not
    assert len(ok(cli, "--as", "lee", "feedback", "list")) == 2
    assert len(ok(cli, "--as", "dana", "feedback", "list")) == 2
    assert ok(cli, "--as", "nick", "feedback", "list") == []


def test_ack_close_one_commit_each_and_customer_show_lists_only_open(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    fb = add(cli, "bob", "--phone", "+86 139 0013 9000")
    assert fb["matched_by"] == "phone" and fb["customer"] == customers["bob"]
    before = commits(store)
    assert ok(cli, "--as", "bob", "feedback", "ack", fb["id"])["status"] == "acknowledged"
    assert ok(cli, "--as", "bob", "feedback", "ack", fb["id"])["status"] == "acknowledged"
    assert commits(store) == before + 1  # acknowledging twice changes nothing
    assert ok(cli, "--as", "bob", "customer", "show", customers["bob"])["feedback"] == []
    assert [f["id"] for f in ok(cli, "--as", "bob", "feedback", "list", "--status", "acknowledged")]
    assert ok(cli, "--as", "lee", "feedback", "close", fb["id"])["status"] == "closed"
    assert commits(store) == before + 2
    assert ok(cli, "--as", "bob", "feedback", "list", "--status", "open") == []
    assert code(cli, "--as", "bob", "feedback", "list", "--status", "done") == 1
    listed = ok(cli, "--as", "bob", "feedback", "list", "--customer", customers["bob"])
    assert [f["id"] for f in listed] == [fb["id"]]
    assert code(cli, "--as", "bob", "feedback", "list", "--customer", customers["alice"]) == 3


def test_unmatched_feedback_waits_in_triage_for_leads_and_directors(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    fb = add(cli, "alice", "--email", "someone@gmail.com", "--link", "https://x.example/1")
    assert set(fb) == {"id", "kind", "status"}  # alice placed it in triage, which she can't read
    path = f"feedback/{fb['id']}/feedback.yaml"
    assert (store / path).is_file()
    for member in ("alice", "bob", "nora", "fay", "sam"):
        assert ok(cli, "--as", member, "feedback", "list") == [], member
        assert code(cli, "--as", member, "feedback", "show", fb["id"]) == 3, member
    for member in ("lee", "nick", "dana"):
        assert [f["id"] for f in ok(cli, "--as", member, "feedback", "list")] == [fb["id"]]
    before = commits(store)
    assert code(cli, "--as", "alice", "feedback", "assign", fb["id"], "--to", "alice") == 3
    assert code(cli, "--as", "nick", "feedback", "assign", fb["id"]) == 1  # neither option
    # a lead of another team may not put it with the east team's customer
    other_team = ("--customer", customers["alice"])
    assert code(cli, "--as", "nick", "feedback", "assign", fb["id"], *other_team) == 3
    assert commits(store) == before
    moved = ok(
        cli, "--as", "lee", "feedback", "assign", fb["id"],
        "--customer", customers["alice"], "--to", "alice",
    )  # fmt: skip
    assert commits(store) == before + 1
    assert moved["customer"] == customers["alice"] and moved["matched_by"] == "hand"
    assert moved["assignee"] == "alice" and not (store / path).exists()
    assert (store / moved["path"]).is_file()
    assert [f["id"] for f in ok(cli, "--as", "alice", "feedback", "list")] == [fb["id"]]
    assert ok(cli, "--as", "alice", "feedback", "close", fb["id"])["status"] == "closed"
    assert ok(cli, "check", "-f", "json") == []


def test_bad_input_changes_nothing(store: Path, cli: Any, customers: dict[str, str]) -> None:
    before = commits(store)
    assert code(cli, "--as", "alice", "feedback", "add", "--source", "x", "--text", " ") == 1
    assert code(cli, "--as", "alice", "feedback", "add", "--source", " ", "--text", "t") == 1
    bad_email = ("--source", "x", "--text", "t", "--email", "nope")
    assert code(cli, "--as", "alice", "feedback", "add", *bad_email) == 1
    assert code(cli, "--as", "ada", "feedback", "add", "--source", "x", "--text", "t") == 3
    assert code(cli, "--as", "alice", "feedback", "show", "FB-0000") == 1
    assert commits(store) == before


def test_triage_read_rule_python_and_sql_agree(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    add(cli, "dana", "--email", "x@gmail.com")
    add(cli, "dana", "--email", "li@acme-corp.cn")
    s = Store.discover(str(store))
    rows = [(path, parse_path(path)) for kind in KINDS for path, _d, _p in s.index.query(kind)]
    for member in s.config.members.values():
        rule = readable(s, member)
        where, args = rule.sql()
        in_sql = {path for kind in KINDS for path, _d, _p in s.index.query(kind, where, args)}
        in_python = {p for p, loc in rows if loc is not None and rule.allows(loc.owner, p)}
        assert in_python == in_sql, member.id
        triage = any(p.startswith("feedback/") for p in in_sql)
        assert triage == scopes.action_allowed(s.config, member, "feedback.triage"), member.id


def gate(cli: Any, base: str, actor: str) -> tuple[int, set[str]]:
    result = cli("check", "--range", f"{base}..HEAD", "--actor", actor, "-f", "json")
    assert result.code in (0, 1), result.err
    return result.code, {v["path"] for v in result.json()["violations"]}


def test_the_gate_holds_the_same_rules_for_hand_made_commits(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    base = git(store, "rev-parse", "HEAD").strip()
    add(cli, "alice", "--email", "x@gmail.com")  # into triage
    add(cli, "alice", "--phone", "13900139000")  # with bob's customer
    assert gate(cli, base, "alice") == (0, set())
    base = git(store, "rev-parse", "HEAD").strip()
    (path,) = [p for p in git(store, "ls-files").split() if p.startswith(("feedback/", "members/"))
               or (p.startswith("teams/") and "/feedback/" in p and "/bob/" in p)][:1]  # fmt: skip
    text = (store / path).read_text("utf-8").replace("status: open", "status: closed")
    (store / path).write_text(text, "utf-8")
    git(store, "add", "-A")
    git(store, "-c", "user.name=Alice Lin", "-c", "user.email=alice@acme.example",
        "commit", "-qm", "alice closes by hand")  # fmt: skip
    assert gate(cli, base, "alice") == (1, {path})
    assert gate(cli, base, "lee")[0] == 0  # the lead works triage and the team's feedback


def test_the_owner_hears_of_feedback_in_chat(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = (
        "notify:\n  - name: voice\n    url: http://127.0.0.1:${HOOK_PORT}/hook\n"
        "    format: generic\n    on: [feedback.received]\n    users: {alice: U-ALICE}\n"
    )
    with Receiver() as receiver:
        store_with_hook(tmp_path, monkeypatch, receiver, hook)
        customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
        ok(cli, "--as", "alice", "contact", "add", customer, "--name", "Li", "--email", "li@a.cn")
        fb = add(cli, "bob", "--email", "li@a.cn", "--link", "https://x.example/7")
        (message,) = receiver.wait_for(1)
    body = message["body"]
    assert body["event"] == "feedback.received" and body["data"]["id"] == fb["id"]
    assert body["mentions"] == {"alice": "U-ALICE"}
    assert body["data"]["customer"] == customer and "https://x.example/7" in body["text"]


def test_the_weekly_report_counts_feedback_received_and_closed_per_owner(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    first = add(cli, "alice", "--email", "li@acme-corp.cn")
    add(cli, "alice", "--email", "boss@acme-corp.cn")
    add(cli, "bob", "--phone", "13900139000")
    add(cli, "lee", "--email", "x@gmail.com")  # triage: nobody's yet
    ok(cli, "--as", "alice", "feedback", "close", first["id"])
    assert ok(cli, "--as", "alice", "feedback", "show", first["id"])["closed"]
    year, week, _day = clock.today().isocalendar()
    for fmt in ("json", "md"):
        result = cli("--as", "lee", "report", "weekly", "--team", "east", "--week",
                     f"{year}-W{week:02d}", "-f", fmt)  # fmt: skip
        assert result.code == 0, result.err
    report = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week",
                f"{year}-W{week:02d}")  # fmt: skip
    assert report["feedback"] == [
        {"owner": "alice", "received": 2, "closed": 1},
        {"owner": "bob", "received": 1, "closed": 0},
    ]
    last = f"{year}-W{week - 1:02d}" if week > 1 else f"{year - 1}-W52"
    earlier = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", last)
    assert earlier["feedback"] == []


def test_the_company_report_counts_triage_feedback_for_who_may_triage(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    add(cli, "alice", "--email", "li@acme-corp.cn")
    waiting = add(cli, "alice", "--email", "x@gmail.com")  # no customer matched: triage
    add(cli, "bob", "--email", "y@gmail.com")
    ok(cli, "--as", "lee", "feedback", "close", waiting["id"])
    year, week, _day = clock.today().isocalendar()
    this_week = ("--week", f"{year}-W{week:02d}")
    report = ok(cli, "--as", "dana", "report", "weekly", "--all", *this_week)
    assert report["feedback"] == [{"owner": "alice", "received": 1, "closed": 0}]
    assert report["feedback_triage"] == {"received": 2, "closed": 1}
    markdown = cli("--as", "dana", "report", "weekly", "--all", *this_week, "-f", "md").out
    section = markdown.split("## Customer feedback", 1)[1].split("##", 1)[0]
    assert "**In triage (no customer matched)** · 2 received · 1 closed" in section
    assert "None." not in section
    html = cli("--as", "dana", "report", "weekly", "--all", *this_week, "-f", "html").out
    assert "<b>In triage (no customer matched)</b> · 2 received · 1 closed" in html
    # an admin reads the whole company but not triage: it is not counted for them
    admin = ok(cli, "--as", "ada", "report", "weekly", "--all", *this_week)
    assert admin["feedback_triage"] is None and admin["feedback"] == report["feedback"]
    markdown = cli("--as", "ada", "report", "weekly", "--all", *this_week, "-f", "md").out
    assert "In triage" not in markdown
    # a team's report stays as it was: its customers' feedback only
    team = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", *this_week)
    assert team["feedback_triage"] is None and team["feedback"] == report["feedback"]


def test_the_company_report_shows_triage_feedback_alone(store: Path, cli: Any) -> None:
    add(cli, "alice", "--email", "x@gmail.com")  # the only feedback, and in triage
    year, week, _day = clock.today().isocalendar()
    this_week = ("--week", f"{year}-W{week:02d}")
    markdown = cli("--as", "dana", "report", "weekly", "--all", *this_week, "-f", "md").out
    section = markdown.split("## Customer feedback", 1)[1].split("##", 1)[0]
    assert section.strip() == "- **In triage (no customer matched)** · 1 received · 0 closed"
    last = clock.today() - dt.timedelta(days=7)
    earlier = ("--week", "{}-W{:02d}".format(*last.isocalendar()[:2]))
    report = ok(cli, "--as", "dana", "report", "weekly", "--all", *earlier)
    assert report["feedback_triage"] == {"received": 0, "closed": 0}
    markdown = cli("--as", "dana", "report", "weekly", "--all", *earlier, "-f", "md").out
    assert "## Customer feedback\n\nNone.\n" in markdown


def test_feedback_is_assigned_only_to_who_may_read_and_work_it(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    fb = add(cli, "alice", "--email", "li@acme-corp.cn")
    before = commits(store)
    # bob (her team), nora (another team), fay (finance reads all but may not close)
    for member in ("bob", "nora", "nick", "fay"):
        refused = cli("--as", "alice", "feedback", "assign", fb["id"], "--to", member)
        assert refused.code == 3, member
        assert f"{customers['alice']}'s feedback" in refused.err
    assert commits(store) == before
    for member in ("alice", "lee", "dana"):
        assigned = ok(cli, "--as", "alice", "feedback", "assign", fb["id"], "--to", member)
        assert assigned["assignee"] == member
        assert ok(cli, "--as", member, "feedback", "show", fb["id"])["id"] == fb["id"]
    # triage feedback: only to a role that works triage, unless it moves to a customer
    triage = add(cli, "alice", "--email", "x@gmail.com")
    before = commits(store)
    assert code(cli, "--as", "lee", "feedback", "assign", triage["id"], "--to", "alice") == 3
    assert code(cli, "--as", "lee", "feedback", "assign", triage["id"], "--to", "bob",
                "--customer", customers["alice"]) == 3  # fmt: skip
    assert commits(store) == before
    assert ok(cli, "--as", "lee", "feedback", "assign", triage["id"], "--to", "nick")["assignee"]


def test_a_refused_feedback_show_does_not_say_whose_customer_it_is(
    store: Path, cli: Any, customers: dict[str, str]
) -> None:
    """bob filed both (one matched alice's customer, one nobody's): what he is told of
    either, whichever verb he tries, is the same and names nobody."""
    matched = add(cli, "bob", "--email", "li@acme-corp.cn")
    unmatched = add(cli, "bob", "--email", "someone@gmail.com")
    assert set(matched) == set(unmatched) == {"id", "kind", "status"}
    for verb in ("show", "ack", "close"):
        answers = []
        for fb in (matched, unmatched):
            refused = cli("--as", "bob", "feedback", verb, fb["id"], "-f", "json")
            assert refused.code == 3, verb
            answers.append(refused.err.replace(fb["id"], "FB-…"))
            for secret in ("alice", customers["alice"], "company", "Acme", "triage "):
                assert secret not in refused.err, (verb, refused.err)
        assert answers[0] == answers[1], verb
