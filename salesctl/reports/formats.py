"""A report's data as a document: Markdown or HTML through a template, or JSON as it is.

``render_report`` takes what ``build.build_report`` gathered (the answers members wrote
included), adds the stages' display names and, for HTML, inline SVG charts with their words
in the report's language (``salesctl.i18n``: the templates say ``{{ _("Facts") }}``), and
renders it with ``render`` (a store's own template first, then the built-in one).
``out_file`` names the file ``--out`` writes for it (``team-east-2026-W48.html``);
``ops.out_files`` tells whether that file is inside the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salesctl.errors import Invalid
from salesctl.i18n import gettext_for
from salesctl.model.config import Config
from salesctl.reports import charts
from salesctl.reports.money import BUCKETS
from salesctl.reports.render import ANSWER_PLACEHOLDER, render
from salesctl.store.store import Store

FORMATS = ("md", "html", "json")


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
    config = store.config
    _ = gettext_for(lang)
    name = template or "report"
    stage_names = {
        "lead": {s: config.stage_name("lead", s) for s in config.lead_stages},
        "deal": {s.id: config.stage_name("deal", s.id) for s in config.deal_stages},
    }
    context = dict(
        data,
        # movements in the funnel's order (a stage no longer configured last), not by id
        stage_movements={
            kind: _in_order(moves, stage_names[kind])
            for kind, moves in data["stage_movements"].items()
        },
        # a member's own answers by question, for store templates written before the roll-up
        answers={
            q["question"]: q["answers"][0]["text"]
            for q in data["questions"]
            if q["answers"] and data["subject"]["kind"] == "member"
        },
        names={m.id: m.name for m in config.members.values()},
        stage_names=stage_names,
        placeholder=_(ANSWER_PLACEHOLDER),
        lang=lang,
        t=legacy_labels(_),
    )
    if fmt == "html":
        context["charts"] = _charts(config, data, _)
    return render(
        name,
        fmt,
        context,
        store_templates=store.root / "templates",
        builtin=bundled_dir("templates"),
        lang=lang,
    )


def _in_order(moves: dict[str, int], order: dict[str, str]) -> dict[str, int]:
    ids = list(order)
    known = [(stage, moves[stage]) for stage in ids if stage in moves]
    return dict(known + sorted((s, n) for s, n in moves.items() if s not in order))


def legacy_labels(_: Callable[[str], str]) -> dict[str, str]:
    """``t.<key>`` for store templates copied from the built-ins before ``_()``: the same
    words, from the catalogue."""
    return {
        "report": _("Sales report"),
        "week": _("Week"),
        "month": _("Month"),
        "facts": _("Facts"),
        "member": _("Member"),
        "total": _("Total"),
        "new_leads": _("New leads"),
        "followups": _("Follow-ups"),
        "visits": _("Visits"),
        "leads_converted": _("Converted"),
        "deals_won": _("Won"),
        "deals_lost": _("Lost"),
        "contracts_signed": _("Contracts"),
        "contract_amount": _("Signed amount"),
        "payments_received": _("Received"),
        "outstanding": _("Outstanding"),
        "movements": _("Stage movements"),
        "leads": _("Leads"),
        "deals": _("Deals"),
        "pipeline": _("Pipeline"),
        "stage": _("Stage"),
        "count": _("Count"),
        "amount": _("Amount"),
        "weighted": _("Weighted"),
        "closed": _("Deals won and lost"),
        "reason": _("Reason"),
        "lost_to": _("Lost to"),
        "overdue": _("Overdue receivables"),
        "contract": _("Contract"),
        "customer": _("Customer"),
        "days": _("Days overdue"),
        "aging": _("Receivables aging"),
        "okrs": _("OKR progress"),
        "progress": _("Progress"),
        "target": _("Target"),
        "current": _("Current"),
        "questions": _("Questions"),
        "trend": _("Trend"),
        "data_from": _("Data from commit"),
        "none": _("None."),
        "funnel": _("Funnel"),
        "not_answered": _("Not answered yet"),
        "no_answers": _("No answers yet."),
        "competitors": _("Competitors this period"),
        "won_against": _("won against"),
        "not_due": _("Not yet due"),
    }


def _charts(config: Config, data: dict[str, Any], _: Callable[[str], str]) -> dict[str, str]:
    currency = data["currency"]
    closed = {config.won_stage, config.lost_stage}
    # the period's open deals only: won and lost are outcomes, not stages a deal waits in
    funnel_rows = [
        (r["stage_name"], r["count"], r["amount"])
        for r in data["pipeline"]
        if r["stage"] not in closed
    ]
    periods = [r["period"] for r in data["trend"]]
    years = sorted({p[:4] for p in periods})
    span = "–".join(years[:1] + years[1:][-1:])
    weekly = data["period"]["kind"] == "week"
    return {
        "funnel": charts.funnel(
            funnel_rows,
            heading=_("Stage: count · amount ({currency})").format(currency=currency),
            name=_("Funnel"),
        ),
        "trend": charts.trend(
            [p.split("-", 1)[1] for p in periods],  # W47 or 11: the year is in the axis title
            (_("New leads (count)"), [r["new_leads"] for r in data["trend"]]),
            (
                _("Signed amount ({currency})").format(currency=currency),
                [r["contract_amount"] for r in data["trend"]],
            ),
            x_title=(_("Week {years}") if weekly else _("Month {years}")).format(years=span),
            titles=periods,
            name=_("Trend"),
        ),
        "aging": charts.bars(
            [(AGING_LABELS.get(b) or _("Not yet due"), data["aging"][b]) for b in BUCKETS],
            heading=_("Days overdue · amount ({currency})").format(currency=currency),
            name=_("Receivables aging"),
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
