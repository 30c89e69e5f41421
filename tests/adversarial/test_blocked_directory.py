"""A file where a write needs a directory (``pool/leads`` made a file by hand, committed or
not) is the user's to move: every write says so in one line, before anything is written,
and leaves HEAD, the work tree and salesctl's journal as they were. It was an internal
error (``NotADirectoryError``) that left the journal behind."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.errors import EXIT_INVALID


def state(root: Path) -> tuple[str, str, bool]:
    journal = root / ".git" / "salesctl" / "journal.json"
    return git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain"), journal.exists()


@pytest.mark.parametrize("committed", [False, True])
def test_a_file_where_the_pool_s_leads_should_be_stops_every_write_cleanly(
    store: Path, cli: Any, tmp_path: Path, committed: bool
) -> None:
    added = cli("--as", "alice", "lead", "add", "--company", "Before", "--pool", "-f", "json")
    assert added.code == 0, added.err
    shutil.rmtree(store / "pool" / "leads")
    (store / "pool" / "leads").write_text("not a directory\n")
    if committed:
        git(store, "add", "-A")
        git(store, "-c", "user.email=lee@acme.example", "commit", "-qm", "a file by hand")
    rows = "Company,Name,Email\n" + "".join(
        f"Blocked {n} Co,P {n},p{n}@b{n}.example\n" for n in range(3)
    )
    (tmp_path / "leads.csv").write_text(rows)
    before = state(store)
    for args in (
        ("lead", "import", str(tmp_path / "leads.csv"), "--pool"),
        ("lead", "add", "--company", "Blocked Co", "--pool"),
    ):
        result = cli("--as", "lee", *args)
        assert result.code == EXIT_INVALID, result.out + result.err
        (line,) = result.err.strip().splitlines()
        assert line.startswith("error: pool/leads is a file") and "mv pool/leads" in line
        assert "internal error" not in result.err
        assert state(store) == before
