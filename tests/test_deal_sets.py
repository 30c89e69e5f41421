"""``deal add --set`` cannot set what a flag or a verb sets with its checks: the customer
(whose owner may add deals for it), the stage (dated, never lost at the start), the loss
and the competitors. Refused with exit 1, nothing written, nothing committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_deals import customer_of, ok, snapshot


@pytest.mark.parametrize(
    "pair",
    [
        "customer={other}",
        "customer=C-NOPE",
        "stage=lost",
        "stage=won",
        "stages={{}}",
        "lost_to=Globex",
        "reason=price",
        "competitors=Nobody",
        "created=2026-01-01",
    ],
)
def test_deal_add_set_refuses_fields_that_flags_and_verbs_check(
    store: Path, cli: Any, pair: str
) -> None:
    mine = customer_of(cli, "alice")
    other = customer_of(cli, "nora")  # another rep's customer: alice may not add deals for it
    before = snapshot(store)
    refused = cli(
        "--as", "alice", "deal", "add", mine, "--title", "X", "--amount", "1",
        "--set", pair.format(other=other),
    )  # fmt: skip
    field = pair.split("=")[0]
    assert refused.code == 1, refused.err
    assert refused.err.startswith(f"error: deal field {field!r} cannot be set")
    assert "settable: title, amount, close, participants, custom.NAME" in refused.err
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert snapshot(store) == before


def test_deal_add_set_still_sets_the_plain_fields(store: Path, cli: Any) -> None:
    customer = customer_of(cli, "alice")
    added = ok(
        cli, "--as", "alice", "deal", "add", customer, "--title", "X", "--amount", "1",
        "--set", "close=2026-12-31", "--set", "participants=bob", "--set", "amount=2.50",
    )  # fmt: skip
    assert added["close"] == "2026-12-31" and added["participants"] == ["bob"]
    assert added["amount"] == 2.5 and added["customer"] == customer
    assert added["stage"] == "qualify" and list(added["stages"]) == ["qualify"]
    assert cli("--as", "dana", "check").code == 0


def test_the_flags_keep_their_checks(store: Path, cli: Any) -> None:
    """What ``--set`` now refuses, the flags refuse with their own rules."""
    mine = customer_of(cli, "alice")
    other = customer_of(cli, "nora")
    before = snapshot(store)
    for args, code in (
        ((other,), 3),
        (("C-NOPE",), 1),
        ((mine, "--stage", "lost"), 1),
    ):
        result = cli("--as", "alice", "deal", "add", *args, "--title", "X", "--amount", "1")
        assert result.code == code, (args, result.err)
    assert snapshot(store) == before
