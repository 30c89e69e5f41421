"""The derived index put right under a command: a damaged database file is rebuilt with a
warning (or, when it cannot be, one error line that says how to fix it), a rebuild racing
other commands never makes them fail, and a write never fails for the index's sake.

The races are forced, not hoped for: a rebuild runs at the point where a command has its
connection open and is about to write to it (``index_repair.py``, ``index_build.py``)."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.store import index_build
from salesctl.store.index_refresh import RefreshingIndex
from salesctl.store.index_schema import INDEX_VERSION
from salesctl.store.store import Store

WARNING = "warning: the index .git/salesctl/index.sqlite was damaged"


def db_path(store: Path) -> Path:
    return store / ".git" / "salesctl" / "index.sqlite"


@pytest.fixture
def leads(store: Path, cli: Any) -> list[str]:
    made = []
    for n in range(12):
        out = cli("--as", "alice", "lead", "add", "--company", f"Firm {n}", "-f", "json")
        assert out.code == 0, out.err
        made.append(out.json()["id"])
    assert cli("--as", "alice", "lead", "list").code == 0  # the index is built and current
    return sorted(made)


# -- ways a database file gets damaged ----------------------------------------------------------


def scribbled(path: Path) -> None:
    """Random bytes over every page but the first: the tables' pages are garbage."""
    data = bytearray(path.read_bytes())
    rng = random.Random(7)
    for _ in range(len(data) // 8):
        data[rng.randrange(4096, len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))


def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: 3 * 4096])


def garbage(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(20_000))


def a_directory(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def wrong_schema(path: Path) -> None:
    """A database of the current version whose tables are not the index's."""
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('version', ?)", (INDEX_VERSION,))
    db.execute("CREATE TABLE records(path TEXT, id TEXT)")
    db.commit()
    db.close()


def zero_length(path: Path) -> None:
    path.write_bytes(b"")


DAMAGE = [scribbled, truncated, garbage, a_directory, wrong_schema]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "command", [("--as", "alice", "lead", "list"), ("check",), ("index", "status")]
)
def test_a_damaged_index_is_rebuilt_with_a_warning(
    store: Path, cli: Any, leads: list[str], damage: Any, command: tuple[str, ...]
) -> None:
    damage(db_path(store))
    out = cli(*command, "-f", "json") if command != ("check",) else cli(*command)
    assert out.code == 0, out.err
    (warning, *rest) = out.err.splitlines()
    assert warning.startswith(WARNING) and warning.endswith("; rebuilt it from the files")
    if command == ("check",):  # alice's 12 leads are over conftest's cap of 5: a warning
        assert len(rest) == 2 and "alice owns 12 open leads" in rest[0]
        assert rest[1] == "ok: no problems, 1 warning(s)"
    else:
        assert rest == []
    if command[-1] == "list":
        assert sorted(lead["id"] for lead in out.json()) == leads
    elif command[-1] == "status":
        status = out.json()
        assert status["records"] == len(leads) and status["rebuilt_damaged"]
    # put right: the next command says nothing, and reads the same
    again = cli("--as", "alice", "lead", "list", "-f", "json")
    assert again.code == 0 and again.err == ""
    assert sorted(lead["id"] for lead in again.json()) == leads


def test_a_zero_length_index_is_built_again(store: Path, cli: Any, leads: list[str]) -> None:
    zero_length(db_path(store))  # as good as missing: built again without a word
    out = cli("--as", "alice", "lead", "list", "-f", "json")
    assert out.code == 0 and sorted(lead["id"] for lead in out.json()) == leads


def test_a_directory_in_place_of_the_index_is_moved_aside(
    store: Path, cli: Any, leads: list[str]
) -> None:
    a_directory(db_path(store))
    assert cli("--as", "alice", "lead", "list").code == 0
    assert db_path(store).is_file()
    assert (store / ".git" / "salesctl" / "index.sqlite.damaged" / "inside").is_dir()


def test_a_write_on_a_damaged_index_commits_once(store: Path, cli: Any, leads: list[str]) -> None:
    scribbled(db_path(store))
    before = git(store, "rev-list", "--count", "HEAD")
    out = cli("--as", "alice", "lead", "edit", leads[0], "--set", "name=Renamed")
    assert out.code == 0, out.err
    assert WARNING in out.err
    assert int(git(store, "rev-list", "--count", "HEAD")) == int(before) + 1
    shown = cli("--as", "alice", "lead", "show", leads[0], "-f", "json")
    assert shown.json()["name"] == "Renamed"


