"""The one access rule (``scopes.py``): its Python form (one record) and its SQL form (the
index's filter for lists, reports and stats) must agree exactly, for every member of every
role and every record of a store with several teams, the pool, team and company OKRs,
records left in a member's old team directory, and records shared by their participants,
by @mentions (one of them lapsed: the record changed owner since) and by tasks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from salesctl import scopes
from salesctl.cli.app import run
from salesctl.model.kinds import KINDS
from salesctl.ops.records import readable
from salesctl.store.layout import Owner, parse_path
from salesctl.store.store import Store

LAPSED = "F-0000000000AP"  # a mention that has lapsed
ACTIONS = ("lead.claim", "lead.reclaim", "customer.add", "deal.move", "okr.add", "contract.pay")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("access") / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        assert run(["init", str(root), "--sample"]) == 0
    store = Store(root)
    config = store.config
    # a rep's lead left behind in another team's directory (moved teams, files not yet moved)
    rep = next(m for m in config.members.values() if m.role == "rep" and m.team)
    other = next(t for t in config.teams if t != rep.team)
    lead = next((root / Owner(member=rep.id, team=rep.team).dir / "leads").iterdir())
    target = root / Owner(member=rep.id, team=other).dir / "leads" / lead.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(lead, target)
    shutil.rmtree(lead)
    # a mention made while the lead was someone else's: lapsed
    outsider = next(m for m in config.members.values() if m.role == "rep" and m.team == other)
    lead_file = next(
        p for p in (root / "teams").glob("*/*/leads/*/lead.yaml") if p.parts[-5] != other
    )
    followup = lead_file.parent / "followups" / f"{LAPSED}.yaml"
    followup.parent.mkdir(exist_ok=True)
    followup.write_text(
        f"schema_version: 1\nrecord: {lead_file.parent.name}\nauthor: {rep.id}\n"
        f"at: 2026-01-05T08:00:00+08:00\ntext: before the handover @{outsider.id}\n"
        f"mentions: [{outsider.id}]\nrecord_owner: {outsider.id}\n"
    )
    return store


def records(store: Store) -> list[tuple[str, Owner, str]]:
    rows = []
    for kind in KINDS:
        for path, _data, _problems in store.index.query(kind):
            loc = parse_path(path)
            assert loc is not None
            rows.append((loc.id, loc.owner, path))
    return rows


def sql_ids(store: Store, rule: scopes.Grants) -> set[str]:
    where, args = rule.sql()
    found = set()
    for kind in KINDS:
        for path, _data, _problems in store.index.query(kind, where, args):
            loc = parse_path(path)
            assert loc is not None
            found.add(loc.id)
    return found


def test_the_sample_covers_every_kind_of_directory(sample: Store) -> None:
    owners = {owner for _id, owner, _path in records(sample)}
    assert any(o.is_pool for o in owners) and any(o.company for o in owners)
    assert any(o.team and not o.member for o in owners)  # team OKRs
    roles = {m.role for m in sample.config.members.values()}
    assert {"director", "lead", "rep", "finance", "service"} <= roles


def test_read_rule_python_and_sql_agree_for_every_member_and_record(sample: Store) -> None:
    config = sample.config
    everything = records(sample)
    checked = 0
    shared = 0
    for member in config.members.values():
        rule = readable(sample, member)
        in_sql = sql_ids(sample, rule)
        in_python = {rid for rid, owner, path in everything if rule.allows(owner, path)}
        assert in_python == in_sql, member.id
        by_directory = {
            rid for rid, owner, _path in everything if scopes.may_read(config, member, owner)
        }
        assert by_directory <= in_python, member.id
        shared += len(in_python - by_directory)
        checked += len(everything)
    assert checked >= 1000
    assert shared >= 20  # participants, mentions and tasks share records across directories


def test_finance_reads_every_contract_and_no_one_s_leads_or_customers(sample: Store) -> None:
    """SPEC §3: finance reads contracts, payments and invoices (and their tasks), the pool
    and the company's directory, and what is shared with it; not the reps' leads,
    customers, deals or follow-ups."""
    config = sample.config
    finance = next(m for m in config.members.values() if m.role == "finance")
    rule = readable(sample, finance)
    everything = records(sample)
    read = {rid for rid, owner, path in everything if rule.allows(owner, path)}
    contract_trees = {
        rid for rid, owner, path in everything if path.startswith(f"{owner.dir}/contracts/")
    }
    assert contract_trees and contract_trees <= read
    assert {rid for rid in contract_trees if rid.startswith(("P-", "I-"))}  # money too
    open_to_all = {
        rid for rid, owner, path in everything
        if owner.is_pool or owner.company or owner.member == finance.id
        or (owner.member is None and owner.team is None)
    }  # fmt: skip
    others = read - contract_trees - open_to_all
    shared = rule.shares
    assert all(shared.covers(path) for rid, _o, path in everything if rid in others)
    hidden = {
        rid for rid, owner, path in everything
        if owner.member and owner.member != finance.id and rid not in read
    }  # fmt: skip
    assert any(rid.startswith("L-") for rid in hidden)
    assert any(rid.startswith("C-") for rid in hidden)
    assert scopes.writable_scope_description(config, finance).startswith("every contract")


@pytest.mark.parametrize("action", ACTIONS)
def test_write_scope_python_and_sql_agree(sample: Store, action: str) -> None:
    config = sample.config
    everything = records(sample)
    for member in config.members.values():
        rule = scopes.write_scope(config, member, action)
        allowed = {rid for rid, owner, _path in everything if rule.allows(owner)}
        assert allowed == sql_ids(sample, rule), (member.id, action)


@pytest.mark.parametrize(
    ("role", "owner", "reads"),
    [
        ("rep", Owner(), True),  # the pool
        ("rep", Owner(company=True), True),  # company OKRs
        ("rep", Owner(team="TEAM"), True),  # the own team's OKRs
        ("rep", Owner(team="OTHER"), False),
        ("rep", Owner(member="ME", team="OTHER"), True),  # left in an old team's directory
        ("rep", Owner(member="YOU", team="TEAM"), False),  # a teammate's
        ("lead", Owner(member="YOU", team="TEAM"), True),
        ("lead", Owner(member="YOU", team="OTHER"), False),
        ("lead", Owner(team="OTHER"), False),
    ],
)
def test_the_read_rule_in_words(sample: Store, role: str, owner: Owner, reads: bool) -> None:
    config = sample.config
    member = next(m for m in config.members.values() if m.role == role and m.team)
    other = next(t for t in config.teams if t != member.team)
    teammate = next(
        (m.id for m in config.members.values() if m.team == member.team and m.id != member.id),
        "x",
    )
    names: dict[Any, Any] = {"ME": member.id, "YOU": teammate, "TEAM": member.team}
    names["OTHER"] = other
    concrete = Owner(names.get(owner.member), names.get(owner.team), owner.company)
    assert scopes.may_read(config, member, concrete) is reads


def test_no_ops_module_writes_its_own_access_sql() -> None:
    """The index filters come from scopes only: no "owner = ?"/"team = ?" access filter is
    written anywhere else."""
    package = Path(scopes.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "scopes.py"
        and any(
            t in path.read_text("utf-8")
            for t in ('"(pool = 1 OR', "pool = 1 OR team", "pool = 1 OR owner")
        )
    ]
    assert offenders == []


def oracle_shared(root: Path, member: str) -> set[str]:
    """What the sharing rule gives ``member``, worked out from the files themselves (not the
    index): participants read the record's directory; a mention does too while the record
    has the owner it had then; a task's assignee reads its contract's directory and customer."""
    trees, customers = set(), set()
    for path in root.rglob("*.yaml"):
        rel = path.relative_to(root).as_posix()
        loc = parse_path(rel)
        if loc is None:
            continue
        data = yaml.safe_load(path.read_text()) or {}
        if loc.parent is None and member in (data.get("participants") or []):
            trees.add(loc.record_dir)
        elif loc.kind.name == "followup" and member in (data.get("mentions") or []):
            then = data.get("record_owner")
            if then is None or then == loc.owner.member:
                trees.add(path.parent.parent.relative_to(root).as_posix())
        elif loc.kind.name == "task" and loc.parent and data.get("assignee") == member:
            contract_dir = path.parent.parent
            trees.add(contract_dir.relative_to(root).as_posix())
            contract = yaml.safe_load((contract_dir / "contract.yaml").read_text())
            customers.add(contract["customer"])
    found = set()
    for path in root.rglob("*.yaml"):
        loc = parse_path(path.relative_to(root).as_posix())
        if loc is None:
            continue
        if any(loc.path.startswith(t + "/") for t in trees) or loc.id in customers:
            found.add(loc.id)
    return found


def test_shares_are_what_the_records_say(sample: Store) -> None:
    """The index's shares, resolved, against a reading of the files: for every member
    below director scope, what they read beyond their directories is exactly what the
    participants, mentions and tasks of the records give them."""
    config = sample.config
    everything = records(sample)
    for member in config.members.values():
        if config.role_of(member).scope == "all":
            continue
        rule = readable(sample, member)
        beyond = {
            rid
            for rid, owner, path in everything
            if rule.allows(owner, path) and not scopes.may_read(config, member, owner)
        }
        expected = {
            rid
            for rid in oracle_shared(sample.root, member.id)
            for r, owner, _path in everything
            if r == rid and not scopes.may_read(config, member, owner)
        }
        assert beyond == expected, member.id


def test_a_lapsed_mention_shares_nothing(sample: Store) -> None:
    loc = sample.resolve(LAPSED, ("followup",))
    outsider = next(
        m
        for m in sample.config.members.values()
        if m.id in (yaml.safe_load((sample.root / loc.path).read_text())["mentions"])
    )
    assert not readable(sample, outsider).allows(loc.owner, loc.path)


def test_finance_writes_money_anywhere_and_its_reports_at_home(sample: Store) -> None:
    """Review: the ``contracts`` scope wrote everywhere for every action, so finance could
    commit a report into a rep's reports/ it may not even read."""
    config = sample.config
    finance = next(m for m in config.members.values() if m.role == "finance")
    rep = next(m for m in config.members.values() if m.role == "rep" and m.team)
    theirs, own = Owner(member=rep.id, team=rep.team), Owner(member=finance.id)
    for action in ("contract.pay", "contract.invoice", "task.done"):
        assert scopes.write_scope(config, finance, action).allows(theirs), action
    assert not scopes.write_scope(config, finance, "report.commit").allows(theirs)
    assert scopes.write_scope(config, finance, "report.commit").allows(own)
