"""``yaml_plain.load_plain`` reads record files without PyYAML's Python layers: whatever
it returns is what the reference (``yamlio.loads``, libyaml's CSafeLoader) returns, type
for type, and anything it is not sure of it hands back (None), including every text the
reference refuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from salesctl import yamlio
from salesctl.store.accelerator import accelerator, load_yaml
from salesctl.yaml_plain import load_plain
from tests.test_yaml_plain import TRICKY, any_records, keys, records, usual_records

SAMPLE = Path(__file__).resolve().parent.parent / "records"


def reference(text: str) -> Any:
    """The reference's reading, or the exception class it raised."""
    try:
        return yamlio.loads(text, plain=False)
    except yamlio.YamlError:
        return yamlio.YamlError


def agrees(text: str) -> Any:
    """Assert load_plain gives the reference's answer or none; return its answer."""
    ours = load_plain(text)
    if ours is not None:
        # repr tells 1 from True, a date from a datetime, "1" from 1
        assert repr(ours) == repr(reference(text)), text
    return ours


aware = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), timezones=st.sampled_from([dt.UTC, None])
).map(lambda d: d.replace(microsecond=0))
zones = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
moments = st.builds(
    lambda d, z: d.replace(tzinfo=z),
    st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    zones,
)
long_text = st.lists(st.sampled_from(["word", "中文", "a,b", "x-y", "C#", "it's", "#1"]),
                     min_size=10, max_size=40).map(" ".join)  # fmt: skip
several_lines = st.lists(
    st.sampled_from(["line one", "  indented", "key: value", "# not a comment", "中文", "x"]),
    min_size=2,
    max_size=5,
).map("\n".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(records, usual_records, any_records))
@example({"text": "two\nlines", "next": dt.date(2026, 1, 2)})
@example({"at": dt.datetime(2026, 6, 20, 16, 8, 47, tzinfo=dt.timezone(dt.timedelta(hours=8)))})
def test_dumped_records_read_as_the_reference_reads_them(record: dict[Any, Any]) -> None:
    agrees(yamlio.dumps(record))


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        keys,
        st.one_of(long_text, several_lines, moments, aware, st.sampled_from(TRICKY)),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([40, 60, 80, 1000]),
)
def test_folded_and_block_text_as_pyyaml_writes_it(record: dict[Any, Any], width: int) -> None:
    """PyYAML folds long plain text over lines and writes text of several lines as ``|``
    blocks: both are read (not just handed back) where the reference reads them."""
    text = yaml.dump(record, Dumper=yaml.CSafeDumper, allow_unicode=True, width=width,
                     sort_keys=False, default_flow_style=False)  # fmt: skip
    agrees(text)


# Lines of the shapes the reader looks at, and the ones next to them, in any order and
# indentation: whatever it accepts of those must be what the reference reads.
fragment = st.sampled_from(
    [
        "a: 1", "a: x", "b: 2026-01-02", "c: yes", "d: 'q''s'", 'e: "dq"', "f:", "g: {}",
        "h: []", "- x", "- k: v", "- 'x'", "-", "- - x", "text: |", "text: |-", "text: >",
        "  more", "    deeper", "a: b: c", "a: x #c", "# comment", "a:x", "? a", ": b",
        "a: &x 1", "b: *x", "a: !!str 1", "<<: {a: 1}", "a: =", "---", "...", "%YAML 1.1",
        "a: 2026-13-40", "a: 2026-06-20T16:08:47+08:00", "a: 2026-06-20 16:08:47",
        "a: 12:30", "a: 012", "a: 0x1F", "a: 1_000", "a: 1.5", "a: .inf", "a: ~", "a: null",
        "a: 'x", "a: \"x\\ty\"", "a: [1, 2]", "a: x, y", "a: {b: 1}", "a: @x", "a: `x",
        "a: x ", "a:  x", "yes: 1", "1: a", "a b: c", "中文: 值", "a: 中文，值", "a: -1",
        "a: +44 20 7946", "a: |2-", "a: |+", "a: 'x' y", "a: \"x\" y",
    ]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 0, 0, 2, 2, 4, 1, 3]), fragment), max_size=8))
