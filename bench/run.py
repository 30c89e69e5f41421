#!/usr/bin/env python3
"""Time salesctl's commands on a generated store next to the floors measured in the same run.

    python bench/generate.py --leads 100000 --customers 20000 --contracts 5000 \\
        --followups 200000 --members 100 --commits 50000 /tmp/big
    cp -a /tmp/big /tmp/big-bench        # the run commits into the store it is given
    python bench/run.py /tmp/big-bench --runs 5 --write docs/performance.md

Floors, measured in this run on this machine: ``python -c "import typer, yaml"`` (start-up),
``git add`` + ``git commit`` of one file in the same repository (write), reading every
record file's bytes (I/O) and CSafeLoader over every record file (parse). Each command runs
``--runs`` times; the table shows the median wall time, its ratio to the floor its target is
stated against, whether the target is met, and the peak RSS of any process of the command
(salesctl or the git it runs) over its runs. Warm reads and writes run once per work tree
check (``git config salesctl.worktreeCheck``: ``stat``, the default, stats the files and
directories each command reads; ``none`` trusts commits). The machine is shared and noisy:
medians, not means; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# An imported phone's digits after its leading 1, before its seven last: a mobile prefix
# China allocates (13x, 15x, 18x, 19x; not 154 or 194) and one more digit.
MOBILE_PREFIXES = [f"{p - 100}{d}" for p in range(130, 200) if p // 10 in (13, 15, 18, 19)
                   and p not in (154, 194) for d in range(10)]  # fmt: skip

# Runs a command, then reports its wall time and the largest RSS of it and every process it
# waited for (git included), without the measuring process's own start-up in the figure.
SHIM = """
import json, os, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
with open(sys.argv[1], "w") as fh:
    json.dump({"elapsed": elapsed, "rss": rss, "code": proc.returncode,
               "out": proc.stdout.decode("utf-8", "replace"),
               "err": proc.stderr.decode("utf-8", "replace")[-2000:]}, fh)
