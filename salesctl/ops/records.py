"""Operations every record kind shares: scoped listing, showing, ``--set`` edits, validation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesctl import scopes
from salesctl.errors import Forbidden, Invalid
from salesctl.ids import new_id
from salesctl.model.config import Config, CustomField, Member
from salesctl.model.kinds import KINDS, Kind
from salesctl.model.problems import Problem
from salesctl.model.rules import coerce_custom, record_problems
from salesctl.model.values import check_phone, to_json
from salesctl.ops.participants import with_participants
from salesctl.ops.stages import move_stage
from salesctl.store.layout import POOL, Owner, RecordPath, child_file, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store, Transaction
from salesctl.store.validation import InvalidRecord


class RecordList(list[dict[str, Any]]):
    """Records as JSON dicts, plus the broken files that were skipped and the records shown
    despite problems (for a warning each)."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[str] = []
        self.flagged: list[str] = []  # "L-...: field: message; ..." of records with problems
        self.uncommitted: list[str] = []  # work tree edits figures as committed left out


class ShownRecord(dict[str, Any]):
    """One record as a JSON dict (``show``), plus its problems and its broken children for a
    warning each: the JSON keys stay the record's."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.skipped: list[str] = []
        self.flagged: list[str] = []


def problem_text(message: str, field: str | None) -> str:
    """``field: message``: a problem as a list's ``problems`` and the warnings carry it."""
    return f"{field}: {message}" if field else message


def flag(record_id: str, problems: Sequence[str]) -> str:
    """How a warning names a record shown despite its problems."""
    return f"{record_id} has problems: {'; '.join(problems)}"


def home_of(config: Config, member_id: str) -> Owner:
    """The directory owner a member's records live under."""
    member = config.require_member(member_id)
    return Owner(member=member.id, team=member.team)


def readable(store: Store, viewer: Member) -> scopes.Grants:
    """What ``viewer`` may read in ``store``: the directories of their scope and the records
    shared with them (participants, mentions, tasks; ``scopes.shares_of``). Lists filter the
    index with its ``.sql()``, one record asks ``.allows``: the same grants."""
    config = store.config
    if config.role_of(viewer).scope == "all":
        return scopes.read_scope(config, viewer)
    return scopes.read_scope(config, viewer, store.index.shares_of(viewer.id))


def require_readable(store: Store, viewer: Member, loc: RecordPath) -> None:
    config = store.config
    if not readable(store, viewer).allows(loc.owner, loc.path):
        raise Forbidden(
            f"{viewer.id} may not read {loc.id}: it belongs to {loc.owner}",
            f"{viewer.id} sees {scopes.writable_scope_description(config, viewer)}",
        )


def validate(config: Config, kind: Kind, data: dict[str, Any], where: str) -> dict[str, Any]:
    """Canonical data, or ``Invalid`` listing every problem (nothing is written)."""
    canonical, problems = kind.normalise(data, where)
    problems += record_problems(config, kind, canonical, where)
    raise_problems(problems)
    return canonical


def new_record(loc: RecordPath) -> str:
    """How an error names a record being created: no file of that path exists yet."""
    return f"new {loc.kind.name} {loc.id}"


def add_owned_record(
    store: Store,
    actor: Member,
    kind: Kind,
    data: dict[str, Any],
    *,
    to: str | None,
    pool: bool,
    sets: Iterable[str],
    label: str,
    opts: WriteOpts,
    allow_duplicate: bool = False,
    reason: str | None = None,
) -> WriteResult[dict[str, Any]]:
    """Create a lead or customer with ``data`` (and ``--set`` fields), owned by ``to``
    (default: the actor) or in the pool, in one commit: ``lead add``, ``customer add``.
    Refused if another lead or customer has its keys, unless ``allow_duplicate`` (with a
    ``reason``) by a member who may (``ops/sales/dupguard.py``)."""
    from salesctl.ops.sales.dupguard import override, refuse_duplicate

    config = store.config
    allowed = override(store, actor, kind.name, allow_duplicate, reason)
    if pool and to:
        raise Invalid("--to and --pool are exclusive", "choose an owner or the pool")
    if to:
        config.require_member(to, active=True)
    owner = POOL if pool else home_of(config, to or actor.id)
    data = apply_sets(config, kind, {k: v for k, v in data.items() if v not in (None, [])}, sets)
    refuse_closing_stage(kind, data)
    record_id = new_id(kind.prefix)
    loc = RecordPath(record_file(owner, kind, record_id), kind, record_id, owner)
    data = with_participants(config, validate(config, kind, data, new_record(loc)), owner)
    action = f"{kind.name}.add"
    scopes.check_write(config, actor, action, owner, record=record_id)
    with store.transaction(actor, action, opts) as tx:
        checked = refuse_duplicate(store, kind.name, data, allowed=allowed)  # under the lock
        if checked is not data:
            data = validate(config, kind, checked, new_record(loc))
        tx.write(loc, data)
        tx.summary = f"{action}: {record_id} ({label}) for {owner}"
    return tx.result(record_json(Record(loc, data)))


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InvalidRecord(problems)


