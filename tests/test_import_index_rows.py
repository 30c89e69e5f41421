"""A big import's rows go into the index straight from the fields it wrote (no reading the
files back), and are what reading the files would give."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from conftest import CONFIG, git, make_store
from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl.model.kinds import LEAD
from salesctl.store import index_refresh, parsing
from salesctl.store.layout import POOL, RecordPath, record_file
from salesctl.store.parsing import Ancestors, plain_copy, row_for, row_of_written
from salesctl.store.store import Store
from salesctl.store.watch import Walk
from salesctl.yamlio import dumps

ROWS = index_refresh.DIRECT_ROWS_MIN + 50


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Company", "First Name", "Last Name", "Email", "Phone", "Status",
                      "Created", "Lead Source", "Tags", "Notes"])  # fmt: skip
        for n in range(rows):
            out.writerow([
                f"广州{n}号科技有限公司" if n % 3 else f'"Quoted" Co: #{n}  ',
                "磊" if n % 2 else "Ann",
                "郭" if n % 2 else f"O'Neil {n}",
                f"p{n}@co{n}.example",
                f"+86 138{n:08d}",
                ("new", "Contacted", "已确认")[n % 3],
                f"2026/0{1 + n % 9}/1{n % 10}",
                "expo" if n % 2 else "",
                "vip" if n % 4 else "",
                f"line one\nline two {n}" if n % 5 == 0 else "",
            ])  # fmt: skip


def stored(root: Path) -> tuple[str | None, list[tuple[Any, ...]], list[tuple[str, str]]]:
    """(HEAD the index reflects, its record rows without signatures, its dupkeys), read
    from the database file as the import left it: no refresh."""
    db = sqlite3.connect(root / ".git" / "salesctl" / "index.sqlite")
    try:
        head = db.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()[0]
        rows = sorted(
            (r[:7] + r[8:])
            for r in db.execute(
                "SELECT path, id, kind, parent, owner, team, pool, sig, data, problems, shares, "
                "keys FROM records"
            )
        )
        keys = sorted(db.execute("SELECT key, path FROM dupkeys"))
    finally:
        db.close()
    return head, rows, keys


def test_a_big_import_is_indexed_from_its_fields_as_reading_its_files_would(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0  # the index exists
    source = tmp_path / "leads.csv"
    write_csv(source, ROWS)
    res = cli("--as", "dana", "lead", "import", str(source), "--pool", "-f", "json")
    assert res.code == 0, res.err
    assert len(res.json()["created"]) == ROWS

    head, rows, keys = stored(store)
    assert head == git(store, "rev-parse", "HEAD").strip()  # no command needs to read them
    walked = sorted(Walk(store))
    truth = sorted(
        r[:7] + r[8:] for batch, _ in parsing.parse_many(str(store), walked) for r in batch
    )
    assert rows == truth
    assert keys == sorted((key, row[0]) for row in truth if row[10] for key in json.loads(row[10]))
    # and the next command reads them as they are
    listed = cli("--as", "dana", "lead", "list", "--pool", "-f", "json")
    assert listed.code == 0 and len(listed.json()) == ROWS


def test_a_small_write_is_left_to_the_next_refresh(store: Path, cli: Any) -> None:
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    before, _, _ = stored(store)
    assert cli("--as", "alice", "lead", "add", "--company", "One Co", "-f", "json").code == 0
    after, _, _ = stored(store)
    assert after == before  # a one-file commit: the next command's `git diff` reads it


TRICKY = ["yes", "012", "1e3", "~", "null", "2026-01-01", "12:30", "a: b", "- x", "#x",
          "'q'", '"', "&a", "*a", "!t", "%x", "---", " pad ", "a\n\n", "\tx", "中文，全角",
          "x\u2028y"]  # fmt: skip
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=30), st.sampled_from(TRICKY)
)
FIELDS = st.fixed_dictionaries(
    {
        "schema_version": st.just(1),
        "company": TEXT,
        "name": TEXT,
        "phone": st.sampled_from(["", "+86 138 0013 8000", "0512-28540015", "12"]),
        "stage": st.sampled_from(["new", "contacted"]),
        "stages": st.fixed_dictionaries({"new": st.dates(dt.date(2000, 1, 1))}),
        "created": st.dates(dt.date(2000, 1, 1)),
        "tags": st.lists(TEXT, max_size=3),
        "notes": TEXT,
    }
)


@settings(max_examples=150, deadline=None)
@given(fields=FIELDS)
def test_fields_that_pass_as_plain_give_the_row_their_file_gives(
    tmp_path_factory: Any, fields: dict[str, Any]
) -> None:
    root = tmp_path_factory.mktemp("store")
    loc = RecordPath(record_file(POOL, LEAD, "L-0000000000AB"), LEAD, "L-0000000000AB", POOL)
    copied = plain_copy(fields)
    if copied is None:
        return  # such fields are read back from the file
    path = root / loc.path
    path.parent.mkdir(parents=True)
    path.write_text(dumps(fields), encoding="utf-8")
    from_file = row_for(str(root), loc, Ancestors(str(root)))
    assert row_of_written(loc, copied, from_file[7], "CN") == from_file


def test_only_plain_shapes_are_copied() -> None:
    assert plain_copy({"a": [1, "x", None, True, dt.date(2026, 1, 1)]}) == {
        "a": [1, "x", None, True, dt.date(2026, 1, 1)]
    }
    for odd in (1.5, dt.datetime(2026, 1, 1), "a\rb", "a\u2028b", {1: "x"}, ("t",)):
        assert plain_copy({"a": odd}) is None
    nested = {"stages": {"new": dt.date(2026, 1, 1)}}
    copied = plain_copy(nested)
    nested["stages"]["new"] = dt.date(2000, 1, 1)  # a change after writing is not seen
    assert copied == {"stages": {"new": dt.date(2026, 1, 1)}}


def test_a_big_import_with_fields_that_must_be_read_back_is_left_to_the_next_command(
    tmp_path: Path, monkeypatch: Any, cli: Any
) -> None:
    budget = "custom_fields:\n  lead:\n    - {name: budget, type: number}\n"
    root = make_store(tmp_path / "custom", CONFIG + budget)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    before, _, _ = stored(root)
    source = tmp_path / "leads.csv"
    with open(source, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["Company", "budget"])
        out.writerows([f"Budget Co {n}", f"{n}.5"] for n in range(ROWS))
    res = cli("--as", "dana", "lead", "import", str(source), "--pool", "-f", "json")
    assert res.code == 0, res.err
    head, _, _ = stored(root)
    assert head == before  # a budget of 1.5 is a decimal: the files are read back instead
    db = sqlite3.connect(root / ".git" / "salesctl" / "index.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key = 'extra'").fetchone()[0] == "[]"
    db.close()
    listed = cli("--as", "dana", "lead", "list", "--pool", "-f", "json")
    assert listed.code == 0 and len(listed.json()) == ROWS
    head, rows, _ = stored(root)
    assert head == git(root, "rev-parse", "HEAD").strip()
    truth = sorted(
        r[:7] + r[8:]
        for batch, _ in parsing.parse_many(str(root), sorted(Walk(root)))
        for r in batch
    )
    assert rows == truth


def test_a_big_commit_that_also_deletes_drops_the_deleted_rows(store: Path, cli: Any) -> None:
    gone = add_one(cli)
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    shop = Store(store)
    director = shop.config.member("dana")
    assert director is not None
    shop.index.refresh()  # as an import's duplicate guard does: the index is at the parent
    with shop.transaction(director, "lead.import") as tx:
        for n in range(ROWS):
            lead_id = f"L-{n:012d}"
            loc = RecordPath(record_file(POOL, LEAD, lead_id), LEAD, lead_id, POOL)
            day = dt.date(2026, 11, 1)
            data = {"schema_version": 1, "company": f"Bulk {n}", "stage": "new",
                    "stages": {"new": day}, "created": day}  # fmt: skip
            tx.write(loc, data)
        tx.delete(gone)
    head, rows, keys = stored(store)
    assert head == git(store, "rev-parse", "HEAD").strip()
    assert gone not in [r[0] for r in rows] and gone not in [path for _key, path in keys]
    truth = sorted(
        r[:7] + r[8:]
        for batch, _ in parsing.parse_many(str(store), sorted(Walk(store)))
        for r in batch
    )
    assert rows == truth


def add_one(cli: Any) -> str:
    res = cli("--as", "alice", "lead", "add", "--company", "To Be Gone", "-f", "json")
    assert res.code == 0, res.err
    return str(res.json()["path"])
