"""``salesctl serve`` (webhook intake of leads and payments) and ``salesctl notify ...``
(the chat notifications' outbox: flush, test, list)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from salesctl.cli._commands import Bundle, command, make_app, option
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

OUTBOX_COLUMNS = ("state", "event", "id", "hook", "attempts", "created", "last_error")


def _limit(name: str, kind: type, least: float, help: str) -> inspect.Parameter:
    """One of serve's limits, also read from ``$SALESCTL_SERVE_<NAME>``."""
    declared = typer.Option(min=least, envvar=f"SALESCTL_SERVE_{name.upper()}", help=help)
    return option(name, Annotated[kind | None, declared], None)


@dataclass(frozen=True)
class ServeLimits(Bundle):
    """The limits given on the command line or in the environment; unset ones keep
    ``serve_limits.Limits``' defaults, which the help names."""

    OPTIONS = (
        _limit("header_timeout", float, 0.1, "Seconds for a request's headers (default 10)."),
        _limit("body_timeout", float, 0.1, "Seconds for a request's body (default 10)."),
        _limit("idle_timeout", float, 0.1, "Seconds before an idle connection closes (default 5)."),
        _limit("max_connections", int, 1, "Most open connections; more get 503 (default 100)."),
    )

    given: dict[str, Any]

    @classmethod
    def from_cli(cls, s: Session, values: dict[str, Any]) -> ServeLimits:
        return cls({name: value for name, value in values.items() if value is not None})


app = make_app()


@command(app, "serve")
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8080,
    push: Annotated[
        bool, typer.Option("--push", help="Push after commits (fetch, rebase, push).")
    ] = False,
    *,
    limits: ServeLimits,
    s: Session,
) -> None:
    """Take in leads (POST /leads) and payments (POST /payments) over HTTP, each as one
    commit by the member serve runs as (--as / $SALESCTL_USER).

    Requests are signed: X-Salesctl-Signature: sha256=<hex HMAC-SHA256 of the body>
    with $SALESCTL_WEBHOOK_SECRET. X-Salesctl-Delivery: <id> makes a request
    idempotent. Leads go to their owner, else the first matching routing: rule in
    salesctl.yaml, else the pool. GET /healthz answers when it is up.

    Payment platforms post their own events, verified with their own signatures:
    /payments/stripe ($SALESCTL_STRIPE_SECRET, the endpoint's signing secret),
    /payments/alipay ($SALESCTL_ALIPAY_PUBLIC_KEY) and /payments/pingxx
    ($SALESCTL_PINGXX_PUBLIC_KEY), the keys as paths to PEM files; a platform whose
    variable is unset answers 404. See docs/integrations.md.

    Example: SALESCTL_WEBHOOK_SECRET=... salesctl --as intake serve --port 8080 --push
    """
    import logging

    from salesctl.errors import Invalid

    try:
        from salesctl.serve import serve_forever
        from salesctl.serve_limits import Limits
    except ImportError as exc:
        raise Invalid(
            f"salesctl serve needs the serve extra ({exc.name} is missing)",
            "pip install 'salesctl[serve]'",
        ) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serve_forever(
        s.store, s.actor, host=host, port=port, push_commits=push, limits=Limits(**limits.given)
    )


notify_app = make_app()


@command(notify_app, "flush")
def notify_flush(
    hook: Annotated[str | None, typer.Option(help="Only this hook (its name or position).")] = None,
    resend_uncertain: Annotated[
        bool,
        typer.Option(
            "--resend-uncertain",
            help="Also re-send messages that went out without an answer (they may arrive twice).",
        ),
    ] = False,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Send the notifications waiting in the outbox (cron-ready; retries are spaced
    out only between commands, a flush tries everything that waits).

    Example: salesctl notify flush
    """
    from salesctl.cli._output import emit, info
    from salesctl.ops.integrations.notify import flush as flush_outbox

    result = flush_outbox(s.store, hook=hook, resend_uncertain=resend_uncertain)
    if fmt and fmt != "table":
        emit(result.as_json(), fmt)
        return
    for state, labels in (
        ("sent", result.sent),
        ("will retry", result.retrying),
        ("uncertain", result.uncertain),
        ("gave up", result.failed),
    ):
        for label in labels:
            info(f"{state}: {label}")
    typer.echo(
        f"{len(result.sent)} sent, {len(result.retrying)} to retry, "
        f"{len(result.uncertain)} uncertain, {len(result.failed)} failed, "
        f"{result.waiting} waiting"
    )


@command(notify_app, "test")
def notify_test(
    hook: Annotated[
        str, typer.Argument(help="The hook's name, or its position under notify: (1, 2 ...).")
    ],
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """Send a sample message to one hook now, to check its URL, format and secret.

    Example: salesctl notify test sales-chat
    """
    from salesctl.cli._output import emit
    from salesctl.errors import SalesctlError
    from salesctl.ops.integrations.notify import send_test

    result = send_test(s.store, hook)
    if fmt and fmt != "table":
        emit(result, fmt)
    if not result["sent"]:
        raise SalesctlError(
            f"{result['hook']}: not delivered: {result['detail']}",
            "check the hook's url, format and ${VAR}s in salesctl.yaml",
        )
    if not fmt or fmt == "table":
        typer.echo(f"sent to {result['hook']} ({result['detail']})")


@command(notify_app, "list")
def notify_list(
    all_: Annotated[
        bool, typer.Option("--all", help="Include what was sent (kept 7 days).")
    ] = False,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """The outbox: notifications waiting, uncertain or failed, with the last error.

    Example: salesctl notify list --format json
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.integrations.notify import list_outbox

    rows = list_outbox(s.store, include_sent=all_)
    emit(rows, fmt, table_columns(fmt, OUTBOX_COLUMNS))


app.add_typer(notify_app, name="notify", help="Chat notifications: flush the outbox, test a hook.")