def refuse_closing_stage(
    kind: Kind, data: dict[str, Any], before: Any = None, where: str = ""
) -> None:
    """A lead put in a stage by hand (``add``, ``edit``) that only its own verb sets is
    refused by the rule of ``leads.closing_stage``; a stage it already had (``before``) stays."""
    if kind.name != "lead" or data.get("stage") == before:
        return
    from salesctl.ops.sales.leads import closing_stage

    refused = closing_stage(data.get("stage"), data.get("reason"))
    if refused is not None:
        raise Invalid(f"{where}{refused[0]}", refused[1])


def parse_assignments(pairs: Iterable[str], option: str = "--set") -> list[tuple[str, str]]:
    """``FIELD=VALUE`` pairs of ``--set`` (or ``--where``: ``option``) as (field, value)."""
    example = "stage=contacted" if option == "--set" else "source=expo"
    result = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise Invalid(f"{option} {pair!r} is not FIELD=VALUE", f"e.g. {option} {example}")
        result.append((name.strip(), value))
    return result


def _custom_field(kind: Kind, specs: Mapping[str, CustomField], name: str) -> CustomField | None:
    """The custom field ``name`` means: ``custom.region``, or a bare ``region`` that is not
    one of the kind's own fields; None for a name of its own fields (or no field at all)."""
    bare = name.removeprefix("custom.")
    if not name.startswith("custom.") and (name in kind.by_name or bare not in specs):
        return None
    spec = specs.get(bare)
    if spec is None:
        known = ", ".join(specs) or "none configured"
        raise Invalid(
            f"{kind.name} has no custom field {bare!r} (custom fields: {known})",
            "add it under custom_fields: in salesctl.yaml",
        )
    return spec


def apply_sets(
    config: Config, kind: Kind, data: dict[str, Any], pairs: Iterable[str]
) -> dict[str, Any]:
    """``data`` with ``--set FIELD=VALUE`` applied (empty VALUE clears the field)."""
    result = dict(data)
    custom_specs = {f.name: f for f in config.custom_fields.get(kind.name, ())}
    for name, raw in parse_assignments(pairs):
        spec = _custom_field(kind, custom_specs, name)
        if spec is not None:
            custom = dict(result.get("custom") or {})
            if raw == "":
                custom.pop(spec.name, None)
            else:
                try:
                    custom[spec.name] = coerce_custom(spec, raw)
                except ValueError as exc:
                    raise Invalid(f"custom.{spec.name}: {exc}", "pass an allowed value") from None
            result["custom"] = custom
            continue
        spec_field = kind.by_name.get(name)
        if spec_field is None or not spec_field.settable:
            settable = ", ".join(f.name for f in kind.fields if f.settable)
            raise Invalid(
                f"{kind.name} field {name!r} cannot be set",
                f"settable fields: {settable}, or custom.NAME",
            )
        if raw == "":
            result.pop(name, None)
            continue
        try:
            result[name] = spec_field.coerce(input_value(config, name, raw))
        except ValueError as exc:
            raise Invalid(f"{name}: {exc}", "pass a valid value") from None
    return result


def input_value(config: Config, field: str, raw: Any) -> Any:
    """A value typed by a person or sent by a system, checked beyond what a stored record
    must be: a new phone number must be a valid number of the org's ``region``."""
    if field == "phone" and raw:
        return check_phone(str(raw), config.region)
    return raw


def input_phone(config: Config, phone: str | None) -> str | None:
    """``--phone`` as typed, if it is a valid number (``input_value``); else ``Invalid``."""
    try:
        return input_value(config, "phone", phone)  # type: ignore[no-any-return]
    except ValueError as exc:
        raise Invalid(
            f"--phone: {exc}", "e.g. --phone '138 0013 8000' or '+1 415 555 0134'"
        ) from None


@dataclass(frozen=True)
class OwnedBy:
    """Whose records a list asks for (``--owner``, ``--team``, ``--pool``); unset, every
    record the viewer may read."""

    owner: str | None = None
    team: str | None = None
    pool: bool = False


