"""The org config, ``salesctl.yaml``: members, teams, roles, stages, fields and rules.

``parse_config`` turns the loaded YAML into a ``Config`` plus the problems found, each naming
the key and the fix. Everything but ``org``, ``teams`` and ``members`` is optional with the
defaults below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from salesctl.errors import InactiveMember, Invalid, UnknownMember, UnknownTeam
from salesctl.model.encryption import parse_encryption
from salesctl.model.integrations import parse_hooks, parse_routing
from salesctl.model.kinds import BY_PLURAL, KINDS
from salesctl.model.problems import Problem

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
RESERVED_NAMES = {"pool", "teams", "members", "templates", "reports", *BY_PLURAL}
SCOPES = ("own", "team", "all")

DEFAULT_LEAD_STAGES = ("new", "contacted", "qualified", "converted", "disqualified")
DEFAULT_DEAL_STAGES = (
    ("qualify", 10),
    ("proposal", 40),
    ("negotiate", 70),
    ("won", 100),
    ("lost", 0),
)
FIELD_TYPES = ("text", "number", "date", "choice", "multi-choice")

_SALES_WORK = (
    "feedback.add",
    "feedback.assign",
    "feedback.ack",
    "feedback.close",
    "lead.add",
    "lead.edit",
    "lead.import",
    "lead.claim",
    "lead.release",
    "lead.convert",
    "lead.disqualify",
    "customer.add",
    "customer.edit",
    "customer.claim",
    "customer.release",
    "customer.tag",
    "contact.*",
    "followup.*",
    "visit.*",
    "deal.*",
    "contract.add",
    "contract.edit",
    "contract.sign",
    "contract.activate",
    "task.*",
    "okr.*",
    "report.*",
    "competitor.note",
)


@dataclass(frozen=True)
class Role:
    """A data scope (whose records) plus the actions (``kind.verb`` globs) it may take."""

    name: str
    scope: str
    actions: tuple[str, ...]


BUILTIN_ROLES: dict[str, Role] = {
    "director": Role("director", "all", ("*",)),
    "lead": Role(
        "lead",
        "team",
        (
            *_SALES_WORK,
            "lead.*",
            "customer.*",
            "contract.cancel",
            "contract.assign",
            "competitor.*",
            "feedback.*",
            "toolkit.add",
            "toolkit.remove",
            "member.list",
            "team.list",
        ),
    ),
    "rep": Role("rep", "own", _SALES_WORK),
    "finance": Role(
        "finance",
        "all",
        ("contract.pay", "contract.invoice", "task.*", "report.*", "competitor.note"),
    ),
    "service": Role("service", "own", ("task.*", "contract.activate", "competitor.note")),
    "admin": Role("admin", "all", ("config.*", "member.*", "team.*")),
}


@dataclass(frozen=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str
    role: str
    team: str | None = None
    active: bool = True
    login: str | None = None
    ssh_keys: tuple[str, ...] = ()
    age: str | None = None  # the age recipient records they may read are encrypted to


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

    roles = dict(BUILTIN_ROLES)
    raw_roles = data.get("roles") or {}
    if not isinstance(raw_roles, dict):
        bad("roles", "expected a mapping of role name: {scope: own|team|all, actions: [...]}")
        raw_roles = {}
    for name, spec in raw_roles.items():
        key = f"roles.{name}"
        if not isinstance(spec, dict):
            bad(key, "expected {scope: own|team|all, actions: [lead.add, ...]}")
            continue
        scope = spec.get("scope")
        if scope not in SCOPES:
            bad(f"{key}.scope", f"is {scope!r}; use one of {', '.join(SCOPES)}")
            continue
        actions = spec.get("actions") or []
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            bad(f"{key}.actions", "expected a list of actions such as lead.add or lead.*")
            continue
        roles[str(name)] = Role(str(name), scope, tuple(actions))

    teams: dict[str, Team] = {}
    for i, raw in enumerate(_list(data, "teams", bad)):
        key = f"teams[{i}]"
        if not isinstance(raw, dict) or not _name_ok(raw.get("id")):
            bad(key, "needs an id of lower-case letters, digits, - or _ (e.g. {id: east})")
            continue
        if raw["id"] in teams:
            bad(f"{key}.id", f"team {raw['id']!r} is listed twice")
        teams[raw["id"]] = Team(raw["id"], str(raw.get("name") or raw["id"]))

    members: dict[str, Member] = {}
    emails: set[str] = set()
    for i, raw in enumerate(_list(data, "members", bad)):
        key = f"members[{i}]"
        if not isinstance(raw, dict) or not _name_ok(raw.get("id")):
            bad(key, "needs an id of lower-case letters, digits, - or _ (e.g. {id: alice})")
            continue
        member_id = raw["id"]
        key = f"members.{member_id}"
        if member_id in members:
            bad(f"{key}.id", "is listed twice")
        email = raw.get("email")
        if not isinstance(email, str) or "@" not in email:
            bad(f"{key}.email", "is required (the address used for git commits)")
            email = ""
        elif email.lower() in emails:
            bad(f"{key}.email", f"{email} belongs to another member too")
        emails.add(email.lower())
        role = raw.get("role")
        if role not in roles:
            bad(f"{key}.role", f"is {role!r}; use one of {', '.join(roles)}")
            role = "rep"
        team = raw.get("team")
        if team is not None and team not in teams:
            bad(f"{key}.team", f"team {team!r} is not under teams:")
            team = None
        if roles[role].scope == "team" and team is None:
            bad(f"{key}.team", f"a {role} needs a team (add team: <id>)")
        active = raw.get("active", True)
        if not isinstance(active, bool):
            bad(f"{key}.active", "expected true or false")
            active = True
        keys = raw.get("ssh_keys") or []
        if isinstance(keys, str):
            keys = [keys]
        members[member_id] = Member(
            id=member_id,
            name=str(raw.get("name") or member_id),
            email=email,
            role=role,
            team=team,
            active=active,
            login=str(raw["login"]) if raw.get("login") else None,
            ssh_keys=tuple(str(k) for k in keys),
            age=str(raw["age"]).strip() if raw.get("age") else None,
        )

    lead_stages: tuple[str, ...] = DEFAULT_LEAD_STAGES
    lead_stage_names: dict[str, str] = {}
    if "lead_stages" in data:
        raw_stages = data["lead_stages"]
        # a stage is its id, or {id: contacted, name: 已联系} to give it a display name
        named = [
            (s.get("id"), s.get("name")) if isinstance(s, dict) else (s, None)
            for s in (raw_stages if isinstance(raw_stages, list) else [])
        ]
        if named and all(
            isinstance(i, str) and (n is None or isinstance(n, str)) for i, n in named
        ):
            lead_stages = tuple(str(i) for i, _n in named)
            lead_stage_names = {str(i): str(n) for i, n in named if n}
        else:
            bad(
                "lead_stages",
                "expected a list of stage ids or {id, name}, e.g. [new, {id: contacted, "
                "name: 已联系}]",
            )

    deal_stages = Config(org="").deal_stages
    if "deal_stages" in data:
        parsed = []
        for i, raw in enumerate(_list(data, "deal_stages", bad)):
            prob = raw.get("probability") if isinstance(raw, dict) else None
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                bad(f"deal_stages[{i}]", "expected {id: proposal, probability: 40}")
            elif not isinstance(prob, int) or not 0 <= prob <= 100:
                bad(f"deal_stages[{i}].probability", "expected a whole number 0-100")
            elif raw.get("name") is not None and not isinstance(raw["name"], str):
                bad(f"deal_stages[{i}].name", "expected the stage's display name as text")
            else:
                parsed.append(DealStage(raw["id"], prob, raw.get("name") or None))
        deal_stages = tuple(parsed) or deal_stages

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

    pool = data.get("pool") or {}
    reclaim_days, max_owned = 30, 200
    if not isinstance(pool, dict):
        bad("pool", "expected {reclaim_after_days: 30, max_owned_leads: 200}")
        pool = {}
    for key_name, default in (("reclaim_after_days", 30), ("max_owned_leads", 200)):
        value = pool.get(key_name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            bad(f"pool.{key_name}", "expected a whole number of at least 1")
            value = default
        if key_name == "reclaim_after_days":
            reclaim_days = value
        else:
            max_owned = value

    toolkit = data.get("toolkit") or {}
    limit = toolkit.get("max_size_mb", 10) if isinstance(toolkit, dict) else None
    if not isinstance(limit, int | float) or isinstance(limit, bool) or limit <= 0:
        bad("toolkit", "expected {max_size_mb: 10} (a positive number of megabytes)")

    timezone = str(data.get("timezone") or "Asia/Shanghai")
    try:
        import zoneinfo

        zoneinfo.ZoneInfo(timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
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


REPORT_KEYS = ("questions", "teams", "roles", "writers")
PERIOD_KINDS = ("week", "month")


def report_settings_problems(
    raw: Any, teams: dict[str, Team], roles: dict[str, Role]
) -> list[tuple[str, str]]:
    """(key, message) of each problem in ``reports:`` (docs/reports.md has the schema)::

    reports:
      questions: {week: [...], month: [...]}     # the org's
      teams: {<team id>: {questions: {...}}}     # a team's own (first)
      roles: {<role>: {questions: {...}}}        # a role's (after the team's)
      writers: [rep, lead]                       # whose members get a report of their own
    """
    found: list[tuple[str, str]] = []
    if raw is None:
        return found
    if not isinstance(raw, dict):
        return [("reports", "expected a mapping with questions, teams or roles")]
    for key, value in raw.items():
        where = f"reports.{key}"
        if key == "questions":
            found += _questions_problems(where, value)
        elif key in ("teams", "roles"):
            known: dict[str, Any] = teams if key == "teams" else roles
            if not isinstance(value, dict):
                found.append((where, f"expected a mapping of {key[:-1]}: {{questions: ...}}"))
                continue
            for name, spec in value.items():
                at = f"{where}.{name}"
                if name not in known:
                    what = "team {!r} is not under teams:" if key == "teams" else "no role {!r}"
                    choices = ", ".join(known)
                    found.append((at, f"{what.format(name)} (use one of {choices})"))
                elif not isinstance(spec, dict):
                    found.append((at, "expected {questions: {week: [...], month: [...]}}"))
                else:
                    for sub, questions in spec.items():
                        if sub == "questions":
                            found += _questions_problems(f"{at}.questions", questions)
                        else:
                            found.append((f"{at}.{sub}", "unknown setting (known: questions)"))
        elif key == "writers":
            if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
                found.append((where, "expected a list of roles, e.g. [rep, lead]"))
            else:
                found += [
                    (where, f"no role {r!r} (use one of {', '.join(roles)})")
                    for r in value
                    if r not in roles
                ]
        else:
            found.append((where, f"unknown setting (known: {', '.join(REPORT_KEYS)})"))
    return found


def _questions_problems(where: str, value: Any) -> list[tuple[str, str]]:
    """Questions per period kind: one line of text each, none twice (answers are kept
    under their question's text)."""
    if not isinstance(value, dict):
        return [(where, "expected {week: [question, ...], month: [question, ...]}")]
    found = []
    for kind, questions in value.items():
        at = f"{where}.{kind}"
        if kind not in PERIOD_KINDS:
            found.append((at, f"unknown period (use {' or '.join(PERIOD_KINDS)})"))
        elif not isinstance(questions, list):
            found.append((at, "expected a list of questions"))
        else:
            for i, question in enumerate(questions):
                if not isinstance(question, str) or not question.strip():
                    found.append((f"{at}[{i}]", "expected a question as text"))
                elif "\n" in question.strip() or question.strip() != question:
                    found.append((f"{at}[{i}]", "a question is one line, without spaces around"))
                elif question in questions[:i]:
                    found.append((f"{at}[{i}]", f"{question!r} is asked twice"))
    return found


def with_lines(problems: list[Problem], text: str) -> list[Problem]:
    """``problems`` of the config file ``text`` with ``:line`` added to each one's file
    where its field's key is found (``members.carol.role``: the ``role:`` of the member
    whose id is carol; ``deal_stages[1]``: the second item)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return problems
    located = []
    for problem in problems:
        line = None
        if problem.field and ":" not in problem.where:
            line = _key_line(root, problem.field)
        where = f"{problem.where}:{line}" if line else problem.where
        located.append(Problem(where, problem.message, problem.field))
    return located


def _key_line(node: Any, field: str) -> int | None:
    """The 1-based line of ``field``'s deepest key found in the composed YAML ``node``."""
    import yaml

    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if p[0].value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode):
            items = node.value
            if part.startswith("["):
                index = int(part[1:-1])
                item = items[index] if index < len(items) else None
            else:  # a list of {id: ...} mappings named by id (members.carol)
                item = next((i for i in items if _id_of(i) == part), None)
            if item is None:
                break
            line, node = item.start_mark.line, item
        else:
            break
    return None if line is None else line + 1


def _id_of(node: Any) -> str | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _list(data: dict[str, Any], key: str, bad: Any) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        bad(key, "expected a list")
        return []
    return value


def _name_ok(value: Any) -> bool:
    return isinstance(value, str) and bool(NAME_RE.match(value)) and value not in RESERVED_NAMES


def _some(ids: list[str], most: int = 20) -> str:
    """Valid values for an error's hint: all of them, or the first ``most`` and a count."""
    shown = ", ".join(ids[:most])
    return shown + (f" ... ({len(ids)} in all)" if len(ids) > most else "")
