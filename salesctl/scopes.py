"""Who may read and write what: pure functions of (member, role, owner directory, action).

Directory ownership is the permission scope. A role has a data scope (``own``: the member's
directory plus the pool; ``team``: the team's directories plus the pool; ``all``) and a list
of actions (``kind.verb`` globs such as ``lead.*``). Read access needs only the data scope;
a write needs the action *and* the data scope, for the source and, for a move, the target.
The CLI asks these functions first; ``check`` applies the same rules to git history.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from salesctl.errors import Forbidden
from salesctl.model.config import Config, Member
from salesctl.store.layout import POOL, Owner

# What an own-scope role may do with the pool: take a record from it, give one back,
# or put a new one there.
POOL_ACTIONS_FOR_OWN_SCOPE = (
    "lead.claim",
    "lead.release",
    "lead.add",
    "lead.import",
    "customer.claim",
    "customer.release",
    "customer.add",
)


def may_read(config: Config, member: Member, owner: Owner) -> bool:
    scope = config.role_of(member).scope
    if scope == "all" or owner.is_pool:
        return True
    if owner.company:
        return True  # company OKRs are everyone's goals
    if scope == "team":
        return member.team is not None and owner.team == member.team
    return owner.member == member.id or (owner.member is None and owner.team == member.team)


def action_allowed(config: Config, member: Member, action: str) -> bool:
    return any(fnmatchcase(action, pattern) for pattern in config.role_of(member).actions)


def _owns(config: Config, member: Member, owner: Owner, action: str) -> bool:
    """Is ``owner``'s directory within ``member``'s write scope for ``action``?"""
    scope = config.role_of(member).scope
    if scope == "all":
        return True
    if owner.is_pool:
        return scope == "team" or action in POOL_ACTIONS_FOR_OWN_SCOPE
    if owner.company:
        return False
    if scope == "team":
        return member.team is not None and owner.team == member.team
    return owner.member == member.id


def check_write(
    config: Config,
    member: Member,
    action: str,
    owner: Owner,
    *,
    target: Owner | None = None,
    record: str = "",
) -> None:
    """Raise ``Forbidden`` unless ``member`` may take ``action`` on a record in ``owner``'s
    directory (and, for moves, put it in ``target``'s)."""
    role = config.role_of(member)
    who = f"{member.id} ({role.name})"
    if not action_allowed(config, member, action):
        raise Forbidden(
            f"{who} may not {action}",
            "ask a team lead or director, or change the role's actions in salesctl.yaml",
        )
    what = f"{record} in {owner}" if record else str(owner)
    if not _owns(config, member, owner, action):
        raise Forbidden(f"{who} may not {action} {what}: outside their data scope ({role.scope})")
    if target is not None and not _owns(config, member, target, action):
        raise Forbidden(
            f"{who} may not {action} {what} to {target}: outside their data scope ({role.scope})"
        )


def writable_scope_description(config: Config, member: Member) -> str:
    scope = config.role_of(member).scope
    if scope == "all":
        return "everything"
    if scope == "team":
        return f"team {member.team} and the pool"
    return "own records and the pool"


def owner_dirs(config: Config, members: Iterable[str]) -> list[str]:
    """Every directory where records owned by ``members`` may sit: their home, and the
    other teams' (a member moved to another team keeps files there until they are moved)."""
    return sorted({Owner(member=m, team=t).dir for m in members for t in (None, *config.teams)})


def visible_dirs(config: Config, viewer: Member) -> list[str]:
    """The directories holding what ``viewer`` may read ([]: all of them)."""
    scope = config.role_of(viewer).scope
    if scope == "all":
        return []
    if scope == "team":
        return sorted({POOL.dir, Owner(team=viewer.team).dir})
    return [POOL.dir, *owner_dirs(config, [viewer.id])]
