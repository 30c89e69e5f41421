"""Property-based fuzz of what reads untrusted bytes: the record loader and the lead import.

Invariants, whatever the input:

- ``yamlio.loads`` returns data or raises ``YamlError`` (which names the source), nothing
  else; a record file becomes an index row: fields SQLite's JSON functions can read, or
  problems that name the file. Never an exception.
- ``lead import`` reading (CSV or JSON) returns rows and per-row problems ("row N: ...") or
  raises ``Invalid`` naming the file. Never a traceback.

Bounded for CI (about a minute in all): fixed example counts, no deadline, derandomized so a
run is reproducible, and no timing is asserted.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import CONFIG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesctl import yamlio
from salesctl.errors import Invalid
from salesctl.model.config import Config, parse_config
from salesctl.ops.sales.lead_import import build_rows
from salesctl.ops.sales.lead_import_files import map_columns, read_rows
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.parsing import Ancestors, row_for

FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- YAML documents that look like records, with every trick YAML has ------------------------

FIELDS = ["schema_version", "company", "name", "email", "phone", "stage", "stages", "tags",
          "created", "custom", "amount", "plan", "at", "record", "author", "text", "x"]  # fmt: skip
SCALARS = st.sampled_from(
    [
        "1", "0", "-1", "012", "0o17", "0x1F", "1_000", "1e3", "1:30", "99.50", ".nan", ".inf",
        "-.inf", "~", "null", "yes", "no", "on", "maybe", "=", "''", '""', "'quoted'",
        '"esc \\u263a \\x00"', "2026-01-01", "2026-13-40", "2026-02-30", "2026-01-01 10:00",
        "2026-01-01T10:00:00+08:00", "10:00", "new", "中文", "a@b.co", "+86 138 0000 0000",
        "|\n  block\n  text", ">-\n  folded", "[1, 2]", "{a: 1}", "[]", "{}", "? complex",
        "&a 1", "*a", "&b [1]", "*b", "<<", "!!timestamp 2026-01-01 10:00", "!!bool maybe",
        "!!int ''", "!!float ''", "!!binary xyz", "!!binary aGk=", "!!set {a}", "!!omap [a: 1]",
        "!!pairs [a: 1]", "!!python/name:os.system", "!!python/object/apply:os.getcwd []",
        "!foo bar", "!<tag:x,2026:y> z", "! 5", "!!str 5", "!!null ''", "!!map {}",
        "!!seq []", "!!merge x", "!!value x", "%TAG", "---", "...", "\t", "#c", "{", "[", "'",
        '"', "\x00", "\ufeff", "\x85", "\u2028", "\ud7ff", "*undefined",
    ]
)  # fmt: skip


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A record-ish document: mostly well-formed ``key: value`` lines (so the tricks reach
    the constructors, past the parser), nested ones, list items and the odd noise line."""
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(st.sampled_from(FIELDS))
        value = draw(SCALARS)
        shape = draw(st.sampled_from(["plain", "plain", "plain", "item", "nested", "flow"]))
        if shape == "item":
            lines.append(f"{key}:\n  - {value}")
        elif shape == "nested":
            lines.append(f"{key}:\n  {draw(st.sampled_from(FIELDS))}: {value}")
        elif shape == "flow":
            lines.append(f"{key}: [{value}, {draw(SCALARS)}]")
        else:
            lines.append(f"{key}: {value}")
    if draw(st.integers(0, 5)) == 0:
        noise = draw(st.text(max_size=12) | st.sampled_from(["<<: *a", "? [a]", "&a x: 1"]))
        lines.insert(draw(st.integers(0, len(lines))), noise)
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n---\nb: 1\n"]))


YAML_INPUT = documents() | st.text(max_size=200) | st.binary(max_size=200).map(repr)


@FUZZ
@given(text=YAML_INPUT)
def test_yaml_loads_returns_data_or_a_yaml_error(text: str) -> None:
    for raw in (text, text.encode("utf-8", "surrogatepass")):
        try:
            yamlio.loads(raw, source="f.yaml")
        except yamlio.YamlError as exc:
            assert exc.where.split(":")[0] == "f.yaml"


@FUZZ
@given(raw=st.binary(max_size=300))
def test_yaml_loads_any_bytes(raw: bytes) -> None:
    try:
        yamlio.loads(raw, source="f.yaml")
    except yamlio.YamlError as exc:
        assert exc.where.split(":")[0] == "f.yaml"


