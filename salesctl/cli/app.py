"""The root ``salesctl`` command: global options, the top-level commands, and the error path.

Turning typer's tree into click commands costs ~0.1 s for all ~150 commands (each
signature's type hints), so a command builds only the top-level command or noun its argv
names (``COMMANDS`` says where each lives). ``--help``, no arguments, shell completion, the
CLI reference and an unknown name build the whole tree: their output lists every command.

Every ``SalesctlError`` becomes ``error: <what> (<how to fix>)`` on stderr with its exit
code (1 bad input / not found / conflict, 2 usage, 3 permission denied). Anything else is a
bug: a one-line message, or the full traceback with ``SALESCTL_DEBUG=1``.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Collection, Iterator, Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from salesctl import __version__
from salesctl.cli._commands import make_app, noun_of
from salesctl.cli._session import Session
from salesctl.errors import EXIT_INVALID, Invalid, SalesctlError

# Every top-level command and the module under ``salesctl/cli/`` that defines it, in the
# order ``--help`` lists them (plain commands first, then nouns, each in this order). A
# module's ``app`` is a noun (``salesctl lead ...``: its ``make_app(name=...)``) or holds
# top-level commands (``init``, ``check``), which join the root with their siblings.
# tests/test_cli_startup.py holds this table and the tree together.
COMMANDS: dict[str, str] = {
    "init": "store_cmds",
    "check": "store_cmds",
    "whoami": "members",
    "member": "members",
    "team": "members",
    "role": "members",
    "pipeline": "figures",
    "receivables": "figures",
    "stats": "figures",
    "dupes": "dupes",
    "lead": "leads",
    "customer": "customers",
    "contact": "contacts",
    "followup": "followups",
    "visit": "visits",
    "calendar": "calendar",
    "deal": "deals",
    "contract": "contracts",
    "task": "tasks",
    "report": "reports",
    "okr": "okrs",
    "competitor": "competitors",
    "feedback": "feedback",
    "toolkit": "toolkit",
    "history": "collab",
    "diff": "collab",
    "sync": "collab",
    "hook": "collab",
    "codeowners": "collab",
    "key": "keys",
    "encrypt": "keys",
    "rekey": "keys",
    "serve": "integrations",
    "notify": "integrations",
    "index": "index_cmds",
}

# Set when a shell asks for completions (typer's ``_<PROG>_COMPLETE``): they need every name.
COMPLETE_VAR = "_SALESCTL_COMPLETE"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salesctl {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="The store's directory (default: $SALESCTL_STORE, "
            "else the nearest parent with salesctl.yaml).",
        ),
    ] = None,
    acting_as: Annotated[
        str | None,
        typer.Option(
            "--as", help="Act as this member (default: $SALESCTL_USER, else git user.email)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = Session(store, acting_as)


def _build_app(names: Collection[str]) -> typer.Typer:
    """The root app with the top-level commands ``names`` (and their siblings) registered."""
    app = make_app(
        help="salesctl: a git-native sales CRM. Records are YAML files; every change is a commit."
    )
    app.callback()(root)
    modules = dict.fromkeys(module for name, module in COMMANDS.items() if name in names)
    for module in modules:
        sub: typer.Typer = importlib.import_module(f"salesctl.cli.{module}").app
        if noun_of(sub):
            app.add_typer(sub)
        else:  # top-level commands (and groups such as ``hook``) join the root
            app.registered_commands += sub.registered_commands
            app.registered_groups += sub.registered_groups
    return app


@functools.cache
def _command(names: tuple[str, ...] | None = None) -> Any:
    """The click command tree with only ``names`` at the top, or every command (None)."""
    command = typer.main.get_command(_build_app(tuple(COMMANDS) if names is None else names))
    _refuse_undecodable(command)
    return command


# Arguments that name files: a file name may be any bytes the file system allows (a GBK
# name unpacked from a Windows zip), and none of them is written into a record.
FILE_ARGUMENTS = frozenset({"file", "out", "path", "repo_dir"})


def _refuse_undecodable(command: Any) -> None:
    """Make every command refuse text arguments that are not UTF-8, naming the argument.

    Python hands such argv bytes over as lone surrogates (surrogateescape), which no record
    file can hold. Checked here, where the tree is built, no command can forget it."""
    if hasattr(command, "commands"):  # a group: its own options are --store and --as
        for sub in command.commands.values():
            _refuse_undecodable(sub)
        return
    callback = command.callback
    params = {param.name: param for param in command.params}

    @functools.wraps(callback)
    def checked(**kwargs: Any) -> Any:
        from salesctl.model.values import not_utf8

        for name, value in kwargs.items():
            problem = None if name in FILE_ARGUMENTS else not_utf8(value)
            if problem is not None:
                param = params[name]
                label = (
                    param.opts[0] if isinstance(param, TyperOption) else param.human_readable_name
                )
                raise Invalid(
                    f"argument {label} is not valid UTF-8 ({problem})",
                    "pass UTF-8 text; set the terminal to UTF-8, e.g. LANG=C.UTF-8",
                )
        return callback(**kwargs)

    command.callback = checked


def _value_counts(command: Any) -> Iterator[tuple[str, int]]:
    """(option spelling, how many arguments it takes) for each of ``command``'s options."""
    for param in command.params:
        if isinstance(param, TyperOption):
            takes = 0 if param.is_flag or param.count else param.nargs
            for spelling in (*param.opts, *param.secondary_opts):
                yield spelling, takes


