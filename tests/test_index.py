"""The derived index stays equal to a rebuild from the files, whatever happens to them.

Each step changes the store the way a person or git would (edit, add, delete, rename by hand,
commit, reset, check out another branch, stash, delete the database) and then compares what
a *new* ``Store`` (a new command) reads from the index with the rows a from-scratch parse of
the work tree gives. Broken and foreign files are reported, never fatal. Also: the parallel
parser and the optional YAML accelerator read exactly what the reference reads, and the git
layer's tree builder writes exactly the tree a temporary index would.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.git_trees import Trees
from salesctl.store import accelerator, parsing
from salesctl.store.store import Store
from salesctl.store.watch import Walk

LEAD = """\
schema_version: 1
company: {company}
stage: new
created: 2026-11-01
"""
FOLLOWUP = """\
schema_version: 1
record: {parent}
author: alice
at: 2026-11-02T10:00:00+08:00
text: {text}
"""


def commit_all(root: Path, message: str = "by hand") -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", message)  # fmt: skip


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def add_lead(cli: Any, company: str, *extra: str) -> dict[str, Any]:
    result = cli("--as", "alice", "lead", "add", "--company", company, *extra, "-f", "json")
    assert result.code == 0, result.err
    return result.json()  # type: ignore[no-any-return]


def indexed(root: Path, *, full: bool = False) -> list[tuple[Any, ...]]:
    """What a new command reads from the index (sig aside: it is how, not what)."""
    index = Store(root).index
    index.refresh(full=full)
    db = index.db
    # the shares table is the records' shares, one row each, whatever refreshed it
    exploded = sorted(
        (path, *share)
        for path, shares in db.execute("SELECT path, shares FROM records WHERE shares NOT NULL")
        for share in json.loads(shares)
    )
    assert sorted(db.execute("SELECT * FROM shares")) == exploded
    # and the dupkeys table is the records' duplicate keys, made where each file was parsed
    keys = sorted(
        (key, path)
        for path, found in db.execute("SELECT path, keys FROM records WHERE keys NOT NULL")
        for key in json.loads(found)
    )
    assert sorted(db.execute("SELECT key, path FROM dupkeys")) == keys
    return list(
        db.execute(
            "SELECT path, id, kind, parent, owner, team, pool, data, problems, shares, keys "
            "FROM records ORDER BY path"
        )
    )


def truth(root: Path) -> list[tuple[Any, ...]]:
    """The rows of a from-scratch parse of every record file in the work tree."""
    rows = [r for batch, _gone in parsing.parse_many(str(root), Walk(root)) for r in batch]
    return sorted(r[:7] + r[8:] for r in rows)


def paths(rows: list[tuple[Any, ...]]) -> list[str]:
    return [r[0] for r in rows]


@pytest.fixture
def leads(store: Path, cli: Any) -> list[dict[str, Any]]:
    # a participant and a mention: shares, which the index keeps in step too
    made = [
        add_lead(cli, f"Lead {n}", *(["--set", "participants=nora"] * (n == 1))) for n in range(3)
    ]
    followup = cli(
        "--as", "alice", "followup", "add", made[0]["id"], "--text", "hi @bob", "-f", "json"
    )
    assert followup.code == 0, followup.err
    return made


# -- incremental == rebuild --------------------------------------------------------------------


def test_hand_edits_deletes_and_staged_changes_match_a_rebuild(
    store: Path, leads: list[dict[str, Any]]
) -> None:
    assert indexed(store) == truth(store)
    first, second, third = (store / lead["path"] for lead in leads)
    first.write_text(first.read_text().replace("Lead 0", "Edited by hand"))  # uncommitted
    second.unlink()
    assert indexed(store) == truth(store)
    assert "Edited by hand" in json.dumps(indexed(store))
    commit_all(store)
    assert indexed(store) == truth(store)
    moved = f"teams/east/bob/leads/{leads[2]['id']}"
    (store / moved).parent.mkdir(parents=True)
    git(store, "mv", str(third.parent.relative_to(store)), moved)  # a rename, staged
    write(store, "pool/leads/L-0000000000NW/lead.yaml", LEAD.format(company="New"))
    git(store, "add", "pool")  # a new file, staged
    rows = indexed(store)
    assert rows == truth(store)
    assert f"{moved}/lead.yaml" in paths(rows) and "pool/leads/L-0000000000NW/lead.yaml" in paths(
        rows
    )
    commit_all(store)
    assert indexed(store) == truth(store)


def test_reverts_reset_checkout_and_stash_match_a_rebuild(
    store: Path, leads: list[dict[str, Any]]
) -> None:
    path = store / leads[0]["path"]
    original = path.read_text()
    path.write_text(original.replace("Lead 0", "Changed"))
    assert indexed(store) == truth(store)
    git(store, "checkout", "--", leads[0]["path"])  # back to HEAD: no commit moved
    assert indexed(store) == truth(store)
    path.write_text(original.replace("Lead 0", "Stashed"))
    assert indexed(store) == truth(store)
    git(store, "stash", "-q")
    assert indexed(store) == truth(store)
    git(store, "stash", "pop", "-q")
    assert indexed(store) == truth(store)
    git(store, "checkout", "-q", "--", ".")
    git(store, "checkout", "-q", "-b", "other")
    write(store, "pool/leads/L-0000000000BR/lead.yaml", LEAD.format(company="On a branch"))
    (store / leads[1]["path"]).unlink()
    commit_all(store, "branch work")
    assert indexed(store) == truth(store)
    git(store, "checkout", "-q", "main")
    assert indexed(store) == truth(store)
    assert "pool/leads/L-0000000000BR/lead.yaml" not in paths(indexed(store))
    git(store, "reset", "-q", "--hard", "HEAD~1")  # history rewritten under the index
    assert indexed(store) == truth(store)
    git(store, "checkout", "-q", "other")
    assert indexed(store) == truth(store)


def test_a_deleted_or_damaged_database_is_rebuilt(store: Path, leads: list[dict[str, Any]]) -> None:
    before = indexed(store)
    db = store / ".git" / "salesctl" / "index.sqlite"
    db.unlink()
    assert indexed(store) == before == truth(store)
    db.write_bytes(b"this is not a database" * 100)
    assert indexed(store) == before


def test_untracked_files_made_by_hand_join_on_a_full_walk(
    store: Path, leads: list[dict[str, Any]]
) -> None:
    """A record file nobody has told git about, or a record directory moved by hand, is
    seen by the next look (``stat``, the default, looks at once; a full look always)."""
    write(store, "pool/leads/L-0000000000UT/lead.yaml", LEAD.format(company="Untracked"))
    old = store / leads[0]["path"]
    new = store / "teams/east/bob/leads" / leads[0]["id"]
    new.parent.mkdir(parents=True)
    old.parent.rename(new)  # a plain mv of the whole record directory
    rows = paths(indexed(store))
    assert leads[0]["path"] not in rows  # the old place is gone at once
    assert indexed(store, full=True) == truth(store)  # the walk finds the new ones
    assert indexed(store) == truth(store)  # and from then on they are watched
    (store / "pool/leads/L-0000000000UT/lead.yaml").write_text(LEAD.format(company="Edited"))
    assert indexed(store) == truth(store)


def test_worktree_check_all_sees_untracked_files_at_once(
    store: Path, leads: list[dict[str, Any]]
) -> None:
    git(store, "config", "salesctl.worktreeCheck", "all")
    assert indexed(store) == truth(store)
    write(store, "pool/leads/L-0000000000UA/lead.yaml", LEAD.format(company="Untracked"))
    write(store, "pool/leads/L-0000000000UB/followups/F-0000000000UC.yaml", "x: [")
    assert indexed(store) == truth(store)


def test_worktree_check_none_trusts_commits_until_a_walk(
    store: Path, leads: list[dict[str, Any]]
) -> None:
    git(store, "config", "salesctl.worktreeCheck", "none")
    assert indexed(store) == truth(store)
    path = store / leads[0]["path"]
    path.write_text(path.read_text().replace("Lead 0", "Not seen yet"))
    assert "Not seen yet" not in json.dumps(indexed(store))
    assert indexed(store, full=True) == truth(store)
    commit_all(store)
    write(store, leads[1]["path"], LEAD.format(company="Committed"))
    commit_all(store)
    assert indexed(store) == truth(store)


def test_no_commit_writes_are_seen_by_the_next_command(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "Uncommitted", "--no-commit")
    assert git(store, "status", "--porcelain").startswith("??")
    assert lead["path"] in paths(indexed(store))
    assert indexed(store) == truth(store)
    commit_all(store)
    assert indexed(store) == truth(store)


def test_children_list_sees_a_child_added_by_hand(store: Path, cli: Any, leads: Any) -> None:
    parent = leads[1]
    rel = f"{parent['path'].rsplit('/', 1)[0]}/followups/F-0000000000HB.yaml"
    write(store, rel, FOLLOWUP.format(parent=parent["id"], text="by hand"))
    result = cli("--as", "alice", "followup", "list", parent["id"], "-f", "json")
    assert [r["text"] for r in result.json()] == ["by hand"]
    assert indexed(store) == truth(store)


def test_a_new_command_sees_the_previous_commands_commit(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "First")
    moved = cli("--as", "lee", "lead", "assign", lead["id"], "--to", "bob", "-f", "json")
    assert moved.code == 0, moved.err
    assert indexed(store) == truth(store)
    assert [r["owner"] for r in cli("--as", "dana", "lead", "list", "-f", "json").json()] == ["bob"]


def test_a_command_asks_git_for_head_once_while_the_index_stands_at_it(
    store: Path, cli: Any, leads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesctl.git import Repo

    asked: list[str | None] = []
    real = Repo.head

    def head(self: Repo) -> str | None:
        asked.append(real(self))
        return asked[-1]

    monkeypatch.setattr(Repo, "head", head)
    shown = cli("--as", "alice", "lead", "show", leads[0]["id"], "-f", "json")
    assert shown.code == 0, shown.err
    assert shown.json()["followups"]  # read through three refreshes: the id, two children
    assert len(asked) == 1

    # another command moves the index to its new commit: this process asks git again
    index = Store(store).index
    index.refresh(kinds=["lead"])
    assert add_lead(cli, "Later")["id"]
    other = Store(store).index
    other.refresh(kinds=["lead"])
    asked.clear()
    index.refresh(kinds=["followup"])
    assert len(asked) == 1 and asked[0] == git(store, "rev-parse", "HEAD").strip()
    assert index._read_meta()["head"] == asked[0]


# -- broken and foreign files ------------------------------------------------------------------


def test_broken_files_are_rows_with_problems_never_errors(
    store: Path, leads: list[dict[str, Any]], tmp_path: Path
) -> None:
    write(store, "pool/leads/L-0000000000B1/lead.yaml", "company: [unclosed\n")
    (store / "pool/leads/L-0000000000B2").mkdir(parents=True)
    (store / "pool/leads/L-0000000000B2/lead.yaml").write_bytes(b"company: J\xfcrgen\n")
    (store / "pool/leads/L-0000000000B3/lead.yaml").mkdir(parents=True)  # a directory
    outside = tmp_path / "outside.yaml"
    outside.write_text(LEAD.format(company="Secret Outside"))
    (store / "pool/leads/L-0000000000B4").mkdir()
    os.symlink(outside, store / "pool/leads/L-0000000000B4/lead.yaml")
    write(store, "pool/leads/L-0000000000B5/lead.yaml", "a: &x [1]\nb: *x\n")
    write(store, "pool/leads/L-0000000000B6/lead.yaml", "created: 2026-13-40\n")
    write(store, "teams/east/alice/notes.txt", "not a record")
    commit_all(store)
    rows = {r[0]: r for r in indexed(store)}
    assert indexed(store) == truth(store)
    for name in ("B1", "B2", "B4", "B5"):
        row = rows[f"pool/leads/L-0000000000{name}/lead.yaml"]
        assert row[7] is None and json.loads(row[8])  # no data, a problem that says why
    # an impossible date is the field's problem, beside the file's others: still a row
    impossible = rows["pool/leads/L-0000000000B6/lead.yaml"]
    assert any("created" in json.dumps(p) for p in json.loads(impossible[8]))
    assert "Secret Outside" not in json.dumps(list(rows.values()))
    status = Store(store).index.status()
    assert status["unreadable"] >= 4
    assert {"path": "teams/east/alice/notes.txt", "reason": status["strays"][0]["reason"]} in (
        status["strays"]
    )


def test_a_symlinked_directory_is_never_followed(
    store: Path, leads: list[dict[str, Any]], tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "L-0000000000SD"
    outside.mkdir(parents=True)
    (outside / "lead.yaml").write_text(LEAD.format(company="Secret Outside"))
    record_dir = store / leads[0]["path"].rsplit("/", 1)[0]
    for child in sorted(record_dir.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    record_dir.rmdir()
    os.symlink(outside, record_dir)  # the tracked path now leads outside the store
    rows = indexed(store)
    assert "Secret Outside" not in json.dumps(rows)
    row = next(r for r in rows if r[0] == leads[0]["path"])
    assert row[7] is None and "symlink" in row[8]


# -- the commands ------------------------------------------------------------------------------


def test_index_status_and_rebuild_commands(store: Path, cli: Any, leads: Any) -> None:
    write(store, "pool/leads/L-0000000000BX/lead.yaml", "company: [")
    status = cli("index", "status", "-f", "json")
    assert status.code == 0, status.err
    body = status.json()
    assert body["records"] == len(truth(store)) == 5
    assert body["by_kind"] == {"followup": 1, "lead": 4}
    assert body["unreadable"] == 1 and body["untracked"] == 1
    assert body["worktree_check"] == "stat"
    rebuilt = cli("index", "rebuild", "-f", "json")
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.json()["records"] == 5
    assert indexed(store) == truth(store)
    human = cli("index", "rebuild", "-f", "table")
    assert human.code == 0 and "indexed 5 record files" in human.out
    assert "5 record files" in cli("index", "status", "-f", "table").out


def test_stored_files_in_a_directory_listed_late_are_not_parsed_again(
    store: Path, cli: Any, leads: Any
) -> None:
    """An import's (or a pulled commit's) new record directories: the index holds their
    files' rows but has not listed the directories. The look that lists them parses only
    what differs from the stored rows."""
    indexed(store)
    time.sleep(parsing.RACY_NS / 1e9 + 0.01)
    indexed(store)  # the rows' signatures are settled (not racy)
    lead_dirs = sorted(str(Path(lead["path"]).parent) for lead in leads)
    container = str(Path(lead_dirs[0]).parent)
    db = Store(store).index.db
    marks = ",".join("?" * len(lead_dirs))
    db.execute(f"DELETE FROM dirs WHERE path IN ({marks}) OR parent IN ({marks})", lead_dirs * 2)
    db.execute("UPDATE dirs SET sig = 'listed before they were made' WHERE path = ?", (container,))
    db.commit()
    db.close()
    edited = store / leads[1]["path"]
    edited.write_text(edited.read_text().replace("Lead 1", "Edited by hand"))

    status = cli("index", "status", "-f", "json")
    assert status.code == 0, status.err
    refreshed = status.json()["refreshed"]
    assert refreshed["parsed"] == 1  # the edited file, not the three lead files unchanged
    rows = indexed(store)
    assert rows == truth(store)
    assert "Edited by hand" in json.dumps(rows)
    listed = {p for (p,) in Store(store).index.db.execute("SELECT path FROM dirs")}
    assert set(lead_dirs) <= listed


def test_the_index_is_not_written_when_nothing_changed(store: Path, leads: Any) -> None:
    indexed(store)
    time.sleep(parsing.RACY_NS / 1e9 + 0.01)
    indexed(store)  # what was written within the file system's tick is looked at once more
    db = store / ".git" / "salesctl" / "index.sqlite"
    before = db.stat().st_mtime_ns
    indexed(store)
    assert db.stat().st_mtime_ns == before


# -- parsing -----------------------------------------------------------------------------------


def test_parallel_parsing_reads_what_one_process_reads(store: Path, cli: Any) -> None:
    for n in range(30):
        write(store, f"pool/leads/L-00000000{n:04d}/lead.yaml", LEAD.format(company=f"Co {n}"))
    write(store, "pool/leads/L-0000000000ZB/lead.yaml", "company: [")
    walked = sorted(Walk(store))
    one = [r for batch, _ in parsing.parse_many(str(store), walked) for r in batch]
    many = [r for batch, _ in parsing.parse_many(str(store), walked, workers=2) for r in batch]
    unsigned = sorted(r[:7] + r[8:] for r in one)  # a signature may be "racy" on one pass only
    assert unsigned == sorted(r[:7] + r[8:] for r in many) and len(one) == 31


# Documents where YAML 1.1 (PyYAML, the reference) and 1.2 (yaml_rs) differ, or where our
# reference refuses something: the accelerator must hand every one of them to PyYAML.
TRICKY_SCALARS = [
    "2026-01-02", "2026-1-2", "2026-01-02T10:00:00", "2026-01-02 10:00:00", "2026-01-02T10:00",
    "2026-01-02T10:00:00Z", "2026-01-02T10:00:00+08:00", "2026-01-02T10:00:00.5+08:00",
    "2026-01-02 10:00:00 +08:00", "2026-01-02T1:00:00", "2026-1-2T10:00:00", "2026-13-40",
    "2026-01-02T10:00:00+0800", "012", "0o17", "0x1f", "1e3", "1.5e3", "1.5e+3", "1_000",
    "1:30", "12:30:45", "190:20:30", ".5", "+.inf", ".nan", "-0", "+12", "1.", "0b11", "yes",
    "No", "on", "OFF", "y", "~", "null", "true", "False", "=", "<<", "00", "-012", "1.0e-3",
    "12:30", '"quoted"', "'012'", '"yes"', '"2026-13-40"', "[1, 2]", "{a: 1}", "[yes, 012]",
    "Smith & Co", "call *now*", "&anchor value", "*alias", "!!str 12", '"\\x41\\u00e9"',
    "'it''s'", "|\n  line1\n  line2", ">\n  folded\n  text", "中文", '" lead"', '""', "''",
    "a #c", "phone +44 20 7946 0766", "0755-4910979", "x\x85y", "x\u2028y", "\x01x", "x\x7f",
    # yaml_rs makes dates and times of text that looks like one, quoted or in a block
    "'2026-01-02'", '"2026-01-02 10:00:00"', "'0001-01-01'", "'10:00:00'", '"2026-1-2"',
    "|-\n  2026-01-02", "|\n  10:00:00", '"\\u0032026-01-02"',
    # and numbers of text that starts with "_"
    "_0", "_1_2", "_.5", "_1e3", "__1", "_0.5",
]  # fmt: skip
TRICKY_DOCUMENTS = [
    "a: 1\na: 2\n", "---\na: 1\n", "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n",
    "a: &x 1\nb: *x\n", "a: !!binary aGVsbG8=\n", "\ufeffa: 1\n", "a: 1\r\nb: 2\r\n",
    "a:\t1\n", "a: [1, 2\n", "", "just text\n", "- 1\n- 2\n", "? complex\n: value\n",
    "<<: {a: 1}\n", "1: one\n012: oct\n", "yes: key\n", "~: n\n", "a: b: c\n", "[1, 2]: v\n",
    "a: 9999999999999999999999\n", "2026-01-02T10:00: v\n", "12:30:45: v\n",
    "'2026-01-02': v\n", "a:\n- '2026-01-02'\n", "a: [\"2026-01-02\"]\n",
]  # fmt: skip


def _both(text: str, *, plain: bool = False) -> tuple[Any, Any]:
    """(the reference's reading, ``load_yaml``'s): yaml_rs behind its guard alone, or with
    ``plain`` yaml_plain.load_plain in front of it, as the index parses."""
    from salesctl import yamlio

    def reference() -> Any:
        try:
            return repr(yamlio.loads(text.encode(), source="f", plain=False))
        except Exception as exc:  # the same failure is the same reading
            return f"{type(exc).__name__}: {exc}"

    def accelerated() -> Any:
        try:
            return repr(accelerator.load_yaml(text.encode(), "f", plain=plain))
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    return reference(), accelerated()


@pytest.mark.skipif(
    accelerator.accelerator() is None, reason="yaml_rs (the optional accelerator) is absent"
)
@pytest.mark.parametrize("scalar", TRICKY_SCALARS)
def test_the_accelerator_reads_tricky_scalars_as_pyyaml_does(scalar: str) -> None:
    for text in (
        f"schema_version: 1\ncompany: {scalar}\n",
        f"schema_version: 1\ntags:\n- {scalar}\n",
        f"custom:\n  {scalar}: v\n" if scalar[:1] not in "|>" else "a: 1\n",
    ):
        for plain in (False, True):
            reference, accelerated = _both(text, plain=plain)
            assert accelerated == reference, text


@pytest.mark.skipif(
    accelerator.accelerator() is None, reason="yaml_rs (the optional accelerator) is absent"
)
@pytest.mark.parametrize("text", TRICKY_DOCUMENTS)
def test_the_accelerator_reads_tricky_documents_as_pyyaml_does(text: str) -> None:
    for plain in (False, True):
        reference, accelerated = _both(text, plain=plain)
        assert accelerated == reference


@pytest.mark.skipif(
    accelerator.accelerator() is None, reason="yaml_rs (the optional accelerator) is absent"
)
def test_a_few_files_are_parsed_without_loading_the_accelerator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading yaml_rs costs more than it saves on a few files (``lead show``, a write):
    it is loaded once a process has parsed ``FEW_FILES``, and what is parsed is the same."""
    accelerator.accelerator.cache_clear()
    monkeypatch.setattr(accelerator, "_parsed", 0)
    text = b"schema_version: 1\ncompany: Few Co\ntags: [a, b]\nvalue: 12.5\n"
    first = accelerator.load_yaml(text, "f")
    for _ in range(accelerator.FEW_FILES - 1):
        accelerator.load_yaml(text, "f")
    assert accelerator.accelerator.cache_info().currsize == 0  # not loaded yet
    assert accelerator.load_yaml(text, "f") == first
    assert accelerator.accelerator.cache_info().currsize == 1  # loaded for the next ones


