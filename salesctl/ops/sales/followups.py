"""Follow-ups and visits of a lead or customer.

Each follow-up and each visit is a file of its own in the record's directory
(``followups/<F-ID>.yaml``, ``visits/<V-ID>.yaml``), and a follow-up's attachments go to
``attachments/<F-ID>/``: they travel with the record when it changes owner, and two people
adding follow-ups to one customer in two clones create different files, so plain
``git merge`` never conflicts.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from salesctl import clock, scopes
from salesctl.errors import Invalid, NotFound
from salesctl.ids import new_id
from salesctl.model import values
from salesctl.model.config import Config, Member
from salesctl.model.kinds import FOLLOWUP, VIA, VISIT
from salesctl.ops.participants import supporting_members
from salesctl.ops.records import (
    RecordList,
    child_loc,
    load_for_write,
    new_record,
    readable,
    record_json,
    require_readable,
    validate,
)
from salesctl.ops.sales.leads import closing_stage
from salesctl.ops.stages import move_stage
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store, Transaction

PARENT_KINDS = ("lead", "customer")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_NAME_BYTES = 120
# ``@alice`` but not the ``@acme`` of ``wei@acme.example``.
MENTION_RE = re.compile(r"(?<![A-Za-z0-9._%+\-@])@([A-Za-z][A-Za-z0-9_-]{0,31})")
DURATION_RE = re.compile(r"^(?:(\d{1,6})h)?(?:(\d{1,6})m(?:in)?)?$")  # range: below
DEFAULT_DURATION = dt.timedelta(hours=1)
TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}")
AT_HINT = (
    f"use {values.DATETIME_FORMS}, or a day from today and a time such as "
    '"today 16:00" or "+3d 14:30"'
)


# -- values --------------------------------------------------------------------------------


def org_zone(config: Config) -> ZoneInfo:
    try:
        return ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"timezone {config.timezone!r} in salesctl.yaml is not a known time zone",
            "use an IANA name such as Asia/Shanghai",
        ) from None


def parse_when(
    config: Config, text: str, option: str = "--at", *, need_time: bool = False
) -> dt.datetime:
    """``YYYY-MM-DD HH:MM`` (or ISO 8601's extended form: ``values.iso_datetime``) in the org's
    time zone unless an offset is given, or a day from today as typed dates are (``today``,
    ``+3d``, ``-1w``) and ``HH:MM``, so a script or an example never goes stale. A day alone
    is midnight, except where a time matters (``need_time``: a planned visit must not land
    silently at 00:00 in everyone's calendar)."""
    stripped = text.strip()
    try:
        value, has_time = _when(config, stripped)
    except values.OutOfRange as exc:
        raise Invalid(f"{option} {exc}", values.DATE_RANGE) from None
    except ValueError:
        raise Invalid(f"{option} {text!r} is not a date and time", AT_HINT) from None
    if need_time and not has_time:
        raise Invalid(
            f"{option} {text!r} has no time of day",
            f'give one, e.g. {option} "{stripped} 14:00"',
        )
    try:
        values.check_year(value.year, stripped)
    except values.OutOfRange as exc:
        raise Invalid(f"{option} {exc}", values.DATE_RANGE) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=org_zone(config))
    return value.replace(microsecond=0)


def _when(config: Config, text: str) -> tuple[dt.datetime, bool]:
    """``text`` as a date and time (naive: the org's zone, or with its offset), and whether
    it gave a time of day; ``ValueError`` (``OutOfRange``) if it is none (out of range)."""
    day_text, _, time_text = text.partition(" ")
    if day_text.lower() == "today" or values.RELATIVE_DATE_RE.match(day_text.lower()):
        day = values.coerce_typed_date(day_text, now_in_org(config).date())
        time_text = time_text.strip()
        if time_text and not TIME_RE.fullmatch(time_text):
            raise ValueError(f"{time_text!r} is not HH:MM")
        time_of_day = dt.time.fromisoformat(time_text) if time_text else dt.time()
        return dt.datetime.combine(day, time_of_day), bool(time_text)
    return values.iso_datetime(text), len(text) > len("YYYY-MM-DD")


def now_in_org(config: Config) -> dt.datetime:
    return clock.now().astimezone(org_zone(config)).replace(microsecond=0)


def parse_date(text: str, option: str, today: dt.date | None = None) -> dt.date:
    return values.typed_date(text, option, today or clock.today())


def parse_duration(text: str) -> dt.timedelta:
    """``1h30m``, ``90m``, ``2h`` -> a positive duration of at most a day."""
    match = DURATION_RE.match(text.strip().lower().replace(" ", ""))
    if not match or not any(match.groups()):
        raise Invalid(f"--duration {text!r} is not a duration", "use e.g. 1h, 45m or 1h30m")
    hours, minutes = (int(g or 0) for g in match.groups())
    duration = dt.timedelta(hours=hours, minutes=minutes)
    if not dt.timedelta(0) < duration <= dt.timedelta(hours=24):
        raise Invalid(f"--duration {text!r} is out of range", "a visit lasts up to 24h")
    return duration


def format_duration(duration: dt.timedelta) -> str:
    minutes = int(duration.total_seconds()) // 60
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")


def duration_of(visit: dict[str, Any]) -> dt.timedelta:
    """A stored visit's duration; a hand-edited value that does not parse counts as 1h."""
    text = visit.get("duration")
    if not text:
        return DEFAULT_DURATION
    try:
        return parse_duration(str(text))
    except Invalid:
        return DEFAULT_DURATION


def mentions_in(config: Config, text: str) -> list[str]:
    """The members ``@mentioned`` in ``text``; an unknown one is an error naming them all."""
    found = list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(text)))
    unknown = [m for m in found if config.member(m) is None]
    if unknown:
        raise Invalid(
            f"unknown member mentioned: {', '.join('@' + m for m in unknown)}",
            f"mention a member id: {', '.join(config.members)}",
        )
    return found


