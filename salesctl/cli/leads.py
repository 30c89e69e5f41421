"""``salesctl lead ...``: add, list, show, edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from salesctl.cli._params import (
    DryRunOpt,
    FormatOpt,
    MemberOpt,
    NoCommitOpt,
    SetOpt,
    TagOpt,
    WhereOpt,
)
from salesctl.cli._session import report_change, session

LIST_COLUMNS = ("id", "company", "name", "stage", "owner", "source", "created")
IdArg = Annotated[str, typer.Argument(help="A lead id or any unique prefix of one (L-7KQ2).")]


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
        from salesctl.ops.leads import add_lead

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

        Example: salesctl lead list --owner alice --stage contacted --format json
        """
        from salesctl.cli._output import emit
        from salesctl.ops.leads import list_leads
        from salesctl.ops.records import parse_assignments

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
        from salesctl.ops.leads import show_lead

        s = session(ctx)
        emit(show_lead(s.store, s.actor, lead_id), fmt)

    @app.command("edit")
    def edit(
        ctx: typer.Context,
        lead_id: IdArg,
        set_: SetOpt = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Change a lead's fields with --set, or in $EDITOR when no --set is given.

        Example: salesctl lead edit L-7KQ2 --set stage=contacted --set phone=13900000000
        """
        from salesctl.ops.leads import edit_lead

        s = session(ctx)
        document = None if set_ else _edit_in_editor(s.store, lead_id)
        record, tx = edit_lead(
            s.store,
            s.actor,
            lead_id,
            sets=set_ or (),
            document=document,
            commit=not no_commit,
            dry_run=dry_run,
        )
        report_change(record, tx, fmt, verb="edited", dry_run=dry_run, no_commit=no_commit)

    return app


def _edit_in_editor(store: Any, lead_id: str) -> dict[str, Any]:
    """Open the lead's YAML in $EDITOR; return what was saved (validated by the op)."""
    import os
    import shlex
    import subprocess
    import tempfile

    from salesctl import yamlio
    from salesctl.errors import Invalid

    loc = store.resolve(lead_id, ("lead",))
    original = (store.root / loc.path).read_bytes()
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise Invalid(
            "no --set given and $EDITOR is not set", "pass --set FIELD=VALUE or set $EDITOR"
        )
    with tempfile.TemporaryDirectory(prefix="salesctl-") as tmp:
        path = os.path.join(tmp, f"{loc.id}.yaml")
        with open(path, "wb") as fh:
            fh.write(original)
        result = subprocess.run([*shlex.split(editor), path], check=False)
        if result.returncode != 0:
            raise Invalid(f"the editor exited with {result.returncode}; nothing changed")
        data = yamlio.load_file(path, source=loc.path)
    if not isinstance(data, dict):
        raise Invalid(f"{loc.path}: expected a mapping of lead fields", "nothing changed")
    return data