def test_any_arrangement_of_lines(lines: list[tuple[int, str]]) -> None:
    agrees("".join(" " * indent + line + "\n" for indent, line in lines))


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab :-'\"|#\n &*!{}[],?\t\r~0129.")), max_size=60))
def test_any_text(text: str) -> None:
    agrees(text)


def test_the_sample_stores_files_are_all_read_and_right() -> None:
    """Every record file of the bundled store (written by salesctl, hand-written ones
    among them): read by load_plain, not handed back, and exactly as the reference."""
    files = [p for p in SAMPLE.rglob("*.yaml") if p.name != "salesctl.yaml"]
    assert len(files) > 50
    handed_back = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if agrees(text) is None:
            handed_back.append(path.relative_to(SAMPLE))
    assert len(handed_back) <= len(files) // 20, handed_back


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: 1\nb: x\n", {"a": 1, "b": "x"}),
        ("a: yes\nb: null\nc: ~\nd: 'yes'\n", {"a": True, "b": None, "c": None, "d": "yes"}),
        ("a: 012\nb: 1_000\nc: 0x1F\n", {"a": 10, "b": 1000, "c": 31}),
        ("a: 2026-01-02\n", {"a": dt.date(2026, 1, 2)}),
        ("d:\n- k: v\n  l:\n  - 1\n- x\n", {"d": [{"k": "v", "l": [1]}, "x"]}),
        ("t: |-\n  one\n    two\nn: 1\n", {"t": "one\n  two", "n": 1}),
        ("t: |\n  one\n", {"t": "one\n"}),
        ("t: long text\n  goes on\n", {"t": "long text goes on"}),
        ("a: it's C# 1,2 [x]\n", {"a": "it's C# 1,2 [x]"}),
    ],
)
def test_read_values(text: str, value: dict[str, Any]) -> None:
    assert load_plain(text) == value
    assert repr(load_plain(text)) == repr(yamlio.loads(text, plain=False))


@pytest.mark.parametrize(
    "text",
    [
        "a: 2026-13-40\n",  # the reference reads an impossible date as its text
        "a: 1\n\nb: 2\n",  # blank line
        "# c\na: 1\n",
        "a: 1 # c\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "<<: {b: 1}\n",
        "a: [1, 2]\n",
        "a: >\n  x\n",
        "a: 'x\n  y'\n",
        "\ufeffa: 1\n",
        "a: 1\r\n",
        "a:\t1\n",
        "a: 1",  # no final line break
        "- a\n",  # not a mapping
        "a: 1\n b: 2\n",
        "a: b: c\n",
        "yes: 1\n",
        "a: x\x85y\n",
        "a: |\nb: 1\n",
    ],
)
def test_handed_back(text: str) -> None:
    assert load_plain(text) is None


def test_load_yaml_takes_the_reference_for_what_load_plain_hands_back() -> None:
    assert load_yaml(b"a: 2026-13-40\n", "x.yaml") == {"a": "2026-13-40"}
    assert load_yaml(b"a: 1 # c\n", "x.yaml") == {"a": 1}
    with pytest.raises(yamlio.YamlError):
        load_yaml(b"a: [1\n", "x.yaml")


def test_every_reader_goes_through_load_plain_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """``yamlio.loads`` (config, blobs, staged files) reads with it, not only the index;
    ``plain=False`` and ``SALESCTL_YAML=reference`` ask the reference alone."""
    seen: list[str] = []
    monkeypatch.setattr(yamlio, "load_plain", lambda text: seen.append(text) or {"from": "plain"})
    assert yamlio.loads("a: 1\n") == {"from": "plain"}
    assert yamlio.loads("a: 1\n", plain=False) == {"a": 1}
    monkeypatch.setattr(yamlio, "REFERENCE_ONLY", True)
    assert yamlio.loads("a: 1\n") == {"a": 1}
    assert seen == ["a: 1\n"]


