"""Validation results as data: every checker returns a list of ``Problem``s, never raises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    where: str  # a store-relative file path, optionally with ":line"
    message: str
    field: str | None = None

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.where}:{field} {self.message}"
