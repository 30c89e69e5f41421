"""``cli/_commands.py``: how ``@command`` turns a command's ``Session``, ``Write`` and other
bundles into CLI options and back, so every command gets the same options the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from salesctl.cli._commands import Bundle, Write, command, make_app, option
from salesctl.cli._session import Session

Colour = Annotated[str, typer.Option(help="A colour.")]
Size = Annotated[int, typer.Option(help="A size.")]


@dataclass(frozen=True)
class Shape(Bundle):
    OPTIONS = (option("colour", Colour, "red"), option("size", Size, 1))

    colour: str
    size: int


def as_alice(ctx: typer.Context) -> None:
    ctx.obj = Session(None, "alice")


def build(function: Any, name: str = "go") -> Any:
    root = make_app()
    root.callback()(as_alice)
    sub = make_app(name="thing")
    command(sub, name)(function)
    root.add_typer(sub)
    return root


def test_a_bundle_stands_in_its_place_and_comes_back_as_one_value() -> None:
    seen: list[Any] = []

    def thing_go(
        first: Annotated[str, typer.Argument()], *, shape: Shape, last: Size = 0, s: Session
    ) -> None:
        seen.append((first, shape, last, s.acting_as))

    app = build(thing_go)
    result = CliRunner().invoke(app, ["thing", "go", "x", "--size", "3", "--last", "9"])
    assert result.exit_code == 0, result.output
    assert seen == [("x", Shape("red", 3), 9, "alice")]
    helped = CliRunner().invoke(app, ["thing", "go", "--help"]).output
    # the bundle's options stand where the bundle stood: before --last
    assert helped.index("--colour") < helped.index("--size") < helped.index("--last")


def test_write_is_format_no_commit_and_dry_run_at_the_end() -> None:
    seen: list[Write] = []

    def thing_go(name: Annotated[str, typer.Option()] = "n", *, out: Write) -> None:
        seen.append(out)

    app = build(thing_go)
    result = CliRunner().invoke(app, ["thing", "go", "--dry-run", "-f", "json", "--name", "z"])
    assert result.exit_code == 0, result.output
    (out,) = seen
    assert (out.fmt, out.no_commit, out.dry_run, out.structured) == ("json", False, True, True)
    assert (out.opts.commit, out.opts.dry_run) == (True, True)
    assert out.session.acting_as == "alice"
    helped = CliRunner().invoke(app, ["thing", "go", "--help"]).output
    assert helped.index("--name") < helped.index("--format") < helped.index("--no-commit")
    assert helped.index("--no-commit") < helped.index("--dry-run")


def test_a_command_without_session_or_bundles_is_registered_as_written() -> None:
    def thing_go(count: Annotated[int, typer.Option()] = 2) -> None:
        typer.echo(count * "x")

    result = CliRunner().invoke(build(thing_go), ["thing", "go", "--count", "3"])
    assert (result.exit_code, result.output) == (0, "xxx\n")


@pytest.mark.parametrize("flag", ["--format", "--no-commit", "--dry-run"])
def test_a_read_has_no_write_options(flag: str) -> None:
    def thing_go(*, s: Session) -> None:
        typer.echo(s.acting_as)

    result = CliRunner().invoke(build(thing_go), ["thing", "go", flag])
    assert result.exit_code == 2 and "No such option" in result.output
