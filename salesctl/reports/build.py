"""Weekly and monthly reports: whom a report is about and the facts of its period, for a
member, a team or the company, as JSON-ready data (the ``--format json`` output).

``build_report`` resolves the subject (checking the viewer may read it) and the period (by
default the last complete one), then gathers from the index the members' figures, stage
movements, pipeline, closed deals, overdue receivables, trend, OKR progress and the questions
with the answers members gave (``questions``). ``formats`` renders that data; ``commit``
writes the reports into the store.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.i18n import require_language
from salesctl.model.config import Config, Member
from salesctl.model.values import to_json
from salesctl.reports.facts import METRICS, Facts, in_list, totals
from salesctl.reports.money import decimal, weighted
from salesctl.reports.periods import Period, last_complete, parse_period
from salesctl.reports.questions import rolled_up
from salesctl.scopes import owner_dirs
from salesctl.store.index_committed import committed
from salesctl.store.layout import TRIAGE_DIR, Owner
from salesctl.store.store import Store

TREND_PERIODS = 8


@dataclass(frozen=True)
class Subject:
    """Whom a report is about: one member, a team, or the whole company."""

    kind: str  # member, team, company
    id: str
    members: tuple[str, ...]
    team: str | None = None


def resolve_subject(
    config: Config, viewer: Member, *, member: str | None, team: str | None, all_: bool
) -> Subject:
    if sum(bool(x) for x in (member, team, all_)) > 1:
        raise Invalid("--member, --team and --all are exclusive", "choose one")
    scope = config.role_of(viewer).scope
    if all_:
        if scope != "all":
            raise Forbidden(
                f"{viewer.id} may not read the whole company's report", "ask a director"
            )
        return Subject("company", "company", tuple(config.members))
    if team:
        config.require_team(team)
        if scope != "all" and not (scope == "team" and viewer.team == team):
            raise Forbidden(f"{viewer.id} may not read team {team}'s report", "ask its lead")
        return Subject("team", team, tuple(m.id for m in config.team_members(team)), team)
    target = config.require_member(member or viewer.id)
    if not scopes.may_read(config, viewer, Owner(member=target.id, team=target.team)):
        raise Forbidden(f"{viewer.id} may not read {target.id}'s report")
    return Subject("member", target.id, (target.id,), target.team)


@dataclass(frozen=True)
class ReportAsk:
    """What a report is asked for: a ``week`` or ``month`` (a given one, else the last
    complete one), whose (one member, default the viewer; a team; or the company, ``all_``)
    and in which language (default the config's)."""

    period_kind: str
    period_id: str | None = None
    member: str | None = None
    team: str | None = None
    all_: bool = False
    lang: str | None = None

    def resolve(self, config: Config, viewer: Member) -> tuple[Subject, Period]:
        """The subject (the viewer must be allowed it) and the period, checked."""
        if self.lang is not None:
            require_language(self.lang)
        subject = resolve_subject(
            config, viewer, member=self.member, team=self.team, all_=self.all_
        )
        kind = self.period_kind
        if self.period_id is None:
            return subject, last_complete(kind, clock.today())
        return subject, parse_period(self.period_id, f"--{kind}", kind)


def build_report(store: Store, viewer: Member, ask: ReportAsk) -> dict[str, Any]:
    """Everything a report states, as JSON-ready data (the ``--format json`` output)."""
    config = store.config
    subject, period = ask.resolve(config, viewer)
    return report_data(store, config, subject, period, ask.lang or config.lang, viewer=viewer)


def report_data(
    store: Store,
    config: Config,
    subject: Subject,
    period: Period,
    lang: str,
    *,
    viewer: Member | None = None,
) -> dict[str, Any]:
    """The report of an already resolved ``subject`` (whoever asks was checked before);
    the answers shown are those of the members ``viewer`` may read (None: all)."""
    facts = Facts(store.index, config, within=subject_dirs(config, subject))
    # The figures are those of the commit the report names: no look at the work tree.
    # the company's report counts the feedback waiting in triage, for whoever may read it
    triage = subject.kind == "company" and (
        viewer is None or TRIAGE_DIR not in scopes.read_scope(config, viewer).hidden
    )
    with committed(store.index, facts.within) as uncommitted:
        data = _report_figures(store, config, facts, subject, period, triage=triage)
    data["uncommitted"] = uncommitted
    rollup = rolled_up(store.root, config, subject, period, lang, viewer)
    data["questions"] = rollup.questions
    # broken records the figures left out, and report files the answers could not be read from
    data["skipped"] = data.pop("skipped") + rollup.skipped
    return to_json(data)  # type: ignore[no-any-return]


def _report_figures(
    store: Store, config: Config, facts: Facts, subject: Subject, period: Period, *, triage: bool
) -> dict[str, Any]:
    rows = facts.member_facts(period, subject.members)
    if subject.kind != "member":
        inactive = {m.id for m in config.members.values() if not m.active}
        rows = [r for r in rows if r["member"] not in inactive or any(r[k] for k in METRICS)]
    members = set(subject.members)
    feedback, in_triage = _feedback(facts, period, members, triage)
    data: dict[str, Any] = {
        "org": config.org,
        "currency": config.currency,
        "subject": {"kind": subject.kind, "id": subject.id, "name": _subject_name(config, subject)},
        "period": period.as_json(),
        "data_commit": store.repo.data_commit() if store.repo.owns_root else None,
        "generated": clock.today().isoformat(),
        "members": [_member_row(config, r) for r in rows],
        "totals": totals(rows),
        "stage_movements": {
            kind: facts.stage_entries(kind, period, members) for kind in ("lead", "deal")
        },
        "pipeline": pipeline_rows(facts, config, members, state_day(period)),
        "deals_closed": _deals_closed(facts, period, members),
        "competitors": _competitors(facts, period, members),
        "feedback": feedback,
        "feedback_triage": in_triage,
        "overdue": _overdue(facts, period.end, members),
        "aging": facts.aging_at(period.end, members),
        "trend": _trend(facts, period, members),
        "okrs": okr_progress(store, config, facts, subject, period),
    }
    data["skipped"] = facts.skipped()
    return data


def subject_dirs(config: Config, subject: Subject) -> list[str]:
    """The directories a report reads: its members' records (counted by owner, wherever
    they sit) and, for a team, the team's own (its OKRs); all of them for the company.
    Follow-ups and visits count by author wherever they are, but hand edits to them are
    looked for only here (commits are always seen)."""
    if subject.kind == "company":
        return []
    dirs = set(owner_dirs(config, subject.members))
    if subject.kind == "team":
        dirs.add(Owner(team=subject.id).dir)
    return sorted(dirs)


def _subject_name(config: Config, subject: Subject) -> str:
    """What a report's title calls its subject: the member's or team's name, the org's."""
    if subject.kind == "member":
        member = config.member(subject.id)
        return member.name if member else subject.id
    if subject.kind == "team":
        return config.team_name(subject.id) or subject.id
    return config.org


def _member_row(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    member = config.members[row["member"]]
    team = {"team": member.team, "team_name": config.team_name(member.team)}
    return {"member": member.id, "name": member.name, **team, **row}


def state_day(period: Period) -> dt.date | None:
    """The day a period's state-at-the-end figures are taken on: its last day, or None (now)
    while it has not ended (nothing is dated after today)."""
    return period.end if period.end < clock.today() else None


def pipeline_rows(
    facts: Facts, config: Config, members: set[str] | None, when: dt.date | None = None
) -> list[dict[str, Any]]:
    """Per deal stage (config order): count, amount and probability-weighted amount, of
    the deals as they stood at the end of ``when`` (None: now)."""
    where, args = in_list("owner", members) if members is not None else ("", [])
    found = facts.stage_totals(where, args, when)
    rows = []
    for stage in config.deal_stages:
        count, amount = found.get(stage.id, (0, Decimal(0)))
        rows.append(
            {
                "stage": stage.id,
                "stage_name": stage.name or stage.id,
                "probability": stage.probability,
                "count": count,
                "amount": amount,
                "weighted": weighted(amount, stage.probability),
            }
        )
    return rows


def _deals_closed(facts: Facts, period: Period, members: set[str]) -> list[dict[str, Any]]:
    found = facts.closed_deals(period, members)
    names = facts.customer_names(row[-1] for row in found)
    closed = [
        {
            "id": deal_id,
            "owner": owner,
            "title": title,
            "customer": names.get(customer, customer),
            "amount": decimal(amount),
            "stage": stage,
            "stage_name": facts.config.stage_name("deal", stage),
            "on": day,
            "reason": reason,
            "lost_to": lost_to,
        }
        for deal_id, owner, title, amount, stage, day, reason, lost_to, customer in found
    ]
    return sorted(closed, key=lambda d: (d["stage"], d["on"], d["id"]))


def _competitors(facts: Facts, period: Period, members: set[str]) -> list[dict[str, Any]]:
    """Competitors met in the deals won or lost in the period: in how many, how many of
    those were won against them, how many lost to them."""
    rows: dict[str, dict[str, Any]] = {}
    for competitors, stage, lost_to in facts.competitors_met(period, members):
        names = set(json.loads(competitors) if competitors else []) | (
            {lost_to} if lost_to else set()
        )
        for name in names:
            row = rows.setdefault(name, {"competitor": name, "deals": 0, "won": 0, "lost_to": 0})
            row["deals"] += 1
            row["won"] += stage == facts.won
            row["lost_to"] += stage == facts.lost and name == lost_to
    return sorted(rows.values(), key=lambda r: (-r["deals"], r["competitor"]))


def _feedback(
    facts: Facts, period: Period, members: set[str], triage: bool
) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
    """Customer feedback received and closed in the period, per owner (who had some); and,
    with ``triage``, that of the feedback waiting in triage (else None: not counted)."""
    rows = [
        {"owner": owner, "received": int(received or 0), "closed": int(closed or 0)}
        for owner, received, closed in facts.feedback_counts(period, members, triage=triage)
    ]
    in_triage = None
    if triage:
        waiting = next((r for r in rows if r["owner"] is None), {"received": 0, "closed": 0})
        in_triage = {"received": waiting["received"], "closed": waiting["closed"]}
    owned = (r for r in rows if r["owner"] is not None and (r["received"] or r["closed"]))
    return sorted(owned, key=lambda r: r["owner"]), in_triage


def _overdue(facts: Facts, as_of: dt.date, members: set[str]) -> list[dict[str, Any]]:
    late = [
        (r, [i for i in r.items if i.days_overdue(as_of) > 0])
        for r in facts.receivables(as_of, members)
    ]
    late = [(r, items) for r, items in late if items]
    names = facts.customer_names(r.customer for r, _items in late)
    rows = [
        {
            "contract": r.contract,
            "owner": r.owner,
            "title": r.title,
            "customer": names.get(r.customer or "", r.customer),
            "amount": sum((i.amount for i in items), Decimal(0)),
            "days_overdue": max(i.days_overdue(as_of) for i in items),
        }
        for r, items in late
    ]
    return sorted(rows, key=lambda r: (-r["days_overdue"], r["contract"]))


def _trend(facts: Facts, period: Period, members: set[str]) -> list[dict[str, Any]]:
    periods = [period]
    while len(periods) < TREND_PERIODS:
        periods.insert(0, periods[0].previous())
    return [
        {
            "period": p.id,
            "new_leads": sum(facts.metric("new_leads", p, members).values()),
            "contract_amount": sum(
                facts.metric("contract_amount", p, members).values(), Decimal(0)
            ),
        }
        for p in periods
    ]


def value_on(kr: dict[str, Any], day: dt.date | None) -> Decimal:
    """A checked-in key result's value at the end of ``day`` (None: now): the last check-in
    by then (``checkins``), 0 if there was none yet."""
    checked = kr.get("checked")
    if day is None or not checked or str(checked) <= day.isoformat():
        return decimal(kr.get("value"))
    earlier = [c for c in kr.get("checkins") or [] if c.split("=", 1)[0] <= day.isoformat()]
    return decimal(earlier[-1].split("=", 1)[1]) if earlier else Decimal(0)


def okr_progress(
    store: Store, config: Config, facts: Facts, subject: Subject, period: Period | None
) -> list[dict[str, Any]]:
    """OKRs of the subject overlapping ``period`` with each key result's current value.

    A key result with a ``metric`` computes ``current`` from the records over the OKR's own
    period for its owner (a member, every member of a team, or the whole company); others
    use the latest check-in ``value``. Progress is current / target, capped at 1.
    """
    column = {"member": "owner", "team": "team"}.get(subject.kind)  # the company: every OKR
    where, args = (f"{column} = ?", [subject.id]) if column else ("", [])
    result = []
    for (
        okr_id,
        owner,
        team,
        _parent,
        okr_period,
        objective,
        key_results,
        okr_owner,
    ) in store.index.select(
        "okr", ["period", "objective", "key_results", "owner"], where, args, within=facts.within
    ):
        try:
            span = parse_period(okr_period)
        except Invalid:
            continue
        if period is not None and (span.end < period.start or span.start > period.end):
            continue
        # a past period's report: the OKR as it stood at the period's end
        day = state_day(period) if period is not None else None
        if day is not None and day < span.end:
            span = Period(span.kind, span.id, span.start, day)
        if owner:
            people = {owner}
        elif team:
            people = {m.id for m in config.team_members(team)}
        else:
            people = set(config.members)
        krs = []
        for kr in json.loads(key_results) if key_results else []:
            target = decimal(kr.get("target"))
            metric = kr.get("metric")
            if metric in METRICS:
                values = facts.metric(metric, span, people)
                current = sum((decimal(v) for v in values.values()), Decimal(0))
            else:
                current = value_on(kr, day)
            progress = min(Decimal(1), current / target) if target > 0 else Decimal(0)
            krs.append(
                {
                    "id": kr.get("id"),
                    "title": kr.get("title"),
                    "target": target,
                    "metric": metric,
                    "current": current,
                    "progress": float(round(progress, 4)),
                }
            )
        overall = sum(k["progress"] for k in krs) / len(krs) if krs else 0.0
        result.append(
            {
                "id": okr_id,
                "period": okr_period,
                "owner": okr_owner,
                "objective": objective,
                "key_results": krs,
                "progress": round(overall, 4),
            }
        )
    return result
