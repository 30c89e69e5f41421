"""The one error hierarchy. Core code raises these; only ``cli`` turns them into output.

Each error carries its exit code (the contract: 1 bad input / not found / conflict,
2 usage, 3 permission denied) and an optional hint naming the command or edit that fixes it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_FORBIDDEN = 3


class SalesctlError(Exception):
    exit_code = EXIT_INVALID

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class Invalid(SalesctlError):
    """Bad input: a malformed file, a wrong field, a value that breaks a rule."""


class NotFound(SalesctlError):
    """An id, member, team or store that does not exist."""


class Ambiguous(SalesctlError):
    """An id prefix that matches more than one record."""


class Conflict(SalesctlError):
    """The store changed under us, or the working tree holds edits in the way."""


class UsageError(SalesctlError):
    exit_code = EXIT_USAGE


class Forbidden(SalesctlError):
    """The acting member's role or data scope does not allow the action."""

    exit_code = EXIT_FORBIDDEN


# -- one class per situation, their hints from one table ------------------------------------

# Where a person finds the right value for each kind of thing (the hint of an error naming
# one that does not exist): one table, so hints cannot drift between modules.
LIST_COMMAND = {
    "lead": "salesctl lead list",
    "customer": "salesctl customer list",
    "contact": "salesctl customer show CUSTOMER",
    "followup": "salesctl followup list RECORD",
    "visit": "salesctl visit list",
    "deal": "salesctl deal list",
    "contract": "salesctl contract list",
    "payment": "salesctl contract show CONTRACT",
    "invoice": "salesctl contract show CONTRACT",
    "task": "salesctl task list",
    "okr": "salesctl okr list",
    "member": "salesctl member list",
    "team": "salesctl team list",
}


def where_to_look(*kinds: str) -> str:
    """``list them with `salesctl deal list``` for the kinds an id could be of."""
    commands = list(dict.fromkeys(LIST_COMMAND[k] for k in kinds if k in LIST_COMMAND))
    if not commands:
        return "check the id"
    return "list them with " + " or ".join(f"`{c}`" for c in commands)


class UnknownRecord(NotFound):
    """No record of these kinds has this id (or id prefix)."""

    def __init__(self, prefix: str, kinds: tuple[str, ...] = ()) -> None:
        what = "/".join(kinds) or "record"
        super().__init__(f"no {what} with id {prefix}", where_to_look(*kinds))


class AmbiguousId(Ambiguous):
    """An id prefix that matches several records."""

    def __init__(self, prefix: str, ids: list[str]) -> None:
        shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
        super().__init__(f"{prefix} matches {len(ids)} records: {shown}", "type more of the id")


class UnknownMember(NotFound):
    def __init__(self, member_id: str, known: str) -> None:
        super().__init__(f"unknown member {member_id!r}", f"members: {known}")


class UnknownTeam(NotFound):
    def __init__(self, team_id: str, known: str) -> None:
        super().__init__(f"unknown team {team_id!r}", f"teams: {known}")


class BranchMoved(Conflict):
    """Someone committed between the start of a write and its compare-and-swap of HEAD."""

    def __init__(self, old: str | None, new: str | None) -> None:
        moved = f"{(old or 'none')[:10]} to {(new or 'none')[:10]}"
        super().__init__(
            f"the branch moved while this command ran ({moved}): someone committed meanwhile",
            "nothing of this command was kept; run it again",
        )


class InactiveMember(Invalid):
    def __init__(self, member_id: str, active: str) -> None:
        super().__init__(f"{member_id} is inactive", f"active members: {active}")


class Duplicate(Invalid):
    """A new lead or customer that another one already has the company, phone or email of
    (撞单). Names only the existing record's id, kind and owner: the actor may not be allowed
    to read anything else of it."""

    def __init__(self, message: str, hint: str, *, record_id: str, kind: str) -> None:
        super().__init__(message, hint)
        self.record_id = record_id
        self.kind = kind
