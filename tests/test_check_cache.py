"""``check`` keeps what each record file decides alone in the index (``check_cache``, keyed
by the file's signature and the config) and asks the index for everything between records.

Each test checks once (filling the cache), changes something behind it (a record file, the
config, a record another one names, a stray file, the database itself) and asserts the
exact problems of the next check, then that undoing the change clears them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, git
from test_foundation_check import LEAD_YAML

from salesctl.ops.collab import check as check_module
from salesctl.ops.collab import check_between
from salesctl.ops.collab.check import check_store
from salesctl.store.index import Index
from salesctl.store.store import Store

LEAD = "teams/east/alice/leads/L-0000000000A1/lead.yaml"
CUSTOMER = "teams/east/alice/customers/C-0000000000C1/customer.yaml"
CUSTOMER_YAML = """\
schema_version: 1
name: Hand Made Ltd
created: 2026-11-01
"""
DEAL = "teams/east/alice/deals/D-0000000000D1/deal.yaml"
DEAL_YAML = """\
schema_version: 1
customer: {customer}
title: Big one
amount: 100
stage: qualify
created: 2026-11-01
"""
STAGES = "new, contacted, qualified, converted, disqualified"


def check(cli: Any) -> list[dict[str, Any]]:
    result = cli("check", "-f", "json")
    assert "Traceback" not in result.err
    problems: list[dict[str, Any]] = result.json()
    assert result.code == (1 if problems else 0)
    return problems


def problem(where: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"where": where, "field": field, "message": message}


def write(store: Path, rel: str, text: str, *, age: float = 0) -> None:
    """Write a file; ``age`` seconds old, so that the index's signature of it is final."""
    path = store / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))


def commit_all(store: Path) -> None:
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "hand edit")  # fmt: skip


@pytest.fixture
def lead(store: Path, cli: Any) -> Path:
    """One valid lead of alice, committed, and a check that filled the cache."""
    write(store, LEAD, LEAD_YAML, age=60)  # old enough to be cached, not re-read each time
    commit_all(store)
    assert check(cli) == []
    return store / LEAD


def test_an_edited_record_is_validated_again(store: Path, cli: Any, lead: Path) -> None:
    write(store, LEAD, LEAD_YAML.replace("stage: new", "stage: bogus"), age=30)
    assert check(cli) == [
        problem(f"{LEAD}:4", f"'bogus' is not a stage (use one of {STAGES})", "stage")
    ]
    write(store, LEAD, LEAD_YAML, age=20)
    assert check(cli) == []


def test_a_config_change_revalidates_unchanged_records(store: Path, cli: Any, lead: Path) -> None:
    config = store / "salesctl.yaml"
    config.write_text(CONFIG + "lead_stages: [contacted, qualified]\n", encoding="utf-8")
    assert check(cli) == [
        problem(f"{LEAD}:4", "'new' is not a stage (use one of contacted, qualified)", "stage")
    ]
    config.write_text(CONFIG.replace("  - {id: alice,", "  - {id: alicia,"), encoding="utf-8")
    assert check(cli) == [problem(LEAD, "owner 'alice' is not a member in salesctl.yaml")]
    config.write_text(CONFIG, encoding="utf-8")
    assert check(cli) == []


def test_a_removed_record_takes_its_problems_along(store: Path, cli: Any, lead: Path) -> None:
    broken = "teams/east/bob/leads/L-0000000000B1/lead.yaml"
    write(store, broken, LEAD_YAML + "colour: red\n")
    assert [p["where"] for p in check(cli)] == [f"{broken}:6"]
    shutil.rmtree((store / broken).parent)
    assert check(cli) == []
    assert _cached_paths(store) == [LEAD]


def test_duplicate_ids(store: Path, cli: Any, lead: Path) -> None:
    copy = "teams/east/bob/leads/L-0000000000A1/lead.yaml"
    write(store, copy, LEAD_YAML)
    assert check(cli) == [
        problem(
            LEAD,
            f"id L-0000000000A1 also at {copy}"
            " (a merge duplicated it: keep one, `git rm -r` the other)",
        )
    ]
    (store / copy).unlink()
    assert check(cli) == []


