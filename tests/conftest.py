"""Shared fixtures: a fresh git store per test, a frozen clock, and an in-process CLI runner.

Everything points at temporary directories through ``$SALESCTL_STORE`` and the git
environment, so no test touches the developer's repositories or git identity.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from salesctl.cli.app import run

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
org: Acme Trading
currency: CNY
timezone: Asia/Shanghai
teams:
  - {id: east, name: East region}
  - {id: north, name: North region}
members:
  - {id: dana, name: Dana Wu, email: dana@acme.example, role: director}
  - {id: lee, name: Lee Chen, email: lee@acme.example, team: east, role: lead}
  - {id: alice, name: Alice Lin, email: alice@acme.example, team: east, role: rep}
  - {id: bob, name: Bob Li, email: bob@acme.example, team: east, role: rep}
  - {id: carol, name: Carol Xu, email: carol@acme.example, team: east, role: rep, active: false}
  - {id: nick, name: Nick Wang, email: nick@acme.example, team: north, role: lead}
  - {id: nora, name: 王娜, email: nora@acme.example, team: north, role: rep}
  - {id: fay, name: Fay Ho, email: fay@acme.example, role: finance}
  - {id: sam, name: Sam Service, email: sam@acme.example, role: service}
  - {id: ada, name: Ada Admin, email: ada@acme.example, role: admin}
pool:
  reclaim_after_days: 30
  max_owned_leads: 5
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's git config, identity or store."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)  # identities under the fake home
    names = ("SALESCTL_STORE", "SALESCTL_USER", "SALESCTL_DEBUG", "SALESCTL_IDENTITY")
    for name in (*names, "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-20T10:00:00+08:00")


def make_store(path: Path, config: str = CONFIG) -> Path:
    """A store as a real git repo with ``config`` committed by the director."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "salesctl.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    git(path, "add", "salesctl.yaml")
    git(
        path,
        "-c",
        "user.name=Dana Wu",
        "-c",
        "user.email=dana@acme.example",
        "commit",
        "-q",
        "-m",
        "config",
    )
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_store(tmp_path / "store")
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root


def ok(cli: Any, *args: str) -> Any:
    """A command's ``-f json`` output, asserting it succeeded."""
    result = cli(*args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return json.loads(result.out)


def refused(store: Path, cli: Any, *args: str) -> str:
    """Run a command that must be refused: exit 1, one ``error:`` line (no traceback, no
    internal error), nothing written: no commit, no file. Returns the error."""
    before = git(store, "rev-parse", "HEAD")
    result = cli(*args)
    assert result.code == 1, (args, result.out, result.err)
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert git(store, "rev-parse", "HEAD") == before
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
    return str(result.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run salesctl in-process: ``cli("--as", "alice", "lead", "list", "-f", "json")``."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def salesctl_subprocess(*args: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    """Run salesctl as a separate process (for concurrency and crash tests); pass
    ``stdout=`` an open file to see what it writes to a real file rather than a pipe."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    if "stdout" in kw:
        kw.setdefault("stderr", subprocess.PIPE)
    else:
        kw["capture_output"] = True
    return subprocess.run(
        [sys.executable, "-m", "salesctl", *args],
        env=full_env,
        text=True,
        **kw,
    )