def test_an_index_that_cannot_be_rebuilt_says_how_to_fix_it(
    store: Path, cli: Any, leads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scribbled(db_path(store))

    def read_only(*args: Any, **kwargs: Any) -> int:
        raise PermissionError(13, "Permission denied", str(db_path(store)) + ".new")

    monkeypatch.setattr(index_build, "_build_at", read_only)  # as on a read-only .git
    out = cli("--as", "alice", "lead", "list")
    assert out.code == 1
    assert out.err.startswith("error: the index .git/salesctl/index.sqlite is damaged (")
    assert "cannot be built: [Errno 13] Permission denied" in out.err
    assert out.err.rstrip().endswith("then run `salesctl index rebuild`)")
    assert len(out.err.strip().splitlines()) == 1 and "internal error" not in out.err


def test_damage_found_past_the_index_queries_names_the_fix(
    store: Path, cli: Any, leads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQL a command runs on the index's connection itself (check's cache, reports) is not
    asked again: its damage is one error line naming the command that fixes it."""
    from salesctl.ops.collab import check

    def malformed(*args: Any) -> None:
        raise sqlite3.OperationalError("Could not decode to UTF-8 column 'path'")

    monkeypatch.setattr(check, "_file_problems", malformed)
    out = cli("check")
    assert out.code == 1
    assert out.err == (
        "error: the index is damaged: Could not decode to UTF-8 column 'path' "
        "(run `salesctl index rebuild`)\n"
    )


# -- a rebuild racing other commands ----------------------------------------------------------


def edit_by_hand_and_commit(store: Path, lead_id: str) -> None:
    """A commit the index has not seen: the next command's refresh writes to it."""
    (path,) = list(store.glob(f"teams/east/alice/leads/{lead_id}/lead.yaml"))
    path.write_text(path.read_text().replace("Firm", "Hand-edited Firm", 1))
    git(store, "add", "-A")
    git(store, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-qm", "by hand")


def rebuild_while_planning(monkeypatch: pytest.MonkeyPatch, store: Path) -> list[bool]:
    """The next refresh to plan a change sees ``index rebuild`` run by another command
    between its look at the database and its write to it (once)."""
    plan = RefreshingIndex._plan
    done: list[bool] = []

    def racing(self: RefreshingIndex, head: str, old: Any) -> Any:
        if not done:
            done.append(True)
            Store(store).index.rebuild()  # another command's, on its own connection
        return plan(self, head, old)

    monkeypatch.setattr(RefreshingIndex, "_plan", racing)
    return done


def test_a_write_racing_a_rebuild_lands(
    store: Path, cli: Any, leads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`index rebuild` while a write refreshes the index: the write used to fail ("attempt
    to write a readonly database") on a connection left on the file the rebuild replaced."""
    edit_by_hand_and_commit(store, leads[1])
    raced = rebuild_while_planning(monkeypatch, store)
    out = cli("--as", "alice", "lead", "edit", leads[0], "--set", "name=Raced")
    assert raced and out.code == 0, out.err
    assert out.err == ""
    assert "lead.edit" in git(store, "log", "-1", "--format=%s")
    listed = {
        lead["id"]: lead for lead in cli("--as", "alice", "lead", "list", "-f", "json").json()
    }
    assert listed[leads[0]]["name"] == "Raced"
    assert listed[leads[1]]["company"].startswith("Hand-edited")


def test_a_rebuild_writes_into_the_file_others_have_open(store: Path, leads: list[str]) -> None:
    """A healthy database is overwritten in place, under SQLite's locks, never renamed
    over: a connection left on a replaced file takes a writer's journal on the new one
    for a hot journal of its own, plays it back and deletes it ("disk I/O error")."""
    reader = Store(store)
    assert reader.index.count("lead") == len(leads)
    inode = db_path(store).stat().st_ino
    Store(store).index.rebuild()
    assert db_path(store).stat().st_ino == inode
    assert not db_path(store).with_name("index.sqlite.new").exists()
    # the reader's connection reads the new database, and writes to it
    reader.index.note_written(["teams/east/alice/leads/L-X/lead.yaml"], committed=False)
    assert "L-X" in (reader.index._meta("extra") or "")


def test_a_connection_on_a_replaced_file_opens_the_new_one(store: Path, leads: list[str]) -> None:
    """A file renamed over (a damaged one rebuilt, an older salesctl's rebuild): the next
    write through a connection still on the old one goes to the new one."""
    writer = Store(store)
    assert writer.index.count("lead") == len(leads)
    copy = db_path(store).with_name("copy.sqlite")
    shutil.copyfile(db_path(store), copy)
    os.replace(copy, db_path(store))
    path = "teams/east/alice/leads/L-Y/lead.yaml"
    writer.index.note_written([path], committed=False)
    assert path in (Store(store).index._meta("extra") or "")


def test_a_write_stands_when_the_index_cannot_take_it(
    store: Path, cli: Any, leads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index's part of a write comes after the files are written: an index that is
    busy past the timeout is told once, never the write's failure."""
    meta = RefreshingIndex._meta

    def busy(self: RefreshingIndex, key: str) -> Any:
        if key == "extra":
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = 5  # SQLITE_BUSY, as SQLite's own
            raise busy
        return meta(self, key)

    monkeypatch.setattr(RefreshingIndex, "_meta", busy)
    out = cli("--as", "alice", "lead", "edit", leads[0], "--set", "name=Kept", "--no-commit")
    assert out.code == 0, out.err
    assert out.err.startswith("warning: the change is saved, but the index could not note it")
    assert "Kept" in next(store.glob(f"teams/east/alice/leads/{leads[0]}/lead.yaml")).read_text()


def test_a_mistake_in_a_query_is_not_damage_but_a_missing_table_is() -> None:
    """Review: SQLITE_ERROR is also every error in a query's own text; told as damage, a bug
    would rebuild the index on every command and then fail anyway."""
    import sqlite3

    from salesctl.store import index_repair

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE records (path TEXT)")
    for sql in ("SELECT nope(path) FROM records", "SELECT path FROM records WHERE", "SELECT ?"):
        try:
            db.execute(sql, () if "?" not in sql else (1, 2))
        except sqlite3.Error as exc:
            assert not index_repair.damaged(exc), (sql, exc)
        else:
            raise AssertionError(sql)
    for sql in ("SELECT * FROM meta", "SELECT gone FROM records"):
        try:
            db.execute(sql)
        except sqlite3.Error as exc:
            assert index_repair.damaged(exc), (sql, exc)
        else:
            raise AssertionError(sql)
