"""``salesctl report weekly|monthly``: the period's facts, rendered or committed; ``report
answer``: a member's answers to the week's questions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from salesctl.cli._commands import Bundle, Write, command, make_app, option
from salesctl.cli._session import Session, in_commit

MemberOpt = Annotated[str | None, typer.Option("--member", help="One member (default: you).")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="A team: its members and a summary.")]
AllOpt = Annotated[bool, typer.Option("--all", help="The whole company.")]
TemplateOpt = Annotated[
    str | None, typer.Option("--template", help="NAME: templates/NAME.<format>.j2 (store first).")
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="md, html or json.")]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Write the report into this directory (team-east-2026-W48.html); inside the "
        "store only with --commit, which commits it.",
    ),
]
CommitOpt = Annotated[
    bool,
    typer.Option(
        "--commit", help="Write Markdown reports (and --out's file) into the store in one commit."
    ),
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

    Example: salesctl report monthly --team east --month 2026-11 -f html --out reports/ --commit
    """
    _run(s, "month", month, subject, output)


def _run(s: Session, kind: str, period: str | None, subject: Subject, output: Output) -> None:
    from pathlib import Path

    from salesctl.cli._output import warn_skipped, warn_uncommitted
    from salesctl.errors import Invalid
    from salesctl.ops.out_files import store_place, write_out_file
    from salesctl.reports.build import ReportAsk, build_report
    from salesctl.reports.commit import commit_reports
    from salesctl.reports.formats import out_file, render_report

    ask = ReportAsk(kind, period, subject.member, subject.team, subject.all_, output.lang)
    target: Path | None = None
    if output.out or not output.commit:
        data = build_report(s.store, s.actor, ask)
        warn_skipped(data.get("skipped", ()))
        warn_uncommitted(data.get("uncommitted", ()))
        fmt, lang = output.fmt, output.lang or s.store.config.lang
        text = render_report(s.store, data, fmt, template=output.template, lang=lang)
        if output.out:
            target = out_file(Path(output.out), data, fmt)
    # a file --out leaves in the store untracked would be every later commit's stray
    inside = store_place(s.store, target) if target is not None else None
    if inside is not None and not output.commit:
        raise Invalid(
            f"--out {output.out}: {inside} would be left untracked in the store",
            "add --commit to commit it, or give --out a directory outside the store",
        )
    if output.commit:
        rendered = (inside, text) if inside is not None else None
        written = commit_reports(s.store, s.actor, ask, template=output.template, rendered=rendered)
        if written.commit_id:
            typer.echo(f"wrote {len(written.data)} report(s){in_commit(written)}")
        else:
            typer.echo("reports unchanged: nothing to commit")
    if target is not None and inside is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a period's report regenerated replaces its own file (docs/reports.md)
        write_out_file(s.store, target, text.encode("utf-8"), force=True)
        typer.echo(str(target))
    elif not output.commit:
        typer.echo(text, nl=False)


@command(app, "answer")
def report_answer(
    *,
    week: Annotated[
        str | None, typer.Option("--week", help="2026-W49 (default: the current week).")
    ] = None,
    question: Annotated[
        int | None, typer.Option("--question", help="Answer question N (1-based) only.")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="The answer (Markdown); needs --question N.")
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            help="Answers from a file (- for stdin): the editor's '### question' sheet, "
            "or with --question N one answer.",
        ),
    ] = None,
    member: Annotated[
        str | None, typer.Option("--member", help="Whose report (only your own).")
    ] = None,
    out: Write,
) -> None:
    """Answer the week's questions in your own weekly report, in one commit.

    Without --text or --file, $EDITOR opens on the questions with your answers so far.
    The report is created if the weekly cron has not written it yet; otherwise only its
    answers change.

    Example: salesctl --as zhangwei report answer --question 2 --text "Need a demo engineer."
    """
    import sys

    from salesctl.cli._session import open_in_editor
    from salesctl.errors import Invalid
    from salesctl.reports.answering import (
        AnswerAsk,
        answer_report,
        answer_sheet,
        one_answer,
        read_answer_file,
    )

    if text is not None and file is not None:
        raise Invalid("--text and --file are exclusive", "give the answer one way")
    s = out.session
    sheet = answer_sheet(s.store, s.actor, AnswerAsk(week, member, question))
    if text is not None:
        answers = one_answer(sheet, text, "--text")
    elif file is not None:
        content = sys.stdin.read() if file == "-" else read_answer_file(file)
        if question is not None or (len(sheet.asked) == 1 and "### " not in content):
            answers = one_answer(sheet, content, f"--file {file}")
        else:
            answers = sheet.from_sheet(content, file)
    else:
        saved = open_in_editor(
            sheet.markdown().encode("utf-8"),
            f"answers-{sheet.period.id}.md",
            "no --text or --file given and $EDITOR is not set",
            "pass --question N --text ANSWER, --file FILE, or set $EDITOR",
        )
        try:
            edited = saved.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the saved answers are not UTF-8", "nothing changed") from None
        answers = sheet.from_sheet(edited, "the edited answers")
    written = out.call(answer_report, sheet, answers)
    if out.told(written) or out.dry_run:
        return
    where = sheet.path
    if not written.paths:
        typer.echo(f"{where}: answers unchanged, nothing to commit")
    elif out.no_commit:
        typer.echo(f"answered in {where} (written, not committed)")
    else:
        typer.echo(f"answered in {where}{in_commit(written)}")
