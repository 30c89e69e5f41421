"""``salesctl check`` on hand-broken stores, and reading commands that skip a broken record.

Each test breaks one thing the way a person (or a merge) would, by editing files directly,
and asserts that ``check -f json`` names the file (and line, where there is one) and exits 1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import git

LEAD_YAML = """\
schema_version: 1
company: Hand Made
name: Wei
stage: new
created: 2026-11-01
"""


def add(cli: Any, actor: str, *args: str) -> dict[str, Any]:
    result = cli("--as", actor, "lead", "add", *args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def check(cli: Any) -> tuple[int, list[dict[str, Any]]]:
    result = cli("check", "-f", "json")
    assert "Traceback" not in result.err
    return result.code, result.json()


def problems_at(problems: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [p for p in problems if p["where"] == path or p["where"].startswith(path + ":")]


def commit_all(store: Path, message: str = "hand edit") -> None:
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-q",
        "-m", message)  # fmt: skip


def write(store: Path, rel: str, text: str) -> None:
    path = store / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_GOOD: dict[str, Any] = {}


@pytest.fixture
def good(store: Path, cli: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store holding one valid lead of alice (built once, copied for each test)."""
    if "root" not in _GOOD:
        _GOOD["lead"] = add(cli, "alice", "--company", "Good Co", "--email", "good@good.example")
        _GOOD["root"] = tmp_path_factory.mktemp("good") / "store"
        shutil.copytree(
            store, _GOOD["root"], symlinks=True, ignore=shutil.ignore_patterns("salesctl")
        )
    else:
        shutil.rmtree(store)
        shutil.copytree(
            _GOOD["root"], store, symlinks=True, ignore=shutil.ignore_patterns("salesctl")
        )
    return dict(_GOOD["lead"])


def test_clean_store_passes(store: Path, cli: Any, good: dict[str, Any]) -> None:
    add(cli, "dana", "--company", "Pool Co", "--pool")
    add(cli, "dana", "--company", "Dana Co")
    assert check(cli) == (0, [])
    assert cli("check").code == 0


def test_empty_store_passes(store: Path, cli: Any) -> None:
    assert check(cli) == (0, [])


def test_malformed_yaml_is_reported_with_file_and_line(
    store: Path, cli: Any, good: dict[str, Any]
) -> None:
    path = good["path"]
    write(store, path, "schema_version: 1\ncompany: Good Co\nname: a: b\nstage: new\n")
    code, problems = check(cli)
    assert code == 1
    assert [p["where"] for p in problems_at(problems, path)] == [f"{path}:3"]
    # the plain-text form carries the same path:line
    plain = cli("check")
    assert plain.code == 1
    assert f"{path}:3" in plain.out


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("schema_version: 1\n\tcompany: Tab\nstage: new\n", 2),
        ("schema_version: 1\nstage: new\ntags:\n  - ok\n - misaligned\n", 5),
        ("schema_version: 1\nstage: new\ntags:\n  - ok\n   - misaligned: [\n", 5),
        ('schema_version: 1\ncompany: Co\nname: "unterminated\nstage: new\n', 3),
    ],
    ids=["tab", "dedent", "nested-mapping", "unterminated-quote"],
)
def test_malformed_yaml_line_is_where_the_mistake_is(
    store: Path, cli: Any, good: dict[str, Any], text: str, line: int
) -> None:
    path = good["path"]
    write(store, path, text)
    code, problems = check(cli)
    assert code == 1
    assert [p["where"] for p in problems_at(problems, path)] == [f"{path}:{line}"]


@pytest.mark.parametrize(
    ("replace", "by", "field", "line"),
    [
        ("name: Wei\n", "name: Wei\nfavourite: blue\n", "favourite", 4),
        ("created: 2026-11-01", "created: notadate", "created", 5),
        ("stage: new", "stage: bogus", "stage", 4),
        ("name: Wei", "name: [a, b]", "name", 3),
        ("schema_version: 1", "schema_version: 99", "schema_version", 1),
        ("name: Wei\n", "name: Wei\nemail: nope\n", "email", 4),
        ("name: Wei\n", "name: Wei\nparticipants: [alice, ghost]\n", "participants", 4),
        ("stage: new\n", "", "stage", None),
    ],
    ids=[
        "unknown-field",
        "bad-date",
        "unknown-stage",
        "list-for-text",
        "schema-version",
        "bad-email",
        "unknown-participant",
        "missing-stage",
    ],
)
def test_bad_field_is_reported_with_its_field_and_line(
    store: Path,
    cli: Any,
    good: dict[str, Any],
    replace: str,
    by: str,
    field: str,
    line: int | None,
) -> None:
    path = "teams/east/alice/leads/L-0000000000AA/lead.yaml"
    assert replace in LEAD_YAML
    write(store, path, LEAD_YAML.replace(replace, by))
    commit_all(store)
    code, problems = check(cli)
    assert code == 1
    mine = problems_at(problems, path)
    assert [p["field"] for p in mine] == [field]
    assert mine[0]["where"] == (f"{path}:{line}" if line else path)
    assert problems_at(problems, good["path"]) == []


