"""The git contract of mutating commands, end to end on a real temporary store.

One commit per command, authored by the acting member, with the action/record trailers;
only the command's own paths are committed; a refusal or a failure changes nothing (HEAD,
index, work tree); ``--no-commit`` and ``--dry-run``; ``lead edit`` through ``$EDITOR``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git, make_store

# -- helpers ---------------------------------------------------------------------------------


def add_lead(cli: Any, actor: str, *args: str) -> dict[str, Any]:
    result = cli("--as", actor, "lead", "add", *args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def trailer(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line for line in out.splitlines() if line.strip()]


def all_trailers(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return [line for line in out.splitlines() if line.strip()]


def changed_files(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "show", "--name-only", "--format=", rev)
    return [line for line in out.splitlines() if line.strip()]


def identity(root: Path, rev: str = "HEAD") -> tuple[str, str, str, str]:
    an, ae, cn, ce = git(root, "log", "-1", "--format=%an%n%ae%n%cn%n%ce", rev).splitlines()
    return an, ae, cn, ce


def status(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


def tree_files(root: Path) -> dict[str, str]:
    """Every file of the work tree (outside .git) with a hash of its bytes."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            files[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
    return files


def snapshot(root: Path) -> dict[str, Any]:
    """Everything a refused command must leave as it was."""
    return {
        "head": head(root),
        "status": status(root),
        "index": hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest(),
        "files": tree_files(root),
    }


def settle(root: Path) -> None:
    """Age every work-tree file and refresh git's index so it is stable (no racy entries):
    a later byte comparison of .git/index then sees only real changes."""
    old = 1_600_000_000
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            os.utime(Path(dirpath) / name, (old, old))
    git(root, "update-index", "-q", "--refresh")
    git(root, "status", "--porcelain")


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- 1. one commit per command ----------------------------------------------------------------


def test_lead_add_makes_exactly_one_commit_by_the_actor(store: Path, cli: Any) -> None:
    before, count = head(store), commit_count(store)
    lead = add_lead(cli, "alice", "--company", "Acme Ltd", "--name", "Wei Zhang")

    assert commit_count(store) == count + 1
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert identity(store) == (
        "Alice Lin",
        "alice@acme.example",
        "Alice Lin",
        "alice@acme.example",
    )
    subject = git(store, "log", "-1", "--format=%s").strip()
    assert "lead.add" in subject and lead["id"] in subject
    assert trailer(store, "Salesctl-Action") == ["lead.add"]
    assert trailer(store, "Salesctl-Record") == [lead["id"]]
    assert sorted(all_trailers(store)) == sorted(
        ["Salesctl-Action: lead.add", f"Salesctl-Record: {lead['id']}"]
    )
    assert changed_files(store) == [lead["path"]]
    assert lead["path"] == f"teams/east/alice/leads/{lead['id']}/lead.yaml"
    # The committed blob is the file on disk, and the user's index agrees: nothing left over.
    assert git(store, "show", f"HEAD:{lead['path']}") == (store / lead["path"]).read_text(
        encoding="utf-8"
    )
    assert status(store) == ""


def test_lead_add_json_is_the_stored_record(store: Path, cli: Any) -> None:
    lead = add_lead(
        cli,
        "alice",
        "--company",
        "Acme Ltd",
        "--name",
        "Wei Zhang",
        "--email",
        "wei@acme.example",
        "--phone",
        "+86 138 0000 0000",
        "--source",
        "web",
        "--tag",
        "vip",
        "--tag",
        "expo",
    )
    assert lead["kind"] == "lead" and lead["owner"] == "alice" and lead["team"] == "east"
    assert lead["stage"] == "new" and lead["created"] == "2026-11-20"
    assert lead["tags"] == ["vip", "expo"]
    stored = read_yaml(store / lead["path"])
    assert stored["schema_version"] == 1
    for key in ("company", "name", "email", "phone", "source", "tags", "stage"):
        assert stored[key] == lead[key]
    assert str(stored["created"]) == "2026-11-20"


def test_commit_is_authored_by_the_actor_not_the_owner(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "dana", "--company", "Acme", "--to", "alice")
    assert lead["owner"] == "alice"
    assert identity(store) == ("Dana Wu", "dana@acme.example", "Dana Wu", "dana@acme.example")
    assert changed_files(store) == [lead["path"]]


