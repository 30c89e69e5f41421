"""The work tree check ``stat`` (the default): each command looks at what it reads.

Every step changes files by hand (no commit) and compares what the index answers for a scope
with a from-scratch parse, and shows that a scope does not pay for (or see) files outside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from test_index import FOLLOWUP, LEAD, add_lead, indexed, truth, write

from salesctl.store.store import Store
from salesctl.store.watch import Scope, Watcher, dir_role


def rows_of(root: Path, kind: str, **scope: Any) -> dict[str, str]:
    """{path: company or text} of ``kind`` as a new command that reads that scope sees it."""
    index = Store(root).index
    return {
        path: (data or {}).get("company") or (data or {}).get("text") or "?"
        for path, data, _problems in index.query(kind, **scope)
    }


@pytest.fixture
def leads(store: Path, cli: Any) -> list[dict[str, Any]]:
    made = [add_lead(cli, f"Lead {n}") for n in range(2)]
    moved = cli("--as", "lee", "lead", "assign", made[1]["id"], "--to", "bob", "-f", "json")
    assert moved.code == 0, moved.err
    made[1] = moved.json()[0]
    return made


def test_new_untracked_records_are_seen_at_once(store: Path, leads: Any) -> None:
    write(store, "pool/leads/L-0000000000N1/lead.yaml", LEAD.format(company="Made by hand"))
    write(store, "members/zed/leads/L-0000000000N2/lead.yaml", LEAD.format(company="New root"))
    seen = rows_of(store, "lead")
    assert seen["pool/leads/L-0000000000N1/lead.yaml"] == "Made by hand"
    assert seen["members/zed/leads/L-0000000000N2/lead.yaml"] == "New root"
    assert indexed(store) == truth(store)


def test_a_child_made_by_hand_is_seen_by_a_query_of_its_kind(store: Path, leads: Any) -> None:
    parent_dir = leads[0]["path"].rsplit("/", 1)[0]
    rel = f"{parent_dir}/followups/F-0000000000H1.yaml"
    write(store, rel, FOLLOWUP.format(parent=leads[0]["id"], text="by hand"))
    assert rows_of(store, "followup") == {rel: "by hand"}
    os.unlink(store / rel)
    os.rmdir(store / parent_dir / "followups")
    assert rows_of(store, "followup") == {}


def test_a_scope_looks_only_at_its_own_directories(store: Path, leads: Any) -> None:
    alice_dir = leads[0]["path"].split("/leads/")[0]
    indexed(store)  # the index has caught up with the commits
    bob_file = store / leads[1]["path"]
    bob_file.write_text(bob_file.read_text().replace("Lead 1", "Edited for bob"))
    mine = rows_of(store, "lead", within=[alice_dir])
    assert list(mine.values()) == ["Lead 0"]
    index = Store(store).index
    index.refresh(kinds=["lead"], within=[alice_dir])
    stale = index.db.execute("SELECT data FROM records WHERE path = ?", (leads[1]["path"],))
    assert "Lead 1" in stale.fetchone()[0]  # bob's edit is not looked at by alice's listing
    assert rows_of(store, "lead")[leads[1]["path"]] == "Edited for bob"


def test_renames_deletions_and_replaced_directories(
    store: Path, leads: Any, tmp_path: Path
) -> None:
    old_dir = store / leads[0]["path"].rsplit("/", 1)[0]
    new_dir = store / "teams/east/bob/leads" / leads[0]["id"]
    old_dir.rename(new_dir)
    assert indexed(store) == truth(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "lead.yaml").write_text(LEAD.format(company="Secret Outside"))
    for child in new_dir.rglob("*"):
        if child.is_file():
            child.unlink()
    for child in sorted(new_dir.rglob("*"), reverse=True):
        child.rmdir()
    new_dir.rmdir()
    os.symlink(outside, new_dir)  # a record directory replaced by a symlink: never followed
    rows = indexed(store)
    assert "Secret Outside" not in json.dumps(rows)
    behind_link = [r for r in rows if r[0].startswith(str(new_dir.relative_to(store)))]
    assert all(r[7] is None and "symlink" in r[8] for r in behind_link)  # a problem, no data
    strays = Store(store).index.status()["strays"]
    assert {"path": str(new_dir.relative_to(store)), "reason": strays[0]["reason"]} in strays


def test_strays_come_and_go_without_a_rebuild(store: Path, leads: Any) -> None:
    write(store, "teams/east/alice/notes.txt", "not a record")
    status = Store(store).index.status()
    assert [s["path"] for s in status["strays"]] == ["teams/east/alice/notes.txt"]
    os.unlink(store / "teams/east/alice/notes.txt")
    assert Store(store).index.status()["strays"] == []


def test_a_scope_without_children_skips_record_dirs_yet_misses_nothing(
    store: Path, leads: Any
) -> None:
    # A lead listing stats each lead's file, not its directory (followups are not in its
    # scope): an edit in place and a new lead are still seen at once, and a stray dropped
    # into a lead's directory is found by the next look at the whole store.
    record_dir = leads[0]["path"].rsplit("/", 1)[0]
    indexed(store)
    edited = store / leads[0]["path"]
    edited.write_text(edited.read_text().replace("Lead 0", "Edited in place"))
    write(store, f"{record_dir}/notes.txt", "not a record")
    other = "teams/east/alice/leads/L-0000000000N3/lead.yaml"
    write(store, other, LEAD.format(company="New by hand"))
    seen = rows_of(store, "lead")
    assert seen[leads[0]["path"]] == "Edited in place" and seen[other] == "New by hand"
    stored = Store(store).index.db.execute("SELECT path FROM strays").fetchall()
    assert (f"{record_dir}/notes.txt",) not in stored  # not looked at by a lead listing
    status = Store(store).index.status()
    assert f"{record_dir}/notes.txt" in [s["path"] for s in status["strays"]]
    assert indexed(store) == truth(store)


def test_a_record_dir_holding_its_childrens_dir_is_skipped_yet_nothing_is_missed(
    store: Path, leads: Any
) -> None:
    # Follow-ups are read, so a lead's directory matters only for a new ``followups/``: once
    # that exists, its own stat sees follow-ups come and go, and the lead's is not needed.
    with_dir, without = (lead["path"].rsplit("/", 1)[0] for lead in leads)
    first = f"{with_dir}/followups/F-0000000000H3.yaml"
    write(store, first, FOLLOWUP.format(parent=leads[0]["id"], text="first"))
    assert rows_of(store, "followup") == {first: "first"}
    index = Store(store).index
    watcher = Watcher(index.root, index.db)
    scope = Scope.of(["followup"])
    stat_ed = {path for path, _sig in watcher._dirs_in(scope, watcher._files_in(scope))}
    assert f"{with_dir}/followups" in stat_ed and with_dir not in stat_ed
    assert without in stat_ed  # it could gain a followups/ directory
    second = f"{with_dir}/followups/F-0000000000H4.yaml"
    write(store, second, FOLLOWUP.format(parent=leads[0]["id"], text="second"))
    other = f"{without}/followups/F-0000000000H5.yaml"
    write(store, other, FOLLOWUP.format(parent=leads[1]["id"], text="other"))
    assert rows_of(store, "followup") == {first: "first", second: "second", other: "other"}
    for name in (first, second):
        os.unlink(store / name)
    os.rmdir(store / with_dir / "followups")
    assert rows_of(store, "followup") == {other: "other"}
    assert indexed(store) == truth(store)


def test_none_looks_at_a_records_children_all_the_same(store: Path, cli: Any, leads: Any) -> None:
    git(store, "config", "salesctl.worktreeCheck", "none")
    edited = store / leads[0]["path"]
    edited.write_text(edited.read_text().replace("Lead 0", "Not looked at"))
    assert "Not looked at" not in json.dumps(rows_of(store, "lead"))
    rel = f"{leads[0]['path'].rsplit('/', 1)[0]}/followups/F-0000000000H2.yaml"
    write(store, rel, FOLLOWUP.format(parent=leads[0]["id"], text="child by hand"))
    listed = cli("--as", "alice", "followup", "list", leads[0]["id"], "-f", "json")
    assert [r["text"] for r in listed.json()] == ["child by hand"]


def test_scopes_cover_narrower_scopes() -> None:
    assert Scope().covers(Scope.of(["lead"], ["teams/east"]))
    assert Scope.of(["lead"]).covers(Scope.of(["lead"], ["teams/east/alice"]))
    assert Scope.of(["lead"], ["teams/east"]).covers(Scope.of(["lead"], ["teams/east/alice"]))
    assert not Scope.of(["lead"], ["teams/east"]).covers(Scope.of(["lead"], ["teams/eastern"]))
    assert not Scope.of(["lead"]).covers(Scope.of(["lead", "deal"]))
    assert not Scope.of(["lead"]).covers(Scope())
    assert not Scope.of(["lead"], files=["a"]).covers(Scope.of(["lead"], files=["b"]))


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("teams", (None, None)),
        ("teams/east/bob", (None, None)),
        ("teams/east/bob/leads", ("lead", "container")),
        ("teams/east/bob/leads/L-0000000000AA", ("lead", "record")),
        ("teams/east/bob/leads/L-0000000000AA/followups", ("followup", "children")),
        ("teams/east/okrs", ("okr", "container")),
        ("okrs/O-0000000000AA", ("okr", "record")),
        ("pool/customers/C-0000000000AA/visits", ("visit", "children")),
        ("members/zed/contracts/K-0000000000AA/payments", ("payment", "children")),
        ("pool/leads/L-0000000000AA/attachments", (None, "other")),
        ("pool/leads/L-0000000000AA/payments", (None, "other")),
    ],
)
def test_directory_roles(path: str, role: tuple[str | None, str | None]) -> None:
    assert dir_role(path) == role


def test_a_whole_store_look_split_across_processes_finds_the_same(
    store: Path, leads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.store import compare, parsing

    monkeypatch.setattr(compare, "PARALLEL_MIN", 0)
    monkeypatch.setattr(parsing, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setenv("SALESCTL_INDEX_WORKERS", "2")
    indexed(store)
    edited = store / leads[0]["path"]
    edited.write_text(edited.read_text().replace("Lead 0", "Edited in parallel"))
    (store / leads[1]["path"]).unlink()
    write(store, "pool/leads/L-0000000000P1/lead.yaml", LEAD.format(company="New"))
    rows = indexed(store)
    assert rows == truth(store)
    assert "Edited in parallel" in json.dumps(rows) and leads[1]["path"] not in json.dumps(rows)


def test_a_directory_changed_within_the_clock_tick_is_listed_again(
    store: Path, leads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file made in the same timestamp tick as the last listing leaves the directory's
    mtime as it was; a directory that fresh is listed again until its mtime is old."""
    from salesctl.store import parsing

    monkeypatch.setattr(parsing, "RACY_NS", 10**18)  # every signature is "racy"
    pool_leads = store / "pool/leads"
    write(store, "pool/leads/L-0000000000R1/lead.yaml", LEAD.format(company="First"))
    mtime = pool_leads.stat().st_mtime_ns
    assert "First" in rows_of(store, "lead").values()
    write(store, "pool/leads/L-0000000000R2/lead.yaml", LEAD.format(company="Same tick"))
    os.utime(pool_leads, ns=(mtime, mtime))  # as if within the tick of the first
    assert "Same tick" in rows_of(store, "lead").values()


