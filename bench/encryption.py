#!/usr/bin/env python3
"""Time an encrypted store next to the same store plain, in one run.

    python bench/encryption.py /tmp/big100k --runs 5 --write docs/performance.md

Makes two scratch clones of the generated store: one stays plain; the other is turned into
an encrypted store by ``salesctl encrypt --demo-keys`` (one commit, timed too: an age
identity for every member and the recovery key). Then the same commands run on both, each
actor with their own identity (``$SALESCTL_IDENTITY``): a cold index build as a rep and as
the director, warm reads, and writes. Each ratio is encrypted / plain, next to the issue's
target: warm reads ≤ 1.1×, writes ≤ 1.2×, the cold build ≤ 2×. Median of ``--runs``; the machine is
shared, so compare ratios, not seconds.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import Bench

MARK = "bench/encryption.py"


def copy_store(source: Path, name: str) -> Path:
    """A clone sharing the source's objects (``--shared``: nothing copied but the work
    tree), so the run's commits land in the clone and the source stays as it was."""
    target = Path(tempfile.mkdtemp(prefix=f"salesctl-{name}-")) / "store"
    subprocess.run(["git", "clone", "-q", "--shared", str(source), str(target)], check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("store", type=Path, help="a generated store (left untouched)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", type=Path, help="write the results into this Markdown file")
    args = parser.parse_args()
    source = args.store.resolve()
    print(f"cloning {source} twice ...", flush=True)
    plain = copy_store(source, "plain")
    sealed = copy_store(source, "sealed")
    keys = sealed.parent / "keys"
    from salesctl import yamlio
    from salesctl.model.config import parse_config

    config = parse_config(yamlio.load_file(str(plain / "salesctl.yaml")))[0]
    members = list(config.members.values())
    director = next(m.id for m in members if m.role == "director")
    reps = sorted((m for m in members if m.role == "rep" and m.active), key=lambda m: m.id)
    rep, team = reps[-1].id, str(reps[-1].team)
    lead = next(m.id for m in members if m.role == "lead" and m.team == team)
    finance = next((m.id for m in members if m.role == "finance"), director)

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
    encrypt_seconds = time.perf_counter() - start
    print(f"  encrypt: {encrypt_seconds:.1f} s, {json.loads(done.stdout)['sealed_dirs']} dirs")

    figures: dict[str, dict[str, float]] = {}
    for label, store in (("plain", plain), ("encrypted", sealed)):
        b = Bench(store, args.runs)
        figures[label] = measure(b, store, keys, rep, team, lead, director, finance)
    lines = table(figures, encrypt_seconds, args.runs, source)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_results(args.write, text)
    for path in (plain.parent, sealed.parent):
        shutil.rmtree(path, ignore_errors=True)


def _env(store: Path, identity: Path | None) -> dict[str, str]:
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root), SALESCTL_STORE=str(store))
    for name in ("SALESCTL_NOW", "SALESCTL_USER", "SALESCTL_IDENTITY"):
        env.pop(name, None)
    if identity is not None:
        env["SALESCTL_IDENTITY"] = str(identity)
    return env


def measure(
    b: Bench, store: Path, keys: Path, rep: str, team: str, lead: str, director: str, finance: str
) -> dict[str, float]:
    sc = [sys.executable, "-m", "salesctl"]
    out: dict[str, float] = {}

    def env(who: str) -> dict[str, str]:
        return _env(store, keys / f"{who}.txt")

    def drop_indexes(_: int) -> None:
        for index in (store / ".git" / "salesctl").glob("index*.sqlite"):
            index.unlink()

    for who in (rep, director):
        cold = [*sc, "--as", who, "lead", "list", "--owner", rep, "-f", "json"]
        runs, b.runs = b.runs, min(b.runs, 3)
        out[f"cold build as {'the director' if who == director else 'a rep'}"] = b.median(
            lambda _i, c=cold: c, env(who), drop_indexes
        )[0]
        b.runs = runs
        b.once(cold, env(who))  # warm for what follows
    mine = json.loads(
        b.once([*sc, "--as", rep, "lead", "list", "--owner", rep, "-f", "json"], env(rep))[2]
    )
    ids = [r["id"] for r in mine]
    reads = [
        ("lead show", rep, ["lead", "show", ids[0][:8], "-f", "json"]),
        ("lead list --owner X", rep, ["lead", "list", "--owner", rep, "-f", "json"]),
        ("pipeline", director, ["pipeline", "-f", "json"]),
        ("receivables", finance, ["receivables", "-f", "json"]),
        ("report weekly --team T", director, ["report", "weekly", "--team", team, "-f", "json"]),
    ]
    for name, who, words in reads:
        b.once([*sc, "--as", who, *words], env(who))
        out[name] = b.median(lambda _i, w=words, m=who: [*sc, "--as", m, *w], env(who))[0]
    stamp = time.time()
    writes = [
        ("lead add", rep, lambda i: ["lead", "add", "--company", f"Bench Co {stamp} {i}"]),
        ("followup add", rep, lambda i: ["followup", "add", ids[1][:10], "--text", f"call {i}"]),
        (
            "lead assign",
            lead,
            lambda i: ["lead", "assign", ids[2 + i], "--to", rep if i % 2 else lead],
        ),
    ]
    for name, who, words in writes:
        out[name] = b.median(lambda i, w=words, m=who: [*sc, "--as", m, *w(i)], env(who))[0]
    return out


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


def table(
    figures: dict[str, dict[str, float]], encrypt_seconds: float, runs: int, source: Path
) -> list[str]:
    plain, sealed = figures["plain"], figures["encrypted"]
    lines = [
        f"Generated by `python bench/encryption.py {source} --runs {runs}` on "
        f"{time.strftime('%Y-%m-%d')}; `salesctl encrypt` of the whole store took "
        f"{encrypt_seconds:.0f} s. Median of {runs} runs (3 for the cold builds).",
        "",
        "| command | plain s | encrypted s | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in plain:
        kind = (
            "cold"
            if name.startswith("cold")
            else ("write" if name in ("lead add", "followup add", "lead assign") else "read")
        )
        ratio = sealed[name] / plain[name]
        met = "yes" if ratio <= TARGETS[kind] else "**no**"
        lines.append(
            f"| {name} | {plain[name]:.3f} | {sealed[name]:.3f} | {ratio:.2f}× "
            f"| ≤ {TARGETS[kind]}× | {met} |"
        )
    return lines


if __name__ == "__main__":
    main()
