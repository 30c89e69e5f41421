"""``salesctl init`` and ``salesctl check``: creating and validating a store."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._params import FormatOpt
from salesctl.cli._session import session


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        path: Annotated[str, typer.Argument(help="Directory for the new store.")] = ".",
        sample: Annotated[
            bool, typer.Option("--sample", help="Copy the bundled sample store.")
        ] = False,
    ) -> None:
        """Create a store: a git repository with salesctl.yaml and one commit.

        Example: salesctl init ~/sales --sample
        """
        from pathlib import Path

        from salesctl.ops.setup import init_store

        root, commit = init_store(Path(path), sample=sample)
        typer.echo(f"created store {root} (commit {commit[:10]})")
        if not sample:
            typer.echo("next: edit salesctl.yaml to add your teams and members, then commit it")

    @app.command("check")
    def check(ctx: typer.Context, fmt: FormatOpt = None) -> None:
        """Validate the whole store: config, schemas, references, duplicate ids, paths.

        Prints every problem with its file (and line); exits 1 if there are any.
        Example: salesctl check
        """
        from salesctl.cli._output import emit
        from salesctl.ops.check import check_store

        problems = check_store(session(ctx).store)
        if fmt in ("json", "yaml", "csv"):
            emit(
                [{"where": p.where, "field": p.field, "message": p.message} for p in problems], fmt
            )
        else:
            for problem in problems:
                typer.echo(str(problem))
            typer.echo(f"{len(problems)} problem(s)" if problems else "ok: no problems", err=True)
        if problems:
            raise typer.Exit(1)
