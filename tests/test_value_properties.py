"""Property-based tests for every parser of typed values: amounts, numbers, dates, times,
durations, phones, emails, ids, stages and ``FIELD=VALUE`` expressions.

Each parser, given any text at all, returns a valid value or raises its one documented error
type (``ValueError`` for ``model.values``, ``Invalid`` for the command-line parsers), never
anything else; and what it returns reads back to itself.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl.errors import Invalid, NotFound
from salesctl.ids import ALPHABET, ID_LENGTH, is_id, new_id, normalise_prefix
from salesctl.model import values
from salesctl.model.config import Config
from salesctl.model.dupkeys import phone_key
from salesctl.ops.records import parse_assignments
from salesctl.ops.sales.followups import parse_duration, parse_when
from salesctl.reports.periods import parse_period

# Text a person or a spreadsheet could produce: digits, separators, signs, letters, CJK,
# full-width digits, whitespace and control characters.
typed = st.text(
    alphabet=st.sampled_from("0123456789,.-+_eE :/T()@ \t\n１２元¥$abcxyz中文") | st.characters(),
    max_size=30,
)
CONFIG = Config(org="Acme")
amounts = st.decimals(min_value=0, max_value=Decimal(10) ** 13 - 1, places=2)


@given(typed)
def test_an_amount_is_a_two_place_decimal_or_a_value_error(text: str) -> None:
    try:
        amount = values.coerce_amount(text)
    except ValueError:
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert 0 <= amount < values.MAX_AMOUNT
    assert amount == amount.quantize(Decimal("0.01"))
    # a comma that was accepted separated whole groups of three digits
    if "," in text:
        assert re.fullmatch(r"\s*[-+]?\d{1,3}(,\d{3})+(\.\d*)?\s*", text), text


@given(amounts)
def test_amounts_round_trip_as_typed_with_or_without_thousands_separators(
    amount: Decimal,
) -> None:
    for text in (str(amount), f"{amount:,}", f"{amount:,.2f}", f" {amount} "):
        assert values.coerce_amount(text) == amount, text
    assert values.coerce_amount(values.to_json(values.coerce_amount(str(amount)))) == amount


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=99))
def test_a_comma_before_fewer_than_three_digits_is_never_a_thousands_separator(
    whole: int, tail: int
) -> None:
    for text in (f"{whole},{tail}", f"{whole},{tail:02d}", f"{whole},{tail},{tail}"):
        try:
            values.coerce_amount(text)
        except ValueError as exc:
            assert repr(text) in str(exc)
        else:
            raise AssertionError(f"{text!r} was read as an amount")


@given(typed)
def test_numbers_and_whole_numbers(text: str) -> None:
    try:
        number = values.coerce_number(text)
    except ValueError:
        pass
    else:
        assert isinstance(number, int | Decimal)
        assert values.coerce_number(str(number)) == number
    try:
        whole = values.coerce_int(text)
    except ValueError:
        return
    assert isinstance(whole, int)


@given(st.integers(-(10**10), 10**10), st.integers(1, 9))
def test_a_number_of_any_exponent_is_bounded_or_refused_at_once(exponent: int, digit: int) -> None:
    """``1e999999999`` once made an int of a billion digits (the CLI and ``serve`` hung)."""
    try:
        number = values.coerce_number(f"{digit}e{exponent}")
    except ValueError as exc:
        assert "too large" in str(exc) or "too small" in str(exc)
    else:
        assert abs(number) < 10**values.MAX_NUMBER_DIGITS


@given(typed)
def test_a_date_is_a_date_or_a_value_error(text: str) -> None:
    try:
        day = values.coerce_date(text)
    except ValueError:
        return
    assert isinstance(day, dt.date)
    assert values.coerce_date(day.isoformat()) == day


@given(st.dates())
def test_dates_round_trip_within_the_range(day: dt.date) -> None:
    """A stored date reads back as itself from FIRST_YEAR to LAST_YEAR, and is out of range
    beyond, as text and as the date YAML gives."""
    if values.FIRST_YEAR <= day.year <= values.LAST_YEAR:
        assert values.coerce_date(day.isoformat()) == day
        assert values.coerce_date(f" {day.isoformat()}\t") == day
        assert values.coerce_date(day) == day
        return
    for stored in (day.isoformat(), day, dt.datetime.combine(day, dt.time(9))):
        with pytest.raises(values.OutOfRange, match="out of range"):
            values.coerce_date(stored)


in_range = st.dates(
    min_value=dt.date(values.FIRST_YEAR, 1, 1), max_value=dt.date(values.LAST_YEAR, 12, 31)
)


@given(st.dates(), in_range)
def test_a_typed_date_is_in_range_or_out_of_range(day: dt.date, today: dt.date) -> None:
    """Any real date typed on the command line: itself if within FIRST_YEAR..LAST_YEAR,
    else ``OutOfRange`` (never an overflow later, in a plan or a week's end)."""
    if values.FIRST_YEAR <= day.year <= values.LAST_YEAR:
        assert values.coerce_typed_date(day.isoformat(), today) == day
    else:
        with pytest.raises(values.OutOfRange):
            values.coerce_typed_date(day.isoformat(), today)


@given(
    in_range, st.sampled_from("+-"), st.integers(min_value=0, max_value=9999), st.sampled_from("dw")
)
def test_a_relative_date_is_in_range_or_out_of_range(
    today: dt.date, sign: str, count: int, unit: str
) -> None:
    try:
        day = values.coerce_typed_date(f"{sign}{count}{unit}", today)
    except values.OutOfRange:
        return
    assert values.FIRST_YEAR <= day.year <= values.LAST_YEAR
    assert abs((day - today).days) == count * (7 if unit == "w" else 1)


@given(typed | st.dates().map(dt.date.isoformat), in_range)
def test_an_option_date_is_in_range_or_invalid_naming_the_option(text: str, today: dt.date) -> None:
    try:
        day = values.typed_date(text, "--due", today)
    except Invalid as exc:
        assert exc.message.startswith("--due ") and exc.hint
        return
    assert values.FIRST_YEAR <= day.year <= values.LAST_YEAR


periods = st.builds(
    lambda year, form, n: form.format(year=year, n=n),
    st.integers(min_value=0, max_value=9999),
    st.sampled_from(["{year:04d}-W{n:02d}", "{year:04d}-{n:02d}", "{year:04d}-Q{n}"]),
    st.integers(min_value=0, max_value=60),
)


@given(periods | typed, st.sampled_from([None, "week", "month", "quarter"]))
def test_a_period_is_in_range_or_invalid_naming_the_option(text: str, kind: str | None) -> None:
    try:
        period = parse_period(text, "--week", kind)
    except Invalid as exc:
        assert exc.message.startswith("--week ") and exc.hint
        return
    assert kind is None or period.kind == kind
    assert period.start.year >= values.FIRST_YEAR and period.end.year <= values.LAST_YEAR + 1
    assert parse_period(period.id) == period


@given(typed)
def test_a_date_and_time_is_zoned_or_a_value_error(text: str) -> None:
    try:
        when = values.coerce_datetime(text)
    except ValueError:
        return
    assert when.tzinfo is not None and when.microsecond == 0
    assert values.coerce_datetime(when.isoformat()) == when


@given(typed)
def test_a_visit_time_is_zoned_or_invalid(text: str) -> None:
    try:
        when = parse_when(CONFIG, text, need_time=True)
    except Invalid as exc:
        assert exc.message.startswith("--at ")
        return
    assert when.tzinfo is not None
    assert parse_when(CONFIG, when.isoformat()) == when


@given(typed)
def test_a_duration_is_positive_and_at_most_a_day_or_invalid(text: str) -> None:
    try:
        length = parse_duration(text)
    except Invalid:
        return
    assert dt.timedelta(0) < length <= dt.timedelta(days=1)


@given(typed)
def test_phones_and_emails_are_single_lines_or_value_errors(text: str) -> None:
    for coerce in (values.coerce_phone, values.coerce_email):
        try:
            value = coerce(text)
        except ValueError:
            continue
        assert "\n" not in value and value == value.strip()
        assert coerce(value) == value


@given(st.text(max_size=40))
def test_duplicate_keys_never_fail(text: str) -> None:
    assert isinstance(values.normalise_email(text), str)
    key = phone_key(text, "CN")  # E.164, else the digits, else no key
    assert key is None or key[2:].lstrip("+").isdigit()
    assert isinstance(values.normalise_company(text), str)


@given(st.sampled_from(["L", "C", "F", "V", "D", "K", "T", "O"]))
def test_new_ids_are_ids_and_their_own_prefixes(prefix: str) -> None:
    made = new_id(prefix)
    assert is_id(made) and len(made) == len(prefix) + 1 + ID_LENGTH
    assert set(made[len(prefix) + 1 :]) <= set(ALPHABET)
    for cut in range(1, len(made) + 1):
        candidate = made[:cut]
        if candidate.endswith("-"):
            continue
        assert normalise_prefix(candidate.lower()) == candidate


@given(typed)
def test_an_id_prefix_is_canonical_or_none(text: str) -> None:
    prefix = normalise_prefix(text)
    assert prefix is None or (prefix == prefix.upper() and normalise_prefix(prefix) == prefix)


@given(typed)
def test_lead_stages_are_the_configured_ones(text: str) -> None:
    try:
        assert CONFIG.require_lead_stage(text) in CONFIG.lead_stages
    except Invalid as exc:
        assert text not in CONFIG.lead_stages and repr(text) in exc.message


@given(typed)
def test_members_and_teams_are_the_configured_ones(text: str) -> None:
    for require in (CONFIG.require_member, CONFIG.require_team):
        try:
            require(text)
        except NotFound as exc:
            assert repr(text) in exc.message
        else:
            raise AssertionError(f"{text!r} found in an empty config")


@settings(max_examples=200)
@given(st.lists(typed, max_size=4))
def test_field_value_expressions_split_at_the_first_equals_sign(pairs: list[str]) -> None:
    try:
        parsed = parse_assignments(pairs)
    except Invalid as exc:
        assert exc.message.startswith("--set ")
        assert any("=" not in p or not p.partition("=")[0].strip() for p in pairs)
        return
    assert len(parsed) == len(pairs)
    for (name, value), pair in zip(parsed, pairs, strict=True):
        assert name and name == name.strip()
        assert pair.partition("=")[2] == value


@given(
    st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20),
    st.lists(st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e"])),
    st.data(),
)
def test_invisible_characters_do_not_make_another_company(
    name: str, invisible: list[str], data: st.DataObject
) -> None:
    """A zero-width space or a direction mark anywhere in a name hid a duplicate."""
    text = list(name)
    for char in invisible:
        text.insert(data.draw(st.integers(0, len(text))), char)
    assert values.normalise_company("".join(text)) == values.normalise_company(name)
