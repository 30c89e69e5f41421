"""The org config, ``salesctl.yaml``: members, teams, roles, stages, fields and rules.

``parse_config`` turns the loaded YAML into a ``Config`` plus the problems found, each naming
the key and the fix. Everything but ``org``, ``teams`` and ``members`` is optional with the
defaults below. Its sections are parsed beside it: ``roles`` (the built-in roles too),
``members`` (teams and members), ``report_settings`` (``reports:``), ``integrations``
(``notify:``, ``routing:``); ``config_lines`` finds the line of each problem's key. The names
other modules use are importable from here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from salesctl.errors import InactiveMember, Invalid, UnknownMember, UnknownTeam
from salesctl.model.config_lines import with_lines
from salesctl.model.encryption import parse_encryption
from salesctl.model.integrations import parse_hooks, parse_routing
from salesctl.model.kinds import KINDS
from salesctl.model.members import (
    Bad,
    Member,
    Team,
    config_list,
    parse_members,
    parse_teams,
)
from salesctl.model.problems import Problem
from salesctl.model.report_settings import report_settings_problems
from salesctl.model.roles import BUILTIN_ROLES, Role, parse_roles

__all__ = [
    "DEFAULT_DEAL_STAGES",
    "DEFAULT_LEAD_STAGES",
    "Config",
    "CustomField",
    "DealStage",
    "Member",
    "Role",
    "Team",
    "parse_config",
    "with_lines",
]

DEFAULT_LEAD_STAGES = ("new", "contacted", "qualified", "converted", "disqualified")
DEFAULT_DEAL_STAGES = (
    ("qualify", 10),
    ("proposal", 40),
    ("negotiate", 70),
    ("won", 100),
    ("lost", 0),
)
FIELD_TYPES = ("text", "number", "date", "choice", "multi-choice")


@dataclass(frozen=True)
class CustomField:
    name: str
    type: str
    choices: tuple[str, ...] = ()
    required: bool = False
    label: str | None = None  # its display name (``name`` is the key in the records)


@dataclass(frozen=True)
class DealStage:
    id: str
    probability: int
    name: str | None = None  # its display name in reports (default: the id)


@dataclass(frozen=True)
class Config:
    org: str
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    lang: str = "en"
    region: str = "CN"  # where a phone number without a country code is (ISO 3166 alpha-2)
    teams: dict[str, Team] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=lambda: dict(BUILTIN_ROLES))
    lead_stages: tuple[str, ...] = DEFAULT_LEAD_STAGES
    lead_stage_names: dict[str, str] = field(default_factory=dict)  # display names by id
    deal_stages: tuple[DealStage, ...] = tuple(DealStage(*s) for s in DEFAULT_DEAL_STAGES)
    custom_fields: dict[str, tuple[CustomField, ...]] = field(default_factory=dict)
    reclaim_after_days: int = 30
    max_owned_leads: int = 200
    extra: dict[str, Any] = field(default_factory=dict)  # sections later features read
    encryption: str | None = None  # "age": record files outside the pool are encrypted
    recovery: str | None = None  # the org's recovery recipient, added to every sealed file

    @property
    def encrypted(self) -> bool:
        return self.encryption == "age"

    @property
    def won_stage(self) -> str | None:
        """The deal stage that means won: ``won`` if configured, else the first 100 % one."""
        ids = [s.id for s in self.deal_stages]
        if "won" in ids:
            return "won"
        return next((s.id for s in self.deal_stages if s.probability == 100), None)

    @property
    def lost_stage(self) -> str | None:
        """The deal stage that means lost: ``lost`` if configured, else the first 0 % stage
        after a 100 % one (a 0 % stage at the start of the funnel is a prospect)."""
        if any(s.id == "lost" for s in self.deal_stages):
            return "lost"
        seen_won = False
        for stage in self.deal_stages:
            if stage.probability == 100:
                seen_won = True
            elif seen_won and stage.probability == 0:
                return stage.id
        return None

    def stage_name(self, kind: str, stage_id: str) -> str:
        """A lead (``kind`` "lead") or deal stage's display name: its ``name:``, else its id."""
        if kind == "lead":
            return self.lead_stage_names.get(stage_id, stage_id)
        return next((s.name for s in self.deal_stages if s.id == stage_id and s.name), stage_id)

    def team_name(self, team_id: str | None) -> str | None:
        team = self.teams.get(team_id or "")
        return team.name if team else team_id

    def member(self, member_id: str) -> Member | None:
        return self.members.get(member_id)

    def require_member(self, member_id: str, *, active: bool = False) -> Member:
        """The member ``member_id`` names; an unknown (or, with ``active``, an inactive)
        one is refused naming the valid ids, as a command-line value must be."""
        member = self.members.get(member_id)
        if member is None:
            raise UnknownMember(member_id, _some(sorted(self.members)))
        if active and not member.active:
            live = sorted(m.id for m in self.members.values() if m.active)
            raise InactiveMember(member_id, _some(live))
        return member

    def require_team(self, team_id: str) -> str:
        if team_id not in self.teams:
            raise UnknownTeam(team_id, _some(sorted(self.teams)))
        return team_id

    def require_lead_stage(self, stage: str) -> str:
        if stage not in self.lead_stages:
            raise Invalid(
                f"{stage!r} is not a lead stage", f"use one of {', '.join(self.lead_stages)}"
            )
        return stage

    def role_of(self, member: Member) -> Role:
        return self.roles[member.role]

    def team_members(self, team_id: str) -> list[Member]:
        return [m for m in self.members.values() if m.team == team_id]

    def member_by_email(self, email: str) -> Member | None:
        wanted = email.strip().lower()
        for member in self.members.values():
            if member.email.lower() == wanted:
                return member
        return None