def test_lead_edit_makes_exactly_one_commit_of_that_record(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme", "--email", "a@acme.example")
    other = add_lead(cli, "alice", "--company", "Other")
    count, before = commit_count(store), head(store)

    edited = cli(
        "--as", "lee", "lead", "edit", lead["id"], "--set", "stage=contacted", "-f", "json"
    )
    assert edited.code == 0, edited.err
    assert edited.json()["stage"] == "contacted"

    assert commit_count(store) == count + 1
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert identity(store) == ("Lee Chen", "lee@acme.example", "Lee Chen", "lee@acme.example")
    subject = git(store, "log", "-1", "--format=%s").strip()
    assert "lead.edit" in subject and lead["id"] in subject
    assert trailer(store, "Salesctl-Action") == ["lead.edit"]
    assert trailer(store, "Salesctl-Record") == [lead["id"]]
    assert changed_files(store) == [lead["path"]]
    old = yaml.safe_load(git(store, "show", f"HEAD~1:{lead['path']}"))
    new = yaml.safe_load(git(store, "show", f"HEAD:{lead['path']}"))
    assert new["stage"] == "contacted" and old["stage"] == "new"
    assert {k for k in {*old, *new} if old.get(k) != new.get(k)} == {"stage", "stages"}
    assert str(new["stages"]["contacted"]) == "2026-11-20"
    assert (store / other["path"]).exists()
    assert status(store) == ""


def test_edit_changing_nothing_makes_no_commit(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    before = head(store)
    result = cli("--as", "alice", "lead", "edit", lead["id"], "--set", "company=Acme", "-f", "json")
    assert result.code == 0, result.err
    assert head(store) == before
    assert status(store) == ""


def test_edit_clears_a_field_with_an_empty_value(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme", "--source", "web")
    result = cli("--as", "alice", "lead", "edit", lead["id"], "--set", "source=", "-f", "json")
    assert result.code == 0, result.err
    assert "source" not in result.json()
    assert "source" not in read_yaml(store / lead["path"])


# -- 2. only our own paths ---------------------------------------------------------------------


def test_unrelated_user_edits_stay_uncommitted_and_in_place(store: Path, cli: Any) -> None:
    (store / "staged.txt").write_text("v1\n")
    (store / "tracked.txt").write_text("t1\n")
    git(store, "add", "staged.txt", "tracked.txt")
    git(store, "-c", "user.name=X", "-c", "user.email=x@x", "commit", "-q", "-m", "files")
    (store / "staged.txt").write_text("v2 staged\n")
    git(store, "add", "staged.txt")
    (store / "tracked.txt").write_text("t2 unstaged\n")
    (store / "notes.txt").write_text("my notes\n")
    status_before = status(store)
    assert status_before  # the scenario has dirty files

    lead = add_lead(cli, "alice", "--company", "Acme")

    assert changed_files(store) == [lead["path"]]
    assert status(store) == status_before
    assert git(store, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert git(store, "diff", "--name-only").split() == ["tracked.txt"]
    assert (store / "staged.txt").read_text() == "v2 staged\n"
    assert (store / "tracked.txt").read_text() == "t2 unstaged\n"
    assert (store / "notes.txt").read_text() == "my notes\n"
    assert git(store, "show", "HEAD:staged.txt") == "v1\n"
    assert git(store, "show", "HEAD:tracked.txt") == "t1\n"
    assert git(store, "show", ":staged.txt") == "v2 staged\n"  # still staged


def test_a_staged_hand_edit_of_another_record_is_not_swept_up(store: Path, cli: Any) -> None:
    mine = add_lead(cli, "alice", "--company", "Mine")
    theirs = add_lead(cli, "bob", "--company", "Theirs")
    path = store / theirs["path"]
    path.write_text(path.read_text(encoding="utf-8") + "notes: hand edit\n", encoding="utf-8")
    git(store, "add", theirs["path"])

    result = cli("--as", "alice", "lead", "edit", mine["id"], "--set", "stage=contacted")
    assert result.code == 0, result.err
    assert changed_files(store) == [mine["path"]]
    assert git(store, "diff", "--cached", "--name-only").split() == [theirs["path"]]
    assert "notes: hand edit" in path.read_text(encoding="utf-8")


def test_edit_refuses_a_record_with_uncommitted_hand_edits(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    path = store / lead["path"]
    hand_edited = path.read_text(encoding="utf-8") + "notes: not committed yet\n"
    path.write_text(hand_edited, encoding="utf-8")
    before = head(store)

    result = cli("--as", "alice", "lead", "edit", lead["id"], "--set", "stage=contacted")
    assert result.code == 1
    assert head(store) == before
    assert path.read_text(encoding="utf-8") == hand_edited


# -- 3. refusal and failure change nothing ---------------------------------------------------


_BUSY: dict[str, Any] = {}


@pytest.fixture
def busy(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A settled store with leads of alice, bob and nora, a pool lead, an untracked file and a
    staged one: (root, leads). Built once and shared by the tests below, which only run
    commands that must change nothing (each compares its own before and after)."""
    if "root" not in _BUSY:
        root = make_store(tmp_path_factory.mktemp("busy") / "store")
        monkeypatch.setenv("SALESCTL_STORE", str(root))
        _BUSY["leads"] = {
            "alice": add_lead(cli, "alice", "--company", "Alice Co", "--email", "a@alice.example"),
            "bob": add_lead(cli, "bob", "--company", "Bob Co"),
            "nora": add_lead(cli, "nora", "--company", "Nora Co"),
            "pool": add_lead(cli, "dana", "--company", "Pool Co", "--pool"),
        }
        (root / "notes.txt").write_text("untracked\n")
        (root / "README.txt").write_text("one\n")
        git(root, "add", "README.txt")
        settle(root)
        _BUSY["root"] = root
    monkeypatch.setenv("SALESCTL_STORE", str(_BUSY["root"]))
    return _BUSY["root"], _BUSY["leads"]


REFUSED_ADDS = [
    (3, ["--as", "alice", "lead", "add", "--company", "X", "--to", "bob"]),
    (3, ["--as", "nick", "lead", "add", "--company", "X", "--to", "alice"]),
    (3, ["--as", "fay", "lead", "add", "--company", "X"]),
    (3, ["--as", "sam", "lead", "add", "--company", "X"]),
    (3, ["--as", "ada", "lead", "add", "--company", "X"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--email", "not-an-email"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--phone", "call me"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--stage", "bogus"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--set", "bogus=1"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--set", "created=2020-01-01"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--set", "custom.budget=-5"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--set", "novalue"]),
    (1, ["--as", "alice", "lead", "add", "--company", "two\nlines"]),
    (1, ["--as", "alice", "lead", "add"]),
    (1, ["--as", "alice", "lead", "add", "--company", "X", "--pool", "--to", "alice"]),
    (1, ["--as", "zed", "lead", "add", "--company", "X"]),
    (1, ["--as", "dana", "lead", "add", "--company", "X", "--to", "zed"]),
    (1, ["--as", "dana", "lead", "add", "--company", "X", "--to", "carol"]),  # inactive
    (2, ["--as", "alice", "lead", "add", "--company", "X", "--no-such-option"]),
]


@pytest.mark.parametrize(
    ("code", "args"), REFUSED_ADDS, ids=[" ".join(args[3:]) for _c, args in REFUSED_ADDS]
)
def test_refused_add_changes_nothing(
    busy: tuple[Path, dict[str, Any]], cli: Any, code: int, args: list[str]
) -> None:
    store, _leads = busy
    before = snapshot(store)
    result = cli(*args)
    assert result.code == code, (result.out, result.err)
    assert result.err.startswith("error:") or code == 2
    assert "Traceback" not in result.err
    assert snapshot(store) == before


REFUSED_EDITS = [
    (3, "alice", "bob", ["--set", "stage=contacted"]),  # a rep, another rep's lead
    (3, "alice", "pool", ["--set", "stage=contacted"]),  # a rep may claim, not edit, pool leads
    (3, "lee", "nora", ["--set", "stage=contacted"]),  # a team lead, another team's lead
    (3, "fay", "alice", ["--set", "stage=contacted"]),
    (1, "alice", "alice", ["--set", "email=not-an-email"]),
    (1, "alice", "alice", ["--set", "stage=bogus"]),
    (1, "alice", "alice", ["--set", "nosuchfield=1"]),
    (1, "alice", "alice", ["--set", "created=2020-01-01"]),
    (1, "alice", "alice", ["--set", "phone=abc"]),
    (1, "alice", "alice", ["--set", "stage"]),
    (1, "alice", "alice", ["--set", "participants=alice,ghost"]),
    (1, "alice", "alice", ["--set", "custom.region=North"]),  # no custom fields configured
    (1, "zed", "alice", ["--set", "stage=contacted"]),
]


@pytest.mark.parametrize(
    ("code", "actor", "owner", "args"),
    REFUSED_EDITS,
    ids=[f"{a}-edits-{o}-{' '.join(x)}" for _c, a, o, x in REFUSED_EDITS],
)
def test_refused_edit_changes_nothing(
    busy: tuple[Path, dict[str, Any]],
    cli: Any,
    code: int,
    actor: str,
    owner: str,
    args: list[str],
) -> None:
    store, leads = busy
    lead_id = leads[owner]["id"]
    before = snapshot(store)
    result = cli("--as", actor, "lead", "edit", lead_id, *args)
    assert result.code == code, (result.out, result.err)
    assert result.err.startswith("error:")
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "args",
    [
        ["lead", "edit", "L-ZZZZZZZZZZZZ", "--set", "stage=contacted"],
        ["lead", "show", "L-ZZZZZZZZZZZZ"],
        ["lead", "list", "--owner", "zed"],
        ["lead", "list", "--team", "nowhere"],
    ],
)
def test_not_found_is_exit_1_and_changes_nothing(
    busy: tuple[Path, dict[str, Any]], cli: Any, args: list[str]
) -> None:
    store, _leads = busy
    before = snapshot(store)
    result = cli("--as", "dana", *args)
    assert result.code == 1, (result.out, result.err)
    assert result.err.startswith("error:")
    assert snapshot(store) == before


def test_allowed_commands_do_not_disturb_the_user_index(
    busy: tuple[Path, dict[str, Any]], cli: Any
) -> None:
    """The settled fixture itself: a successful read leaves the snapshot equal too (so the
    refusal tests above compare like with like)."""
    store, leads = busy
    before = snapshot(store)
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    assert cli("--as", "alice", "lead", "show", leads["alice"]["id"], "-f", "json").code == 0
    assert snapshot(store) == before


# -- 10. --no-commit and --dry-run -------------------------------------------------------------


def test_no_commit_writes_the_file_but_stages_and_commits_nothing(store: Path, cli: Any) -> None:
    before = head(store)
    lead = add_lead(cli, "alice", "--company", "Acme", "--no-commit")
    assert head(store) == before
    assert read_yaml(store / lead["path"])["company"] == "Acme"
    assert git(store, "diff", "--cached", "--name-only") == ""
    assert status(store) == f"?? {lead['path']}\n"
    assert not (store / ".git" / "salesctl" / "journal.json").exists()
    # the next, committed, command does not sweep the uncommitted lead into its commit
    other = add_lead(cli, "alice", "--company", "Committed")
    assert changed_files(store) == [other["path"]]
    assert status(store) == f"?? {lead['path']}\n"


def test_no_commit_edit_leaves_an_unstaged_modification(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    before = head(store)
    result = cli(
        "--as", "alice", "lead", "edit", lead["id"], "--set", "stage=contacted", "--no-commit"
    )
    assert result.code == 0, result.err
    assert head(store) == before
    assert read_yaml(store / lead["path"])["stage"] == "contacted"
    assert git(store, "diff", "--cached", "--name-only") == ""
    assert status(store) == f" M {lead['path']}\n"


def test_dry_run_add_writes_nothing(store: Path, cli: Any) -> None:
    settle(store)
    before = snapshot(store)
    result = cli("--as", "alice", "lead", "add", "--company", "Acme", "--dry-run", "-f", "json")
    assert result.code == 0, result.err
    lead = result.json()
    assert lead["company"] == "Acme"
    assert not (store / lead["path"]).exists()
    assert lead["path"] in result.err  # says what it would write
    assert snapshot(store) == before


def test_dry_run_edit_writes_nothing(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    settle(store)
    before = snapshot(store)
    result = cli(
        "--as", "alice", "lead", "edit", lead["id"], "--set", "stage=contacted", "--dry-run"
    )
    assert result.code == 0, result.err
    assert snapshot(store) == before
    assert read_yaml(store / lead["path"])["stage"] == "new"


# -- 11. lead edit in $EDITOR -------------------------------------------------------------------


def editor_script(tmp_path: Path, body: str) -> str:
    """An $EDITOR command: a Python script that rewrites the file named as its argument."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\npath = sys.argv[1]\ntext = open(path, encoding='utf-8').read()\n"
        + textwrap.dedent(body)
        + "open(path, 'w', encoding='utf-8').write(text)\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def test_editor_edit_is_one_commit_with_the_change(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme", "--email", "old@acme.example")
    monkeypatch.setenv(
        "EDITOR",
        editor_script(tmp_path, "text = text.replace('old@acme.example', 'new@acme.example')\n"),
    )
    count = commit_count(store)
    result = cli("--as", "alice", "lead", "edit", lead["id"], "-f", "json")
    assert result.code == 0, result.err
    assert result.json()["email"] == "new@acme.example"
    assert commit_count(store) == count + 1
    assert trailer(store, "Salesctl-Action") == ["lead.edit"]
    assert trailer(store, "Salesctl-Record") == [lead["id"]]
    assert changed_files(store) == [lead["path"]]
    assert yaml.safe_load(git(store, "show", f"HEAD:{lead['path']}"))["email"] == (
        "new@acme.example"
    )
    assert status(store) == ""


def test_editor_stage_change_dates_the_new_stage(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    monkeypatch.setenv(
        "EDITOR", editor_script(tmp_path, "text = text.replace('stage: new', 'stage: qualified')\n")
    )
    result = cli("--as", "alice", "lead", "edit", lead["id"], "-f", "json")
    assert result.code == 0, result.err
    stored = read_yaml(store / lead["path"])
    assert stored["stage"] == "qualified"
    assert str(stored["stages"]["qualified"]) == "2026-11-20"


@pytest.mark.parametrize(
    "body",
    [
        "text = text.replace('old@acme.example', 'not-an-email')\n",
        "text = text + 'favourite_colour: blue\\n'\n",
        "text = text.replace('stage: new', 'stage: bogus')\n",
        "text = text + 'broken: [unclosed\\n'\n",
        "text = '- just\\n- a list\\n'\n",
        "raise SystemExit(3)\n",
    ],
    ids=["bad-email", "unknown-field", "unknown-stage", "malformed", "not-a-mapping", "exit-3"],
)
def test_invalid_editor_edit_changes_nothing(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme", "--email", "old@acme.example")
    settle(store)
    before = snapshot(store)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, body))
    result = cli("--as", "alice", "lead", "edit", lead["id"])
    assert result.code == 1, (result.out, result.err)
    assert result.err.startswith("error:")
    assert snapshot(store) == before


def test_edit_without_set_or_editor_is_refused(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Acme")
    before = head(store)
    result = cli("--as", "alice", "lead", "edit", lead["id"])
    assert result.code == 1
    assert head(store) == before


# -- custom fields from the config ---------------------------------------------------------------

CUSTOM = """
custom_fields:
  lead:
    - {name: region, type: choice, choices: [North, South]}
    - {name: budget, type: number}
"""


def test_custom_fields_are_validated_and_filterable(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import CONFIG

    root = make_store(tmp_path / "custom", CONFIG + CUSTOM)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    north = add_lead(cli, "alice", "--company", "N", "--set", "custom.region=North")
    add_lead(cli, "alice", "--company", "S", "--set", "region=South", "--set", "budget=12.5")
    assert north["custom"] == {"region": "North"}
    assert read_yaml(root / north["path"])["custom"] == {"region": "North"}
    listed = cli("--as", "alice", "lead", "list", "--where", "custom.region=North", "-f", "json")
    assert [r["id"] for r in listed.json()] == [north["id"]]
    before = head(root)
    for bad in (
        "custom.region=West",
        "custom.budget=lots",
        "custom.colour=red",
        "custom.budget=1e999999999",  # int() of it ran for ever; now refused as too large
        "custom.budget=1e400",
    ):
        result = cli("--as", "alice", "lead", "edit", north["id"], "--set", bad)
        assert result.code == 1, bad
        assert "internal error" not in result.err
    assert head(root) == before
    edited = cli(
        "--as", "alice", "lead", "edit", north["id"], "--set", "custom.region=", "-f", "json"
    )
    assert edited.code == 0, edited.err
    assert "region" not in (edited.json().get("custom") or {})


def test_a_long_name_is_the_file_s_not_the_commit_subject_s(store: Path, cli: Any) -> None:
    """A one-line field holds at most 1,000 characters (a 100 KB company name is refused);
    one that long is kept whole in the record, and the commit's subject line, which every
    `git log` and forge shows, is cut at 200 characters."""
    before = snapshot(store)
    huge = cli("--as", "alice", "lead", "add", "--company", "x" * 100_000)
    assert huge.code == 1 and "100,000 characters long" in huge.err
    assert snapshot(store) == before
    name = "Acme " + "x" * 995
    made = cli("--as", "alice", "lead", "add", "--company", name, "-f", "json")
    assert made.code == 0, made.err
    assert read_yaml(store / made.json()["path"])["company"] == name
    subject = git(store, "log", "-1", "--format=%s").strip()
    assert len(subject) == 200 and subject.endswith("…") and subject.startswith("lead.add: ")
    body = git(store, "log", "-1", "--format=%B")
    assert f"Salesctl-Record: {made.json()['id']}" in body
