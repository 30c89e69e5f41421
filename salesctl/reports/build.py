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
from salesctl.errors import Forbidden, Invalid
from salesctl.model.config import Config, Member
from salesctl.model.values import to_json
from salesctl.reports import charts
from salesctl.reports.facts import METRICS, Facts, in_list, totals
from salesctl.reports.money import BUCKETS, decimal
from salesctl.reports.periods import Period, last_complete, parse_period
from salesctl.reports.render import ANSWER_PLACEHOLDER, parse_answers, render
from salesctl.scopes import owner_dirs
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
READS = ("lead", "followup", "visit", "deal", "contract", "payment", "customer", "okr")


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
    facts = Facts(store.index, config, within=subject_dirs(config, subject))
    # Look for hand edits once, at all the report reads, rather than once per query.
    store.index.refresh(kinds=READS, within=facts.within)
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
        "stage_movements": {
            kind: facts.stage_entries(kind, period, members) for kind in ("lead", "deal")
        },
        "pipeline": pipeline_rows(facts, config, members),
        "deals_closed": _deals_closed(facts, period, members),
        "overdue": _overdue(facts, period.end, members),
        "aging": facts.aging_at(period.end, members),
        "trend": _trend(facts, period, members),
        "okrs": okr_progress(store, config, facts, subject, period),
        "questions": questions_for(config, subject, period.kind, lang),
    }
    data["skipped"] = facts.skipped()  # broken records the figures left out
    return to_json(data)  # type: ignore[no-any-return]


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


def _member_row(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    member = config.members[row["member"]]
    return {"member": member.id, "name": member.name, "team": member.team, **row}


def pipeline_rows(facts: Facts, config: Config, members: set[str] | None) -> list[dict[str, Any]]:
    """Per deal stage (config order): count, amount and probability-weighted amount."""
    where, args = in_list("owner", members) if members is not None else ("", [])
    found = facts.stage_totals(where, args)
    rows = []
    for stage in config.deal_stages:
        count, amount = found.get(stage.id, (0, Decimal(0)))
        weighted = (amount * stage.probability / 100).quantize(Decimal("0.01"))
        rows.append(
            {
                "stage": stage.id,
                "probability": stage.probability,
                "count": count,
                "amount": amount,
                "weighted": weighted,
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
            "on": day,
            "reason": reason,
            "lost_to": lost_to,
        }
        for deal_id, owner, title, amount, stage, day, reason, lost_to, customer in found
    ]
    return sorted(closed, key=lambda d: (d["stage"], d["on"], d["id"]))


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
            previous = _previous_report(target, path)
            data = _report_data(store, config, part, period, lang)
            text = render_report(
                store, data, "md", template=template, lang=lang, answers=parse_answers(previous)
            )
            if text != previous:
                tx.write_file(path, text.encode("utf-8"))
                written.append(path)
        tx.summary = f"report: {period.id} for {subject.kind} {subject.id} ({len(written)} files)"
    return written, tx


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


def out_file(out_dir: Path, data: dict[str, Any], fmt: str) -> Path:
    subject = data["subject"]
    return out_dir / f"{subject['kind']}-{subject['id']}-{data['period']['id']}.{fmt}"