@pytest.mark.parametrize("workers", ["2", "3", "7"])
def test_each_process_of_a_whole_store_look_compares_only_its_share(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    """Split across processes by ranges of directory paths and of rowids, a look finds
    exactly what one process finds, each change once, also with more processes than
    there are directories to share."""
    import time

    from salesctl.store import compare, parsing

    for n in range(6):
        add_lead(cli, f"Shared {n}")
    index = Store(store).index
    index.refresh(full=True)
    paths = [p for (p,) in index.db.execute("SELECT path FROM records ORDER BY rowid")]
    for path in (paths[0], paths[len(paths) // 2], paths[-1]):  # each share gets one
        edited = store / path
        edited.write_text(edited.read_text() + "# touched\n")
    (store / paths[1]).unlink()
    write(store, "pool/leads/L-0000000000S1/lead.yaml", LEAD.format(company="Stray dir"))
    monkeypatch.setattr(compare, "PARALLEL_MIN", 0)
    monkeypatch.setattr(parsing, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setenv("SALESCTL_INDEX_WORKERS", workers)
    now = time.time_ns()
    alone = compare.compare_part(
        str(store), index.db.execute(compare.ALL_DIRS), index.db.execute(compare.ALL_FILES), now
    )
    split = compare.compare_everything(index.db, str(store), now)
    assert [sorted(part) for part in split] == [sorted(part) for part in alone]
    moved, parse, gone = split
    assert {paths[0], paths[len(paths) // 2], paths[-1]} <= set(parse)  # (and racy ones)
    assert len(parse) == len(set(parse))
    assert gone == [paths[1]] and moved  # (the deleted file's directory, at least)