KNOWN_KEYS = {
    "org",
    "currency",
    "timezone",
    "lang",
    "region",
    "teams",
    "members",
    "roles",
    "lead_stages",
    "deal_stages",
    "custom_fields",
    "pool",
    "won_deal_tasks",
    "reports",
    "notify",
    "routing",
    "toolkit",
    "encryption",
    "recovery",
}


def parse_config(data: Any, where: str = "salesctl.yaml") -> tuple[Config, list[Problem]]:
    """Parse and validate a loaded ``salesctl.yaml``; never raises on bad content."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(where, message, key))

    if not isinstance(data, dict):
        return Config(org="?"), [Problem(where, "expected a mapping with org, teams, members")]
    for key in data:
        if key not in KNOWN_KEYS:
            bad(str(key), f"unknown setting (known: {', '.join(sorted(KNOWN_KEYS))})")
    org = data.get("org")
    if not isinstance(org, str) or not org.strip():
        bad("org", "is required: the organisation's name, e.g. 'org: Acme Trading'")
        org = "?"

    roles = parse_roles(data.get("roles"), bad)
    teams = parse_teams(data, bad)
    members = parse_members(data, teams, roles, bad)

    lead_stages, lead_stage_names = _lead_stages(data, bad)
    deal_stages = _deal_stages(data, bad)
    custom = _custom_fields(data, bad)
    reclaim_days, max_owned = _pool(data, bad)

    toolkit = data.get("toolkit") or {}
    limit = toolkit.get("max_size_mb", 10) if isinstance(toolkit, dict) else None
    if not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0:
        bad("toolkit", "expected {max_size_mb: 10} (a positive number of megabytes)")

    timezone = str(data.get("timezone") or "Asia/Shanghai")
    if not _known_zone(timezone):
        bad("timezone", f"{timezone!r} is not a time zone (e.g. Asia/Shanghai, Europe/Berlin)")
        timezone = "Asia/Shanghai"

    region = str(data.get("region") or "CN")
    if not re.fullmatch(r"[A-Z]{2}", region):
        bad("region", f"{region!r} is not a country code (ISO 3166, e.g. CN, US, DE)")
        region = "CN"

    encryption, recovery = parse_encryption(data, members, bad)
    for key_name, message in report_settings_problems(data.get("reports"), teams, roles):
        bad(key_name, message)
    for key_name, message in parse_hooks(data.get("notify"), members)[1]:
        bad(key_name, message)
    for key_name, message in parse_routing(data.get("routing"), members, teams)[1]:
        bad(key_name, message)

    config = Config(
        org=str(org),
        currency=str(data.get("currency") or "CNY"),
        timezone=timezone,
        lang=str(data.get("lang") or "en"),
        region=region,
        encryption=encryption,
        recovery=recovery,
        teams=teams,
        members=members,
        roles=roles,
        lead_stages=lead_stages,
        lead_stage_names=lead_stage_names,
        deal_stages=deal_stages,
        custom_fields=custom,
        reclaim_after_days=reclaim_days,
        max_owned_leads=max_owned,
        extra={
            k: v
            for k, v in data.items()
            if k in ("won_deal_tasks", "reports", "notify", "routing", "toolkit")
        },
    )
    return config, problems


def _lead_stages(data: dict[str, Any], bad: Bad) -> tuple[tuple[str, ...], dict[str, str]]:
    """The lead stages' ids in order, and the display names given."""
    if "lead_stages" not in data:
        return DEFAULT_LEAD_STAGES, {}
    raw_stages = data["lead_stages"]
    # a stage is its id, or {id: contacted, name: 已联系} to give it a display name
    named = [
        (s.get("id"), s.get("name")) if isinstance(s, dict) else (s, None)
        for s in (raw_stages if isinstance(raw_stages, list) else [])
    ]
    if named and all(isinstance(i, str) and (n is None or isinstance(n, str)) for i, n in named):
        return tuple(str(i) for i, _n in named), {str(i): str(n) for i, n in named if n}
    bad(
        "lead_stages",
        "expected a list of stage ids or {id, name}, e.g. [new, {id: contacted, name: 已联系}]",
    )
    return DEFAULT_LEAD_STAGES, {}


