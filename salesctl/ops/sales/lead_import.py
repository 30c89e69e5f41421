"""``lead import``: CSV or JSON from spreadsheets and other CRMs, all-or-nothing, one commit.

Pipeline: read rows (UTF-8 with or without BOM, Excel quoting, CRLF) -> map columns to lead
fields (``--map`` first, then built-in English and Chinese header names) -> build and validate
every row, collecting every problem with its row number -> find duplicates within the file
and against the store -> choose owners -> write all leads in one commit. Any bad row fails
the whole import and nothing changes. Running the same import twice adds nothing. The first
two steps, reading the file and mapping its columns, are ``lead_import_files``; ``--update``'s
rows merged into the leads they match, under the duplicate guard, ``lead_import_updates``.

Round-robin (``--round-robin [--team T]``) balances by current load: the active reps (of the
team, or all of them) are ordered by how many open leads they own now, fewest first, and the
new leads are dealt out in that order in turn. Within one import the counts differ by at most
one; across runs whoever received the extra lead last time is dealt last next time, so no
cursor has to be stored (and fought over by clones). Inactive members receive nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid
from salesctl.ids import new_id
from salesctl.model.config import Config, Member
from salesctl.model.dupkeys import record_keys
from salesctl.model.kinds import LEAD
from salesctl.model.problems import Problem
from salesctl.model.rules import coerce_custom, record_problems
from salesctl.model.values import printable
from salesctl.ops.records import input_value
from salesctl.ops.sales.dupguard import first_holders
from salesctl.ops.sales.lead_import_files import map_columns, read_rows
from salesctl.ops.sales.lead_import_updates import KeysTaken, RowUpdate, plan_updates
from salesctl.ops.sales.leads import closing_stage
from salesctl.ops.sales.ownership import open_owned_count
from salesctl.ops.stages import enter_stage
from salesctl.store.layout import POOL, Owner, RecordPath, record_file
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store
from salesctl.store.validation import InvalidRecord

# Common status words of other CRMs' exports, mapped to the default lead stages.
STATUS_WORDS = (
    (re.compile(r"unqualif|disqualif|junk|无效|不合格"), "disqualified"),
    (re.compile(r"convert|已转化|转化"), "converted"),
    (re.compile(r"not contacted|^(new|open)|新"), "new"),
    (re.compile(r"qualif|合格|已确认"), "qualified"),
    (re.compile(r"contact|working|跟进|已联系"), "contacted"),
)
UPDATE_SKIPS = ("created", "stages", "stage")  # an update never moves a lead's stage
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y.%m.%d", "%Y年%m月%d日")


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    owners: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class ImportErrors(Invalid):
    """Invalid rows: ``details`` holds one line per problem, by row number."""

    def __init__(self, source: str, details: list[str]) -> None:
        super().__init__(
            f"{source}: {len(details)} problem(s) in the rows; nothing was imported",
            "fix the rows listed below (or map columns with --map) and run it again",
        )
        self.details = details


def _parse_date(value: str) -> dt.date:
    text = value.strip()
    head = text.replace("T", " ").split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)")


def _stage(config: Config, value: str) -> str:
    text = value.strip()
    if text in config.lead_stages:
        return text
    lowered = text.lower()
    for pattern, stage in STATUS_WORDS:
        if pattern.search(lowered) and stage in config.lead_stages:
            return stage
    raise ValueError(f"{value!r} is not a lead stage (use one of {', '.join(config.lead_stages)})")


@dataclass
class Row:
    number: int
    data: dict[str, Any]
    owner: str | None  # from an owner column


def build_rows(
    config: Config, rows: Sequence[tuple[int, dict[str, Any]]], mapping: dict[str, str]
) -> tuple[list[Row], list[str]]:
    """Lead data per row, and every problem as 'row N: field: message'."""
    built, problems = [], []
    today = clock.today()
    custom_specs = {f.name: f for f in config.custom_fields.get("lead", ())}
    for number, values in rows:
        data: dict[str, Any] = {"schema_version": 1}
        owner = None
        row_problems: list[str] = []
        first = last = ""
        for column, target in mapping.items():
            raw = values.get(column)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            text = str(raw).strip() if not isinstance(raw, list) else raw
            try:
                if target == "first_name":
                    first = str(text)
                elif target == "last_name":
                    last = str(text)
                elif target == "owner":
                    owner = str(text)
                elif target == "created":
                    data["created"] = _parse_date(str(text))
                elif target == "stage":
                    data["stage"] = _stage(config, str(text))
                elif target.startswith("custom."):
                    name = target.removeprefix("custom.")
                    data.setdefault("custom", {})[name] = coerce_custom(custom_specs[name], text)
                elif target == "phone" and isinstance(text, str):  # checked and coerced
                    data[target] = input_value(config, target, text)
                else:
                    data[target] = LEAD.by_name[target].coerce(input_value(config, target, text))
            except ValueError as exc:
                row_problems.append(f"row {number}: {column}: {exc}")
        if (first or last) and not data.get("name"):
            # Western exports split names; Chinese names read family name first.
            is_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in first + last)
            data["name"] = f"{last}{first}" if is_cjk else " ".join(p for p in (first, last) if p)
        created = data.setdefault("created", today)
        if isinstance(created, dt.date) and created > today:
            row_problems.append(f"row {number}: created: {created} is in the future")
        refused = closing_stage(data.get("stage"), data.get("reason"))
        if refused is not None:
            row_problems.append(f"row {number}: {refused[0]} ({refused[1]})")
        stage = data.get("stage") or config.lead_stages[0]
        data.pop("stage", None)
        enter_stage(data, stage, created if isinstance(created, dt.date) else today)
        if not (data.get("company") or data.get("name")):
            row_problems.append(f"row {number}: needs a company or a name column with a value")
        canonical, problems_found = LEAD.normalise(data, f"row {number}")
        problems_found += record_problems(config, LEAD, canonical, f"row {number}")
        row_problems += [_row_problem(p) for p in problems_found]
        if owner is not None:
            member = config.member(owner) or config.member_by_email(owner)
            if member is None:
                row_problems.append(f"row {number}: owner: {owner!r} is not a member")
            elif not member.active:
                row_problems.append(f"row {number}: owner: {member.id} is inactive")
            else:
                owner = member.id
        if row_problems:
            problems += row_problems
        else:
            built.append(Row(number, canonical, owner))
    return built, problems


def _row_number(problem: str) -> int:
    match = re.match(r"row (\d+)", problem)
    return int(match.group(1)) if match else 0


def _row_problem(problem: Problem) -> str:
    return f"{problem.where}: {problem.field}: {problem.message}" if problem.field else str(problem)


def duplicate_keys(data: dict[str, Any], region: str) -> list[str]:
    """A row's keys: those the duplicate guard finds a lead by (``model/dupkeys.py``)."""
    return record_keys("lead", data, region)


