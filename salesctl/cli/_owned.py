"""Verbs every owned-record noun shares, defined once and attached to each noun.

Issue 18's direction: a noun module keeps only its own verbs, and what leads and customers
share (today: ``reclaim``; next: list, show, edit, assign, claim, release, history) is
written here once, so the nouns cannot drift apart.
"""

# No ``from __future__ import annotations``: the commands built here are closures whose
# option types (their help names the noun) must be evaluated where they are defined.

from typing import Annotated

import typer

from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import describe_change, session

IdleDaysOpt = Annotated[
    int | None, typer.Option(help="Idle this many days (default: pool.reclaim_after_days).")
]


def add_reclaim(app: typer.Typer, kind: str, plural: str) -> None:
    """``<noun> reclaim``: return idle records of ``kind`` to the pool, or warn first."""

    @app.command("reclaim")
    def reclaim(
        ctx: typer.Context,
        idle_days: IdleDaysOpt = None,
        warn_days: Annotated[
            int | None,
            typer.Option(
                help=f"Only list, by owner, the {plural} the next reclaim takes and those "
                "that return within this many days; change nothing."
            ),
        ] = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        from salesctl.cli._output import emit
        from salesctl.ops.sales.ownership import group_by_owner, idle_records
        from salesctl.ops.sales.ownership import reclaim as reclaim_records

        s = session(ctx)
        days = idle_days or s.store.config.reclaim_after_days
        if warn_days is not None:
            soon = idle_records(s.store, s.actor, kind, idle_days=days, within_days=warn_days)
            emit(
                group_by_owner(soon) if fmt and fmt != "table" else [i.as_json() for i in soon],
                fmt,
                ("owner", "id", "last_touch", "returns_on"),
            )
            return
        idle, tx = reclaim_records(
            s.store, s.actor, kind, idle_days=days, commit=not no_commit, dry_run=dry_run
        )
        if dry_run:
            describe_change(tx)
        if fmt and fmt != "table":
            emit({"reclaimed": [i.as_json() for i in idle], "dry_run": dry_run}, fmt)
            return
        verb = "would return" if dry_run else "returned"
        where = f" in commit {tx.commit_id[:10]}" if tx.commit_id else ""
        typer.echo(f"{verb} {len(idle)} idle {kind}(s) to the pool{where}")
        for item in idle:
            typer.echo(f"  {item.id}  {item.owner}  last touch {item.last_touch}")

    reclaim.__doc__ = (
        f"Return {plural} with no follow-up for N days to the pool (cron-safe).\n\n"
        f"Example (cron, daily): salesctl --as wanglei {kind} reclaim --warn-days 3 --format json"
    )
    reclaim.__name__ = reclaim.__qualname__ = f"{kind}_reclaim"