def test_record_under_a_non_member_directory(store: Path, cli: Any, good: dict[str, Any]) -> None:
    path = "teams/east/zed/leads/L-0000000000ZD/lead.yaml"
    write(store, path, LEAD_YAML)
    code, problems = check(cli)
    assert code == 1
    assert len(problems_at(problems, path)) == 1


def test_record_under_the_wrong_team(store: Path, cli: Any, good: dict[str, Any]) -> None:
    path = "teams/north/alice/leads/L-0000000000WT/lead.yaml"
    write(store, path, LEAD_YAML)
    code, problems = check(cli)
    assert code == 1
    assert len(problems_at(problems, path)) == 1


def test_record_under_an_unknown_team(store: Path, cli: Any, good: dict[str, Any]) -> None:
    path = "teams/west/alice/leads/L-0000000000UT/lead.yaml"
    write(store, path, LEAD_YAML)
    code, problems = check(cli)
    assert code == 1
    assert len(problems_at(problems, path)) >= 1


def test_file_where_no_record_can_live(store: Path, cli: Any, good: dict[str, Any]) -> None:
    for path in (
        "pool/leads/not-an-id/lead.yaml",
        "pool/leads/C-0000000000AA/lead.yaml",  # a customer id under leads
        "teams/east/alice/leads/notes.txt",
    ):
        write(store, path, LEAD_YAML)
    code, problems = check(cli)
    assert code == 1
    for path in (
        "pool/leads/not-an-id/lead.yaml",
        "pool/leads/C-0000000000AA/lead.yaml",
        "teams/east/alice/leads/notes.txt",
    ):
        assert problems_at(problems, path), path


def test_duplicate_id_after_a_merge(store: Path, cli: Any, good: dict[str, Any]) -> None:
    source = store / good["path"]
    copy_dir = store / "teams/east/bob/leads" / good["id"]
    shutil.copytree(source.parent, copy_dir)
    commit_all(store, "merge that duplicated a lead")
    code, problems = check(cli)
    assert code == 1
    copy_path = f"teams/east/bob/leads/{good['id']}/lead.yaml"
    duplicate = [p for p in problems if good["id"] in p["message"]]
    assert duplicate, problems
    named = {p["where"] for p in duplicate} | {
        path for p in duplicate for path in (good["path"], copy_path) if path in p["message"]
    }
    assert {good["path"], copy_path} <= named
    # a command naming that id refuses rather than picking one of the two
    shown = cli("--as", "dana", "lead", "show", good["id"], "-f", "json")
    assert shown.code == 1
    assert good["path"] in shown.err and copy_path in shown.err


