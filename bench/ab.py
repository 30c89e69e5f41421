#!/usr/bin/env python3
"""A/B: time the same writes with two versions of salesctl on one store, taking turns.

    git clone -q --shared /tmp/big /tmp/big-ab     # the run commits into the store it is given
    python bench/ab.py /tmp/big-ab --base HEAD~1 --runs 5 [--imports 3]

``--base`` and ``--new`` name git revisions of this repository (``.``, the default for
``--new``: the working tree). Each is exported (``git archive``), compiled and run with
``PYTHONPATH``. Per run the two take turns (A B, then B A), each releasing one of a rep's
leads into the pool, claiming it back and adding a lead, after a warm list; ``--imports N``
adds N 10,000-row imports into the pool each. Prints each command's median per version
and their ratio. Noise is shared by both sides; a whole-command table is ``bench/run.py``'s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import MOBILE_PREFIXES, ROOT


def export(rev: str, into: Path) -> Path:
    """salesctl's package as of ``rev`` (``.``: the working tree), compiled, in ``into``."""
    into.mkdir(parents=True)
    if rev == ".":
        subprocess.run(["cp", "-a", str(ROOT / "salesctl"), str(into)], check=True)
    else:
        archive = subprocess.run(
            ["git", "archive", rev, "salesctl"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "salesctl")], check=True)
    return into


def timed(code: Path, store: Path, args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(code), SALESCTL_STORE=str(store))
    for name in ("PYTHONDONTWRITEBYTECODE", "SALESCTL_NOW", "SALESCTL_TRACE"):
        env.pop(name, None)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "salesctl", *args], cwd=store, env=env, capture_output=True
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr.decode()[-500:]}")
    return elapsed


def write_csv(path: Path, n: int) -> None:
    stamp = f"{time.time_ns()}"
    salt = MOBILE_PREFIXES[(time.time_ns() // 1000 + n) % len(MOBILE_PREFIXES)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("Company,Name,Email,Phone,Lead Source\n")
        for i in range(10000):
            fh.write(f"AB {stamp} Co {i},Person {i},p{i}@co{i}-{stamp}.ab.example,"
                     f"+86 1{salt}{i:07d},expo\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--base", required=True, help="revision A")
    parser.add_argument("--new", default=".", help="revision B (default: the working tree)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--imports", type=int, default=0)
    args = parser.parse_args()
    store = args.store.resolve()
    work = Path(tempfile.mkdtemp(prefix="salesctl-ab-"))
    codes = {"A": export(args.base, work / "A"), "B": export(args.new, work / "B")}
    config = (store / "salesctl.yaml").read_text(encoding="utf-8")
    import yaml

    members = yaml.safe_load(config)["members"]
    rep = next(m for m in members if m.get("role") == "rep" and m.get("active", True))
    director = next(m["id"] for m in members if m.get("role") == "director")
    home = store / "teams" / rep["team"] / rep["id"] / "leads"
    leads = sorted(p.name for p in home.iterdir())
    times: dict[tuple[str, str], list[float]] = {}
    as_rep = ["--as", rep["id"]]
    for run in range(args.runs):
        for side in ("A", "B") if run % 2 == 0 else ("B", "A"):
            code, lead = codes[side], leads[2 * run + (side == "B")]
            timed(code, store, [*as_rep, "lead", "list", "--owner", rep["id"], "-f", "json"])
            for name, command in (
                ("lead release", [*as_rep, "lead", "release", lead, "--reason", "a/b"]),
                ("lead claim", [*as_rep, "lead", "claim", lead]),
                ("lead add", [*as_rep, "lead", "add", "--company", f"AB {time.time_ns()}"]),
            ):
                times.setdefault((name, side), []).append(timed(code, store, command))
    for run in range(args.imports):
        for side in ("A", "B") if run % 2 == 0 else ("B", "A"):
            csv = work / f"leads-{side}-{run}.csv"
            write_csv(csv, run)
            command = ["--as", director, "lead", "import", str(csv), "--pool", "-f", "json"]
            times.setdefault(("lead import 10,000 rows", side), []).append(
                timed(codes[side], store, command)
            )
            timed(codes[side], store, ["--as", director, "lead", "list", "--pool", "-f", "json"])
    print(f"A = {args.base}, B = {args.new}; medians of {args.runs} (imports: {args.imports})")
    for name in dict.fromkeys(name for name, _ in times):
        a, b = (statistics.median(times[(name, side)]) for side in ("A", "B"))
        print(f"{name:26} A {a:.3f} s   B {b:.3f} s   B/A {b / a:.2f}")


if __name__ == "__main__":
    main()