ANYONE = OwnedBy()


def owner_filter(
    store: Store, viewer: Member, owned: OwnedBy = ANYONE, *, shared: bool = True
) -> tuple[list[str], list[Any], list[str]]:
    """SQL conditions (and their parameters) for the records ``viewer`` may read, of the
    owner, team or pool asked for, and the directories they can sit in (so the index looks
    only there). ``shared``: with the records shared with the viewer (lists do; figures
    count the directories only)."""
    config = store.config
    owner, team = owned.owner, owned.team
    grants = readable(store, viewer) if shared else scopes.read_scope(config, viewer)
    sql, args = grants.sql()
    conditions = [sql] if sql else []
    within = scopes.visible_dirs(config, viewer, grants.shares)
    if owner:
        config.require_member(owner)
        conditions.append("owner = ?")
        args.append(owner)
        within = scopes.owner_dirs(config, [owner])
    if team:
        config.require_team(team)
        conditions.append("team = ?")
        args.append(team)
        within = within if owner else [Owner(team=team).dir]
    if owned.pool:
        conditions.append("pool = 1")
        within = [POOL.dir]
    return conditions, args, within


def list_records(
    store: Store,
    viewer: Member,
    kind: str,
    owned: OwnedBy = ANYONE,
    where: Iterable[tuple[str, str]] = (),
) -> RecordList:
    """Records of ``kind`` the viewer may read, as JSON dicts, filtered."""
    config = store.config
    conditions, args, within = owner_filter(store, viewer, owned)
    plain, custom = split_where(config, KINDS[kind], where)
    for name, value in plain:
        path = f'$."{name}"'
        # Equal (as text, or as a number when it is one), or for list fields such as tags,
        # containing the value.
        conditions.append(
            "(json_extract(data, ?) = ? OR (json_type(data, ?) IN ('integer', 'real') "
            "AND json_extract(data, ?) = CAST(? AS REAL)) OR EXISTS "
            "(SELECT 1 FROM json_each(data, ?) WHERE json_each.value = ?))"
        )
        args += [path, value, path, path, value if _is_number(value) else None, path, value]
    rows = store.index.query(kind, " AND ".join(conditions), args, within=within)
    result = RecordList()
    for path, data, problems in rows:
        loc = _parse(path)
        if data is None:
            # A broken file: reading commands skip it with a warning; `check` details it.
            message = problems[0][1] if problems else "unreadable"
            result.skipped.append(f"{path}: {message}")
            continue
        if custom and not matches_custom(data, custom):
            continue
        record = json_record(loc, data)
        if problems:
            record["problems"] = [problem_text(m, f) for _w, m, f in problems]
            result.flagged.append(flag(loc.id, record["problems"]))
        result.append(record)
    return result


def split_where(
    config: Config, kind: Kind, where: Iterable[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[CustomField, Any]]]:
    """``--where`` pairs as (plain field filters, typed custom field filters).

    A bare name that is a custom field (``region=North``) means ``custom.region``. Custom
    values are checked against the field's type, so a wrong choice lists the allowed ones.
    """
    specs = {f.name: f for f in config.custom_fields.get(kind.name, ())}
    plain: list[tuple[str, str]] = []
    custom: list[tuple[CustomField, Any]] = []
    for name, value in where:
        spec = _custom_field(kind, specs, name)
        if spec is not None:
            try:
                wanted = coerce_custom(spec, value) if value != "" else None
            except ValueError as exc:
                raise Invalid(f"--where {name}: {exc}", "filter on an allowed value") from None
            custom.append((spec, wanted))
        elif name in kind.by_name:
            plain.append((name, value))
        else:
            known = ", ".join([*kind.by_name, *specs])
            raise Invalid(f"--where {name}: {kind.name}s have no such field (fields: {known})")
    return plain, custom


