"""Visits and planned touches as an iCalendar (RFC 5545) file that calendar apps import.

- One VEVENT per visit the member attends, UID ``<V-ID>@salesctl``: re-exporting yields
  the same UIDs, so an app updates its copy instead of adding a second one. SEQUENCE is 0
  while planned and 1 once done or cancelled (STATUS:CANCELLED), so the update wins.
- One all-day VEVENT per lead/customer the member owns whose latest touch planned a next
  one (``followup add --next``), UID ``next-<RECORD-ID>@salesctl``: one event per record
  that moves when a new follow-up plans another date. When a later touch comes without
  ``--next`` (or the lead is closed) the event is exported as cancelled. Its SEQUENCE is the
  number of touches on the record, which only grows.
- Times are in the org's time zone (``timezone:`` in salesctl.yaml) with its VTIMEZONE;
  DTSTAMP is the export time from ``salesctl.clock`` (frozen by ``$SALESCTL_NOW``), so the
  same data and clock give byte-identical files.

``icalendar`` is imported here only, so no other command pays for it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from salesctl import clock
from salesctl.errors import Invalid
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.ops.records import readable
from salesctl.ops.sales.followups import duration_of, local_time, newest_first, org_zone
from salesctl.store.store import Store

UID_DOMAIN = "salesctl"
PRODID = "-//salesctl//salesctl calendar export//EN"
CLOSED_LEAD_STAGES = ("converted", "disqualified")


@dataclass
class CalendarExport:
    data: bytes  # the .ics file: UTF-8, CRLF line ends, lines folded at 75 octets
    events: int
    skipped: list[str] = field(default_factory=list)  # broken files left out
    # "path: why" of records left out because no calendar can hold their date
    unplaceable: list[str] = field(default_factory=list)


def export_calendar(
    store: Store,
    viewer: Member,
    *,
    member: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> CalendarExport:
    """The member's visits and planned touches (default: the viewer's) as iCalendar."""
    import icalendar

    config = store.config
    who = config.require_member(member) if member else viewer
    if start and end and start > end:
        raise Invalid(f"--from {start} is after --to {end}")
    zone = org_zone(config)
    stamp = clock.now().astimezone(dt.UTC).replace(microsecond=0)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{config.org}: {who.name}")
    cal.add("x-wr-timezone", zone.key)

    skipped: list[str] = []
    unplaceable: list[str] = []
    asked = _Asked(store, viewer, who, start, end)
    visits = _visits(asked, zone, skipped, unplaceable)
    touches = _planned_touches(asked, skipped)
    names = _record_names(store, {v["record"] for v in visits} | {t["record"] for t in touches})
    events = _events(
        visits, "at", unplaceable, lambda v: _visit_event(icalendar, config, v, names, zone, stamp)
    )
    events += _events(
        touches,
        "next",
        unplaceable,
        lambda t: _touch_event(icalendar, config, who, t, names, stamp),
    )
    for _key, event in sorted(events, key=lambda pair: pair[0]):
        cal.add_component(event)
    cal.add_missing_timezones()
    # VTIMEZONE first: some apps read a file top to bottom (older icalendar appended it).
    cal.subcomponents.sort(key=lambda c: c.name != "VTIMEZONE")
    return CalendarExport(cal.to_ical(), len(events), skipped, unplaceable)


def _events(
    rows: list[dict[str, Any]],
    date_field: str,
    unplaceable: list[str],
    make: Callable[[dict[str, Any]], tuple[tuple[int, str, str], Any]],
) -> list[tuple[tuple[int, str, str], Any]]:
    """Each row's event. A row whose date no calendar can hold (an all-day touch on
    9999-12-31 ends the day after; so may a visit) is left out and named, not the whole
    export: a record written before typed dates were range-checked, or edited by hand."""
    events = []
    for row in rows:
        try:
            events.append(make(row))
        except OverflowError:
            unplaceable.append(_out_of_reach(row, date_field))
    return events


def _out_of_reach(row: dict[str, Any], date_field: str) -> str:
    return f"{row['path']}: {date_field} {row[date_field]} is out of range ({values.DATE_RANGE})"


# -- what goes in --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """What an export is asked for: whose calendar, seen by whom, between which days."""

    store: Store
    viewer: Member
    who: Member
    start: dt.date | None
    end: dt.date | None

    def visible(self) -> tuple[list[str], list[Any]]:
        sql, args = readable(self.store, self.viewer).sql()
        return ([sql] if sql else []), args

    def covers(self, day: dt.date) -> bool:
        return not ((self.start and day < self.start) or (self.end and day > self.end))


def _visits(
    asked: _Asked, zone: ZoneInfo, skipped: list[str], unplaceable: list[str]
) -> list[dict[str, Any]]:
    conditions, args = asked.visible()
    result = []
    for path, data, problems in asked.store.index.query("visit", " AND ".join(conditions), args):
        if data is None:
            skipped.append(path)
            continue
        if asked.who.id not in (data.get("attendees") or []):
            continue
        if "at" not in data:  # its time failed a rule (out of range, edited by hand)
            skipped.append(_failed(path, problems, "at"))
            continue
        row = data | {"id": _child_id(path), "path": path}
        try:
            day = local_time(data, zone).date()
        except OverflowError:  # 9999-12-31 23:30 UTC is a day later in Shanghai
            unplaceable.append(_out_of_reach(row, "at"))
            continue
        if asked.covers(day):
            result.append(row)
    return result


def _planned_touches(asked: _Asked, skipped: list[str]) -> list[dict[str, Any]]:
    """Per record ``who`` owns: the next touch planned by its latest follow-up with ``next``,
    whether that plan still stands, and how many touches the record has had."""
    conditions, args = asked.visible()
    where = " AND ".join([*conditions, "owner = ?"])
    touches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind in ("followup", "visit"):
        for path, data, problems in asked.store.index.query(kind, where, [*args, asked.who.id]):
            if data is None:
                if kind == "followup":  # broken visits are reported by _visits already
                    skipped.append(path)
                continue
            if kind == "followup" and _field_problem(problems, "next"):
                # a touch all the same, whose plan no calendar can place
                skipped.append(_failed(path, problems, "next"))
            if kind == "visit" and data.get("status") != "done":
                continue
            touches[data["record"]].append(data | {"id": _child_id(path), "path": path})
    closed = _closed_leads(asked.store, list(touches))
    result = []
    for record_id, rows in touches.items():
        rows.sort(key=newest_first)
        planned = next((r for r in rows if r.get("next")), None)
        if planned is None:
            continue
        day = dt.date.fromisoformat(planned["next"])
        if not asked.covers(day):
            continue
        result.append(
            {
                "record": record_id,
                "next": day,
                "text": planned.get("text") or "",
                "followup": planned["id"],
                "path": planned["path"],
                "stands": rows[0] is planned and record_id not in closed,
                "sequence": len(rows) - 1,
            }
        )
    return result


def _field_problem(problems: list[list[str]] | None, field: str) -> str | None:
    """The index's problem of a record's ``field``: what left it out of the record's data."""
    return next((message for _where, message, name in problems or () if name == field), None)


