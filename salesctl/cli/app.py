"""The root ``salesctl`` command: global options, the noun sub-apps, and the error path.

Every ``SalesctlError`` becomes ``error: <what> (<how to fix>)`` on stderr with its exit
code (1 bad input / not found / conflict, 2 usage, 3 permission denied). Anything else is a
bug: a one-line message, or the full traceback with ``SALESCTL_DEBUG=1``.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated, Any

import typer

from salesctl import __version__
from salesctl.cli import (
    activities,
    collab,
    contracts,
    customers,
    deals,
    index_cmds,
    integrations,
    leads,
    members,
    okrs,
    reports,
    store_cmds,
    tasks,
)
from salesctl.cli._session import Session
from salesctl.errors import EXIT_INVALID, SalesctlError


def make_app(**kwargs: object) -> typer.Typer:
    """The one factory for (sub-)apps: help on bare nouns, no pretty tracebacks."""
    return typer.Typer(
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
        **kwargs,  # type: ignore[arg-type]
    )


app = make_app(
    help="salesctl: a git-native sales CRM. Records are YAML files; every change is a commit."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salesctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="The store's directory (default: $SALESCTL_STORE, "
            "else the nearest parent with salesctl.yaml).",
        ),
    ] = None,
    acting_as: Annotated[
        str | None,
        typer.Option(
            "--as", help="Act as this member (default: $SALESCTL_USER, else git user.email)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = Session(store, acting_as)


store_cmds.register(app)
members.register(app)
app.add_typer(
    leads.make(make_app), name="lead", help="Leads: add, import, assign, claim, convert ..."
)
app.add_typer(
    customers.make(make_app), name="customer", help="Customers: add, edit, tag, assign, claim ..."
)
app.add_typer(customers.make_contacts(make_app), name="contact", help="A customer's contacts.")
app.add_typer(
    activities.make_followups(make_app), name="followup", help="Follow-ups on leads/customers."
)
app.add_typer(activities.make_visits(make_app), name="visit", help="Planned and done visits.")
app.add_typer(activities.make_calendar(make_app), name="calendar", help="iCalendar export.")
app.add_typer(deals.make(make_app), name="deal", help="Deals: add, move, list, losses.")
deals.register_pipeline(app)
app.add_typer(
    contracts.make(make_app), name="contract", help="Contracts: add, sign, pay, invoice, list ..."
)
contracts.register_receivables(app)
app.add_typer(tasks.make(make_app), name="task", help="Tasks and won-deal checklists; --board.")
app.add_typer(reports.make(make_app), name="report", help="Weekly and monthly reports.")
app.add_typer(okrs.make_okr(make_app), name="okr", help="Objectives and key results.")
okrs.register_stats(app)
collab.register(app, make_app)
integrations.register(app, make_app)
app.add_typer(index_cmds.make(make_app), name="index", help="The derived index: status, rebuild.")


@functools.cache
def _command() -> Any:
    """The click command tree, built once per process (building it costs ~0.2 s)."""
    return typer.main.get_command(app)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by tests)."""
    try:
        _command().main(args=argv, prog_name="salesctl", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_INVALID)
    except SalesctlError as exc:
        if os.environ.get("SALESCTL_DEBUG"):
            raise
        sys.stderr.write(f"error: {exc}\n")
        for line in getattr(exc, "details", ()):
            sys.stderr.write(f"  {line}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as exc:
        if os.environ.get("SALESCTL_DEBUG"):
            raise
        sys.stderr.write(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(rerun with SALESCTL_DEBUG=1 and report the traceback)\n"
        )
        return EXIT_INVALID
    return 0


def main() -> None:
    sys.exit(run())