def matches_custom(row: dict[str, Any], filters: Sequence[tuple[CustomField, Any]]) -> bool:
    custom = row.get("custom") or {}
    for spec, wanted in filters:
        value = custom.get(spec.name)
        if wanted is None:  # --where region=  : the field is not set
            if value not in (None, "", []):
                return False
            continue
        if value is None:
            return False
        try:
            actual = coerce_custom(spec, value)
        except ValueError:
            return False  # a hand-broken value matches nothing; `check` reports it
        if spec.type == "multi-choice":
            if not set(wanted) <= set(actual):
                return False
        elif spec.type == "number":
            if Decimal(str(actual)) != Decimal(str(wanted)):
                return False
        elif actual != wanted:
            return False
    return True


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def show_record(store: Store, viewer: Member, text: str, kinds: tuple[str, ...]) -> ShownRecord:
    """One record with its children; problems the file has are named for a warning (the
    fields that failed are not shown), as are the broken child files left out."""
    loc = store.resolve(text, kinds)
    require_readable(store, viewer, loc)
    record = store.read(loc)
    if record.problems and not record.data:
        raise Invalid(str(record.problems[0]), "fix the file by hand, then `salesctl check`")
    result = ShownRecord(record.to_json())
    if record.problems:
        texts = [problem_text(p.message, p.field) for p in record.problems]
        result.flagged.append(flag(loc.id, texts))
    for child in loc.kind.children:
        rows = store.index.children(loc.id, child)
        result[KINDS[child].plural] = [json_record(_parse(p), d) for p, d in rows if d is not None]
        result.skipped += [f"{p}: unreadable" for p, d in rows if d is None]
    return result


def edit_record(
    store: Store,
    actor: Member,
    kind: Kind,
    text: str,
    *,
    sets: Iterable[str] = (),
    document: dict[str, Any] | None = None,
    allow_duplicate: bool = False,
    reason: str | None = None,
    refuse: Callable[[Record, dict[str, Any]], None] | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Change a record's fields by ``--set`` pairs or by a whole edited YAML ``document``;
    a new ``stage`` is dated in ``stages``. No change, no commit. A lead or customer that
    takes another one's company, phone or email is refused as ``add`` refuses it (unless
    ``allow_duplicate`` with a ``reason``: ``ops/sales/dupguard.py``); ``refuse`` is a kind's
    own rule between records (a competitor's unique names), given the record and its edited
    data under the lock."""
    from salesctl.ops.sales.dupguard import override, refuse_duplicate_edit

    config = store.config
    action = f"{kind.name}.edit"
    allowed = override(store, actor, kind.name, allow_duplicate, reason)
    with store.transaction(actor, action, opts) as tx:
        record = load_for_write(store, text, (kind.name,))
        scopes.check_write(config, actor, action, record.owner, record=record.id)
        if document is not None:
            data = dict(document)
        else:
            data = apply_sets(config, kind, record.data, sets)
        refuse_closing_stage(kind, data, record.data.get("stage"), f"{record.id}: ")
        if "stages" in kind.by_name and data.get("stage") != record.data.get("stage"):
            stage, data["stages"] = data.get("stage"), dict(record.data.get("stages") or {})
            if stage:  # moved from the record's stage, what that drops kept (move_stage)
                data["stage"] = record.data.get("stage")
                move_stage(config, kind, data, str(stage))
        data = validate(config, kind, data, record.path)
        data = with_participants(config, data, record.owner, record.data.get("participants") or ())
        checked = refuse_duplicate_edit(store, record, data, allowed=allowed)  # under the lock
        if checked is not data:
            data = validate(config, kind, checked, record.path)
        if refuse is not None:
            refuse(record, data)
        edited = write_edit(tx, action, record, data)
    return tx.result(edited)


def write_edit(
    tx: Transaction, action: str, record: Record, data: dict[str, Any]
) -> dict[str, Any]:
    """Write ``data`` over ``record`` only if a field changed, summarised by the fields that
    did (no change, no commit); returns the record as edited, as JSON."""
    changed = sorted(k for k in {*data, *record.data} if data.get(k) != record.data.get(k))
    if changed:
        tx.write(record.loc, data)
        tx.summary = f"{action}: {record.id} ({', '.join(changed)})"
    return record_json(Record(record.loc, data))


def load_for_write(store: Store, text: str, kinds: tuple[str, ...]) -> Record:
    loc = store.resolve(text, kinds)
    record = store.read(loc)
    if record.problems:
        raise Invalid(str(record.problems[0]), "fix the file by hand, then `salesctl check`")
    return record


def child_loc(record: Record, kind: Kind, child_id: str) -> RecordPath:
    """Where a new follow-up, visit, payment, invoice or task of ``record`` goes."""
    path = child_file(record.loc.record_dir, kind, child_id)
    return RecordPath(path, kind, child_id, record.owner, parent=record.id)


def record_json(record: Record) -> dict[str, Any]:
    return json_record(record.loc, to_json(record.data))


def _parse(path: str) -> RecordPath:
    from salesctl.store.layout import parse_path

    loc = parse_path(path)
    assert loc is not None  # the index only holds paths parse_path accepted
    return loc
