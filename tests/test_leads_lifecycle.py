"""End-to-end tests of a lead's life after entry: assign, claim, release, reclaim, convert and
disqualify, through the CLI against a real git store, checking files, JSON and git history.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

from salesctl.ids import new_id

TODAY = dt.date(2026, 11, 20)  # the frozen $SALESCTL_NOW of conftest
NOW = "2026-11-20T10:00:00+08:00"


# -- helpers -------------------------------------------------------------------------------------


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    """HEAD, `git status` and every work-tree file's bytes: equal snapshots = nothing changed."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    status = git(root, "status", "--porcelain", "--untracked-files=all", "--ignored")
    return head(root), status, files


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def trailer(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def lead_dir(root: Path, lead_id: str) -> Path:
    [found] = [p.parent for p in root.glob(f"**/leads/{lead_id}/lead.yaml")]
    return found


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def add_lead(cli, actor: str, company: str, *extra: str) -> dict[str, Any]:
    res = cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json")
    assert res.code == 0, res.err
    return res.json()


def write_followup(
    root: Path, record_dir: str, record_id: str, author: str, at: str, text: str
) -> str:
    """A follow-up written by hand in the FOLLOWUP format, committed as its author."""
    followup_id = new_id("F")
    path = f"{record_dir}/followups/{followup_id}.yaml"
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(
        f"schema_version: 1\nrecord: {record_id}\nauthor: {author}\nat: {at}\n"
        f"via: call\ntext: {text}\n",
        encoding="utf-8",
    )
    git(root, "add", path)
    git(
        root,
        "-c", f"user.name={author}", "-c", f"user.email={author}@acme.example",
        "commit", "-q", "-m", f"followup.add: {followup_id}",
    )  # fmt: skip
    return path


# -- assign --------------------------------------------------------------------------------------


def test_rep_may_not_assign(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "assign", lead["id"], "--to", "bob")
    assert res.code == 3, (res.code, res.err)
    assert res.err.startswith("error: ")
    assert snapshot(store) == before


def test_team_lead_assigns_within_team_and_the_directory_moves_with_history(
    store: Path, cli
) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd", "--name", "Wei Zhang")
    lead_id = lead["id"]
    add_commit = head(store)
    old_dir = f"teams/east/alice/leads/{lead_id}"
    assert lead["path"] == f"{old_dir}/lead.yaml"
    followup = write_followup(
        store, old_dir, lead_id, "alice", "2026-11-18T15:30:00+08:00", "called, send a quote"
    )
    followup_bytes = (store / followup).read_bytes()
    followup_commit = head(store)

    res = cli("--as", "lee", "lead", "assign", lead_id[:8], "--to", "bob", "-f", "json")
    assert res.code == 0, res.err
    [moved] = res.json()
    new_dir = f"teams/east/bob/leads/{lead_id}"
    assert moved["id"] == lead_id and moved["owner"] == "bob"
    assert moved["path"] == f"{new_dir}/lead.yaml"

    assert not (store / old_dir).exists()
    data = load(store / new_dir / "lead.yaml")
    assert data["company"] == "Acme Ltd" and data["name"] == "Wei Zhang"
    assert data["assigned"] == TODAY
    new_followup = f"{new_dir}/followups/{Path(followup).name}"
    assert (store / new_followup).read_bytes() == followup_bytes  # travelled with the lead

    # One commit, by lee, a rename git can follow.
    assert git(store, "rev-parse", "HEAD~1").strip() == followup_commit
    assert git(store, "log", "-1", "--format=%an").strip() == "Lee Chen"
    assert trailer(store, "Salesctl-Action") == ["lead.assign"]
    assert trailer(store, "Salesctl-Record") == [lead_id]
    stat = git(store, "show", "--stat", "-M", "--format=", "HEAD")
    assert "{alice => bob}" in stat
    renames = git(store, "show", "-M", "--name-status", "--format=", "HEAD").splitlines()
    assert f"R100\t{followup}\t{new_followup}" in renames
    assert any(
        line.startswith("R") and line.endswith(f"{old_dir}/lead.yaml\t{new_dir}/lead.yaml")
        for line in renames
    ), renames
    history = git(store, "log", "--follow", "--format=%H", "--", f"{new_dir}/lead.yaml").split()
    assert history[0] == head(store) and add_commit in history
    followup_history = git(store, "log", "--follow", "--format=%H", "--", new_followup).split()
    assert followup_commit in followup_history
    assert git(store, "status", "--porcelain") == ""

    # The follow-up is still the lead's: `show` lists it from the new place.
    shown = cli("--as", "bob", "lead", "show", lead_id, "-f", "json")
    assert shown.code == 0, shown.err
    assert [f["text"] for f in shown.json()["followups"]] == ["called, send a quote"]


def test_team_lead_may_not_assign_to_another_team(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    before = snapshot(store)
    res = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "nora")
    assert res.code == 3, (res.code, res.err)
    assert snapshot(store) == before


def test_director_may_assign_across_teams(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    res = cli("--as", "dana", "lead", "assign", lead["id"], "--to", "nora", "-f", "json")
    assert res.code == 0, res.err
    new = store / "teams" / "north" / "nora" / "leads" / lead["id"] / "lead.yaml"
    assert new.is_file()
    assert not (store / "teams" / "east" / "alice" / "leads" / lead["id"]).exists()
    assert res.json()[0]["team"] == "north"
    assert git(store, "log", "-1", "--format=%an").strip() == "Dana Wu"


def test_assigning_to_the_owner_it_has_changes_nothing(store: Path, cli) -> None:
    """It used to make an empty commit each time: git history is the audit trail, and a
    commit that changes nothing is noise in it (and in every review)."""
    lead, other = add_lead(cli, "alice", "Acme Ltd"), add_lead(cli, "alice", "Other Ltd")
    before = snapshot(store)
    res = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "alice")
    assert res.code == 0, res.err
    assert res.out.strip() == f"{lead['id']}: nothing to change"
    assert snapshot(store) == before
    # one of two already theirs: one commit, naming only the lead that moved
    both = cli(
        "--as", "lee", "lead", "assign", lead["id"], other["id"], "--to", "bob", "-f", "json"
    )
    assert both.code == 0, both.err
    again = cli("--as", "lee", "lead", "assign", lead["id"], other["id"], "--to", "bob")
    assert again.code == 0 and "nothing to change" in again.out, again.out
    assert git(store, "log", "-1", "--format=%s").strip() == (
        f"lead.assign: {lead['id']}, {other['id']} to bob"
    )
    back = cli("--as", "lee", "lead", "assign", lead["id"], other["id"], "--to", "alice")
    assert back.code == 0
    moved = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "bob")
    assert moved.code == 0
    mixed = cli("--as", "lee", "lead", "assign", lead["id"], other["id"], "--to", "bob")
    assert mixed.code == 0, mixed.err
    assert git(store, "log", "-1", "--format=%s").strip() == f"lead.assign: {other['id']} to bob"


