"""A big directory is edited as git's tree body (``RawTree``), not as a dict: whatever the
edits, the body it writes is the one the dict of the same entries gives, in git's order."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git
from hypothesis import given, settings
from hypothesis import strategies as st
from test_git_pack import apply, big_change, seeded

from salesctl import git_trees
from salesctl.git import Change
from salesctl.git_trees import RawTree, _tree_object

# names that sort differently as a file and as a directory ("a" < "a-b" < "a.b" < "a/")
NAMES = st.sampled_from(["a", "a-b", "a.b", "a0", "ab", "b", "L-01", "L-01.yaml", "客户", "z"])
OIDS = st.binary(min_size=20, max_size=20).map(bytes.hex)
ENTRY = st.one_of(
    st.tuples(st.just("040000"), st.just("tree"), OIDS),
    st.tuples(st.sampled_from(["100644", "100755", "120000"]), st.just("blob"), OIDS),
)
TREES = st.dictionaries(NAMES | st.text("xyz", min_size=1, max_size=4), ENTRY)
EDITS = st.lists(st.tuples(NAMES, st.none() | ENTRY), max_size=8)


@settings(max_examples=300, deadline=None)
@given(TREES, EDITS, st.sampled_from([0, 3, 64]))
def test_edits_spliced_into_the_body_give_the_dict_s_tree(
    tree: dict[str, tuple[str, str, str]],
    edits: list[tuple[str, tuple[str, str, str] | None]],
    keyed_after: int,
) -> None:
    """``keyed_after``: searches with the key function before the rows' keys are listed
    (an import's many searches bisect the list; 0: from the first)."""
    git_trees_searches = git_trees.KEY_FUNCTION_SEARCHES
    git_trees.KEY_FUNCTION_SEARCHES = keyed_after
    try:
        _edit_and_compare(tree, edits)
    finally:
        git_trees.KEY_FUNCTION_SEARCHES = git_trees_searches


def _edit_and_compare(
    tree: dict[str, tuple[str, str, str]], edits: list[tuple[str, tuple[str, str, str] | None]]
) -> None:
    raw = RawTree(_tree_object(tree), 20)
    assert dict(raw.items()) == tree  # read back as it was written
    for name, entry in edits:
        if entry is None:
            assert raw.pop(name, None) == tree.pop(name, None)
        else:
            raw[name] = tree[name] = entry
        assert len(raw) == len(tree)
    assert raw.body() == _tree_object(tree)
    assert dict(raw.items()) == tree
    for name in {name for name, _entry in edits}:
        assert raw.get(name) == tree.get(name)
        assert (name in raw) == (name in tree)


def test_a_change_read_and_written_through_raw_trees_is_the_same_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every directory read as a ``RawTree`` (threshold 0): the same tree ids as dicts."""
    as_dicts, as_raw = seeded(tmp_path / "dicts"), seeded(tmp_path / "raw")
    small = Change(
        writes={"pool/leads/L-0003/lead.yaml": b"company: edited\n", "pool/leads/L-NEW/x": b"x"},
        deletes={"pool/leads/L-0004/lead.yaml"},
    )
    apply(as_dicts, big_change())
    apply(as_dicts, small)  # a small change: trees through mktree, big ones as objects
    monkeypatch.setattr(git_trees, "RAW_TREE_BYTES", 0)
    apply(as_raw, big_change())
    apply(as_raw, small)
    assert git(as_raw, "rev-parse", "HEAD^{tree}") == git(as_dicts, "rev-parse", "HEAD^{tree}")
    assert git(as_raw, "ls-tree", "--name-only", "HEAD", "pool/leads/L-0004/") == ""