RECORD_PATHS = [
    "teams/east/alice/leads/L-7KQ2M4XR9TAB/lead.yaml",
    "teams/east/alice/contracts/K-7KQ2M4XR9TAB/contract.yaml",
    "teams/east/alice/customers/C-7KQ2M4XR9TAB/followups/F-7KQ2M4XR9TAB.yaml",
]


@pytest.fixture(scope="module")
def record_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-store")


@FUZZ
@given(text=YAML_INPUT, where=st.sampled_from(RECORD_PATHS))
def test_record_file_becomes_a_row_or_problems_naming_it(
    record_root: Path, text: str, where: str
) -> None:
    loc = parse_path(where)
    assert isinstance(loc, RecordPath)
    full = record_root / where
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(text.encode("utf-8", "surrogatepass"))
    row = row_for(str(record_root), loc, Ancestors(str(record_root)))
    data, problems = row[8], row[9]
    assert data is not None or problems is not None
    for problem_where, message, _field in json.loads(problems) if problems else ():
        assert problem_where.split(":")[0] == where and message
    if data is not None:  # what the index stores must stay readable to SQLite's JSON
        db = sqlite3.connect(":memory:")
        assert db.execute("SELECT json_valid(?)", (data,)).fetchone() == (1,)


# -- lead import: CSV and JSON -----------------------------------------------------------------

COLUMNS = ["company", "name", "email", "phone", "source", "stage", "tags", "created", "owner",
           "公司", "联系人", "邮箱", "手机", "First Name", "Last Name", "notes", ""]  # fmt: skip
CELLS = st.sampled_from(
    [
        "", " ", "Acme", "Acme, Inc.", '"quoted"', "a\nb", "a\r\nb", "x" * 300, "a@b.co", "bad@",
        "+86 138 0000 0000", "12", "new", "contacted", "won", "nope", "2026-01-01", "01/02/2026",
        "2026年1月2日", "2099-01-01", "0000-00-00", "alice", "carol", "ghost", "a,b,c", "\x00",
        "\ufeff", "中文名", "=cmd()", "1e3", "NaN",
    ]
) | st.text(max_size=20)  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 6))):
        cells = draw(st.lists(CELLS, min_size=0, max_size=len(header) + 1))
        quote = draw(st.booleans())
        lines.append(",".join(f'"{c}"' if quote else c for c in cells))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + text).encode("utf-8", "surrogatepass")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | CELLS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["rows", "any", "deep", "broken"]))
    if shape == "rows":
        rows = draw(st.lists(st.dictionaries(st.sampled_from(COLUMNS), JSON_VALUES), max_size=5))
        return json.dumps(rows, ensure_ascii=draw(st.booleans())).encode()
    if shape == "any":
        return json.dumps(draw(JSON_VALUES)).encode()
    if shape == "deep":
        depth = draw(st.integers(1, 100_000))
        return ("[" * depth + "]" * draw(st.integers(0, depth))).encode()
    return ("[" + draw(st.text(max_size=40))).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def config() -> Config:
    parsed, problems = parse_config(yamlio.loads(CONFIG))
    assert not problems
    return parsed


def _import_rows(config: Config, path: Path) -> None:
    """What ``lead import`` does with a file before it touches the store."""
    try:
        columns, rows, shape_problems = read_rows(path)
        mapping, _ignored = map_columns(config, columns, [])
    except Invalid as exc:
        assert path.name in str(exc) or str(path) in str(exc)
        return
    built, problems = build_rows(config, rows, mapping)
    for problem in shape_problems + problems:
        assert problem.startswith("row "), problem
    assert len(built) <= len(rows)


@FUZZ
@given(content=csv_files() | st.binary(max_size=200))
def test_csv_import_yields_rows_or_row_errors(
    config: Config, tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("csv") / "leads.csv"
    path.write_bytes(content)
    _import_rows(config, path)


@FUZZ
@given(content=json_files() | st.binary(max_size=200))
def test_json_import_yields_rows_or_row_errors(
    config: Config, tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("json") / "leads.json"
    path.write_bytes(content)
    _import_rows(config, path)


def test_deeply_nested_json_is_an_error_naming_the_file(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(Invalid, match=r"deep\.json"):
        read_rows(path)
