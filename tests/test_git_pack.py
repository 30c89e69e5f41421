"""A big change (an import) has its blobs and trees written as one pack, not as loose objects:
the same commit as the loose path, a repository git finds valid, and the crash safety of
``Repo.apply`` unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, git, make_store
from test_foundation_concurrency import CRASH_POINTS as FOUNDATION_CRASHES
from test_foundation_concurrency import KILL

from salesctl import git as salesctl_git
from salesctl import git_trees
from salesctl.git import PACK_ABOVE, Author, Change, Repo
from salesctl.git_trees import Pack, Trees

DANA = Author("Dana Wu", "dana@acme.example")


def seeded(root: Path) -> Path:
    """A store with records the big change edits, deletes and empties out."""
    make_store(root)
    for rel in ("pool/leads/L-EDIT/lead.yaml", "pool/leads/L-GONE/lead.yaml",
                "teams/east/alice/leads/L-LAST/lead.yaml"):  # fmt: skip
        path = root / rel
        path.parent.mkdir(parents=True)
        path.write_text(f"company: {rel}\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "seed")  # fmt: skip
    return root


def big_change() -> Change:
    writes = {
        f"pool/leads/L-{n:04d}/lead.yaml": f"company: Import Co {n}\n".encode()
        for n in range(PACK_ABOVE + 1)
    }
    writes["pool/leads/L-0001/followups/F-1.yaml"] = b"note: a child record\n"
    writes["pool/leads/L-EDIT/lead.yaml"] = b"company: edited\n"
    writes["pool/leads/L-SAME/lead.yaml"] = b"company: Import Co 7\n"  # a blob twice
    deletes = {"pool/leads/L-GONE/lead.yaml", "teams/east/alice/leads/L-LAST/lead.yaml"}
    return Change(writes=writes, deletes=deletes)


def objects(root: Path) -> dict[str, int]:
    out = git(root, "count-objects", "-v")
    return {k: int(v) for k, v in (line.split(": ") for line in out.splitlines())}


def fsck(root: Path) -> str:
    proc = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=root,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def apply(root: Path, change: Change) -> str:
    repo = Repo(root)
    with repo.lock():
        new = repo.apply(change, author=DANA, message="lead.import: big\n", commit=True)
    assert new is not None
    return new


def test_a_big_change_is_one_pack_and_the_same_commit_as_loose_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed, loose = seeded(tmp_path / "packed"), seeded(tmp_path / "loose")
    before = objects(packed)

    apply(packed, big_change())
    monkeypatch.setattr(salesctl_git, "PACK_ABOVE", 10**9)
    apply(loose, big_change())

    tree = git(packed, "rev-parse", "HEAD^{tree}").strip()
    assert tree == git(loose, "rev-parse", "HEAD^{tree}").strip()
    after = objects(packed)
    assert after["packs"] == before["packs"] + 1
    assert after["count"] == before["count"] + 1  # the commit alone is loose
    assert objects(loose)["count"] > before["count"] + 2 * PACK_ABOVE
    change = big_change()
    assert set(git(packed, "diff-tree", "-r", "--name-only", "HEAD~1", "HEAD").split()) == (
        set(change.writes) | change.deletes
    )
    assert "teams" not in git(packed, "ls-tree", "--name-only", "HEAD")  # emptied: gone
    assert git(packed, "status", "--porcelain", "--untracked-files=all") == ""
    assert "dangling" not in fsck(packed)


def test_git_gc_repacks_a_big_change(tmp_path: Path) -> None:
    root = seeded(tmp_path / "store")
    apply(root, big_change())
    tree = git(root, "rev-parse", "HEAD^{tree}").strip()

    git(root, "gc", "-q")

    assert objects(root)["packs"] == 1
    assert git(root, "rev-parse", "HEAD^{tree}").strip() == tree
    assert git(root, "show", "HEAD:pool/leads/L-0200/lead.yaml") == "company: Import Co 200\n"
    fsck(root)


def test_tree_objects_are_sorted_and_written_as_git_mktree_writes_them(tmp_path: Path) -> None:
    root = make_store(tmp_path / "store")
    repo = Repo(root)

    def blob(text: str) -> str:
        return repo.run("hash-object", "-w", "--stdin", input=text.encode()).strip()

    sub = Trees(repo).mktree([{"lead.yaml": ("100644", "blob", blob("x"))}])[0]
    # git sorts a directory as if its name ended in "/": after "foo-bar" and "foo.bar"
    tree = {
        "foo": ("040000", "tree", sub),
        "foo.bar": ("100644", "blob", blob("dot")),
        "foo-bar": ("100644", "blob", blob("dash")),
        "foo0": ("040000", "tree", sub),
        "客户.yaml": ("100644", "blob", blob("unicode")),
        "run.sh": ("100755", "blob", blob("#!/bin/sh")),
        "link": ("120000", "blob", blob("foo.bar")),
    }
    packed = Pack().trees([tree, {}])
    assert packed == Trees(repo).mktree([tree, {}])
    assert packed[1] == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree


def test_a_big_directory_written_as_its_tree_object_gets_git_mktree_s_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Directories over ``BIG_TREE`` entries skip ``git mktree`` (which looks up every
    entry's object): the same ids, in the order asked, beside small and empty trees."""
    root = make_store(tmp_path / "store")
    repo = Repo(root)

    def blob(text: str) -> str:
        return repo.run("hash-object", "-w", "--stdin", input=text.encode()).strip()

    sub = Trees(repo).mktree([{"lead.yaml": ("100644", "blob", blob("x"))}])[0]
    big = {f"L-{n:03d}": ("040000", "tree", sub) for n in range(40)}
    big["L-007.yaml"] = ("100644", "blob", blob("dot"))  # sorts before the directory L-007
    big["L-007-x"] = ("100755", "blob", blob("#!"))
    small = {"a": ("100644", "blob", blob("a"))}
    trees = [big, small, {}, dict(reversed(big.items())), small]
    expected = Trees(repo).mktree(trees)
    monkeypatch.setattr(git_trees, "BIG_TREE", len(small))
    assert Trees(repo).mktree(trees) == expected
    assert expected[0] == expected[3] and len(set(expected)) == 3
    assert git(root, "cat-file", "-t", expected[0]).strip() == "tree"  # written, not only hashed