def test_assigning_to_an_inactive_member_is_refused(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    before = snapshot(store)
    res = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "carol")
    assert res.code == 1, (res.code, res.err)
    assert "carol" in res.err
    assert snapshot(store) == before


def test_an_inactive_member_may_not_write_as_the_hook_judges(store: Path, cli) -> None:
    """carol is `active: false`: what she would commit, `check --range` and the server's
    hook refuse, so salesctl refuses it before writing anything."""
    pool_lead = add_lead(cli, "lee", "Pool Ltd", "--pool")
    before = snapshot(store)
    for args in (
        ("lead", "add", "--company", "Carol's Co"),
        ("lead", "claim", pool_lead["id"]),
        ("lead", "add", "--company", "Dry Co", "--dry-run"),
    ):
        res = cli("--as", "carol", *args)
        assert res.code == 3, (args, res.code, res.err)
        assert "carol is inactive and may not write" in res.err
        assert "member edit carol --set active=true" in res.err
        assert snapshot(store) == before
    assert cli("--as", "carol", "lead", "list").code == 0  # reading is not writing


def test_assign_records_participants(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    res = cli(
        "--as", "lee", "lead", "assign", lead["id"], "--to", "bob", "--participant", "alice",
        "-f", "json",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert res.json()[0]["participants"] == ["alice"]
    data = load(store / "teams" / "east" / "bob" / "leads" / lead["id"] / "lead.yaml")
    assert data["participants"] == ["alice"]


# -- claim ---------------------------------------------------------------------------------------


def test_rep_claims_a_pool_lead(store: Path, cli) -> None:
    pool_lead = add_lead(cli, "dana", "Pool Co", "--pool")
    lead_id = pool_lead["id"]
    assert pool_lead["path"] == f"pool/leads/{lead_id}/lead.yaml"
    before = head(store)
    res = cli("--as", "alice", "lead", "claim", lead_id, "-f", "json")
    assert res.code == 0, res.err
    [claimed] = res.json()
    assert claimed["owner"] == "alice"
    assert claimed["path"] == f"teams/east/alice/leads/{lead_id}/lead.yaml"
    assert not (store / "pool" / "leads" / lead_id).exists()
    data = load(store / claimed["path"])
    assert data["assigned"] == TODAY
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert git(store, "log", "-1", "--format=%an").strip() == "Alice Lin"
    assert trailer(store, "Salesctl-Action") == ["lead.claim"]
    assert trailer(store, "Salesctl-Record") == [lead_id]


def test_claim_beyond_the_cap_is_refused(store: Path, cli) -> None:
    for i in range(4):
        add_lead(cli, "alice", f"Owned {i}")
    pool = [add_lead(cli, "dana", f"Pool {i}", "--pool")["id"] for i in range(3)]

    before = snapshot(store)
    res = cli("--as", "alice", "lead", "claim", pool[0], pool[1])  # 4 + 2 > 5
    assert res.code != 0
    assert "5" in res.err
    assert snapshot(store) == before  # neither was claimed

    res = cli("--as", "alice", "lead", "claim", pool[0])  # the 5th: allowed
    assert res.code == 0, res.err
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "claim", pool[1])  # the 6th: refused
    assert res.code != 0
    assert snapshot(store) == before
    assert (store / "pool" / "leads" / pool[1] / "lead.yaml").is_file()


def test_the_cap_counts_a_reps_hand_edits_and_looks_at_their_directories_only(
    store: Path, cli
) -> None:
    """A claim's count of the rep's open leads sees an uncommitted edit in the rep's own
    directory, and looks at nobody else's (it looked at every lead in the store: 87,000
    ``lstat``s per claim in a pool that size)."""
    from salesctl.ops.sales.ownership import open_owned_count
    from salesctl.store.store import Store

    mine = [add_lead(cli, "alice", f"Owned {i}") for i in range(3)]
    theirs = add_lead(cli, "bob", "Bob's Co")
    assert cli("--as", "dana", "lead", "list").code == 0  # the index has looked everywhere
    for lead, stage in ((mine[0], "disqualified"), (theirs, "contacted")):  # by hand
        path = store / lead["path"]
        path.write_text(path.read_text().replace("stage: new", f"stage: {stage}"))

    s = Store(store)
    assert open_owned_count(s, "lead", "alice") == 2
    row = s.index.db.execute("SELECT data FROM records WHERE id = ?", [theirs["id"]])
    assert '"stage": "new"' in row.fetchone()[0]  # bob's edit: not looked at


def test_closed_leads_do_not_count_against_the_cap(store: Path, cli) -> None:
    owned = [add_lead(cli, "alice", f"Owned {i}")["id"] for i in range(5)]
    pool_id = add_lead(cli, "dana", "Pool Co", "--pool")["id"]
    assert cli("--as", "alice", "lead", "claim", pool_id).code != 0
    res = cli("--as", "alice", "lead", "disqualify", owned[0], "--reason", "no budget")
    assert res.code == 0, res.err
    res = cli("--as", "alice", "lead", "claim", pool_id)
    assert res.code == 0, res.err
    assert (store / "teams" / "east" / "alice" / "leads" / pool_id / "lead.yaml").is_file()


def test_claiming_a_lead_not_in_the_pool_is_refused(store: Path, cli) -> None:
    lead = add_lead(cli, "bob", "Bob's Co")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "claim", lead["id"])
    assert res.code != 0
    assert res.err.startswith("error: ")
    assert snapshot(store) == before
    assert (store / lead["path"]).is_file()


