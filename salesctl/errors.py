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
