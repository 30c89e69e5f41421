"""``salesctl contact ...``: the people at a customer (shown by ``customer show``)."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session
from salesctl.cli.customers import CustomerId

app = make_app(name="contact", help="A customer's contacts.")


@command(app, "add")
def contact_add(
    customer_id: CustomerId,
    name: Annotated[str, typer.Option(help="The person's name.")],
    title: Annotated[str | None, typer.Option(help="Job title.")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    *,
    out: Write,
) -> None:
    """Add a contact person to a customer (shown by `customer show`).

    Example: salesctl contact add C-7KQ2 --name "Wei Zhang" --title CTO --phone 13800000000
    """
    from salesctl.ops.sales.customers import add_contact

    added = out.call(add_contact, customer_id, name=name, title=title, phone=phone, email=email)
    out.report(added, f"added {name} to")


@command(app, "list")
def contact_list(customer_id: CustomerId, fmt: FormatOpt = None, *, s: Session) -> None:
    """List a customer's contacts.

    Example: salesctl contact list C-7KQ2 --format csv
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.customers import show_customer

    customer = show_customer(s.store, s.actor, customer_id)
    emit(customer.get("contacts") or [], fmt, ("name", "title", "phone", "email"))
