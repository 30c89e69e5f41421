"""Dates and times are read in ISO 8601's extended form only (field test: ``deal add --close
20261201`` was taken, because Python 3.11's ``fromisoformat`` also reads the basic forms
20261201, 2026-W48-1 and 20261201T1430). A typed date is YYYY-MM-DD, ``today``, or days or
weeks from today; a time is YYYY-MM-DD HH:MM (``T``, seconds and an offset may follow).
Record files as salesctl writes them still read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ok, refused
from hypothesis import given
from hypothesis import strategies as st

from salesctl import clock
from salesctl.cli._output import yaml_ready
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.config import Config
from salesctl.model.kinds import VISIT
from salesctl.ops.integrations.intake_fields import FieldErrors, parse_payment
from salesctl.ops.sales.followups import parse_when

CONFIG = Config(org="Acme", timezone="Asia/Shanghai")
BASIC_DATES = ("20261201", "2026-W48-1", "2026W481", "2026-336", "+002026-12-01")


@pytest.fixture
def customer(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"])


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["20261201", "2026-W48-1"])
def test_a_deal_close_date_in_a_basic_iso_form_is_refused_naming_the_option(
    store: Path, cli: Any, customer: str, typed: str
) -> None:
    deal = ["--as", "alice", "deal", "add", customer, "--title", "T", "--amount", "5"]
    err = refused(store, cli, *deal, "--close", typed)
    assert err.startswith(f"error: --close '{typed}' is not a date (")
    assert values.DATE_HINT in err  # the accepted forms: YYYY-MM-DD, today, +7d, -2w
    day = clock.today() + dt.timedelta(days=11)
    assert ok(cli, *deal, "--close", day.isoformat())["close"] == day.isoformat()
    assert ok(cli, *deal, "--close", "+6w")["close"] == (day + dt.timedelta(days=31)).isoformat()


def test_every_typed_date_and_time_refuses_the_basic_forms(
    store: Path, cli: Any, customer: str
) -> None:
    basic = (clock.today() + dt.timedelta(days=3)).strftime("%Y%m%d")
    alice = ("--as", "alice")
    cases = [
        ((*alice, "task", "add", "--title", "T", "--due", basic), "--due"),
        ((*alice, "followup", "add", customer, "--text", "hi", "--next", basic), "--next"),
        ((*alice, "contract", "add", customer, "--title", "C", "--amount", "1", "--signed", basic),
         "--signed"),
        ((*alice, "visit", "add", customer, "--at", f"{basic}T1430"), "--at"),
        ((*alice, "visit", "add", customer, "--at", f"{basic} 14:30"), "--at"),
        ((*alice, "followup", "add", customer, "--text", "hi", "--at", f"{basic}T0930"), "--at"),
        ((*alice, "visit", "list", "--from", basic), "--from"),
        (("--as", "dana", "receivables", "--as-of", basic), "--as-of"),
    ]  # fmt: skip
    for args, option in cases:
        err = refused(store, cli, *args)
        assert option in err.splitlines()[0] and basic in err, (args, err)


# -- the parsers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", BASIC_DATES)
def test_the_date_parsers_refuse_basic_and_week_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        values.coerce_date(text)
    with pytest.raises(ValueError):
        values.coerce_datetime(text)
    with pytest.raises(Invalid) as refusal:
        values.typed_date(text, "--close", clock.today())
    assert refusal.value.message == f"--close {text!r} is not a date"
    assert refusal.value.hint == values.DATE_HINT


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_a_date_in_basic_form_is_never_read(day: dt.date) -> None:
    for text in (day.strftime("%Y%m%d"), "{}-W{:02d}-{}".format(*day.isocalendar())):
        with pytest.raises(ValueError):
            values.coerce_date(text)
        with pytest.raises(ValueError):
            values.iso_datetime(text)
    assert values.coerce_date(day.isoformat()) == day


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2199, 12, 31)))
def test_a_time_reads_with_t_or_a_space_and_never_in_basic_form(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0)
    for sep in ("T", " "):
        assert values.iso_datetime(moment.isoformat(sep)) == moment
        assert values.iso_datetime(moment.isoformat(sep, "minutes")) == moment.replace(second=0)
    for text in (
        moment.strftime("%Y%m%dT%H%M%S"),
        moment.strftime("%Y-%m-%dT%H%M"),
        moment.strftime("%Y-%m-%dT%H"),
        moment.strftime("%Y-%m-%d_%H:%M"),
    ):
        with pytest.raises(ValueError):
            values.iso_datetime(text)
        with pytest.raises(Invalid):
            parse_when(CONFIG, text)


@given(st.text(alphabet=st.sampled_from("0123456789-+:TWZ .,_"), max_size=26))
def test_whatever_reads_as_a_date_or_time_is_in_extended_form(text: str) -> None:
    try:
        values.coerce_date(text)
    except ValueError:
        pass
    else:
        assert values.ISO_DATE_RE.fullmatch(text.strip())
    try:
        values.coerce_datetime(text)
    except ValueError:
        return
    stripped = text.strip()
    assert values.ISO_DATE_RE.fullmatch(stripped[:10]) and stripped[10:11] in ("", "T", " ")


def test_record_files_as_salesctl_writes_them_still_read() -> None:
    stored = yaml.safe_load(
        "schema_version: 1\nrecord: C-1\nauthor: alice\nstatus: planned\n"
        "at: 2026-11-25 14:30:00+08:00\n"
    )
    quoted = {**stored, "at": "2026-11-25T14:30:00+08:00"}
    typed = {**stored, "at": "2026-11-25 14:30"}
    for data in (stored, quoted, typed):
        normal, problems = VISIT.normalise(data, "visit.yaml")
        assert problems == [] and normal["at"].hour == 14, data
    _normal, problems = VISIT.normalise({**stored, "at": "20261125T1430"}, "visit.yaml")
    assert [p.field for p in problems] == ["at"]


def test_a_webhook_payment_time_in_basic_form_is_refused() -> None:
    body = {"contract": "K-7KQ2M4XR9TAB", "amount": "100", "transaction_id": "t1"}
    for paid_at in ("2026-11-20T09:30:00+08:00", "2026-11-20T01:30:00Z", "2026-11-20 09:30"):
        assert parse_payment(CONFIG, {**body, "paid_at": paid_at}).paid_on == dt.date(2026, 11, 20)
    for paid_at in ("20261120T093000+0800", "2026-W47-5T09:30", "2026-11-20T09"):
        with pytest.raises(FieldErrors) as refusal:
            parse_payment(CONFIG, {**body, "paid_at": paid_at})
        assert set(refusal.value.fields) == {"paid_at"}


def test_output_turns_only_extended_dates_back_into_dates() -> None:
    assert yaml_ready({"close": "2026-12-01"}) == {"close": dt.date(2026, 12, 1)}
    assert yaml_ready({"close": "20261201"}) == {"close": "20261201"}
