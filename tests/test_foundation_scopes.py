"""Read and write scopes: end to end through ``lead list/show/edit``, and the pure functions
``scopes.may_read`` / ``scopes.check_write`` as a truth table over the built-in roles."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store

from salesctl import scopes
from salesctl.errors import Forbidden
from salesctl.model.config import Config, parse_config
from salesctl.store.layout import COMPANY, POOL, Owner

# -- end to end ----------------------------------------------------------------------------------


def add(cli: Any, actor: str, *args: str) -> dict[str, Any]:
    result = cli("--as", actor, "lead", "add", *args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def ids(cli: Any, actor: str, *args: str) -> set[str]:
    result = cli("--as", actor, "lead", "list", *args, "-f", "json")
    assert result.code == 0, result.err
    return {row["id"] for row in result.json()}


def build_leads(cli: Any) -> dict[str, str]:
    """One lead per owner, plus two in the pool; values are ids."""
    made = {
        "alice": add(
            cli, "alice", "--company", "A1", "--tag", "vip", "--tag", "expo", "--source", "web"
        ),
        "alice2": add(cli, "alice", "--company", "A2", "--stage", "contacted", "--source", "expo"),
        "bob": add(cli, "bob", "--company", "B1", "--tag", "vip"),
        "lee": add(cli, "lee", "--company", "L1"),
        "nick": add(cli, "nick", "--company", "N1", "--tag", "vip"),
        "nora": add(cli, "nora", "--company", "N2", "--stage", "contacted"),
        "dana": add(cli, "dana", "--company", "D1"),
        "pool": add(cli, "alice", "--company", "P1", "--pool", "--tag", "vip"),
        "pool2": add(cli, "dana", "--company", "P2", "--pool", "--stage", "qualified"),
    }
    return {k: v["id"] for k, v in made.items()}


_SHARED: dict[str, Any] = {}


@pytest.fixture
def shared_leads(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The lead store, built once and shared by tests that only read it."""
    if "root" not in _SHARED:
        root = make_store(tmp_path_factory.mktemp("scopes") / "store")
        monkeypatch.setenv("SALESCTL_STORE", str(root))
        _SHARED["ids"] = build_leads(cli)
        _SHARED["root"] = root
    monkeypatch.setenv("SALESCTL_STORE", str(_SHARED["root"]))
    return dict(_SHARED["ids"])


