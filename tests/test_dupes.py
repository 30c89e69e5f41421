"""``salesctl dupes`` (issue 13, 撞单): the leads and customers already in the store that look
like one company, grouped, shown only as far as the viewer may read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def made(cli: Any, *args: str) -> str:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return str(result.json()["id"])


def groups(cli: Any, actor: str, *extra: str) -> list[list[dict[str, Any]]]:
    result = cli("--as", actor, "dupes", *extra, "-f", "json")
    assert result.code == 0, result.err
    return [g["records"] for g in result.json()]


def test_the_same_company_by_two_reps_is_one_group_named_as_far_as_each_may_read(
    store: Path, cli: Any
) -> None:
    alices = made(cli, "--as", "alice", "lead", "add", "--company", "青岛新航纺织有限公司",
                  "--phone", "138 0013 8000")  # fmt: skip
    # duplicates on purpose: the guard refuses them unless a director allows them
    allowed = ("--allow-duplicate", "--reason", "made for this test")
    bobs = made(cli, "--as", "dana", "customer", "add", "--name", "青岛新航纺织股份有限公司",
                "--to", "bob", *allowed)  # fmt: skip
    noras = made(cli, "--as", "dana", "lead", "add", "--company", "Other Name",
                 "--phone", "+86 138-0013-8000", "--to", "nora", *allowed)  # fmt: skip
    made(cli, "--as", "alice", "lead", "add", "--company", "Unique Co")
    converted = made(cli, "--as", "alice", "lead", "add", "--company", "Became Customer")
    assert cli("--as", "alice", "lead", "convert", converted).code == 0

    (group,) = groups(cli, "dana")
    assert [(r["id"], r["owner"], r.get("name")) for r in group] == sorted(
        [(alices, "alice", "青岛新航纺织有限公司"), (bobs, "bob", "青岛新航纺织股份有限公司"),
         (noras, "nora", "Other Name")]
    )  # fmt: skip
    (seen_by_alice,) = groups(cli, "alice")
    assert {r["id"]: "name" in r for r in seen_by_alice} == {
        alices: True,
        bobs: False,
        noras: False,
    }
    (seen_by_nick,) = groups(cli, "nick")
    assert {r["id"]: "name" in r for r in seen_by_nick} == {alices: False, bobs: False, noras: True}
    assert groups(cli, "sam") == []  # holds none of them: sees no group
    assert groups(cli, "dana", "--kind", "customer") == [group]
    assert cli("--as", "dana", "dupes", "--kind", "deal").code == 1
