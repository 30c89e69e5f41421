"""An empty value given to a flag is an error naming the flag, never "not given" (a script's
empty variable must not sign a contract today or widen a report to all time); a date out of
range says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_typed_dates import ok, refused

from salesctl.model import values


@pytest.fixture
def customer(store: Path, cli: Any) -> str:
    return str(ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"])


@pytest.fixture
def contract(cli: Any, customer: str) -> str:
    args = ("contract", "add", customer, "--title", "E", "--amount", "100", "--signed", "-1d")
    return str(ok(cli, "--as", "alice", *args)["id"])


def test_deal_close_out_of_range_says_so(store: Path, cli: Any, customer: str) -> None:
    deal = ("deal", "add", customer, "--title", "D", "--amount", "100")
    for day in ("0001-01-01", "9999-12-31"):
        err = refused(store, cli, "--as", "alice", *deal, "--close", day)
        assert err == f"error: --close {day} is out of range ({values.DATE_RANGE})\n", err


@pytest.mark.parametrize(
    "args",
    [
        ("contract", "add", "{customer}", "--title", "E", "--amount", "1", "--signed", ""),
        ("contract", "add", "{customer}", "--title", "E", "--amount", "1", "--starts", ""),
        ("contract", "add", "{customer}", "--title", "E", "--amount", "1", "--ends", ""),
        ("contract", "pay", "{contract}", "--amount", "1", "--date", ""),
        ("contract", "invoice", "{contract}", "--amount", "1", "--number", "F1", "--date", ""),
        ("deal", "add", "{customer}", "--title", "D", "--amount", "1", "--close", ""),
        ("deal", "add", "{customer}", "--title", "D", "--amount", "1", "--stage", ""),
        ("deal", "losses", "--from", ""),
        ("deal", "losses", "--to", ""),
    ],
)
def test_an_empty_value_is_an_error_naming_the_flag(
    store: Path, cli: Any, customer: str, contract: str, args: tuple[str, ...]
) -> None:
    filled = [a.format(customer=customer, contract=contract) for a in args]
    err = refused(store, cli, "--as", "alice", *filled)
    assert err.startswith(f"error: {args[-2]} ''"), err


def test_an_empty_deal_link_is_an_error_naming_the_flag(
    store: Path, cli: Any, customer: str
) -> None:
    args = ("contract", "add", customer, "--title", "E", "--amount", "1", "--deal", "")
    assert refused(store, cli, "--as", "alice", *args).startswith("error: --deal is empty")