@pytest.fixture
def leads(
    shared_leads: dict[str, str], store: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A private copy of the shared lead store, for tests that write."""
    shutil.rmtree(store)
    shutil.copytree(
        _SHARED["root"], store, symlinks=True, ignore=shutil.ignore_patterns("salesctl")
    )
    monkeypatch.setenv("SALESCTL_STORE", str(store))
    return shared_leads


def test_pool_lead_json_has_null_owner_and_team(store: Path, cli: Any) -> None:
    lead = add(cli, "alice", "--company", "Pool Co", "--pool")
    assert lead["owner"] is None and lead["team"] is None
    assert lead["path"] == f"pool/leads/{lead['id']}/lead.yaml"
    director = add(cli, "dana", "--company", "Dana Co")
    assert director["owner"] == "dana" and director["team"] is None
    assert director["path"] == f"members/dana/leads/{director['id']}/lead.yaml"


def test_rep_sees_own_and_pool_only(shared_leads: dict[str, str], cli: Any) -> None:
    assert ids(cli, "alice") == {shared_leads[k] for k in ("alice", "alice2", "pool", "pool2")}
    assert ids(cli, "nora") == {shared_leads[k] for k in ("nora", "pool", "pool2")}


def test_team_lead_sees_team_and_pool(shared_leads: dict[str, str], cli: Any) -> None:
    assert ids(cli, "lee") == {
        shared_leads[k] for k in ("alice", "alice2", "bob", "lee", "pool", "pool2")
    }
    assert ids(cli, "nick") == {shared_leads[k] for k in ("nick", "nora", "pool", "pool2")}


def test_director_sees_everything_and_finance_the_pool_s_leads(
    shared_leads: dict[str, str], cli: Any
) -> None:
    assert ids(cli, "dana") == set(shared_leads.values())
    assert ids(cli, "fay") == {shared_leads["pool"], shared_leads["pool2"]}  # contracts only


def test_service_member_sees_the_pool(shared_leads: dict[str, str], cli: Any) -> None:
    assert ids(cli, "sam") == {shared_leads["pool"], shared_leads["pool2"]}


@pytest.mark.parametrize(
    ("actor", "owner", "allowed"),
    [
        ("alice", "alice", True),
        ("alice", "bob", False),
        ("alice", "nora", False),
        ("alice", "dana", False),
        ("alice", "pool", True),
        ("lee", "bob", True),
        ("lee", "nora", False),
        ("nick", "nora", True),
        ("nick", "alice", False),
        ("dana", "nora", True),
        ("sam", "pool", True),
        ("sam", "alice", False),
    ],
)
def test_show_respects_read_scope(
    shared_leads: dict[str, str], cli: Any, actor: str, owner: str, allowed: bool
) -> None:
    result = cli("--as", actor, "lead", "show", shared_leads[owner], "-f", "json")
    if allowed:
        assert result.code == 0, result.err
        assert result.json()["id"] == shared_leads[owner]
    else:
        assert result.code == 3, (result.out, result.err)
        assert result.out == ""
        assert result.err.startswith("error:")


@pytest.mark.parametrize(
    ("actor", "owner", "code"),
    [
        ("alice", "alice", 0),
        ("alice", "bob", 3),
        ("alice", "pool", 3),
        ("lee", "alice", 0),
        ("lee", "pool", 0),
        ("lee", "nora", 3),
        ("nick", "nora", 0),
        ("dana", "nora", 0),
        ("fay", "alice", 3),
        ("ada", "alice", 3),
    ],
)
def test_edit_respects_write_scope(
    leads: dict[str, str], store: Path, cli: Any, actor: str, owner: str, code: int
) -> None:
    head = _head(store)
    result = cli("--as", actor, "lead", "edit", leads[owner], "--set", "source=scoped")
    assert result.code == code, (result.out, result.err)
    shown = cli("--as", "dana", "lead", "show", leads[owner], "-f", "json").json()
    if code == 0:
        assert shown["source"] == "scoped"
        assert _head(store) != head
    else:
        assert shown.get("source") != "scoped"
        assert _head(store) == head


def _head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


@pytest.mark.parametrize(
    ("actor", "to", "code"),
    [
        ("alice", "alice", 0),
        ("alice", "bob", 3),
        ("lee", "alice", 0),
        ("lee", "nora", 3),
        ("nick", "nora", 0),
        ("dana", "nora", 0),
        ("dana", "fay", 0),
    ],
)
def test_add_to_respects_write_scope(store: Path, cli: Any, actor: str, to: str, code: int) -> None:
    result = cli("--as", actor, "lead", "add", "--company", "X", "--to", to, "-f", "json")
    assert result.code == code, (result.out, result.err)
    if code == 0:
        assert result.json()["owner"] == to
        assert (store / result.json()["path"]).is_file()


# -- list filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "args", "expected"),
    [
        ("dana", ["--owner", "alice"], {"alice", "alice2"}),
        ("dana", ["--owner", "nora"], {"nora"}),
        ("alice", ["--owner", "bob"], set()),  # filters never widen the scope
        ("dana", ["--team", "east"], {"alice", "alice2", "bob", "lee"}),
        ("dana", ["--team", "north"], {"nick", "nora"}),
        ("lee", ["--team", "north"], set()),
        ("dana", ["--pool"], {"pool", "pool2"}),
        ("alice", ["--pool"], {"pool", "pool2"}),
        ("dana", ["--stage", "contacted"], {"alice2", "nora"}),
        ("lee", ["--stage", "contacted"], {"alice2"}),
        ("dana", ["--tag", "vip"], {"alice", "bob", "nick", "pool"}),
        ("dana", ["--tag", "vip", "--tag", "expo"], {"alice"}),
        ("alice", ["--tag", "vip"], {"alice", "pool"}),
        ("dana", ["--source", "expo"], {"alice2"}),
        ("dana", ["--where", "source=web"], {"alice"}),
        ("dana", ["--where", "company=N2"], {"nora"}),
        ("dana", ["--where", "tags=expo"], {"alice"}),
        ("dana", ["--where", "stage=qualified", "--pool"], {"pool2"}),
        ("dana", ["--team", "east", "--tag", "vip"], {"alice", "bob"}),
        ("dana", ["--where", "company=nobody"], set()),
    ],
)
def test_list_filters(
    shared_leads: dict[str, str], cli: Any, actor: str, args: list[str], expected: set[str]
) -> None:
    assert ids(cli, actor, *args) == {shared_leads[k] for k in expected}


def test_list_json_rows_carry_the_contract_keys(shared_leads: dict[str, str], cli: Any) -> None:
    rows = cli("--as", "dana", "lead", "list", "-f", "json").json()
    for row in rows:
        assert {"id", "kind", "owner", "team", "path", "company", "stage", "created"} <= set(row)
        assert row["kind"] == "lead"
    by_id = {r["id"]: r for r in rows}
    assert (
        by_id[shared_leads["nora"]]["owner"] == "nora"
        and by_id[shared_leads["nora"]]["team"] == "north"
    )
    assert (
        by_id[shared_leads["pool"]]["owner"] is None and by_id[shared_leads["pool"]]["team"] is None
    )


def test_list_yaml_and_csv_hold_the_same_rows(shared_leads: dict[str, str], cli: Any) -> None:
    import csv
    import io

    as_json = cli("--as", "lee", "lead", "list", "-f", "json").json()
    as_yaml = yaml.safe_load(cli("--as", "lee", "lead", "list", "-f", "yaml").out)
    as_csv = list(csv.DictReader(io.StringIO(cli("--as", "lee", "lead", "list", "-f", "csv").out)))
    assert [r["id"] for r in as_yaml] == [r["id"] for r in as_json]
    assert [r["id"] for r in as_csv] == [r["id"] for r in as_json]
    assert [r["company"] for r in as_csv] == [r["company"] for r in as_json]


# -- the pure functions: a truth table -----------------------------------------------------------


@pytest.fixture(scope="module")
def config() -> Config:
    parsed, problems = parse_config(yaml.safe_load(CONFIG))
    assert problems == []
    return parsed


ALICE = Owner(member="alice", team="east")
BOB = Owner(member="bob", team="east")
NORA = Owner(member="nora", team="north")
DANA = Owner(member="dana")
FAY = Owner(member="fay")
SAM = Owner(member="sam")
EAST = Owner(team="east")
NORTH = Owner(team="north")

OWNERS = {
    "alice": ALICE,
    "bob": BOB,
    "nora": NORA,
    "dana": DANA,
    "fay": FAY,
    "sam": SAM,
    "team-east": EAST,
    "team-north": NORTH,
    "pool": POOL,
    "company": COMPANY,
}

# member -> the owners whose records they may read (everything else: not)
READABLE = {
    "dana": set(OWNERS),
    "fay": {"fay", "pool", "company"},  # and every contract, by path (test_access_rule)
    "ada": set(OWNERS),
    "lee": {"alice", "bob", "team-east", "pool", "company"},
    "nick": {"nora", "team-north", "pool", "company"},
    "alice": {"alice", "team-east", "pool", "company"},
    "nora": {"nora", "team-north", "pool", "company"},
    "sam": {"sam", "pool", "company"},
}


@pytest.mark.parametrize("member", list(READABLE))
def test_may_read_truth_table(config: Config, member: str) -> None:
    who = config.members[member]
    readable = {name for name, owner in OWNERS.items() if scopes.may_read(config, who, owner)}
    assert readable == READABLE[member]


WRITES = [
    # (member, action, owner, target, allowed)
    ("dana", "lead.add", NORA, None, True),
    ("dana", "lead.edit", ALICE, None, True),
    ("dana", "lead.assign", ALICE, NORA, True),
    ("dana", "config.edit", COMPANY, None, True),
    ("lee", "lead.edit", ALICE, None, True),
    ("lee", "lead.edit", POOL, None, True),
    ("lee", "lead.assign", ALICE, BOB, True),
    ("lee", "lead.assign", POOL, ALICE, True),
    ("lee", "lead.assign", ALICE, NORA, False),
    ("lee", "lead.edit", NORA, None, False),
    ("lee", "lead.add", NORA, None, False),
    ("lee", "lead.edit", DANA, None, False),
    ("lee", "config.edit", COMPANY, None, False),
    ("alice", "lead.add", ALICE, None, True),
    ("alice", "lead.edit", ALICE, None, True),
    ("alice", "lead.add", POOL, None, True),
    ("alice", "lead.claim", POOL, ALICE, True),
    ("alice", "lead.release", ALICE, POOL, True),  # SPEC 3: a rep may release their own
    ("alice", "lead.add", BOB, None, False),
    ("alice", "lead.edit", BOB, None, False),
    ("alice", "lead.edit", POOL, None, False),
    ("alice", "lead.assign", ALICE, BOB, False),
    ("alice", "lead.claim", POOL, BOB, False),
    ("alice", "contract.pay", BOB, None, False),
    ("alice", "config.edit", COMPANY, None, False),
    ("fay", "contract.pay", ALICE, None, True),
    ("fay", "contract.invoice", NORA, None, True),
    ("fay", "lead.add", FAY, None, False),
    ("fay", "lead.edit", ALICE, None, False),
    ("sam", "task.done", SAM, None, True),
    ("sam", "task.done", ALICE, None, False),
    ("sam", "lead.add", SAM, None, False),
    ("sam", "lead.add", POOL, None, False),
    ("ada", "config.edit", COMPANY, None, True),
    ("ada", "member.add", COMPANY, None, True),
    ("ada", "lead.add", POOL, None, False),
    ("ada", "lead.edit", ALICE, None, False),
]


@pytest.mark.parametrize(
    ("member", "action", "owner", "target", "allowed"),
    WRITES,
    ids=[f"{m}-{a}-{o}-{t}-{ok}" for m, a, o, t, ok in WRITES],
)
def test_check_write_truth_table(
    config: Config, member: str, action: str, owner: Owner, target: Owner | None, allowed: bool
) -> None:
    who = config.members[member]
    if allowed:
        scopes.check_write(config, who, action, owner, target=target)
    else:
        with pytest.raises(Forbidden) as info:
            scopes.check_write(config, who, action, owner, target=target)
        assert info.value.exit_code == 3


def test_custom_role_scope_and_actions() -> None:
    raw = yaml.safe_load(CONFIG)
    raw["roles"] = {"intern": {"scope": "own", "actions": ["lead.add", "followup.*"]}}
    raw["members"].append(
        {"id": "ivy", "name": "Ivy", "email": "ivy@acme.example", "team": "east", "role": "intern"}
    )
    config, problems = parse_config(raw)
    assert problems == []
    ivy = config.members["ivy"]
    mine = Owner(member="ivy", team="east")
    scopes.check_write(config, ivy, "lead.add", mine)
    scopes.check_write(config, ivy, "followup.add", mine)
    with pytest.raises(Forbidden):
        scopes.check_write(config, ivy, "lead.edit", mine)
    with pytest.raises(Forbidden):
        scopes.check_write(config, ivy, "followup.add", ALICE)
    assert scopes.may_read(config, ivy, mine) and not scopes.may_read(config, ivy, ALICE)
