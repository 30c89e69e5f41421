"""``yamlio.loads`` builds documents without aliases itself (faster than PyYAML's
constructor); what it builds is exactly what PyYAML's safe loader builds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl import yamlio
from salesctl.yamlio import YamlError


def reference(text: str) -> Any:
    """PyYAML's own construction of the same nodes (what ``loads`` did before)."""
    loader = yamlio._SafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down (1 == True == 1.0 is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same(k, k2) and same(a[k], b[k2]) for k, k2 in zip(a, b, strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN


SCALARS = [
    "yes", "No", "on", "off", "~", "null", "", "012", "0o17", "0x1F", "1_000", "1e3", "1.5e3",
    ".inf", "-.Inf", ".nan", "3.", "-0", "+12", "2026-11-20", "2026-11-20 10:00:00+08:00",
    "2026-11-20T10:00:00Z", "2026-13-40", "12:30", "190:20:30", "=", "'quoted'",
    '"dq \\u00e9"', "plain text", "中文", "'a: b'", "[1, yes, ~]", "{a: 1, b: [2]}", "[]", "{}",
    "!!str 12", "true", "False", "&anchor x", "|",
]  # fmt: skip
KEYS = ["a", "1", "yes", "~", "2026-01-01", "1.5", "'q'", "null", "b c", "<<", "=", "? [x]"]


@st.composite
def blocks(draw: Any, depth: int = 0) -> list[str]:
    """The lines of a block mapping or sequence (unindented), nesting up to three deep."""
    sequence = draw(st.booleans())
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        lead = "-" if sequence else f"{draw(st.sampled_from(KEYS))}:"
        if depth < 3 and draw(st.integers(0, 2)) == 0:
            lines.append(lead)
            lines += ["  " + line for line in draw(blocks(depth + 1))]
            continue
        scalar = draw(st.sampled_from(SCALARS))
        lines.append(f"{lead} {scalar}".rstrip())
        if scalar == "|":
            lines += ["  literal", "  block"]
    return lines


@settings(max_examples=500, deadline=None)
@given(lines=blocks())
def test_what_loads_builds_is_what_pyyaml_builds(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    try:
        expected = reference(text)
    except Exception:  # not YAML, or refused: loads must refuse it too
        with pytest.raises(YamlError):
            yamlio.loads(text)
        return
    try:
        got = yamlio.loads(text)
    except YamlError as exc:  # refused on top of PyYAML: explicit tags, a key twice, merges
        said = str(exc)
        assert "!" in text or "appears twice" in said or "merge keys" in said, said
        return
    assert same(got, expected), text


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [x, {c: 2026-11-20, d: .nan}]\n",
        "<<: {x: 1}\ny: 2\n",  # a merge key: refused
        "a: &x [1]\nb: *x\n",  # an alias: refused
        "? [a, b]\n: 1\n",  # a sequence as a key: PyYAML's error
        "a: =\n",  # the value tag
        "k: " + "[" * 80 + "]" * 80 + "\n",  # deeper than the fast way goes
        "d: 2026-02-30\n",  # an impossible date, kept as text
        "a: 1\na: 2\n",  # a duplicate key: refused (PyYAML keeps the last)
        "~: x\n1: y\n2026-01-01: z\ntrue: w\n",  # 1 and true: one key to Python, refused
        "~: x\n1: y\n2026-01-01: z\nfalse: w\n",
        "",
        "just text",
    ],
)
def test_documents_the_fast_way_declines_or_handles_read_as_pyyaml_reads_them(text: str) -> None:
    try:
        expected = reference(text)
    except Exception:
        with pytest.raises(YamlError):
            yamlio.loads(text)
        return
    if "*" in text or "<<" in text or "a: 1\na: 2" in text or "true: w" in text:
        with pytest.raises(YamlError):  # aliases, merges, a key twice: refused
            yamlio.loads(text)
        return
    assert same(yamlio.loads(text), expected)
