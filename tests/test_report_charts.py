"""The HTML report's charts as SVG data, and the file ``--out`` writes (issue 16).

Charts are parsed with xml.etree; every label's width is estimated here on its own terms
(a CJK character one em, any other character 0.6 em: what the brief asks a chart to allow)
and must sit inside the chart's viewBox, apart from the other labels of its axis.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, git, make_store

from salesctl.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
LONG_STAGE = "重点客户方案评审与商务谈判阶段（华东区制造业大客户专项跟进）"
STAGES_CONFIG = f"""\
deal_stages:
  - {{id: "{LONG_STAGE}", probability: 10}}
  - {{id: proposal, probability: 40}}
  - {{id: won, probability: 100}}
  - {{id: lost, probability: 0}}
"""


def width_of(text: str, size: float) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text) * size


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg"), svg[:80]
    return ET.fromstring(svg)


def view_width(root: ET.Element) -> float:
    return float(root.attrib["viewBox"].split()[2])


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}text"))


def extent(text: ET.Element) -> tuple[float, float]:
    """Left and right of a <text> by the estimate, from its anchor."""
    x, size = float(text.attrib["x"]), float(text.attrib["font-size"])
    w = width_of(text.text or "", size)
    anchor = text.attrib.get("text-anchor", "start")
    left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return left, left + w


def assert_labels_inside(root: ET.Element) -> None:
    width = view_width(root)
    for text in texts(root):
        left, right = extent(text)
        assert left >= 0 and right <= width, (text.text, left, right, width)
        assert text.attrib.get("fill", "").lower() not in ("#fff", "#ffffff", "white")


def tooltips(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}title")]


# -- the charts on their own ---------------------------------------------------------------


def test_funnel_labels_fit_long_chinese_stage_names() -> None:
    svg = charts.funnel(
        [(LONG_STAGE, 12, 123456789.5), ("qualify", 3, 1974890), ("提案", 0, 0)],
        heading="阶段：数量 · 金额（CNY）",
    )
    root = parse(svg)
    assert_labels_inside(root)
    shown = [t.text or "" for t in texts(root)]
    assert "12 · 123,456,789.50" in shown and "3 · 1,974,890" in shown  # never clipped
    assert LONG_STAGE in tooltips(root)  # shortened, the whole name is its tooltip
    assert any(s.endswith("…") and LONG_STAGE.startswith(s[:-1]) for s in shown)
    assert len(list(root.iter(f"{SVG}rect"))) == 3


def test_aging_bars_show_every_amount_inside_the_chart() -> None:
    root = parse(charts.bars([("未到期", 231038.29), ("1-30", 197000), ("90+", 0)]))
    assert_labels_inside(root)
    shown = [t.text for t in texts(root)]
    assert shown == ["未到期", "231,038.29", "1-30", "197,000", "90+", "0"]


def trend_of(weeks: int, width: int = 360) -> ET.Element:
    ids = [f"2026-W{n:02d}" for n in range(53 - weeks, 53)]
    return parse(
        charts.trend(
            [i[5:] for i in ids],
            ("新线索（数量）", [n % 7 for n in range(weeks)]),
            ("签约金额（CNY）", [n * 123456.78 for n in range(weeks)]),
            x_title="周 2026",
            titles=ids,
            width=width,
        )
    )


@pytest.mark.parametrize("weeks", [8, 26, 52])
def test_trend_week_labels_are_spaced_by_their_width(weeks: int) -> None:
    root = trend_of(weeks)
    assert_labels_inside(root)
    labels = [t for t in texts(root) if t.attrib.get("class") == "x-label"]
    assert labels and labels[-1].text == "W52"  # the latest week is always labelled
    for a, b in itertools.pairwise(labels):
        assert extent(a)[1] <= extent(b)[0], (a.text, b.text)
    if weeks == 8:
        assert len(labels) == 8


def test_trend_puts_counts_and_money_on_two_labelled_scales() -> None:
    root = trend_of(8)
    shown = [t.text or "" for t in texts(root)]
    assert "新线索（数量）" in shown and "签约金额（CNY）" in shown and "周 2026" in shown
    ticks = [t for t in texts(root) if t.attrib.get("class") == "y-tick"]
    tops = sorted({float(t.attrib["y"]) for t in ticks})
    zeros = [t for t in ticks if t.text == "0"]
    assert len(zeros) == 2  # each panel has its own axis from 0
    # the counts' axis goes up to a whole number near 6, the money's to about 864k
    assert "6" in [t.text for t in ticks] and any(t.text and t.text.endswith("k") for t in ticks)
    count_axis = [t for t in ticks if float(t.attrib["y"]) <= float(zeros[0].attrib["y"])]
    assert all(t.text and not t.text.endswith("k") for t in count_axis)
    assert len(tops) == len(ticks)  # no two tick labels at one height
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    assert len(list(root.iter(f"{SVG}rect"))) == 8


# -- the report: its funnel, and the file --out writes --------------------------------------


@pytest.fixture
def sales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> Path:
    """East's deals: two in a long-named open stage, one in proposal, one won, one lost."""
    store = make_store(tmp_path / "store", CONFIG + STAGES_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(store))
    customer = cli("--as", "alice", "customer", "add", "--name", "华东精密制造", "-f", "json")
    assert customer.code == 0, customer.err
    cid = customer.json()["id"]
    ids = []
    for amount in ("100000", "200000", "50000", "70000", "90000"):
        added = cli("--as", "alice", "deal", "add", cid, "--title", f"D{amount}",
                    "--amount", amount, "--stage", LONG_STAGE, "-f", "json")  # fmt: skip
        assert added.code == 0, added.err
        ids.append(added.json()["id"])
    for deal_id, args in zip(
        ids[2:],
        [("proposal",), ("won",), ("lost", "--reason", "price")],
        strict=True,
    ):
        moved = cli("--as", "alice", "deal", "move", deal_id, "--stage", *args)
        assert moved.code == 0, moved.err
    return store


