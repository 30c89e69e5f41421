"""``yamlio.dumps`` writes records of plain values itself (``yaml_plain``); whatever it
writes is byte for byte what PyYAML writes, and it hands PyYAML everything else."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from salesctl import yamlio
from salesctl.yaml_plain import dump_plain

# Text that reads back as something else, or sits on the edge of the plain rules.
TRICKY = [
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "true", "False", "", " ", "0",
    "012", "0o17", "0x1F", "1_000", "1e3", "1.5e3", "+12", "-0", ".inf", "-.Inf", ".nan",
    "3.", "2026-11-20", "2026-11-20 10:00:00", "2026-1-2", "12:30", "190:20:30", "=", "<<",
    "a: b", "a #b", "'q'", '"dq"', "- x", "-x", "? x", "@x", "`x", "%x", "!x", "&x", "*x",
    "|", ">", "[x]", "{x}", "x,y", "中文 公司", "Ünïcödé", "+86 139 1234 5678", "+8613912345678",
    "p1@co1-1.import.example", "a  b", "a ", " a", "a\nb", "a\tb", "x" * 120,
    "word " * 30, "_x", "x_", "1 2", "ß", "\u00a0", "\u2028", "\ufeff", "é\u0301",
    "\U00010000", "a\U0001d7d8",
]  # fmt: skip

# Text of the shapes records hold, most often, so most records take the fast path; and
# anything at all, so what it must refuse is tried too.
usual_text = st.from_regex(r"[\w+][\w.@+/-]{0,15}( [\w.@+/-]{1,8}){0,3}", fullmatch=True)
text = st.one_of(
    *[usual_text] * 6,
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    st.from_regex(r"[a-z ]{50,110}", fullmatch=True),  # near the column where PyYAML folds
)
keys = st.one_of(
    st.sampled_from(["company", "schema_version", "x", "yes", "1", "中文"]),
    *[st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)] * 3,
    text,
)
plain_scalars = st.one_of(
    text, st.integers(-(10**20), 10**20), st.booleans(), st.none(), st.dates()
)
other_scalars = st.one_of(
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.datetimes(),
)


def records_of(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[Any, Any]]:
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=6)


records = records_of(plain_scalars)
# the shapes of real records: nearly all of them written by yaml_plain
usual_records = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True),
    st.recursive(
        st.one_of(usual_text, st.sampled_from(TRICKY), st.integers(), st.dates(), st.none()),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), inner, max_size=3),
        ),
        max_leaves=6,
    ),
    min_size=1,
    max_size=10,
)
any_records = records_of(st.one_of(plain_scalars, other_scalars))


@settings(max_examples=1000, deadline=None)
@given(st.one_of(records, usual_records))
@example({"company": "Import 1 Co 2", "phone": "+8613912345678", "created": dt.date(2026, 1, 2)})
@example({"name": "yes", "tags": ["a", "no"], "stages": [{"stage": "new", "n": 1}], "e": {}})
@example({"custom": {"a": None, "b": True, "c": []}, "x": [{"k": "v", "l": [1, 2]}]})
def test_same_bytes_as_pyyaml(record: dict[Any, Any]) -> None:
    plain = dump_plain(record)
    if plain is not None:
        assert plain == yamlio.dumps_pyyaml(record)
    assert yamlio.dumps(record) == yamlio.dumps_pyyaml(record)


@settings(max_examples=300, deadline=None)
@given(any_records)
def test_any_record_same_bytes(record: dict[Any, Any]) -> None:
    assert yamlio.dumps(record) == yamlio.dumps_pyyaml(record)


def test_an_import_row_is_written_without_pyyaml() -> None:
    """The shapes a lead import writes take the fast path (else it buys nothing)."""
    lead = {
        "schema_version": 1,
        "company": "Import 17964 Co 12",
        "name": "Person 12",
        "email": "p12@co12-17964.import.example",
        "phone": "+8613912345678",
        "source": "expo",
        "created": dt.date(2026, 12, 5),
        "stages": [{"stage": "new", "date": dt.date(2026, 12, 5)}],
        "tags": ["expo", "2026"],
        "owner": None,
    }
    assert dump_plain(lead) == yamlio.dumps_pyyaml(lead)


def test_other_values_go_through_pyyaml() -> None:
    for record in (
        {"amount": Decimal("12.50")},
        {"rate": 1.5},
        {"notes": "two\nlines"},
        {"company": "Acme: West"},
        {1: "int key"},
        {"nested": [[1, 2]]},
        {},
    ):
        assert dump_plain(record) is None
        assert yamlio.dumps(record) == yamlio.dumps_pyyaml(record)
