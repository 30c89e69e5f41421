"""The README's five-minute tour is a script that must run as written, on any day.

The test takes the code block under "## A five-minute tour" and runs it in one bash, stopping
at the first command that fails (``set -e``, ``pipefail``, an ERR trap naming the line), from a
"checkout" whose ``.venv`` is the interpreter running the tests, with ``$HOME`` in tmp_path (the
tour makes ``~/sales``) and the clock months after the real today, so dates written into the
tour go stale here first. Also: the relative dates (``today``, ``+7d``, ``-2w``) it relies on.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from salesctl.model import values

ROOT = Path(__file__).resolve().parent.parent
POOL_LEAD = "L-1JKKKM1DCWW4"  # the pool lead the tour claims by the prefix L-1JKKK


def tour_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## A five-minute tour\n.*?^```sh\n(.*?)^```", text, re.M | re.S)
    assert match, "README.md has no ```sh block under '## A five-minute tour'"
    return match.group(1)


def fake_checkout(where: Path) -> Path:
    """A directory with the ``.venv`` the tour activates: the one running these tests."""
    where.mkdir()
    venv = where / ".venv"
    if sys.prefix != sys.base_prefix:
        venv.symlink_to(sys.prefix)
    else:  # not in a venv: an activate that puts this interpreter's scripts on PATH
        (venv / "bin").mkdir(parents=True)
        bindir = Path(sys.executable).parent
        (venv / "bin" / "activate").write_text(f'export PATH="{bindir}:$PATH"\n')
    return where


@pytest.fixture
def toured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Run the tour; return the shell variables it set (CUSTOMER, DEAL, CONTRACT)."""
    later = dt.date.today() + dt.timedelta(days=150)
    monkeypatch.setenv("SALESCTL_NOW", f"{later.isoformat()}T10:00:00+08:00")
    checkout = fake_checkout(tmp_path / "checkout")
    script = (
        "set -eE -o pipefail\n"
        "trap 'echo \"tour failed at line $LINENO: $BASH_COMMAND\" >&2' ERR\n"
        + tour_block()
        + 'echo "TOUR CUSTOMER=$CUSTOMER DEAL=$DEAL CONTRACT=$CONTRACT"\n'
    )
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SALESCTL_STORE", None)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = [line for line in done.stdout.splitlines() if line.startswith("TOUR ")][-1]
    found = dict(item.split("=", 1) for item in last.split()[1:])
    monkeypatch.setenv("SALESCTL_STORE", str(Path(os.environ["HOME"]) / "sales"))
    return found


def test_readme_tour_runs_as_written_months_from_now(toured: dict[str, str], cli: Any) -> None:
    assert all(re.fullmatch(r"[CDK]-[0-9A-Z]{12}", v) for v in toured.values()), toured
    # the claims the tour makes in its comments
    deal = cli("--as", "wanglei", "deal", "show", toured["DEAL"], "-f", "json").json()
    assert deal["stage"] == "won"  # contract add --deal marks it won
    lead = cli("--as", "wanglei", "lead", "show", POOL_LEAD, "-f", "json").json()
    assert (lead["owner"], lead["stage"]) == ("zhangwei", "converted")
    contract = cli("--as", "wanglei", "contract", "show", toured["CONTRACT"], "-f", "json").json()
    today = dt.date.fromisoformat(os.environ["SALESCTL_NOW"][:10])
    assert contract["signed"] == today.isoformat()
    assert [row["due"] for row in contract["plan"]] == [
        (today + dt.timedelta(days=30)).isoformat(),
        (today + dt.timedelta(days=120)).isoformat(),
    ]
    tasks = cli("--as", "wanglei", "task", "list", "-f", "json").json()
    assert any(t.get("record") == toured["CONTRACT"] for t in tasks)  # the won-deal checklist
    followups = cli("--as", "wanglei", "followup", "list", POOL_LEAD, "-f", "json").json()
    assert [f["next"] for f in followups] == [(today + dt.timedelta(days=7)).isoformat()]
    check = cli("--as", "wanglei", "check")
    assert check.code == 0, check.out + check.err
    log = subprocess.run(
        ["git", "log", "--format=%an|%s"],
        cwd=os.environ["SALESCTL_STORE"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "刘洋|lead.import: 4 new" in log  # the team lead's import of the shipped expo.csv


def test_sample_ships_the_tour_csv_and_stays_valid(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "sample"
    assert cli("init", str(target), "--sample").code == 0
    assert (target / "examples" / "expo.csv").is_file()
    assert cli("--store", str(target), "--as", "wanglei", "check").code == 0


@pytest.mark.parametrize(
    ("typed", "days"),
    [("today", 0), ("TODAY", 0), ("+7d", 7), ("-3d", -3), ("+2w", 14), ("-1w", -7), ("+0d", 0)],
)
def test_relative_dates_count_from_today(typed: str, days: int) -> None:
    today = dt.date(2026, 11, 20)
    assert values.coerce_typed_date(typed, today) == today + dt.timedelta(days=days)
    assert values.coerce_typed_date("2027-01-31", today) == dt.date(2027, 1, 31)


@pytest.mark.parametrize("typed", ["+7", "7d", "+7x", "tomorrow", "+d", "+12345d", ""])
def test_relative_dates_refuse_anything_else(typed: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        values.coerce_typed_date(typed, dt.date(2026, 11, 20))


def test_stored_dates_are_never_relative() -> None:
    # a record file saying "today" would mean a different day every time it is read
    with pytest.raises(ValueError):
        values.coerce_date("today")


def test_relative_dates_on_the_command_line(store: Path, cli: Any) -> None:
    today = dt.date.fromisoformat(os.environ["SALESCTL_NOW"][:10])
    lead = cli("--as", "alice", "lead", "add", "--company", "Acme", "--name", "Wei", "-f", "json")
    lead_id = lead.json()["id"]
    up = cli("--as", "alice", "followup", "add", lead_id, "--text", "called", "--next", "+1w")
    assert up.code == 0, up.err
    followups = cli("--as", "alice", "followup", "list", lead_id, "-f", "json").json()
    assert followups[0]["next"] == (today + dt.timedelta(days=7)).isoformat()
    task = cli("--as", "alice", "task", "add", "--title", "Call back", "--due", "+3d", "-f", "json")
    assert task.json()["due"] == (today + dt.timedelta(days=3)).isoformat()
    # another company than the lead's: the same one would be refused as a duplicate
    customer = cli("--as", "alice", "customer", "add", "--name", "Kite", "-f", "json").json()
    deal = cli(
        "--as", "alice", "deal", "add", customer["id"], "--title", "ERP", "--amount", "100",
        "--close", "+2w", "-f", "json",
    )  # fmt: skip
    assert deal.json()["close"] == (today + dt.timedelta(days=14)).isoformat()
    contract = cli(
        "--as", "alice", "contract", "add", customer["id"], "--title", "ERP", "--amount", "100",
        "--signed", "-1d", "--plan", "+30d:100", "-f", "json",
    )  # fmt: skip
    data = contract.json()
    assert data["signed"] == (today - dt.timedelta(days=1)).isoformat()
    assert data["plan"][0]["due"] == (today + dt.timedelta(days=30)).isoformat()
    paid = cli("--as", "fay", "contract", "pay", data["id"], "--amount", "50", "--date", "today")
    assert paid.code == 0, paid.err
    bad = cli("--as", "alice", "task", "add", "--title", "x", "--due", "+7x")
    assert bad.code == 1
    assert bad.err.startswith("error: --due '+7x' is not a date")
    assert "Traceback" not in bad.err
