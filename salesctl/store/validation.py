"""What one record file must be, decided from the file alone: shared by ``check`` and by
every write (``Transaction`` stages no record file that ``check`` would then refuse).

``file_problems`` is the rule set: the kind's schema (``Kind.normalise``), the config's
rules (``rules.record_problems``), the owner directory and a child's link to the directory
it sits in. ``checked_fields`` applies it to a file about to be staged, plus what only the
bytes show (the size limit, text that cannot be UTF-8), and raises ``InvalidRecord``.
"""

from __future__ import annotations

from typing import Any

from salesctl import yamlio
from salesctl.errors import Invalid
from salesctl.model.config import Config
from salesctl.model.problems import Problem
from salesctl.model.rules import record_problems
from salesctl.store.layout import Owner, RecordPath

CONFIG_FILE = "salesctl.yaml"  # store.CONFIG_FILE (store imports this module)


class InvalidRecord(Invalid):
    """A record a command was about to write breaks the rules; ``problems`` lists each."""

    def __init__(self, problems: list[Problem]) -> None:
        text = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        super().__init__(f"{problems[0].where}: {text}", "fix the values and run the command again")
        self.problems = problems


def file_problems(config: Config, loc: RecordPath, data: Any) -> list[Problem]:
    """Every problem of a record file whose loaded YAML is ``data``, as ``check`` finds it."""
    return _read_as_check(config, loc, data)[1]


def _read_as_check(
    config: Config, loc: RecordPath, data: Any
) -> tuple[dict[str, Any], list[Problem]]:
    canonical, problems = loc.kind.normalise(data, loc.path)
    problems += record_problems(config, loc.kind, canonical, loc.path)
    problems += owner_problems(config, loc)
    problems += link_problems(loc, canonical)
    return canonical, problems


def checked_fields(
    config: Config, loc: RecordPath, record: dict[str, Any] | bytes, *, normalised: bool = False
) -> tuple[bytes, dict[str, Any]]:
    """The bytes of a record file about to be staged (``record``: its fields, or its bytes
    as they are), or ``InvalidRecord`` if ``check`` would refuse the file; and its fields as
    a reader normalises them (so the index need not normalise a written file again).
    ``normalised``: the fields are as ``Kind.normalise`` returned them and neither it nor
    ``rules.record_problems`` found a problem (an import checks each row as it builds it,
    naming the row): only what the file's place and bytes show is checked here."""
    if isinstance(record, bytes):
        content = record
        data = yamlio.loads(content, source=loc.path)  # size, UTF-8, YAML: YamlError
    else:
        data = record
        try:
            content = yamlio.dumps(data).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord([_undecodable(loc, data)]) from None
        if len(content) > yamlio.MAX_FILE_BYTES:
            raise InvalidRecord([_oversized(loc, data, len(content))])
    if normalised and isinstance(record, dict):
        canonical, problems = record, owner_problems(config, loc) + link_problems(loc, record)
    else:
        canonical, problems = _read_as_check(config, loc, data)
    if problems:
        raise InvalidRecord(problems)
    return content, canonical


def _undecodable(loc: RecordPath, data: dict[str, Any]) -> Problem:
    """Text with lone surrogates (undecodable bytes from argv, ``\\ud800`` in JSON)."""
    for name, value in data.items():
        try:
            yamlio.dumps(value).encode("utf-8")
        except UnicodeEncodeError:
            return Problem(loc.path, "is not valid UTF-8 text", str(name))
    return Problem(loc.path, "holds text that is not valid UTF-8")  # pragma: no cover


def _oversized(loc: RecordPath, data: dict[str, Any], size: int) -> Problem:
    """The limit ``check`` applies to every record file, named by the field to shorten."""
    largest = max(data, key=lambda name: len(str(data[name])))
    return Problem(
        loc.path,
        f"makes the record {size} bytes, over the {yamlio.MAX_FILE_BYTES}-byte limit"
        " (keep long documents as attachments)",
        largest,
    )


def owner_problems(config: Config, loc: RecordPath) -> list[Problem]:
    message = _owner_problem(config, loc.owner)
    return [Problem(loc.path, message)] if message else []


def _owner_problem(config: Config, owner: Owner) -> str | None:
    if owner.team and owner.team not in config.teams:
        return f"team {owner.team!r} is not in {CONFIG_FILE}"
    if owner.member:
        member = config.member(owner.member)
        if member is None:
            return f"owner {owner.member!r} is not a member in {CONFIG_FILE}"
        if member.team != owner.team:
            right = f"teams/{member.team}/{member.id}" if member.team else f"members/{member.id}"
            return f"{member.id}'s records belong under {right}/"
    return None


def link_problems(loc: RecordPath, data: dict[str, Any]) -> list[Problem]:
    """A child's ``record``/``contract`` field against the directory it sits in."""
    if loc.parent is None:
        return []
    link = "contract" if loc.kind.name in ("payment", "invoice") else "record"
    if link in data and data[link] != loc.parent:
        return [Problem(loc.path, f"is {data[link]!r} but the file sits under {loc.parent}", link)]
    return []
