"""The people in ``salesctl.yaml``: ``teams:`` and ``members:``, parsed with their problems."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesctl.model.kinds import BY_PLURAL
from salesctl.model.roles import Role

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# an id names an owner directory, so it must not be one of the store's own; and an OKR's
# ``--owner`` names a member, a team or ``company``, so none may be another's name
RESERVED_NAMES = {"pool", "teams", "members", "templates", "reports", "company", *BY_PLURAL}

Bad = Callable[[str, str], None]


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


def member_json(member: Member) -> dict[str, Any]:
    """A member as ``member list``, ``whoami`` and the member commands show it: no SSH keys;
    the age recipient only where there is one (an encrypted store's members)."""
    from dataclasses import asdict

    row = asdict(member)
    del row["ssh_keys"]
    if row["age"] is None:
        del row["age"]
    return row


def parse_teams(data: dict[str, Any], bad: Bad) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for i, raw in enumerate(config_list(data, "teams", bad)):
        key = f"teams[{i}]"
        if not isinstance(raw, dict) or not _name_ok(raw.get("id")):
            bad(key, _id_problem(raw, "{id: east}"))
            continue
        if raw["id"] in teams:
            bad(f"{key}.id", f"team {raw['id']!r} is listed twice")
        teams[raw["id"]] = Team(raw["id"], str(raw.get("name") or raw["id"]))
    return teams


def parse_members(
    data: dict[str, Any], teams: dict[str, Team], roles: dict[str, Role], bad: Bad
) -> dict[str, Member]:
    members: dict[str, Member] = {}
    emails: set[str] = set()
    for i, raw in enumerate(config_list(data, "members", bad)):
        key = f"members[{i}]"
        if not isinstance(raw, dict) or not _name_ok(raw.get("id")):
            bad(key, _id_problem(raw, "{id: alice}"))
            continue
        member_id = raw["id"]
        key = f"members.{member_id}"
        if member_id in members:
            bad(f"{key}.id", "is listed twice")
        if member_id in teams:
            bad(
                f"{key}.id",
                f"member {member_id!r} has the id of team {member_id!r} too "
                "(an OKR's --owner could mean either): give one of them another id",
            )
        email = raw.get("email")
        if not isinstance(email, str) or not email.strip():
            bad(f"{key}.email", "is required (the address used for git commits)")
            email = ""
        elif "@" not in email:
            bad(f"{key}.email", f"{email!r} is not an email address (e.g. alice@acme.example)")
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
    return members


def config_list(data: dict[str, Any], key: str, bad: Bad) -> list[Any]:
    """The list under ``key`` (none: empty); anything else is reported and read as empty."""
    value = data.get(key) or []
    if not isinstance(value, list):
        bad(key, "expected a list")
        return []
    return value


def _id_problem(raw: Any, example: str) -> str:
    """Why an entry's id is refused: a word the store itself uses, or its shape."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str) and value in RESERVED_NAMES:
        words = "pool, company, reports, okrs, leads ..."
        return f"id {value!r} is a word the store itself uses ({words}): choose another"
    return f"needs an id of lower-case letters, digits, - or _ (e.g. {example})"


def _name_ok(value: Any) -> bool:
    return isinstance(value, str) and bool(NAME_RE.match(value)) and value not in RESERVED_NAMES
