"""Roles in ``salesctl.yaml``: a data scope plus the actions it may take.

The built-in roles are below; ``roles:`` in the config adds or overrides them. Who may do
what with them is decided in ``scopes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# own: the member's directory and the pool; team: the team's and the pool; all: everything;
# contracts: every contract with its payments, invoices and tasks, plus the member's own
# directory and the pool (finance: 回款, 开票 on any contract, not the leads and customers)
SCOPES = ("own", "team", "all", "contracts")

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
        "contracts",
        ("contract.pay", "contract.invoice", "task.*", "report.*", "competitor.note"),
    ),
    "service": Role("service", "own", ("task.*", "contract.activate", "competitor.note")),
    "admin": Role("admin", "all", ("config.*", "member.*", "team.*")),
}


def parse_roles(raw_roles: Any, bad: Callable[[str, str], None]) -> dict[str, Role]:
    """The built-in roles plus those ``roles:`` defines; a bad one is reported and skipped."""
    roles = dict(BUILTIN_ROLES)
    if not raw_roles:
        return roles
    if not isinstance(raw_roles, dict):
        bad("roles", "expected a mapping of role name: {scope: own|team|all, actions: [...]}")
        return roles
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
    return roles
