"""Shared parameters as ``Annotated`` aliases, so command signatures read like sentences."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def _known_format(value: str | None) -> str | None:
    """Refuse an unknown --format before the command runs (and before it writes)."""
    from salesctl.cli._output import FORMATS

    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}")
    return value


FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        callback=_known_format,
        help="table, json, csv, excel (CSV with a BOM, for Excel) or yaml "
        "(default: table on a terminal, else json).",
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
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Figures as of this day (YYYY-MM-DD; default today).")
]
RecordArg = Annotated[
    str, typer.Argument(help="A lead or customer id, or any unique prefix of one.")
]
CustomerOfArg = Annotated[  # what a new deal or contract is for
    str, typer.Argument(help="The customer's id or a unique prefix.")
]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="From this date (YYYY-MM-DD, today, -2w).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Up to this date, inclusive.")]
AllowDuplicateOpt = Annotated[
    bool,
    typer.Option(
        "--allow-duplicate",
        help="Add it although another lead or customer has its company, phone or email "
        "(leads and directors; needs --reason).",
    ),
]
DuplicateReasonOpt = Annotated[
    str | None,
    typer.Option("--reason", help="With --allow-duplicate: why (kept in the record)."),
]


def as_of_day(text: str | None) -> Any:
    """``--as-of``'s day, or None for today (when not given: an empty one is no date)."""
    from salesctl.ops.sales.contract_rules import parse_day

    return parse_day(text, "--as-of") if text is not None else None