def test_symlinked_record_file_is_reported(
    store: Path, cli: Any, good: dict[str, Any], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(LEAD_YAML, encoding="utf-8")
    link = store / "pool/leads/L-0000000000SL/lead.yaml"
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    code, problems = check(cli)
    assert code == 1
    assert problems_at(problems, "pool/leads/L-0000000000SL/lead.yaml")


def test_symlinked_directory_is_reported(
    store: Path, cli: Any, good: dict[str, Any], tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "L-0000000000SD").mkdir(parents=True)
    (outside / "L-0000000000SD" / "lead.yaml").write_text(LEAD_YAML, encoding="utf-8")
    (store / "teams/east/alice/leads").mkdir(parents=True, exist_ok=True)
    os.symlink(outside / "L-0000000000SD", store / "teams/east/alice/leads/L-0000000000SD")
    code, problems = check(cli)
    assert code == 1
    assert problems_at(problems, "teams/east/alice/leads/L-0000000000SD")


def test_symlinked_record_outside_the_store_is_not_read(
    store: Path, cli: Any, good: dict[str, Any], tmp_path: Path
) -> None:
    """A path that leaves the store (SPEC 9) must not be served by reading commands."""
    outside = tmp_path / "secret.yaml"
    outside.write_text(LEAD_YAML.replace("Hand Made", "Secret Outside"), encoding="utf-8")
    link = store / "pool/leads/L-0000000000SX/lead.yaml"
    link.parent.mkdir(parents=True)
    os.symlink(outside, link)
    listed = cli("--as", "dana", "lead", "list", "-f", "json")
    assert listed.code == 0
    assert "Secret Outside" not in listed.out
    assert [r["id"] for r in listed.json()] == [good["id"]]


def test_yaml_alias_bomb_is_reported_without_expanding(
    store: Path, cli: Any, good: dict[str, Any]
) -> None:
    path = "teams/east/alice/leads/L-0000000000BM/lead.yaml"
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    write(store, path, "schema_version: 1\nstage: new\n" + "\n".join(levels) + "\n")
    code, problems = check(cli)  # 10**9 strings if expanded: finishing at all is the test
    assert code == 1
    assert problems_at(problems, path)
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert [r["id"] for r in listed.json()] == [good["id"]]


def test_non_utf8_and_oversized_files_are_reported(
    store: Path, cli: Any, good: dict[str, Any]
) -> None:
    latin1 = "teams/east/alice/leads/L-0000000000NU/lead.yaml"
    (store / latin1).parent.mkdir(parents=True)
    (store / latin1).write_bytes(LEAD_YAML.replace("Wei", "J\xfcrgen").encode("latin-1"))
    huge = "teams/east/alice/leads/L-0000000000HG/lead.yaml"
    write(store, huge, LEAD_YAML + "notes: |\n" + "  padding line\n" * 200_000)
    code, problems = check(cli)
    assert code == 1
    assert problems_at(problems, latin1)
    assert problems_at(problems, huge)


def test_every_problem_is_listed_at_once(store: Path, cli: Any, good: dict[str, Any]) -> None:
    first = "teams/east/alice/leads/L-0000000000P1/lead.yaml"
    second = "teams/east/bob/leads/L-0000000000P2/lead.yaml"
    write(store, first, LEAD_YAML.replace("stage: new", "stage: bogus"))
    write(store, second, LEAD_YAML + "colour: red\n")
    code, problems = check(cli)
    assert code == 1
    assert problems_at(problems, first) and problems_at(problems, second)


def test_malformed_config_is_reported_with_its_line(store: Path, cli: Any) -> None:
    config = store / "salesctl.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("currency:")
    lines[1] = "currency: [CNY"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("check", "-f", "json")
    assert result.code == 1
    wheres = [p["where"] for p in result.json()]
    assert len(wheres) == 1 and wheres[0].startswith("salesctl.yaml:")
    # every other command refuses with a one-line error naming the file
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert listed.code == 1 and listed.out == ""
    assert listed.err.startswith("error:") and "salesctl.yaml" in listed.err


def test_config_problems_are_reported(store: Path, cli: Any) -> None:
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("role: rep, active: false", "role: wizard"),
        encoding="utf-8",
    )
    code, problems = check(cli)
    assert code == 1
    assert [p["field"] for p in problems_at(problems, "salesctl.yaml")] == ["members.carol.role"]


# -- reading commands skip a broken record -------------------------------------------------------


@pytest.fixture
def one_broken(store: Path, cli: Any) -> dict[str, Any]:
    ok1 = add(cli, "alice", "--company", "OK one")
    broken = add(cli, "alice", "--company", "Broken")
    ok2 = add(cli, "alice", "--company", "OK two")
    (store / broken["path"]).write_text("schema_version: 1\ncompany: [unclosed\n")
    return {"ok": [ok1["id"], ok2["id"]], "broken": broken}


def test_list_skips_a_broken_record_and_lists_the_rest(
    one_broken: dict[str, Any], cli: Any
) -> None:
    result = cli("--as", "alice", "lead", "list", "-f", "json")
    assert result.code == 0, result.err
    assert sorted(r["id"] for r in result.json()) == sorted(one_broken["ok"])


def test_list_warns_about_the_record_it_skipped(one_broken: dict[str, Any], cli: Any) -> None:
    """SPEC 9: 'Reading commands skip a broken record with a warning'."""
    result = cli("--as", "alice", "lead", "list", "-f", "json")
    assert result.code == 0
    assert one_broken["broken"]["path"] in result.err or one_broken["broken"]["id"] in result.err


def test_show_of_the_broken_record_fails_cleanly(one_broken: dict[str, Any], cli: Any) -> None:
    result = cli("--as", "alice", "lead", "show", one_broken["broken"]["id"], "-f", "json")
    assert result.code == 1
    assert result.err.startswith("error:") and one_broken["broken"]["path"] in result.err
    assert cli("--as", "alice", "lead", "show", one_broken["ok"][0], "-f", "json").code == 0