def safe_file_name(name: str) -> str:
    """A file name that stays inside its directory on every OS; unicode is kept."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(
        "_" if ch in '<>:"|?*' else ch
        for ch in name
        if unicodedata.category(ch)[0] != "C"  # control and format characters
    )
    name = name.strip().lstrip(".").strip().rstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = name, ""
    while len((stem + (f".{ext}" if ext else "")).encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    name = stem.rstrip(". ") + (f".{ext}" if ext else "")
    if not stem.strip(". ") or stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "attachment" + (f".{ext}" if ext else "")
    return name


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10))} | {
    f"LPT{i}" for i in range(1, 10)
}


def read_attachments(paths: Sequence[str]) -> list[tuple[str, bytes]]:
    """(stored name, content) of each file to attach: regular files up to the size limit,
    names sanitised and made unique."""
    result: list[tuple[str, bytes]] = []
    names: set[str] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            info = path.stat()
        except OSError:
            raise NotFound(f"--attach {raw}: no such file", "check the path") from None
        if not path.is_file():
            raise Invalid(f"--attach {raw}: not a regular file", "attach files, not directories")
        if info.st_size > MAX_ATTACHMENT_BYTES:
            limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
            raise Invalid(
                f"--attach {raw}: {info.st_size} bytes is over the {limit} MB limit",
                "attach a smaller file or a link to it in --text",
            )
        with open(path, "rb") as fh:
            content = fh.read(MAX_ATTACHMENT_BYTES + 1)
        if len(content) > MAX_ATTACHMENT_BYTES:  # it grew while we looked
            raise Invalid(f"--attach {raw}: over the size limit")
        name = safe_file_name(path.name)
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        counter = 1
        while name.casefold() in names:  # case-insensitive file systems too
            counter += 1
            name = f"{stem}-{counter}" + (f".{ext}" if ext else "")
        names.add(name.casefold())
        result.append((name, content))
    return result


# -- follow-ups ----------------------------------------------------------------------------


def add_followup(
    store: Store,
    actor: Member,
    record_id: str,
    *,
    text: str,
    via: str | None = None,
    at: str | None = None,
    attachments: Sequence[str] = (),
    next_touch: str | None = None,
    stage: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Record a touch on a lead or customer: one new file (plus attachments), and with
    ``stage`` the lead's new stage, in one commit."""
    config = store.config
    if not text or not text.strip():
        raise Invalid("--text is required", "say what happened, e.g. --text 'called, sent quote'")
    if via is not None and via not in VIA:
        raise Invalid(f"--via {via!r} is not a channel", f"use one of {', '.join(VIA)}")
    when = parse_when(config, at) if at else now_in_org(config)
    if when > clock.now() + dt.timedelta(minutes=5):
        raise Invalid(
            f"--at {at} is in the future",
            "a follow-up records what happened; plan with --next DATE or `salesctl visit add`",
        )
    # relative to the org's today, which the follow-up's own date is in
    today = now_in_org(config).date()
    next_day = parse_date(next_touch, "--next", today) if next_touch else None
    if next_day is not None and next_day < when.date():
        raise Invalid(f"--next {next_day} is before the follow-up ({when.date()})")
    mentions = mentions_in(config, text)
    files = read_attachments(attachments)
    with store.transaction(actor, "followup.add", opts) as tx:
        record = load_for_write(store, record_id, PARENT_KINDS)
        scopes.check_child_write(config, actor, "followup.add", record)
        followup_id = new_id(FOLLOWUP.prefix)
        if stage is not None:
            _change_stage(tx, config, actor, record, stage)
        else:
            tx.mention(record.id)  # the trailer names the record followed up too
        data: dict[str, Any] = {
            "schema_version": 1,
            "record": record.id,
            "author": actor.id,
            "at": when,
            "via": via,
            "text": text.strip(),
            "mentions": mentions,
            "record_owner": record.owner.member if mentions else None,
            "attachments": [name for name, _content in files],
            "next": next_day,
        }
        loc = child_loc(record, FOLLOWUP, followup_id)
        data = validate(config, FOLLOWUP, _compact(data), new_record(loc))
        tx.write(loc, data)
        for name, content in files:
            tx.write_file(f"{record.loc.record_dir}/attachments/{followup_id}/{name}", content)
        label = record.data.get("name") or record.data.get("company") or ""
        tx.summary = f"followup.add: {followup_id} on {record.id} ({label})"
        if mentions:  # chat hooks that listen for it @mention these members
            tx.emit(
                "followup.mention",
                followup=followup_id,
                record=record.id,
                author=actor.id,
                mentions=mentions,
                text=data["text"],
            )
    return tx.result(record_json(Record(loc, data)))


