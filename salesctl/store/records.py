"""A record as the rest of the program sees it: where it is, what kind, and its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesctl.model.kinds import Kind
from salesctl.model.problems import Problem
from salesctl.model.values import to_json
from salesctl.store.layout import Owner, RecordPath


@dataclass
class Record:
    loc: RecordPath
    data: dict[str, Any]  # canonical field values (see Kind.normalise)
    problems: tuple[Problem, ...] = ()
    sealed: bool = False  # encrypted, and not to this member: its fields are unknown here

    @property
    def id(self) -> str:
        return self.loc.id

    @property
    def kind(self) -> Kind:
        return self.loc.kind

    @property
    def owner(self) -> Owner:
        return self.loc.owner

    @property
    def path(self) -> str:
        return self.loc.path

    def to_json(self) -> dict[str, Any]:
        """The JSON shape (contract): YAML fields plus id, kind, owner, team, path."""
        return json_record(self.loc, to_json(self.data))


def json_record(loc: RecordPath, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": loc.id,
        "kind": loc.kind.name,
        "owner": loc.owner.member,
        "team": loc.owner.team,
        "path": loc.path,
        **fields,
    }