def test_other_records_stay_writable_next_to_a_broken_one(
    one_broken: dict[str, Any], store: Path, cli: Any
) -> None:
    result = cli("--as", "alice", "lead", "edit", one_broken["ok"][0], "--set", "stage=contacted")
    assert result.code == 0, result.err
    assert add(cli, "alice", "--company", "Another")["company"] == "Another"
    assert git(store, "status", "--porcelain").split() == ["M", one_broken["broken"]["path"]]


def test_index_follows_hand_edits_and_reverts(store: Path, cli: Any) -> None:
    """The derived index must not serve stale data after files change behind its back."""
    lead = add(cli, "alice", "--company", "Before")
    path = store / lead["path"]
    original = path.read_text(encoding="utf-8")

    def companies() -> list[str]:
        return [r["company"] for r in cli("--as", "alice", "lead", "list", "-f", "json").json()]

    assert companies() == ["Before"]
    path.write_text(original.replace("Before", "After"), encoding="utf-8")
    assert companies() == ["After"]
    git(store, "checkout", "--", lead["path"])
    assert companies() == ["Before"]
    path.unlink()
    assert companies() == []
    git(store, "checkout", "--", lead["path"])
    assert companies() == ["Before"]
    second = add(cli, "alice", "--company", "Second")
    assert sorted(companies()) == ["Before", "Second"]
    git(store, "reset", "-q", "--hard", "HEAD~1")  # history rewritten under the index
    assert companies() == ["Before"]
    assert not (store / second["path"]).exists()
    git(store, "rm", "-q", "-r", str(Path(lead["path"]).parent))
    commit_all(store, "remove by hand")
    assert companies() == []
    (store / ".git" / "salesctl" / "index.sqlite").unlink()
    assert companies() == []


DEAL_YAML = """\
schema_version: 1
customer: C-0000000000C1
title: Big one
amount: {amount}
stage: qualify
created: 2026-11-01
"""


@pytest.mark.parametrize("amount", ["-5", "lots", "1e30", "123456789012345678901234567890"])
def test_bad_amount_in_a_hand_written_deal_is_a_problem_not_a_crash(
    store: Path, cli: Any, good: dict[str, Any], amount: str
) -> None:
    path = "teams/east/alice/deals/D-0000000000D1/deal.yaml"
    write(store, path, DEAL_YAML.format(amount=amount))
    result = cli("check", "-f", "json")
    assert result.code == 1, result.err
    assert "internal error" not in result.err
    assert "amount" in [p["field"] for p in problems_at(result.json(), path)]
    # and reading commands still work around it
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert listed.code == 0, listed.err
    assert [r["id"] for r in listed.json()] == [good["id"]]


def test_an_impossible_date_does_not_hide_the_files_other_problems(
    store: Path, cli: Any, good: dict[str, Any]
) -> None:
    path = "teams/east/alice/leads/L-0000000000AB/lead.yaml"
    broken = LEAD_YAML.replace("created: 2026-11-01", "created: 2026-13-45")
    write(store, path, broken.replace("stage: new", "stage: bogus"))
    commit_all(store)
    code, problems = check(cli)
    assert code == 1
    assert sorted(p["field"] for p in problems_at(problems, path)) == ["created", "stage"]
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert listed.code == 0 and good["id"] in listed.out


def test_a_committed_symlink_or_submodule_anywhere_is_reported(
    store: Path, cli: Any, good: dict[str, Any], tmp_path: Path
) -> None:
    """As ``check --range`` refuses them in a push: here already committed, outside the
    record directories (a report template linked to a file outside the store)."""
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0\n", encoding="utf-8")
    (store / "templates").mkdir()
    os.symlink(outside, store / "templates/leak.md.j2")
    os.symlink("/", store / "templates/root")
    os.symlink("salesctl.yaml", store / "settings.yaml")
    git(store, "add", "-A")
    head = git(store, "rev-parse", "HEAD").strip()
    git(store, "update-index", "--add", "--cacheinfo", f"160000,{head},vendor/sub")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm",
        "links")  # fmt: skip
    os.symlink(outside, store / "scratch-link")  # not committed: the user's own business
    code, problems = check(cli)
    assert code == 1
    symlink = "is a symlink; the store refuses symlinks and submodules"
    assert problems == [
        {"where": "settings.yaml", "message": symlink, "field": None},
        {"where": "templates/leak.md.j2", "message": symlink, "field": None},
        {"where": "templates/root", "message": symlink, "field": None},
        {
            "where": "vendor/sub",
            "message": "is a submodule; the store refuses symlinks and submodules",
            "field": None,
        },
    ]