"""


@dataclass
class Row:
    family: str
    name: str
    seconds: float
    floor_name: str
    floor: float
    target: float | None  # the ratio the issue asks for (seconds / floor <= target)
    rss: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor if self.floor else float("inf")

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


class Bench:
    def __init__(self, store: Path, runs: int) -> None:
        self.store = store
        self.runs = runs
        self.py = sys.executable
        self.rows: list[Row] = []
        self.report = Path(tempfile.mkdtemp(prefix="salesctl-bench-")) / "result.json"
        # Byte-code as an installed package has it (pip compiles at install): a checkout
        # under PYTHONDONTWRITEBYTECODE would compile every edited module on every run,
        # 60 ms a command that no user pays.
        subprocess.run([self.py, "-m", "compileall", "-q", str(ROOT / "salesctl")], check=True)

    def env(self, check: str | None = None) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path, SALESCTL_STORE=str(self.store))
        for name in ("SALESCTL_NOW", "SALESCTL_USER", "SALESCTL_TRACE", "GIT_CONFIG_COUNT",
                     "PYTHONDONTWRITEBYTECODE"):  # fmt: skip
            env.pop(name, None)
        if check:  # git's own way to set config for one process tree
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="salesctl.worktreeCheck",
                GIT_CONFIG_VALUE_0=check,
            )
        return env

    def once(self, cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
        subprocess.run([self.py, "-c", SHIM, str(self.report), *cmd], cwd=self.store, env=env)
        result = json.loads(self.report.read_text())
        if result["code"] != 0:
            raise SystemExit(f"failed ({result['code']}): {' '.join(cmd)}\n{result['err']}")
        return result["elapsed"], result["rss"], result["out"]

    def median(
        self,
        factory: Callable[[int], list[str]],
        env: dict[str, str],
        before: Callable[[int], None] | None = None,
    ) -> tuple[float, int]:
        times, peak = [], 0
        for i in range(self.runs):
            if before:
                before(i)
            elapsed, rss, _ = self.once(factory(i), env)
            times.append(elapsed)
            peak = max(peak, rss)
        return statistics.median(times), peak

    def add(self, *row: object) -> None:
        self.rows.append(Row(*row))  # type: ignore[arg-type]
        r = self.rows[-1]
        print(
            f"  {r.family:22s} {r.name:34s} {r.seconds:8.3f} s  {r.ratio:6.2f}x {r.floor_name}"
            f"  {({True: 'ok', False: 'MISSED', None: '-'})[r.met]}  {r.rss} MB",
            flush=True,
        )


@dataclass
class Cast:
    """The salesctl command line and who plays which part."""

    sc: list[str]
    rep: str
    team: str
    teammate: str
    team_lead: str
    director: str
    finance: str


def reads_and_writes(
    b: Bench, check: str, c: Cast, mine: list[str], startup: float, write_target: float
) -> list[str]:
    """Warm reads, a read after one file changed, and writes, under one work tree check.
    Returns the rep's leads that are still theirs."""
    env = b.env(check)
    sc = c.sc
    list_mine = [*sc, "--as", c.rep, "lead", "list", "--owner", c.rep, "-f", "json"]
    b.once(list_mine, env)  # settle: the index catches up with the previous family
    family = f"warm read ({check})"
    reads = [
        ("lead show", [*sc, "--as", c.rep, "lead", "show", mine[0][:8], "-f", "json"]),
        ("lead list --owner X", list_mine),
        ("pipeline", [*sc, "--as", c.director, "pipeline", "-f", "json"]),
        ("receivables", [*sc, "--as", c.finance, "receivables", "-f", "json"]),
        ("report weekly --team T",
         [*sc, "--as", c.director, "report", "weekly", "--team", c.team, "-f", "json"]),
    ]  # fmt: skip
    warm: dict[str, float] = {}
    for name, cmd in reads:
        seconds, rss = b.median(lambda i, cmd=cmd: cmd, env)  # type: ignore[misc]
        warm[name] = seconds
        b.add(family, name, seconds, "start-up", startup, 3.0, rss)

    # One record file changes (by hand under stat; by a commit under none: a hand edit is
    # what ``none`` does not look for), then the same read.
    edited = b.store / f"teams/{c.team}/{c.rep}/leads/{mine[1]}/lead.yaml"

    def change_one_file(i: int) -> None:
        with open(edited, "a", encoding="utf-8") as fh:
            fh.write(f"# bench edit {i} {time.time()}\n")
        if check == "none":
            subprocess.run(["git", "commit", "-q", "-am", "edit"], cwd=b.store, check=True)

    seconds, rss = b.median(lambda i: list_mine, env, before=change_one_file)
    b.add(family, "lead list after 1 file changed", seconds, "warm list",
          warm["lead list --owner X"], 1.2, rss)  # fmt: skip
    subprocess.run(["git", "checkout", "-q", "HEAD", "--", str(edited)], cwd=b.store)

    family = f"write ({check})"
    stamp = time.time()
    add = [*sc, "--as", c.rep, "lead", "add", "--company"]
    seconds, rss = b.median(lambda i: [*add, f"Bench {check} {stamp} {i}"], env)
    b.add(family, "lead add", seconds, "start-up+write", write_target, 1.5, rss)
    follow = [*sc, "--as", c.rep, "followup", "add", mine[2][:10], "--text"]
    seconds, rss = b.median(lambda i: [*follow, f"bench {i}"], env)
    b.add(family, "followup add", seconds, "start-up+write", write_target, 1.5, rss)
    moving = mine[3 : 3 + b.runs]
    assign = [*sc, "--as", c.team_lead, "lead", "assign"]
    seconds, rss = b.median(lambda i: [*assign, moving[i][:10], "--to", c.teammate], env)
    b.add(family, "lead assign", seconds, "start-up+write", write_target, 1.5, rss)
    # Writes into the pool's directory, the store's biggest (tens of thousands of leads):
    # each rewrites its tree, and git checks every lead directory in it. Released, then
    # claimed back, so the rep ends as they began.
    pooled = mine[3 + b.runs : 3 + 2 * b.runs]
    release = [*sc, "--as", c.rep, "lead", "release"]
    seconds, rss = b.median(lambda i: [*release, pooled[i][:10], "--reason", "bench"], env)
    b.add(family, "lead release (into the pool)", seconds, "start-up+write", write_target,
          1.5, rss)  # fmt: skip
    claim = [*sc, "--as", c.rep, "lead", "claim"]
    seconds, rss = b.median(lambda i: [*claim, pooled[i][:10]], env)
    b.add(family, "lead claim (from the pool)", seconds, "start-up+write", write_target,
          1.5, rss)  # fmt: skip
    return [m for m in mine if m not in moving]


