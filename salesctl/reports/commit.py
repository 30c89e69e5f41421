"""``report --commit``: each report of a period written into the store, in one commit.

A member's report goes to their own ``reports/`` directory, a team's and the company's to
theirs; a company report also writes every team's. Each part is built (``build``) and
rendered to Markdown (``formats``) afresh, keeping the answers members wrote under the
questions of the committed one. Cron-ready: no prompts, the default period is the last
complete one, and nothing changed makes no commit.
"""

from __future__ import annotations

from pathlib import Path

from salesctl import scopes
from salesctl.model.config import Config, Member
from salesctl.reports.build import ReportAsk, Subject, report_data
from salesctl.reports.formats import render_report
from salesctl.reports.periods import Period
from salesctl.reports.render import parse_answers
from salesctl.store.layout import Owner
from salesctl.store.results import WriteResult
from salesctl.store.store import Store


def writes_a_report(config: Config, member: Member) -> bool:
    """Who gets a weekly report of their own: the active sellers of a team (reps and
    leads). A departed member, finance, service, an admin or a bot (an intake account) do
    not; their figures still count in the team's and company's reports."""
    return (
        member.active
        and member.team is not None
        and scopes.action_allowed(config, member, "lead.add")
    )


def report_paths(config: Config, subject: Subject, period: Period) -> list[tuple[Subject, str]]:
    """Where ``--commit`` writes: each seller's report, then team and company summaries
    (a report asked for one member is written for them whoever they are)."""
    result = []
    for member_id in subject.members:
        member = config.members[member_id]
        if subject.kind != "member" and not writes_a_report(config, member):
            continue
        home = Owner(member=member.id, team=member.team).dir
        result.append(
            (
                Subject("member", member.id, (member.id,), member.team),
                f"{home}/reports/{period.id}.md",
            )
        )
    if subject.kind == "team":
        result.append((subject, f"teams/{subject.id}/reports/{period.id}.md"))
    if subject.kind == "company":
        for team in config.teams:
            members = tuple(m.id for m in config.team_members(team))
            result.append(
                (Subject("team", team, members, team), f"teams/{team}/reports/{period.id}.md")
            )
        result.append((subject, f"reports/{period.id}.md"))
    return result


def commit_reports(
    store: Store, actor: Member, ask: ReportAsk, *, template: str | None = None
) -> WriteResult[list[str]]:
    """Write the Markdown reports into the store in one commit; none if nothing changed."""
    config = store.config
    lang = ask.lang or config.lang
    subject, period = ask.resolve(config, actor)
    written: list[str] = []
    action = {"week": "report.weekly", "month": "report.monthly"}[period.kind]
    with store.transaction(actor, action) as tx:
        for part, path in report_paths(config, subject, period):
            owner = _owner_of_report(config, part)
            scopes.check_write(config, actor, "report.commit", owner, record=path)
            target = store.root / path
            previous = _previous_report(target, path)
            data = report_data(store, config, part, period, lang)
            text = render_report(
                store, data, "md", template=template, lang=lang, answers=parse_answers(previous)
            )
            if text != previous:
                tx.write_file(path, text.encode("utf-8"))
                written.append(path)
        tx.summary = f"report: {period.id} for {subject.kind} {subject.id} ({len(written)} files)"
    return tx.result(written)


def _previous_report(target: Path, path: str) -> str:
    """The report as committed before (its answers are kept); only a regular file is read."""
    from salesctl import yamlio

    try:
        return yamlio.read_regular(target, source=path).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _owner_of_report(config: Config, subject: Subject) -> Owner:
    if subject.kind == "member":
        member = config.members[subject.id]
        return Owner(member=member.id, team=member.team)
    if subject.kind == "team":
        return Owner(team=subject.id)
    return Owner(company=True)
