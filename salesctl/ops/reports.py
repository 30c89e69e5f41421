"""Weekly and monthly reports: the facts of a period for a member, a team or the company,
rendered to Markdown, HTML or JSON, and optionally committed into the store.

Cron-ready: no prompts, the default period is the last complete one, and ``--commit`` makes
no commit when nothing changed. Regenerating keeps what members wrote under the questions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Forbidden, Invalid, NotFound
from salesctl.model.config import Config, Member
from salesctl.model.values import to_json
from salesctl.reports import charts
from salesctl.reports.facts import METRICS, Facts, totals
from salesctl.reports.money import BUCKETS, decimal
from salesctl.reports.periods import Period, last_complete, parse_period
from salesctl.reports.render import ANSWER_PLACEHOLDER, parse_answers, render
from salesctl.store.layout import Owner
from salesctl.store.store import Store, Transaction

DEFAULT_QUESTIONS = {
    "en": {
        "week": [
            "What went well this week?",
            "What problems or risks need help?",
            "What is the plan for next week?",
        ],
        "month": [
            "What were the main results this month?",
            "What problems or risks need help?",
            "What are the goals for next month?",
        ],
    },
    "zh": {
        "week": [
            "本周有哪些进展顺利？",
            "遇到了哪些问题或风险，需要什么支持？",
            "下周计划是什么？",
        ],
        "month": [
            "本月的主要成果是什么？",
            "遇到了哪些问题或风险，需要什么支持？",
            "下月目标是什么？",
        ],
    },
}
FORMATS = ("md", "html", "json")
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report": "Sales report",
        "week": "Week",
        "month": "Month",
        "facts": "Facts",
        "member": "Member",
        "total": "Total",
        "new_leads": "New leads",
        "followups": "Follow-ups",
        "visits": "Visits",
        "leads_converted": "Converted",
        "deals_won": "Won",
        "deals_lost": "Lost",
        "contracts_signed": "Contracts",
        "contract_amount": "Signed amount",
        "payments_received": "Received",
        "outstanding": "Outstanding",
        "movements": "Stage movements",
        "leads": "Leads",
        "deals": "Deals",
        "pipeline": "Pipeline",
        "stage": "Stage",
        "count": "Count",
        "amount": "Amount",
        "weighted": "Weighted",
        "closed": "Deals won and lost",
        "reason": "Reason",
        "lost_to": "Lost to",
        "overdue": "Overdue receivables",
        "contract": "Contract",
        "customer": "Customer",
        "days": "Days overdue",
        "aging": "Receivables aging",
        "okrs": "OKR progress",
        "progress": "Progress",
        "target": "Target",
        "current": "Current",
        "questions": "Questions",
        "trend": "Trend",
        "data_from": "Data from commit",
        "none": "None.",
        "funnel": "Funnel",
    },
    "zh": {
        "report": "销售报告",
        "week": "周",
        "month": "月",
        "facts": "数据概览",
        "member": "成员",
        "total": "合计",
        "new_leads": "新线索",
        "followups": "跟进",
        "visits": "拜访",
        "leads_converted": "转化",
        "deals_won": "赢单",
        "deals_lost": "输单",
        "contracts_signed": "签约数",
        "contract_amount": "签约金额",
        "payments_received": "回款",
        "outstanding": "应收余额",
        "movements": "阶段变化",
        "leads": "线索",
        "deals": "商机",
        "pipeline": "销售漏斗",
        "stage": "阶段",
        "count": "数量",
        "amount": "金额",
        "weighted": "加权金额",
        "closed": "赢单与输单",
        "reason": "原因",
        "lost_to": "输给",
        "overdue": "逾期应收",
        "contract": "合同",
        "customer": "客户",
        "days": "逾期天数",
        "aging": "应收账龄",
        "okrs": "OKR 进度",
        "progress": "进度",
        "target": "目标",
        "current": "当前",
        "questions": "问题",
        "trend": "趋势",
        "data_from": "数据来自提交",
        "none": "无。",
        "funnel": "漏斗",
    },
}
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
        if team not in config.teams:
            raise NotFound(f"unknown team {team!r}", "see `salesctl team list`")
        if scope != "all" and not (scope == "team" and viewer.team == team):
            raise Forbidden(f"{viewer.id} may not read team {team}'s report", "ask its lead")
        return Subject("team", team, tuple(m.id for m in config.team_members(team)), team)
    target = config.member(member or viewer.id)
    if target is None:
        raise NotFound(f"unknown member {member!r}", "see `salesctl member list`")
    if not scopes.may_read(config, viewer, Owner(member=target.id, team=target.team)):
        raise Forbidden(f"{viewer.id} may not read {target.id}'s report")
    return Subject("member", target.id, (target.id,), target.team)


def questions_for(config: Config, subject: Subject, period_kind: str, lang: str) -> list[str]:
    """The template's questions: the team's own, else the org's, else the defaults.

    Shape in salesctl.yaml::

        reports:
          questions: {week: [...], month: [...]}
          teams:
            east: {questions: {week: [...]}}
    """
    settings = config.extra.get("reports") or {}
    team_settings = ((settings.get("teams") or {}).get(subject.team or "") or {}).get("questions")
    for source in (team_settings, settings.get("questions")):
        if isinstance(source, dict) and isinstance(source.get(period_kind), list):
            return [str(q) for q in source[period_kind]]
    return DEFAULT_QUESTIONS.get(lang, DEFAULT_QUESTIONS["en"])[period_kind]


def build_report(
    store: Store,
    viewer: Member,
    *,
    period_kind: str,
    period_id: str | None = None,
    member: str | None = None,
    team: str | None = None,
    all_: bool = False,
    lang: str | None = None,
) -> dict[str, Any]:
    """Everything a report states, as JSON-ready data (the ``--format json`` output)."""
    config = store.config
    subject = resolve_subject(config, viewer, member=member, team=team, all_=all_)
    period = parse_period(period_id) if period_id else last_complete(period_kind, clock.today())
    if period.kind != period_kind:
        raise Invalid(
            f"{period.id} is a {period.kind}, not a {period_kind}", "e.g. 2026-W47 or 2026-11"
        )
    return _report_data(store, config, subject, period, lang or config.lang)


def _report_data(
    store: Store, config: Config, subject: Subject, period: Period, lang: str
) -> dict[str, Any]:
    facts = Facts(store.index, config)
    rows = facts.member_facts(period, subject.members)
    if subject.kind != "member":
        inactive = {m.id for m in config.members.values() if not m.active}
        rows = [r for r in rows if r["member"] not in inactive or any(r[k] for k in METRICS)]
    members = set(subject.members)
    data: dict[str, Any] = {
        "org": config.org,
        "currency": config.currency,
        "subject": {"kind": subject.kind, "id": subject.id},
        "period": period.as_json(),
        "data_commit": store.repo.data_commit() if store.repo.owns_root else None,
        "generated": clock.today().isoformat(),
        "members": [_member_row(config, r) for r in rows],
        "totals": totals(rows),
        "stage_movements": _stage_movements(store, period, members),
        "pipeline": pipeline_rows(store, config, members),
        "deals_closed": _deals_closed(store, facts, period, members),
        "overdue": _overdue(store, facts, period.end, members),
        "aging": facts.aging_at(period.end, members),
        "trend": _trend(facts, period, members),
        "okrs": okr_progress(store, config, facts, subject, period),
        "questions": questions_for(config, subject, period.kind, lang),
    }
    return to_json(data)  # type: ignore[no-any-return]


def _member_row(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    member = config.members[row["member"]]
    return {"member": member.id, "name": member.name, "team": member.team, **row}


def _stage_movements(store: Store, period: Period, members: set[str]) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for kind in ("lead", "deal"):
        counts: dict[str, int] = {}
        for _id, owner, _team, _parent, stages in store.index.select(kind, ["stages"]):
            if owner not in members or not stages:
                continue
            for stage, day in json.loads(stages).items():
                if period.contains(dt.date.fromisoformat(day)):
                    counts[stage] = counts.get(stage, 0) + 1
        result[kind] = counts
    return result


def pipeline_rows(store: Store, config: Config, members: set[str] | None) -> list[dict[str, Any]]:
    """Per deal stage (config order): count, amount and probability-weighted amount."""
    by_stage: dict[str, list[Decimal]] = {s.id: [] for s in config.deal_stages}
    for _id, owner, _team, _parent, stage, amount in store.index.select(
        "deal", ["stage", "amount"]
    ):
        if (members is None or owner in members) and stage in by_stage:
            by_stage[stage].append(decimal(amount))
    rows = []
    for stage in config.deal_stages:
        amounts = by_stage[stage.id]
        amount = sum(amounts, Decimal(0))
        weighted = (amount * stage.probability / 100).quantize(Decimal("0.01"))
        rows.append(
            {
                "stage": stage.id,
                "probability": stage.probability,
                "count": len(amounts),
                "amount": amount,
                "weighted": weighted,
            }
        )
    return rows


def _deals_closed(
    store: Store, facts: Facts, period: Period, members: set[str]
) -> list[dict[str, Any]]:
    names = {r[0]: r[4] for r in store.index.select("customer", ["name"])}
    closed = []
    for (
        deal_id,
        owner,
        _t,
        _p,
        title,
        amount,
        stage,
        stages,
        reason,
        lost_to,
        customer,
    ) in store.index.select(
        "deal", ["title", "amount", "stage", "stages", "reason", "lost_to", "customer"]
    ):
        if owner not in members or stage not in (facts.won, facts.lost) or not stages:
            continue
        day = json.loads(stages).get(stage)
        if day and period.contains(dt.date.fromisoformat(day)):
            closed.append(
                {
                    "id": deal_id,
                    "owner": owner,
                    "title": title,
                    "customer": names.get(customer, customer),
                    "amount": decimal(amount),
                    "stage": stage,
                    "on": day,
                    "reason": reason,
                    "lost_to": lost_to,
                }
            )
    return sorted(closed, key=lambda d: (d["stage"], d["on"], d["id"]))


def _overdue(store: Store, facts: Facts, as_of: dt.date, members: set[str]) -> list[dict[str, Any]]:
    info = {r[0]: (r[4], r[5]) for r in store.index.select("contract", ["title", "customer"])}
    names = {r[0]: r[4] for r in store.index.select("customer", ["name"])}
    rows = []
    for owner, contract_id, items in facts.open_receivables(as_of, members):
        late = [i for i in items if i.days_overdue(as_of) > 0]
        if late:
            title, customer = info.get(contract_id, ("", ""))
            rows.append(
                {
                    "contract": contract_id,
                    "owner": owner,
                    "title": title,
                    "customer": names.get(customer, customer),
                    "amount": sum((i.amount for i in late), Decimal(0)),
                    "days_overdue": max(i.days_overdue(as_of) for i in late),
                }
            )
    return sorted(rows, key=lambda r: (-r["days_overdue"], r["contract"]))


def _trend(facts: Facts, period: Period, members: set[str]) -> list[dict[str, Any]]:
    periods = [period]
    while len(periods) < TREND_PERIODS:
        periods.insert(0, periods[0].previous())
    rows = []
    for p in periods:
        leads = facts.metric("new_leads", p)
        signed = facts.metric("contract_amount", p)
        rows.append(
            {
                "period": p.id,
                "new_leads": sum(v for k, v in leads.items() if k in members),
                "contract_amount": sum((v for k, v in signed.items() if k in members), Decimal(0)),
            }
        )
    return rows


def okr_progress(
    store: Store, config: Config, facts: Facts, subject: Subject, period: Period | None
) -> list[dict[str, Any]]:
    """OKRs of the subject overlapping ``period`` with each key result's current value.

    A key result with a ``metric`` computes ``current`` from the records over the OKR's own
    period for its owner (a member, every member of a team, or the whole company); others
    use the latest check-in ``value``. Progress is current / target, capped at 1.
    """
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
    ) in store.index.select("okr", ["period", "objective", "key_results", "owner"]):
        if subject.kind == "member" and owner != subject.id:
            continue
        if subject.kind == "team" and team != subject.id:
            continue
        try:
            span = parse_period(okr_period)
        except Invalid:
            continue
        if period is not None and (span.end < period.start or span.start > period.end):
            continue
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
                values = facts.metric(metric, span)
                current = sum((decimal(v) for k, v in values.items() if k in people), Decimal(0))
            else:
                current = decimal(kr.get("value"))
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


def render_report(
    store: Store,
    data: dict[str, Any],
    fmt: str,
    *,
    template: str | None,
    lang: str,
    answers: dict[str, str] | None = None,
) -> str:
    from salesctl.ops.setup import bundled_dir

    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise Invalid(f"unknown report format {fmt!r}", "use md, html or json")
    name = template or "report"
    context = dict(
        data,
        answers=answers or {},
        placeholder=ANSWER_PLACEHOLDER,
        t=LABELS.get(lang, LABELS["en"]),
    )
    if fmt == "html":
        context["charts"] = _charts(data)
    return render(
        name,
        fmt,
        context,
        store_templates=store.root / "templates",
        builtin=bundled_dir("templates"),
    )


def _charts(data: dict[str, Any]) -> dict[str, str]:
    pipeline = [r for r in data["pipeline"] if r["count"]]
    return {
        "funnel": charts.funnel(
            [(r["stage"], r["amount"], f"{r['count']} · {r['amount']:,}") for r in pipeline]
        ),
        "trend": charts.trend(
            [r["period"] for r in data["trend"]],
            [
                ("new leads", [r["new_leads"] for r in data["trend"]]),
                ("signed amount", [r["contract_amount"] for r in data["trend"]]),
            ],
        ),
        "aging": charts.bars([(b, data["aging"][b]) for b in BUCKETS]),
    }


def report_paths(config: Config, subject: Subject, period: Period) -> list[tuple[Subject, str]]:
    """Where ``--commit`` writes: each member's report, then team and company summaries."""
    result = []
    for member_id in subject.members:
        member = config.members[member_id]
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
    store: Store,
    actor: Member,
    *,
    period_kind: str,
    period_id: str | None = None,
    member: str | None = None,
    team: str | None = None,
    all_: bool = False,
    template: str | None = None,
    lang: str | None = None,
) -> tuple[list[str], Transaction]:
    """Write the Markdown reports into the store in one commit; none if nothing changed."""
    config = store.config
    lang = lang or config.lang
    subject = resolve_subject(config, actor, member=member, team=team, all_=all_)
    period = parse_period(period_id) if period_id else last_complete(period_kind, clock.today())
    written: list[str] = []
    action = {"week": "report.weekly", "month": "report.monthly"}[period_kind]
    with store.transaction(actor, action) as tx:
        for part, path in report_paths(config, subject, period):
            owner = _owner_of_report(config, part)
            scopes.check_write(config, actor, "report.commit", owner, record=path)
            target = store.root / path
            previous = target.read_text(encoding="utf-8") if target.exists() else ""
            data = _report_data(store, config, part, period, lang)
            text = render_report(
                store, data, "md", template=template, lang=lang, answers=parse_answers(previous)
            )
            if text != previous:
                tx.write_file(path, text.encode("utf-8"))
                written.append(path)
        tx.summary = f"report: {period.id} for {subject.kind} {subject.id} ({len(written)} files)"
    return written, tx


def _owner_of_report(config: Config, subject: Subject) -> Owner:
    if subject.kind == "member":
        member = config.members[subject.id]
        return Owner(member=member.id, team=member.team)
    if subject.kind == "team":
        return Owner(team=subject.id)
    return Owner(company=True)


def out_file(out_dir: Path, data: dict[str, Any], fmt: str) -> Path:
    subject = data["subject"]
    return out_dir / f"{subject['kind']}-{subject['id']}-{data['period']['id']}.{fmt}"
