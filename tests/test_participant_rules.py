"""One rule for the members who support a record's owner (a lead's, customer's or deal's
participants, a visit's attendees), wherever they are set: active members only, the owner
never among them; and a record named twice in one command (id and prefix) is moved once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from conftest import git
from test_leads_lifecycle import head, snapshot

from salesctl import clock

INACTIVE = "carol"  # `active: false` in conftest's config


def ok(res: Any) -> Any:
    assert res.code == 0, res.err
    return res.json()


def add_lead(cli: Any, actor: str, company: str, *extra: str) -> dict[str, Any]:
    return ok(cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json"))


def refused(store: Path, cli: Any, args: tuple[str, ...], message: str) -> None:
    before = snapshot(store)
    res = cli(*args)
    assert res.code == 1, (args, res.code, res.err)
    assert res.err.startswith(f"error: {message}"), res.err
    assert "Traceback" not in res.err and "internal error" not in res.err
    assert snapshot(store) == before


def test_an_inactive_member_is_refused_as_participant_or_attendee_everywhere(
    store: Path, cli: Any
) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    customer = ok(cli("--as", "alice", "customer", "add", "--name", "Beta Co", "-f", "json"))
    when = f"{clock.today() + dt.timedelta(days=1)} 10:00"
    inactive = f"{INACTIVE} is inactive"
    field = "participants:"
    for args, message in (
        (("lead", "edit", lead["id"], "--set", f"participants=bob,{INACTIVE}"), field),
        (("customer", "edit", customer["id"], "--set", f"participants={INACTIVE}"), field),
        (("lead", "add", "--company", "New Co", "--set", f"participants={INACTIVE}"), field),
        (("visit", "add", lead["id"], "--at", when, "--attendee", INACTIVE), "--attendee"),
        (("lead", "assign", lead["id"], "--to", "bob", "--participant", INACTIVE), "--participant"),
        (
            ("deal", "add", customer["id"], "--title", "Deal", "--amount", "100",
             "--set", f"participants={INACTIVE}"),
            field,
        ),
    ):  # fmt: skip
        actor = "lee" if args[1] == "assign" else "alice"
        refused(store, cli, ("--as", actor, *args), f"{message} {inactive}")


def test_edit_leaves_the_owner_out_of_participants_as_assign_does(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    edited = ok(
        cli("--as", "alice", "lead", "edit", lead["id"], "--set", "participants=alice,bob",
            "-f", "json")
    )  # fmt: skip
    assert edited["participants"] == ["bob"]
    assigned = ok(
        cli("--as", "lee", "lead", "assign", lead["id"], "--to", "bob", "--participant", "bob",
            "--participant", "alice", "-f", "json")
    )  # fmt: skip
    assert assigned[0]["participants"] == ["alice"]
    before = head(store)
    only_owner = ok(
        cli("--as", "bob", "lead", "edit", lead["id"], "--set", "participants=bob", "-f", "json")
    )
    assert "participants" not in only_owner and head(store) != before


def test_a_participant_deactivated_since_stays_through_an_edit(store: Path, cli: Any) -> None:
    """The rule judges the members an edit names anew: a colleague who has left does not
    block an edit of another field (nor is dropped by it)."""
    lead = add_lead(cli, "alice", "Acme Ltd")
    ok(cli("--as", "alice", "lead", "edit", lead["id"], "--set", "participants=bob", "-f", "json"))
    ok(cli("--as", "dana", "member", "deactivate", "bob", "-f", "json"))
    edited = ok(
        cli("--as", "alice", "lead", "edit", lead["id"], "--set", "notes=met", "-f", "json")
    )
    assert edited["participants"] == ["bob"] and edited["notes"] == "met"


def test_one_lead_named_twice_is_assigned_once(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Acme Ltd")
    prefix = lead["id"][:6]
    moved = ok(
        cli("--as", "lee", "lead", "assign", lead["id"], prefix, lead["id"].lower(), "--to",
            "bob", "-f", "json")
    )  # fmt: skip
    assert [r["id"] for r in moved] == [lead["id"]]
    subject = git(store, "log", "-1", "--format=%s").strip()
    assert subject == f"lead.assign: {lead['id']} to bob"
    released = ok(cli("--as", "bob", "lead", "release", lead["id"], prefix, "-f", "json"))
    assert [r["id"] for r in released] == [lead["id"]]
    claimed = ok(cli("--as", "alice", "lead", "claim", prefix, lead["id"], "-f", "json"))
    assert [r["id"] for r in claimed] == [lead["id"]]