def _failed(path: str, problems: list[list[str]] | None, field: str) -> str:
    """A record left out of the calendar for its date's problem, as its warning names it."""
    return f"{path}: {field} {_field_problem(problems, field) or 'is missing'}"


def _child_id(path: str) -> str:
    """``.../followups/F-ID.yaml`` -> ``F-ID``."""
    return path.rsplit("/", 1)[-1].removesuffix(".yaml")


def _closed_leads(store: Store, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = store.index.query("lead", f"id IN ({marks})", ids)
    return {
        path.split("/")[-2]
        for path, data, _problems in rows
        if data and data.get("stage") in CLOSED_LEAD_STAGES
    }


def _record_names(store: Store, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    ordered = sorted(ids)
    marks = ",".join("?" * len(ordered))
    names = {}
    for kind in ("customer", "lead"):
        for path, data, _problems in store.index.query(kind, f"id IN ({marks})", ordered):
            if data:
                names[path.split("/")[-2]] = str(data.get("name") or data.get("company") or "")
    return names


# -- events --------------------------------------------------------------------------------


def _address(icalendar: Any, member: Member) -> Any:
    address = icalendar.vCalAddress(f"mailto:{member.email}")
    address.params["CN"] = member.name
    return address


def _event(icalendar: Any, uid: str, stamp: dt.datetime, start: Any, end: Any) -> Any:
    """A new event with what every exported one has: its id, when it was made, its times."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    return event


def _visit_event(
    icalendar: Any,
    config: Config,
    visit: dict[str, Any],
    names: dict[str, str],
    zone: ZoneInfo,
    stamp: dt.datetime,
) -> tuple[tuple[int, str, str], Any]:
    begins = local_time(visit, zone)
    status = visit.get("status", "planned")
    name = names.get(visit["record"], "")
    uid = f"{visit['id']}@{UID_DOMAIN}"
    event = _event(icalendar, uid, stamp, begins, begins + duration_of(visit))
    event.add("sequence", 0 if status == "planned" else 1)
    event.add("status", "CANCELLED" if status == "cancelled" else "CONFIRMED")
    event.add("summary", f"Visit: {name}" if name else f"Visit {visit['record']}")
    if visit.get("place"):
        event.add("location", visit["place"])
    lines = [visit.get("note") or "", visit.get("text") or ""]
    lines.append(f"salesctl: {visit['id']} on {visit['record']}")
    event.add("description", "\n\n".join(line for line in lines if line))
    author = config.member(str(visit.get("author")))
    if author is not None:
        event.add("organizer", _address(icalendar, author))
    for member_id in visit.get("attendees") or []:
        member = config.member(member_id)
        if member is not None:
            attendee = _address(icalendar, member)
            attendee.params["ROLE"] = "REQ-PARTICIPANT"
            event.add("attendee", attendee, encode=0)
    return (0, begins.astimezone(dt.UTC).isoformat(), uid), event


def _touch_event(
    icalendar: Any,
    config: Config,
    owner: Member,
    touch: dict[str, Any],
    names: dict[str, str],
    stamp: dt.datetime,
) -> tuple[tuple[int, str, str], Any]:
    day: dt.date = touch["next"]
    name = names.get(touch["record"], "")
    uid = f"next-{touch['record']}@{UID_DOMAIN}"
    event = _event(icalendar, uid, stamp, day, day + dt.timedelta(days=1))
    event.add("sequence", touch["sequence"])
    event.add("status", "CONFIRMED" if touch["stands"] else "CANCELLED")
    event.add("transp", "TRANSPARENT")  # a reminder, not busy time
    event.add("summary", f"Follow up: {name}" if name else f"Follow up {touch['record']}")
    event.add(
        "description",
        f"{touch['text']}\n\nsalesctl: planned by {touch['followup']} on {touch['record']}",
    )
    event.add("attendee", _address(icalendar, owner), encode=0)
    return (1, day.isoformat(), uid), event