# -- release -------------------------------------------------------------------------------------


def test_release_returns_the_lead_to_the_pool_with_date_and_reason(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    lead_id = lead["id"]
    before = head(store)
    res = cli(
        "--as", "alice", "lead", "release", lead_id, "--reason", "not my territory", "-f", "json"
    )
    assert res.code == 0, res.err
    [released] = res.json()
    assert released["owner"] is None and released["path"] == f"pool/leads/{lead_id}/lead.yaml"
    assert not (store / lead["path"]).exists()
    data = load(store / "pool" / "leads" / lead_id / "lead.yaml")
    assert data["released"] == TODAY
    assert data["release_reason"] == "not my territory"
    assert data["company"] == "Acme Ltd"
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert trailer(store, "Salesctl-Action") == ["lead.release"]
    assert trailer(store, "Salesctl-Record") == [lead_id]
    assert git(store, "status", "--porcelain") == ""


def test_rep_may_not_release_another_reps_lead(store: Path, cli) -> None:
    lead = add_lead(cli, "bob", "Bob's Co")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "release", lead["id"], "--reason", "mine now")
    assert res.code == 3, (res.code, res.err)
    assert snapshot(store) == before


# -- reclaim -------------------------------------------------------------------------------------

# name: (owner, created, follow-up dates, closed?)
RECLAIM_PLAN: dict[str, tuple[str, str, tuple[str, ...], bool]] = {
    "idle-old": ("alice", "2026-09-01", (), False),
    "touched-recently": ("alice", "2026-09-01", ("2026-09-05", "2026-11-10"), False),
    "idle-with-followup": ("bob", "2026-10-10", ("2026-10-12",), False),
    "due-soon": ("bob", "2026-10-25", (), False),
    "due-soon-by-followup": ("alice", "2026-09-20", ("2026-10-26",), False),
    "idle-other-team": ("nora", "2026-09-01", (), False),
    "young": ("bob", "2026-11-19", (), False),
    "closed-old": ("alice", "2026-09-01", (), True),
}