def test_odd_characters_are_the_complement_of_libyamls_printable_set() -> None:
    """``ODD_CHARACTER`` is written as the few ranges outside YAML's printable set (the
    negated class cost 3 ms to compile): the same characters, every code point checked."""
    import re

    from salesctl.yaml_plain import ODD_CHARACTER

    printable = re.compile(
        "[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
        "\U00010000-\U0010ffff]"
    )
    every = "".join(map(chr, range(0x110000)))
    assert re.findall(ODD_CHARACTER, every) == printable.findall(every)
    assert load_plain("a: x\u2028y\n") is None and load_plain("a: x\x7fy\n") is None


def _chain(text: str, *, plain: bool) -> Any:
    """``load_yaml``'s reading (yaml_rs behind its guard; with ``plain`` load_plain in
    front), or the exception class it raised."""
    try:
        return load_yaml(text.encode("utf-8", "surrogatepass"), "f.yaml", plain=plain)
    except yamlio.YamlError:
        return yamlio.YamlError


@pytest.mark.skipif(accelerator() is None, reason="yaml_rs (the optional accelerator) is absent")
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(records, usual_records, any_records),
    st.dictionaries(
        keys,
        st.one_of(long_text, several_lines, moments, aware, st.sampled_from(TRICKY)),
        max_size=4,
    ),
    st.sampled_from([40, 80, 1000]),
)
def test_the_whole_parse_reads_records_as_the_reference(
    record: dict[Any, Any], extra: dict[Any, Any], width: int
) -> None:
    """What a record file can hold, dumped as salesctl and as PyYAML write it, reads the
    same through yaml_rs's guard (alone and behind load_plain) as through the reference:
    yaml_rs once read a quoted '0001-01-01' as a date."""
    texts = [yamlio.dumps(record)]
    if extra:  # PyYAML's own forms at other widths (yamlio's dumper: amounts, moments)
        texts.append(yaml.dump({**record, **extra}, Dumper=yamlio._Dumper, allow_unicode=True,
                               width=width, sort_keys=False))  # fmt: skip
    for text in texts:
        expected = repr(reference(text))
        assert repr(_chain(text, plain=False)) == expected, text
        assert repr(_chain(text, plain=True)) == expected, text


HAND_EDITS = [  # a differential fuzzer's finds: yaml_rs read each otherwise than PyYAML
    "amount: \t0100000\n",  # a tab before an octal number (PyYAML: 32768)
    "a: 1\nb: x\n\t\n",  # a line of a tab
    "a: -.5\n",
    "a: -_1\n",
    "a: 1\nnotes: |\n\n",  # an empty block scalar and blank lines
    "a: 1\nb: >\n\n",
    "a:\n- :\n- x\n",  # an empty key
    "a: 1\n: \n",
    "a: 1\n? b\n",
]


@pytest.mark.skipif(accelerator() is None, reason="yaml_rs (the optional accelerator) is absent")
@pytest.mark.parametrize("text", HAND_EDITS)
def test_hand_edits_the_accelerator_read_otherwise_go_to_the_reference(text: str) -> None:
    """Where yaml_rs and PyYAML differ, the index (yaml_rs) and ``show``/``check``/the hook
    (PyYAML) disagreed on a record's values."""
    expected = repr(reference(text))
    assert repr(_chain(text, plain=False)) == expected
    assert repr(_chain(text, plain=True)) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("company: X\nowner: alice\nowner: bob\n", "the key 'owner' appears twice"),
        ("a:\n  x: 1\n  x: 2\n", "the key 'x' appears twice"),
        ("a:\n- k: 1\n  k: 2\n", "the key 'k' appears twice"),
        ("a: {x: 1, x: 2}\n", "the key 'x' appears twice"),  # flow: the loader's own path
        ("<<: {stage: won}\ncompany: X\n", "merge keys (<<) are not allowed"),
    ],
)
def test_a_key_twice_or_a_merge_key_is_malformed(text: str, said: str) -> None:
    """PyYAML keeps the last of two keys (a reader sees the first) and merges ``<<`` in
    where the file does not show it: every reader refuses both, naming the line."""
    assert load_plain(text) is None
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.loads(text, source="f.yaml")
    assert said in str(caught.value) and "f.yaml:" in str(caught.value)
    assert reference(text) is yamlio.YamlError
    assert _chain(text, plain=True) is yamlio.YamlError
    assert yamlio.loads("1: a\n'1': b\n") == {1: "a", "1": "b"}  # another key, by its type
