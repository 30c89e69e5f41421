"""``salesctl report answer``: a member's answers to the week's questions, written into
their own weekly report in one commit.

The report is ``<member's directory>/reports/<week>.md`` (``questions.member_report_path``,
where ``report weekly --commit`` puts it). If the cron has written it, only its questions
block changes and the figures stay as they were committed; if not, it is created as
``report weekly --commit`` would write it, with the answers in. Answers are the member's
own words: nobody answers into someone else's report.

Answers come as one question's text (``--text``, or ``--file`` with ``--question``) or as an
answer sheet: the questions block the editor shows, ``### question`` then the answer, for
any of the questions (those it leaves out keep their answers; one left empty has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.i18n import N_, SOURCE_LANG, gettext_for
from salesctl.model.config import Member
from salesctl.reports.periods import Period, parse_period, period_containing
from salesctl.reports.questions import member_questions, member_report_path, read_report
from salesctl.reports.render import (
    START_OF_QUESTIONS,
    question_blocks,
    questions_block,
    replace_questions_block,
    sheet_answers,
)
from salesctl.store.layout import Owner
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

SHEET_HELP = N_(
    "<!-- Write your answer under each question: Markdown, with paragraphs and lists.\n"
    "     A question left empty has no answer. Save and quit to commit; change nothing\n"
    "     to leave the report as it is. -->\n"
)


@dataclass(frozen=True)
class AnswerAsk:
    """Which report and question: a week (default: the current one), a member (default:
    the actor, and only the actor), one question (1-based) or all."""

    week: str | None = None
    member: str | None = None
    question: int | None = None


@dataclass(frozen=True)
class AnswerSheet:
    """A member's report of a week with its questions and the answers it holds now."""

    member: Member
    period: Period
    path: str
    report: str  # the committed report's text, "" if there is none yet
    questions: tuple[str, ...]  # all of the report's questions, in order
    asked: tuple[str, ...]  # the ones being answered (one with --question)
    answers: dict[str, str]
    lang: str = SOURCE_LANG  # the org's: the sheet's help is in it

    def markdown(self) -> str:
        """What the editor shows: the questions asked with their current answers."""
        title = f"# {self.member.name} ({self.member.id}) · {self.period.id}\n\n"
        pairs = [(q, self.answers.get(q, "")) for q in self.asked]
        help_text = gettext_for(self.lang)(SHEET_HELP)
        return title + help_text + "\n" + questions_block(pairs, sheet=True, lang=self.lang)

    def from_sheet(self, text: str, source: str) -> dict[str, str]:
        """The answers an answer sheet gives, by question (a ``### `` heading that is not
        one of the questions is part of the answer above it)."""
        given = sheet_answers(text, self.asked)
        if not given:
            raise Invalid(
                f"{source} holds no '### question' heading of this report",
                "write each answer under its question as the editor shows it ("
                + _numbered(self.asked)
                + "), or answer one question with --question N",
            )
        answers: dict[str, str] = {}
        for question, answer in given:
            if question in answers:
                raise Invalid(f"{source}: {question!r} is answered twice", "keep one answer")
            answers[question] = answer
        return answers


def answer_sheet(store: Store, actor: Member, ask: AnswerAsk) -> AnswerSheet:
    """The actor's report of the week and its questions, checked before anyone types."""
    config = store.config
    member = config.require_member(ask.member or actor.id)
    path_owner = Owner(member=member.id, team=member.team)
    if member.id != actor.id:
        raise Forbidden(
            f"{actor.id} may not answer in {member.id}'s report: answers are a member's own",
            f"ask {member.id} to run `salesctl report answer`",
        )
    period = (
        parse_period(ask.week, "--week", "week")
        if ask.week is not None
        else period_containing("week", clock.today())
    )
    path = member_report_path(member, period)
    scopes.check_write(config, actor, "report.commit", path_owner, record=path)
    report, questions, answers = _current(store, member, period, path)
    asked = questions
    if ask.question is not None:
        if not 1 <= ask.question <= len(questions):
            raise Invalid(
                f"--question {ask.question}: the report has questions 1-{len(questions)}",
                _numbered(questions),
            )
        asked = (questions[ask.question - 1],)
    return AnswerSheet(member, period, path, report, questions, asked, answers, store.config.lang)


