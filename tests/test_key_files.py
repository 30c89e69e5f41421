"""The files the ``key`` commands and ``encrypt`` take: a missing file, a directory or a file
where a directory should be is one ``error:`` naming it, never an internal error; and a
``$SALESCTL_IDENTITY`` that is no identity is one error naming it, not a warning for each
sealed record (field test 4, findings 10 and 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def one_error(result: Any) -> str:
    """The single line a refused command prints."""
    assert result.code == 1, (result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.startswith("error: "), result.err
    assert "internal error" not in result.err
    return str(result.err)


def test_key_decrypt_names_a_missing_file_or_a_directory(tmp_path: Path, cli: Any) -> None:
    missing = one_error(cli("key", "decrypt", str(tmp_path / "nowhere.yaml")))
    assert f"{tmp_path / 'nowhere.yaml'}: no such file" in missing
    folder = one_error(cli("key", "decrypt", str(tmp_path)))
    assert f"{tmp_path} is a directory" in folder
    plain = tmp_path / "plain.yaml"
    plain.write_text("id: L-1\n", encoding="utf-8")
    shown = cli("key", "decrypt", str(plain))
    assert shown.code == 0 and shown.out == "id: L-1\n"


def test_key_init_and_show_refuse_a_directory_or_a_file_on_the_way(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    monkeypatch.setenv("SALESCTL_IDENTITY", str(folder))
    for args in (("key", "init"), ("key", "init", "--force"), ("key", "show")):
        err = one_error(cli(*args))
        assert str(folder) in err and "is a directory" in err, err
    assert not (tmp_path / "keys.tmp").exists() and not list(folder.iterdir())

    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a directory\n", encoding="utf-8")
    monkeypatch.setenv("SALESCTL_IDENTITY", str(a_file / "identity.txt"))
    err = one_error(cli("key", "init"))
    assert f"{a_file} is a file, not a directory" in err
    assert a_file.read_text(encoding="utf-8") == "not a directory\n"


def test_encrypt_demo_keys_that_is_a_file_is_refused(store: Path, cli: Any, tmp_path: Path) -> None:
    a_file = tmp_path / "keys"
    a_file.write_text("x\n", encoding="utf-8")
    err = one_error(cli("--as", "dana", "encrypt", "--demo-keys", str(a_file)))
    assert f"--demo-keys {a_file} is a file" in err
    assert "encryption" not in (store / "salesctl.yaml").read_text(encoding="utf-8")


@pytest.fixture
def sealed_store(store: Path, cli: Any, tmp_path: Path) -> Path:
    """The test store with leads of alice's, encrypted with demo keys in ``tmp_path/keys``."""
    for company in ("Hangzhou Tea Co", "Suzhou Silk Ltd"):
        added = cli("--as", "alice", "lead", "add", "--company", company)
        assert added.code == 0, added.err
    done = cli("--as", "dana", "encrypt", "--demo-keys", str(tmp_path / "keys"))
    assert done.code == 0, done.err
    return tmp_path / "keys"


@pytest.mark.parametrize("broken", ["garbage", "directory", "missing"])
def test_a_broken_identity_is_one_error_naming_salesctl_identity(
    sealed_store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    monkeypatch.setenv("SALESCTL_IDENTITY", str(sealed_store / "alice.txt"))
    listed = cli("--as", "alice", "lead", "list", "-f", "json")
    assert listed.code == 0 and len(listed.json()) == 2, listed.err

    identity = tmp_path / "identity"
    if broken == "garbage":
        identity.write_text("garbage\n", encoding="utf-8")
    elif broken == "directory":
        identity.mkdir()
    monkeypatch.setenv("SALESCTL_IDENTITY", str(identity))
    for args in (("lead", "list"), ("lead", "list", "-f", "json")):
        err = one_error(cli("--as", "alice", *args))
        assert f"{identity} ($SALESCTL_IDENTITY)" in err, err
