"""Follow-ups and visits on leads and customers, end to end on real git stores: files that
travel with the record, attachments, mentions, stage changes, permissions, one commit per
command, and two clones whose follow-ups merge in plain git without a conflict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, make_store

from salesctl.ops.sales.followups import MAX_ATTACHMENT_BYTES, safe_file_name

# -- helpers ---------------------------------------------------------------------------------


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def trailers(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def changed(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "-c", "core.quotePath=false", "show", "--name-only", "--format=", rev)
    return sorted(line for line in out.splitlines() if line.strip())


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    return head(root), git(root, "status", "--porcelain", "--untracked-files=all"), files


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def record_dir(record: dict[str, Any]) -> str:
    return record["path"].rsplit("/", 1)[0]


@pytest.fixture
def customer(store: Path, cli: Any) -> dict[str, Any]:
    return ok(cli, "--as", "alice", "customer", "add", "--name", "阿里巴巴")


# -- follow-ups --------------------------------------------------------------------------------


def test_followup_is_its_own_file_in_the_record_directory_in_one_commit(
    store: Path, cli: Any, customer: dict[str, Any]
) -> None:
    count = commits(store)
    followup = ok(
        cli,
        "--as",
        "alice",
        "followup",
        "add",
        customer["id"][:5],
        "--text",
        "Called 张总; sent the quote.",
        "--via",
        "call",
        "--at",
        "2026-11-19 16:30",
        "--next",
        "2026-11-27",
    )
    assert followup["id"].startswith("F-") and followup["kind"] == "followup"
    assert followup["path"] == f"{record_dir(customer)}/followups/{followup['id']}.yaml"
    assert followup["record"] == customer["id"] and followup["author"] == "alice"
    assert followup["at"] == "2026-11-19T16:30:00+08:00"  # the org's time zone
    assert followup["via"] == "call" and followup["next"] == "2026-11-27"
    assert commits(store) == count + 1
    assert changed(store) == [followup["path"]]
    assert trailers(store, "Salesctl-Action") == ["followup.add"]
    assert sorted(trailers(store, "Salesctl-Record")) == sorted([customer["id"], followup["id"]])
    stored = load(store / followup["path"])
    assert stored["text"] == "Called 张总; sent the quote." and str(stored["next"]) == "2026-11-27"
    assert git(store, "status", "--porcelain") == ""

    default = ok(cli, "--as", "alice", "followup", "add", customer["id"], "--text", "again")
    assert default["at"] == "2026-11-20T10:00:00+08:00"  # the (frozen) clock


def test_followup_list_is_newest_first_and_includes_done_visits_only(
    store: Path, cli: Any, customer: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = customer["id"]
    now = os.environ["SALESCTL_NOW"]
    old = ok(
        cli, "--as", "alice", "followup", "add", cid, "--text", "a", "--at", "2026-11-01 09:00"
    )
    new = ok(
        cli, "--as", "alice", "followup", "add", cid, "--text", "b", "--at", "2026-11-18 09:00"
    )
    mid = ok(
        cli, "--as", "alice", "followup", "add", cid, "--text", "c", "--at", "2026-11-10 09:00"
    )
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-15T09:00:00+08:00")  # planned that morning
    visit = ok(cli, "--as", "alice", "visit", "add", cid, "--at", "2026-11-15 14:00")
    monkeypatch.setenv("SALESCTL_NOW", now)
    assert [r["id"] for r in ok(cli, "--as", "alice", "followup", "list", cid)] == [
        new["id"],
        mid["id"],
        old["id"],
    ]
    ok(cli, "--as", "alice", "visit", "done", visit["id"], "--text", "met the CTO")
    listed = ok(cli, "--as", "alice", "followup", "list", cid)
    assert [r["id"] for r in listed] == [new["id"], visit["id"], mid["id"], old["id"]]
    assert listed[1]["kind"] == "visit" and listed[1]["text"] == "met the CTO"
    shown = ok(cli, "--as", "alice", "customer", "show", cid)
    assert [f["id"] for f in shown["followups"]] == [new["id"], mid["id"], old["id"]]


def test_followup_on_a_lead_can_move_its_stage_in_the_same_commit(store: Path, cli: Any) -> None:
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "Acme")
    count = commits(store)
    followup = ok(
        cli, "--as", "alice", "followup", "add", lead["id"], "--text", "reached", "--stage",
        "contacted",
    )  # fmt: skip
    assert commits(store) == count + 1
    assert changed(store) == sorted([lead["path"], followup["path"]])
    assert sorted(trailers(store, "Salesctl-Record")) == sorted([lead["id"], followup["id"]])
    stored = load(store / lead["path"])
    assert stored["stage"] == "contacted" and str(stored["stages"]["contacted"]) == "2026-11-20"

    before = snapshot(store)
    for stage, code in (("converted", 1), ("disqualified", 1), ("nonsense", 1)):
        result = cli(
            "--as", "alice", "followup", "add", lead["id"], "--text", "x", "--stage", stage
        )
        assert result.code == code, (stage, result.err)
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "C")
    before = snapshot(store)
    on_customer = cli(
        "--as", "alice", "followup", "add", customer["id"], "--text", "x", "--stage", "contacted"
    )
    assert on_customer.code == 1 and "only leads have a stage" in on_customer.err
    assert snapshot(store) == before


def test_mentions_are_resolved_against_the_members(
    store: Path, cli: Any, customer: dict[str, Any]
) -> None:
    text = "Asked @lee and @Nora to help; mail wei@acme.example, cc @lee. 请@bob看"
    followup = ok(cli, "--as", "alice", "followup", "add", customer["id"], "--text", text)
    assert followup["mentions"] == ["lee", "nora", "bob"]
    assert load(store / followup["path"])["mentions"] == ["lee", "nora", "bob"]
    before = snapshot(store)
    unknown = cli("--as", "alice", "followup", "add", customer["id"], "--text", "ping @zed, @lee")
    assert unknown.code == 1 and "@zed" in unknown.err and "@lee" not in unknown.err
    assert snapshot(store) == before


def test_bad_followups_are_refused_and_change_nothing(
    store: Path, cli: Any, customer: dict[str, Any]
) -> None:
    before = snapshot(store)
    cid = customer["id"]
    for args in (
        ("--text", ""),
        ("--text", "x", "--via", "pigeon"),
        ("--text", "x", "--at", "yesterday"),
        ("--text", "x", "--at", "2026-12-01 10:00"),  # in the future
        ("--text", "x", "--next", "someday"),
        ("--text", "x", "--at", "2026-11-10 10:00", "--next", "2026-11-01"),
        ("--text", "x", "--attach", str(store / "nope.pdf")),
        ("--text", "x", "--attach", str(store)),
    ):
        result = cli("--as", "alice", "followup", "add", cid, *args)
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert cli("--as", "alice", "followup", "add", "C-ZZZZ", "--text", "x").code == 1
    assert snapshot(store) == before


def test_a_rep_may_not_follow_up_on_another_reps_customer(
    store: Path, cli: Any, customer: dict[str, Any]
) -> None:
    before = snapshot(store)
    refused = cli("--as", "bob", "followup", "add", customer["id"], "--text", "hi")
    assert refused.code == 3 and refused.err.startswith("error: ")
    assert cli("--as", "bob", "visit", "add", customer["id"], "--at", "2026-11-25 10:00").code == 3
    assert cli("--as", "nora", "followup", "list", customer["id"]).code == 3
    assert snapshot(store) == before
    # the team lead and the director may
    ok(cli, "--as", "lee", "followup", "add", customer["id"], "--text", "lead checked in")
    ok(cli, "--as", "dana", "followup", "add", customer["id"], "--text", "director too")
    assert git(store, "log", "-1", "--format=%an").strip() == "Dana Wu"


# -- attachments -------------------------------------------------------------------------------


def test_attachments_are_copied_under_the_followup_with_safe_names(
    store: Path, cli: Any, customer: dict[str, Any], tmp_path: Path
) -> None:
    files = tmp_path / "files"
    (files / "a").mkdir(parents=True)
    (files / "b").mkdir()
    (files / "a" / "报价 v2.pdf").write_bytes(b"%PDF-1.4 quote")
    (files / "b" / "报价 v2.pdf").write_bytes(b"%PDF-1.4 other")
    (files / "..hidden.txt").write_bytes(b"secret-ish")
    followup = ok(
        cli,
        "--as",
        "alice",
        "followup",
        "add",
        customer["id"],
        "--text",
        "quote attached",
        "--attach",
        str(files / "a" / "报价 v2.pdf"),
        "--attach",
        str(files / "b" / "报价 v2.pdf"),
        "--attach",
        str(files / "..hidden.txt"),
    )
    assert followup["attachments"] == ["报价 v2.pdf", "报价 v2-2.pdf", "hidden.txt"]
    base = f"{record_dir(customer)}/attachments/{followup['id']}"
    assert (store / base / "报价 v2.pdf").read_bytes() == b"%PDF-1.4 quote"
    assert (store / base / "报价 v2-2.pdf").read_bytes() == b"%PDF-1.4 other"
    assert (store / base / "hidden.txt").read_bytes() == b"secret-ish"
    assert changed(store) == sorted(
        [
            followup["path"],
            f"{base}/报价 v2.pdf",
            f"{base}/报价 v2-2.pdf",
            f"{base}/hidden.txt",
        ]
    )
    assert git(store, "status", "--porcelain") == ""
    # attachments move with the customer
    ok(cli, "--as", "lee", "customer", "assign", customer["id"], "--to", "bob")
    moved = f"teams/east/bob/customers/{customer['id']}/attachments/{followup['id']}/hidden.txt"
    assert (store / moved).read_bytes() == b"secret-ish"
    assert cli("--as", "dana", "check").code == 0


def test_oversized_attachment_is_refused(
    store: Path, cli: Any, customer: dict[str, Any], tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(MAX_ATTACHMENT_BYTES + 1)  # sparse: costs no disk
    before = snapshot(store)
    result = cli(
        "--as", "alice", "followup", "add", customer["id"], "--text", "x", "--attach", str(big)
    )
    assert result.code == 1 and "MB limit" in result.err
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".bashrc", "bashrc"),
        ("...", "attachment"),
        ("报价单 2026.xlsx", "报价单 2026.xlsx"),
        ("a\x00b\nc.txt", "abc.txt"),
        ('what?<>:"|*.doc', "what_______.doc"),
        ("CON.txt", "attachment.txt"),
        ("trailing. ", "trailing"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("文" * 100 + ".pdf", "文" * 38 + ".pdf"),
    ],
)
def test_safe_file_name(given: str, stored: str) -> None:
    name = safe_file_name(given)
    assert name == stored
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 120


# -- visits ------------------------------------------------------------------------------------


def test_visit_is_planned_then_done_each_in_one_commit(
    store: Path, cli: Any, customer: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = ok(
        cli,
        "--as",
        "alice",
        "visit",
        "add",
        customer["id"],
        "--at",
        "2026-11-25 14:00",
        "--duration",
        "90m",
        "--place",
        "Hangzhou HQ",
        "--attendee",
        "alice",
        "--attendee",
        "lee",
        "--note",
        "bring the demo",
    )
    assert visit["path"] == f"{record_dir(customer)}/visits/{visit['id']}.yaml"
    assert visit["status"] == "planned" and visit["duration"] == "1h30m"
    assert visit["at"] == "2026-11-25T14:00:00+08:00" and visit["attendees"] == ["alice", "lee"]
    assert trailers(store, "Salesctl-Action") == ["visit.add"]
    assert changed(store) == [visit["path"]]
    assert ok(cli, "--as", "alice", "followup", "list", customer["id"]) == []
    planned = ok(cli, "--as", "lee", "visit", "list", "--member", "lee", "--status", "planned")
    assert [v["id"] for v in planned] == [visit["id"]]

    before = snapshot(store)
    early = cli("--as", "alice", "visit", "done", visit["id"], "--text", "demo went well")
    assert early.code == 1 and "has not happened yet" in early.err  # no touch from the future
    assert snapshot(store) == before
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-25T15:00:00+08:00")  # the visit has begun
    done = ok(cli, "--as", "alice", "visit", "done", visit["id"][:6], "--text", "demo went well")
    assert done["status"] == "done" and done["text"] == "demo went well"
    assert trailers(store, "Salesctl-Action") == ["visit.done"]
    assert changed(store) == [visit["path"]]
    again = cli("--as", "alice", "visit", "done", visit["id"], "--text", "x")
    assert again.code == 1 and "already done" in again.err

    default = ok(cli, "--as", "alice", "visit", "add", customer["id"], "--at", "2026-11-26 09:00")
    assert default["attendees"] == ["alice"] and "duration" not in default
    cancelled = ok(cli, "--as", "alice", "visit", "cancel", default["id"], "--reason", "moved")
    assert cancelled["status"] == "cancelled"
    assert trailers(store, "Salesctl-Action") == ["visit.cancel"]


def test_bad_visits_are_refused(store: Path, cli: Any, customer: dict[str, Any]) -> None:
    before = snapshot(store)
    for extra in (
        ("--at", "next week"),
        ("--at", "2026-11-25 14:00", "--duration", "forever"),
        ("--at", "2026-11-25 14:00", "--duration", "25h"),
        ("--at", "2026-11-25 14:00", "--duration", "1000h"),
        ("--at", "2026-11-25 14:00", "--attendee", "zed"),
    ):
        result = cli("--as", "alice", "visit", "add", customer["id"], *extra)
        assert result.code == 1, (extra, result.err)
        if "--duration" in extra and extra[-1].endswith("h"):  # well formed, too long
            assert "out of range" in result.err, result.err
    assert snapshot(store) == before


def test_visits_and_followups_work_on_leads_too(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = ok(cli, "--as", "bob", "lead", "add", "--company", "Lead Co")
    visit = ok(cli, "--as", "bob", "visit", "add", lead["id"], "--at", "2026-11-21 10:00")
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-21T12:00:00+08:00")  # after the visit
    assert visit["path"].startswith(f"{record_dir(lead)}/visits/")
    ok(cli, "--as", "bob", "visit", "done", visit["id"], "--text", "ok")
    ok(cli, "--as", "bob", "followup", "add", lead["id"], "--text", "called")
    assert len(ok(cli, "--as", "bob", "followup", "list", lead["id"])) == 2
    shown = ok(cli, "--as", "bob", "lead", "show", lead["id"])
    assert len(shown["followups"]) == 1 and len(shown["visits"]) == 1


# -- two clones, one customer, plain git merge -------------------------------------------------


def test_followups_from_two_clones_merge_without_conflict(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALESCTL_STORE", raising=False)
    origin = make_store(tmp_path / "origin")
    customer = ok(cli, "--store", str(origin), "--as", "alice", "customer", "add", "--name", "Acme")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin), str(remote))
    one, two = tmp_path / "one", tmp_path / "two"
    for clone, (name, email) in ((one, ("Alice Lin", "alice")), (two, ("Lee Chen", "lee"))):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        git(clone, "config", "user.name", name)
        git(clone, "config", "user.email", f"{email}@acme.example")
        git(clone, "config", "pull.rebase", "false")

    attachment = tmp_path / "minutes.txt"
    attachment.write_text("minutes", encoding="utf-8")
    first = ok(
        cli, "--store", str(one), "--as", "alice", "followup", "add", customer["id"],
        "--text", "alice called", "--attach", str(attachment), "--next", "2026-11-27",
    )  # fmt: skip
    second = ok(
        cli, "--store", str(two), "--as", "lee", "followup", "add", customer["id"],
        "--text", "lee emailed @alice", "--via", "email", "--attach", str(attachment),
    )  # fmt: skip
    third = ok(
        cli, "--store", str(two), "--as", "lee", "visit", "add", customer["id"],
        "--at", "2026-11-24 10:00",
    )  # fmt: skip

    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--no-edit", "origin", "main")  # a real merge: both sides moved
    assert len(git(two, "log", "-1", "--format=%P").split()) == 2
    assert git(two, "status", "--porcelain") == ""
    git(two, "push", "-q", "origin", "main")
    git(one, "pull", "-q", "--no-edit", "origin", "main")
    assert head(one) == head(two)

    for clone in (one, two):
        listed = ok(cli, "--store", str(clone), "--as", "alice", "followup", "list", customer["id"])
        assert {r["id"] for r in listed} == {first["id"], second["id"]}
        visits = ok(cli, "--store", str(clone), "--as", "alice", "visit", "list", customer["id"])
        assert [v["id"] for v in visits] == [third["id"]]
        base = clone / record_dir(customer) / "attachments"
        assert sorted(p.name for p in base.iterdir()) == sorted([first["id"], second["id"]])
        assert cli("--store", str(clone), "--as", "dana", "check").code == 0
    assert os.path.exists(one / second["path"]) and os.path.exists(two / first["path"])


def test_reading_commands_skip_a_broken_followup_with_a_warning(
    store: Path, cli: Any, customer: dict[str, Any], tmp_path: Path
) -> None:
    good = ok(cli, "--as", "alice", "followup", "add", customer["id"], "--text", "fine")
    broken = store / record_dir(customer) / "followups" / "F-0000000000AB.yaml"
    broken.write_text("schema_version: 1\ntext: [unclosed\n", encoding="utf-8")
    listed = cli("--as", "alice", "followup", "list", customer["id"], "-f", "json")
    assert listed.code == 0 and [r["id"] for r in listed.json()] == [good["id"]]
    assert "warning: skipped" in listed.err and "F-0000000000AB" in listed.err
    out = tmp_path / "cal.ics"
    exported = cli("--as", "alice", "calendar", "export", "--out", str(out))
    assert exported.code == 0 and "F-0000000000AB" in exported.err