# -- the git layer's tree builder --------------------------------------------------------------


def test_trees_built_along_the_changed_paths_equal_a_temporary_index(store: Path) -> None:
    for rel in ("teams/east/alice/leads/L-1/lead.yaml", "teams/east/alice/leads/L-2/lead.yaml",
                "teams/east/alice/leads/L-2/followups/F-1.yaml", "pool/leads/L-3/lead.yaml",
                "okrs/O-1/okr.yaml"):  # fmt: skip
        write(store, rel, rel)
    commit_all(store)
    repo = Store(store).repo
    head = repo.head()

    def blob(text: str) -> str:
        return repo.run("hash-object", "-w", "--stdin", input=text.encode()).strip()

    changes: dict[str, str | None] = {
        "teams/east/alice/leads/L-2/lead.yaml": None,  # a move: out of alice's ...
        "teams/east/alice/leads/L-2/followups/F-1.yaml": None,
        "teams/east/bob/leads/L-2/lead.yaml": blob("moved"),  # ... into bob's, a new dir
        "teams/east/bob/leads/L-2/followups/F-1.yaml": blob("child"),
        "pool/leads/L-3/lead.yaml": None,  # pool/ ends up empty: gone from the tree
        "teams/east/alice/leads/L-1/lead.yaml": blob("edited"),
        "members/fay/contracts/K-1/contract.yaml": blob("new top-level directory"),
    }
    built = Trees(repo).tree_with(head, changes)
    env = dict(os.environ, GIT_INDEX_FILE=str(store / ".git" / "test-index"))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=store, env=env, check=True)
    info = "".join(
        f"0 {'0' * 40}\t{p}\0" if b is None else f"100644 {b}\t{p}\0" for p, b in changes.items()
    )
    subprocess.run(["git", "update-index", "-z", "--index-info"], cwd=store, env=env,
                   input=info.encode(), check=True)  # fmt: skip
    expected = subprocess.run(["git", "write-tree"], cwd=store, env=env, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    assert built == expected
    assert "pool" not in git(store, "ls-tree", "--name-only", built)


class FakeTerminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_the_store_prints_nothing_and_the_cli_renders_its_progress(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the CLI prints: a store used as a library builds silently; the CLI hands it a
    progress bar that shows on a terminal once work has taken a second."""
    import itertools
    import sys

    from salesctl.cli import _output

    for n in range(3):
        assert cli("--as", "alice", "lead", "add", "--company", f"Co {n}").code == 0
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    library = Store(store)
    library.index.rebuild()
    assert terminal.text == ""
    ticks = itertools.count(0, 2)  # every look at the clock is two seconds later
    monkeypatch.setattr(_output.TerminalProgress, "__init__", _slow_clock(ticks))
    shown = Store(store)
    shown.progress = _output.TerminalProgress
    shown.index.rebuild()
    assert "indexing records: 100%" in terminal.text and terminal.text.endswith("\n")


def _slow_clock(ticks: Any) -> Any:
    from salesctl.cli import _output

    original = _output.TerminalProgress.__init__

    def init(self: Any, label: str, total: int | None = None) -> None:
        original(self, label, total)
        self.clock = lambda: float(next(ticks))
        self.started = -10.0

    return init
