"""Ids and paths: ids that try to leave the store are refused, prefixes resolve as in git,
``ids.new_id``/``normalise_prefix`` and ``layout.parse_path``/``record_file`` round trips."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import ids
from salesctl.model.kinds import BY_PREFIX, KINDS, TOP_LEVEL
from salesctl.store import layout
from salesctl.store.layout import COMPANY, POOL, Owner, RecordPath

# -- end to end ----------------------------------------------------------------------------------


def tree_state(root: Path) -> tuple[str, str, str, dict[str, str]]:
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            files[full.relative_to(root).as_posix()] = hashlib.sha256(full.read_bytes()).hexdigest()
    return (
        git(root, "rev-parse", "HEAD").strip(),
        git(root, "status", "--porcelain", "--untracked-files=all"),
        hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest(),
        files,
    )


LEAD_YAML = "schema_version: 1\ncompany: {company}\nstage: new\ncreated: 2026-11-01\n"
TWINS = ("L-7KQ2000000A1", "L-7KQ2000000B2")


@pytest.fixture
def twins(store: Path) -> tuple[str, ...]:
    """Two hand-written leads whose ids share the prefix L-7KQ2000000, committed by hand."""
    for owner, lead_id in zip(("alice", "bob"), TWINS, strict=True):
        path = store / f"teams/east/{owner}/leads/{lead_id}/lead.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(LEAD_YAML.format(company=lead_id), encoding="utf-8")
    git(store, "add", "-A")
    git(store, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-q", "-m", "twins")
    return TWINS


BAD_IDS = [
    "../../etc/passwd",
    "L-../x",
    "L-AAAA/../../",
    "/etc/passwd",
    "L-AAAA\\..\\x",
    "teams/east/alice/leads/L-7KQ2000000A1/lead.yaml",
    "L-7KQ2000000A1/../L-7KQ2000000B2",
    "",
    "L",
    "L-7KQ2000000A1X",  # one character too long
    "L-7KQ2-000",
]


@pytest.mark.parametrize("text", BAD_IDS)
def test_ids_that_are_not_ids_are_refused(
    twins: tuple[str, ...], store: Path, cli: Any, text: str
) -> None:
    git(store, "status", "--porcelain")
    before = tree_state(store)
    for command in (
        ("lead", "show", text, "-f", "json"),
        ("lead", "edit", text, "--set", "stage=contacted"),
        ("lead", "edit", text),  # no --set: resolves before opening $EDITOR
    ):
        result = cli("--as", "dana", *command)
        assert result.code == 1, (command, result.out, result.err)
        assert result.err.startswith("error:")
        assert result.out == ""
    assert tree_state(store) == before


def test_ambiguous_prefix_lists_the_candidates(twins: tuple[str, ...], cli: Any) -> None:
    for prefix in ("L-7KQ2", "l-7kq2000000", "L-7KQ2000000"):
        result = cli("--as", "dana", "lead", "show", prefix, "-f", "json")
        assert result.code == 1, prefix
        assert result.out == ""
        assert twins[0] in result.err and twins[1] in result.err


def test_ambiguous_prefix_edit_changes_nothing(
    twins: tuple[str, ...], store: Path, cli: Any
) -> None:
    git(store, "status", "--porcelain")
    before = tree_state(store)
    result = cli("--as", "dana", "lead", "edit", "L-7KQ2", "--set", "stage=contacted")
    assert result.code == 1
    assert twins[0] in result.err and twins[1] in result.err
    assert tree_state(store) == before


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("L-7KQ2000000A", TWINS[0]),
        ("L-7KQ2000000B", TWINS[1]),
        ("l-7kq2000000a", TWINS[0]),
        ("l-7kq2000000b2", TWINS[1]),
        (TWINS[0], TWINS[0]),
        (f"  {TWINS[1]}  ", TWINS[1]),
    ],
)
def test_unique_prefix_resolves(
    twins: tuple[str, ...], cli: Any, prefix: str, expected: str
) -> None:
    result = cli("--as", "dana", "lead", "show", prefix, "-f", "json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["id"] == expected and shown["company"] == expected


def test_unique_prefix_edits_the_right_record(
    twins: tuple[str, ...], store: Path, cli: Any
) -> None:
    result = cli("--as", "dana", "lead", "edit", "l-7kq2000000b", "--set", "stage=contacted")
    assert result.code == 0, result.err
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [
        f"teams/east/bob/leads/{TWINS[1]}/lead.yaml"
    ]
    assert (
        git(store, "log", "-1", "--format=%(trailers:key=Salesctl-Record,valueonly)").strip()
        == (TWINS[1])
    )


def test_prefix_of_a_real_id_works(store: Path, cli: Any) -> None:
    lead = cli("--as", "alice", "lead", "add", "--company", "Acme", "-f", "json").json()
    for prefix in (lead["id"][:6], lead["id"][:6].lower(), lead["id"]):
        result = cli("--as", "alice", "lead", "show", prefix, "-f", "json")
        assert result.code == 0, result.err
        assert result.json()["id"] == lead["id"]


def test_file_names_come_from_ids_not_user_text(store: Path, cli: Any) -> None:
    for company in ("../../escape", "a/b/c", "阿里巴巴/北京", ".git", "CON"):
        lead = cli("--as", "alice", "lead", "add", "--company", company, "-f", "json").json()
        assert lead["company"] == company
        assert lead["path"] == f"teams/east/alice/leads/{lead['id']}/lead.yaml"
        assert (store / lead["path"]).is_file()
    assert not (store.parent / "escape").exists()
    assert sorted(p.name for p in (store / "teams/east/alice/leads").iterdir()) == sorted(
        r["id"] for r in cli("--as", "alice", "lead", "list", "-f", "json").json()
    )


# -- ids -------------------------------------------------------------------------------------------


def test_new_id_format() -> None:
    made = [ids.new_id("L") for _ in range(2000)]
    assert len(set(made)) == len(made)
    for value in made:
        assert re.fullmatch(r"L-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{12}", value), value
        assert ids.is_id(value)
    # the random part uses the whole alphabet (not, say, only digits)
    assert set("".join(m[2:] for m in made)) == set(ids.ALPHABET)
    for kind in KINDS.values():
        value = ids.new_id(kind.prefix)
        assert value.startswith(kind.prefix + "-") and ids.is_id(value)
        assert BY_PREFIX[value.split("-")[0]] is kind


@pytest.mark.parametrize(
    "text",
    ["L-7KQ2M4XR9TA", "L-7KQ2M4XR9TABC", "L-7KQ2M4XR9TAI", "l-7kq2m4xr9tab", "L7KQ2M4XR9TAB", ""],
)
def test_is_id_is_strict(text: str) -> None:
    assert not ids.is_id(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L-7KQ2", "L-7KQ2"),
        ("l-7kq2", "L-7KQ2"),
        ("  L-7KQ2M4XR9TAB ", "L-7KQ2M4XR9TAB"),
        ("L-", "L-"),
        ("L", "L"),
        ("FU-0", "FU-0"),
    ],
)
def test_normalise_prefix_accepts_ids_and_prefixes(text: str, expected: str) -> None:
    assert ids.normalise_prefix(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "../x",
        "L-../x",
        "L-AAAA/../../",
        "L-AAAA/",
        "L-AAAA\\x",
        "/L-AAAA",
        "L-AA AA",
        "L-AAAA\x00",
        "L-I",  # not in the Crockford alphabet
        "L-O",
        "L-U",
        "L-7KQ2M4XR9TABC",  # too long
        "ABC-1",
        "",
        "-",
        "L--1",
        "Ｌ-7KQ2",  # full-width L
    ],
)
def test_normalise_prefix_refuses_path_characters_and_junk(text: str) -> None:
    assert ids.normalise_prefix(text) is None


# -- layout --------------------------------------------------------------------------------------

OWNERS = [
    POOL,
    Owner(member="alice", team="east"),
    Owner(member="dana"),
]


@pytest.mark.parametrize("owner", OWNERS, ids=str)
@pytest.mark.parametrize("kind_name", TOP_LEVEL)
def test_record_file_round_trips_through_parse_path(owner: Owner, kind_name: str) -> None:
    kind = KINDS[kind_name]
    record_id = ids.new_id(kind.prefix)
    path = layout.record_file(owner, kind, record_id)
    assert path.endswith(f"/{kind.plural}/{record_id}/{kind.file_name}")  # toolkit: item.yaml
    assert ".." not in path.split("/") and not path.startswith("/")
    assert layout.parse_path(path) == RecordPath(path, kind, record_id, owner)


@pytest.mark.parametrize("owner", [Owner(team="east"), COMPANY], ids=str)
def test_okr_owners_round_trip(owner: Owner) -> None:
    kind = KINDS["okr"]
    record_id = ids.new_id(kind.prefix)
    path = layout.record_file(owner, kind, record_id)
    assert layout.parse_path(path) == RecordPath(path, kind, record_id, owner)


def test_expected_directories() -> None:
    lead = KINDS["lead"]
    assert layout.record_file(POOL, lead, "L-7KQ2M4XR9TAB") == "pool/leads/L-7KQ2M4XR9TAB/lead.yaml"
    assert (
        layout.record_file(Owner(member="alice", team="east"), lead, "L-7KQ2M4XR9TAB")
        == "teams/east/alice/leads/L-7KQ2M4XR9TAB/lead.yaml"
    )
    assert (
        layout.record_file(Owner(member="dana"), lead, "L-7KQ2M4XR9TAB")
        == "members/dana/leads/L-7KQ2M4XR9TAB/lead.yaml"
    )


@pytest.mark.parametrize("owner", OWNERS, ids=str)
def test_child_files_round_trip(owner: Owner) -> None:
    for parent_name in TOP_LEVEL:
        parent = KINDS[parent_name]
        parent_id = ids.new_id(parent.prefix)
        parent_dir = layout.record_dir(owner, parent, parent_id)
        for child_name in parent.children:
            child = KINDS[child_name]
            child_id = ids.new_id(child.prefix)
            path = layout.child_file(parent_dir, child, child_id)
            assert layout.parse_path(path) == RecordPath(
                path, child, child_id, owner, parent=parent_id
            )


@pytest.mark.parametrize(
    "path",
    [
        "salesctl.yaml",
        "pool/leads/L-7KQ2M4XR9TAB/customer.yaml",  # wrong file name for the kind
        "pool/leads/C-7KQ2M4XR9TAB/lead.yaml",  # a customer id under leads
        "pool/leads/not-an-id/lead.yaml",
        "pool/leads/L-7KQ2M4XR9TAB/../lead.yaml",
        "../pool/leads/L-7KQ2M4XR9TAB/lead.yaml",
        "pool/leads/L-7KQ2M4XR9TAB/lead.yml",
        "pool/leads/L-7KQ2M4XR9TAB/followups/V-7KQ2M4XR9TAB.yaml",  # visit id in followups
        "pool/leads/L-7KQ2M4XR9TAB/payments/P-7KQ2M4XR9TAB.yaml",  # leads have no payments
        "pool/leads/L-7KQ2M4XR9TAB/followups/notes.yaml",
        "elsewhere/leads/L-7KQ2M4XR9TAB/lead.yaml",
        "teams/east/alice/leads/L-7KQ2M4XR9TAB/attachments/F-7KQ2M4XR9TAB/x.yaml",
        "templates/weekly.yaml",
    ],
)
def test_parse_path_rejects_what_is_not_a_record(path: str) -> None:
    assert layout.parse_path(path) is None


@pytest.mark.parametrize(
    ("command", "missing", "hint"),
    [
        (("deal", "show"), "D-ZZZZ", "salesctl deal list"),
        (("contract", "show"), "K-ZZZZ", "salesctl contract list"),
        (("customer", "show"), "C-ZZZZ", "salesctl customer list"),
        (("lead", "show"), "L-ZZZZ", "salesctl lead list"),
    ],
)
def test_an_unknown_id_points_to_its_own_kinds_list(
    store: Path, cli: Any, command: tuple[str, ...], missing: str, hint: str
) -> None:
    result = cli("--as", "dana", *command, missing)
    assert result.code == 1
    assert f"`{hint}`" in result.err
