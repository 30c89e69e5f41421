"""``history`` and ``diff`` of a record whose file was made unreadable or hostile by hand:
malformed YAML, a symlink (to ``salesctl.yaml``), a submodule. Each version is told as
what it is, never as every field cleared; the next readable version is compared with the
last readable one (``history``) or shows its fields as new (``diff``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conftest import git


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def commit(store: Path, message: str) -> str:
    git(store, "add", "-A")
    git(store, "-c", "user.name=H", "-c", "user.email=h@example.com", "commit", "-qm", message)
    return git(store, "rev-parse", "HEAD").strip()


def broken_lead(store: Path, cli: Any) -> tuple[str, Path, list[str]]:
    """A lead, then commits by hand: malformed, a symlink to salesctl.yaml, restored with
    one field changed. Returns the lead, its file and the commits [added, malformed,
    symlink, restored]."""
    added = ok(cli("--as", "alice", "lead", "add", "--company", "Acme", "-f", "json")).json()
    lead, path = added["id"], store / added["path"]
    good = path.read_text()
    commits = [git(store, "rev-parse", "HEAD").strip()]
    path.write_text("schema_version: 1\ncompany: [broken\nname: x\n")
    commits.append(commit(store, "malformed"))
    path.unlink()
    os.symlink(os.path.relpath(store / "salesctl.yaml", path.parent), path)
    commits.append(commit(store, "symlink"))
    path.unlink()
    path.write_text(good + "phone: '13800000000'\n")
    commits.append(commit(store, "restored"))
    return lead, path, commits


def test_history_tells_a_malformed_and_a_symlinked_version_as_what_they_are(
    store: Path, cli: Any
) -> None:
    lead, _, _ = broken_lead(store, cli)
    restored, symlink, malformed, created = ok(
        cli("--as", "alice", "history", lead, "-f", "json")
    ).json()
    assert malformed["problem"].startswith("unreadable: malformed YAML at line ")
    assert malformed["problem_before"] is None and malformed["fields"] == []
    assert symlink["problem"].startswith("a symlink to ")
    assert "salesctl.yaml (the store refuses symlinks)" in symlink["problem"]
    assert symlink["problem_before"] == malformed["problem"] and symlink["fields"] == []
    # readable again: compared with the last readable version, so only the phone is new
    assert restored["problem"] is None and restored["problem_before"] == symlink["problem"]
    assert restored["fields"] == [{"field": "phone", "old": None, "new": "13800000000"}]
    assert created["problem"] is None and created["problem_before"] is None

    table = ok(cli("--as", "alice", "history", lead, "-f", "table")).out
    assert "file became unreadable: malformed YAML at line" in table
    assert "file became a symlink to" in table and "salesctl.yaml" in table
    assert "file readable again (was a symlink" in table
    assert "company: Acme -> -" not in table  # no field shown as cleared


def test_diff_tells_a_malformed_a_symlinked_and_a_submodule_version(store: Path, cli: Any) -> None:
    lead, path, (added, malformed, symlink, restored) = broken_lead(store, cli)

    def record(rev_range: str) -> dict[str, Any]:
        found = ok(cli("--as", "dana", "diff", rev_range, "-f", "json")).json()["records"]
        assert [r["id"] for r in found] == [lead]
        return dict(found[0])

    broke = record(f"{added}..{malformed}")
    assert broke["problem"].startswith("unreadable: malformed YAML at line ")
    assert broke["fields"] == [] and broke["label"] == "Acme"
    linked = record(f"{added}..{symlink}")
    assert linked["problem"].startswith("a symlink to ") and linked["fields"] == []
    again = record(f"{malformed}..{restored}")
    assert again["problem"] is None and again["problem_before"] == broke["problem"]
    assert {"field": "company", "old": None, "new": "Acme"} in again["fields"]

    table = ok(cli("--as", "dana", "diff", f"{added}..{symlink}", "-f", "table")).out
    assert "became a symlink to" in table and "(the store refuses symlinks)" in table
    assert "Acme" not in table  # no "company: Acme -> -"
    markdown = ok(cli("--as", "dana", "diff", f"{added}..{malformed}", "-f", "md")).out
    assert "**file became unreadable: malformed YAML at line" in markdown
    assert "| company |" not in markdown

    # a submodule where the record's file was (git mode 160000)
    rel = path.relative_to(store).as_posix()
    git(store, "rm", "-q", "--cached", rel)
    git(store, "update-index", "--add", "--cacheinfo", f"160000,{added},{rel}")
    git(store, "-c", "user.name=H", "-c", "user.email=h@example.com", "commit", "-qm", "sub")
    sub = record(f"{restored}..HEAD")
    assert sub["problem"] == "a submodule (the store refuses submodules)"
    assert sub["fields"] == []
    table = ok(cli("--as", "dana", "diff", f"{restored}..HEAD", "-f", "table")).out
    assert "became a submodule" in table
