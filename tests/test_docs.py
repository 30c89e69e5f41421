"""The docs stay true: the CLI reference matches the code, every command shows an example."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesctl.cli.app import _command
from salesctl.cli.reference import render, walk

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")


def test_cli_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "regenerate: python -m salesctl.cli.reference > docs/cli-reference.md"
    )


def test_every_command_has_an_example_in_its_help() -> None:
    missing = [
        " ".join(path)
        for path, command in walk(_command())
        if "Example" not in (command.help or "")
    ]
    assert missing == []


def test_readme_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(commands) == 2
    assert "report weekly" in commands[0] and "pytest" in commands[1]
