"""``salesctl customer ...``: the companies the team sells to.

The verbs customers share with leads (list, show, edit, assign, claim, release, reclaim)
hand their work to ``cli/_owned.py``; ``tag`` is customers' own. Contacts are in
``cli/contacts.py``.
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
    DryRunOpt,
    DuplicateReasonOpt,
    FormatOpt,
    MemberOpt,
    NoCommitOpt,
    SetOpt,
    TagOpt,
    WhereOpt,
)
from salesctl.cli._session import Session

app = make_app(name="customer", help="Customers: add, edit, tag, assign, claim ...")

CUSTOMER = owned.Noun(
    "customer",
    "customers",
    columns=("id", "name", "industry", "owner", "source", "tags", "created"),
    claim_cap="of them",
)
CustomerId = Annotated[
    str, typer.Argument(help="A customer id or any unique prefix of one (C-7KQ2).")
]
CustomerIds = Annotated[list[str], typer.Argument(help="Customer ids or unique prefixes.")]
WarnDays = Annotated[int | None, owned.warn_days_option(CUSTOMER.plural)]


@command(app, "add")
def customer_add(
    name: Annotated[str, typer.Option(help="The company.")],
    industry: Annotated[str | None, typer.Option()] = None,
    source: Source = None,
    tag: TagOpt = None,
    to: FirstOwner = None,
    pool: InPool = False,
    set_: SetOpt = None,
    allow_duplicate: AllowDuplicateOpt = False,
    reason: DuplicateReasonOpt = None,
    *,
    out: Write,
) -> None:
    """Add a customer, owned by you unless --to or --pool; custom fields with --set.
    Refused if another customer or lead has its name (see `salesctl dupes`).

    Example: salesctl customer add --name "Acme Ltd" --industry retail --set custom.region=华东
    """
    from salesctl.ops.sales.customers import add_customer

    added = out.call(
        add_customer, name=name, industry=industry, source=source, tags=tag or (), to=to,
        pool=pool, sets=set_ or (), allow_duplicate=allow_duplicate, reason=reason,
    )  # fmt: skip
    out.report(added, "added")


@command(app, "merge")
def customer_merge(keep: CustomerId, other: CustomerId, *, out: Write) -> None:
    """Fold a duplicate customer OTHER into KEEP in one commit (leads and directors): its
    follow-ups, visits and contacts move over, deals and contracts are re-pointed, fields
    KEEP lacks are taken, OTHER is removed and its history shows in KEEP's.

    Example: salesctl customer merge C-7KQ2 C-9XD1
    """
    from salesctl.ops.sales.merge import merge_records

    out.report(out.call(merge_records, "customer", keep, other), "merged into")


@command(app, "list")
def customer_list(
    owner: MemberOpt = None,
    team: TeamOpt = None,
    pool: Annotated[bool, typer.Option("--pool", help="Only customers in the pool.")] = False,
    tag: TagOpt = None,
    source: Annotated[str | None, typer.Option()] = None,
    industry: Annotated[str | None, typer.Option()] = None,
    where: WhereOpt = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List the customers you may see, filtered (custom fields too: --where region=North).

    Example: salesctl customer list --team east --where custom.region=华东 --format json
    """
    from salesctl.ops.records import parse_assignments
    from salesctl.ops.sales.customers import list_customers

    rows = list_customers(
        s.store, s.actor, owner=owner, team=team, pool=pool, tags=tag or (), source=source,
        industry=industry, where=parse_assignments(where or (), "--where"),
    )  # fmt: skip
    owned.list_(fmt, CUSTOMER, rows)


@command(app, "show")
def customer_show(customer_id: CustomerId, fmt: FormatOpt = None, *, s: Session) -> None:
    """Show one customer with its contacts, follow-ups, visits and deals.

    Example: salesctl customer show C-7KQ2
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.customers import show_customer

    emit(show_customer(s.store, s.actor, customer_id), fmt)


@command(app, "tag", context_settings={"ignore_unknown_options": True})
def customer_tag(
    customer_id: CustomerId,
    changes: Annotated[
        list[str] | None, typer.Argument(help="+TAG adds, -TAG removes (a bare TAG adds).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="table, json, csv or yaml (also -f).")
    ] = None,
    no_commit: NoCommitOpt = False,
    dry_run: DryRunOpt = False,
    *,
    s: Session,
) -> None:
    """Add and remove a customer's tags in one commit.

    Example: salesctl customer tag C-7KQ2 +vip -cold
    """
    from salesctl.ops.sales.customers import tag_customer

    tags, short_fmt = split_format_flag(changes or [])
    out = Write(s, fmt or short_fmt, no_commit, dry_run)  # -f would read as a tag: no FormatOpt
    out.report(out.call(tag_customer, customer_id, tags), "tagged")


@owned.verb(app, CUSTOMER, "edit")
def customer_edit(
    customer_id: CustomerId,
    set_: SetOpt = None,
    allow_duplicate: owned.EditAllowDuplicate = False,
    reason: DuplicateReasonOpt = None,
    *,
    out: Write,
) -> None:
    """Example: salesctl customer edit C-7KQ2 --set industry=logistics --set custom.size=large"""
    owned.edit(out, CUSTOMER, customer_id, set_, allow_duplicate, reason)


@owned.verb(app, CUSTOMER, "assign")
def customer_assign(
    customer_ids: CustomerIds, to: NewOwner, participant: Participants = None, *, out: Write
) -> None:
    """Example: salesctl customer assign C-7KQ2 --to lina --participant zhangwei"""
    owned.assign(out, CUSTOMER, customer_ids, to, participant)


@owned.verb(app, CUSTOMER, "claim")
def customer_claim(customer_ids: CustomerIds, *, out: Write) -> None:
    """Example: salesctl customer claim C-7KQ2"""
    owned.claim(out, CUSTOMER, customer_ids)


@owned.verb(app, CUSTOMER, "release")
def customer_release(customer_ids: CustomerIds, reason: Reason = None, *, out: Write) -> None:
    """Example: salesctl customer release C-7KQ2 --reason "moved out of our region" """
    owned.release(out, CUSTOMER, customer_ids, reason)


@owned.verb(app, CUSTOMER, "reclaim")
def customer_reclaim(idle_days: IdleDays = None, warn_days: WarnDays = None, *, out: Write) -> None:
    """Example (cron, daily): salesctl --as wanglei customer reclaim --warn-days 3 --format json"""
    owned.reclaim(out, CUSTOMER, idle_days, warn_days)


@owned.verb(app, CUSTOMER, "history")
def customer_history(customer_id: CustomerId, fmt: FormatOpt = None, *, s: Session) -> None:
    """Example: salesctl customer history C-7KQ2 --format json"""
    owned.history(s, fmt, CUSTOMER, customer_id)


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