def funnel_of(html: str) -> ET.Element:
    match = re.search(r'<svg class="chart chart-funnel".*?</svg>', html, re.DOTALL)
    assert match, "no funnel"
    return parse(match.group(0))


def test_the_report_funnel_has_the_open_stages_only(sales: Path, cli: Any, tmp_path: Path) -> None:
    result = cli("--as", "lee", "report", "weekly", "--team", "east", "--week", "2026-W47",
                 "-f", "html", "--out", str(tmp_path))  # fmt: skip
    assert result.code == 0, result.err
    root = funnel_of((tmp_path / "team-east-2026-W47.html").read_text(encoding="utf-8"))
    assert_labels_inside(root)
    words = [t.text or "" for t in texts(root)] + tooltips(root)
    assert not {"won", "lost"} & set(words)
    assert LONG_STAGE in words and "proposal" in words
    assert "2 · 300,000" in words and "1 · 50,000" in words  # count · amount per open stage
    assert len(list(root.iter(f"{SVG}rect"))) == 2


def test_out_names_the_file_by_subject_and_period(sales: Path, cli: Any, tmp_path: Path) -> None:
    for args, name in [
        (("--as", "alice"), "member-alice-2026-W47.html"),
        (("--as", "lee", "--team", "east"), "team-east-2026-W47.html"),
        (("--as", "dana", "--all"), "company-2026-W47.html"),
    ]:
        out = tmp_path / name
        result = cli(*args[:2], "report", "weekly", *args[2:], "--week", "2026-W47",
                     "-f", "html", "--out", str(out))  # fmt: skip
        assert result.code == 0, result.err
        assert [p.name for p in out.iterdir()] == [name]
        assert result.out.strip() == str(out / name)


def status(store: Path) -> str:
    return git(store, "status", "--porcelain", "--untracked-files=all")


def test_out_inside_the_store_needs_commit_and_then_commits_the_file(sales: Path, cli: Any) -> None:
    head = git(sales, "rev-parse", "HEAD")
    inside = sales / "teams" / "east" / "reports" / "html"
    base = ("--as", "lee", "report", "weekly", "--team", "east", "--week", "2026-W47",
            "-f", "html", "--out", str(inside))  # fmt: skip
    refused = cli(*base)
    assert refused.code == 1 and refused.err.startswith("error:")
    assert "--commit" in refused.err
    assert not inside.exists() and status(sales) == ""
    assert git(sales, "rev-parse", "HEAD") == head

    committed = cli(*base, "--commit")
    assert committed.code == 0, committed.err
    assert status(sales) == ""  # nothing left untracked
    files = set(git(sales, "show", "--name-only", "--format=", "HEAD").split())
    assert "teams/east/reports/html/team-east-2026-W47.html" in files
    assert "teams/east/reports/2026-W47.md" in files  # the Markdown reports, one commit
    assert git(sales, "rev-parse", "HEAD~1") == head
    again = cli(*base, "--commit")
    assert again.code == 0 and git(sales, "rev-parse", "HEAD~1") == head  # no second commit


@pytest.mark.parametrize(
    "actor,where,code",
    [
        ("lee", "teams/north/reports", 3),  # another team's reports
        ("lee", "html", 3),  # outside the record directories: directors and admins only
        ("lee", "teams/east/alice/charts", 1),  # not a reports/ directory
        ("dana", ".git/x", 1),
    ],
)
def test_out_inside_the_store_where_the_actor_may_not_commit_writes_nothing(
    sales: Path, cli: Any, actor: str, where: str, code: int
) -> None:
    head = git(sales, "rev-parse", "HEAD")
    result = cli("--as", actor, "report", "weekly", "--team", "east", "--week", "2026-W47",
                 "-f", "html", "--out", str(sales / where), "--commit")  # fmt: skip
    assert result.code == code, (result.out, result.err)
    assert result.err.startswith("error:") and "Traceback" not in result.err
    assert git(sales, "rev-parse", "HEAD") == head and status(sales) == ""
    assert not (sales / where).exists()


def test_negative_amounts_draw_no_negative_shapes() -> None:
    """A refund week or a credit balance: the SVG stays valid (no negative sizes)."""
    svgs = [
        charts.bars([("current", -500), ("1-30", -20)]),
        charts.funnel([("qualify", 1, -5), ("proposal", 2, 0)]),
        charts.trend(["W1", "W2"], ("n", [0, 0]), ("m", [-5000, 0])),
    ]
    for svg in svgs:
        root = parse(svg)
        assert_labels_inside(root)
        for rect in root.iter(f"{SVG}rect"):
            assert float(rect.attrib["width"]) >= 0 and float(rect.attrib["height"]) >= 0
        height = float(root.attrib["viewBox"].split()[3])
        for line in root.iter(f"{SVG}polyline"):
            ys = [float(p.split(",")[1]) for p in line.attrib["points"].split()]
            assert all(0 <= y <= height for y in ys)