def tree_for(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The top-level commands ``argv`` needs: the one it names, none for global options
    alone (``--version``), or None for the whole tree: no arguments and ``--help`` list
    every command, an unknown name's error suggests the nearest, and an option the root
    does not know is click's to report."""
    if not argv or COMPLETE_VAR in os.environ:
        return None
    takes = dict(_value_counts(_command(())))
    args = iter(argv)
    for arg in args:
        if arg == "--":
            arg = next(args, "")
        elif arg.startswith("-") and arg != "-":
            spelling, equals, _value = arg.partition("=")
            if spelling not in takes:
                return None
            for _skipped in range(0 if equals else takes[spelling]):
                next(args, None)
            continue
        return (arg,) if arg in COMMANDS else None
    return ()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by tests)."""
    if os.environ.get("SALESCTL_TRACE"):  # git.py logs each git call's time: show them
        _show_trace()
    try:
        command = _command(tree_for(sys.argv[1:] if argv is None else argv))
        command.main(args=argv, prog_name="salesctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_INVALID)
    except SalesctlError as exc:
        if os.environ.get("SALESCTL_DEBUG"):
            raise
        sys.stderr.write(f"error: {exc}\n")
        for line in getattr(exc, "details", ()):
            sys.stderr.write(f"  {line}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as exc:
        if os.environ.get("SALESCTL_DEBUG"):
            raise
        sys.stderr.write(f"error: {_unexpected(exc)}\n")
        return EXIT_INVALID
    return 0


def _unexpected(exc: Exception) -> str:
    """What an exception no layer expected says: a damaged index found where it is read
    past the index's own queries (which rebuild it themselves), or an internal error."""
    import sqlite3

    from salesctl.store import index_repair

    if isinstance(exc, sqlite3.DatabaseError) and index_repair.damaged(exc):
        return f"the index is damaged: {index_repair.reason(exc)} (run `salesctl index rebuild`)"
    return (
        f"internal error: {type(exc).__name__}: {exc} "
        "(rerun with SALESCTL_DEBUG=1 and report the traceback)"
    )


def _show_trace() -> None:
    import logging

    trace = logging.getLogger("salesctl.trace")
    if not trace.handlers:
        handler = logging.StreamHandler(sys.stderr)
        # when each call ended (ms from here), then how long it took: a timeline of overlaps
        handler.setFormatter(logging.Formatter("trace: at %(relativeCreated)5d ms: %(message)s"))
        trace.addHandler(handler)
        trace.setLevel(logging.DEBUG)


def main() -> None:
    sys.exit(run())
