"""Start-up: a command builds only its own top-level command, and nothing else changes.

``salesctl.cli.app.COMMANDS`` says where every top-level command lives; these tests hold it
and the whole tree together, and pin what the lazy path must not import.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from salesctl.cli._commands import noun_of
from salesctl.cli.app import COMMANDS, COMPLETE_VAR, _command, tree_for
from salesctl.cli.reference import walk

# -- the table and the tree ----------------------------------------------------------------------


def test_the_table_names_every_top_level_command_and_nothing_else() -> None:
    assert sorted(_command().commands) == sorted(COMMANDS)


def test_every_command_module_of_the_cli_is_in_the_table() -> None:
    """A new module with commands (an ``app``) cannot be left out of the CLI, and a noun's
    module holds that noun alone."""
    import salesctl.cli

    modules = [info.name for info in pkgutil.iter_modules(salesctl.cli.__path__)]
    with_app = {
        name for name in modules if hasattr(importlib.import_module(f"salesctl.cli.{name}"), "app")
    }
    assert with_app - {"app"} == set(COMMANDS.values())
    for name, module in COMMANDS.items():
        noun = noun_of(importlib.import_module(f"salesctl.cli.{module}").app)
        assert noun in (None, name)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_built_alone_is_the_one_in_the_whole_tree(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    alone, whole = _command((name,)).commands[name], _command().commands[name]
    assert alone.help == whole.help

    def helps(command: Any) -> list[tuple[tuple[str, ...], str]]:
        return [(path, leaf.get_help(leaf.context_class(leaf))) for path, leaf in walk(command)]

    assert helps(alone) == helps(whole)


def nouns() -> list[str]:
    """The top-level commands that are a noun's app (``lead``), not a plain command."""
    return [
        name
        for name, module in COMMANDS.items()
        if noun_of(importlib.import_module(f"salesctl.cli.{module}").app) == name
    ]


@pytest.mark.parametrize("noun", nouns())
def test_a_noun_is_built_without_the_others(noun: str) -> None:
    assert list(_command((noun,)).commands) == [noun]


# -- which tree argv needs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "tree"),
    [
        (["--as", "alice", "lead", "show", "L-7KQ2"], ("lead",)),
        (["--as=alice", "--store=/s", "pipeline", "-f", "json"], ("pipeline",)),
        (["--store", "/s", "--as=alice", "receivables"], ("receivables",)),
        (["--store", "lead", "--as", "task", "deal", "list"], ("deal",)),  # values, not names
        (["lead", "--help"], ("lead",)),
        (["--", "whoami"], ("whoami",)),
        (["--version"], ()),
        (["--as", "alice"], ()),
        (["--store"], ()),
        ([], None),
        (["--help"], None),
        (["--as", "alice", "--help", "lead"], None),
        (["leed", "show"], None),
        (["--bogus", "lead"], None),
    ],
)
def test_the_tree_argv_needs(argv: list[str], tree: tuple[str, ...] | None) -> None:
    assert tree_for(argv) == tree


def test_shell_completion_needs_the_whole_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMPLETE_VAR, "complete_bash")
    assert tree_for(["lead"]) is None


# -- through the CLI -----------------------------------------------------------------------------


def listed_commands(help_text: str) -> list[str]:
    section = help_text.split("Commands:\n", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ")]


def test_help_lists_every_command(cli: Any) -> None:
    result = cli("--help")
    assert result.code == 0
    assert sorted(listed_commands(result.out)) == sorted(COMMANDS)


def test_no_arguments_show_the_whole_help(cli: Any) -> None:
    result = cli()
    assert result.code == 2
    assert sorted(listed_commands(result.out + result.err)) == sorted(COMMANDS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("leed", "show"), "Error: No such command 'leed'. Did you mean 'lead'?"),
        (("--as", "alice", "bogus"), "Error: No such command 'bogus'."),
        (("--bogus", "lead"), "Error: No such option: --bogus"),
        (("--as", "alice"), "Error: Missing command."),
    ],
)
def test_usage_errors_are_unchanged(cli: Any, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert result.err.startswith("Usage: salesctl [OPTIONS] COMMAND [ARGS]...\n")
    assert result.err.rstrip().endswith(message)


def test_version_needs_no_command(cli: Any) -> None:
    from salesctl import __version__

    result = cli("--version")
    assert (result.code, result.out) == (0, f"salesctl {__version__}\n")


@pytest.mark.parametrize("form", ["--opt value", "--opt=value"])
def test_global_options_before_the_command(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    added = cli("--as", "alice", "lead", "add", "--company", "Global Co", "-f", "json")
    assert added.code == 0, added.err
    funnel_from_env = cli("--as", "dana", "pipeline", "-f", "json")
    assert funnel_from_env.code == 0, funnel_from_env.err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("SALESCTL_STORE")

    def options(member: str) -> list[str]:
        if form == "--opt value":
            return ["--store", str(store), "--as", member]
        return [f"--store={store}", f"--as={member}"]

    shown = cli(*options("alice"), "lead", "show", added.json()["id"], "-f", "json")
    assert shown.code == 0, shown.err
    assert shown.json()["company"] == "Global Co"
    me = cli(*options("bob"), "whoami", "-f", "json")
    assert me.code == 0, me.err
    assert me.json()["id"] == "bob"
    funnel = cli(*options("dana"), "pipeline", "-f", "json")
    assert (funnel.code, funnel.out) == (0, funnel_from_env.out)


def test_a_command_imports_only_its_own_noun(store: Path, cli: Any) -> None:
    added = cli("--as", "alice", "lead", "add", "--company", "Lean Co", "-f", "json")
    probe = (
        "import sys; from salesctl.cli.app import run; "
        f"code = run(['--as', 'alice', 'lead', 'show', {added.json()['id']!r}, '-f', 'json']); "
        "print(code, *sorted(m for m in sys.modules if m.startswith('salesctl.')), "
        "*sorted({m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    code, *modules = out.splitlines()[-1].split()
    assert code == "0"
    cli_modules = {m for m in modules if m.startswith("salesctl.cli.")}
    assert cli_modules == {
        "salesctl.cli._commands",
        "salesctl.cli._output",
        "salesctl.cli._owned",  # the verbs leads share with customers
        "salesctl.cli._params",
        "salesctl.cli._session",
        "salesctl.cli.app",
        "salesctl.cli.leads",
    }
    other_nouns = {
        "salesctl.ops.sales.deals",
        "salesctl.ops.sales.contracts",
        "salesctl.ops.sales.contract_figures",
        "salesctl.ops.sales.contract_rules",
        "salesctl.ops.sales.payments",
        "salesctl.ops.sales.receivables",
        "salesctl.reports.build",
        "salesctl.reports.commit",
        "salesctl.reports.formats",
    }
    assert not other_nouns & set(modules)
    assert not {"csv", "tabulate", "jinja2", "icalendar"} & set(modules)
    assert not {"hashlib", "secrets", "logging", "zoneinfo"} & set(modules)  # writes' and rare


def test_commands_a_registrar_adds_work(tmp_path: Path, cli: Any) -> None:
    new_store = tmp_path / "new"
    assert cli("init", str(new_store)).code == 0
    checked = cli(f"--store={new_store}", "check", "-f", "json")
    assert (checked.code, checked.json()) == (0, [])
    members = cli("--store", str(new_store), "member", "list", "-f", "json")
    assert members.code == 0, members.err
    assert [m["role"] for m in members.json()] == ["director"]