def test_a_reference_is_judged_against_the_records_there_now(
    store: Path, cli: Any, lead: Path
) -> None:
    write(store, DEAL, DEAL_YAML.format(customer="C-0000000000C1"))
    missing = problem(DEAL, "names customer C-0000000000C1, which does not exist", "customer")
    assert check(cli) == [missing]
    write(store, CUSTOMER, CUSTOMER_YAML)  # the deal's file is unchanged; its target exists now
    assert check(cli) == []
    (store / CUSTOMER).unlink()
    assert check(cli) == [missing]


def test_a_reference_to_a_record_of_another_kind(store: Path, cli: Any, lead: Path) -> None:
    write(store, DEAL, DEAL_YAML.format(customer="L-0000000000A1"))  # the lead's id
    assert check(cli) == [
        problem(DEAL, "names customer L-0000000000A1, which does not exist", "customer")
    ]


def test_a_child_whose_link_names_another_record(store: Path, cli: Any, lead: Path) -> None:
    followup = "teams/east/alice/leads/L-0000000000A1/followups/F-0000000000F1.yaml"
    text = (
        "schema_version: 1\nrecord: L-0000000000A2\nauthor: alice\n"
        "at: 2026-11-02T10:00:00+08:00\nvia: call\ntext: Called.\n"
    )
    write(store, followup, text)
    assert check(cli) == [
        problem(followup, "is 'L-0000000000A2' but the file sits under L-0000000000A1", "record")
    ]
    write(store, followup, text.replace("L-0000000000A2", "L-0000000000A1"))
    assert check(cli) == []


def test_strays_and_symlinks(store: Path, cli: Any, lead: Path) -> None:
    notes, link, linked_dir = (
        "teams/east/alice/notes.txt",
        "pool/link.txt",
        "teams/east/alice/leads/L-0000000000A9",
    )
    write(store, notes, "not a record\n")
    write(store, "teams/east/alice/leads/L-0000000000A1/attachments/F-0000000000F1/a.pdf", "%")
    (store / "pool").mkdir()
    os.symlink("../salesctl.yaml", store / link)
    os.symlink("L-0000000000A1", store / linked_dir)
    here = "is not where a record can live (see docs/data-format.md)"
    symlink = "is a symlink; the store refuses symlinks"
    assert check(cli) == [
        problem(link, symlink),
        problem(link, here),  # a symlinked file is both, as a misplaced file is
        problem(linked_dir, symlink),
        problem(notes, here),
    ]
    for rel in (notes, link, linked_dir):
        (store / rel).unlink()
    assert check(cli) == []


def test_a_deleted_database_gives_the_same_problems(store: Path, cli: Any, lead: Path) -> None:
    write(store, DEAL, DEAL_YAML.format(customer="C-0000000000C9").replace("qualify", "maybe"))
    first = check(cli)
    assert [p["field"] for p in first] == ["customer", "stage"]
    (store / ".git" / "salesctl" / "index.sqlite").unlink()
    assert check(cli) == first


def test_a_store_without_git_is_checked_in_memory(
    store: Path, cli: Any, lead: Path, tmp_path: Path
) -> None:
    write(store, DEAL, DEAL_YAML.format(customer="C-0000000000C9"))
    with_git = check(cli)
    plain = tmp_path / "plain"
    shutil.copytree(store, plain, ignore=shutil.ignore_patterns(".git"))
    result = cli("--store", str(plain), "check", "-f", "json")
    assert result.code == 1 and result.json() == with_git
    assert [p["field"] for p in with_git] == ["customer"]