def cast_of(b: Bench, store: Path) -> Cast:
    """Who plays which part in ``store``: the last active rep (by id), their team, a
    teammate, the team's lead, a director and finance."""
    import yaml

    sys.path.insert(0, str(ROOT))
    from salesctl.model.config import parse_config

    config, _ = parse_config(
        yaml.load((store / "salesctl.yaml").read_text(), Loader=yaml.CSafeLoader)
    )
    members = list(config.members.values())
    director = next(m.id for m in members if m.role == "director")
    finance = next((m.id for m in members if m.role == "finance"), director)
    reps = sorted((m for m in members if m.role == "rep" and m.active), key=lambda m: m.id)
    rep = reps[-1]
    team = rep.team
    teammate = next(m.id for m in reps if m.team == team and m.id != rep.id)
    team_lead = next((m.id for m in members if m.role == "lead" and m.team == team), director)
    sc = [b.py, "-m", "salesctl"]
    return Cast(sc, rep.id, str(team), teammate, team_lead, director, finance)


def lead_through_the_pool(store: Path) -> str:
    """The lead ``history`` is timed on: of the leads still in the store that moved between
    owners and the pool more than once, a release into the pool among the moves, the one
    with the most moves, and of those the one that moved last longest ago (the longest stay
    to read back through). Found once, from the commits' trailers."""
    fields = "%(trailers:key=Salesctl-Action,valueonly,separator=%x2C)%x1f" \
        "%(trailers:key=Salesctl-Record,valueonly,separator=%x20)"  # fmt: skip
    out = subprocess.run(
        ["git", "log", f"--format=%x1e{fields}"], cwd=store, capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    moves: dict[str, list[str]] = {}
    last_moved: dict[str, int] = {}  # position in the log of the lead's newest move
    for age, entry in enumerate(out.split("\x1e")[1:]):
        action, _, records = entry.strip().partition("\x1f")
        if action not in ("lead.claim", "lead.release", "lead.assign"):
            continue
        for record in records.split():
            if record.startswith("L-"):
                moves.setdefault(record, []).append(action)
                last_moved.setdefault(record, age)
    candidates = sorted(
        (lead for lead, done in moves.items() if "lead.release" in done and len(done) > 1),
        key=lambda lead: (len(moves[lead]), last_moved[lead]),
        reverse=True,
    )
    for lead in candidates:
        homes = ("pool/leads", "teams/*/*/leads", "members/*/leads")
        if any(store.glob(f"{home}/{lead}/lead.yaml") for home in homes):
            return lead
    raise SystemExit("no lead in this store was released into the pool and moved again")


def record_files(store: Path) -> list[Path]:
    files = []
    for top in ("pool", "teams", "members", "okrs"):
        for dirpath, _dirs, names in os.walk(store / top):
            files += [Path(dirpath) / n for n in names if n.endswith(".yaml")]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("store", type=Path, nargs="?", help="a generated store (it gets commits)")
    parser.add_argument(
        "--scaling",
        type=Path,
        metavar="DIR",
        help="instead: the reads on stores of 10k, 30k and 100k leads in DIR/leads-N "
        "(generated when missing; bench/scaling.py)",
    )
    parser.add_argument(
        "--encryption",
        action="store_true",
        help="instead: the store plain next to the store encrypted (bench/encryption.py)",
    )
    parser.add_argument("--keep", type=Path, help="with --encryption: keep or reuse the pair")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3, help="runs of the cold build")
    parser.add_argument("--write", type=Path, help="write the results as Markdown here")
    parser.add_argument("--copy", action="store_true", help="work on a scratch copy of the store")
    parser.add_argument(
        "--checks", default="stat,none", help="work tree checks to time reads/writes under"
    )
    args = parser.parse_args()
    if args.scaling is not None:
        from scaling import run_scaling

        run_scaling(args.scaling, args.runs, args.write, Bench, cast_of)
        return
    if args.store is None:
        parser.error("give a store, or --scaling DIR")
    if args.encryption:
        from encryption import run_encryption

        run_encryption(args.store, args.runs, args.write, args.keep)
        return
    store = args.store.resolve()
    if args.copy:
        scratch = Path(tempfile.mkdtemp(prefix="salesctl-bench-")) / "store"
        shutil.copytree(store, scratch, symlinks=True)
        store = scratch
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=store)  # a copy's stat data
    b = Bench(store, args.runs)
    import yaml

    cast = cast_of(b, store)
    from salesctl.store import accelerator

    director = cast.director
    py, sc = b.py, cast.sc
    env = b.env()
    through_pool = lead_through_the_pool(store)
    print(f"store {store}; {args.runs} runs per figure; rep {cast.rep} ({cast.team}); "
          f"history of {through_pool}", flush=True)  # fmt: skip

    # -- floors ---------------------------------------------------------------------------
    startup, _ = b.median(lambda i: [py, "-c", "import typer, yaml"], env)

    def git_commit(i: int) -> list[str]:
        (store / f".bench-floor-{i}.txt").write_text(str(time.time()))
        return ["sh", "-c", f"git add .bench-floor-{i}.txt && git commit -q -m floor-{i}"]

    write_floor, _ = b.median(git_commit, env)
    subprocess.run(["git", "rm", "-q", "-r", "--ignore-unmatch", ".bench-floor-*"], cwd=store)
    subprocess.run(["git", "commit", "-q", "-m", "bench floor cleanup"], cwd=store)

    files = record_files(store)
    read_time = parse_time = 0.0
    size = 0
    for f in files:  # every file, streamed: read, then parse, each timed apart
        t0 = time.perf_counter()
        raw = f.read_bytes()
        t1 = time.perf_counter()
        yaml.load(raw, Loader=yaml.CSafeLoader)
        parse_time += time.perf_counter() - t1
        read_time += t1 - t0
        size += len(raw)
    io_floor, parse_floor = read_time, read_time + parse_time
    print(f"  floors: start-up {startup:.3f} s, write {write_floor:.3f} s, I/O {io_floor:.2f} s,"
          f" parse {parse_floor:.1f} s ({len(files):,} files)", flush=True)  # fmt: skip

    # -- the index, cold ------------------------------------------------------------------
    index_db = store / ".git" / "salesctl" / "index.sqlite"
    list_mine = [*sc, "--as", cast.rep, "lead", "list", "--owner", cast.rep, "-f", "json"]

    def drop_index(_i: int) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{index_db}{suffix}").unlink(missing_ok=True)

    b.runs, runs = min(args.cold_runs, args.runs), b.runs
    cold, cold_rss = b.median(lambda i: list_mine, env, before=drop_index)
    b.runs = runs
    b.add("index", "cold build (+ lead list)", cold, "parse", parse_floor, 0.5, cold_rss)
    if accelerator.accelerator() is not None:  # the row: without the accelerator
        b.runs = min(args.cold_runs, args.runs)
        plain_env = {**env, "SALESCTL_YAML": "pyyaml"}
        cold, cold_rss = b.median(lambda i: list_mine, plain_env, before=drop_index)
        b.runs = runs
        name = "cold build, PyYAML only (+ lead list)"
        b.add("index", name, cold, "parse", parse_floor, 0.5, cold_rss)
    _, _, out = b.once(list_mine, env)
    mine = [r["id"] for r in json.loads(out)]

    # -- warm reads and writes, per work tree check ----------------------------------------
    for check in [c.strip() for c in args.checks.split(",") if c.strip()]:
        mine = reads_and_writes(b, check, cast, mine, startup, startup + write_floor)

    # -- history of a lead that moved through the pool, under the default check -----------
    history = [*sc, "--as", director, "history", through_pool, "-f", "json"]
    # settle, as the reads above do; the first history in a clone also reads git's log once
    # into .git/salesctl/history.sqlite (ops/collab/record_log.py): say what that cost
    first, first_rss, _ = b.once(history, b.env("stat"))
    name = "history, first in a clone (reads git's whole log once)"
    b.add("once per clone", name, first, "parse", parse_floor, None, first_rss)
    seconds, rss = b.median(lambda i: history, b.env("stat"))
    b.add("warm read (stat)", "history (a lead via the pool)", seconds, "0.3 s target", 0.3, 1.0,
          rss)  # fmt: skip

    # -- whole-store commands --------------------------------------------------------------
    env = b.env()
    seconds, rss = b.median(lambda i: [*sc, "check", "-f", "json"], env)
    b.add("whole store", "check (warm)", seconds, "1 s target", 1.0, 1.0, rss)
    seconds, rss = b.median(lambda i: [*sc, "index", "status", "-f", "json"], env)
    name = "index status (whole-store look)"
    b.add("whole store", name, seconds, "parse", parse_floor, None, rss)

    csv_dir = Path(tempfile.mkdtemp())

    def import_cmd(i: int) -> list[str]:
        path = csv_dir / f"leads-{i}.csv"
        stamp = f"{int(time.time())}{i}"
        # phones new to the store and to each run, and real mobile numbers (13x, 15x, 18x,
        # 19x, but not 154 or 194, which are unallocated): an import refuses a number that
        # is not valid in the org's region
        salt = MOBILE_PREFIXES[(int(time.time()) * 7 + i) % len(MOBILE_PREFIXES)]
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("Company,Name,Email,Phone,Lead Source\n")
            for n in range(10000):
                # a mail domain per company: one shared company domain makes every row a duplicate
                fh.write(f"Import {stamp} Co {n},Person {n},p{n}@co{n}-{stamp}.import.example,"
                         f"+86 1{salt}{n:07d},expo\n")  # fmt: skip
        return [*sc, "--as", director, "lead", "import", str(path), "--pool", "-f", "json"]

    times, peak = [], 0
    for i in range(b.runs):
        elapsed, rss, out = b.once(import_cmd(i), env)
        created = len(json.loads(out)["created"])
        if created < 9900:  # a run that skips rows as duplicates measures the wrong thing
            raise SystemExit(f"lead import created only {created} of 10,000 leads")
        times.append(elapsed)
        peak = max(peak, rss)
    seconds = statistics.median(times)
    b.add("whole store", "lead import 10,000 rows", seconds, "3 s target", 3.0, 1.0, peak)

    # -- output ---------------------------------------------------------------------------
    commits = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=store, capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()
    peak = max(r.rss for r in b.rows)
    lines = [
        f"Store: {len(files):,} record files ({size / 2**20:.0f} MB), {commits} commits. "
        f"Median of {args.runs} runs. Machine: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"load average {load[0]:.1f} at the end (a shared machine: figures are noisy). "
        f"YAML parser: {accelerator.parser_name()}.",
        "",
        "| floor | seconds |",
        "|---|---:|",
        f'| start-up: `python -c "import typer, yaml"` | {startup:.3f} |',
        f"| write: `git add` + `git commit` of one file in the store | {write_floor:.3f} |",
        f"| I/O: read every record file's bytes | {io_floor:.2f} |",
        f"| parse: read + CSafeLoader, every record file | {parse_floor:.1f} |",
        "",
        "| family | command | seconds | vs floor | ratio | target | met | peak RSS MB |",
        "|---|---|---:|---|---:|---:|---|---:|",
    ]
    for r in b.rows:
        if r.target is None:
            target, met = "—", "—"
        elif r.floor_name.endswith("s target"):
            target, met = f"≤ {r.floor:g} s", "yes" if r.met else "**no**"
        else:
            target, met = f"≤ {r.target:g}×", "yes" if r.met else "**no**"
        lines.append(
            f"| {r.family} | {r.name} | {r.seconds:.3f} | {r.floor_name} ({r.floor:.3f}) | "
            f"{r.ratio:.2f}× | {target} | {met} | {r.rss} |"
        )
    lines += ["", f"Peak RSS of any process: {peak} MB (target ≤ 250 MB: "
              f"{'met' if peak <= 250 else '**missed**'})."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.write:
        command = " ".join(["python bench/run.py", str(args.store), f"--runs {args.runs}"])
        write_results(
            args.write, f"Generated by `{command}` on {time.strftime('%Y-%m-%d')}.\n\n{text}"
        )


def write_results(path: Path, text: str) -> None:
    """Put ``text`` between the results markers of ``path`` (the prose around them stays),
    or write a page of its own."""
    start, end = "<!-- bench/run.py results: start -->", "<!-- bench/run.py results: end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        path.write_text(f"{head}{start}\n{text}{end}{rest.split(end, 1)[1]}", encoding="utf-8")
    else:
        path.write_text(f"# Performance\n\n{start}\n{text}{end}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
