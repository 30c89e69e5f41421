#!/usr/bin/env python3
"""Time an encrypted store next to the same store plain, in one run.

    python bench/run.py /tmp/big100k --encryption --runs 5 --write docs/performance.md
    python bench/encryption.py /tmp/big100k --runs 5 --write docs/performance.md  # the same

Makes two scratch clones of the generated store: one stays plain; the other is turned into
an encrypted store by ``salesctl encrypt --demo-keys`` (one commit, timed too: an age
identity for every member and the recovery key). Then the same commands run on both, each
actor with their own identity (``$SALESCTL_IDENTITY``): a cold index build as a rep and as
the director, warm reads, and writes. Each ratio is encrypted / plain, next to the issue's
target: warm reads ≤ 1.1×, writes ≤ 1.2×, the cold build ≤ 2×. Each run times the plain command
and the encrypted one back to back (in turns, which goes first), so a busy moment of a shared
machine lands on both; the ratio is the median of those pairs' ratios.

``--keep DIR`` keeps the two clones and the keys in DIR, and a later run given the same DIR
measures them again without cloning and encrypting (the encryption's time is remembered).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import Bench

MARK = "bench/encryption.py"


def copy_store(source: Path, target: Path) -> Path:
    """A clone sharing the source's objects (``--shared``: nothing copied but the work
    tree), so the run's commits land in the clone and the source stays as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--shared", str(source), str(target)], check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("store", type=Path, help="a generated store (left untouched)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", type=Path, help="write the results into this Markdown file")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the clones and keys here")
    args = parser.parse_args()
    run_encryption(args.store, args.runs, args.write, args.keep)


def run_encryption(store: Path, runs: int, write: Path | None, keep: Path | None) -> None:
    """The whole run (``bench/run.py STORE --encryption`` comes here too)."""
    source = store.resolve()
    work = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix="salesctl-enc-"))
    plain, sealed, keys = work / "plain", work / "sealed", work / "keys"
    took = work / "encrypt-seconds.txt"
    reuse = took.exists() and plain.exists() and sealed.exists()
    if not reuse:
        print(f"cloning {source} twice ...", flush=True)
        copy_store(source, plain)
        copy_store(source, sealed)
    from salesctl import yamlio
    from salesctl.model.config import parse_config

    config = parse_config(yamlio.load_file(str(plain / "salesctl.yaml")))[0]
    members = list(config.members.values())
    director = next(m.id for m in members if m.role == "director")
    reps = sorted((m for m in members if m.role == "rep" and m.active), key=lambda m: m.id)
    rep, team = reps[-1].id, str(reps[-1].team)
    lead = next(m.id for m in members if m.role == "lead" and m.team == team)
    finance = next((m.id for m in members if m.role == "finance"), director)

    if reuse:
        encrypt_seconds = float(took.read_text())
    else:
        encrypt_seconds = encrypt(sealed, keys, director)
        took.write_text(f"{encrypt_seconds:.1f}\n")
    figures = measure(Bench(plain, runs), plain, sealed, keys, rep, team, lead, director, finance)
    lines = table(figures, encrypt_seconds, runs, source)
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        write_results(write, text)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


def encrypt(sealed: Path, keys: Path, director: str) -> float:
    """``salesctl encrypt --demo-keys`` of the whole clone, as the director: its seconds."""
    print("encrypting ...", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "salesctl",
            "--store",
            str(sealed),
            "--as",
            director,
            "encrypt",
            "--demo-keys",
            str(keys),
            "-f",
            "json",
        ],
        capture_output=True,
        env=_env(sealed, keys / f"{director}.txt"),
    )
    if done.returncode:
        raise SystemExit(done.stderr.decode())
    seconds = time.perf_counter() - start
    print(f"  encrypt: {seconds:.1f} s, {json.loads(done.stdout)['sealed_dirs']} dirs")
    return seconds


def _env(store: Path, identity: Path | None) -> dict[str, str]:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root), SALESCTL_STORE=str(store))
    for name in ("SALESCTL_NOW", "SALESCTL_USER", "SALESCTL_IDENTITY"):
        env.pop(name, None)
    if identity is not None:
        env["SALESCTL_IDENTITY"] = str(identity)
    return env


Figure = tuple[float, float, float]  # plain median, encrypted median, median of the pairs' ratios


