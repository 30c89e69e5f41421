"""The scaling run of ``bench/run.py --scaling DIR``: the same reads on stores of 10,000,
30,000 and 100,000 leads (other kinds in proportion), each command's time per size, and
the ratio between sizes next to what its scope allows.

A store of N leads has N/5 customers, N/20 contracts, 2N follow-ups, N/1,000 members (at
least 16: one rep holds about a thousand leads at every size) and N/2 commits: ``DIR/leads-N``,
generated there with ``bench/generate.py`` when missing (a symlink to a store made before
will do; the run only reads, but its index is built inside the store's ``.git``).

Reads whose scope does not grow with the store (one record, one rep's list) must stay
flat: at most 1.3x from the smallest store to the largest. Team and company figures may
grow at most linearly in the records they cover: the ratio at most the ratio of sizes.
The table and a small SVG chart go between this run's own markers of ``--write``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 30_000, 100_000)
FLAT_LIMIT = 1.3
START = "<!-- bench/run.py scaling: start -->"
END = "<!-- bench/run.py scaling: end -->"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Read:
    name: str
    scope: str  # "flat": does not grow with the store; "linear": grows with it


READS = (
    Read("lead show", "flat"),
    Read("lead list --owner X", "flat"),
    Read("lead list --owner X --where company=…", "flat"),
    Read("pipeline", "linear"),
    Read("receivables", "linear"),
    Read("report weekly --team T", "linear"),
)


def generate_args(leads: int) -> list[str]:
    """``bench/generate.py`` counts for a store of ``leads`` leads, in proportion."""
    counts = {
        "leads": leads,
        "customers": leads // 5,
        "contracts": leads // 20,
        "followups": leads * 2,
        "members": max(16, leads // 1000),
        "commits": leads // 2,
    }
    return [arg for name, n in counts.items() for arg in (f"--{name}", str(n))]


def store_for(directory: Path, leads: int) -> Path:
    store = directory / f"leads-{leads}"
    if not (store / "salesctl.yaml").exists():
        print(f"generating {store} ...", flush=True)
        generator = str(ROOT / "bench" / "generate.py")
        subprocess.run([sys.executable, generator, *generate_args(leads), str(store)], check=True)
    return store


def commands(bench: Any, cast: Any, store: Path) -> dict[str, list[str]]:
    """Each read's command line on one store (its own rep's leads and company)."""
    sc = cast.sc
    mine = [*sc, "--as", cast.rep, "lead", "list", "--owner", cast.rep, "-f", "json"]
    _, _, out = bench.once(mine, bench.env("stat"))
    leads = json.loads(out)
    company = leads[len(leads) // 2]["company"]
    return {
        "lead show": [*sc, "--as", cast.rep, "lead", "show", leads[0]["id"][:8], "-f", "json"],
        "lead list --owner X": mine,
        "lead list --owner X --where company=…": [*mine, "--where", f"company={company}"],
        "pipeline": [*sc, "--as", cast.director, "pipeline", "-f", "json"],
        "receivables": [*sc, "--as", cast.finance, "receivables", "-f", "json"],
        "report weekly --team T": [
            *sc, "--as", cast.director, "report", "weekly", "--team", cast.team, "-f", "json"
        ],
    }  # fmt: skip


def run_scaling(
    directory: Path, runs: int, write: Path | None, bench_cls: Any, cast_of: Any
) -> None:
    """Time every read on every size; print the table; write it and the chart. The sizes
    take turns run by run (a shared machine's load then weighs on each alike)."""
    directory.mkdir(parents=True, exist_ok=True)
    benches, cmds, files = {}, {}, {}
    for leads in SIZES:
        store = store_for(directory, leads).resolve()
        benches[leads] = bench = bench_cls(store, runs)
        cmds[leads] = commands(bench, cast_of(bench, store), store)  # builds a missing index
        listed = subprocess.run(
            ["git", "ls-files", "--", "pool", "teams", "members", "okrs"],
            cwd=store, capture_output=True, text=True,
        )  # fmt: skip
        files[leads] = listed.stdout.count("\n")
    times: dict[str, dict[int, float]] = {r.name: {} for r in READS}
    starts: list[float] = []
    floor = [sys.executable, "-c", "import typer, yaml"]
    for read in READS:
        samples: dict[int, list[float]] = {leads: [] for leads in SIZES}
        for leads in SIZES:  # settle: the index catches up with anything before
            benches[leads].once(cmds[leads][read.name], benches[leads].env("stat"))
        for _ in range(runs):
            for leads in SIZES:
                bench = benches[leads]
                seconds, _rss, _out = bench.once(cmds[leads][read.name], bench.env("stat"))
                samples[leads].append(seconds)
            starts.append(benches[SIZES[0]].once(floor, benches[SIZES[0]].env())[0])
        for leads in SIZES:
            times[read.name][leads] = statistics.median(samples[leads])
        print(
            f"  {read.name:40s} "
            + "  ".join(f"{leads // 1000}k {times[read.name][leads]:.3f} s" for leads in SIZES),
            flush=True,
        )
    text = table(times, statistics.median(starts), runs, files)
    print("\n" + text)
    if write is not None:
        chart_path = write.with_name(write.stem + "-scaling.svg")
        chart_path.write_text(chart(times), encoding="utf-8")
        block = f"{text}\n![time per read and store size]({chart_path.name})\n"
        put_between(write, block)


def table(
    times: dict[str, dict[int, float]], startup: float, runs: int, files: dict[int, int]
) -> str:
    small, big = SIZES[0], SIZES[-1]
    head = " | ".join(f"{s // 1000}k leads" for s in SIZES)
    lines = [
        f"Generated by `python bench/run.py --scaling DIR --runs {runs}` on "
        f"{time.strftime('%Y-%m-%d')}: median of {runs} runs (the sizes taking turns), "
        "`stat` work tree check, "
        f'start-up `python -c "import typer, yaml"` {startup:.3f} s. Record files: '
        + ", ".join(f"{files[s]:,}" for s in SIZES)
        + ".",
        "",
        f"| read | scope | {head} | {SIZES[1] // 1000}k/{small // 1000}k | "
        f"{big // 1000}k/{small // 1000}k | allowed | met |",
        "|---|---|" + "---:|" * (len(SIZES) + 2) + "---:|---|",
    ]
    for read in READS:
        row = times[read.name]
        ratios = [row[s] / row[small] for s in SIZES[1:]]
        limit = FLAT_LIMIT if read.scope == "flat" else big / small
        met = ratios[-1] <= limit
        cells = " | ".join(f"{row[s]:.3f}" for s in SIZES)
        lines.append(
            f"| {read.name} | {read.scope} | {cells} | "
            + " | ".join(f"{r:.2f}×" for r in ratios)
            + f" | ≤ {limit:g}× | {'yes' if met else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def chart(times: dict[str, dict[int, float]], width: int = 640, height: int = 320) -> str:
    """Seconds per read against store size (both axes logarithmic), hand-written SVG."""
    import math

    left, right, top, bottom = 60, 250, 20, 40
    xs = [math.log10(s) for s in SIZES]
    values = [v for row in times.values() for v in row.values()]
    low = math.floor(math.log10(min(values)) * 2) / 2
    high = math.ceil(math.log10(max(values)) * 2) / 2
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(size: int) -> float:
        return left + (math.log10(size) - xs[0]) / (xs[-1] - xs[0]) * plot_w

    def y(seconds: float) -> float:
        return top + (high - math.log10(seconds)) / (high - low) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
    ]
    for size in SIZES:
        out.append(
            f'<text x="{x(size):.1f}" y="{top + plot_h + 15}" text-anchor="middle">'
            f"{size // 1000}k</text>"
        )
    tick = low
    while tick <= high + 1e-9:
        seconds = 10**tick
        out.append(
            f'<line x1="{left - 4}" y1="{y(seconds):.1f}" x2="{left + plot_w}" '
            f'y2="{y(seconds):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(seconds) + 4:.1f}" text-anchor="end">'
            f"{seconds:.2g} s</text>"
        )
        tick += 0.5
    out.append(
        f'<text x="{left + plot_w / 2}" y="{height - 5}" text-anchor="middle">'
        "leads in the store (log scale)</text>"
    )
    for i, (name, row) in enumerate(times.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{x(s):.1f},{y(row[s]):.1f}" for s in SIZES)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for s in SIZES:
            out.append(f'<circle cx="{x(s):.1f}" cy="{y(row[s]):.1f}" r="3" fill="{colour}"/>')
        ly = top + 14 * i + 6
        out.append(
            f'<line x1="{left + plot_w + 15}" y1="{ly}" x2="{left + plot_w + 35}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{left + plot_w + 40}" y="{ly + 4}">{_escape(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def put_between(path: Path, text: str) -> None:
    """Put ``text`` between the scaling markers of ``path`` (appended if it has none)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        new = f"{head}{START}\n{text}{END}{rest.split(END, 1)[1]}"
    else:
        new = f"{old.rstrip()}\n\n{START}\n{text}{END}\n"
    path.write_text(new, encoding="utf-8")