def _change_stage(
    tx: Transaction, config: Config, actor: Member, record: Record, stage: str
) -> None:
    if record.kind.name != "lead":
        raise Invalid(
            f"{record.id} is a {record.kind.name}; only leads have a stage",
            "drop --stage, or move a deal with `salesctl deal move`",
        )
    scopes.check_write(config, actor, "lead.edit", record.owner, record=record.id)
    refused = closing_stage(stage)  # a follow-up gives no reason to disqualify with
    if refused is not None:
        raise Invalid(f"--stage {stage} is not set by a follow-up", refused[1])
    if record.data.get("stage") == "converted":
        raise Invalid(f"{record.id} is converted to {record.data.get('customer')}")
    if record.data.get("stage") == stage:
        return
    data = dict(record.data)
    move_stage(config, record.kind, data, stage)  # a move back keeps what it drops
    tx.write(record.loc, validate(config, record.kind, data, record.path))


def list_followups(store: Store, viewer: Member, record_id: str) -> list[dict[str, Any]]:
    """A record's follow-ups and done visits, newest first (broken files skipped)."""
    loc = store.resolve(record_id, PARENT_KINDS)
    require_readable(store, viewer, loc)
    result = RecordList()
    for kind in ("followup", "visit"):
        for path, data in store.index.children(loc.id, kind):
            if data is None:
                result.skipped.append(path)
            elif kind == "followup" or data.get("status") == "done":
                result.append(json_record(_loc(path), data))
    result.sort(key=newest_first)
    return result


def newest_first(row: dict[str, Any]) -> tuple[float, str]:
    return -_timestamp(row.get("at")), str(row.get("id"))


def _timestamp(value: Any) -> float:
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return 0.0


# -- visits --------------------------------------------------------------------------------


