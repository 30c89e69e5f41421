"""A cold build's tables are the ones the insert triggers make row by row.

A build stores the parse workers' rows batch by batch and fills the side tables (shares,
duplicate keys, the figures' tables) from each batch as it goes; a refresh stores rows one
at a time through the triggers. Whatever the path, the tables must hold the same rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.store import parsing
from salesctl.store.index_schema import COLUMNS, FIGURE_TABLES, INSERT
from salesctl.store.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "records"
SIDE_TABLES = ("shares", "dupkeys", *FIGURE_TABLES)


def tables(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of records (its signature aside) and of each side table, sorted."""
    found = {
        "records": sorted(
            db.execute(
                "SELECT path, id, kind, parent, owner, team, pool, data, problems, shares, keys "
                "FROM records"
            )
        )
    }
    for table in SIDE_TABLES:
        found[table] = sorted(db.execute(f"SELECT * FROM {table}"), key=repr)
    return found


@pytest.fixture
def sample_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE, root)
    # a broken lead and a broken deal: rows with problems, in no figure
    (root / "pool/leads/L-0000000000ZB").mkdir(parents=True)
    (root / "pool/leads/L-0000000000ZB/lead.yaml").write_text("company: [", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "sample")  # fmt: skip
    # the parallel build, in many small batches
    monkeypatch.setattr(parsing, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parsing, "CHUNK", 7)
    monkeypatch.setenv("SALESCTL_INDEX_WORKERS", "2")
    return root


def test_a_cold_build_fills_the_side_tables_as_the_triggers_do(sample_store: Path) -> None:
    index = Store(sample_store).index
    index.refresh()
    db = index.db
    assert db.execute("SELECT value FROM meta WHERE key = 'built'").fetchone() is not None
    built = tables(db)
    assert all(built[table] for table in SIDE_TABLES), [t for t in SIDE_TABLES if not built[t]]

    # the same rows again, one by one through the triggers (a refresh's way)
    rows = list(db.execute(f"SELECT {COLUMNS} FROM records"))
    db.execute("BEGIN")
    db.execute("DELETE FROM records")
    assert not any(db.execute(f"SELECT 1 FROM {table}").fetchone() for table in SIDE_TABLES)
    db.executemany(INSERT, rows)
    db.execute("COMMIT")
    assert tables(db) == built


def test_a_parallel_build_stores_the_rows_in_path_order(sample_store: Path) -> None:
    """As one process stores them: one owner's records sit together in the table."""
    index = Store(sample_store).index
    index.refresh()
    stored = [path for (path,) in index.db.execute("SELECT path FROM records ORDER BY rowid")]
    assert stored == sorted(stored) and len(stored) > 800
