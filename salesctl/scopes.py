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

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from salesctl.errors import Forbidden
from salesctl.model.config import Config, Member
from salesctl.model.kinds import BY_PLURAL, KINDS
from salesctl.store.layout import POOL, TRIAGE_DIR, Owner, RecordPath

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
# The company's own directory alone: company OKRs, competitor intelligence.
COMPANY_GRANT: Grant = (("owner", None), ("team", None), ("pool", 0))
# Org-wide records every role writes by its actions alone, whatever its data scope: leads and
# directors keep competitor records and the sales toolkit, anyone adds a note (competitor.note).
ORG_WIDE_ACTIONS = ("competitor.", "toolkit.")
# What the ``contracts`` data scope reads wherever it is (with the children: payments,
# invoices, the won-deal checklist's tasks).
CONTRACT_KINDS = ("contract",)
# What it writes wherever a contract is; anything else (its reports) in its own directory.
CONTRACTS_EVERYWHERE = ("contract.pay", "contract.invoice", "task.")
# Feedback no customer matched waits in the company's feedback/ directory: only roles with
# this action read it (leads and directors), although SHARED grants every member the rest
# of the company's directory (OKRs, competitors, the toolkit).
TRIAGE_ACTION = "feedback.triage"


def _columns(owner: Owner) -> dict[str, Any]:
    """An owner directory as the index's columns describe it (store/parsing.py:row_for)."""
    return {"owner": owner.member, "team": owner.team, "pool": int(owner.is_pool)}


# -- sharing: records one member reads beyond their directories -----------------------------
#
# A record's own fields share it: its ``participants`` (leads, customers, deals) read its
# whole directory (it and its children); a member ``@mentioned`` in a follow-up reads the
# record the follow-up belongs to, and its children, read-only and only while the record has
# the owner it had then (the follow-up's ``record_owner``); the ``assignee`` of a task inside
# a record (a won deal's checklist in its contract) reads that record, and the contract's
# customer. ``shares_of`` reads them off one record file; the index keeps them in its
# ``shares`` table (store/index_schema.py) so a member's are one lookup, and resolves them
# into a ``Shares`` (store/index.py:shares_of).

SHARING_FIELDS = {"lead": "participants", "customer": "participants", "deal": "participants"}


@dataclass(frozen=True)
class Share:
    """``member`` reads ``target``: a record directory (``tree``), or the customer of the
    contract whose file is ``target`` (``customer-of``). A mention's share holds the owner
    the record had (``while_owner``) and the record's file (``anchor``): it lapses once the
    record has another owner."""

    member: str
    how: str
    target: str
    while_owner: str | None = None
    anchor: str | None = None


def shares_of(loc: RecordPath, data: Mapping[str, Any] | None) -> list[Share]:
    """The shares one record file grants (see above); [] for a file that did not parse."""
    if not data:
        return []
    kind = loc.kind.name
    if loc.parent is None:
        field = SHARING_FIELDS.get(kind)
        members = data.get(field) if field else None
        return [Share(m, "tree", loc.record_dir) for m in _names(members)]
    parts = loc.path.split("/")
    parent_dir = "/".join(parts[:-2])
    parent_kind = BY_PLURAL[parts[-4]]
    anchor = f"{parent_dir}/{parent_kind.file_name}"
    if kind == "followup":
        # written before follow-ups kept their record's owner: the mention does not lapse
        owner = data.get("record_owner") or None
        return [Share(m, "tree", parent_dir, owner, anchor) for m in _names(data.get("mentions"))]
    if kind == "task":
        shares = [Share(m, "tree", parent_dir) for m in _names([data.get("assignee")])]
        if parent_kind.name == "contract":
            shares += [Share(s.member, "customer-of", anchor) for s in shares]
        return shares
    return []


def _names(value: Any) -> list[str]:
    return sorted({v for v in value if isinstance(v, str) and v}) if isinstance(value, list) else []


@dataclass(frozen=True)
class Shares:
    """What is shared with one member, resolved: record directories (``trees``: it and its
    children) and single record files (``files``: a contract's customer)."""

    trees: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def covers(self, path: str) -> bool:
        return path in self.files or any(path.startswith(tree + "/") for tree in self.trees)

    def __bool__(self) -> bool:
        return bool(self.trees or self.files)


NO_SHARES = Shares()


