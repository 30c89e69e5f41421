"""Every record kind the product has: its id prefix, directory, fields and validation.

A kind's field list fixes the key order of its YAML files (deterministic output, minimal
diffs). ``normalise`` checks a record's data and returns it in canonical form together with
the problems found; it never raises on bad data, so ``check`` can report everything at once.
Stage names are checked against the org config by the caller (they are configurable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesctl.model import values
from salesctl.model.problems import Problem

SCHEMA_VERSION = 1

Coerce = Callable[[Any], Any]
# The coercions of text as written (``Field.holds_text``; a list of it: ``coerce_list``).
TEXT: frozenset[Coerce] = frozenset(
    (values.coerce_text, values.coerce_line, values.coerce_email, values.coerce_phone)
)


@dataclass(frozen=True)
class Field:
    name: str
    coerce: Coerce
    required: bool = False
    settable: bool = True  # may `edit --set` change it?
    columns: tuple[Field, ...] = ()  # for lists of rows (contacts, plan, key results)
    default: Callable[[], Any] | None = None
    # Text as written (or a list of it), where a YAML number or true/false is a problem
    # rather than text to convert: an unquoted phone 13800000000 lost its leading + or 0.
    holds_text: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.coerce in TEXT or self.coerce is values.coerce_list
        object.__setattr__(self, "holds_text", text)


def _rows(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("expected a list of mappings")
    return value


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of name: value")
    return {str(k): v for k, v in value.items()}


def _stage_dates(value: Any) -> dict[str, Any]:
    """``{stage: date entered}``, one line per stage, so reports can count movements."""
    return {k: values.coerce_date(v) for k, v in _mapping(value).items()}


def _choice(*choices: str) -> Coerce:
    def coerce(value: Any) -> str:
        text = values.coerce_line(value)
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return coerce


@dataclass(frozen=True)
class Kind:
    name: str  # singular, as in trailers and JSON: "lead"
    prefix: str  # id prefix: "L"
    fields: tuple[Field, ...]
    children: tuple[str, ...] = ()  # kinds stored inside this record's directory
    movable: bool = True  # does it change owner (assign/claim/release)?
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    dir_name: str | None = None  # a directory other than the plural (the toolkit's)
    main_file: str | None = None  # a file name other than <kind>.yaml (the toolkit's item.yaml)
    # Fields of which at least one must hold a value (a lead: its company or its name).
    one_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def plural(self) -> str:
        """The directory name and the word in messages: "leads"."""
        return self.dir_name or f"{self.name}s"

    @property
    def file_name(self) -> str:
        return self.main_file or f"{self.name}.yaml"

    def normalise(self, data: Any, where: str) -> tuple[dict[str, Any], list[Problem]]:
        """Canonical data (fields in order, values coerced) and the problems found."""
        problems: list[Problem] = []
        if not isinstance(data, dict):
            return {}, [Problem(where, f"expected a mapping of {self.name} fields")]
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            problems.append(
                Problem(
                    where,
                    f"schema_version is {version!r}; this salesctl reads {SCHEMA_VERSION}"
                    if version is not None
                    else f"schema_version is missing (add 'schema_version: {SCHEMA_VERSION}')",
                    "schema_version",
                )
            )
        result = {
            "schema_version": SCHEMA_VERSION,
            **_coerce_fields(self.fields, data, where, problems),
        }
        if (
            self.one_of
            and result.keys().isdisjoint(self.one_of)
            and not _wrong(self.one_of, problems)
        ):
            given = " or a ".join(self.one_of)
            problems.append(Problem(where, f"a {self.name} needs a {given}", self.one_of[0]))
        for key in data:
            if key != "schema_version" and key not in self.by_name:
                problems.append(
                    Problem(where, f"unknown field (known: {', '.join(self.by_name)})", str(key))
                )
        return result, problems


def _wrong(names: tuple[str, ...], problems: list[Problem]) -> bool:
    """A problem of one of the fields already (a value there, but a wrong one)."""
    return any(p.field in names for p in problems)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _coerce_fields(
    specs: tuple[Field, ...],
    data: dict[str, Any],
    where: str,
    problems: list[Problem],
    prefix: str = "",  # where a row's fields stand in the record: "contacts[2]."
) -> dict[str, Any]:
    """The fields of a record, or of one row of a list of rows, in order and coerced."""
    result: dict[str, Any] = {}
    for spec in specs:
        raw = data.get(spec.name)
        name = prefix + spec.name
        if raw.__class__ is not str and raw is not None and spec.holds_text:
            unquoted = _unquoted(spec.name, raw)
            if unquoted:
                problems.append(Problem(where, unquoted, name))
                continue
        try:
            value = None if _empty(raw) else spec.coerce(raw)
            if spec.columns and value:
                value = [
                    _normalise_row(spec, i, row, where, problems) for i, row in enumerate(value, 1)
                ]
        except ValueError as exc:
            problems.append(Problem(where, str(exc), name))
            continue
        # Blank text (" ") coerces to "": as missing as no value at all, so canonical
        # data never holds what ``check`` calls missing when it reads the file back.
        if _empty(value):
            if spec.required:
                problems.append(Problem(where, "is required", name))
            if spec.default is not None:
                result[spec.name] = spec.default()
            continue
        result[spec.name] = value
    return result


def _unquoted(key: str, raw: Any) -> str | None:
    """A text field (or a list of text's item) that YAML read as a number or true/false."""
    if raw.__class__ is not list:
        return values.unquoted_text(raw, key)
    return next(filter(None, map(values.unquoted_text, raw)), None)


def _normalise_row(
    spec: Field, index: int, row: dict[str, Any], where: str, problems: list[Problem]
) -> dict[str, Any]:
    prefix = f"{spec.name}[{index}]."
    result = _coerce_fields(spec.columns, row, where, problems, prefix)
    columns = {c.name for c in spec.columns}
    for key in row:
        if key not in columns:
            problems.append(Problem(where, "unknown field", prefix + str(key)))
    return result


F = Field
text, line, email, phone = (
    values.coerce_text,
    values.coerce_line,
    values.coerce_email,
    values.coerce_phone,
)
amount, date, datetime_, tags = (
    values.coerce_amount,
    values.coerce_date,
    values.coerce_datetime,
    values.coerce_list,
)

CONTACT_COLUMNS = (F("name", line, True), F("title", line), F("phone", phone), F("email", email))
VIA = ("call", "email", "wechat", "meeting", "visit", "other")
# What a lead or customer keeps about who has it: written by add, assign, claim and release.
OWNERSHIP = (
    F("participants", tags),
    F("created", date, True, settable=False),
    F("assigned", date, settable=False),  # when the current owner got it (assign/claim)
    F("released", date, settable=False),  # when it last went back to the pool
    F("release_reason", text, settable=False),
)
NOTES = (F("notes", text), F("custom", _mapping))
# Why a lead or customer was added although another had its keys (--allow-duplicate), and
# the records merged into it (``merge``: their history is part of its own).
DUPLICATES = (F("duplicate_reason", text, settable=False), F("merged", tags, settable=False))
# Who wrote a follow-up or visit, about which lead or customer, and when.
TOUCH = (
    F("record", line, True, settable=False),
    F("author", line, True, settable=False),
    F("at", datetime_, True),
)


def _money(label: Field) -> tuple[Field, ...]:
    """A payment's or invoice's fields: what was paid or invoiced, when, and by whom."""
    return (
        F("contract", line, True, settable=False),
        F("date", date, True),
        F("amount", amount, True),
        label,
        F("author", line, True, settable=False),
    )


# The stage entries a move back or a reopening took off a lead's or deal's path (``stages``),
# oldest first, a disqualification or a loss with its reason (a loss with its competitor
# too): what the record was on a past day stays known (``ops.stages.move_stage``).
LEAD_EARLIER = (F("stage", line, True), F("date", date, True), F("reason", text))
DEAL_EARLIER = (*LEAD_EARLIER, F("lost_to", line))
LEAD = Kind(
    "lead",
    "L",
    (
        F("company", line),
        F("name", line),
        F("email", email),
        F("phone", phone),
        F("source", line),
        F("stage", line, True),
        F("stages", _stage_dates, settable=False),
        F("earlier_stages", _rows, columns=LEAD_EARLIER, settable=False),
        F("tags", tags),
        *OWNERSHIP,
        F("customer", line, settable=False),  # set by conversion
        F("reason", text),  # why it was disqualified
        *DUPLICATES,
        *NOTES,
    ),
    children=("followup", "visit"),
    one_of=("company", "name"),
)
CUSTOMER = Kind(
    "customer",
    "C",
    (
        F("name", line, True),
        F("industry", line),
        F("source", line),
        F("tags", tags),
        F("contacts", _rows, columns=CONTACT_COLUMNS, settable=False),
        *OWNERSHIP,
        F("lead", line, settable=False),  # the lead it was converted from
        *DUPLICATES,
        *NOTES,
    ),
    children=("followup", "visit", "feedback"),
)
FOLLOWUP = Kind(
    "followup",
    "F",
    (
        *TOUCH,
        F("via", _choice(*VIA)),
        F("text", text, True),
        F("mentions", tags),
        F("record_owner", line, settable=False),  # whose the record was: mentions last while it is
        F("attachments", tags),
        F("next", date),
    ),
    movable=False,
)
VISIT = Kind(
    "visit",
    "V",
    (
        *TOUCH,
        F("duration", line),
        F("place", line),
        F("attendees", tags),
        F("status", _choice("planned", "done", "cancelled"), True),
        F("note", text),
        F("text", text),
    ),
    movable=False,
)
# A deal's customer, stage and loss have flags and verbs that check them (the customer's
# owner, a stage dated in ``stages``, a lost deal's reason, known competitors): no ``--set``.
DEAL = Kind(
    "deal",
    "D",
    (
        F("customer", line, True, settable=False),
        F("title", line, True),
        F("amount", amount, True),
        F("stage", line, True, settable=False),
        F("stages", _stage_dates, settable=False),
        F("earlier_stages", _rows, columns=DEAL_EARLIER, settable=False),
        F("close", date),
        F("competitors", tags, settable=False),
        F("lost_to", line, settable=False),
        F("reason", text, settable=False),
        F("participants", tags),  # colleagues who support the owner (they read the deal)
        F("created", date, True, settable=False),
        F("custom", _mapping),
    ),
)
PLAN_COLUMNS = (F("due", date, True), F("amount", amount, True))
DEFAULT_TERMS_DAYS = 30  # without a plan, a signed contract is due this many days later
CONTRACT = Kind(
    "contract",
    "K",
    (
        F("customer", line, True),
        F("deal", line),
        F("title", line, True),
        F("amount", amount, True),
        F("signed", date),
        F("starts", date),
        F("ends", date),
        F("status", _choice("draft", "signed", "active", "closed", "cancelled"), True),
        F("reason", text),
        F("cancelled", date, settable=False),  # when: a past period still counts it
        F("plan", _rows, columns=PLAN_COLUMNS),
        F("created", date, True, settable=False),
        F("custom", _mapping),
    ),
    children=("payment", "invoice", "task"),
)
PAYMENT = Kind("payment", "P", _money(F("ref", line)), movable=False)
INVOICE = Kind("invoice", "I", _money(F("number", line, True)), movable=False)
TASK = Kind(
    "task",
    "T",
    (
        F("title", line, True),
        F("assignee", line, True),
        F("status", _choice("todo", "doing", "done"), True),
        F("due", date),
        F("parent", line),
        F("record", line),
        F("role", line, settable=False),
        # A won-deal step the money completes: "paid" (fully paid), "invoiced" (fully invoiced).
        F("done_when", _choice("paid", "invoiced"), settable=False),
        F("created", date, True, settable=False),
    ),
)
KR_COLUMNS = (
    F("id", line, True),
    F("title", line, True),
    F("target", values.coerce_number, True),
    F("metric", line),
    F("value", values.coerce_number),  # the latest check-in (metric-linked KRs compute theirs)
    F("checked", date),  # when it was checked in
    F("checkins", tags),  # every check-in, "YYYY-MM-DD=VALUE": a past report's value
    F("note", text),
)
OKR = Kind(
    "okr",
    "O",
    (
        F("period", line, True),
        F("owner", line, True),
        F("objective", line, True),
        F("key_results", _rows, columns=KR_COLUMNS, settable=False),
        F("created", date, True, settable=False),
    ),
    movable=False,
)

# Competitor intelligence (競品分析): org-wide records under competitors/, read by every
# member; notes are separate files (like follow-ups) so everyone's intel merges.
COMPETITOR = Kind(
    "competitor",
    "CP",
    (
        F("name", line, True),
        F("aliases", tags),
        F("website", line),
        F("strengths", text),
        F("weaknesses", text),
        F("pricing", text),
        F("created", date, True, settable=False),
        F("custom", _mapping),
    ),
    children=("note",),
    movable=False,
)
NOTE = Kind(
    "note",
    "N",
    (
        F("competitor", line, True, settable=False),
        F("author", line, True, settable=False),
        F("at", datetime_, True),
        F("text", text, True),
        F("deal", line),
    ),
    movable=False,
)


def _file_name(value: Any) -> str:
    """The name of a file beside its item.yaml: never a path (a hand-edited ``../x``)."""
    name = values.coerce_line(value)
    if "/" in name or "\\" in name or name.startswith(".") or name == "item.yaml":
        raise ValueError(f"{name!r} is not a file name (no path separators, no leading dot)")
    return name


# The shared sales toolkit (銷售工具包共享): org-wide items under toolkit/<ID>/, each an
# item.yaml describing the file stored beside it (through Git LFS once the store has it).
TOOLKIT = Kind(
    "toolkit",
    "TK",
    (
        F("title", line, True),
        F("tags", tags),
        F("file", _file_name, True, settable=False),
        F("size", values.coerce_number, True, settable=False),
        F("sha256", line, True, settable=False),
        F("author", line, True, settable=False),
        F("added", datetime_, True, settable=False),
    ),
    movable=False,
    dir_name="toolkit",
    main_file="item.yaml",
)

# Customer feedback (用户反馈): a child of the customer it is matched to (the owner's scope and
# sharing cover it), or company-level under feedback/ (triage) until someone assigns it.
FEEDBACK_STATUSES = ("open", "acknowledged", "closed")
MATCH_RULES = ("contact-email", "domain", "phone")
FEEDBACK = Kind(
    "feedback",
    "FB",
    (
        F("source", line, True, settable=False),
        # its author, by name or handle on the source (a GitHub login); not ``author``,
        # which names a member on every other kind
        F("sender", line),
        F("email", email),
        F("phone", phone),
        F("text", text, True),
        F("link", line),
        F("received", datetime_, True, settable=False),
        F("status", _choice(*FEEDBACK_STATUSES), True),
        F("closed", datetime_, settable=False),  # when: the weekly report counts closings
        F("customer", line, settable=False),
        F("matched_by", _choice(*MATCH_RULES, "hand"), settable=False),
        F("assignee", line),
        F("delivery", line, settable=False),  # the source's delivery id (webhooks, idempotent)
    ),
    movable=False,
    dir_name="feedback",
)

_ALL = (LEAD, CUSTOMER, FOLLOWUP, VISIT, DEAL, CONTRACT, PAYMENT, INVOICE, TASK, OKR)
KINDS: dict[str, Kind] = {k.name: k for k in (*_ALL, COMPETITOR, NOTE, TOOLKIT, FEEDBACK)}
BY_PREFIX: dict[str, Kind] = {k.prefix: k for k in KINDS.values()}
BY_PLURAL: dict[str, Kind] = {k.plural: k for k in KINDS.values()}
# Kinds that own a directory.
TOP_LEVEL = (
    *("lead", "customer", "deal", "contract", "task", "okr"),
    *("competitor", "toolkit", "feedback"),
)
# Kinds inside a record's directory.
CHILD_KINDS = ("followup", "visit", "payment", "invoice", "task", "note", "feedback")


def kind_of_id(record_id: str) -> Kind | None:
    return BY_PREFIX.get(record_id.split("-", 1)[0])
