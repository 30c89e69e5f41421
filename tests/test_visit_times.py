"""A planned visit starts today or later (field test: ``visit add --at "2020-01-01 10:00"``
planned a visit six years ago). Earlier today is allowed, so a visit held this morning can
still be added and marked done; a visit on an earlier day is a follow-up ``--via visit``, as
the refusal says. ``visit done`` refuses a visit that has not begun. Times may be typed as a
day from today and a clock time, so scripts and examples do not go stale."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import ok, refused
from hypothesis import given
from hypothesis import strategies as st

from salesctl import clock
from salesctl.model.config import Config
from salesctl.ops.sales.followups import parse_when


@pytest.fixture
def customer(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"])


def test_a_visit_planned_on_an_earlier_day_is_refused_pointing_to_a_followup(
    store: Path, cli: Any, customer: str
) -> None:
    yesterday = f"{clock.today() - dt.timedelta(days=1)} 16:00"
    for at in ("2020-01-01 10:00", yesterday, "-1d 09:00"):
        err = refused(store, cli, "--as", "alice", "visit", "add", customer, "--at", at)
        assert err.startswith(f"error: --at {at} is in the past: a planned visit starts today")
        assert f'followup add {customer} --via visit --at "{at}"' in err
    # what the hint says works: the visit recorded as the touch it was
    done = ok(cli, "--as", "alice", "followup", "add", customer, "--via", "visit", "--at",
              "2020-01-01 10:00", "--text", "met the buyer")  # fmt: skip
    assert done["via"] == "visit" and done["at"].startswith("2020-01-01T10:00:00")
    assert ok(cli, "--as", "alice", "visit", "list") == []


def test_a_visit_held_earlier_today_may_be_added_and_marked_done(
    store: Path, cli: Any, customer: str
) -> None:
    today = clock.today()  # the frozen clock: 10:00 in the org's time zone
    visit = ok(cli, "--as", "alice", "visit", "add", customer, "--at", f"{today} 00:05")
    assert visit["status"] == "planned"
    done = ok(cli, "--as", "alice", "visit", "done", visit["id"], "--text", "demo went well")
    assert done["status"] == "done"
    later = ok(cli, "--as", "alice", "visit", "add", customer, "--at", "today 23:59")
    assert later["at"] == f"{today.isoformat()}T23:59:00+08:00"


def test_a_visit_planned_far_ahead_cannot_be_marked_done(
    store: Path, cli: Any, customer: str
) -> None:
    visit = ok(cli, "--as", "alice", "visit", "add", customer, "--at", "2099-06-01 10:00")
    err = refused(store, cli, "--as", "alice", "visit", "done", visit["id"], "--text", "met")
    assert f"{visit['id']} is planned for 2099-06-01 10:00: it has not happened yet" in err
    assert f"salesctl visit cancel {visit['id']}" in err
    assert ok(cli, "--as", "alice", "visit", "cancel", visit["id"])["status"] == "cancelled"


def test_a_time_may_be_a_day_from_today_and_a_clock_time(
    store: Path, cli: Any, customer: str
) -> None:
    """So ``visit add --at "+3d 14:00"`` in a script or the help never goes stale."""
    visit = ok(cli, "--as", "alice", "visit", "add", customer, "--at", "+3d 14:00")
    day = clock.today() + dt.timedelta(days=3)
    assert visit["at"] == f"{day.isoformat()}T14:00:00+08:00"
    err = refused(store, cli, "--as", "alice", "visit", "add", customer, "--at", "+3d")
    assert "--at '+3d' has no time of day" in err
    err = refused(store, cli, "--as", "alice", "visit", "add", customer, "--at", "+3d 2pm")
    assert err.startswith("error: --at '+3d 2pm' is not a date and time (") and "+3d 14:30" in err
    touch = ok(cli, "--as", "alice", "followup", "add", customer, "--text", "hi", "--at",
               "-2d 09:30")  # fmt: skip
    assert touch["at"] == f"{clock.today() - dt.timedelta(days=2)}T09:30:00+08:00"


@given(st.integers(-400, 400), st.sampled_from("dw"), st.times())
def test_a_day_from_today_and_a_clock_time_is_that_day_at_that_time(
    count: int, unit: str, time: dt.time
) -> None:
    config = Config(org="Acme", timezone="Asia/Shanghai")
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    day = today + dt.timedelta(days=count * (7 if unit == "w" else 1))
    when = parse_when(config, f"{count:+d}{unit} {time:%H:%M}", need_time=True)
    assert (when.date(), when.hour, when.minute) == (day, time.hour, time.minute)
    assert str(when.tzinfo) == "Asia/Shanghai"
