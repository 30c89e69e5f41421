"""A big import checks each row once (issue 19) and still refuses what ``check`` refuses.

- Each row is normalised, checked against the config's rules, phone-checked and keyed once,
  as it is built: staging its file checks only what the file shows (its size, its place),
  and its index row takes the keys the duplicate guard made.
- What the shortcut skips would have found nothing: a built row is already as normalising
  it gives, and the index row made from it is the row reading its file gives.
- A bad row is still refused, naming it, and nothing changes.
- The bulk insert fills only the side tables its rows' kinds have rows in, and every side
  table ends as the insert triggers would have left it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, git, make_store
from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl import clock, yamlio
from salesctl.model import dupkeys, values
from salesctl.model.kinds import LEAD, Kind
from salesctl.model.rules import record_problems
from salesctl.ops.sales import lead_import
from salesctl.ops.sales.lead_import import build_rows
from salesctl.store import index_bulk, index_dupkeys, parsing
from salesctl.store.index_schema import CHANGES, FIGURES, INSERT, LOOKUPS, SCHEMA, SHARES, connect
from salesctl.store.layout import POOL, Owner, RecordPath, record_file
from salesctl.store.parsing import Ancestors, plain_copy, row_for, row_of_written
from salesctl.store.store import Store
from salesctl.store.validation import InvalidRecord
from salesctl.store.watch import Walk

ROWS = index_bulk.BULK_MIN + 30
SAMPLE = Path(__file__).resolve().parents[2] / "records"  # every kind, as shipped
CUSTOM = """
custom_fields:
  lead:
    - {name: region, type: choice, choices: [North, South]}