def measure(
    b: Bench,
    plain: Path,
    sealed: Path,
    keys: Path,
    rep: str,
    team: str,
    lead: str,
    director: str,
    finance: str,
) -> dict[str, Figure]:
    sc = [sys.executable, "-m", "salesctl"]
    out: dict[str, Figure] = {}

    def env(store: Path, who: str) -> dict[str, str]:
        return _env(store, keys / f"{who}.txt")

    def pairs(
        name: str,
        who: str,
        words: Callable[[int], list[str]],
        runs: int,
        before: Callable[[Path], None] | None = None,
    ) -> None:
        times: dict[Path, list[float]] = {plain: [], sealed: []}
        ratios = []
        for i in range(runs):
            for store in (plain, sealed) if i % 2 == 0 else (sealed, plain):
                if before:
                    before(store)
                times[store].append(b.once([*sc, "--as", who, *words(i)], env(store, who))[0])
            ratios.append(times[sealed][-1] / times[plain][-1])
        out[name] = (median(times[plain]), median(times[sealed]), median(ratios))
        print(
            f"  {name:28s} {out[name][0]:8.3f} {out[name][1]:8.3f} {out[name][2]:6.2f}x", flush=True
        )

    def drop_indexes(store: Path) -> None:
        for index in (store / ".git" / "salesctl").glob("index*.sqlite"):
            index.unlink()

    mine = ["lead", "list", "--owner", rep, "-f", "json"]
    for who in (rep, director):
        name = f"cold build as {'the director' if who == director else 'a rep'}"
        pairs(name, who, lambda _i: mine, min(b.runs, 3), drop_indexes)
        for store in (plain, sealed):
            b.once([*sc, "--as", who, *mine], env(store, who))  # warm for what follows
    # the leads both stores have (a kept pair's earlier runs added different ones to each)
    listed = [
        [r["id"] for r in json.loads(b.once([*sc, "--as", rep, *mine], env(store, rep))[2])]
        for store in (plain, sealed)
    ]
    ids = [i for i in listed[0] if i in set(listed[1])]
    reads = [
        ("lead show", rep, ["lead", "show", ids[0][:8], "-f", "json"]),
        ("lead list --owner X", rep, mine),
        ("pipeline", director, ["pipeline", "-f", "json"]),
        ("receivables", finance, ["receivables", "-f", "json"]),
        ("report weekly --team T", director, ["report", "weekly", "--team", team, "-f", "json"]),
    ]
    for name, who, words in reads:
        for store in (plain, sealed):
            b.once([*sc, "--as", who, *words], env(store, who))
        pairs(name, who, _always(words), b.runs)
    for store in (plain, sealed):  # every writer's index warm (one per identity if sealed)
        b.once([*sc, "--as", lead, *mine], env(store, lead))
    stamp = time.time()
    writes: list[tuple[str, str, Callable[[int], list[str]]]] = [
        ("lead add", rep, lambda i: ["lead", "add", "--company", f"Bench Co {stamp} {i}"]),
        ("followup add", rep, lambda i: ["followup", "add", ids[1][:10], "--text", f"call {i}"]),
        (
            "lead assign",
            lead,
            lambda i: ["lead", "assign", ids[2 + i], "--to", rep if i % 2 else lead],
        ),
    ]
    for name, who, make in writes:
        pairs(name, who, make, b.runs)
    return out


def _always(words: list[str]) -> Callable[[int], list[str]]:
    return lambda _i: words


def write_results(path: Path, text: str) -> None:
    """Put ``text`` between this script's markers in ``path`` (added at its end the first
    time, under a heading of their own)."""
    start, end = f"<!-- {MARK} results: start -->", f"<!-- {MARK} results: end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        path.write_text(f"{head}{start}\n{text}{end}{rest.split(end, 1)[1]}", encoding="utf-8")
    else:
        heading = "\n## Encrypted stores (`encryption: age`)\n\n"
        path.write_text(f"{old.rstrip()}\n{heading}{start}\n{text}{end}\n", encoding="utf-8")


TARGETS = {"cold": 2.0, "read": 1.1, "write": 1.2}


def table(figures: dict[str, Figure], encrypt_seconds: float, runs: int, source: Path) -> list[str]:
    load = os.getloadavg()[0]
    lines = [
        f"Generated by `python bench/run.py {source} --encryption --runs {runs}` on "
        f"{time.strftime('%Y-%m-%d')}; `salesctl encrypt` of the whole store took "
        f"{encrypt_seconds:.0f} s. Medians of {runs} runs (3 for the cold builds), each run "
        f"the plain and the encrypted command back to back; the ratio is the median of "
        f"those pairs' ratios. Load average at the end: {load:.1f} on {os.cpu_count()} cores.",
        "",
        "| command | plain s | encrypted s | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, (plain, sealed, ratio) in figures.items():
        kind = (
            "cold"
            if name.startswith("cold")
            else ("write" if name in ("lead add", "followup add", "lead assign") else "read")
        )
        met = "yes" if ratio <= TARGETS[kind] else "**no**"
        lines.append(
            f"| {name} | {plain:.3f} | {sealed:.3f} | {ratio:.2f}× | ≤ {TARGETS[kind]}× | {met} |"
        )
    return lines


if __name__ == "__main__":
    main()
