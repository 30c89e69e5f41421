"""Working together through git: ``history``, ``diff``, ``sync``, ``hook``, ``codeowners``.

(``check --range``, the permission gate for pushes and pull requests, is in store_cmds.)
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import DryRunOpt, FormatOpt
from salesctl.cli._session import Session, in_commit

app = make_app()


@command(app, "history")
def history(
    record_id: Annotated[str, typer.Argument(help="A record id or unique prefix (L-7KQ2).")],
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """A record's life from git, newest first: who changed which field when, and its
    moves between owners (assign, claim, release, reclaim) and follow-ups.

    Example: salesctl history L-7KQ2
    """
    show_history(s, fmt, record_id)


def show_history(s: Session, fmt: str | None, record_id: str, kinds: tuple[str, ...] = ()) -> None:
    """A record's history as a table or JSON (``history`` and each noun's ``history``)."""
    from salesctl.cli._output import default_format, emit
    from salesctl.ops.collab.history import history_rows, record_history

    entries = record_history(s.store, s.actor, record_id, kinds)
    if (fmt or default_format()) == "table":
        counted = (len(entries), "entry", "entries")  # an entry of several changes: rows
        emit(history_rows(entries), "table", ("date", "who", "action", "change"), counted=counted)
    else:
        emit([e.as_json() for e in entries], fmt)


@command(app, "diff")
def diff(
    rev_range: Annotated[
        str | None,
        typer.Argument(help="A..B, A...B or a commit (default: upstream...HEAD)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table, md (a pull request comment) or json."),
    ] = None,
    *,
    s: Session,
) -> None:
    """What a range changes, record by record: created, deleted, moved, and each field.

    Example: salesctl diff origin/main...HEAD --format md
    """
    from salesctl.cli._output import default_format, emit
    from salesctl.ops.collab.diff import diff_markdown, diff_rows, range_diff

    result = range_diff(s.store, s.actor, rev_range)
    chosen = fmt or default_format()
    if chosen in ("md", "markdown"):
        sys.stdout.write(diff_markdown(result))
    elif chosen == "table":
        emit(diff_rows(result), "table", ("id", "kind", "change", "field", "old", "new"))
    else:
        emit(result.as_json(), chosen)


@command(app, "sync")
def sync(
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            help="Settle conflicting fields: 'remote' keeps theirs, 'local' keeps yours.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="How long to keep retrying while others push first (jittered back-off).",
        ),
    ] = 60.0,
    drop: Annotated[
        list[str] | None,
        typer.Option(
            "--drop",
            metavar="COMMIT",
            help="Take this unpushed commit of yours out first (repeatable).",
        ),
    ] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Fetch, rebase your commits onto the remote, push; retry if someone pushed first.

    A conflict (a field set differently on both sides) stops with both values and
    changes nothing. If the remote still kept moving when --timeout runs out, it says
    how many local commits wait (exit 1); they stay safe in the clone. A commit that
    now writes to a record the remote gave someone else stops sync before it pushes
    (exit 3), saying how to keep it or to --drop it.
    Example: salesctl sync --timeout 120
    """
    from salesctl.cli._output import emit
    from salesctl.errors import NotFound
    from salesctl.ops.collab.sync import sync as sync_store

    try:
        actor = s.actor
    except NotFound:
        actor = None  # rebasing then uses git's own committer identity
    result = sync_store(s.store, actor, keep=keep, timeout=timeout, drop=drop or ())
    if fmt and fmt != "table":
        emit(result.as_json(), fmt)
        return
    for dropped in result.dropped:
        short = dropped.split(" ", 1)[0]
        typer.echo(f"dropped {dropped} (still readable: `git show {short}`)")
    if not (result.received or result.pushed):
        typer.echo(f"up to date with {result.remote}/{result.branch}")
    else:
        typer.echo(
            f"synced with {result.remote}/{result.branch}: received {result.received}, "
            f"pushed {result.pushed} commit(s)"
            + (f" after {result.attempts} attempts" if result.attempts > 1 else "")
        )


hook_app = make_app(help="The server-side pre-receive hook that enforces write scopes.")
app.add_typer(hook_app, name="hook")


@hook_app.command("install")
def hook_install(
    repo_dir: Annotated[str, typer.Argument(help="The bare repository people push to.")],
    require_signed: Annotated[
        bool,
        typer.Option("--require-signed", help="Also demand SSH signatures by the author."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace another pre-receive hook (kept as .orig).")
    ] = False,
) -> None:
    """Install a pre-receive hook that rejects pushes outside the pusher's scope.

    The pusher comes from the server's environment: GL_USERNAME (GitLab),
    GITEA_PUSHER_NAME (Gitea), GL_USER (gitolite) or SALESCTL_PUSHER.
    Example: salesctl hook install /srv/git/sales.git
    """
    from pathlib import Path

    from salesctl.ops.collab.hooks import install_hook

    target = install_hook(Path(repo_dir), require_signed=require_signed, force=force)
    typer.echo(f"installed {target}")


@hook_app.command("pre-receive", hidden=True)
def hook_pre_receive(
    require_signed: Annotated[bool, typer.Option("--require-signed")] = False,
) -> None:
    """What the installed hook runs (reads git's ref updates on stdin).

    Example: (run by git) salesctl hook pre-receive < updates
    """
    import os
    from pathlib import Path

    from salesctl.ops.collab.hooks import parse_updates, pre_receive
    from salesctl.ops.collab.sync import HOOK_REJECTION  # how sync tells our refusals

    verdict = pre_receive(
        Path.cwd(),
        parse_updates(sys.stdin.read().splitlines()),
        os.environ,
        require_signed=require_signed,
    )
    for warning in verdict.warnings:
        if "no --actor" not in warning:
            typer.echo(warning, err=True)
    if verdict.accepted:
        return
    typer.echo(f"{HOOK_REJECTION} for {verdict.pusher or 'an unknown pusher'}:", err=True)
    for reason in verdict.reasons:
        typer.echo(f"  {reason}", err=True)
    raise typer.Exit(1)


@command(app, "codeowners")
def codeowners(
    write: Annotated[
        bool,
        typer.Option("--write", help="Write CODEOWNERS and commit it (directors, admins)."),
    ] = False,
    dry_run: DryRunOpt = False,
    *,
    s: Session,
) -> None:
    """Print (or --write) a CODEOWNERS file from the config so forges ask the right
    reviewers: member directories by the member and their lead, team directories by the
    lead, config and CI by directors and admins.

    Example: salesctl codeowners --write
    """
    from salesctl.ops.collab.hooks import codeowners_text, write_codeowners
    from salesctl.store.results import WriteOpts

    if not write:
        sys.stdout.write(codeowners_text(s.store.config))
        return
    written = write_codeowners(s.store, s.actor, opts=WriteOpts(dry_run=dry_run))
    if written is None:
        typer.echo("CODEOWNERS is up to date")
    elif dry_run:
        typer.echo("would write CODEOWNERS")
    else:
        typer.echo(f"wrote CODEOWNERS{in_commit(written)}")