def round_robin_members(store: Store, config: Config, team: str | None) -> list[Member]:
    """Active reps (of ``team``), least loaded first: the order new leads are dealt in.

    Fair within one import (a plain rotation: counts differ by at most one) and across
    runs (each import starts with whoever owns the fewest open leads, so whoever got the
    extra lead last time is dealt last now). Inactive members get nothing.
    """
    if team is not None:
        config.require_team(team)
    members = [
        m
        for m in config.members.values()
        if m.active
        and config.role_of(m).scope == "own"
        and scopes.action_allowed(config, m, "lead.add")
        and (team is None or m.team == team)
    ]
    if not members:
        where = f"team {team}" if team else "the org"
        raise Invalid(f"no active reps in {where} for --round-robin", "add or activate members")
    load = {m.id: open_owned_count(store, "lead", m.id) for m in members}
    return sorted(members, key=lambda m: (load[m.id], m.id))


def import_leads(
    store: Store,
    actor: Member,
    path: Path,
    *,
    mappings: Iterable[str] = (),
    to: str | None = None,
    round_robin: bool = False,
    team: str | None = None,
    pool: bool = False,
    update: bool = False,
    opts: WriteOpts = WRITE,
) -> WriteResult[ImportResult]:
    """Import leads from ``path``; see the module docstring for the rules."""
    config = store.config
    if sum(bool(x) for x in (to, round_robin, pool)) > 1:
        raise Invalid("--to, --round-robin and --pool are exclusive", "choose one")
    if team and not round_robin:
        raise Invalid("--team goes with --round-robin", "add --round-robin")
    columns, raw_rows, shape_problems = read_rows(path)
    mapping, ignored = map_columns(config, columns, mappings)
    if not any(t in ("company", "name", "first_name", "last_name") for t in mapping.values()):
        raise Invalid(
            f"{path.name}: no column maps to company or name (columns: {', '.join(columns)})",
            'map one, e.g. --map "Firma=company"',
        )
    rows, problems = build_rows(config, raw_rows, mapping)
    problems = sorted(shape_problems + problems, key=_row_number)
    if to:
        target = config.member(to)
        if target is None or not target.active:
            raise Invalid(f"--to {to}: not an active member", "see `salesctl member list`")
    result = ImportResult(ignored_columns=ignored, dry_run=opts.dry_run)
    with store.transaction(actor, "lead.import", opts) as tx:
        row_keys = {row.number: duplicate_keys(row.data, config.region) for row in rows}
        # one indexed lookup of every row's keys, whoever owns the lead or customer found
        holders = first_holders(store, [k for keys in row_keys.values() for k in keys])
        known = {key: holder.id for key, holder in holders.items()}
        new_rows: list[Row] = []
        new_ids: set[str] = set()  # a set: looking each duplicate up in new_rows is quadratic
        seen: dict[str, str] = {}
        seen_rows: dict[str, int] = {}  # a new row's key -> its row number
        updates: dict[str, list[RowUpdate]] = {}
        for row in rows:
            keys = row_keys[row.number]
            duplicate = next((known[k] for k in keys if k in known), None)
            duplicate = duplicate or next((seen[k] for k in keys if k in seen), None)
            if duplicate is None:
                row_id = new_id(LEAD.prefix)
                for key in keys:
                    seen[key] = row_id
                    seen_rows[key] = row.number
                row.data["_id"] = row_id
                new_rows.append(row)
                new_ids.add(row_id)
            elif update and duplicate in new_ids:
                result.skipped.append({"row": row.number, "duplicate_of": duplicate})
            elif update and duplicate.startswith(f"{LEAD.prefix}-"):  # a customer stays as is
                fields = {k: v for k, v in row.data.items() if k not in UPDATE_SKIPS}
                updates.setdefault(duplicate, []).append(RowUpdate(row.number, fields, keys))
            else:
                result.skipped.append({"row": row.number, "duplicate_of": duplicate})
        # updates are held to the guard `lead edit` applies, against the same lookup
        planned, refused = plan_updates(
            store, config, actor, updates, KeysTaken(holders, seen_rows, {})
        )
        problems = sorted(problems + refused, key=_row_number)
        if problems:
            raise ImportErrors(path.name, problems)
        owners = _choose_owners(store, config, actor, new_rows, to, round_robin, team, pool)
        progress = store.report_progress("preparing leads", len(new_rows))
        for done, row in enumerate(new_rows, 1):
            row_id = row.data.pop("_id")
            owner = owners[row.number]
            where = f"{printable(path.name)} row {row.number}"  # its new id would tell nothing
            scopes.check_write(config, actor, "lead.import", owner, record=where)
            # Normalised and checked as the row was built, keyed for the guard: staging it
            # checks only what its file shows (its size, its place), and the index row
            # takes these keys.
            try:
                tx.write(
                    RecordPath(record_file(owner, LEAD, row_id), LEAD, row_id, owner),
                    row.data,
                    normalised=True,
                    keys=row_keys[row.number],
                )
            except InvalidRecord as exc:
                problems += [
                    _row_problem(replace(p, where=f"row {row.number}")) for p in exc.problems
                ]
                continue
            result.created.append(row_id)
            label = owner.member or "pool"
            result.owners[label] = result.owners.get(label, 0) + 1
            if done % 500 == 0:
                progress.update(done)
        progress.done()
        if problems:
            raise ImportErrors(path.name, problems)
        for lead in planned:
            tx.write(lead.record.loc, lead.data)
            result.updated.append(lead.record.id)
        tx.summary = (
            f"lead.import: {len(result.created)} new, {len(result.updated)} updated "
            f"from {printable(path.name)}"  # a file name may be any bytes; a commit is UTF-8
        )
    return tx.result(result)


def _choose_owners(
    store: Store,
    config: Config,
    actor: Member,
    rows: list[Row],
    to: str | None,
    round_robin: bool,
    team: str | None,
    pool: bool,
) -> dict[int, Owner]:
    from salesctl.ops.records import home_of

    if pool:
        return {row.number: POOL for row in rows}
    if round_robin:
        order = round_robin_members(store, config, team) if rows else []
        return {row.number: home_of(config, order[i % len(order)].id) for i, row in enumerate(rows)}
    owners = {}
    for row in rows:
        member_id = to or row.owner or actor.id
        owners[row.number] = home_of(config, member_id)
    return owners
