"""The one access rule (``scopes.py``): its Python form (one record) and its SQL form (the
index's filter for lists, reports and stats) must agree exactly, for every member of every
role and every record of a store with several teams, the pool, team and company OKRs and
records left in a member's old team directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from salesctl import scopes
from salesctl.cli.app import run
from salesctl.model.kinds import KINDS
from salesctl.store.layout import Owner, parse_path
from salesctl.store.store import Store

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
    return store


def records(store: Store) -> list[tuple[str, Owner]]:
    rows = []
    for kind in KINDS:
        for path, _data, _problems in store.index.query(kind):
            loc = parse_path(path)
            assert loc is not None
            rows.append((loc.id, loc.owner))
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
    owners = {owner for _id, owner in records(sample)}
    assert any(o.is_pool for o in owners) and any(o.company for o in owners)
    assert any(o.team and not o.member for o in owners)  # team OKRs
    roles = {m.role for m in sample.config.members.values()}
    assert {"director", "lead", "rep", "finance", "service"} <= roles


def test_read_rule_python_and_sql_agree_for_every_member_and_record(sample: Store) -> None:
    config = sample.config
    everything = records(sample)
    checked = 0
    for member in config.members.values():
        rule = scopes.read_scope(config, member)
        in_sql = sql_ids(sample, rule)
        in_python = {rid for rid, owner in everything if scopes.may_read(config, member, owner)}
        assert in_python == in_sql, member.id
        checked += len(everything)
    assert checked >= 1000


@pytest.mark.parametrize("action", ACTIONS)
def test_write_scope_python_and_sql_agree(sample: Store, action: str) -> None:
    config = sample.config
    everything = records(sample)
    for member in config.members.values():
        rule = scopes.write_scope(config, member, action)
        allowed = {rid for rid, owner in everything if rule.allows(owner)}
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
