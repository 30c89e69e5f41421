"""A report's questions and the answers to them.

Which questions a report asks comes from ``reports:`` in salesctl.yaml (docs/reports.md):
a team's own, else the member's role's, else the org's, else the built-in ones in the
report's language. Members write their answers into their own weekly report
(``<member's directory>/reports/<period>.md``, between the ``<!-- questions -->`` markers:
``render.question_blocks``); a report reads them back from there. A member's report shows
their own answers, a team's each seller's under every question plus who has not answered,
the company's the team leads'. Only the members the viewer may read are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesctl import scopes, yamlio
from salesctl.i18n import gettext_for
from salesctl.model.config import Config, Member
from salesctl.reports.periods import Period
from salesctl.reports.render import question_blocks
from salesctl.store.layout import Owner


def default_questions(period_kind: str, lang: str) -> list[str]:
    """The built-in questions of a week or a month, in ``lang`` (from the catalogue: answers
    are kept under the question's text, so these words are the keys of written answers)."""
    _ = gettext_for(lang)
    if period_kind == "month":
        return [
            _("What were the main results this month?"),
            _("What problems or risks need help?"),
            _("What are the goals for next month?"),
        ]
    return [
        _("What went well this week?"),
        _("What problems or risks need help?"),
        _("What is the plan for next week?"),
    ]


def questions_for(
    config: Config,
    period_kind: str,
    lang: str,
    *,
    team: str | None = None,
    role: str | None = None,
) -> list[str]:
    """The configured questions: the team's, else the role's, else the org's, else the
    built-in ones. Shape in salesctl.yaml (validated by ``model.config``)::

        reports:
          questions: {week: [...], month: [...]}
          teams: {east: {questions: {week: [...]}}}
          roles: {lead: {questions: {week: [...]}}}
    """
    settings = config.extra.get("reports") or {}
    levels = [((settings.get("teams") or {}).get(team or "") or {}).get("questions")]
    levels.append(((settings.get("roles") or {}).get(role or "") or {}).get("questions"))
    levels.append(settings.get("questions"))
    for source in levels:
        if isinstance(source, dict) and isinstance(source.get(period_kind), list):
            return [str(q) for q in source[period_kind]]
    return default_questions(period_kind, lang)


def member_questions(
    config: Config, member: Member, period_kind: str, lang: str, written: list[tuple[str, str]]
) -> list[str]:
    """A member's questions: the configured ones, then any they answered that the config
    no longer asks (an answer is never dropped by a change of questions)."""
    asked = questions_for(config, period_kind, lang, team=member.team, role=member.role)
    return asked + [q for q, text in written if text and q not in asked]


def writes_a_report(config: Config, member: Member) -> bool:
    """Who gets a weekly report of their own: active members of the roles in
    ``reports.writers``, by default the sellers of a team (a role that adds leads: reps and
    leads). A departed member, finance, service, an admin or a bot (an intake account) do
    not; their figures still count in the team's and company's reports."""
    writers = (config.extra.get("reports") or {}).get("writers")
    if isinstance(writers, list):
        return member.active and member.role in writers
    return (
        member.active
        and member.team is not None
        and scopes.action_allowed(config, member, "lead.add")
    )


def member_report_path(member: Member, period: Period) -> str:
    """Where a member's report of ``period`` lives (``report weekly --commit`` writes it)."""
    return f"{Owner(member=member.id, team=member.team).dir}/reports/{period.id}.md"


def read_report(root: Path, path: str) -> str:
    """A committed report's text ("" if there is none, or if it is sealed to others in an
    encrypted store); only a regular file is read."""
    from salesctl import sealing

    try:
        data = yamlio.read_regular(root / path, source=path)
    except FileNotFoundError:
        return ""
    return (sealing.plaintext(data, path) or b"").decode("utf-8", "replace")


def answerers(config: Config, kind: str, subject_id: str) -> list[Member]:
    """Whose answers a report shows: the member's own; a team's sellers; the company's
    team leads (active members with a team and a team-wide data scope)."""
    if kind == "member":
        return [config.members[subject_id]]
    if kind == "team":
        return [m for m in config.team_members(subject_id) if writes_a_report(config, m)]
    return [
        m
        for m in config.members.values()
        if m.active and m.team is not None and config.role_of(m).scope == "team"
    ]


@dataclass
class Rollup:
    """The questions of one report with the answers found, as JSON-ready data."""

    questions: list[dict[str, Any]]
    skipped: list[str]  # "path: problem" of report files that could not be read


def rolled_up(
    root: Path,
    config: Config,
    subject: Any,  # build.Subject
    period: Period,
    lang: str,
    viewer: Member | None,
) -> Rollup:
    """Each question of ``subject``'s report with every answerer's answer and, in
    ``missing``, those asked it who have not answered yet. ``viewer``: only the members
    they may read (None: whoever asks was checked before)."""
    people = [
        m
        for m in answerers(config, subject.kind, subject.id)
        if viewer is None or scopes.may_read(config, viewer, Owner(member=m.id, team=m.team))
    ]
    skipped: list[str] = []
    if subject.kind == "member":
        order: list[str] = []
    else:
        order = questions_for(config, period.kind, lang, team=subject.team)
    answers: dict[str, dict[str, str]] = {}  # member -> question -> text
    asked: dict[str, list[str]] = {}
    for member in people:
        path = member_report_path(member, period)
        try:
            written = question_blocks(read_report(root, path))
        except yamlio.YamlError as exc:
            skipped.append(f"{path}: {exc.detail}")
            written = []
        answers[member.id] = {q: text for q, text in written if text}
        asked[member.id] = member_questions(config, member, period.kind, lang, written)
        order += [q for q in asked[member.id] if q not in order]
    questions = [
        {
            "question": question,
            "answers": [
                {"member": m.id, "name": m.name, "text": answers[m.id][question]}
                for m in people
                if question in answers[m.id]
            ],
            "missing": [
                m.id for m in people if question in asked[m.id] and question not in answers[m.id]
            ],
        }
        for question in order
    ]
    return Rollup(questions, skipped)