# -- domain level: what is validated again ---------------------------------------------------


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths a check validates (not served from the cache), as it happens."""
    paths: list[str] = []
    real = check_module._file_result

    def counting(root: Path, config: Any, row: tuple[Any, ...]) -> Any:
        paths.append(row[0])
        return real(root, config, row)

    monkeypatch.setattr(check_module, "_file_result", counting)
    return paths


def test_only_changed_files_are_validated_again(
    store: Path, lead: Path, validated: list[str]
) -> None:
    other = "teams/east/bob/leads/L-0000000000B1/lead.yaml"
    write(store, other, LEAD_YAML, age=60)

    def validated_by_a_check() -> list[str]:
        validated.clear()
        assert check_store(Store(store)) == []
        return sorted(validated)

    assert validated_by_a_check() == [other]  # the fixture's check validated the lead
    assert validated_by_a_check() == []
    write(store, LEAD, LEAD_YAML.replace("Wei", "Wei Chen"), age=30)
    assert validated_by_a_check() == [LEAD]
    config = store / "salesctl.yaml"
    config.write_text(CONFIG + "lead_stages: [new, won]\n", encoding="utf-8")
    assert validated_by_a_check() == [LEAD, other]


def _cached_paths(store: Path) -> list[str]:
    index = Store(store).index
    rows = index.execute("SELECT path FROM check_cache ORDER BY path", kinds=[])
    return [path for (path,) in rows]


def test_a_warm_check_with_no_record_changed_makes_no_pass_over_the_rows(
    store: Path, lead: Path, validated: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[str] = []
    real = Index.execute

    def execute(self: Index, sql: str, *args: Any, **kw: Any) -> Any:
        if sql == check_module.STALE:  # the comparison of every row with its cached result
            passes.append(sql)
        return real(self, sql, *args, **kw)

    monkeypatch.setattr(Index, "execute", execute)

    def rows_compared() -> int:
        passes.clear()
        assert check_store(Store(store)) == []
        return len(passes)

    assert rows_compared() == 0  # nothing changed since the fixture's check
    assert validated == []
    write(store, LEAD, LEAD_YAML.replace("Wei", "Wei Chen"), age=30)
    assert rows_compared() > 0  # an edit: every row's cached result is compared again
    assert validated == [LEAD]
    assert rows_compared() == 0
    # a file read within the file system's tick is validated again on every check anyway
    fresh = "teams/east/bob/leads/L-0000000000B1/lead.yaml"
    write(store, fresh, LEAD_YAML.replace("name: Wei", "name: [a, b]"))
    first = check_store(Store(store))
    assert [p.field for p in first] == ["name"]
    validated.clear()
    assert check_store(Store(store)) == first
    assert fresh in validated


def test_problems_between_records_are_queried_again_only_after_a_change(
    store: Path, cli: Any, lead: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Duplicate ids, dangling references and money are the same while no record row and
    not the config changed: the last check's answer is kept, and redone after either."""
    queried: list[str] = []
    real = check_between.duplicate_problems

    def counting(index: Index) -> Any:
        queried.append("between")
        return real(index)

    monkeypatch.setattr(check_between, "duplicate_problems", counting)

    def checked() -> tuple[list[dict[str, Any]], bool]:
        """The problems of a check, and whether it queried between the records."""
        queried.clear()
        return check(cli), bool(queried)

    copy = "teams/east/bob/leads/L-0000000000A1/lead.yaml"
    duplicate = problem(
        LEAD,
        f"id L-0000000000A1 also at {copy}"
        " (a merge duplicated it: keep one, `git rm -r` the other)",
    )
    missing = problem(DEAL, "names customer C-0000000000C1, which does not exist", "customer")
    assert checked() == ([], False)  # the fixture's check left its answer
    write(store, copy, LEAD_YAML, age=30)
    assert checked() == ([duplicate], True)
    assert checked() == ([duplicate], False)  # kept: no record changed since
    write(store, DEAL, DEAL_YAML.format(customer="C-0000000000C1"), age=30)
    assert checked() == ([missing, duplicate], True)
    config = store / "salesctl.yaml"
    config.write_text(config.read_text() + "\n# a comment\n")
    assert checked() == ([missing, duplicate], True)  # another config: judged again
    (store / copy).unlink()
    (store / DEAL).unlink()
    assert checked() == ([], True)
    assert checked() == ([], False)


def test_the_files_with_problems_are_found_without_a_pass_over_the_cache(
    store: Path, cli: Any, lead: Path
) -> None:
    write(store, LEAD, LEAD_YAML.replace("stage: new", "stage: bogus"), age=30)
    assert [p["field"] for p in check(cli)] == ["stage"]
    index = Store(store).index
    plan = index.execute(f"EXPLAIN QUERY PLAN {check_module.FILE_PROBLEMS}", kinds=[]).fetchall()
    assert "USING INDEX check_cache_problems" in " ".join(str(step[-1]) for step in plan)
