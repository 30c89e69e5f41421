"""bench/generate.py: deterministic stores, exact counts, and every record file valid.

Checks both a small generated store with git history and the bundled sample in ``records/``.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from salesctl import yamlio
from salesctl.model import values
from salesctl.model.config import Config, parse_config
from salesctl.store.layout import RecordPath, parse_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "records"
TODAY = dt.date(2026, 11, 27)
SMALL = [
    "--leads",
    "120",
    "--customers",
    "30",
    "--deals",
    "16",
    "--contracts",
    "8",
    "--followups",
    "150",
    "--members",
    "12",
    "--teams",
    "3",
    "--commits",
    "60",
    "--seed",
    "7",
]


def load_generator() -> ModuleType:
    """Import bench/generate.py (bench/ is not a package)."""
    name = "salesctl_bench_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def store_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same small store with history, generated twice from the same seed."""
    gen = load_generator()
    first, second = tmp_path_factory.mktemp("a") / "store", tmp_path_factory.mktemp("b") / "store"
    for out in (first, second):
        assert gen.main([*SMALL, str(out)]) == 0
    return first, second


def test_same_seed_gives_the_same_commits_and_files(twice: tuple[Path, Path]) -> None:
    first, second = twice
    assert git(first, "rev-parse", "HEAD") == git(second, "rev-parse", "HEAD")
    assert store_files(first) == store_files(second)


def test_counts_are_what_was_asked(twice: tuple[Path, Path]) -> None:
    store = twice[0]
    kinds: dict[str, int] = defaultdict(int)
    for rel in store_files(store):
        parsed = parse_path(rel)
        if parsed:
            kinds[parsed.kind.name] += 1
    assert (kinds["lead"], kinds["customer"], kinds["deal"]) == (120, 30, 16)
    assert (kinds["contract"], kinds["followup"]) == (8, 150)
    assert git(store, "rev-list", "--count", "HEAD").strip() == "60"


def test_working_tree_is_exactly_head(twice: tuple[Path, Path]) -> None:
    store = twice[0]
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    assert sorted(git(store, "ls-files").split()) == sorted(store_files(store))
    assert git(store, "config", "core.commitGraph").strip() == "true"
    assert (store / ".git" / "objects" / "info" / "commit-graph").exists()


def test_commits_carry_actor_and_trailers(twice: tuple[Path, Path]) -> None:
    store = twice[0]
    config, _ = parse_config(yamlio.load_file(str(store / "salesctl.yaml")))
    emails = {m.email for m in config.members.values()}
    log = git(store, "log", "--format=%ae%x00%ce%x00%at%x00%B%x01").split("\x01")
    entries = [e.strip("\n").split("\x00") for e in log if e.strip()]
    assert len(entries) == 60
    dates = [int(e[2]) for e in entries]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    for author, committer, _, body in entries:
        assert author == committer and author in emails
        lines = body.splitlines()
        assert lines[1] == "" and lines[2].startswith("Salesctl-Action: ")
        assert lines[0].startswith(lines[2].removeprefix("Salesctl-Action: ") + ":")
    assert sum("Salesctl-Record: L-" in e[3] for e in entries) > 10


@pytest.mark.parametrize("commits", ["3", "400"])
def test_any_commit_budget_is_met_exactly(tmp_path: Path, commits: str) -> None:
    """Fewer commits than kinds of action (mixed batches), or more than events (note edits)."""
    out = tmp_path / "store"
    args = [
        "--leads",
        "20",
        "--customers",
        "6",
        "--contracts",
        "2",
        "--followups",
        "20",
        "--members",
        "8",
        "--teams",
        "2",
        "--commits",
        commits,
        str(out),
    ]
    assert load_generator().main(args) == 0
    assert git(out, "rev-list", "--count", "HEAD").strip() == commits
    assert git(out, "status", "--porcelain") == ""
    assert check_store(out) == []


def test_generated_records_are_valid(twice: tuple[Path, Path]) -> None:
    assert check_store(twice[0]) == []


def test_bundled_sample_is_valid_and_curated() -> None:
    assert (SAMPLE / "salesctl.yaml").exists(), "run: python bench/generate.py --sample records"
    assert not (SAMPLE / ".git").exists()
    assert check_store(SAMPLE) == []
    config, _ = parse_config(yamlio.load_file(str(SAMPLE / "salesctl.yaml")))
    roles = [m.role for m in config.members.values()]
    assert {"director", "finance", "service", "lead", "rep"} <= set(roles)
    assert sum(not m.active for m in config.members.values()) == 2
    records = [parse_path(rel) for rel in store_files(SAMPLE)]
    leads = [r for r in records if r and r.kind.name == "lead"]
    assert len(leads) == 300 and any(r.owner.is_pool for r in leads)
    assert any(r and r.path.startswith("members/") for r in records)
    assert any(r and r.kind.name == "okr" and r.owner.company for r in records)


