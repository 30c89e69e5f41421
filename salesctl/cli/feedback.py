"""``salesctl feedback ...``: customer feedback (用户反馈), with its customer or in triage."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

LIST_COLUMNS = ("id", "source", "status", "customer", "assignee", "received", "text")
FeedbackArg = Annotated[str, typer.Argument(help="The feedback's id (FB-7KQ2).")]

app = make_app(name="feedback", help="Customer feedback: matched to customers, or in triage.")


@command(app, "add")
def feedback_add(
    source: Annotated[str, typer.Option(help="Where it came from: github, discourse, wechat...")],
    text: Annotated[str, typer.Option(help="What the customer said.")],
    author: Annotated[str | None, typer.Option(help="Their name or handle.")] = None,
    email: Annotated[str | None, typer.Option(help="Their email (matches a customer).")] = None,
    phone: Annotated[str | None, typer.Option(help="Their phone (matches a customer).")] = None,
    link: Annotated[str | None, typer.Option(help="Where to read it.")] = None,
    *,
    out: Write,
) -> None:
    """Record feedback: it goes to the customer its email, email domain or phone matches,
    else to triage for team leads and directors.

    Example: salesctl feedback add --source wechat-group --text "导出很慢" --email li@x.cn
    """
    from salesctl.ops.sales.feedback import add_feedback

    added = out.call(
        add_feedback, source=source, text=text, author=author, email=email, phone=phone, link=link
    )
    out.report(added, "added")


@command(app, "list")
def feedback_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged or closed.")] = None,
    customer: Annotated[str | None, typer.Option(help="One customer's feedback.")] = None,
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """The feedback you may see (your customers'; triage too for leads and directors),
    newest first.

    Example: salesctl feedback list --status open
    """
    from salesctl.cli._output import emit, table_columns
    from salesctl.ops.sales.feedback import list_feedback

    rows = list_feedback(s.store, s.actor, status=status, customer=customer)
    emit(rows, fmt, table_columns(fmt, LIST_COLUMNS))


@command(app, "show")
def feedback_show(feedback_id: FeedbackArg, fmt: FormatOpt = None, *, s: Session) -> None:
    """One piece of feedback.

    Example: salesctl feedback show FB-7KQ2 --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.sales.feedback import show_feedback

    emit(show_feedback(s.store, s.actor, feedback_id), fmt)


@command(app, "assign")
def feedback_assign(
    feedback_id: FeedbackArg,
    to: Annotated[str | None, typer.Option(help="The member who answers it.")] = None,
    customer: Annotated[
        str | None, typer.Option(help="The customer it belongs to (takes it out of triage).")
    ] = None,
    *,
    out: Write,
) -> None:
    """Give feedback to a member, or to the customer it belongs to.

    Example: salesctl --as liuyang feedback assign FB-7KQ2 --customer C-7KQ2 --to wangfang
    """
    from salesctl.ops.sales.feedback import assign_feedback

    out.report(out.call(assign_feedback, feedback_id, to=to, customer=customer), "assigned")


@command(app, "ack")
def feedback_ack(feedback_id: FeedbackArg, *, out: Write) -> None:
    """Acknowledge feedback: someone is on it.

    Example: salesctl feedback ack FB-7KQ2
    """
    from salesctl.ops.sales.feedback import set_status

    out.report(out.call(set_status, feedback_id, "acknowledged"), "acknowledged")


@command(app, "close")
def feedback_close(feedback_id: FeedbackArg, *, out: Write) -> None:
    """Close feedback: it has been answered.

    Example: salesctl feedback close FB-7KQ2
    """
    from salesctl.ops.sales.feedback import set_status

    out.report(out.call(set_status, feedback_id, "closed"), "closed")
