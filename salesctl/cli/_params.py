"""Shared parameters as ``Annotated`` aliases, so command signatures read like sentences."""

from __future__ import annotations

from typing import Annotated

import typer

FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", help="table, json, csv or yaml (default: table on a terminal, else json)."
    ),
]
NoCommitOpt = Annotated[
    bool, typer.Option("--no-commit", help="Write the files but stage and commit nothing.")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what would change; change nothing.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="FIELD=VALUE (repeatable); custom fields as custom.NAME=VALUE."),
]
MemberOpt = Annotated[str | None, typer.Option(help="A member id.")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--where", help="FIELD=VALUE filter (repeatable), e.g. --where custom.region=North."
    ),
]
