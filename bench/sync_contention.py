#!/usr/bin/env python3
"""Many clones of one bare remote, each syncing after every change, all at once.

    python bench/sync_contention.py --clones 20 --changes 50            # the issue's target
    python bench/sync_contention.py --clones 20 --changes 50 --hook     # with the pre-receive hook

Each clone is its own OS process acting as its own rep: it adds a lead with ``salesctl lead
add`` and runs ``salesctl sync -f json``, ``--changes`` times, with no pause. Reps write
only their own directories, so nothing conflicts for real and every sync must succeed.
Afterwards a fresh clone of the remote must hold every lead (by company name), one commit
per change, and pass ``salesctl check``. ``--hook`` installs salesctl's pre-receive hook on
the remote first; each clone pushes as its rep (``SALESCTL_PUSHER``, as a plain SSH server
would set it). Prints the figures as JSON (``--json``) or as a short report.

tests/adversarial/test_sync_contention.py runs the same harness with a few changes per clone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# One clone's life: change, sync, change, sync ... through salesctl's own entry point
# (in-process, so a run measures sync and not 2 x changes interpreter start-ups).
WORKER = """
import contextlib, io, json, sys, time
from salesctl.cli.app import run
clone, rep, changes, timeout, out = sys.argv[1:6]

def salesctl(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run(["--store", clone, "--as", rep, *args])
    return code, stdout.getvalue(), stderr.getvalue()

with open(out, "w") as log:
    for i in range(int(changes)):
        code, _, err = salesctl("lead", "add", "--company", f"{rep} company {i}")
        row = {"rep": rep, "change": i, "add_code": code, "add_err": err.strip()}
        start = time.monotonic()
        code, text, err = salesctl("sync", "--timeout", timeout, "-f", "json")
        row.update(code=code, seconds=time.monotonic() - start, err=err.strip())
        row["attempts"] = json.loads(text)["attempts"] if code == 0 else None
        log.write(json.dumps(row) + "\\n")
        log.flush()
"""


def rep_id(n: int) -> str:
    return f"r{n:02d}"


def config_text(clones: int) -> str:
    reps = "\n".join(
        f"  - {{id: {rep_id(n)}, name: Rep {n}, email: {rep_id(n)}@acme.example, team: east, "
        "role: rep}"
        for n in range(1, clones + 1)
    )
    return (
        "org: Acme Trading\ncurrency: CNY\ntimezone: Asia/Shanghai\n"
        "teams:\n  - {id: east, name: East region}\n"
        "members:\n  - {id: dana, name: Dana Wu, email: dana@acme.example, role: director}\n"
        "  - {id: lee, name: Lee Chen, email: lee@acme.example, team: east, role: lead}\n"
        f"{reps}\n"
        # every rep owns up to 50 leads in the target run; the pool's cap is for claims
        "pool:\n  reclaim_after_days: 30\n  max_owned_leads: 1000\n"
    )


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env
    ).stdout


def salesctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salesctl", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def make_remote(work: Path, clones: int, *, hook: bool) -> Path:
    """A bare remote holding a store with ``clones`` reps (and the hook if asked)."""
    seed = work / "seed"
    seed.mkdir(parents=True)
    git(seed, "init", "-q", "-b", "main")
    (seed / "salesctl.yaml").write_text(config_text(clones), encoding="utf-8")
    git(seed, "add", "salesctl.yaml")
    git(seed, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm", "c")
    remote = work / "remote.git"
    git(work, "init", "-q", "--bare", "-b", "main", str(remote))
    git(seed, "push", "-q", str(remote), "main")
    if hook:
        installed = salesctl("hook", "install", str(remote), env=child_env())
        if installed.returncode != 0:
            raise SystemExit(f"hook install failed: {installed.stderr.strip()}")
    return remote


def clone(remote: Path, target: Path, who: str) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(target))
    git(target, "config", "user.email", f"{who}@acme.example")
    git(target, "config", "user.name", who)
    return target


def run_contention(
    work: Path, *, clones: int, changes: int, hook: bool = False, timeout: float = 60.0
) -> dict[str, Any]:
    """Run the whole experiment in ``work``; return its figures (see ``summarise``)."""
    remote = make_remote(work, clones, hook=hook)
    reps = [rep_id(n) for n in range(1, clones + 1)]
    dirs = [clone(remote, work / rep, rep) for rep in reps]
    logs = [work / f"{rep}.jsonl" for rep in reps]
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(d), rep, str(changes), str(timeout), str(log)],
            env=child_env({"SALESCTL_PUSHER": rep} if hook else None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d, rep, log in zip(dirs, reps, logs, strict=True)
    ]
    crashes = []
    for worker in workers:
        _, err = worker.communicate()
        if worker.returncode != 0:
            crashes.append(err.strip().splitlines()[-1:] or [str(worker.returncode)])
    wall = time.monotonic() - started
    rows = [
        json.loads(line)
        for log in logs
        if log.exists()
        for line in log.read_text().split("\n")
        if line
    ]
    return summarise(work, remote, reps, changes, rows, wall, crashes)


def summarise(
    work: Path,
    remote: Path,
    reps: list[str],
    changes: int,
    rows: list[dict[str, Any]],
    wall: float,
    crashes: list[Any],
) -> dict[str, Any]:
    """Figures: syncs run and failed (conflicts, time-outs, other), changes lost, commits,
    whether ``check`` passes on a fresh clone, retries, sync latency and wall time."""
    fresh = clone(remote, work / "fresh", "dana")
    env = child_env()
    listed = salesctl("--store", str(fresh), "--as", "dana", "lead", "list", "-f", "json", env=env)
    companies = {row["company"] for row in json.loads(listed.stdout or "[]")}
    expected = {f"{rep} company {i}" for rep in reps for i in range(changes)}
    checked = salesctl("--store", str(fresh), "check", env=env)
    failed = [row for row in rows if row["code"] != 0]
    seconds = sorted(row["seconds"] for row in rows) or [0.0]
    attempts = [row["attempts"] for row in rows if row["attempts"]]
    return {
        "clones": len(reps),
        "changes_per_clone": changes,
        "syncs": len(rows),
        "failed_adds": sum(1 for row in rows if row["add_code"] != 0),
        "failed_syncs": len(failed),
        "conflicts": sum(1 for row in failed if "changed on both sides" in row["err"]),
        "timed_out": sum(1 for row in failed if "kept moving" in row["err"]),
        "failure_samples": sorted({row["err"].splitlines()[0] for row in failed if row["err"]})[:5],
        "lost_changes": len(expected - companies),
        "leads_on_remote": len(companies),
        "commits_on_remote": int(git(remote, "rev-list", "--count", "main").strip()),
        "check_ok": checked.returncode == 0,
        "check_output": (checked.stdout + checked.stderr).strip().splitlines()[-3:],
        "retries": sum(a - 1 for a in attempts),
        "max_attempts": max(attempts, default=0),
        "sync_seconds_median": round(statistics.median(seconds), 3),
        "sync_seconds_p99": round(seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))], 3),
        "sync_seconds_max": round(seconds[-1], 3),
        "wall_seconds": round(wall, 1),
        "crashed_workers": crashes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clones", type=int, default=20)
    parser.add_argument("--changes", type=int, default=50, help="changes (and syncs) per clone")
    parser.add_argument("--hook", action="store_true", help="install the pre-receive hook")
    parser.add_argument("--timeout", type=float, default=60.0, help="each sync's --timeout")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-contention-") as tmp:
        work = args.keep or Path(tmp)
        figures = run_contention(
            work, clones=args.clones, changes=args.changes, hook=args.hook, timeout=args.timeout
        )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:22} {value}")
    ok = not (figures["failed_syncs"] or figures["lost_changes"] or figures["crashed_workers"])
    sys.exit(0 if ok and figures["check_ok"] else 1)


if __name__ == "__main__":
    main()
