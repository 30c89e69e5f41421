"""``salesctl lead ...``: leads from first contact to customer (or disqualified).

The verbs leads share with customers (list, show, edit, assign, claim, release, reclaim)
hand their work to ``cli/_owned.py``; import, convert and disqualify are leads' own.
"""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli import _owned as owned
from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._owned import (
    FirstOwner,
    IdleDays,
    InPool,
    NewOwner,
    Participants,
    Reason,
    Source,
    TeamOpt,
)
from salesctl.cli._params import (
    AllowDuplicateOpt,
    DuplicateReasonOpt,
    FormatOpt,
    MemberOpt,
    SetOpt,
    TagOpt,
    WhereOpt,
)
from salesctl.cli._session import Session, in_commit

app = make_app(name="lead", help="Leads: add, import, assign, claim, convert ...")

LEAD = owned.Noun(
    "lead",
    "leads",
    columns=("id", "company", "name", "stage", "owner", "source", "created"),
    claim_cap="open leads",
)
LeadId = Annotated[str, typer.Argument(help="A lead id or any unique prefix of one (L-7KQ2).")]
LeadIds = Annotated[list[str], typer.Argument(help="Lead ids or unique prefixes.")]
WarnDays = Annotated[int | None, owned.warn_days_option(LEAD.plural)]