@dataclass(frozen=True)
class Grants:
    """The directories a member may read (or write), as alternatives of column values, the
    records shared with them (reading only), and the kinds of record they read wherever
    they are (``kinds``: a record of one and its children; finance's contracts)."""

    grants: tuple[Grant, ...]
    shares: Shares = NO_SHARES
    hidden: tuple[str, ...] = ()  # top directories none of the grants cover (triage)
    kinds: tuple[str, ...] = ()

    def allows(self, owner: Owner, path: str | None = None) -> bool:
        if path is not None and owner.company and path.startswith(self._hidden_prefixes()):
            return False
        facts = _columns(owner)
        if any(all(facts[column] == value for column, value in g) for g in self.grants):
            return True
        return path is not None and (self.shares.covers(path) or self._of_kinds(path))

    def _of_kinds(self, path: str) -> bool:
        return any(mark in path for mark in _kind_marks(self.kinds))

    def _hidden_prefixes(self) -> tuple[str, ...]:
        return tuple(top + "/" for top in self.hidden)

    def sql(self) -> tuple[str, list[Any]]:
        """The same rule as an SQL condition on the index's rows ("" when all of them)."""
        where, args = self._granted_sql()
        for top in self.hidden:
            # company-level rows (no owner, no team, not the pool) under ``top/``
            hide = "NOT (owner IS NULL AND team IS NULL AND pool = 0 AND path > ? AND path < ?)"
            where = f"({where} AND {hide})" if where else hide
            args = [*args, top + "/", top + "0"]
        return where, args

    def _granted_sql(self) -> tuple[str, list[Any]]:
        if EVERYTHING in self.grants:
            return "", []
        alternatives, args = [], []
        for grant in self.grants:
            terms = []
            for column, value in grant:
                terms.append(f"{column} IS NULL" if value is None else f"{column} = ?")
                args += [] if value is None else [value]
            alternatives.append("(" + " AND ".join(terms) + ")")
        for mark in _kind_marks(self.kinds):  # by path: the side tables have no kind column
            alternatives.append("path GLOB ?")
            args.append(f"*{mark}*")
        if self.shares.files:
            alternatives.append(f"path IN ({', '.join('?' * len(self.shares.files))})")
            args += self.shares.files
        for tree in self.shares.trees:
            # the paths under ``tree/``: '0' is the character after '/'
            alternatives.append("(path > ? AND path < ?)")
            args += [tree + "/", tree + "0"]
        return "(" + " OR ".join(alternatives) + ")", args


@functools.cache
def _kind_marks(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """What the path of a record of these kinds, or of a child of one, holds and no other
    path does: ``/contracts/K-`` (an owner's directory, the kind's, a record id)."""
    return tuple(f"/{KINDS[k].plural}/{KINDS[k].prefix}-" for k in kinds)


def read_scope(config: Config, member: Member, shares: Shares = NO_SHARES) -> Grants:
    """What ``member`` may read: everything; or the pool, the company's directory and their
    team's directories (``team``); or those plus their own and their team's own (``own``);
    and what ``shares`` (the index's, for this member) shares with them. Feedback triage
    (``feedback/``) only with ``feedback.triage``."""
    scope = config.role_of(member).scope
    hidden = () if action_allowed(config, member, TRIAGE_ACTION) else (TRIAGE_DIR,)
    if scope == "all":
        return Grants((EVERYTHING,), hidden=hidden)
    if scope == "team":
        team = (SHARED, (("team", member.team),)) if member.team else (SHARED,)
        return Grants(team, shares, hidden)
    own = (SHARED, (("owner", member.id),), (("owner", None), ("team", member.team)))
    if scope == "contracts":
        return Grants(own, shares, hidden, CONTRACT_KINDS)
    return Grants(own, shares, hidden)


def write_scope(config: Config, member: Member, action: str) -> Grants:
    """Where ``member`` may take ``action`` (given the role allows it): everything; or the
    pool and their team's directories (``team``); or their own directories, and the pool for
    taking, giving back and adding leads and customers (``own``). The company's directory
    only for the org-wide actions (``ORG_WIDE_ACTIONS``: competitor intelligence)."""
    scope = config.role_of(member).scope
    if scope == "all" or (scope == "contracts" and action.startswith(CONTRACTS_EVERYWHERE)):
        return Grants((EVERYTHING,))  # finance: money and checklist tasks on any contract
    if action.startswith(ORG_WIDE_ACTIONS):
        return Grants((COMPANY_GRANT,))
    if scope == "team":
        return Grants((POOL_GRANT, (("team", member.team),)) if member.team else (POOL_GRANT,))
    own: Grant = (("owner", member.id),)
    return Grants((POOL_GRANT, own) if action in POOL_ACTIONS_FOR_OWN_SCOPE else (own,))


def may_read(config: Config, member: Member, owner: Owner) -> bool:
    """May ``member`` read what is in ``owner``'s directory, by the directory alone? (What
    records share with a member comes from the index: ``ops/records.py:readable``.)"""
    return read_scope(config, member).allows(owner)


def visible_sql(config: Config, viewer: Member) -> tuple[str, list[Any]]:
    """An SQL condition on the index limiting rows to the directories ``viewer`` may read
    (figures count these; lists add what is shared: ``ops/records.py:readable``)."""
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


FEEDBACK_EDITS = ("feedback.assign", "feedback.ack", "feedback.close", "feedback.edit")


def check_feedback_write(config: Config, member: Member, action: str, owner: Owner) -> None:
    """Feedback goes where it belongs: whoever may ``feedback.add`` records it, into triage or
    any customer's directory. Triage (the company's ``feedback/``) is then worked by roles
    with ``feedback.triage``; a customer's feedback by whoever may take the action there."""
    if action == "feedback.add" or owner.company:
        needs = (action,) if action == "feedback.add" else (TRIAGE_ACTION, action)
        for needed in needs:
            if not action_allowed(config, member, needed):
                raise Forbidden(
                    f"{member.id} ({member.role}) may not {needed}",
                    "team leads and directors (feedback.triage) work through triage",
                )
        return
    check_write(config, member, action, owner)


# What a record's participants may do in its directory besides reading it (the owner's
# fields, moves and deletions stay the owner's and their lead's).
PARTICIPANT_ACTIONS = ("followup.add", "visit.add", "visit.done", "visit.cancel")
# What the assignee of a task in a contract may do to the contract, given the role's action
# (the service member who has "Activate service" on a won deal's checklist).
TASK_HOLDER_ACTIONS = ("contract.activate",)


# A contract's status moves by an action of its own, with the fields that move sets; any
# other change of its fields is an edit. (Closing comes with the last payment or invoice.)
CONTRACT_STATUS_ACTIONS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "signed": (("contract.sign",), frozenset({"signed", "plan"})),
    "active": (("contract.activate",), frozenset()),
    "cancelled": (("contract.cancel",), frozenset({"reason", "cancelled"})),
    "closed": (("contract.pay", "contract.invoice"), frozenset()),
}


