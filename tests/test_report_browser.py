"""The HTML report laid out by a real browser (headless Chromium) at a phone's and a
desktop's width (issue 16): no chart text outside its SVG, no two labels of a chart on top
of each other, no sideways scrolling of the page.

The test's copy of the report gets a script (the report itself has none) that measures
every SVG ``<text>`` against its ``<svg>`` and writes what it found into the DOM, which
``chromium --dump-dom`` prints. It also screenshots the team report at both widths into a
temporary directory (printed; never in git) for a person to look at.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import salesctl_subprocess

from salesctl.reports import charts

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (390, 1280)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install -y chromium fonts-noto-cjk; .ci/run does)",
)

# Runs after the page is laid out (it is the last thing in <body>); its findings go into
# <pre id="layout"> of the page around it (``framed``) as JSON.
MEASURE = """
<script>
(function () {
  const found = {viewport: window.innerWidth,
                 scrollWidth: document.documentElement.scrollWidth,
                 texts: 0, overflows: [], overlaps: [], white: []};
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom});
  document.querySelectorAll("svg").forEach((svg, n) => {
    const frame = svg.getBoundingClientRect();
    const boxes = [];
    svg.querySelectorAll("text").forEach((text) => {
      const r = text.getBoundingClientRect();
      if (r.width === 0) return;
      found.texts += 1;
      boxes.push([text.textContent, r]);
      // the page is white: white text is legible only where a bar happens to be under it
      if (getComputedStyle(text).fill === "rgb(255, 255, 255)") found.white.push(text.textContent);
      if (r.left < frame.left - 0.5 || r.right > frame.right + 0.5 ||
          r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5) {
        found.overflows.push({svg: n, text: text.textContent, box: box(r), frame: box(frame)});
      }
    });
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, ra] = boxes[i], [b, rb] = boxes[j];
        const apart = ra.right <= rb.left + 0.5 || rb.right <= ra.left + 0.5 ||
                      ra.bottom <= rb.top + 0.5 || rb.bottom <= ra.top + 0.5;
        if (!apart) found.overlaps.push({svg: n, a: a, b: b});
      }
    }
  });
  const pre = window.parent.document.createElement("pre");
  pre.id = "layout";
  pre.textContent = JSON.stringify(found);
  window.parent.document.body.appendChild(pre);
})();
</script>
"""

LONG_STAGE = "重点客户方案评审与商务谈判阶段（华东区制造业大客户专项）"


def chromium(*args: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def framed(page: str, width: int, height: int) -> str:
    """``page`` in a frame exactly ``width`` px wide: headless Chromium lays out no window
    narrower than 500 px (a 390 px screenshot is cut from a 500 px page), a frame it does."""
    return (
        '<!doctype html><html><body style="margin:0">'
        f'<iframe srcdoc="{html.escape(page, quote=True)}" '
        f'style="display:block;border:0;width:{width}px;height:{height}px"></iframe>'
        "</body></html>"
    )


def layout(work: Path, page: str, width: int) -> dict[str, Any]:
    """What the measuring script found with ``page`` laid out ``width`` px wide."""
    frame = work / f"frame-{width}.html"
    frame.write_text(framed(with_measuring(page), width, 2000), encoding="utf-8")
    dom = chromium(f"--window-size={width + 100},2000", "--dump-dom", frame.as_uri())
    match = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.DOTALL)
    assert match, dom[-2000:]
    return json.loads(html.unescape(match.group(1)))  # type: ignore[no-any-return]


def with_measuring(html: str) -> str:
    assert "<script" not in html.lower()  # the report itself stays script-free
    return html.replace("</body>", MEASURE + "</body>")


def team_report() -> str:
    """The bundled sample store's east team (Chinese names) for a week with data."""
    result = salesctl_subprocess(
        "--store", str(ROOT / "records"), "--as", "liuyang", "report", "weekly",
        "--team", "east", "--week", "2026-W47", "--format", "html",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def stress_page() -> str:
    """The three charts with long Chinese stage names, big amounts and a year of weeks."""
    weeks = [f"2026-W{n:02d}" for n in range(1, 53)]
    funnel = charts.funnel(
        [(LONG_STAGE, 12, 123456789.5), ("qualify", 3, 974890), ("提案", 1, 0)],
        heading="阶段：数量 · 金额（CNY）",
    )
    trend = charts.trend(
        [w[5:] for w in weeks],
        ("新线索（数量）", list(range(52))),
        ("签约金额（CNY）", [n * 987654.32 for n in range(52)]),
        x_title="周 2026",
        titles=weeks,
    )
    aging = charts.bars(
        [(LONG_STAGE, 123456789.12), ("1-30", 5), ("90+", 0)], heading="逾期天数 · 金额"
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{margin:0 auto;padding:12px;max-width:960px;font:15px system-ui,sans-serif}"
        "svg.chart{display:block;width:100%;max-width:560px;height:auto}</style></head>"
        f"<body>{funnel}{trend}{aging}</body></html>"
    )


@pytest.fixture(scope="module")
def work() -> Path:
    """A scratch directory for the pages and screenshots, outside git (kept for a look)."""
    return Path(tempfile.mkdtemp(prefix="salesctl-report-browser-"))


@pytest.fixture(scope="module")
def report() -> str:
    return team_report()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", ["team", "stress"])
def test_chart_text_stays_inside_its_svg_and_apart(
    work: Path, report: str, page: str, width: int
) -> None:
    found = layout(work, report if page == "team" else stress_page(), width)
    assert found["viewport"] == width
    assert found["texts"] > 20  # the charts were there and measured
    assert found["overflows"] == []
    assert found["overlaps"] == []
    assert found["white"] == []
    assert found["scrollWidth"] <= width  # the page never scrolls sideways


CARDS = """<script>
window.parent.document.body.setAttribute("data-cards", JSON.stringify(
  [...document.querySelectorAll("table.facts tr")].map(
    (r) => [r.className, getComputedStyle(r).display, r.getBoundingClientRect().right])));
</script>"""


def test_phone_shows_one_card_per_member_and_screenshots_both_widths(
    work: Path, report: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shots = []
    for width in WIDTHS:
        frame = work / f"shot-{width}.html"
        frame.write_text(framed(report, width, 2600), encoding="utf-8")
        shot = work / f"team-east-2026-W47-{width}px.png"
        # the window is cut to the frame's width: the picture is the page at that width
        chromium(f"--window-size={width},2600", f"--screenshot={shot}", frame.as_uri())
        assert shot.stat().st_size > 10_000
        shots.append(shot)
    with capsys.disabled():
        print("\nscreenshots:", *shots)
    for width, display in ((390, "block"), (1280, "table-row")):
        frame = work / f"cards-{width}.html"
        frame.write_text(
            framed(report.replace("</body>", CARDS + "</body>"), width, 2000), encoding="utf-8"
        )
        dom = chromium(f"--window-size={width + 100},2000", "--dump-dom", frame.as_uri())
        match = re.search(r'<body[^>]* data-cards="(.*?)"', dom)
        assert match, dom[-1000:]
        rows = json.loads(html.unescape(match.group(1)))
        members = [r for r in rows if r[0] == "member"]
        assert len(members) == 3  # 刘洋, 张伟, 李娜
        assert {r[1] for r in members} == {display}
        head = next(r for r in rows if r[0] == "head")
        assert (head[1] == "none") == (width == 390)  # each card labels its own figures
        assert all(r[2] <= width for r in rows)