def add_visit(
    store: Store,
    actor: Member,
    record_id: str,
    *,
    at: str,
    duration: str | None = None,
    place: str | None = None,
    attendees: Iterable[str] = (),
    with_me: bool = True,
    note: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Plan a visit to a customer (or lead): status ``planned`` until ``visit done``. The
    one who plans it attends, with ``attendees``, unless ``with_me`` is off (a lead
    planning a rep's visit)."""
    config = store.config
    when = parse_when(config, at, need_time=True)
    _check_not_past(config, record_id, when, at)
    length = format_duration(parse_duration(duration)) if duration else None
    people = supporting_members(
        config, [actor.id, *attendees] if with_me else attendees, label="--attendee"
    )
    if not people:
        raise Invalid("a visit needs someone to go", "name an --attendee, or drop --without-me")
    with store.transaction(actor, "visit.add", opts) as tx:
        record = load_for_write(store, record_id, PARENT_KINDS)
        scopes.check_child_write(config, actor, "visit.add", record)
        visit_id = new_id(VISIT.prefix)
        tx.mention(record.id)
        data: dict[str, Any] = {
            "schema_version": 1,
            "record": record.id,
            "author": actor.id,
            "at": when,
            "duration": length,
            "place": place,
            "attendees": people,
            "status": "planned",
            "note": note,
        }
        loc = child_loc(record, VISIT, visit_id)
        data = validate(config, VISIT, _compact(data), new_record(loc))
        tx.write(loc, data)
        label = record.data.get("name") or record.data.get("company") or ""
        tx.summary = f"visit.add: {visit_id} to {record.id} ({label}) at {when:%Y-%m-%d %H:%M}"
    return tx.result(record_json(Record(loc, data)))


def _check_not_past(config: Config, record_id: str, when: dt.datetime, at: str) -> None:
    """A planned visit starts today (in the org's time zone) or later. Earlier today is
    allowed, so a visit held this morning can still be added and marked done; one on an
    earlier day took place already and is a follow-up, not a plan."""
    today = now_in_org(config).replace(hour=0, minute=0, second=0)
    if when < today:
        raise Invalid(
            f"--at {at.strip()} is in the past: a planned visit starts today or later",
            "record a visit that took place as a follow-up: salesctl followup add "
            f'{record_id} --via visit --at "{at.strip()}" --text "what came of it"',
        )


def close_visit(
    store: Store,
    actor: Member,
    visit_id: str,
    *,
    status: str,
    text: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Mark a planned visit ``done`` (with what happened) or ``cancelled`` (with why)."""
    config = store.config
    action = "visit.done" if status == "done" else "visit.cancel"
    if status == "done" and not (text and text.strip()):
        raise Invalid("--text is required", "say what came of the visit")
    with store.transaction(actor, action, opts) as tx:
        visit = load_for_write(store, visit_id, ("visit",))
        parent = visit.loc.parent
        # the record's participants close its visits too; judged on the record's fields
        on = load_for_write(store, parent, PARENT_KINDS) if parent else visit
        scopes.check_child_write(config, actor, action, on)
        if visit.data.get("status") != "planned":
            raise Invalid(f"{visit.id} is already {visit.data.get('status')}")
        starts = local_time(visit.data, org_zone(config))
        if status == "done" and starts > clock.now() + dt.timedelta(minutes=5):
            raise Invalid(  # a "done" visit is the record's last touch: none from the future
                f"{visit.id} is planned for {starts:%Y-%m-%d %H:%M}: it has not happened yet",
                f"mark it done once it has, or cancel it: salesctl visit cancel {visit.id}",
            )
        data = dict(visit.data, status=status)
        if text and text.strip():
            data["text"] = text.strip()
        data = validate(config, VISIT, data, visit.path)
        if visit.loc.parent:
            tx.mention(visit.loc.parent)
        tx.write(visit.loc, data)
        tx.summary = f"{action}: {visit.id} on {data['record']}"
    return tx.result(record_json(Record(visit.loc, data)))


def list_visits(
    store: Store,
    viewer: Member,
    *,
    record_id: str | None = None,
    member: str | None = None,
    status: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Visits the viewer may read, soonest first; ``member`` means attending."""
    config = store.config
    if member is not None:
        config.require_member(member)
    if status is not None and status not in ("planned", "done", "cancelled"):
        raise Invalid(f"--status {status!r}", "use planned, done or cancelled")
    sql, args = readable(store, viewer).sql()
    conditions = [sql] if sql else []
    if record_id is not None:
        loc = store.resolve(record_id, PARENT_KINDS)
        require_readable(store, viewer, loc)
        conditions.append("parent = ?")
        args.append(loc.id)
    zone = org_zone(config)
    result = RecordList()
    for path, data, problems in store.index.query("visit", " AND ".join(conditions), args):
        if data is None:
            result.skipped.append(f"{path}: {problems[0][1] if problems else 'unreadable'}")
            continue
        if member is not None and member not in (data.get("attendees") or []):
            continue
        if status is not None and data.get("status") != status:
            continue
        day = local_time(data, zone).date()
        if (start and day < start) or (end and day > end):
            continue
        result.append(json_record(_loc(path), data))
    result.sort(key=lambda r: (_timestamp(r.get("at")), r["id"]))
    return result


def local_time(data: dict[str, Any], zone: ZoneInfo) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(data["at"]))
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(zone)


# -- helpers -------------------------------------------------------------------------------


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, [], "")}


def _loc(path: str) -> RecordPath:
    loc = parse_path(path)
    assert loc is not None  # the index only holds paths parse_path accepted
    return loc
