"""The CLI shell: Chinese text in every format, ``init``, who is acting, which store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, git, make_store

# -- Chinese text round-trips --------------------------------------------------------------------

COMPANY = "阿里巴巴（中国）有限公司"
NAME = "张三"
SOURCE = "展会·上海"
TAG = "重点客户"


@pytest.fixture
def chinese_lead(store: Path, cli: Any) -> dict[str, Any]:
    result = cli(
        "--as", "nora", "lead", "add",
        "--company", COMPANY, "--name", NAME, "--source", SOURCE, "--tag", TAG,
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert COMPANY in result.out  # readable in the JSON text, not \u escapes
    return result.json()


def test_chinese_is_stored_readable(store: Path, chinese_lead: dict[str, Any]) -> None:
    raw = (store / chinese_lead["path"]).read_bytes()
    text = raw.decode("utf-8")
    assert "\\u" not in text and "\\x" not in text
    for value in (COMPANY, NAME, SOURCE, TAG):
        assert value in text
    assert f"company: {COMPANY}\n" in text
    assert f"name: {NAME}\n" in text
    stored = yaml.safe_load(text)
    assert stored["company"] == COMPANY and stored["name"] == NAME
    assert stored["tags"] == [TAG]


def test_chinese_in_json_show_and_list(store: Path, cli: Any, chinese_lead: dict[str, Any]) -> None:
    shown = cli("--as", "nora", "lead", "show", chinese_lead["id"], "-f", "json")
    assert "\\u" not in shown.out
    data = shown.json()
    assert (data["company"], data["name"], data["source"], data["tags"]) == (
        COMPANY,
        NAME,
        SOURCE,
        [TAG],
    )
    listed = cli("--as", "nick", "lead", "list", "-f", "json").json()
    assert [r["company"] for r in listed] == [COMPANY]


def test_chinese_in_csv(store: Path, cli: Any, chinese_lead: dict[str, Any]) -> None:
    result = cli("--as", "nora", "lead", "list", "-f", "csv")
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == 1
    assert rows[0]["company"] == COMPANY and rows[0]["name"] == NAME
    assert rows[0]["id"] == chinese_lead["id"]


def test_chinese_in_yaml(store: Path, cli: Any, chinese_lead: dict[str, Any]) -> None:
    shown = cli("--as", "nora", "lead", "show", chinese_lead["id"], "-f", "yaml")
    assert shown.code == 0
    assert COMPANY in shown.out and "\\u" not in shown.out
    data = yaml.safe_load(shown.out)
    assert data["company"] == COMPANY and data["name"] == NAME
    listed = yaml.safe_load(cli("--as", "nora", "lead", "list", "-f", "yaml").out)
    assert [r["company"] for r in listed] == [COMPANY]


def test_chinese_filters_and_edits(store: Path, cli: Any, chinese_lead: dict[str, Any]) -> None:
    assert [
        r["id"] for r in cli("--as", "nora", "lead", "list", "--tag", TAG, "-f", "json").json()
    ] == [chinese_lead["id"]]
    assert [
        r["id"]
        for r in cli("--as", "nora", "lead", "list", "--where", f"name={NAME}", "-f", "json").json()
    ] == [chinese_lead["id"]]
    edited = cli("--as", "nora", "lead", "edit", chinese_lead["id"], "--set", "name=李四")
    assert edited.code == 0, edited.err
    assert "name: 李四\n" in (store / chinese_lead["path"]).read_text(encoding="utf-8")


def test_chinese_member_name_is_the_commit_author(
    store: Path, chinese_lead: dict[str, Any]
) -> None:
    assert git(store, "log", "-1", "--format=%an <%ae>").strip() == "王娜 <nora@acme.example>"


# -- init ----------------------------------------------------------------------------------------


def test_init_creates_a_store_with_one_commit(tmp_path: Path, cli: Any) -> None:
    target = tmp_path / "new-store"
    result = cli("init", str(target))
    assert result.code == 0, result.err
    assert (target / ".git").is_dir()
    assert (target / "salesctl.yaml").is_file()
    assert git(target, "rev-list", "--count", "HEAD").strip() == "1"
    assert "salesctl.yaml" in git(target, "ls-files").split()
    assert git(target, "status", "--porcelain", "--untracked-files=all") == ""
    config = yaml.safe_load((target / "salesctl.yaml").read_text(encoding="utf-8"))
    assert config["org"] and config["members"]
    first = config["members"][0]
    assert git(target, "log", "-1", "--format=%ae").strip() == first["email"]
    checked = cli("--store", str(target), "check", "-f", "json")
    assert checked.code == 0, checked.out + checked.err
    assert checked.json() == []
    who = cli("--store", str(target), "--as", first["id"], "whoami", "-f", "json")
    assert who.code == 0, who.err
    assert who.json()["id"] == first["id"]


def test_init_then_add_a_lead(tmp_path: Path, cli: Any) -> None:
    target = tmp_path / "new-store"
    assert cli("init", str(target)).code == 0
    member = yaml.safe_load((target / "salesctl.yaml").read_text())["members"][0]["id"]
    added = cli(
        "--store", str(target), "--as", member, "lead", "add", "--company", "A", "-f", "json"
    )
    assert added.code == 0, added.err
    assert git(target, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(target, "status", "--porcelain", "--untracked-files=all") == ""


def test_init_uses_the_git_identity(tmp_path: Path, cli: Any) -> None:
    git(tmp_path, "config", "--global", "user.email", "mei@example.org")
    git(tmp_path, "config", "--global", "user.name", "Mei Lin")
    target = tmp_path / "new-store"
    assert cli("init", str(target)).code == 0
    members = yaml.safe_load((target / "salesctl.yaml").read_text())["members"]
    assert [m["email"] for m in members] == ["mei@example.org"]
    # git's identity now resolves to that member without --as
    who = cli("--store", str(target), "whoami", "-f", "json")
    assert who.code == 0, who.err
    assert who.json()["email"] == "mei@example.org"


def test_init_sample_is_a_clean_store(tmp_path: Path, cli: Any) -> None:
    if not (ROOT / "records" / "salesctl.yaml").exists():
        pytest.skip("the bundled sample store (records/salesctl.yaml) does not exist yet")
    target = tmp_path / "sample"
    result = cli("init", str(target), "--sample")
    assert result.code == 0, result.err
    assert git(target, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(target, "status", "--porcelain", "--untracked-files=all") == ""
    assert (target / "salesctl.yaml").read_bytes() == (
        ROOT / "records" / "salesctl.yaml"
    ).read_bytes()
    checked = cli("--store", str(target), "check", "-f", "json")
    assert checked.code == 0, checked.out
    assert checked.json() == []


@pytest.mark.parametrize("content", ["file", "store"])
def test_init_refuses_a_non_empty_directory(tmp_path: Path, cli: Any, content: str) -> None:
    target = tmp_path / "busy"
    if content == "store":
        make_store(target)
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    before = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    result = cli("init", str(target))
    assert result.code == 1, result.out
    assert result.err.startswith("error:")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == before


# -- identity ------------------------------------------------------------------------------------


def whoami(cli: Any, *args: str) -> Any:
    return cli(*args, "whoami", "-f", "json")


def test_identity_from_as(store: Path, cli: Any) -> None:
    result = whoami(cli, "--as", "alice")
    assert result.code == 0, result.err
    me = result.json()
    assert (me["id"], me["email"], me["role"], me["team"]) == (
        "alice",
        "alice@acme.example",
        "rep",
        "east",
    )


def test_identity_from_env(store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESCTL_USER", "bob")
    assert whoami(cli).json()["id"] == "bob"
    assert whoami(cli, "--as", "alice").json()["id"] == "alice"  # --as wins


def test_identity_from_git_email(store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    git(store, "config", "user.email", "Lee@Acme.Example")
    assert whoami(cli).json()["id"] == "lee"
    monkeypatch.setenv("SALESCTL_USER", "nora")
    assert whoami(cli).json()["id"] == "nora"  # the environment wins over git


def test_git_identity_is_used_for_commits(store: Path, cli: Any) -> None:
    git(store, "config", "user.email", "lee@acme.example")
    result = cli("lead", "add", "--company", "Via git", "-f", "json")
    assert result.code == 0, result.err
    assert result.json()["owner"] == "lee"
    assert git(store, "log", "-1", "--format=%an|%ae").strip() == "Lee Chen|lee@acme.example"


@pytest.mark.parametrize("how", ["as", "env", "git", "git-unknown", "none"])
def test_unknown_identity_is_an_error(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: tuple[str, ...] = ()
    if how == "as":
        args = ("--as", "zed")
    elif how == "env":
        monkeypatch.setenv("SALESCTL_USER", "zed")
    elif how == "git":
        git(store, "config", "user.email", "zed@elsewhere.example")
    elif how == "git-unknown":
        git(store, "config", "user.email", "dana@acme.example.evil")
    before = git(store, "rev-parse", "HEAD")
    for command in (("whoami",), ("lead", "list"), ("lead", "add", "--company", "X")):
        result = cli(*args, *command, "-f", "json")
        assert result.code == 1, (command, result.out, result.err)
        assert result.err.startswith("error:") and result.out == ""
    assert git(store, "rev-parse", "HEAD") == before


# -- store discovery -----------------------------------------------------------------------------


def store_of(result: Any) -> Path:
    assert result.code == 0, result.err
    return Path(result.json()["store"]).resolve()


def test_store_from_option_beats_the_environment(store: Path, tmp_path: Path, cli: Any) -> None:
    other = make_store(tmp_path / "other")
    assert store_of(whoami(cli, "--as", "alice")) == store.resolve()
    assert store_of(whoami(cli, "--store", str(other), "--as", "alice")) == other.resolve()


def test_store_from_nearest_parent(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_store(tmp_path / "found")
    deep = root / "teams" / "east" / "alice"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert store_of(whoami(cli, "--as", "alice")) == root.resolve()
    added = cli("--as", "alice", "lead", "add", "--company", "From a subdir", "-f", "json")
    assert added.code == 0, added.err
    assert (root / added.json()["path"]).is_file()


def test_nearest_store_wins_over_an_outer_one(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outer = make_store(tmp_path / "outer")
    inner = make_store(outer / "nested" / "inner")
    (inner / "sub").mkdir()
    monkeypatch.chdir(inner / "sub")
    assert store_of(whoami(cli, "--as", "alice")) == inner.resolve()


def test_no_store_is_an_error(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "nowhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = whoami(cli, "--as", "alice")
    assert result.code == 1 and result.err.startswith("error:") and result.out == ""
    assert cli("--as", "alice", "lead", "add", "--company", "X").code == 1
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("how", ["option", "env"])
def test_store_path_without_config_is_an_error(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    if how == "env":
        monkeypatch.setenv("SALESCTL_STORE", str(bare))
        result = whoami(cli, "--as", "alice")
    else:
        result = whoami(cli, "--store", str(bare), "--as", "alice")
    assert result.code == 1 and result.err.startswith("error:")


def test_errors_are_one_line_without_traceback(store: Path, cli: Any) -> None:
    for args in (
        ("--as", "zed", "whoami"),
        ("--as", "alice", "lead", "show", "L-ZZZZ"),
        ("--as", "alice", "lead", "add", "--company", "X", "--email", "bad"),
    ):
        result = cli(*args)
        assert result.code == 1
        assert result.err.startswith("error: ") and result.err.count("\n") == 1
        assert "Traceback" not in result.err


def test_json_is_the_default_when_piped(store: Path, cli: Any) -> None:
    cli("--as", "alice", "lead", "add", "--company", "Piped")
    result = cli("--as", "alice", "lead", "list")
    assert [r["company"] for r in json.loads(result.out)] == ["Piped"]


def test_the_installed_entry_point_runs(store: Path, tmp_path: Path) -> None:
    """`python -m salesctl` as a real process, end to end."""
    from conftest import salesctl_subprocess

    added = salesctl_subprocess("--as", "alice", "lead", "add", "--company", "Proc", "-f", "json")
    assert added.returncode == 0, added.stderr
    lead = json.loads(added.stdout)
    shown = salesctl_subprocess("--as", "bob", "lead", "show", lead["id"])
    assert shown.returncode == 3 and shown.stderr.startswith("error:")
