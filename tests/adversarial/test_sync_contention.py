"""``salesctl sync`` under contention: many clones of one bare remote, each a separate OS
process adding leads as its own rep and syncing after every change, all at once; and two
syncs racing in the same clone.

The harness is bench/sync_contention.py (which runs the issue's full 20 clones x 50 changes);
here it runs 20 clones x 3 changes so CI stays well under a minute.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from conftest import ROOT, git, salesctl_subprocess


def harness() -> ModuleType:
    name = "bench_sync_contention"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "sync_contention.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_twenty_clones_syncing_after_every_change_lose_nothing_and_never_fail(
    tmp_path: Path,
) -> None:
    clones, changes = 20, 3
    figures = harness().run_contention(tmp_path, clones=clones, changes=changes)
    assert figures["crashed_workers"] == []
    assert figures["syncs"] == clones * changes and figures["failed_adds"] == 0
    assert figures["failed_syncs"] == 0, figures["failure_samples"]
    assert figures["lost_changes"] == 0 and figures["check_ok"], figures["check_output"]

    # the remote itself: one commit per change, by its rep, and every lead file there
    remote = tmp_path / "remote.git"
    authors = git(remote, "log", "--format=%ae", "main").split()
    assert len(authors) == 1 + clones * changes
    for n in range(1, clones + 1):
        assert authors.count(f"r{n:02d}@acme.example") == changes
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert sum(f.endswith("/lead.yaml") for f in files) == clones * changes
    # every clone ends with its own commits on the remote: none is left waiting
    for n in range(1, clones + 1):
        clone_dir = tmp_path / f"r{n:02d}"
        waiting = git(clone_dir, "rev-list", "--count", "HEAD", "--not", "--remotes")
        assert waiting.strip() == "0"


def test_clones_racing_through_the_pre_receive_hook_never_fail(tmp_path: Path) -> None:
    """With the hook installed, pushes that lost the race are refused at once in the words
    sync retries on, and the audits run one at a time instead of starving each other."""
    clones, changes = 8, 2
    figures = harness().run_contention(tmp_path, clones=clones, changes=changes, hook=True)
    assert figures["crashed_workers"] == []
    assert figures["failed_syncs"] == 0, figures["failure_samples"]
    assert figures["lost_changes"] == 0 and figures["check_ok"], figures["check_output"]


def test_a_push_overtaken_while_judged_is_refused_as_a_race(tmp_path: Path) -> None:
    from salesctl.ops.collab.gitread import GitReader
    from salesctl.ops.collab.hooks import RefUpdate, overtaken

    bench = harness()
    remote = bench.make_remote(tmp_path, 1, hook=False)
    reader = GitReader(remote)
    tip = git(remote, "rev-parse", "main").strip()
    assert overtaken(reader, RefUpdate(tip, "f" * 40, "refs/heads/main")) == ""
    stale = overtaken(reader, RefUpdate("e" * 40, "f" * 40, "refs/heads/main"))
    assert "(fetch first)" in stale  # what `salesctl sync` treats as a race to retry
    assert overtaken(reader, RefUpdate("0" * 40, "f" * 40, "refs/heads/new")) == ""
    assert "(fetch first)" in overtaken(reader, RefUpdate("0" * 40, "f" * 40, "refs/heads/main"))


def test_two_syncs_in_the_same_clone_at_once_both_succeed(tmp_path: Path) -> None:
    bench = harness()
    remote = bench.make_remote(tmp_path, 2, hook=False)
    mine = bench.clone(remote, tmp_path / "mine", "r01")
    other = bench.clone(remote, tmp_path / "other", "r02")
    for i in range(3):
        for clone_dir, rep in ((mine, "r01"), (other, "r02")):
            added = salesctl_subprocess(
                "--store", str(clone_dir), "--as", rep, "lead", "add", "--company", f"{rep} {i}"
            )
            assert added.returncode == 0, added.stderr
    assert salesctl_subprocess("--store", str(other), "--as", "r02", "sync").returncode == 0

    env_args = ["--store", str(mine), "--as", "r01", "sync", "-f", "json"]
    racing = [
        subprocess.Popen(
            [sys.executable, "-m", "salesctl", *env_args],
            env=bench.child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes: list[Any] = [(p.wait(timeout=120), *p.communicate()) for p in racing]
    assert [code for code, _out, _err in outcomes] == [0, 0], [err for *_, err in outcomes]
    # the clone's lock made them take turns: one pushed all three commits, the other none
    pushed = sorted(bench.json.loads(out)["pushed"] for _code, out, _err in outcomes)
    assert pushed == [0, 3]
    assert git(remote, "rev-parse", "main") == git(mine, "rev-parse", "HEAD")
    assert git(remote, "rev-list", "--count", "main").strip() == "7"
    assert not (mine / ".git" / "rebase-merge").exists()
    assert git(mine, "status", "--porcelain", "--untracked-files=no") == ""
