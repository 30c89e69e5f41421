"""``salesctl report weekly|monthly``: the period's facts, rendered or committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from salesctl.cli._commands import Bundle, command, make_app, option
from salesctl.cli._session import Session, in_commit

MemberOpt = Annotated[str | None, typer.Option("--member", help="One member (default: you).")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="A team: its members and a summary.")]
AllOpt = Annotated[bool, typer.Option("--all", help="The whole company.")]
TemplateOpt = Annotated[
    str | None, typer.Option("--template", help="NAME: templates/NAME.<format>.j2 (store first).")
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="md, html or json.")]
OutOpt = Annotated[str | None, typer.Option("--out", help="Write the report into this directory.")]
CommitOpt = Annotated[
    bool, typer.Option("--commit", help="Write Markdown reports into the store in one commit.")
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="en or zh (default: lang: in config).")]


@dataclass(frozen=True)
class Subject(Bundle):
    """Whose report: one member (default: you), a team, or the whole company."""

    OPTIONS = (
        option("member", MemberOpt, None),
        option("team", TeamOpt, None),
        option("all_", AllOpt, False),
    )

    member: str | None
    team: str | None
    all_: bool


@dataclass(frozen=True)
class Output(Bundle):
    """How the report comes out: rendered (template, format, language) to stdout or a
    directory, or committed into the store."""

    OPTIONS = (
        option("template", TemplateOpt, None),
        option("fmt", FormatOpt, "md"),
        option("out", OutOpt, None),
        option("commit", CommitOpt, False),
        option("lang", LangOpt, None),
    )

    template: str | None
    fmt: str
    out: str | None
    commit: bool
    lang: str | None


app = make_app(name="report", help="Weekly and monthly reports.")


@command(app, "weekly")
def report_weekly(
    *,
    subject: Subject,
    week: Annotated[
        str | None, typer.Option("--week", help="2026-W47 (default: last complete week).")
    ] = None,
    output: Output,
    s: Session,
) -> None:
    """The weekly report: facts, pipeline, deals, receivables, OKRs, then questions.

    Example (cron, Monday 07:00): salesctl --as wanglei report weekly --all --commit
    """
    _run(s, "week", week, subject, output)


@command(app, "monthly")
def report_monthly(
    *,
    subject: Subject,
    month: Annotated[
        str | None, typer.Option("--month", help="2026-11 (default: last complete month).")
    ] = None,
    output: Output,
    s: Session,
) -> None:
    """The monthly report (same sections as the weekly one).

    Example: salesctl report monthly --team east --month 2026-11 --format html --out reports/
    """
    _run(s, "month", month, subject, output)


def _run(s: Session, kind: str, period: str | None, subject: Subject, output: Output) -> None:
    from pathlib import Path

    from salesctl.cli._output import warn_skipped
    from salesctl.reports.build import ReportAsk, build_report
    from salesctl.reports.commit import commit_reports
    from salesctl.reports.formats import out_file, render_report

    ask = ReportAsk(kind, period, subject.member, subject.team, subject.all_, output.lang)
    if output.commit:
        written = commit_reports(s.store, s.actor, ask, template=output.template)
        if written.commit_id:
            typer.echo(f"wrote {len(written.data)} report(s){in_commit(written)}")
        else:
            typer.echo("reports unchanged: nothing to commit")
        return
    data = build_report(s.store, s.actor, ask)
    warn_skipped(data.get("skipped", ()))
    fmt, lang = output.fmt, output.lang or s.store.config.lang
    text = render_report(s.store, data, fmt, template=output.template, lang=lang)
    if output.out:
        target = out_file(Path(output.out), data, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        typer.echo(str(target))
    else:
        typer.echo(text, nl=False)
