"""``report --commit``: each report of a period written into the store, in one commit.

A member's report goes to their own ``reports/`` directory, a team's and the company's to
theirs; a company report also writes every team's. Each part is built (``build``) and
rendered to Markdown (``formats``) afresh; a member's report keeps the answers written
in the committed one (``build`` reads them from it). Cron-ready: no prompts, the default
period is the last complete one, and nothing changed makes no commit. A rendered report
``--out`` puts inside the store (``rendered``) goes into the same commit, where its
directory allows: a reports/ directory the actor may commit reports to.
"""

from __future__ import annotations

from salesctl import scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.model.config import Config, Member
from salesctl.reports.build import ReportAsk, Subject, report_data
from salesctl.reports.formats import render_report
from salesctl.reports.periods import Period
from salesctl.reports.questions import member_report_path, read_report, writes_a_report
from salesctl.store.layout import Owner
from salesctl.store.results import WriteResult
from salesctl.store.store import Store


def report_paths(config: Config, subject: Subject, period: Period) -> list[tuple[Subject, str]]:
    """Where ``--commit`` writes: each seller's report, then team and company summaries
    (a report asked for one member is written for them whoever they are)."""
    result = []
    for member_id in subject.members:
        member = config.members[member_id]
        if subject.kind != "member" and not writes_a_report(config, member):
            continue
        result.append(
            (
                Subject("member", member.id, (member.id,), member.team),
                member_report_path(member, period),
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
    store: Store,
    actor: Member,
    ask: ReportAsk,
    *,
    template: str | None = None,
    rendered: tuple[str, str] | None = None,
) -> WriteResult[list[str]]:
    """Write the Markdown reports into the store in one commit, with ``rendered`` (its path
    in the store and its text) if given; no commit if nothing changed."""
    config = store.config
    if rendered is not None:
        check_rendered_path(config, actor, rendered[0])
    lang = ask.lang or config.lang
    subject, period = ask.resolve(config, actor)
    written: list[str] = []
    action = {"week": "report.weekly", "month": "report.monthly"}[period.kind]
    with store.transaction(actor, action) as tx:
        for part, path in report_paths(config, subject, period):
            owner = _owner_of_report(config, part)
            scopes.check_write(config, actor, "report.commit", owner, record=path)
            previous = read_report(store.root, path)
            data = report_data(store, config, part, period, lang, viewer=actor)
            text = render_report(store, data, "md", template=template, lang=lang)
            if text != previous:
                tx.write_file(path, text.encode("utf-8"))
                written.append(path)
        if rendered is not None and rendered[1] != read_report(store.root, rendered[0]):
            tx.write_file(rendered[0], rendered[1].encode("utf-8"))
            written.append(rendered[0])
        whom = "the company" if subject.kind == "company" else f"{subject.kind} {subject.id}"
        tx.summary = f"report: {period.id} for {whom} ({len(written)} files)"
    return tx.result(written)


def _owner_of_report(config: Config, subject: Subject) -> Owner:
    if subject.kind == "member":
        member = config.members[subject.id]
        return Owner(member=member.id, team=member.team)
    if subject.kind == "team":
        return Owner(team=subject.id)
    return Owner(company=True)


def check_rendered_path(config: Config, actor: Member, path: str) -> None:
    """Refuse a rendered report at ``path`` (relative to the store) that ``actor`` may not
    commit there, by the rule ``check --range`` judges commits with: a reports/ directory
    of an owner the actor may commit reports for, or (directors, admins) outside the
    record directories."""
    from salesctl.ops.collab.judge import CONFIG_ACTION
    from salesctl.ops.collab.places import place_of

    hint = "use a reports/ directory, e.g. --out reports/html or --out teams/<team>/reports/html"
    if path.split("/")[0] == ".git":
        raise Invalid(f"--out: {path} is inside the store's .git directory", hint)
    place = place_of(path)
    if place.owner is None:
        if not scopes.action_allowed(config, actor, CONFIG_ACTION):
            raise Forbidden(
                f"{actor.id} may not commit {path}: outside the record directories only "
                "directors and admins may write",
                hint,
            )
    elif place.special == "report":
        scopes.check_write(config, actor, "report.commit", place.owner, record=path)
    else:
        raise Invalid(f"--out: {path} is not where a report can live in the store", hint)