def expected_idle(today: dt.date, days: int) -> set[str]:
    result = set()
    for name, (_owner, created, followups, closed) in RECLAIM_PLAN.items():
        last = max(dt.date.fromisoformat(d) for d in (created, *followups))
        if not closed and (today - last).days >= days:
            result.add(name)
    return result


def expected_warn(today: dt.date, days: int, within: int) -> set[str]:
    result = set()
    for name, (_owner, created, followups, closed) in RECLAIM_PLAN.items():
        last = max(dt.date.fromisoformat(d) for d in (created, *followups))
        idle = (today - last).days
        if not closed and idle < days and idle + within >= days:
            result.add(name)
    return result


@pytest.fixture
def reclaim_store(store: Path, cli, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Leads created on different days, some with follow-ups; name -> lead id."""
    ids: dict[str, str] = {}
    for name, (owner, created, followups, closed) in RECLAIM_PLAN.items():
        monkeypatch.setenv("SALESCTL_NOW", f"{created}T09:00:00+08:00")
        lead = add_lead(cli, owner, name)
        ids[name] = lead["id"]
        record_dir = lead["path"].rsplit("/", 1)[0]
        for day in followups:
            write_followup(store, record_dir, lead["id"], owner, f"{day}T16:00:00+08:00", "call")
        if closed:
            res = cli("--as", owner, "lead", "disqualify", lead["id"], "--reason", "spam")
            assert res.code == 0, res.err
    monkeypatch.setenv("SALESCTL_NOW", NOW)
    return ids


def test_reclaim_returns_exactly_the_idle_leads_in_one_commit(
    store: Path, cli, reclaim_store: dict[str, str]
) -> None:
    ids = reclaim_store
    names = {v: k for k, v in ids.items()}
    want = expected_idle(TODAY, 30)
    assert want == {"idle-old", "idle-with-followup", "idle-other-team"}  # the plan is sound
    followup_files = {
        name: sorted(p.name for p in (lead_dir(store, ids[name]) / "followups").glob("F-*.yaml"))
        for name in RECLAIM_PLAN
        if RECLAIM_PLAN[name][2]
    }
    before = snapshot(store)

    # --dry-run names the same leads and changes nothing.
    dry = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "--dry-run", "-f", "json")
    assert dry.code == 0, dry.err
    assert dry.json()["dry_run"] is True
    assert {names[r["id"]] for r in dry.json()["reclaimed"]} == want
    assert snapshot(store) == before

    res = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "-f", "json")
    assert res.code == 0, res.err
    reclaimed = res.json()["reclaimed"]
    assert {names[r["id"]] for r in reclaimed} == want
    assert len(reclaimed) == len(want)

    # Each in the pool now, with release date and reason; the others stayed put.
    for name, lead_id in ids.items():
        path = lead_dir(store, lead_id)
        in_pool = rel(store, path) == f"pool/leads/{lead_id}"
        assert in_pool == (name in want), (name, rel(store, path))
        if in_pool:
            data = load(path / "lead.yaml")
            assert data["released"] == TODAY
            assert data["release_reason"]
    # A reclaimed lead keeps its follow-ups.
    pool_dir = store / "pool" / "leads" / ids["idle-with-followup"]
    assert (
        sorted(p.name for p in (pool_dir / "followups").glob("F-*.yaml"))
        == followup_files["idle-with-followup"]
    )
    shown = cli("--as", "dana", "lead", "show", ids["idle-with-followup"], "-f", "json").json()
    assert len(shown["followups"]) == 1

    # One commit, trailers for every reclaimed lead.
    assert git(store, "rev-parse", "HEAD~1").strip() == before[0]
    assert git(store, "log", "-1", "--format=%an").strip() == "Dana Wu"
    assert trailer(store, "Salesctl-Action") == ["lead.reclaim"]
    assert sorted(trailer(store, "Salesctl-Record")) == sorted(ids[n] for n in want)
    assert git(store, "status", "--porcelain") == ""

    # Cron runs it again the same day: nothing to do, no commit.
    after = snapshot(store)
    again = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "-f", "json")
    assert again.code == 0, again.err
    assert again.json()["reclaimed"] == []
    assert snapshot(store) == after


def test_a_broken_lead_is_skipped_with_a_warning_not_the_whole_reclaim(
    store: Path, cli, reclaim_store: dict[str, str]
) -> None:
    """A hand edit that drops ``created:`` leaves that lead's last touch unknown: the nightly
    reclaim leaves it out, names it, and returns the others (it used to stop on it)."""
    ids = reclaim_store
    names = {v: k for k, v in ids.items()}
    broken = lead_dir(store, ids["idle-old"]) / "lead.yaml"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(
        "".join(line for line in text.splitlines(True) if not line.startswith("created:")),
        encoding="utf-8",
    )
    git(store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-qam", "edit")
    path = rel(store, broken)
    want = expected_idle(TODAY, 30) - {"idle-old"}

    warned = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "--warn-days", "3")
    assert warned.code == 0, warned.err
    assert f"warning: skipped {path}: created:" in warned.err

    before = snapshot(store)
    res = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "-f", "json")
    assert res.code == 0, res.err
    assert {names[r["id"]] for r in res.json()["reclaimed"]} == want
    assert f"warning: skipped {path}: created:" in res.err
    assert "internal error" not in res.err
    assert git(store, "rev-parse", "HEAD~1").strip() == before[0]
    assert broken.is_file()  # left where it was, for `salesctl check` to point at


def test_reclaim_warn_days_lists_leads_about_to_return_by_owner(
    store: Path, cli, reclaim_store: dict[str, str]
) -> None:
    ids = reclaim_store
    assert cli("--as", "dana", "lead", "reclaim", "--idle-days", "30").code == 0
    before = snapshot(store)
    want = expected_warn(TODAY, 30, 7)
    assert want == {"due-soon", "due-soon-by-followup"}  # the plan is sound

    res = cli(
        "--as", "dana", "lead", "reclaim", "--idle-days", "30", "--warn-days", "7", "-f", "json"
    )
    assert res.code == 0, res.err
    grouped = res.json()
    assert isinstance(grouped, dict)
    by_owner = {owner: sorted(item["id"] for item in items) for owner, items in grouped.items()}
    expected: dict[str, list[str]] = {}
    for name in want:
        expected.setdefault(RECLAIM_PLAN[name][0], []).append(ids[name])
    assert by_owner == {owner: sorted(v) for owner, v in expected.items()}
    returns = {item["id"]: item["returns_on"] for items in grouped.values() for item in items}
    assert returns[ids["due-soon"]] == "2026-11-24"
    assert returns[ids["due-soon-by-followup"]] == "2026-11-25"
    assert snapshot(store) == before  # a warning changes nothing


def test_team_lead_reclaims_only_within_the_team(
    store: Path, cli, reclaim_store: dict[str, str]
) -> None:
    ids = reclaim_store
    res = cli("--as", "lee", "lead", "reclaim", "-f", "json")  # default: reclaim_after_days 30
    assert res.code == 0, res.err
    names = {v: k for k, v in ids.items()}
    assert {names[r["id"]] for r in res.json()["reclaimed"]} == {"idle-old", "idle-with-followup"}
    assert rel(store, lead_dir(store, ids["idle-other-team"])).startswith("teams/north/nora/")
    assert git(store, "log", "-1", "--format=%an").strip() == "Lee Chen"


def test_reclaim_days_are_counted_from_zero_and_one(store: Path, cli) -> None:
    before = snapshot(store)
    for args in (("--warn-days", "-1"), ("--idle-days", "0"), ("--idle-days", "-5")):
        res = cli("--as", "dana", "lead", "reclaim", *args)
        assert res.code == 2 and "is not in the range" in res.err, (args, res.err)
    assert snapshot(store) == before


def test_rep_may_not_reclaim(store: Path, cli, reclaim_store: dict[str, str]) -> None:
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "reclaim", "--idle-days", "30")
    assert res.code == 3, (res.code, res.err)
    assert snapshot(store) == before


# -- convert and disqualify ----------------------------------------------------------------------


def test_convert_creates_customer_and_deal_in_one_commit(store: Path, cli) -> None:
    lead = add_lead(
        cli, "alice", "Acme Ltd",
        "--name", "Wei Zhang", "--email", "wei@acme.example", "--phone", "13800138000",
        "--source", "Expo",
    )  # fmt: skip
    lead_id = lead["id"]
    before = head(store)
    res = cli(
        "--as", "alice", "lead", "convert", lead_id, "--deal", "ERP rollout", "--amount", "120000",
        "-f", "json",
    )  # fmt: skip
    assert res.code == 0, res.err
    out = res.json()
    customer_id, deal_id = out["customer"]["id"], out["deal"]["id"]
    assert customer_id.startswith("C-") and deal_id.startswith("D-")

    customer_path = store / "teams/east/alice/customers" / customer_id / "customer.yaml"
    customer = load(customer_path)
    assert customer["name"] == "Acme Ltd"
    assert customer["lead"] == lead_id
    assert customer["source"] == "Expo"
    assert customer["contacts"] == [
        {"name": "Wei Zhang", "phone": "13800138000", "email": "wei@acme.example"}
    ]

    deal_path = store / "teams/east/alice/deals" / deal_id / "deal.yaml"
    deal = load(deal_path)
    assert deal["customer"] == customer_id
    assert deal["title"] == "ERP rollout"
    assert deal["amount"] == 120000

    lead_path = store / lead["path"]
    data = load(lead_path)
    assert data["stage"] == "converted"
    assert data["customer"] == customer_id
    assert data["stages"]["converted"] == TODAY

    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert trailer(store, "Salesctl-Action") == ["lead.convert"]
    assert sorted(trailer(store, "Salesctl-Record")) == sorted([lead_id, customer_id, deal_id])
    changed = set(git(store, "show", "--name-only", "--format=", "HEAD").split())
    assert changed == {rel(store, p) for p in (customer_path, deal_path, lead_path)}
    assert git(store, "status", "--porcelain") == ""

    # Converting it again is refused and changes nothing.
    after = snapshot(store)
    again = cli("--as", "alice", "lead", "convert", lead_id)
    assert again.code == 1, (again.code, again.err)
    assert snapshot(store) == after


def test_converting_a_pool_lead_is_refused(store: Path, cli) -> None:
    lead = add_lead(cli, "dana", "Pool Co", "--pool")
    before = snapshot(store)
    res = cli("--as", "dana", "lead", "convert", lead["id"], "--deal", "X", "--amount", "1")
    assert res.code == 1, (res.code, res.err)
    assert "pool" in res.err
    assert snapshot(store) == before


def test_disqualify_sets_stage_and_reason(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    before = head(store)
    res = cli(
        "--as", "alice", "lead", "disqualify", lead["id"], "--reason", "no budget", "-f", "json"
    )
    assert res.code == 0, res.err
    assert res.json()["stage"] == "disqualified"
    data = load(store / lead["path"])
    assert data["stage"] == "disqualified"
    assert data["reason"] == "no budget"
    assert data["stages"]["disqualified"] == TODAY
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert trailer(store, "Salesctl-Action") == ["lead.disqualify"]


def test_disqualify_without_reason_is_a_usage_error(store: Path, cli) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "disqualify", lead["id"])
    assert res.code == 2, (res.code, res.err)
    assert "reason" in res.err
    assert snapshot(store) == before
    assert load(store / lead["path"])["stage"] == "new"


def test_the_warning_lists_everything_the_next_reclaim_takes(
    store: Path, cli, reclaim_store: dict[str, str]
) -> None:
    """Cron warns first and reclaims after: what is already past due must be warned about
    too, or its owner never hears of it."""
    ids = reclaim_store
    overdue, soon = expected_idle(TODAY, 30), expected_warn(TODAY, 30, 7)
    assert overdue and soon  # the plan has both
    res = cli(
        "--as", "dana", "lead", "reclaim", "--idle-days", "30", "--warn-days", "7", "-f", "json"
    )
    assert res.code == 0, res.err
    warned = {item["id"] for items in res.json().values() for item in items}
    assert warned == {ids[name] for name in overdue | soon}
    taken = cli("--as", "dana", "lead", "reclaim", "--idle-days", "30", "-f", "json").json()
    assert {item["id"] for item in taken["reclaimed"]} <= warned


def test_list_filters_name_the_valid_values(store: Path, cli: Any) -> None:
    stage = cli("--as", "lee", "lead", "list", "--stage", "contaced", "-f", "json")
    assert stage.code == 1 and "'contaced' is not a lead stage" in stage.err
    assert "new, contacted, qualified" in stage.err and stage.out == ""
    member = cli("--as", "lee", "lead", "list", "--owner", "alcie", "-f", "json")
    assert member.code == 1 and "alice" in member.err and "bob" in member.err
    team = cli("--as", "lee", "customer", "list", "--team", "est", "-f", "json")
    assert team.code == 1 and "teams: east, north" in team.err
    inactive = cli("--as", "lee", "lead", "add", "--company", "X", "--to", "carol")
    assert inactive.code == 1 and "carol is inactive" in inactive.err
    assert "carol" not in inactive.err.split("active members:")[1]


def test_a_dry_run_of_convert_says_what_it_would_do(store: Path, cli) -> None:
    """Field test: `lead convert --dry-run` printed "converted" and listed no file."""
    lead = add_lead(cli, "alice", "Dry Convert Co")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "convert", lead["id"], "--deal", "ERP", "--amount", "10",
              "--dry-run")  # fmt: skip
    assert res.code == 0, res.err
    assert res.out.startswith(f"would convert {lead['id']} to customer C-")
    assert "in commit" not in res.out
    assert lead_dir(store, lead["id"]).as_posix().split("/")[-1] in res.err  # the files listed
    assert snapshot(store) == before
