"""The CLI reference (``docs/cli-reference.md``), generated from the commands' own help.

    python -m salesctl.cli.reference > docs/cli-reference.md

``tests/test_docs.py`` regenerates it and fails on drift, and checks that every command's
help ends with an example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(name path, click command) for every leaf command, depth first, sorted by name."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name in sorted(subcommands):
        yield from walk(subcommands[name], (*path, name))


def render() -> str:
    import typer

    from salesctl.cli.app import _command

    root = _command()
    lines = [
        "# CLI reference",
        "",
        "Generated from the commands' help by `python -m salesctl.cli.reference`;",
        "`tests/test_docs.py` fails when this file drifts from the code.",
        "",
        "Global options: `--store PATH`, `--as MEMBER`, `--version`.",
        "",
    ]
    for path, command in walk(root):
        ctx = typer.Context(command, info_name=" ".join(("salesctl", *path)))
        lines += [
            f"## salesctl {' '.join(path)}",
            "",
            "```",
            command.get_help(ctx).rstrip(),
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    os.environ.setdefault("COLUMNS", "100")
    print(render(), end="")
