"""``salesctl init`` and ``salesctl check``: creating and validating a store."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app()


@command(app, "init")
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


@command(app, "check")
def check(
    rev_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            help="Judge every change in A..B against the actor's write scope "
            "(instead of validating the work tree).",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="The member (id or forge login) the platform authenticated: the pusher "
            "or the pull request's author. Default: each commit's author (forgeable).",
        ),
    ] = None,
    require_signed: Annotated[
        bool,
        typer.Option(
            "--require-signed",
            help="Every commit must carry a good SSH signature by its author's key.",
        ),
    ] = False,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Validate the whole store: config, schemas, references, duplicate ids, paths.

    Prints every problem with its file (and line); exits 1 if there are any.
    Warnings (a member owning more open leads than pool.max_owned_leads) go to
    stderr and leave the exit code alone. With --range it walks every commit of
    A..B instead (adds, edits, deletions, renames, merges) and fails on each change
    outside the actor's write scope, then validates the records the range changed
    in B's tree.
    Example: salesctl check --range origin/main..HEAD --actor zhangwei
    """
    from salesctl.cli._output import emit

    if rev_range is not None:
        _check_range(s, rev_range, actor, require_signed, fmt)
        return
    if actor or require_signed:
        from salesctl.errors import UsageError

        raise UsageError("--actor and --require-signed need --range A..B")
    from salesctl.ops.collab.check import checked_store

    found = checked_store(s.store)
    problems = found.problems
    for warning in found.warnings:  # on stderr in every format: they do not fail the check
        typer.echo(f"warning: {warning}", err=True)
    if fmt in ("json", "yaml", "csv", "excel"):
        emit([{"where": p.where, "field": p.field, "message": p.message} for p in problems], fmt)
    else:
        for problem in problems:
            typer.echo(str(problem))
        warned = f", {len(found.warnings)} warning(s)" if found.warnings else ""
        summary = f"{len(problems)} problem(s)" if problems else "ok: no problems"
        typer.echo(summary + warned, err=True)
    if problems:
        raise typer.Exit(1)


def _check_range(
    s: Session, rev_range: str, actor: str | None, require_signed: bool, fmt: str | None
) -> None:
    """``check --range``: print each offending commit and path; exit 1 if there are any."""
    from salesctl.cli._output import emit
    from salesctl.ops.collab.audit import audit_range

    report = audit_range(s.store.root, rev_range, actor=actor, require_signed=require_signed)
    for warning in report.warnings:
        typer.echo(warning, err=True)
    if fmt in ("json", "yaml"):
        emit(report.as_json(), fmt)
    else:
        for line in report.lines():
            typer.echo(line)
    who = f"{actor}'s" if actor else "each author's"
    if report.ok:
        typer.echo(
            f"ok: {report.commits} commit(s) in {rev_range} within {who} write scope", err=True
        )
    else:
        count = len(report.violations) + len(report.problems)
        typer.echo(f"{count} problem(s) in {rev_range}", err=True)
        raise typer.Exit(1)
