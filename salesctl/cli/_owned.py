"""Verbs every owned-record noun shares, defined once and attached to each noun.

Issue 18's direction: a noun module keeps only its own verbs, and what leads and customers
share (today: ``reclaim``; next: list, show, edit, assign, claim, release, history) is
written here once, so the nouns cannot drift apart.
"""

# No ``from __future__ import annotations``: the commands built here are closures whose
# option types (their help names the noun) must be evaluated where they are defined.

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt, SetOpt
from salesctl.cli._session import describe_change, edit_in_editor, report_change, session


@dataclass(frozen=True)
class Noun:
    """An owned-record noun as its shared verbs name it: ``lead``/``leads``, its example
    ids, and the examples each verb's help ends with."""

    kind: str
    plural: str
    id_example: str  # L-7KQ2
    assign_example: str
    claim_example: str
    release_example: str
    claim_cap: str  # what pool.max_owned_leads counts for this noun
    edit_example: str


def add_ownership_verbs(app: typer.Typer, noun: Noun) -> None:
    """``edit``, ``assign``, ``claim``, ``release`` and ``reclaim`` for ``noun``."""
    kind, plural = noun.kind, noun.plural
    ids_help = f"{kind.capitalize()} ids or unique prefixes."
    id_help = f"A {kind} id or any unique prefix of one ({noun.id_example})."

    def edit(
        ctx: typer.Context,
        ids: Annotated[str, typer.Argument(help=id_help)],
        set_: SetOpt = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        from salesctl.model.kinds import KINDS
        from salesctl.ops.records import edit_record

        s = session(ctx)
        document = None if set_ else edit_in_editor(s.store, ids, (kind,))
        record, tx = edit_record(
            s.store, s.actor, KINDS[kind], ids, sets=set_ or (), document=document,
            commit=not no_commit, dry_run=dry_run,
        )  # fmt: skip
        report_change(record, tx, fmt, verb="edited", dry_run=dry_run, no_commit=no_commit)

    def assign(
        ctx: typer.Context,
        ids: Annotated[list[str], typer.Argument(help=ids_help)],
        to: Annotated[str, typer.Option("--to", help="The new owner.")],
        participant: Annotated[
            list[str] | None,
            typer.Option("--participant", help="A supporting member (repeatable)."),
        ] = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        from salesctl.ops.sales.ownership import assign as assign_records

        s = session(ctx)
        rows, tx = assign_records(
            s.store, s.actor, kind, ids, to=to, participants=participant or (),
            commit=not no_commit, dry_run=dry_run,
        )  # fmt: skip
        report_change(
            rows, tx, fmt, verb=f"assigned to {to}:", dry_run=dry_run, no_commit=no_commit
        )

    def claim(
        ctx: typer.Context,
        ids: Annotated[list[str], typer.Argument(help=ids_help)],
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        from salesctl.ops.sales.ownership import claim as claim_records

        s = session(ctx)
        rows, tx = claim_records(s.store, s.actor, kind, ids, commit=not no_commit, dry_run=dry_run)
        report_change(rows, tx, fmt, verb="claimed", dry_run=dry_run, no_commit=no_commit)

    def release(
        ctx: typer.Context,
        ids: Annotated[list[str], typer.Argument(help=ids_help)],
        reason: Annotated[str | None, typer.Option(help="Why it goes back.")] = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        from salesctl.ops.sales.ownership import release as release_records

        s = session(ctx)
        rows, tx = release_records(
            s.store, s.actor, kind, ids, reason=reason, commit=not no_commit, dry_run=dry_run
        )
        report_change(rows, tx, fmt, verb="released", dry_run=dry_run, no_commit=no_commit)

    _attach(app, "edit", edit, kind, (
        f"Change a {kind}'s fields with --set, or in $EDITOR when no --set is given.\n\n"
        f"Example: {noun.edit_example}"
    ))  # fmt: skip
    _attach(app, "assign", assign, kind, (
        f"Give {plural} to a member (team leads within their team; directors anywhere).\n\n"
        f"Example: {noun.assign_example}"
    ))  # fmt: skip
    _attach(app, "claim", claim, kind, (
        f"Take {plural} from the pool (up to pool.max_owned_leads {noun.claim_cap}).\n\n"
        f"Example: {noun.claim_example}"
    ))  # fmt: skip
    _attach(app, "release", release, kind, (
        f"Return {plural} to the pool, with the reason recorded.\n\n"
        f"Example: {noun.release_example}"
    ))  # fmt: skip
    add_reclaim(app, kind, plural)


def _attach(app: typer.Typer, verb: str, command: Callable[..., None], kind: str, doc: str) -> None:
    """Register a shared verb on ``noun``'s app: its help, a name that says what it does
    (``lead_assign``), and its id argument named for the noun (``lead_ids``), as a verb
    written for that noun alone would have."""
    ids_name = f"{kind}_id" if verb == "edit" else f"{kind}_ids"
    signature = inspect.signature(command)
    params = [
        p.replace(name=ids_name) if p.name == "ids" else p for p in signature.parameters.values()
    ]

    @functools.wraps(command)
    def named(*args: Any, **kwargs: Any) -> None:
        if ids_name in kwargs:
            kwargs["ids"] = kwargs.pop(ids_name)
        command(*args, **kwargs)

    named.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    named.__doc__ = doc
    named.__name__ = named.__qualname__ = f"{kind}_{verb}"
    app.command(verb)(named)


IdleDaysOpt = Annotated[
    int | None, typer.Option(help="Idle this many days (default: pool.reclaim_after_days).")
]


def add_reclaim(app: typer.Typer, kind: str, plural: str) -> None:
    """``<noun> reclaim``: return idle records of ``kind`` to the pool, or warn first."""

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

    _attach(app, "reclaim", reclaim, kind, (
        f"Return {plural} with no follow-up for N days to the pool (cron-safe).\n\n"
        f"Example (cron, daily): salesctl --as wanglei {kind} reclaim --warn-days 3 --format json"
    ))  # fmt: skip