def contract_change_needs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """What a change of a contract's fields from ``old`` to ``new`` needs: for each part of
    it, the actions any one of which allows it (``check --range`` asks
    ``check_contract_write`` of each, as the CLI does of the command's action)."""
    changed = {k for k in {*old, *new} if old.get(k) != new.get(k)}
    needs: list[tuple[str, ...]] = []
    if "status" in changed:
        actions, fields = CONTRACT_STATUS_ACTIONS.get(
            str(new.get("status")), (("contract.edit",), frozenset())
        )
        needs.append(actions)
        changed -= {"status", *fields}
    if changed:
        needs.append(("contract.edit",))
    return needs


class ARecord(Protocol):
    """What a record-level rule looks at: whose directory, which id, its fields."""

    @property
    def owner(self) -> Owner: ...
    @property
    def id(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


def participants_of(data: Mapping[str, Any] | None) -> list[str]:
    return _names((data or {}).get("participants"))


def check_child_write(config: Config, actor: Member, action: str, record: ARecord) -> None:
    """Add (or close) a follow-up or visit on ``record``: the normal write scope, or one of
    the record's participants (with the role's action)."""
    try:
        check_write(config, actor, action, record.owner, record=record.id)
    except Forbidden:
        if (
            action in PARTICIPANT_ACTIONS
            and actor.id in participants_of(record.data)
            and action_allowed(config, actor, action)
        ):
            return
        raise


# The owner of a contract may do these on it even when their role lacks the action;
# cancelling needs the action itself unless the contract is still a draft. Payments and
# invoices (回款, 开票) are finance's: never the owner's by ownership alone.
CONTRACT_OWNER_ACTIONS = (
    "contract.sign",
    "contract.activate",
    "contract.edit",
)


def check_contract_write(
    config: Config,
    actor: Member,
    action: str,
    contract: ARecord,
    task_holders: Iterable[str] = (),
) -> None:
    """The normal write scope, or the contract's owner for the everyday actions on it, or a
    member with a task on it (``task_holders``) for ``TASK_HOLDER_ACTIONS``."""
    owner, record, status = contract.owner, contract.id, contract.data.get("status")
    try:
        check_write(config, actor, action, owner, record=record)
    except Forbidden as exc:
        is_owner = owner.member == actor.id
        draft_cancel = action == "contract.cancel" and status == "draft"
        if is_owner and (action in CONTRACT_OWNER_ACTIONS or draft_cancel):
            return
        if (
            action in TASK_HOLDER_ACTIONS
            and actor.id in task_holders
            and action_allowed(config, actor, action)
        ):
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
    if scope == "contracts":
        return "every contract (payments, invoices, tasks), own records and the pool"
    if scope == "team":
        return f"team {member.team} and the pool"
    return "own records and the pool"


def owner_dirs(config: Config, members: Iterable[str]) -> list[str]:
    """Every directory where records owned by ``members`` may sit: their home, and the
    other teams' (a member moved to another team keeps files there until they are moved)."""
    return sorted({Owner(member=m, team=t).dir for m in members for t in (None, *config.teams)})


def visible_dirs(config: Config, viewer: Member, shares: Shares = NO_SHARES) -> list[str]:
    """The directories holding what ``viewer`` may read ([]: all of them)."""
    scope = config.role_of(viewer).scope
    if scope in ("all", "contracts"):  # contracts sit in every owner's directory
        return []
    shared = {path.rsplit("/", 1)[0] for path in shares.files} | set(shares.trees)
    if scope == "team":
        return sorted({POOL.dir, Owner(team=viewer.team).dir} | shared)
    return sorted({POOL.dir, *owner_dirs(config, [viewer.id])} | shared)
