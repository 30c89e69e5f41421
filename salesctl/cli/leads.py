"""``salesctl lead ...``: add, list, show, edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from salesctl.cli._owned import Noun, add_ownership_verbs
from salesctl.cli._params import (
    DryRunOpt,
    FormatOpt,
    MemberOpt,
    NoCommitOpt,
    SetOpt,
    TagOpt,
    WhereOpt,
)
from salesctl.cli._session import describe_change, report_change, session

LIST_COLUMNS = ("id", "company", "name", "stage", "owner", "source", "created")
IdArg = Annotated[str, typer.Argument(help="A lead id or any unique prefix of one (L-7KQ2).")]


LEAD = Noun(
    "lead",
    "leads",
    "L-7KQ2",
    assign_example="salesctl lead assign L-7KQ2 L-9XD1 --to zhangwei --participant lina",
    claim_example="salesctl lead claim L-7KQ2",
    release_example='salesctl lead release L-7KQ2 --reason "not my territory"',
    claim_cap="open leads",
    edit_example="salesctl lead edit L-7KQ2 --set stage=contacted --set phone=13900000000",
)


def make(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("add")
    def add(
        ctx: typer.Context,
        company: Annotated[str | None, typer.Option(help="The company.")] = None,
        name: Annotated[str | None, typer.Option(help="The contact person.")] = None,
        email: Annotated[str | None, typer.Option()] = None,
        phone: Annotated[str | None, typer.Option()] = None,
        source: Annotated[str | None, typer.Option(help="Where it came from.")] = None,
        stage: Annotated[
            str | None, typer.Option(help="Initial stage (default: the first).")
        ] = None,
        tag: TagOpt = None,
        to: Annotated[str | None, typer.Option("--to", help="Owner (default: you).")] = None,
        pool: Annotated[bool, typer.Option("--pool", help="Put it in the shared pool.")] = False,
        set_: SetOpt = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Add a lead, owned by you unless --to or --pool.

        Example: salesctl lead add --company "Acme Ltd" --name "Wei Zhang" --phone 13800000000
        """
        from salesctl.ops.sales.leads import add_lead

        s = session(ctx)
        record, tx = add_lead(
            s.store,
            s.actor,
            company=company,
            name=name,
            email=email,
            phone=phone,
            source=source,
            tags=tag or (),
            stage=stage,
            to=to,
            pool=pool,
            sets=set_ or (),
            commit=not no_commit,
            dry_run=dry_run,
        )
        report_change(record, tx, fmt, verb="added", dry_run=dry_run, no_commit=no_commit)

    @app.command("list")
    def list_(
        ctx: typer.Context,
        owner: MemberOpt = None,
        team: Annotated[str | None, typer.Option(help="A team id.")] = None,
        pool: Annotated[bool, typer.Option("--pool", help="Only leads in the pool.")] = False,
        stage: Annotated[str | None, typer.Option()] = None,
        tag: TagOpt = None,
        source: Annotated[str | None, typer.Option()] = None,
        where: WhereOpt = None,
        fmt: FormatOpt = None,
    ) -> None:
        """List the leads you may see, filtered.

        Example: salesctl lead list --owner zhangwei --stage contacted --format json
        """
        from salesctl.cli._output import emit
        from salesctl.ops.records import parse_assignments
        from salesctl.ops.sales.leads import list_leads

        s = session(ctx)
        rows = list_leads(
            s.store,
            s.actor,
            owner=owner,
            team=team,
            pool=pool,
            stage=stage,
            source=source,
            tags=tag or (),
            where=parse_assignments(where or ()),
        )
        emit(rows, fmt, LIST_COLUMNS if (fmt or "") in ("", "table") else ())

    @app.command("show")
    def show(ctx: typer.Context, lead_id: IdArg, fmt: FormatOpt = None) -> None:
        """Show one lead with its follow-ups.

        Example: salesctl lead show L-7KQ2
        """
        from salesctl.cli._output import emit
        from salesctl.ops.sales.leads import show_lead

        s = session(ctx)
        emit(show_lead(s.store, s.actor, lead_id), fmt)

    @app.command("import")
    def import_(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="A CSV (UTF-8, Excel's quoting) or JSON file.")],
        map_: Annotated[
            list[str] | None,
            typer.Option("--map", help='"Column=field" (repeatable); field "-" ignores a column.'),
        ] = None,
        to: Annotated[
            str | None, typer.Option("--to", help="Give every lead to this member.")
        ] = None,
        round_robin: Annotated[
            bool, typer.Option("--round-robin", help="Deal leads out to active reps in turn.")
        ] = False,
        team: Annotated[
            str | None, typer.Option(help="With --round-robin: only this team.")
        ] = None,
        pool: Annotated[bool, typer.Option("--pool", help="Put every lead in the pool.")] = False,
        update: Annotated[
            bool, typer.Option("--update", help="Merge new values into duplicates found.")
        ] = False,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Import leads from CSV or JSON: all rows or none, one commit, duplicates skipped.

        Example: salesctl lead import examples/expo.csv --round-robin --team east --map "手机=phone"
        """
        from pathlib import Path

        from salesctl.cli._output import emit, info
        from salesctl.ops.sales.lead_import import import_leads

        s = session(ctx)
        result, tx = import_leads(
            s.store,
            s.actor,
            Path(file),
            mappings=map_ or (),
            to=to,
            round_robin=round_robin,
            team=team,
            pool=pool,
            update=update,
            commit=not no_commit,
            dry_run=dry_run,
            progress=_progress_printer(),
        )
        if result.ignored_columns:
            info(f"note: columns not imported: {', '.join(result.ignored_columns)}")
        if dry_run:
            describe_change(tx)
        if fmt and fmt != "table":
            emit(result.as_json(), fmt)
            return
        verb = "would import" if dry_run else "imported"
        owners = ", ".join(f"{k}: {v}" for k, v in sorted(result.owners.items()))
        typer.echo(
            f"{verb} {len(result.created)} new lead(s)"
            + (f" ({owners})" if owners else "")
            + f", updated {len(result.updated)}, skipped {len(result.skipped)} duplicate(s)"
            + (f" in commit {tx.commit_id[:10]}" if tx.commit_id else "")
        )
        for skip in result.skipped[:20]:
            typer.echo(f"  row {skip['row']}: duplicate of {skip['duplicate_of']}")

    add_ownership_verbs(app, LEAD)

    @app.command("convert")
    def convert(
        ctx: typer.Context,
        lead_id: IdArg,
        deal: Annotated[
            str | None, typer.Option("--deal", help="Also open a deal: its title.")
        ] = None,
        amount: Annotated[str | None, typer.Option(help="The deal's amount.")] = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Convert a lead into a customer (and optionally a deal), in one commit.

        Example: salesctl lead convert L-7KQ2 --deal "ERP rollout" --amount 120000
        """
        from salesctl.cli._output import emit
        from salesctl.ops.sales.leads import convert_lead

        s = session(ctx)
        result, tx = convert_lead(
            s.store,
            s.actor,
            lead_id,
            deal_title=deal,
            deal_amount=amount,
            commit=not no_commit,
            dry_run=dry_run,
        )
        if fmt and fmt != "table":
            emit(result, fmt)
        else:
            made = result["customer"]["id"] + (
                f" and deal {result['deal']['id']}" if "deal" in result else ""
            )
            where = f" in commit {tx.commit_id[:10]}" if tx.commit_id else ""
            typer.echo(f"converted {result['lead']} to customer {made}{where}")

    @app.command("disqualify")
    def disqualify(
        ctx: typer.Context,
        lead_id: IdArg,
        reason: Annotated[str, typer.Option(help="Why (required).")],
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Close a lead as not worth pursuing.

        Example: salesctl lead disqualify L-7KQ2 --reason "no budget this year"
        """
        from salesctl.ops.sales.leads import disqualify_lead

        s = session(ctx)
        record, tx = disqualify_lead(
            s.store, s.actor, lead_id, reason=reason, commit=not no_commit, dry_run=dry_run
        )
        report_change(record, tx, fmt, verb="disqualified", dry_run=dry_run, no_commit=no_commit)

    return app


def _progress_printer() -> Any:
    """A progress line on a terminal for big imports (nothing when piped or in cron)."""
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r  {done}/{total} leads prepared")
        if done >= total - 499:
            sys.stderr.write("\n")

    return show
