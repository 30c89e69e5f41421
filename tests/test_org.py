"""Members, teams and roles without hand-editing YAML (issue 13, item 5): each command is one
commit of ``salesctl.yaml`` that keeps its comments and layout, validated first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import git

from salesctl import clock

COMMENT = "# who may sell what: keep this list sorted by team\n"


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def commented(store: Path) -> str:
    """The config with a comment of the team's own, committed."""
    config = store / "salesctl.yaml"
    text = config.read_text("utf-8").replace("members:\n", COMMENT + "members:\n", 1)
    config.write_text(text, "utf-8")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-qam", "config: a comment")  # fmt: skip
    return text


def test_member_add_keeps_the_file_as_it_was_and_adds_one_entry(store: Path, cli: Any) -> None:
    before = commented(store)
    added = ok(
        cli("--as", "dana", "member", "add", "wangfang", "--name", "王芳", "--email",
            "wf@acme.example", "--team", "east", "--role", "rep", "-f", "json")
    ).json()  # fmt: skip
    assert added == {
        "id": "wangfang", "name": "王芳", "email": "wf@acme.example", "role": "rep",
        "team": "east", "active": True, "login": None,
    }  # fmt: skip
    after = (store / "salesctl.yaml").read_text("utf-8")
    assert COMMENT in after
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == []
    assert "王芳" in after and git(store, "status", "--porcelain").strip() == ""
    assert (
        git(store, "log", "-1", "--format=%an %s").strip() == "Dana Wu member.add: wangfang (王芳)"
    )
    assert ok(cli("--as", "wangfang", "whoami", "-f", "json")).json()["team"] == "east"
    assert ok(cli("check", "--range", "HEAD~1..HEAD", "--actor", "dana")).code == 0


def test_what_the_config_would_not_accept_changes_nothing(store: Path, cli: Any) -> None:
    before, text = head(store), (store / "salesctl.yaml").read_text("utf-8")
    add = ("--as", "dana", "member", "add")
    for args, words in [
        ((*add, "alice", "--name", "A", "--email", "a2@acme.example", "--role", "rep"), "twice"),
        ((*add, "zed", "--name", "Z", "--email", "alice@acme.example", "--role", "rep"), "another"),
        ((*add, "zed", "--name", "Z", "--email", "z@acme.example", "--role", "king"), "role"),
        (
            (
                *add,
                "zed",
                "--name",
                "Z",
                "--email",
                "z@acme.example",
                "--role",
                "rep",
                "--team",
                "west",
            ),
            "team",
        ),
        (("--as", "dana", "member", "edit", "alice", "--set", "salary=1"), "cannot be set"),
        (("--as", "dana", "member", "edit", "ghost", "--set", "role=rep"), "ghost"),
        (("--as", "dana", "team", "add", "east", "--name", "East again"), "twice"),
    ]:
        result = cli(*args)
        assert result.code == 1, (args, result.err)
        assert result.err.startswith("error:") and words in result.err, (args, result.err)
    assert cli("--as", "alice", "member", "add", "zed", "--name", "Z", "--email",
               "z@acme.example", "--role", "rep").code == 3  # fmt: skip
    assert head(store) == before and (store / "salesctl.yaml").read_text("utf-8") == text


def test_edit_and_deactivate(store: Path, cli: Any) -> None:
    ok(cli("--as", "ada", "member", "edit", "bob", "--set", "role=lead", "--set", "login=@bobli"))
    ok(cli("--as", "ada", "member", "deactivate", "alice"))
    members = {m["id"]: m for m in ok(cli("member", "list", "-f", "json")).json()}
    assert members["bob"]["role"] == "lead" and members["bob"]["login"] == "@bobli"
    assert members["alice"]["active"] is False
    assert cli("--as", "lee", "lead", "assign", "L-X", "--to", "alice").code == 1  # inactive


def test_the_last_active_director_stays_one(store: Path, cli: Any) -> None:
    before, text = head(store), (store / "salesctl.yaml").read_text("utf-8")
    for args in [
        ("--as", "dana", "member", "deactivate", "dana"),
        ("--as", "dana", "member", "edit", "dana", "--set", "role=rep"),
        ("--as", "dana", "member", "edit", "dana", "--set", "active=false"),
        ("--as", "ada", "member", "deactivate", "dana"),
        ("--as", "dana", "member", "handover", "dana", "--to", "lee", "--deactivate"),
    ]:
        result = cli(*args)
        assert result.code == 1, (args, result.err)
        assert "dana is the last active director" in result.err, (args, result.err)
        assert "--set role=director" in result.err
    assert head(store) == before and (store / "salesctl.yaml").read_text("utf-8") == text
    ok(cli("--as", "dana", "member", "edit", "nick", "--set", "role=director"))
    ok(cli("--as", "dana", "member", "deactivate", "dana"))
    assert cli("--as", "nick", "member", "edit", "nick", "--set", "role=lead").code == 1


def test_ids_an_okr_owner_could_confuse_are_refused(store: Path, cli: Any) -> None:
    before, text = head(store), (store / "salesctl.yaml").read_text("utf-8")
    new = ("--name", "N", "--email", "n@acme.example", "--role", "rep", "--team", "north")
    for args, words in [
        (("member", "add", "east", *new), "member 'east' has the id of team 'east'"),
        (("member", "add", "company", *new), "'company' is a word the store itself uses"),
        (("member", "add", "okrs", *new), "'okrs' is a word the store itself uses"),
        (("team", "add", "alice", "--name", "A"), "member 'alice' has the id of team 'alice'"),
        (("team", "add", "company", "--name", "C"), "'company' is a word the store itself uses"),
    ]:
        result = cli("--as", "dana", *args)
        assert result.code == 1, (args, result.err)
        assert words in result.err, (args, result.err)
    assert head(store) == before and (store / "salesctl.yaml").read_text("utf-8") == text
    # a hand edit that makes the clash is a config error naming both
    config = store / "salesctl.yaml"
    config.write_text(text.replace("{id: bob,", "{id: north,"), "utf-8")
    result = cli("--as", "dana", "whoami")
    assert result.code == 1 and "members.north.id" in result.err, result.err
    assert "team 'north'" in result.err


