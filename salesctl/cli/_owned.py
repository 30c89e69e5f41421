"""The verbs every owned-record noun shares, defined once: list, show, edit, assign, claim,
release, reclaim, history.

A noun module (``cli/leads.py``, ``cli/customers.py``) declares each of its commands as a
top-level function (``def lead_assign``) with the options that noun has, and hands the work
to the verb here with its ``Noun``: the same op, the same output, the same options for every
noun, so the nouns cannot drift apart. The help texts are written once too (``Noun.help``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from salesctl.cli._session import in_commit

Command = Callable[..., None]

if TYPE_CHECKING:
    from salesctl.cli._commands import Write
    from salesctl.cli._session import Session


@dataclass(frozen=True)
class Noun:
    """An owned-record noun as its shared verbs name it: ``lead``/``leads`` and its table
    columns."""

    kind: str
    plural: str
    columns: tuple[str, ...]
    claim_cap: str  # what pool.max_owned_leads counts for this noun


def verb(app: typer.Typer, noun: Noun, name: str) -> Callable[[Command], Command]:
    """Register a noun's shared verb ``name``: its help is the verb's, written once here,
    followed by the command's own docstring (the noun's example)."""
    from salesctl.cli._commands import command

    def register(function: Command) -> Command:
        text = HELP[name].format(kind=noun.kind, plural=noun.plural, claim_cap=noun.claim_cap)
        example = inspect.cleandoc(function.__doc__ or "")
        return command(app, name, help=f"{text}\n\n{example}")(function)

    return register


HELP = {
    "edit": "Change a {kind}'s fields with --set, or in $EDITOR when no --set is given.",
    "assign": "Give {plural} to a member (team leads within their team; directors anywhere).",
    "claim": "Take {plural} from the pool (up to pool.max_owned_leads {claim_cap}).",
    "release": "Return {plural} to the pool, with the reason recorded.",
    "reclaim": "Return {plural} with no follow-up for N days to the pool (cron-safe).",
    "history": "A {kind}'s life from git, newest first: field changes, moves, follow-ups.",
}

# Options the shared verbs take, the same for every noun.
NewOwner = Annotated[str, typer.Option("--to", help="The new owner.")]
Participants = Annotated[
    list[str] | None, typer.Option("--participant", help="A supporting member (repeatable).")
]
Reason = Annotated[str | None, typer.Option(help="Why it goes back.")]
TeamOpt = Annotated[str | None, typer.Option(help="A team id.")]
# ... and the options a new lead or customer takes (``add``), the same for both.
FirstOwner = Annotated[str | None, typer.Option("--to", help="Owner (default: you).")]
InPool = Annotated[bool, typer.Option("--pool", help="Put it in the shared pool.")]
Source = Annotated[str | None, typer.Option(help="Where it came from.")]
# ... and what ``edit`` takes to give one the company, phone or email of another.
EditAllowDuplicate = Annotated[
    bool,
    typer.Option(
        "--allow-duplicate",
        help="Set it although another lead or customer has that company, phone or email "
        "(leads and directors; needs --reason).",
    ),
]
IdleDays = Annotated[
    int | None,
    typer.Option(min=1, help="Idle this many days (default: pool.reclaim_after_days)."),
]


def warn_days_option(plural: str) -> Any:
    return typer.Option(
        min=0,
        help=f"Only list, by owner, the {plural} the next reclaim takes and those "
        "that return within this many days; change nothing.",
    )


def show(s: Session, fmt: str | None, noun: Noun, record_id: str) -> None:
    from salesctl.cli._output import emit
    from salesctl.ops.records import show_record

    emit(show_record(s.store, s.actor, record_id, (noun.kind,)), fmt)


def list_(fmt: str | None, noun: Noun, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of a noun's list (a warning names each broken file they skipped)."""
    from salesctl.cli._output import emit, table_columns

    emit(rows, fmt, table_columns(fmt, noun.columns))


def history(s: Session, fmt: str | None, noun: Noun, record_id: str) -> None:
    from salesctl.cli.collab import show_history

    show_history(s, fmt, record_id, (noun.kind,))


def edit(
    out: Write,
    noun: Noun,
    record_id: str,
    sets: list[str] | None,
    allow_duplicate: bool = False,
    reason: str | None = None,
) -> None:
    from salesctl.cli._session import edit_in_editor
    from salesctl.model.kinds import KINDS
    from salesctl.ops.records import edit_record

    s = out.session
    document = None if sets else edit_in_editor(s.store, record_id, (noun.kind,))
    edited = out.call(
        edit_record, KINDS[noun.kind], record_id, sets=sets or (), document=document,
        allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip
    out.report(edited, "edited")


def assign(out: Write, noun: Noun, ids: list[str], to: str, participants: list[str] | None) -> None:
    from salesctl.ops.sales.ownership import assign as assign_records

    moved = out.call(assign_records, noun.kind, ids, to=to, participants=participants or ())
    out.report(moved, f"assigned to {to}:")


def claim(out: Write, noun: Noun, ids: list[str]) -> None:
    from salesctl.ops.sales.ownership import claim as claim_records

    out.report(out.call(claim_records, noun.kind, ids), "claimed")


def release(out: Write, noun: Noun, ids: list[str], reason: str | None) -> None:
    from salesctl.ops.sales.ownership import release as release_records

    out.report(out.call(release_records, noun.kind, ids, reason=reason), "released")


def reclaim(out: Write, noun: Noun, idle_days: int | None, warn_days: int | None) -> None:
    """Return idle records to the pool, or (``warn_days``) only list who loses what soon."""
    from salesctl.cli._output import emit, warn_skipped
    from salesctl.ops.sales.ownership import group_by_owner, idle_records
    from salesctl.ops.sales.ownership import reclaim as reclaim_records

    s, kind = out.session, noun.kind
    days = idle_days or s.store.config.reclaim_after_days
    if warn_days is not None:
        soon = idle_records(s.store, s.actor, kind, idle_days=days, within_days=warn_days)
        warn_skipped(soon.skipped)
        emit(
            group_by_owner(soon) if out.structured else [i.as_json() for i in soon],
            out.fmt,
            ("owner", "id", "last_touch", "returns_on"),
        )
        return
    result = out.call(reclaim_records, kind, idle_days=days)
    warn_skipped(result.data.skipped)
    if out.told(result, {"reclaimed": [i.as_json() for i in result.data], "dry_run": out.dry_run}):
        return
    verb = "would return" if out.dry_run else "returned"
    typer.echo(f"{verb} {len(result.data)} idle {kind}(s) to the pool{in_commit(result)}")
    for item in result.data:
        typer.echo(f"  {item.id}  {item.owner}  last touch {item.last_touch}")
