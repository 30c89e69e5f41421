"""The shared sales toolkit end to end: items every member reads and finds, leads and
directors add and remove them (one commit each), file names and the size limit without Git
LFS, the LFS round trip with the real git-lfs against a local bare remote, and the gate
(`check --range`) holding the same rules for hand-made commits."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store
from test_competitors import code, commits, gate, head, ok  # the same CLI helpers

LFS = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (apt: git-lfs)")
POINTER = b"version https://git-lfs.github.com/spec/v1"


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "pricing.md").write_text("# Price ladder\nEnterprise discount: 15% over 100 seats\n")
    (folder / "pitch.pdf").write_bytes(b"%PDF-1.4 discount inside a pdf")
    (folder / "script.txt").write_text("Opening call script: ask about the budget first\n")
    return folder


def test_leads_add_items_every_member_lists_searches_and_gets(
    store: Path, cli: Any, files: Path, tmp_path: Path
) -> None:
    before = commits(store)
    price = ok(
        cli,
        "--as",
        "lee",
        "toolkit",
        "add",
        str(files / "pricing.md"),
        "--title",
        "Price sheet 2026",
        "--tag",
        "pricing",
        "--tag",
        "enterprise",
    )
    assert commits(store) == before + 1  # one commit for the item and its file
    assert price["path"] == f"toolkit/{price['id']}/item.yaml" and price["id"].startswith("TK-")
    shown = git(store, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(shown) == [
        f"toolkit/{price['id']}/item.yaml",
        f"toolkit/{price['id']}/pricing.md",
    ]
    item = yaml.safe_load((store / price["path"]).read_text())
    content = (files / "pricing.md").read_bytes()
    assert item["file"] == "pricing.md" and item["size"] == len(content)
    assert item["sha256"] == sha(content) and item["author"] == "lee"
    assert item["tags"] == ["pricing", "enterprise"]
    pitch = ok(
        cli,
        "--as",
        "dana",
        "toolkit",
        "add",
        str(files / "pitch.pdf"),
        "--title",
        "Pitch deck",
        "--tag",
        "deck",
    )
    script = ok(
        cli, "--as", "lee", "toolkit", "add", str(files / "script.txt"), "--title", "Call script"
    )
    for member in ("alice", "nora", "fay", "sam", "dana"):
        listed = {i["id"] for i in ok(cli, "--as", member, "toolkit", "list")}
        assert listed == {price["id"], pitch["id"], script["id"]}
    assert [i["id"] for i in ok(cli, "--as", "alice", "toolkit", "list", "--tag", "PRICING")] == [
        price["id"]
    ]
    assert ok(cli, "--as", "alice", "toolkit", "list", "--tag", "nothing") == []
    # title, tags, and the text of Markdown and plain-text files (all the words); not PDFs'
    search = ["--as", "alice", "toolkit", "search"]
    assert [i["id"] for i in ok(cli, *search, "discount")] == [price["id"]]
    assert [i["id"] for i in ok(cli, *search, "budget", "call")] == [script["id"]]
    assert [i["id"] for i in ok(cli, *search, "deck")] == [pitch["id"]]
    assert ok(cli, *search, "budget", "pricing") == []
    out = tmp_path / "copy.md"
    got = ok(cli, "--as", "alice", "toolkit", "get", price["id"][:7], "--out", str(out))
    assert out.read_bytes() == content and got["out"] == str(out)

    # an existing file is replaced only with --force, and a file of the store never
    out.write_bytes(b"my edits")
    again = cli("--as", "alice", "toolkit", "get", price["id"], "--out", str(out))
    assert again.code == 1 and "exists" in again.err and "--force" in again.err
    assert out.read_bytes() == b"my edits"
    ok(cli, "--as", "alice", "toolkit", "get", price["id"], "--out", str(out), "--force")
    assert out.read_bytes() == content
    config = (store / "salesctl.yaml").read_bytes()
    for target in (store / "salesctl.yaml", store):  # a directory: the item's name in it
        (store / "pricing.md").write_bytes(b"not tracked, still the store's")
        for extra in ((), ("--force",)):
            res = cli("--as", "alice", "toolkit", "get", price["id"], "--out", str(target), *extra)
            assert res.code == 1 and "is a file of the store" in res.err, res.err
    assert (store / "salesctl.yaml").read_bytes() == config
    assert (store / "pricing.md").read_bytes() == b"not tracked, still the store's"


def test_reps_may_not_add_or_remove_and_roles_can_change_that(
    store: Path, cli: Any, files: Path
) -> None:
    before = commits(store)
    assert (
        code(cli, "--as", "alice", "toolkit", "add", str(files / "pricing.md"), "--title", "X") == 3
    )
    assert commits(store) == before and not (store / "toolkit").exists()
    item = ok(cli, "--as", "lee", "toolkit", "add", str(files / "pricing.md"), "--title", "X")
    before = commits(store)
    assert code(cli, "--as", "alice", "toolkit", "remove", item["id"]) == 3
    assert commits(store) == before
    removed = ok(cli, "--as", "nick", "toolkit", "remove", item["id"])  # a lead of another team
    assert removed["id"] == item["id"] and commits(store) == before + 1
    assert not (store / "toolkit").exists() and ok(cli, "--as", "alice", "toolkit", "list") == []
    assert code(cli, "--as", "alice", "toolkit", "get", item["id"]) == 1


def test_configured_roles_decide_who_writes(
    tmp_path: Path, cli: Any, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIG + "roles:\n  rep: {scope: own, actions: [toolkit.add]}\n"
    root = make_store(tmp_path / "roles", config)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    assert ok(cli, "--as", "alice", "toolkit", "add", str(files / "pricing.md"), "--title", "X")


@pytest.mark.parametrize("name", [".env", "a:b.txt", "bad?.md", "item.yaml", "tab\tname.md"])
def test_unsafe_file_names_are_refused(store: Path, cli: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad" / name
    path.parent.mkdir()
    path.write_text("x")
    before = commits(store)
    result = cli("--as", "lee", "toolkit", "add", str(path), "--title", "X")
    assert result.code == 1 and "error:" in result.err
    assert commits(store) == before and not (store / "toolkit").exists()


def test_bad_input_is_one_line_and_changes_nothing(store: Path, cli: Any, tmp_path: Path) -> None:
    before = commits(store)
    assert (
        code(cli, "--as", "lee", "toolkit", "add", str(tmp_path / "missing.md"), "--title", "X")
        == 1
    )
    assert code(cli, "--as", "lee", "toolkit", "add", str(tmp_path), "--title", "X") == 1
    assert code(cli, "--as", "alice", "toolkit", "get", "TK-7KQ2") == 1
    assert code(cli, "--as", "alice", "toolkit", "search", " ") == 1
    assert commits(store) == before


def test_big_files_need_git_lfs(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_store(tmp_path / "small", CONFIG + "toolkit: {max_size_mb: 1}\n")
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    big = tmp_path / "deck.bin"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    before = commits(root)
    result = cli("--as", "lee", "toolkit", "add", str(big), "--title", "Deck")
    assert result.code == 1 and "salesctl toolkit init" in result.err
    assert commits(root) == before
    big.write_bytes(b"x" * (1024 * 1024))  # at the limit: taken
    assert ok(cli, "--as", "lee", "toolkit", "add", str(big), "--title", "Deck")["size"] == 1048576
    assert code(cli, "check") == 0


def test_a_bad_size_setting_is_reported(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_store(tmp_path / "bad", CONFIG + "toolkit: {max_size_mb: lots}\n")
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    result = cli("check", "-f", "json")
    assert result.code == 1 and "toolkit" in result.out


@LFS
def test_the_lfs_round_trip(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_store(tmp_path / "store", CONFIG + "toolkit: {max_size_mb: 1}\n")
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "remote", "add", "origin", str(remote))  # a local path: git-lfs serves it itself
    assert code(cli, "--as", "lee", "toolkit", "init") == 3  # .gitattributes is config
    assert not (root / ".gitattributes").exists()
    before = commits(root)
    assert ok(cli, "--as", "dana", "toolkit", "init")["id"] == ".gitattributes"
    assert commits(root) == before + 1
    assert "toolkit/** filter=lfs" in (root / ".gitattributes").read_text()
    content = bytes(range(256)) * (5 * 4096)  # 5 MB, over the 1 MB limit
    deck = tmp_path / "deck.bin"
    deck.write_bytes(content)
    item = ok(cli, "--as", "lee", "toolkit", "add", str(deck), "--title", "Deck", "--tag", "deck")
    path = f"toolkit/{item['id']}/deck.bin"
    blob = git(root, "cat-file", "-p", f"HEAD:{path}")
    assert blob.startswith(POINTER.decode()) and f"oid sha256:{sha(content)}" in blob
    meta = yaml.safe_load(git(root, "cat-file", "-p", f"HEAD:{item['path']}"))
    assert meta["sha256"] == sha(content)  # item.yaml stays a plain text blob
    assert git(root, "status", "--porcelain").strip() == ""
    assert code(cli, "check") == 0
    git(root, "push", "-q", "origin", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert (clone / path).read_bytes().startswith(POINTER)  # no filter yet: the pointer
    monkeypatch.setenv("SALESCTL_STORE", str(clone))
    assert code(cli, "--as", "alice", "toolkit", "get", item["id"], "--out", "x") == 1
    git(clone, "lfs", "install", "--local")
    git(clone, "lfs", "pull")
    out = tmp_path / "got.bin"
    ok(cli, "--as", "alice", "toolkit", "get", item["id"], "--out", str(out))
    assert sha(out.read_bytes()) == sha(content)
    assert [i["id"] for i in ok(cli, "--as", "alice", "toolkit", "search", "deck")] == [item["id"]]


def test_a_hand_edited_file_name_never_reaches_outside_the_item(
    store: Path, cli: Any, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = ok(cli, "--as", "lee", "toolkit", "add", str(files / "pricing.md"), "--title", "X")
    path = store / item["path"]
    path.write_text(path.read_text().replace("file: pricing.md", "file: ../../salesctl.yaml"))
    result = cli("check", "-f", "json")
    assert result.code == 1 and item["path"] in result.out
    monkeypatch.chdir(tmp_path)
    assert code(cli, "--as", "alice", "toolkit", "get", item["id"]) == 1
    assert not (tmp_path.parent / "salesctl.yaml").exists()
    assert [i["id"] for i in ok(cli, "--as", "alice", "toolkit", "search", "X")] == [item["id"]]


def test_the_gate_holds_the_same_rules(store: Path, cli: Any, files: Path) -> None:
    base = head(store)
    item = ok(cli, "--as", "lee", "toolkit", "add", str(files / "pricing.md"), "--title", "X")
    assert gate(cli, base, "lee") == (0, set())
    assert gate(cli, base, "alice") == (
        1,
        {f"toolkit/{item['id']}/item.yaml", f"toolkit/{item['id']}/pricing.md"},
    )
    # a rep's hand-made item: the item.yaml and the file beside it are both refused
    base = head(store)
    folder = store / "toolkit" / "TK-0000000000AB"
    folder.mkdir()
    (folder / "item.yaml").write_text((store / item["path"]).read_text())
    (folder / "pricing.md").write_text("mine\n")
    git(store, "add", "-A")
    git(
        store,
        "-c",
        "user.name=alice",
        "-c",
        "user.email=alice@acme.example",
        "commit",
        "-qm",
        "alice by hand",
    )
    assert gate(cli, base, "alice") == (
        1,
        {"toolkit/TK-0000000000AB/item.yaml", "toolkit/TK-0000000000AB/pricing.md"},
    )
    assert gate(cli, base, "lee")[0] == 0
    # only directors change .gitattributes
    base = head(store)
    (store / ".gitattributes").write_text("toolkit/** filter=lfs diff=lfs merge=lfs -text\n")
    git(store, "add", "-A")
    git(store, "-c", "user.name=lee", "-c", "user.email=lee@acme.example", "commit", "-qm", "x")
    assert gate(cli, base, "lee") == (1, {".gitattributes"})
    assert gate(cli, base, "dana")[0] == 0


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda text: text.replace("file: pricing.md\n", ""), "file: is missing"),
        (lambda text: text.replace("file: pricing.md", "file: null"), "file: is missing"),
        (lambda text: text.replace("file: pricing.md", "file: ''"), "file: is missing"),
        (lambda text: text.replace("file: pricing.md", "file: ../x"), "file: '../x' is not a"),
    ],
)
def test_a_broken_item_names_its_file_and_field_and_the_fix(
    store: Path, cli: Any, files: Path, tmp_path: Path, edit: Any, said: str
) -> None:
    """A hand-edited item.yaml without ``file:`` said "file None is not a file name"."""
    item = ok(cli, "--as", "lee", "toolkit", "add", str(files / "pricing.md"), "--title", "P")
    path = store / item["path"]
    path.write_text(edit(path.read_text("utf-8")), "utf-8")
    git(
        store,
        "-c",
        "user.name=Lee Chen",
        "-c",
        "user.email=lee@acme.example",
        "commit",
        "-qam",
        "x",
    )
    before = head(store), git(store, "status", "--porcelain")
    for args in (("get", item["id"], "--out", str(tmp_path / "x.md")), ("remove", item["id"])):
        result = cli("--as", "lee", "toolkit", *args)
        assert result.code == 1 and result.err.count("\n") == 1, result.err
        assert result.err.startswith(f"error: {item['path']}: {said}"), result.err
        assert f"set file: to the name of the file beside it in toolkit/{item['id']}/" in result.err
        assert "None" not in result.err
        assert (head(store), git(store, "status", "--porcelain")) == before
    assert [i["id"] for i in ok(cli, "--as", "alice", "toolkit", "search", "P")] == [item["id"]]


def test_add_names_a_directory_a_missing_path_and_a_pipe_for_what_they_are(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    """Field test 4, finding 13: `toolkit add /tmp` said "/tmp: no such file"."""
    before = commits(store)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, words in (
        (tmp_path, "is a directory, not a file"),
        (tmp_path / "nowhere.md", "no such file"),
        (fifo, "is not a regular file"),  # never read: it would block
    ):
        result = cli("--as", "lee", "toolkit", "add", str(path), "--title", "X")
        assert result.code == 1, result.err
        lines = result.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), result.err
        assert words in lines[0], result.err
    assert commits(store) == before