def salesctl(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salesctl", "--store", str(store), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("which", ["generated", "sample"])
def test_salesctl_check_passes(twice: tuple[Path, Path], which: str) -> None:
    """The product's own validator agrees (schemas, references, paths, config)."""
    result = salesctl(twice[0] if which == "generated" else SAMPLE, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_commit_is_within_its_authors_write_scope(twice: tuple[Path, Path]) -> None:
    store = twice[0]
    first = git(store, "rev-list", "--max-parents=0", "HEAD").strip()
    result = salesctl(store, "check", "--range", f"{first}..HEAD")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_writes_what_the_model_reads() -> None:
    """The files come from yamlio.dumps itself; no second YAML writer to keep in step."""
    gen = load_generator()
    record = gen.Record(gen.KINDS["payment"], "P-0000000000AB")
    record.data = {
        "author": "chenjing",
        "amount": Decimal("12.50"),
        "contract": "K-0000000000AB",
        "date": dt.date(2026, 1, 2),
    }
    assert (
        gen.render(record)
        == yamlio.dumps(
            {
                "schema_version": 1,
                "contract": "K-0000000000AB",
                "date": dt.date(2026, 1, 2),
                "amount": Decimal("12.50"),
                "author": "chenjing",
            }
        ).encode()
    )


# ---------------------------------------------------------------------------------------------
# The store checker used above
# ---------------------------------------------------------------------------------------------


def check_store(root: Path) -> list[str]:
    """Every problem found in a store: schema, canonical form, paths, references, amounts."""
    config, found = parse_config(yamlio.load_file(str(root / "salesctl.yaml")))
    problems = [str(p) for p in found]
    records: dict[str, tuple[RecordPath, dict[str, Any]]] = {}
    for rel, raw in store_files(root).items():
        if rel == "salesctl.yaml" or rel.startswith("examples/"):
            continue  # examples/: files the README tour uses (expo.csv), not records
        parsed = parse_path(rel)
        if parsed is None:
            problems.append(f"{rel}: not a record path")
            continue
        loaded = yamlio.loads(raw, source=rel)
        data, found = parsed.kind.normalise(loaded, rel)
        problems += [str(p) for p in found]
        if values.to_json(data) != values.to_json(loaded) or yamlio.dumps(data).encode() != raw:
            problems.append(f"{rel}: not in canonical form")
        records[parsed.id] = (parsed, data)
    for parsed, data in records.values():
        problems += [f"{parsed.path}: {p}" for p in check_record(parsed, data, records, config)]
    return problems


def check_record(
    parsed: RecordPath,
    data: dict[str, Any],
    records: dict[str, tuple[RecordPath, dict[str, Any]]],
    config: Config,
) -> list[str]:
    """What one record gets wrong about its owner, stages, dates, links and amounts."""
    problems = []
    owner = parsed.owner
    if owner.member and (
        owner.member not in config.members or config.members[owner.member].team != owner.team
    ):
        problems.append(f"owner {owner.member} of team {owner.team} is not in the config")
    for key in ("created",):
        if key in data and not data[key] < TODAY:
            problems.append(f"{key} {data[key]} is not before {TODAY}")
    kind = parsed.kind.name
    stages = {"lead": config.lead_stages, "deal": tuple(s.id for s in config.deal_stages)}.get(kind)
    if stages:
        entered = data.get("stages", {})
        if data["stage"] not in stages or list(entered)[-1] != data["stage"]:
            problems.append(f"stage {data['stage']} does not match stages {entered}")
        if not set(entered) <= set(stages) or list(entered.values()) != sorted(entered.values()):
            problems.append(f"stages {entered} out of order")
        if min(entered.values()) != data["created"]:
            problems.append("first stage not entered on the created date")
    linked = {"lead": ("customer", "lead"), "customer": ("lead", "customer")}.get(kind)
    if linked and data.get(linked[0]):
        other = records.get(data[linked[0]])
        if other is None or other[1].get(linked[1]) != parsed.id:
            problems.append(f"{linked[0]} {data[linked[0]]} does not point back")
    if parsed.parent:
        parent_field = {"payment": "contract", "invoice": "contract", "note": "competitor"}.get(
            kind, "record"
        )
        if data.get(parent_field) != parsed.parent:
            problems.append(f"{parent_field} is not the record it sits under")
    for person in [data.get("author"), data.get("assignee"), *data.get("mentions", [])]:
        if person is not None and person not in config.members:
            problems.append(f"unknown member {person}")
    if kind == "deal" and data["stage"] == "lost" and not (data.get("lost_to") and data["reason"]):
        problems.append("lost deal without lost_to and reason")
    if kind == "contract":
        problems += check_money(parsed, data, records)
    return problems


def check_money(
    parsed: RecordPath,
    data: dict[str, Any],
    records: dict[str, tuple[RecordPath, dict[str, Any]]],
) -> list[str]:
    problems = []
    amount = data["amount"]
    if sum((row["amount"] for row in data.get("plan", [])), Decimal(0)) != amount:
        problems.append("plan does not sum to the amount")
    for kind in ("payment", "invoice"):
        total = sum(
            (
                d["amount"]
                for p, d in records.values()
                if p.kind.name == kind and p.parent == parsed.id
            ),
            Decimal(0),
        )
        if total > amount:
            problems.append(f"{kind}s {total} exceed the amount {amount}")
    return problems
