"""The ``notify:`` and ``routing:`` sections of ``salesctl.yaml``, parsed and checked.

Pure: no files, no network. ``parse_config`` reports the problems (each naming its key);
``ops.integrations.notify`` and ``ops.integrations.intake`` use the parsed hooks and rules.

    notify:
      - name: sales-chat                     # optional; `salesctl notify test sales-chat`
        url: https://oapi.dingtalk.com/robot/send?access_token=${DINGTALK_TOKEN}
        format: dingtalk                     # slack, dingtalk, feishu, wecom or generic
        on: [deal.won, contract.signed, payment.received]   # the default; + followup.mention
        secret: ${DINGTALK_SECRET}           # optional signing secret (dingtalk, feishu, generic)
        users: {alice: "13800000000"}        # platform user ids (or mobiles) for @mentions
    routing:                                 # where `salesctl serve` puts a lead; first match
      - {match: {source: website}, to: alice}
      - {match: {source: [expo, fair], tag: vip}, team: east}    # round-robin in the team
      - {match: {email_domain: bigcorp.example}, round_robin: true}
      - {pool: true}                         # no match at all also means the pool

``${NAME}`` in ``url`` and ``secret`` is read from the environment when a message is sent and
never written anywhere expanded. YAML 1.1 reads a bare ``on`` key as ``true``; that is
accepted as ``on`` (``events`` works too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from salesctl.model.config import Member, Team

FORMATS = ("slack", "dingtalk", "feishu", "wecom", "generic")
EVENTS = (
    *("deal.won", "contract.signed", "payment.received", "followup.mention"),
    *("competitor.note", "feedback.received"),
)
DEFAULT_EVENTS = ("deal.won", "contract.signed", "payment.received")
HOOK_KEYS = ("name", "url", "format", "on", "events", "secret", "users")
MATCH_KEYS = ("source", "tag", "email_domain")
TARGET_KEYS = ("to", "team", "round_robin", "pool")
ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
HOOK_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

Problems = list[tuple[str, str]]  # (key, message)
T = TypeVar("T")


@dataclass(frozen=True)
class Hook:
    """One chat webhook. ``url`` and ``secret`` are as written (``${VAR}`` unexpanded)."""

    key: str  # stable, file-name safe: the name, else a digest of url and format
    position: int  # 1-based, as listed
    url: str
    format: str
    events: tuple[str, ...] = DEFAULT_EVENTS
    name: str | None = None
    secret: str | None = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        host = urlsplit(self.url).hostname or "?"
        return f"#{self.position} ({self.format} {host})"


@dataclass(frozen=True)
class RoutingRule:
    """Where a webhook lead goes: the first rule whose every condition holds."""

    position: int
    sources: tuple[str, ...] = ()  # lower-case; empty matches anything
    tags: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    to: str | None = None
    team: str | None = None
    round_robin: bool = False
    pool: bool = False

    def matches(self, source: str | None, tags: list[str], email: str | None) -> bool:
        if self.sources and (source or "").strip().lower() not in self.sources:
            return False
        if self.tags and not {t.strip().lower() for t in tags} & set(self.tags):
            return False
        domain = (email or "").rpartition("@")[2].strip().lower()
        return not (self.email_domains and domain not in self.email_domains)


def expand_env(text: str) -> tuple[str, list[str]]:
    """``text`` with ``${NAME}`` read from the environment, and the names that are unset."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            missing.append(match.group(1))
            return ""
        return found

    return ENV_RE.sub(value, text), missing


def _env_problems(text: str) -> str | None:
    if "${" in ENV_RE.sub("", text):
        return "write an environment variable as ${NAME} (letters, digits, _)"
    return None


# What each config list and its entries look like, for the problem of a wrong shape.
LIST_SHAPES = {
    "notify": (
        "hooks: [{url: https://..., format: slack}]",
        "{url: https://..., format: slack, on: [...]}",
    ),
    "routing": (
        "rules: [{match: {source: web}, to: alice}]",
        "{match: {source: ...}, to: MEMBER | team: TEAM}",
    ),
}


def _parse_entries(
    raw: Any,
    section: str,
    parse_entry: Callable[[int, str, dict[Any, Any]], tuple[T | None, Problems]],
) -> tuple[list[T], Problems]:
    """A config list (``notify:``, ``routing:``) parsed entry by entry: the entries without
    problems, and every problem found, in the order of the entries."""
    list_hint, entry_hint = LIST_SHAPES[section]
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [(section, f"expected a list of {list_hint}")]
    entries: list[T] = []
    problems: Problems = []
    for position, spec in enumerate(raw, 1):
        key = f"{section}[{position - 1}]"
        if not isinstance(spec, dict):
            problems.append((key, f"expected {entry_hint}"))
            continue
        entry, found = parse_entry(position, key, spec)
        problems += found
        if entry is not None:
            entries.append(entry)
    return entries, problems


def parse_hooks(raw: Any, members: Mapping[str, Member]) -> tuple[list[Hook], Problems]:
    """The ``notify:`` list as hooks, and the problems found (hooks with problems are left
    out)."""
    seen: set[str] = set()  # the hooks' keys so far: the same hook twice is a mistake
    return _parse_entries(raw, "notify", partial(_hook, members=members, seen=seen))