def _current(
    store: Store, member: Member, period: Period, path: str
) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """The member's report as it is now ("" if none), its questions and its answers."""
    report = read_report(store.root, path)
    if report and not any(line.strip() == START_OF_QUESTIONS for line in report.splitlines()):
        raise Invalid(
            f"{path} has no questions block ({START_OF_QUESTIONS} ... <!-- end of questions -->)",
            f"regenerate it: salesctl report weekly --member {member.id} --week {period.id} "
            "--commit",
        )
    written = question_blocks(report)
    config = store.config
    questions = tuple(member_questions(config, member, period.kind, config.lang, written))
    return report, questions, {q: text for q, text in written if text}


def one_answer(sheet: AnswerSheet, text: str, source: str) -> dict[str, str]:
    """``text`` as the answer to the question asked (``--question N`` or the only one)."""
    if len(sheet.asked) != 1:
        raise Invalid(
            f"{source} answers one question and the report has {len(sheet.asked)}",
            f"add --question N ({_numbered(sheet.asked)}), or answer them all in the editor "
            "(no --text) or with --file in the editor's shape",
        )
    if not text.strip():
        raise Invalid(f"{source} is empty", "write the answer")
    return {sheet.asked[0]: text}


def read_answer_file(path: str) -> str:
    """The text of ``--file``: a regular UTF-8 file (or ``-`` for standard input is the
    CLI's business), refused with its name otherwise."""
    from salesctl import yamlio

    try:
        raw = yamlio.read_regular(path, source=path, limit=yamlio.MAX_FILE_BYTES + 1, follow=True)
    except FileNotFoundError:
        raise Invalid(f"--file {path}: no such file", "check the path") from None
    if len(raw) > yamlio.MAX_FILE_BYTES:
        raise Invalid(f"--file {path} is over {yamlio.MAX_FILE_BYTES} bytes", "answers are short")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"--file {path}: not UTF-8 (byte {exc.start})", "save it as UTF-8") from None


def answer_report(
    store: Store,
    actor: Member,
    sheet: AnswerSheet,
    answers: dict[str, str],
    *,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Write ``answers`` (question: Markdown, "" for none) into the sheet's report in one
    commit; none if nothing changed."""
    from salesctl.reports.render import normalise_answer

    with store.transaction(actor, "report.answer", opts) as tx:
        # Read again under the lock: the cron may have written the report while the
        # member was typing, and its figures must not be overwritten with older ones.
        report, questions, merged = _current(store, sheet.member, sheet.period, sheet.path)
        for question, text in answers.items():
            text = normalise_answer(text)
            if text:
                merged[question] = text
            else:
                merged.pop(question, None)
        questions += tuple(q for q in merged if q not in questions)
        pairs = [(q, merged.get(q, "")) for q in questions]
        if report:
            content = replace_questions_block(report, pairs, lang=store.config.lang)
            assert content is not None  # _current refused a report without the block
        else:
            content = _new_report(store, actor, sheet, pairs)
        if content != report:
            tx.write_file(sheet.path, content.encode("utf-8"))
        tx.summary = f"report: {sheet.member.id}'s answers for {sheet.period.id}"
    data = {
        "member": sheet.member.id,
        "period": sheet.period.id,
        "path": sheet.path,
        "questions": [{"question": q, "text": text or None} for q, text in pairs],
    }
    return tx.result(data)


def _new_report(
    store: Store, actor: Member, sheet: AnswerSheet, pairs: list[tuple[str, str]]
) -> str:
    """The member's report as ``report weekly --commit`` would write it, answers in."""
    from salesctl.reports.build import Subject, report_data
    from salesctl.reports.formats import render_report

    config = store.config
    member = sheet.member
    subject = Subject("member", member.id, (member.id,), member.team)
    data = report_data(store, config, subject, sheet.period, config.lang, viewer=actor)
    data["questions"] = [
        {
            "question": q,
            "answers": [{"member": member.id, "name": member.name, "text": a}] if a else [],
            "missing": [] if a else [member.id],
        }
        for q, a in pairs
    ]
    text = render_report(store, data, "md", template=None, lang=config.lang)
    if question_blocks(text) != pairs:
        raise Invalid(
            "the store's templates/report.md.j2 writes no questions block for the answers",
            "add the <!-- questions --> block of the built-in template to it",
        )
    return text


def _numbered(questions: tuple[str, ...]) -> str:
    return "; ".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