@command(app, "add")
def lead_add(
    company: Annotated[str | None, typer.Option(help="The company.")] = None,
    name: Annotated[str | None, typer.Option(help="The contact person.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    source: Source = None,
    stage: Annotated[str | None, typer.Option(help="Initial stage (default: the first).")] = None,
    tag: TagOpt = None,
    to: FirstOwner = None,
    pool: InPool = False,
    set_: SetOpt = None,
    allow_duplicate: AllowDuplicateOpt = False,
    reason: DuplicateReasonOpt = None,
    *,
    out: Write,
) -> None:
    """Add a lead, owned by you unless --to or --pool; refused if another lead or customer
    has its company, phone or email (see `salesctl dupes`).

    Example: salesctl lead add --company "Acme Ltd" --name "Wei Zhang" --phone 13800000000
    """
    from salesctl.ops.sales.leads import add_lead

    added = out.call(
        add_lead, company=company, name=name, email=email, phone=phone, source=source,
        tags=tag or (), stage=stage, to=to, pool=pool, sets=set_ or (),
        allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip
    out.report(added, "added")


@command(app, "list")
def lead_list(
    owner: MemberOpt = None,
    team: TeamOpt = None,
    pool: Annotated[bool, typer.Option("--pool", help="Only leads in the pool.")] = False,
    stage: Annotated[str | None, typer.Option()] = None,
    tag: TagOpt = None,
    source: Annotated[str | None, typer.Option()] = None,
    where: WhereOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the leads you may see, filtered.

    Example: salesctl lead list --owner zhangwei --stage contacted --format json
    """
    from salesctl.ops.records import parse_assignments
    from salesctl.ops.sales.leads import list_leads

    rows = list_leads(
        s.store, s.actor, owner=owner, team=team, pool=pool, stage=stage, source=source,
        tags=tag or (), where=parse_assignments(where or (), "--where"),
    )  # fmt: skip
    owned.list_(fmt, LEAD, rows)


@command(app, "show")
def lead_show(lead_id: LeadId, fmt: FormatOpt = None, *, s: Session) -> None:
    """Show one lead with its follow-ups.

    Example: salesctl lead show L-7KQ2
    """
    owned.show(s, fmt, LEAD, lead_id)


@command(app, "import")
def lead_import(
    file: Annotated[
        str,
        typer.Argument(
            help="A CSV (UTF-8, Excel's quoting; comma, tab or semicolon separated) or JSON file."
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help='"Column=field" (repeatable); field "-" ignores a column.'),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Give every lead to this member.")] = None,
    round_robin: Annotated[
        bool, typer.Option("--round-robin", help="Deal leads out to active reps in turn.")
    ] = False,
    team: Annotated[str | None, typer.Option(help="With --round-robin: only this team.")] = None,
    pool: Annotated[bool, typer.Option("--pool", help="Put every lead in the pool.")] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Merge new values into duplicates found.")
    ] = False,
    *,
    out: Write,
) -> None:
    """Import leads from CSV or JSON: all rows or none, one commit, duplicates skipped.

    Example: salesctl lead import examples/expo.csv --round-robin --team east --map "手机=phone"
    """
    from pathlib import Path

    from salesctl.cli._output import info
    from salesctl.ops.sales.lead_import import import_leads

    imported = out.call(
        import_leads, Path(file), mappings=map_ or (), to=to, round_robin=round_robin, team=team,
        pool=pool, update=update,
    )  # fmt: skip
    result = imported.data
    if result.ignored_columns:
        info(f"note: columns not imported: {', '.join(result.ignored_columns)}")
    if out.told(imported, result.as_json()):
        return
    verb = "would import" if out.dry_run else "imported"
    owners = ", ".join(f"{k}: {v}" for k, v in sorted(result.owners.items()))
    typer.echo(
        f"{verb} {len(result.created)} new lead(s)"
        + (f" ({owners})" if owners else "")
        + f", updated {len(result.updated)}, skipped {len(result.skipped)} duplicate(s)"
        + in_commit(imported)
    )
    for skip in result.skipped[:20]:
        typer.echo(f"  row {skip['row']}: duplicate of {skip['duplicate_of']}")


@owned.verb(app, LEAD, "edit")
def lead_edit(
    lead_id: LeadId,
    set_: SetOpt = None,
    allow_duplicate: owned.EditAllowDuplicate = False,
    reason: DuplicateReasonOpt = None,
    *,
    out: Write,
) -> None:
    """Example: salesctl lead edit L-7KQ2 --set stage=contacted --set phone=13900000000"""
    owned.edit(out, LEAD, lead_id, set_, allow_duplicate, reason)


@owned.verb(app, LEAD, "assign")
def lead_assign(
    lead_ids: LeadIds, to: NewOwner, participant: Participants = None, *, out: Write
) -> None:
    """Example: salesctl lead assign L-7KQ2 L-9XD1 --to zhangwei --participant lina"""
    owned.assign(out, LEAD, lead_ids, to, participant)


@owned.verb(app, LEAD, "claim")
def lead_claim(lead_ids: LeadIds, *, out: Write) -> None:
    """Example: salesctl lead claim L-7KQ2"""
    owned.claim(out, LEAD, lead_ids)


@owned.verb(app, LEAD, "release")
def lead_release(lead_ids: LeadIds, reason: Reason = None, *, out: Write) -> None:
    """Example: salesctl lead release L-7KQ2 --reason "not my territory" """
    owned.release(out, LEAD, lead_ids, reason)


@owned.verb(app, LEAD, "reclaim")
def lead_reclaim(idle_days: IdleDays = None, warn_days: WarnDays = None, *, out: Write) -> None:
    """Example (cron, daily): salesctl --as wanglei lead reclaim --warn-days 3 --format json"""
    owned.reclaim(out, LEAD, idle_days, warn_days)


@owned.verb(app, LEAD, "history")
def lead_history(lead_id: LeadId, fmt: FormatOpt = None, *, s: Session) -> None:
    """Example: salesctl lead history L-7KQ2 --format json"""
    owned.history(s, fmt, LEAD, lead_id)


@command(app, "convert")
def lead_convert(
    lead_id: LeadId,
    deal: Annotated[str | None, typer.Option("--deal", help="Also open a deal: its title.")] = None,
    amount: Annotated[str | None, typer.Option(help="The deal's amount.")] = None,
    allow_duplicate: AllowDuplicateOpt = False,
    reason: DuplicateReasonOpt = None,
    *,
    out: Write,
) -> None:
    """Convert a lead into a customer (and optionally a deal), in one commit; refused if
    the company is already another customer or lead.

    Example: salesctl lead convert L-7KQ2 --deal "ERP rollout" --amount 120000
    """
    from salesctl.ops.sales.leads import convert_lead

    converted = out.call(
        convert_lead, lead_id, deal_title=deal, deal_amount=amount,
        allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip
    result = converted.data
    if out.told(converted):  # a dry run lists its files, as every write's does
        return
    made = result["customer"]["id"] + (
        f" and deal {result['deal']['id']}" if "deal" in result else ""
    )
    verb = "would convert" if out.dry_run else "converted"
    typer.echo(f"{verb} {result['lead']} to customer {made}{in_commit(converted)}")


@command(app, "merge")
def lead_merge(keep: LeadId, other: LeadId, *, out: Write) -> None:
    """Fold a duplicate lead OTHER into KEEP in one commit (leads and directors): its
    follow-ups and visits move over, fields KEEP lacks are taken, OTHER is removed and its
    history shows in KEEP's.

    Example: salesctl lead merge L-7KQ2 L-9XD1
    """
    from salesctl.ops.sales.merge import merge_records

    out.report(out.call(merge_records, "lead", keep, other), "merged into")


@command(app, "disqualify")
def lead_disqualify(
    lead_id: LeadId, reason: Annotated[str, typer.Option(help="Why (required).")], *, out: Write
) -> None:
    """Close a lead as not worth pursuing.

    Example: salesctl lead disqualify L-7KQ2 --reason "no budget this year"
    """
    from salesctl.ops.sales.leads import disqualify_lead

    out.report(out.call(disqualify_lead, lead_id, reason=reason), "disqualified")