"""


def lead_csv(path: Path, rows: int, bad: dict[int, str] | None = None) -> Path:
    lines = ["Company,Email,Phone,Status,Tags,Owner,Region"] + [
        f"Once Co {n},p{n}@once{n}.example,+86 138{n:08d},contacted,vip,alice,North"
        for n in range(rows)
    ]
    for index, line in (bad or {}).items():
        lines[index] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def custom_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_store(tmp_path / "store", CONFIG + CUSTOM)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


def test_each_row_is_normalised_phone_checked_and_keyed_once(
    custom_store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0  # the index exists
    normalised: list[str] = []
    keyed: list[str] = []
    checked: list[str] = []
    normalise, record_keys, check_phone = Kind.normalise, dupkeys.record_keys, values.check_phone

    def counting_normalise(self: Kind, data: Any, where: str) -> Any:
        normalised.append(where)
        return normalise(self, data, where)

    def counting_keys(kind: str, data: dict[str, Any], region: str) -> list[str]:
        keyed.append(str(data.get("company")))
        return record_keys(kind, data, region)

    def counting_check(text: str, region: str) -> str:
        checked.append(text)
        return check_phone(text, region)

    monkeypatch.setattr(Kind, "normalise", counting_normalise)
    monkeypatch.setattr(lead_import, "record_keys", counting_keys)
    monkeypatch.setattr(index_dupkeys, "record_keys", counting_keys)
    monkeypatch.setattr("salesctl.ops.records.check_phone", counting_check)

    res = cli("--as", "dana", "lead", "import", str(lead_csv(tmp_path / "l.csv", ROWS)),
              "-f", "json")  # fmt: skip

    assert res.code == 0, res.err
    assert len(res.json()["created"]) == ROWS
    rows = [w for w in normalised if w.startswith("row ")]
    assert sorted(rows) == sorted(f"row {n}" for n in range(2, ROWS + 2))  # once each
    assert [w for w in normalised if "/leads/" in w] == []  # not again as files are staged
    assert sorted(k for k in keyed if k.startswith("Once Co")) == sorted(
        f"Once Co {n}" for n in range(ROWS)
    )  # keyed for the guard; the index row takes those keys
    assert len(checked) == ROWS
    # ... and the index holds what reading the files gives (a rebuild)
    stored = _index_rows(custom_store)
    assert cli("--as", "dana", "index", "rebuild", "-f", "json").code == 0
    assert _index_rows(custom_store) == stored


def _index_rows(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(root / ".git" / "salesctl" / "index.sqlite")
    try:
        return {
            "records": sorted(
                r[:7] + r[8:]  # without the stat signature
                for r in db.execute(
                    "SELECT path, id, kind, parent, owner, team, pool, sig, data, problems, "
                    "shares, keys FROM records"
                )
            ),
            **{t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in SIDE_TABLES},
        }
    finally:
        db.close()


@pytest.mark.parametrize(
    "bad, field",
    [
        ("Bad Co,bad@bad.example,12345,contacted,vip,alice,North", "Phone"),  # not valid
        ("Bad Co,bad@bad.example,+86 138 0000 0001,contacted,vip,alice,West", "Region"),
        ("Bad Co,not-an-address,+86 138 0000 0002,contacted,vip,alice,North", "Email"),
        ("Bad Co,bad@bad.example,+86 138 0000 0003,contacted,vip,zed,North", "owner"),
        ("Bad Co,bad@bad.example,+86 138 0000 0004,contacted,vip,carol,North", "owner"),
    ],
)
def test_a_bad_row_is_still_refused_and_nothing_changes(
    custom_store: Path, cli: Any, tmp_path: Path, bad: str, field: str
) -> None:
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    head = git(custom_store, "rev-parse", "HEAD").strip()
    src = lead_csv(tmp_path / "l.csv", ROWS, {ROWS - 5: bad})

    res = cli("--as", "dana", "lead", "import", str(src), "-f", "json")

    assert res.code == 1
    assert f"row {ROWS - 4}: {field}:" in res.err  # the header is row 1
    assert git(custom_store, "rev-parse", "HEAD").strip() == head
    assert git(custom_store, "status", "--porcelain", "--untracked-files=all") == ""


def test_what_only_the_file_shows_is_still_checked_as_a_row_is_staged(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    assert cli("--as", "dana", "lead", "list", "-f", "json").code == 0
    head = git(store, "rev-parse", "HEAD").strip()
    src = tmp_path / "big.json"
    huge = "x" * (yamlio.MAX_FILE_BYTES + 10)  # a line of notes over the file size limit
    rows = [{"company": f"Size Co {n}", "notes": huge if n == 7 else "fine"} for n in range(9)]
    src.write_text(json.dumps(rows), encoding="utf-8")

    res = cli("--as", "dana", "lead", "import", str(src), "--pool", "-f", "json")

    assert res.code == 1
    assert "row 8: notes:" in res.err  # JSON rows count from 1
    assert git(store, "rev-parse", "HEAD").strip() == head
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""


def test_fields_staged_as_normalised_still_have_their_place_checked(store: Path) -> None:
    st_ = Store(store)
    actor = st_.config.member("dana")
    assert actor is not None
    today = clock.today()
    fields = {"schema_version": 1, "company": "Place Co", "created": today, "stage": "new",
              "stages": {"new": today}}  # fmt: skip
    data, problems = LEAD.normalise(fields, "x")
    assert problems == []
    wrong = Owner(member="alice", team=None)  # alice is in team east: not members/alice/
    loc = RecordPath(record_file(wrong, LEAD, "L-0000000000AB"), LEAD, "L-0000000000AB", wrong)
    with st_.transaction(actor, "lead.import") as tx, pytest.raises(InvalidRecord) as caught:
        tx.write(loc, data, normalised=True, keys=[])
    assert "teams/east/alice" in str(caught.value)
    assert tx.change.writes == {}


# -- what the shortcut skips would have found nothing ------------------------------------------

CELL = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=20),
    st.sampled_from([" pad ", "a\nb", "中文，全角", "yes", "~", "#x", "0012", "x\u2028y"]),
)
ROW = st.fixed_dictionaries(
    {
        "Company": CELL,
        "Name": CELL,
        "Email": st.sampled_from(["", "a@b.example", "A@QQ.com ", "bad"]),
        "Phone": st.sampled_from(
            ["", "+86 138 0013 8000", "0512-28540015", "(415) 555-0134", "12"]
        ),
        "Status": st.sampled_from(["", "new", "Contacted", "已确认", "junk", "odd"]),
        "Created": st.sampled_from(["", "2026/01/02", "2025-12-31", "not a date"]),
        "Tags": CELL,
        "Notes": CELL,
        "Region": st.sampled_from(["", "North", "West"]),
    }
)
ROW_TARGETS = ("company", "name", "email", "phone", "stage", "created", "tags", "notes",
               "custom.region")  # fmt: skip


def built_row(tmp_path_factory: Any, cells: dict[str, str]) -> tuple[Path, Any, list[Any]]:
    """A fresh store, its config, and the rows ``build_rows`` makes of one CSV row."""
    root = make_store(tmp_path_factory.mktemp("s") / "store", CONFIG + CUSTOM)
    config = Store(root).config
    built, _problems = build_rows(config, [(2, cells)], dict(zip(cells, ROW_TARGETS, strict=True)))
    return root, config, built


@settings(max_examples=200, deadline=None)
@given(cells=ROW)
def test_a_built_row_is_as_normalising_its_file_gives_without_a_problem(
    tmp_path_factory: Any, cells: dict[str, str]
) -> None:
    _root, config, built = built_row(tmp_path_factory, cells)
    for row in built:
        loaded = yamlio.loads(yamlio.dumps(row.data).encode(), source="x")  # as check reads it
        canonical, found = LEAD.normalise(loaded, "x")
        assert found == [] and record_problems(config, LEAD, canonical, "x") == []
        assert canonical == row.data
        assert row.data["created"] <= clock.today()


@settings(max_examples=150, deadline=None)
@given(cells=ROW)
def test_a_row_from_checked_fields_and_the_guards_keys_is_the_row_its_file_gives(
    tmp_path_factory: Any, cells: dict[str, str]
) -> None:
    root, config, built = built_row(tmp_path_factory, cells)
    for row in built:
        copied = plain_copy(row.data)
        if copied is None:
            continue  # such fields are read back from the file
        loc = RecordPath(record_file(POOL, LEAD, "L-0000000000AB"), LEAD, "L-0000000000AB", POOL)
        path = root / loc.path
        path.parent.mkdir(parents=True)
        path.write_text(yamlio.dumps(row.data), encoding="utf-8")
        from_file = row_for(str(root), loc, Ancestors(str(root)), region=config.region)
        keys = lead_import.duplicate_keys(row.data, config.region)
        made = row_of_written(loc, copied, from_file[7], config.region, checked=True, keys=keys)
        assert made == from_file


# -- side tables after a bulk insert ------------------------------------------------------------

SIDE_TABLES = ("shares", *index_bulk.FILL_KINDS.keys() - {"shares"})


def _empty_index() -> sqlite3.Connection:
    db = index_dupkeys.register(connect(":memory:"), lambda: "CN")
    db.executescript(SCHEMA + LOOKUPS + SHARES + FIGURES + CHANGES)
    index_dupkeys.install(db, "CN")
    return db


def _side_tables(db: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    found = {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in SIDE_TABLES}
    found["changes"] = list(db.execute("SELECT value FROM meta WHERE key = 'changes'"))
    found["triggers"] = sorted(
        db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    )
    return found


@pytest.mark.parametrize("first", [0, 150])
def test_a_bulk_insert_of_every_kind_fills_the_side_tables_as_the_triggers_do(
    first: int,
) -> None:
    rows = [r for batch, _ in parsing.parse_many(str(SAMPLE), Walk(SAMPLE), trusted=True)
            for r in batch]  # fmt: skip
    kinds = {r[2] for r in rows}
    assert {"lead", "deal", "contract", "payment", "followup", "visit", "customer"} <= kinds
    by_triggers, in_bulk = _empty_index(), _empty_index()
    by_triggers.executemany(INSERT, rows)
    in_bulk.executemany(INSERT, rows[:first])  # rows stored already: the range starts after
    in_bulk.execute("BEGIN")
    index_bulk.insert_rows(in_bulk, rows[first:])
    in_bulk.execute("COMMIT")

    assert len(rows) - first >= index_bulk.BULK_MIN
    assert _side_tables(in_bulk) == _side_tables(by_triggers)
    assert all(_side_tables(in_bulk)[t] for t in SIDE_TABLES)  # every table has rows


def test_a_bulk_insert_of_one_kind_fills_the_side_tables_as_the_triggers_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_bulk, "BULK_MIN", 1)  # the sample has a few of most kinds
    rows = [r for batch, _ in parsing.parse_many(str(SAMPLE), Walk(SAMPLE), trusted=True)
            for r in batch]  # fmt: skip
    for kind in sorted({r[2] for r in rows}):
        mine = [r for r in rows if r[2] == kind]
        others = [r for r in rows if r[2] != kind]
        by_triggers, in_bulk = _empty_index(), _empty_index()
        for db in (by_triggers, in_bulk):
            db.executemany(INSERT, others)
        by_triggers.executemany(INSERT, mine)
        in_bulk.execute("BEGIN")
        index_bulk.insert_rows(in_bulk, mine)
        in_bulk.execute("COMMIT")
        assert _side_tables(in_bulk) == _side_tables(by_triggers), kind


def test_a_bulk_insert_of_leads_fills_only_the_lead_tables_and_the_rest_stay_right() -> None:
    rows = [r for batch, _ in parsing.parse_many(str(SAMPLE), Walk(SAMPLE), trusted=True)
            for r in batch]  # fmt: skip
    leads = [r for r in rows if r[2] == "lead"]
    others = [r for r in rows if r[2] != "lead"]
    assert len(leads) >= index_bulk.BULK_MIN
    by_triggers, in_bulk = _empty_index(), _empty_index()
    for db in (by_triggers, in_bulk):
        db.executemany(INSERT, others)
    by_triggers.executemany(INSERT, leads)
    statements: list[str] = []
    in_bulk.set_trace_callback(statements.append)
    in_bulk.execute("BEGIN")
    index_bulk.insert_rows(in_bulk, leads)
    in_bulk.execute("COMMIT")
    in_bulk.set_trace_callback(None)

    assert _side_tables(in_bulk) == _side_tables(by_triggers)
    filled = {s.split()[2] for s in statements if s.startswith("INSERT INTO ") and "rowid >" in s}
    assert filled == {"stage_entries", "dupkeys", "shares"} & filled
    assert {"stage_entries", "dupkeys"} <= filled
    assert not filled & {"activities", "deal_figures", "instalments", "contract_terms",
                         "payment_figures"}  # fmt: skip


def test_each_fill_knows_the_kinds_it_takes_rows_of() -> None:
    kinds = index_bulk.FILL_KINDS
    assert kinds == {
        "shares": None,
        "activities": {"followup", "visit"},
        "stage_entries": {"lead", "deal"},
        "deal_figures": {"deal"},
        "instalments": {"contract"},
        "contract_terms": {"contract"},
        "payment_figures": {"payment"},
        "dupkeys": {"lead", "customer"},
    }