def _hook(
    position: int, key: str, spec: dict[Any, Any], members: Mapping[str, Member], seen: set[str]
) -> tuple[Hook | None, Problems]:
    spec = {("on" if k is True else k): v for k, v in spec.items()}  # YAML 1.1: on -> true
    found: Problems = []
    for name in spec:
        if name not in HOOK_KEYS:
            found.append((f"{key}.{name}", f"unknown key (known: {', '.join(HOOK_KEYS)})"))
    url = spec.get("url")
    if not isinstance(url, str) or not url.strip():
        found.append((f"{key}.url", "is required: the platform's incoming-webhook URL"))
        url = ""
    else:
        url = url.strip()
        # the whole URL may come from the environment: checked when sending
        if not url.startswith("${") and urlsplit(url).scheme not in ("http", "https"):
            found.append((f"{key}.url", "must start with https:// (or http://)"))
        elif (message := _env_problems(url)) is not None:
            found.append((f"{key}.url", message))
    fmt = spec.get("format")
    if fmt not in FORMATS:
        found.append((f"{key}.format", f"is {fmt!r}; use one of {', '.join(FORMATS)}"))
    events_key = "events" if "events" in spec else "on"
    events = spec.get(events_key, list(DEFAULT_EVENTS))
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        found.append((f"{key}.{events_key}", f"expected a list of events: {', '.join(EVENTS)}"))
        events = []
    for i, event in enumerate(events):
        if event not in EVENTS:
            found.append(
                (
                    f"{key}.{events_key}[{i}]",
                    f"unknown event {event!r}; use {', '.join(EVENTS)}",
                )
            )
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or not HOOK_NAME_RE.match(name)):
        found.append((f"{key}.name", "use lower-case letters, digits, - or _ (e.g. sales-chat)"))
        name = None
    secret = spec.get("secret")
    if secret is not None and not isinstance(secret, str):
        found.append((f"{key}.secret", "expected text, e.g. ${DINGTALK_SECRET}"))
    elif isinstance(secret, str) and (message := _env_problems(secret)) is not None:
        found.append((f"{key}.secret", message))
    users = spec.get("users") or {}
    if not isinstance(users, dict):
        found.append((f"{key}.users", "expected a mapping of member id: platform user id"))
        users = {}
    for member_id in users:
        if member_id not in members:
            found.append((f"{key}.users.{member_id}", "is not a member id under members:"))
    if name:
        hook_key = name
    else:
        import hashlib  # only for a hook without a name

        hook_key = "h" + hashlib.sha256(f"{fmt}\n{url}".encode()).hexdigest()[:10]
    if hook_key in seen:
        found.append((f"{key}.name" if name else key, "the same hook is listed twice"))
    seen.add(hook_key)
    if found:
        return None, found
    return Hook(
        key=hook_key,
        position=position,
        url=url,
        format=str(fmt),
        events=tuple(dict.fromkeys(events)),
        name=name,
        secret=secret,
        users={str(k): str(v) for k, v in users.items()},
    ), []


def _words(value: Any) -> tuple[str, ...] | None:
    """A condition's value(s), lower-cased; None if it is not text or a list of text."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str | int) and str(v).strip() for v in items):
        return None
    return tuple(str(v).strip().lower() for v in items)


def parse_routing(
    raw: Any, members: Mapping[str, Member], teams: Mapping[str, Team]
) -> tuple[list[RoutingRule], Problems]:
    """The ``routing:`` list as rules, and the problems found."""
    return _parse_entries(raw, "routing", partial(_routing_rule, members=members, teams=teams))


def _routing_rule(
    position: int,
    key: str,
    spec: dict[Any, Any],
    members: Mapping[str, Member],
    teams: Mapping[str, Team],
) -> tuple[RoutingRule | None, Problems]:
    found: Problems = []
    for name in spec:
        if name != "match" and name not in TARGET_KEYS:
            found.append((f"{key}.{name}", f"unknown key (use match and one of {TARGET_KEYS})"))
    match = spec.get("match") or {}
    if not isinstance(match, dict):
        found.append((f"{key}.match", f"expected a mapping of {', '.join(MATCH_KEYS)}"))
        match = {}
    conditions: dict[str, tuple[str, ...]] = {}
    for name, value in match.items():
        words = _words(value)
        if name not in MATCH_KEYS:
            found.append((f"{key}.match.{name}", f"unknown condition; use {MATCH_KEYS}"))
        elif words is None:
            found.append((f"{key}.match.{name}", "expected a value or a list of values"))
        else:
            conditions[str(name)] = words
    targets = [t for t in TARGET_KEYS if spec.get(t) not in (None, False)]
    if len(targets) != 1:
        found.append((key, "give exactly one of to: MEMBER, team: TEAM, round_robin, pool"))
    to, team = spec.get("to"), spec.get("team")
    if to is not None:
        member = members.get(str(to))
        if member is None:
            found.append((f"{key}.to", f"{to!r} is not a member id under members:"))
        elif not member.active:
            found.append((f"{key}.to", f"{to} is inactive; route to an active member"))
    if team is not None and str(team) not in teams:
        found.append((f"{key}.team", f"{team!r} is not a team under teams:"))
    for flag in ("round_robin", "pool"):
        if flag in spec and not isinstance(spec[flag], bool):
            found.append((f"{key}.{flag}", "expected true"))
    if found:
        return None, found
    return RoutingRule(
        position=position,
        sources=conditions.get("source", ()),
        tags=conditions.get("tag", ()),
        email_domains=conditions.get("email_domain", ()),
        to=str(to) if to is not None else None,
        team=str(team) if team is not None else None,
        round_robin=spec.get("round_robin") is True,
        pool=spec.get("pool") is True,
    ), []
