"""A report's data as a document: Markdown or HTML through a template, or JSON as it is.

``render_report`` takes what ``build.build_report`` gathered (the answers members wrote
included), adds the labels in the report's language and, for HTML, inline SVG charts, and
renders it with ``render`` (a store's own template first, then the built-in one).
``out_file`` names the file ``--out`` writes for it (``team-east-2026-W48.html``) and
``store_path`` tells whether that file is inside the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salesctl.errors import Invalid
from salesctl.model.config import Config
from salesctl.reports import charts
from salesctl.reports.money import BUCKETS
from salesctl.reports.render import ANSWER_PLACEHOLDER, render
from salesctl.store.store import Store

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
        "not_answered": "Not answered yet",
        "no_answers": "No answers yet.",
        "competitors": "Competitors this period",
        "won_against": "won against",
        "not_due": "Not yet due",
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
        "not_answered": "尚未回答",
        "no_answers": "尚无回答。",
        "competitors": "本期竞品",
        "won_against": "赢过",
        "not_due": "未到期",
    },
}


def render_report(
    store: Store,
    data: dict[str, Any],
    fmt: str,
    *,
    template: str | None,
    lang: str,
) -> str:
    from salesctl.ops.setup import bundled_dir

    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt not in FORMATS:
        raise Invalid(f"unknown report format {fmt!r}", "use md, html or json")
    name = template or "report"
    context = dict(
        data,
        # a member's own answers by question, for store templates written before the roll-up
        answers={
            q["question"]: q["answers"][0]["text"]
            for q in data["questions"]
            if q["answers"] and data["subject"]["kind"] == "member"
        },
        names={m.id: m.name for m in store.config.members.values()},
        placeholder=ANSWER_PLACEHOLDER,
        t=LABELS.get(lang, LABELS["en"]),
    )
    if fmt == "html":
        context["charts"] = _charts(store.config, data, context["t"])
    return render(
        name,
        fmt,
        context,
        store_templates=store.root / "templates",
        builtin=bundled_dir("templates"),
    )


def _charts(config: Config, data: dict[str, Any], t: dict[str, str]) -> dict[str, str]:
    currency = data["currency"]
    closed = {config.won_stage, config.lost_stage}
    # the period's open deals only: won and lost are outcomes, not stages a deal waits in
    funnel_rows = [
        (r["stage"], r["count"], r["amount"]) for r in data["pipeline"] if r["stage"] not in closed
    ]
    periods = [r["period"] for r in data["trend"]]
    years = sorted({p[:4] for p in periods})
    kind = t["week"] if data["period"]["kind"] == "week" else t["month"]
    return {
        "funnel": charts.funnel(
            funnel_rows, heading=f"{t['stage']}: {t['count']} · {t['amount']} ({currency})"
        ),
        "trend": charts.trend(
            [p.split("-", 1)[1] for p in periods],  # W47 or 11: the year is in the axis title
            (f"{t['new_leads']} ({t['count']})", [r["new_leads"] for r in data["trend"]]),
            (
                f"{t['contract_amount']} ({currency})",
                [r["contract_amount"] for r in data["trend"]],
            ),
            x_title=f"{kind} {'–'.join(years[:1] + years[1:][-1:])}",
            titles=periods,
        ),
        "aging": charts.bars(
            [(AGING_LABELS.get(b) or t["not_due"], data["aging"][b]) for b in BUCKETS],
            heading=f"{t['days']} · {t['amount']} ({currency})",
        ),
    }


AGING_LABELS = {"d1_30": "1-30", "d31_60": "31-60", "d61_90": "61-90", "d90_plus": "90+"}


def out_file(out_dir: Path, data: dict[str, Any], fmt: str) -> Path:
    subject = data["subject"]
    name = (
        subject["kind"]
        if subject["kind"] == subject["id"]
        else f"{subject['kind']}-{subject['id']}"
    )
    return out_dir / f"{name}-{data['period']['id']}.{fmt}"


def store_path(root: Path, target: Path) -> str | None:
    """``target``'s path inside the store at ``root`` (as git names it), or None outside."""
    try:
        return target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
