"""How fast each YAML reader parses a store's record files, and whether the fast ones agree
with the reference: ``python bench/parsers.py STORE [--every 19] [--runs 3]``.

Reads every ``--every``-th record file ``git ls-files`` names (all of them with
``--every 1``) into memory, then times each reader over them (median of ``--runs``) and
prints files per second and the ratio to libyaml's ``CSafeLoader``. Every file that
``yaml_plain.load_plain`` reads is compared with the reference (``yamlio.loads`` with
``plain=False``), type for type; the script fails if one differs, and counts the files it
handed back to the reference.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from salesctl import yaml_plain, yamlio
from salesctl.store.layout import RECORD_ROOTS, parse_path
from salesctl.yaml_plain import load_plain


def timed(parse: Callable[[str], Any], texts: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        yaml_plain._SCALARS.clear()  # each run as the first: no value known from the last
        started = time.perf_counter()
        for text in texts:
            parse(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--every", type=int, default=19, help="read every N-th record file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", *RECORD_ROOTS],
        cwd=args.store,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = [p for p in listed.split("\0") if p and parse_path(p) is not None]
    paths = paths[:: args.every]
    texts = [(args.store / p).read_text(encoding="utf-8") for p in paths]

    handed_back = 0
    for path, text in zip(paths, texts, strict=True):
        ours = load_plain(text)
        if ours is None:
            handed_back += 1
        elif repr(ours) != repr(yamlio.loads(text, plain=False)):
            raise SystemExit(f"load_plain and the reference differ on {path}")
    print(f"{len(texts):,} files; load_plain handed {handed_back:,} to the reference, "
          "and read the rest exactly as it does")  # fmt: skip

    def csafe(text: str) -> Any:
        return yaml.load(text, Loader=yaml.CSafeLoader)

    readers: list[tuple[str, Callable[[str], Any]]] = [
        ("PyYAML CSafeLoader (libyaml)", csafe),
        ("yamlio.loads, plain=False (the reference)", lambda t: yamlio.loads(t, plain=False)),
        ("yaml_plain.load_plain", load_plain),
        ("yamlio.loads (load_plain, then the reference)", yamlio.loads),
    ]
    try:
        import yaml_rs  # type: ignore[import-not-found,unused-ignore]

        readers.append((f"yaml_rs.loads {getattr(yaml_rs, '__version__', '')}", yaml_rs.loads))
    except ImportError:
        pass
    base = None
    print("| reader | files/s | vs CSafeLoader |\n|---|---:|---:|")
    for name, parse in readers:
        seconds = timed(parse, texts, args.runs)
        rate = len(texts) / seconds
        base = base or rate
        print(f"| {name} | {rate:,.0f} | {rate / base:.1f}× |")


if __name__ == "__main__":
    main()