def test_a_member_needs_a_name_and_an_email_address(store: Path, cli: Any) -> None:
    before, text = head(store), (store / "salesctl.yaml").read_text("utf-8")
    add = ("--as", "dana", "member", "add", "zed", "--role", "rep")
    for args, words in [
        ((*add, "--name", "", "--email", "z@acme.example"), "--name: a member's name cannot"),
        ((*add, "--name", "  ", "--email", "z@acme.example"), "--name: a member's name cannot"),
        ((*add, "--name", "Z", "--email", "bad"), "'bad' is not an email address"),
        (("--as", "dana", "member", "edit", "alice", "--set", "name="), "name cannot be empty"),
        (("--as", "dana", "member", "edit", "alice", "--set", "name= "), "name cannot be empty"),
        (("--as", "dana", "member", "edit", "alice", "--set", "email=x"), "not an email address"),
        (("--as", "dana", "member", "edit", "alice", "--set", "email="), "email cannot be empty"),
    ]:
        result = cli(*args)
        assert result.code == 1, (args, result.err)
        assert words in result.err, (args, result.err)
    assert head(store) == before and (store / "salesctl.yaml").read_text("utf-8") == text
    # a hand-written config says what is wrong with the address, too
    (store / "salesctl.yaml").write_text(text.replace("bob@acme.example", "bob"), "utf-8")
    result = cli("--as", "dana", "whoami")
    assert result.code == 1 and "members.bob.email: 'bob' is not an email address" in result.err


def test_deactivating_twice_changes_nothing_and_an_owner_is_warned(store: Path, cli: Any) -> None:
    before = head(store)
    result = ok(cli("--as", "dana", "member", "deactivate", "carol"))  # inactive already
    assert result.out == "carol is already inactive: nothing to change\n"
    assert ok(cli("--as", "dana", "member", "edit", "alice", "--set", "name=Alice Lin")).out == (
        "alice: nothing to change\n"
    )
    assert head(store) == before
    ok(cli("--as", "alice", "lead", "add", "--company", "Kept Co"))
    ok(cli("--as", "alice", "lead", "add", "--company", "Also Kept"))
    result = ok(cli("--as", "dana", "member", "deactivate", "alice"))
    assert result.out.startswith("deactivated alice in commit")
    assert result.err == (
        "warning: alice still owns 2 leads: hand them over with "
        "`salesctl member handover alice --to COLLEAGUE`\n"
    )
    assert ok(cli("--as", "dana", "member", "deactivate", "bob")).err == ""  # owns nothing


def test_a_member_who_changes_team_takes_their_records_along(store: Path, cli: Any) -> None:
    lead = ok(cli("--as", "alice", "lead", "add", "--company", "Mover", "-f", "json")).json()
    ok(cli("--as", "alice", "followup", "add", lead["id"], "--text", "first call"))
    ok(cli("--as", "dana", "member", "edit", "alice", "--set", "team=north"))
    assert list(store.glob(f"teams/north/alice/leads/{lead['id']}/followups/*.yaml"))
    assert not list(store.glob("teams/east/alice/leads/*"))
    assert ok(cli("check")).code == 0
    assert ok(cli("check", "--range", "HEAD~1..HEAD", "--actor", "dana")).code == 0
    assert ok(cli("--as", "nick", "lead", "show", lead["id"])).code == 0
    assert cli("--as", "lee", "lead", "show", lead["id"]).code == 3


def test_a_team_move_takes_the_members_okrs_and_reports_too(store: Path, cli: Any) -> None:
    today = clock.today()
    period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    okr = ok(cli("--as", "alice", "okr", "add", "--period", period, "--objective", "Mine",
                 "-f", "json")).json()  # fmt: skip
    ok(cli("--as", "alice", "report", "answer", "--question", "1", "--text", "hi"))
    ok(cli("--as", "alice", "task", "add", "--title", "call back"))
    ok(cli("--as", "dana", "member", "edit", "alice", "--set", "team=north"))
    assert not (store / "teams/east/alice").exists()
    assert (store / f"teams/north/alice/okrs/{okr['id']}/okr.yaml").is_file()
    assert list(store.glob("teams/north/alice/reports/*.md"))
    assert list(store.glob("teams/north/alice/tasks/*/task.yaml"))
    assert git(store, "status", "--porcelain").strip() == ""
    assert git(store, "log", "--format=%s", "-2").splitlines()[1].startswith("task.add")
    assert ok(cli("check")).code == 0
    assert ok(cli("check", "--range", "HEAD~1..HEAD", "--actor", "dana")).code == 0
    okrs = ok(cli("--as", "nick", "okr", "list", "-f", "json")).json()
    assert okr["id"] in [o["id"] for o in okrs]
    assert cli("--as", "lee", "okr", "show", okr["id"]).code == 3


def test_team_add_and_role_list(store: Path, cli: Any) -> None:
    ok(cli("--as", "dana", "team", "add", "west", "--name", "华西区"))
    teams = {t["id"]: t for t in ok(cli("team", "list", "-f", "json")).json()}
    assert teams["west"]["name"] == "华西区"
    roles = {r["role"]: r for r in ok(cli("role", "list", "-f", "json")).json()}
    assert roles["rep"]["scope"] == "own" and roles["rep"]["members"] == 3
    assert roles["director"]["actions"] == ["*"]
