"""``salesctl customer ...`` and ``salesctl contact ...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

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
from salesctl.cli._session import report_change, session

LIST_COLUMNS = ("id", "name", "industry", "owner", "source", "tags", "created")
IdArg = Annotated[str, typer.Argument(help="A customer id or any unique prefix of one (C-7KQ2).")]
IdsArg = Annotated[list[str], typer.Argument(help="Customer ids or unique prefixes.")]


CUSTOMER = Noun(
    "customer",
    "customers",
    "C-7KQ2",
    assign_example="salesctl customer assign C-7KQ2 --to lina --participant zhangwei",
    claim_example="salesctl customer claim C-7KQ2",
    release_example='salesctl customer release C-7KQ2 --reason "moved out of our region"',
    claim_cap="of them",
    edit_example="salesctl customer edit C-7KQ2 --set industry=logistics --set custom.size=large",
)


def make(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("add")
    def add(
        ctx: typer.Context,
        name: Annotated[str, typer.Option(help="The company.")],
        industry: Annotated[str | None, typer.Option()] = None,
        source: Annotated[str | None, typer.Option(help="Where it came from.")] = None,
        tag: TagOpt = None,
        to: Annotated[str | None, typer.Option("--to", help="Owner (default: you).")] = None,
        pool: Annotated[bool, typer.Option("--pool", help="Put it in the shared pool.")] = False,
        set_: SetOpt = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Add a customer, owned by you unless --to or --pool; custom fields with --set.

        Example: salesctl customer add --name "Acme Ltd" --industry retail --set custom.region=华东
        """
        from salesctl.ops.sales.customers import add_customer

        s = session(ctx)
        record, tx = add_customer(
            s.store,
            s.actor,
            name=name,
            industry=industry,
            source=source,
            tags=tag or (),
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
        pool: Annotated[bool, typer.Option("--pool", help="Only customers in the pool.")] = False,
        tag: TagOpt = None,
        source: Annotated[str | None, typer.Option()] = None,
        industry: Annotated[str | None, typer.Option()] = None,
        where: WhereOpt = None,
        fmt: FormatOpt = None,
    ) -> None:
        """List the customers you may see, filtered (custom fields too: --where region=North).

        Example: salesctl customer list --team east --where custom.region=华东 --format json
        """
        from salesctl.cli._output import emit
        from salesctl.ops.records import parse_assignments
        from salesctl.ops.sales.customers import list_customers

        s = session(ctx)
        rows = list_customers(
            s.store,
            s.actor,
            owner=owner,
            team=team,
            pool=pool,
            tags=tag or (),
            source=source,
            industry=industry,
            where=parse_assignments(where or ()),
        )
        emit(rows, fmt, LIST_COLUMNS if (fmt or "") in ("", "table") else ())

    @app.command("show")
    def show(ctx: typer.Context, customer_id: IdArg, fmt: FormatOpt = None) -> None:
        """Show one customer with its contacts, follow-ups, visits and deals.

        Example: salesctl customer show C-7KQ2
        """
        from salesctl.cli._output import emit
        from salesctl.ops.sales.customers import show_customer

        s = session(ctx)
        emit(show_customer(s.store, s.actor, customer_id), fmt)

    @app.command("tag", context_settings={"ignore_unknown_options": True})
    def tag_(
        ctx: typer.Context,
        customer_id: IdArg,
        changes: Annotated[
            list[str] | None, typer.Argument(help="+TAG adds, -TAG removes (a bare TAG adds).")
        ] = None,
        fmt: Annotated[
            str | None, typer.Option("--format", help="table, json, csv or yaml (also -f).")
        ] = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Add and remove a customer's tags in one commit.

        Example: salesctl customer tag C-7KQ2 +vip -cold
        """
        from salesctl.ops.sales.customers import tag_customer

        tags, short_fmt = split_format_flag(changes or [])
        s = session(ctx)
        record, tx = tag_customer(
            s.store, s.actor, customer_id, tags, commit=not no_commit, dry_run=dry_run
        )
        report_change(
            record, tx, fmt or short_fmt, verb="tagged", dry_run=dry_run, no_commit=no_commit
        )

    add_ownership_verbs(app, CUSTOMER)

    return app


def make_contacts(make_app: Callable[..., typer.Typer]) -> typer.Typer:
    app = make_app()

    @app.command("add")
    def add(
        ctx: typer.Context,
        customer_id: IdArg,
        name: Annotated[str, typer.Option(help="The person's name.")],
        title: Annotated[str | None, typer.Option(help="Job title.")] = None,
        phone: Annotated[str | None, typer.Option()] = None,
        email: Annotated[str | None, typer.Option()] = None,
        fmt: FormatOpt = None,
        no_commit: NoCommitOpt = False,
        dry_run: DryRunOpt = False,
    ) -> None:
        """Add a contact person to a customer (shown by `customer show`).

        Example: salesctl contact add C-7KQ2 --name "Wei Zhang" --title CTO --phone 13800000000
        """
        from salesctl.ops.sales.customers import add_contact

        s = session(ctx)
        record, tx = add_contact(
            s.store,
            s.actor,
            customer_id,
            name=name,
            title=title,
            phone=phone,
            email=email,
            commit=not no_commit,
            dry_run=dry_run,
        )
        report_change(
            record, tx, fmt, verb=f"added {name} to", dry_run=dry_run, no_commit=no_commit
        )

    @app.command("list")
    def list_(ctx: typer.Context, customer_id: IdArg, fmt: FormatOpt = None) -> None:
        """List a customer's contacts.

        Example: salesctl contact list C-7KQ2 --format csv
        """
        from salesctl.cli._output import emit
        from salesctl.ops.sales.customers import show_customer

        s = session(ctx)
        customer = show_customer(s.store, s.actor, customer_id)
        emit(customer.get("contacts") or [], fmt, ("name", "title", "phone", "email"))

    return app


def split_format_flag(args: list[str]) -> tuple[list[str], str | None]:
    """``["+vip", "-f", "json", "-cold"]`` -> (``["+vip", "-cold"]``, ``"json"``)."""
    from salesctl.cli._output import FORMATS

    rest: list[str] = []
    fmt = None
    items = iter(args)
    for item in items:
        if item == "-f":
            fmt = next(items, None)
            if fmt not in FORMATS:
                raise typer.BadParameter(f"-f needs one of {', '.join(FORMATS)}", param_hint="-f")
        else:
            rest.append(item)
    return rest, fmt
