"""``calendar export``: RFC 5545 output parsed back by icalendar and checked strictly, stable
UIDs across re-exports, updates that bump SEQUENCE, the org's time zone, and lazy import."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from conftest import CONFIG, ROOT, make_store

LONG_NOTE = "带上演示机和报价单，" * 12 + " and the signed NDA, printed twice for the legal team."


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def export(cli: Any, tmp_path: Path, actor: str, *options: str) -> bytes:
    out = tmp_path / "export.ics"  # replaced by each export of a test (--force)
    result = cli("--as", actor, "calendar", "export", *options, "--out", str(out), "--force")
    assert result.code == 0, result.err
    return out.read_bytes()


def events(data: bytes) -> dict[str, Any]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def check_rfc5545(data: bytes) -> icalendar.Calendar:
    """The strict checks: CRLF everywhere, folded lines of at most 75 octets, the required
    properties on the calendar and on every VEVENT, attendees as mailto addresses."""
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # folding never splits a UTF-8 sequence
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    tzids = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    vevents = calendar.walk("VEVENT")
    assert vevents
    for event in vevents:
        for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert name in event, (name, event)
        assert "DTEND" in event or "DURATION" in event
        assert event.decoded("DTSTAMP").tzinfo is not None  # DTSTAMP is UTC
        start = event["DTSTART"]
        if isinstance(start.dt, dt.datetime):
            assert start.params["TZID"] in tzids  # every TZID has its VTIMEZONE
            assert event.decoded("DTEND") > event.decoded("DTSTART")
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        assert attendees and all(str(a).startswith("mailto:") for a in attendees)
        assert all(a.params.get("CN") for a in attendees)
    return calendar


@pytest.fixture
def planned(store: Path, cli: Any) -> dict[str, Any]:
    """alice's customer with a visit alice and nora attend, and a planned next touch."""
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "阿里巴巴集团控股有限公司")
    visit = ok(
        cli, "--as", "alice", "visit", "add", customer["id"], "--at", "2026-11-25 14:00",
        "--duration", "1h30m", "--place", "杭州市余杭区文一西路969号 西溪园区 3号楼",
        "--attendee", "alice", "--attendee", "nora", "--note", LONG_NOTE,
    )  # fmt: skip
    followup = ok(
        cli, "--as", "alice", "followup", "add", customer["id"], "--text", "Quote sent; call back",
        "--next", "2026-11-27",
    )  # fmt: skip
    return {"customer": customer, "visit": visit, "followup": followup}


