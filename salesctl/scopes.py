"""Who may read and write what: the one access rule, pure functions of (member, role,
owner directory, action).

Directory ownership is the permission scope. A role has a data scope (``own``: the member's
directory plus the pool; ``team``: the team's directories plus the pool; ``all``) and a list
of actions (``kind.verb`` globs such as ``lead.*``). Read access needs only the data scope;
a write needs the action *and* the data scope, for the source and, for a move, the target.

Each scope is written once, as ``Grants``: the directories it covers, each described by the
values of the index's ``owner``, ``team`` and ``pool`` columns. ``Grants.allows`` (one record,
in Python) and ``Grants.sql`` (a query's filter on the index) are both read off the same
grants, so a list and a ``show`` can never disagree about what a member may see;
tests/test_access_rule.py compares them on every member x record of a generated store. The
CLI asks these functions first; ``check`` applies the same rules to git history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

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


# A grant: (index column, value) pairs a directory must all match; None is an empty column.
Grant = tuple[tuple[str, Any], ...]
EVERYTHING: Grant = ()
POOL_GRANT: Grant = (("pool", 1),)
# The pool and the company's own directory (company OKRs, everyone's goals): no member, no team.
SHARED: Grant = (("owner", None), ("team", None))


def _columns(owner: Owner) -> dict[str, Any]:
    """An owner directory as the index's columns describe it (store/parsing.py:row_for)."""
    return {"owner": owner.member, "team": owner.team, "pool": int(owner.is_pool)}


@dataclass(frozen=True)
class Grants:
    """The directories a member may read (or write), as alternatives of column values."""

    grants: tuple[Grant, ...]

    def allows(self, owner: Owner) -> bool:
        facts = _columns(owner)
        return any(all(facts[column] == value for column, value in g) for g in self.grants)

    def sql(self) -> tuple[str, list[Any]]:
        """The same rule as an SQL condition on the index's rows ("" when all of them)."""
        if EVERYTHING in self.grants:
            return "", []
        alternatives, args = [], []
        for grant in self.grants:
            terms = []
            for column, value in grant:
                terms.append(f"{column} IS NULL" if value is None else f"{column} = ?")
                args += [] if value is None else [value]
            alternatives.append("(" + " AND ".join(terms) + ")")
        return "(" + " OR ".join(alternatives) + ")", args


def read_scope(config: Config, member: Member) -> Grants:
    """What ``member`` may read: everything; or the pool, the company's directory and their
    team's directories (``team``); or those plus their own and their team's own (``own``)."""
    scope = config.role_of(member).scope
    if scope == "all":
        return Grants((EVERYTHING,))
    if scope == "team":
        return Grants((SHARED, (("team", member.team),)) if member.team else (SHARED,))
    return Grants((SHARED, (("owner", member.id),), (("owner", None), ("team", member.team))))


def write_scope(config: Config, member: Member, action: str) -> Grants:
    """Where ``member`` may take ``action`` (given the role allows it): everything; or the
    pool and their team's directories (``team``); or their own directories, and the pool for
    taking, giving back and adding leads and customers (``own``). Never the company's."""
    scope = config.role_of(member).scope
    if scope == "all":
        return Grants((EVERYTHING,))
    if scope == "team":
        return Grants((POOL_GRANT, (("team", member.team),)) if member.team else (POOL_GRANT,))
    own: Grant = (("owner", member.id),)
    return Grants((POOL_GRANT, own) if action in POOL_ACTIONS_FOR_OWN_SCOPE else (own,))


def may_read(config: Config, member: Member, owner: Owner) -> bool:
    return read_scope(config, member).allows(owner)


def visible_sql(config: Config, viewer: Member) -> tuple[str, list[Any]]:
    """An SQL condition on the index limiting rows to what ``viewer`` may read."""
    return read_scope(config, viewer).sql()


def action_allowed(config: Config, member: Member, action: str) -> bool:
    return any(fnmatchcase(action, pattern) for pattern in config.role_of(member).actions)


def _owns(config: Config, member: Member, owner: Owner, action: str) -> bool:
    """Is ``owner``'s directory within ``member``'s write scope for ``action``?"""
    return write_scope(config, member, action).allows(owner)


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


# The owner of a contract may do these on it even when their role lacks the action;
# cancelling needs the action itself unless the contract is still a draft. Payments and
# invoices (回款, 开票) are finance's: never the owner's by ownership alone.
CONTRACT_OWNER_ACTIONS = (
    "contract.sign",
    "contract.activate",
    "contract.edit",
)


class AContract(Protocol):
    """What the contract rule looks at: whose directory, which id, the status."""

    @property
    def owner(self) -> Owner: ...
    @property
    def id(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


def check_contract_write(config: Config, actor: Member, action: str, contract: AContract) -> None:
    """The normal write scope, or the contract's owner for the everyday actions on it."""
    owner, record, status = contract.owner, contract.id, contract.data.get("status")
    try:
        check_write(config, actor, action, owner, record=record)
    except Forbidden as exc:
        is_owner = owner.member == actor.id
        draft_cancel = action == "contract.cancel" and status == "draft"
        if is_owner and (action in CONTRACT_OWNER_ACTIONS or draft_cancel):
            return
        if action in ("contract.pay", "contract.invoice"):
            raise Forbidden(
                f"{actor.id} ({actor.role}) may not {action} {record}: it belongs to {owner}",
                "finance records payments and invoices (or a role given the action)",
            ) from None
        raise exc


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