def _deal_stages(data: dict[str, Any], bad: Bad) -> tuple[DealStage, ...]:
    default = Config(org="").deal_stages
    if "deal_stages" not in data:
        return default
    parsed = []
    for i, raw in enumerate(config_list(data, "deal_stages", bad)):
        prob = raw.get("probability") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            bad(f"deal_stages[{i}]", "expected {id: proposal, probability: 40}")
        elif not isinstance(prob, int) or not 0 <= prob <= 100:
            bad(f"deal_stages[{i}].probability", "expected a whole number 0-100")
        elif raw.get("name") is not None and not isinstance(raw["name"], str):
            bad(f"deal_stages[{i}].name", "expected the stage's display name as text")
        else:
            parsed.append(DealStage(raw["id"], prob, raw.get("name") or None))
    return tuple(parsed) or default


def _custom_fields(data: dict[str, Any], bad: Bad) -> dict[str, tuple[CustomField, ...]]:
    custom: dict[str, tuple[CustomField, ...]] = {}
    raw_custom = data.get("custom_fields") or {}
    if not isinstance(raw_custom, dict):
        bad("custom_fields", "expected a mapping of kind: [{name, type}]")
        raw_custom = {}
    for kind, specs in raw_custom.items():
        if kind not in KINDS:
            bad(f"custom_fields.{kind}", f"unknown kind (use one of {', '.join(KINDS)})")
            continue
        fields = []
        for i, spec in enumerate(specs if isinstance(specs, list) else []):
            key = f"custom_fields.{kind}[{i}]"
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                bad(key, "expected {name: region, type: choice, choices: [...]}")
                continue
            ftype = spec.get("type", "text")
            if ftype not in FIELD_TYPES:
                bad(f"{key}.type", f"is {ftype!r}; use one of {', '.join(FIELD_TYPES)}")
                continue
            choices = spec.get("choices") or []
            if ftype in ("choice", "multi-choice") and not choices:
                bad(f"{key}.choices", f"a {ftype} field needs choices: [...]")
            fields.append(
                CustomField(
                    spec["name"],
                    ftype,
                    tuple(str(c) for c in choices),
                    bool(spec.get("required", False)),
                    str(spec["label"]) if spec.get("label") else None,
                )
            )
        custom[kind] = tuple(fields)
    return custom


def _pool(data: dict[str, Any], bad: Bad) -> tuple[int, int]:
    """(reclaim_after_days, max_owned_leads)."""
    pool = data.get("pool") or {}
    if not isinstance(pool, dict):
        bad("pool", "expected {reclaim_after_days: 30, max_owned_leads: 200}")
        pool = {}
    values = []
    for key_name, default in (("reclaim_after_days", 30), ("max_owned_leads", 200)):
        value = pool.get(key_name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            bad(f"pool.{key_name}", "expected a whole number of at least 1")
            value = default
        values.append(value)
    return values[0], values[1]


def _some(ids: list[str], most: int = 20) -> str:
    """Valid values for an error's hint: all of them, or the first ``most`` and a count."""
    shown = ", ".join(ids[:most])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > most else "")


ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
SYSTEM_ZONES = "/usr/share/zoneinfo"


def _known_zone(name: str) -> bool:
    """Is ``name`` a time zone ``zoneinfo`` opens? Every command reads the config, and
    importing zoneinfo costs 5 ms: a zone file in the system's database (TZif) is taken as
    known at once; anything else is asked of ``zoneinfo`` itself."""
    if ZONE_NAME.fullmatch(name):
        try:
            with open(os.path.join(SYSTEM_ZONES, name), "rb") as zone:
                if zone.read(4) == b"TZif":
                    return True
        except OSError:
            pass
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True