@pytest.mark.parametrize("failing", ["commit", "files"])
def test_a_big_change_whose_files_or_commit_fail_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A packed change that fails writing its files (a full disk) or making its commit
    rolls back what it did, and the branch never moves."""
    root = seeded(tmp_path / "store")
    start = git(root, "rev-parse", "HEAD").strip()
    tracked = git(root, "ls-files", "-s")
    if failing == "commit":
        real_commit = Repo._commit

        def broken_commit(self: Repo, *args: Any) -> str:
            real_commit(self, *args)  # the objects are made, the branch is not moved
            raise salesctl_git.GitError("commit-tree: simulated failure")

        monkeypatch.setattr(Repo, "_commit", broken_commit)
    else:
        real_write = salesctl_git.write_atomic
        written = []

        def broken_write(target: Path, content: bytes, **kwargs: Any) -> None:
            if len(written) == 50:
                raise OSError(28, "No space left on device")
            written.append(target)
            real_write(target, content, **kwargs)

        monkeypatch.setattr(salesctl_git, "write_atomic", broken_write)

    repo = Repo(root)
    with pytest.raises((salesctl_git.GitError, OSError)), repo.lock():
        repo.apply(big_change(), author=DANA, message="lead.import: big\n", commit=True)

    assert git(root, "rev-parse", "HEAD").strip() == start
    assert git(root, "ls-files", "-s") == tracked
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert not list((root / "pool" / "leads").glob("L-0*"))
    assert (root / "pool/leads/L-GONE/lead.yaml").exists()
    assert not repo.journal_path.exists()


def test_an_import_over_the_pack_threshold_commits_exactly_its_leads(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    src = import_csv(tmp_path / "leads.csv", PACK_ABOVE + 5)
    before = objects(store)["packs"]

    res = cli("--as", "dana", "lead", "import", str(src), "--pool", "-f", "json")

    assert res.code == 0, res.err
    created = res.json()["created"]
    assert len(created) == PACK_ABOVE + 5
    changed = git(store, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == sorted(f"pool/leads/{lead_id}/lead.yaml" for lead_id in created)
    assert objects(store)["packs"] == before + 1
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    fsck(store)
    again = cli("--as", "dana", "lead", "import", str(src), "--pool", "-f", "json")
    assert again.code == 0, again.err
    assert again.json()["created"] == []  # every row found as a duplicate of the first import


def import_csv(path: Path, rows: int) -> Path:
    # a mail domain per company: rows at one company's domain are duplicates of each other
    lines = ["Company,Email"] + [f"Import Co {n},p{n}@co{n}.import.example" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CRASH_POINTS = {
    # files written, the pack not yet
    "before-pack": f"""
        real = git.Repo.run_bytes
        def patched(self, *args, **kwargs):
            if args[0] == "index-pack":
                {KILL}
            return real(self, *args, **kwargs)
        git.Repo.run_bytes = patched
    """,
    # the same points as for a small write (test_foundation_concurrency)
    **{point: FOUNDATION_CRASHES[point] for point in ("before-ref-update", "after-ref-update")},
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_killed_big_import_is_rolled_back_or_forward(
    store: Path, cli: Any, tmp_path: Path, point: str
) -> None:
    start = git(store, "rev-parse", "HEAD").strip()
    src = import_csv(tmp_path / "leads.csv", PACK_ABOVE + 1)
    script = (
        "import os, signal, sys\nfrom salesctl import git\nfrom salesctl.cli.app import run\n"
        + textwrap.dedent(CRASH_POINTS[point])
        + "sys.exit(run(sys.argv[1:]))\n"
    )
    env = dict(os.environ, SALESCTL_STORE=str(store))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    killed = subprocess.run(
        [sys.executable, "-c", script, "--as", "dana", "lead", "import", str(src), "--pool"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr

    after = cli("--as", "alice", "lead", "add", "--company", "After", "-f", "json")

    assert after.code == 0, after.err
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (store / ".git" / "salesctl" / "journal.json").exists()
    imported = list((store / "pool" / "leads").glob("*/lead.yaml"))
    if point == "after-ref-update":
        assert git(store, "rev-parse", "HEAD~2").strip() == start
        assert len(git(store, "show", "--name-only", "--format=", "HEAD~1").split()) == (
            PACK_ABOVE + 1
        )
        assert len(imported) == PACK_ABOVE + 1
    else:
        assert git(store, "rev-parse", "HEAD~1").strip() == start
        assert imported == []
    fsck(store)


def test_many_paths_read_through_a_listing_give_what_lookups_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past LOOKUP_MAX paths, blob ids come from one ls-tree instead of rev:path each (which
    # inflates and scans the pool's tree once per name); the answers must be the same:
    # missing files, a directory, a symlink, top-level and deep files, odd names.
    from salesctl.ops.collab.gitread import GitReader

    root = seeded(tmp_path / "store")
    deep = root / "teams/east/alice/leads/L-LAST/followups/F-1.yaml"
    deep.parent.mkdir()
    deep.write_text("text: hi\n", encoding="utf-8")
    (root / "pool/leads/L-EDIT/notes é.txt").write_text("é\n", encoding="utf-8")
    os.symlink("lead.yaml", root / "pool/leads/L-EDIT/link.yaml")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "more")  # fmt: skip
    head = git(root, "rev-parse", "HEAD").strip()
    paths = [
        "salesctl.yaml", "pool/leads/L-EDIT/lead.yaml", "pool/leads/L-EDIT/notes é.txt",
        "pool/leads/L-EDIT/link.yaml", "pool/leads/L-EDIT", "pool/leads/L-NONE/lead.yaml",
        "teams/east/alice/leads/L-LAST/followups/F-1.yaml", "nowhere/at/all/x.yaml",
    ]  # fmt: skip
    repo, reader = Repo(root), GitReader(root)

    def answers() -> tuple[Any, ...]:
        return (
            repo.paths_in(paths, head),
            reader.blob_ids(head, paths),
            reader.files_at(head, paths),
        )

    by_name = answers()
    monkeypatch.setattr("salesctl.git_trees.LOOKUP_MAX", 0)
    monkeypatch.setattr("salesctl.ops.collab.gitread.LOOKUP_MAX", 0)
    listed = answers()
    assert listed == by_name
    ids = by_name[0]
    assert ids["pool/leads/L-EDIT"] is None and ids["pool/leads/L-NONE/lead.yaml"] is None
    assert ids["pool/leads/L-EDIT/link.yaml"] is not None  # a symlink is a blob to git
    assert by_name[2]["teams/east/alice/leads/L-LAST/followups/F-1.yaml"] == b"text: hi\n"
    assert by_name[2]["pool/leads/L-EDIT/notes é.txt"] == "é\n".encode()
