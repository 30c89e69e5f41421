"""``salesctl dupes``: leads and customers that look like the same company (撞单)."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app()


@command(app, "dupes")
def dupes(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only groups holding a lead or a customer.")
    ] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List leads and customers already in the store that share a company name (any legal
    form or width), phone or email: one group per suspected company.

    You see the groups that hold a record you may read; another rep's record shows only
    its id and owner (ask them, or your team lead, to settle it).
    Example: salesctl dupes --kind customer
    """
    from salesctl.cli._output import emit
    from salesctl.errors import Invalid
    from salesctl.ops.sales.duplicates import suspected_duplicates

    if kind not in (None, "lead", "customer"):
        raise Invalid(f"--kind {kind!r} is not lead or customer", "e.g. --kind customer")
    groups = [
        g
        for g in suspected_duplicates(s.store, s.actor)
        if kind is None or any(r["kind"] == kind for r in g["records"])
    ]
    if fmt and fmt != "table":
        emit(groups, fmt)
        return
    rows = [
        {"group": n, **record, "owner": record["owner"] or "pool"}  # JSON's null: the pool
        for n, group in enumerate(groups, 1)
        for record in group["records"]
    ]
    emit(rows, "table", ("group", "id", "kind", "owner", "name"))
