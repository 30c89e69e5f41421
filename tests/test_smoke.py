"""The first end-to-end path: add, list and show a lead through the CLI."""

from pathlib import Path

from conftest import git


def test_add_list_show_edit_round_trip(store: Path, cli) -> None:
    added = cli(
        "--as", "alice", "lead", "add", "--company", "阿里巴巴", "--name", "张三", "-f", "json"
    )
    assert added.code == 0, added.err
    lead = added.json()
    assert lead["owner"] == "alice" and lead["team"] == "east" and lead["company"] == "阿里巴巴"
    listed = cli("--as", "alice", "lead", "list", "-f", "json").json()
    assert [r["id"] for r in listed] == [lead["id"]]
    shown = cli("--as", "alice", "lead", "show", lead["id"][:6], "-f", "json").json()
    assert shown["name"] == "张三"
    assert "张三" in (store / lead["path"]).read_text(encoding="utf-8")
    assert git(store, "log", "-1", "--format=%an").strip() == "Alice Lin"