def test_export_is_strict_rfc5545_with_attendees_and_reminders(
    store: Path, cli: Any, tmp_path: Path, planned: dict[str, Any]
) -> None:
    data = export(cli, tmp_path, "alice")
    calendar = check_rfc5545(data)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    found = events(data)
    visit_uid = f"{planned['visit']['id']}@salesctl"
    touch_uid = f"next-{planned['customer']['id']}@salesctl"
    assert sorted(found) == sorted([visit_uid, touch_uid])

    visit = found[visit_uid]
    shanghai = ZoneInfo("Asia/Shanghai")
    assert visit.decoded("DTSTART") == dt.datetime(2026, 11, 25, 14, 0, tzinfo=shanghai)
    assert visit.decoded("DTEND") == dt.datetime(2026, 11, 25, 15, 30, tzinfo=shanghai)
    assert visit["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert visit.decoded("DTSTAMP") == dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
    assert str(visit["LOCATION"]) == planned["visit"]["place"]
    assert LONG_NOTE in str(visit["DESCRIPTION"])
    assert str(visit["SUMMARY"]) == "Visit: 阿里巴巴集团控股有限公司"
    people = {str(a): a.params["CN"] for a in visit["ATTENDEE"]}
    assert people == {"mailto:alice@acme.example": "Alice Lin", "mailto:nora@acme.example": "王娜"}
    assert str(visit["ORGANIZER"]) == "mailto:alice@acme.example"
    assert int(visit["SEQUENCE"]) == 0 and str(visit["STATUS"]) == "CONFIRMED"

    touch = found[touch_uid]
    assert touch.decoded("DTSTART") == dt.date(2026, 11, 27)  # all day
    assert touch.decoded("DTEND") == dt.date(2026, 11, 28)
    assert str(touch["ATTENDEE"]) == "mailto:alice@acme.example"
    assert str(touch["STATUS"]) == "CONFIRMED" and str(touch["TRANSP"]) == "TRANSPARENT"
    assert "Quote sent" in str(touch["DESCRIPTION"])

    # stdout gives the same bytes as --out
    result = cli("--as", "alice", "calendar", "export")
    assert result.code == 0 and result.out.encode("utf-8") == data


def test_reexport_keeps_uids_and_updates_bump_the_sequence(
    store: Path, cli: Any, tmp_path: Path, planned: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = export(cli, tmp_path, "alice")
    assert export(cli, tmp_path, "alice") == first  # same data, same clock: same bytes
    visit_uid = f"{planned['visit']['id']}@salesctl"
    touch_uid = f"next-{planned['customer']['id']}@salesctl"

    monkeypatch.setenv("SALESCTL_NOW", "2026-11-26T09:00:00+08:00")
    ok(cli, "--as", "alice", "visit", "done", planned["visit"]["id"], "--text", "signed the NDA")
    ok(
        cli, "--as", "alice", "followup", "add", planned["customer"]["id"],
        "--text", "chasing the PO", "--next", "2026-12-02",
    )  # fmt: skip
    second = events(export(cli, tmp_path, "alice"))
    assert sorted(second) == sorted([visit_uid, touch_uid])  # updated, not duplicated
    visit, touch = second[visit_uid], second[touch_uid]
    assert int(visit["SEQUENCE"]) == 1 and "signed the NDA" in str(visit["DESCRIPTION"])
    assert visit.decoded("DTSTAMP") == dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
    old_touch = events(first)[touch_uid]
    assert touch.decoded("DTSTART") == dt.date(2026, 12, 2)
    assert int(touch["SEQUENCE"]) > int(old_touch["SEQUENCE"])

    # A later touch without --next: the planned one is cancelled, still under the same UID.
    monkeypatch.setenv("SALESCTL_NOW", "2026-11-26T15:00:00+08:00")
    ok(cli, "--as", "alice", "followup", "add", planned["customer"]["id"], "--text", "got it")
    third = events(export(cli, tmp_path, "alice"))
    assert str(third[touch_uid]["STATUS"]) == "CANCELLED"
    assert int(third[touch_uid]["SEQUENCE"]) > int(touch["SEQUENCE"])

    other = ok(
        cli, "--as", "alice", "visit", "add", planned["customer"]["id"], "--at", "2026-12-01 09:00"
    )
    ok(cli, "--as", "alice", "visit", "cancel", other["id"], "--reason", "holiday")
    cancelled = events(export(cli, tmp_path, "alice"))[f"{other['id']}@salesctl"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 1


def test_member_and_date_filters_and_read_scope(
    store: Path, cli: Any, tmp_path: Path, planned: dict[str, Any]
) -> None:
    later = ok(
        cli, "--as", "alice", "visit", "add", planned["customer"]["id"], "--at", "2026-12-10 10:00"
    )
    visit_uid = f"{planned['visit']['id']}@salesctl"
    later_uid = f"{later['id']}@salesctl"
    touch_uid = f"next-{planned['customer']['id']}@salesctl"

    assert sorted(events(export(cli, tmp_path, "alice"))) == sorted(
        [visit_uid, later_uid, touch_uid]
    )
    window = events(export(cli, tmp_path, "alice", "--from", "2026-11-26", "--to", "2026-11-30"))
    assert sorted(window) == [touch_uid]
    # A director exports nora's calendar: the visit she attends, not alice's reminder.
    assert sorted(events(export(cli, tmp_path, "dana", "--member", "nora"))) == [visit_uid]
    # nora herself cannot read alice's customer, so its visits are not hers to export.
    mine = export(cli, tmp_path, "nora")
    assert icalendar.Calendar.from_ical(mine).walk("VEVENT") == []
    assert cli("--as", "alice", "calendar", "export", "--member", "zed").code == 1
    assert cli("--as", "alice", "calendar", "export", "--from", "tomorrow").code == 1


def test_times_follow_the_org_time_zone(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = make_store(tmp_path / "berlin", CONFIG.replace("Asia/Shanghai", "Europe/Berlin"))
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    customer = ok(cli, "--as", "bob", "customer", "add", "--name", "Muster GmbH")
    visit = ok(cli, "--as", "bob", "visit", "add", customer["id"], "--at", "2026-11-25 09:30")
    assert visit["at"] == "2026-11-25T09:30:00+01:00"
    data = export(cli, tmp_path, "bob")
    check_rfc5545(data)
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert b"DTSTART;TZID=Europe/Berlin:20261125T093000\r\n" in data
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(hours=1)


def test_icalendar_is_imported_only_by_the_export() -> None:
    code = (
        "import sys; from salesctl.cli.app import run; "
        "run(['--help']); run(['visit', '--help']); "
        "print('icalendar' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_the_planner_attends_their_own_visit_unless_they_say_otherwise(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    customer = ok(cli, "--as", "lee", "customer", "add", "--name", "Acme")["id"]
    with_me = ok(
        cli, "--as", "lee", "visit", "add", customer, "--at", "2026-11-25 14:00",
        "--attendee", "alice",
    )  # fmt: skip
    assert with_me["attendees"] == ["lee", "alice"]
    assert f"{with_me['id']}@salesctl" in events(export(cli, tmp_path, "lee"))
    for_alice = ok(
        cli, "--as", "lee", "visit", "add", customer, "--at", "2026-11-26 10:00",
        "--attendee", "alice", "--without-me",
    )  # fmt: skip
    assert for_alice["attendees"] == ["alice"]
    assert f"{for_alice['id']}@salesctl" not in events(export(cli, tmp_path, "lee"))
    nobody = cli(
        "--as", "lee", "visit", "add", customer, "--at", "2026-11-26 10:00", "--without-me"
    )
    assert nobody.code == 1 and "--attendee" in nobody.err


def test_a_visit_needs_a_time_of_day(store: Path, cli: Any) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=store, capture_output=True, text=True, check=True
    ).stdout
    refused = cli("--as", "alice", "visit", "add", customer, "--at", "2026-12-08")
    assert refused.code == 1
    assert "no time of day" in refused.err and '"2026-12-08 14:00"' in refused.err
    after = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=store, capture_output=True, text=True, check=True
    ).stdout
    assert after == head
