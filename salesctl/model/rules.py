"""Rules that need the org config: stages, member references and custom fields.

``record_problems`` complements ``Kind.normalise`` (which checks shapes and types only);
together they are everything ``check`` and every writing command validate.
"""

from __future__ import annotations

from typing import Any

from salesctl.model import values
from salesctl.model.config import Config, CustomField
from salesctl.model.kinds import Kind
from salesctl.model.problems import Problem

MEMBER_FIELDS = ("author", "assignee")
MEMBER_LIST_FIELDS = ("participants", "mentions", "attendees")


def stage_choices(config: Config, kind: Kind) -> tuple[str, ...]:
    if kind.name == "lead":
        return config.lead_stages
    if kind.name == "deal":
        return tuple(s.id for s in config.deal_stages)
    return ()


def record_problems(config: Config, kind: Kind, data: dict[str, Any], where: str) -> list[Problem]:
    problems: list[Problem] = []
    choices = stage_choices(config, kind)
    if choices and "stage" in data and data["stage"] not in choices:
        problems.append(
            Problem(
                where,
                f"{data['stage']!r} is not a stage (use one of {', '.join(choices)})",
                "stage",
            )
        )
    for name in MEMBER_FIELDS:
        if name in data and name in kind.by_name and config.member(data[name]) is None:
            problems.append(Problem(where, f"{data[name]!r} is not a member", name))
    for name in MEMBER_LIST_FIELDS:
        for member_id in data.get(name) or ():
            if name in kind.by_name and config.member(member_id) is None:
                problems.append(Problem(where, f"{member_id!r} is not a member", name))
    problems += custom_problems(config.custom_fields.get(kind.name, ()), data, where)
    return problems


def custom_problems(
    fields: tuple[CustomField, ...], data: dict[str, Any], where: str
) -> list[Problem]:
    problems = []
    custom = data.get("custom") or {}
    known = {f.name: f for f in fields}
    for name, value in custom.items():
        spec = known.get(name)
        if spec is None:
            problems.append(
                Problem(
                    where,
                    "is not a custom field of this kind (add it under custom_fields:)",
                    f"custom.{name}",
                )
            )
            continue
        unquoted = _unquoted(spec, value)
        if unquoted:
            problems.append(Problem(where, unquoted, f"custom.{name}"))
            continue
        try:
            coerce_custom(spec, value)
        except ValueError as exc:
            problems.append(Problem(where, str(exc), f"custom.{name}"))
    for spec in fields:
        if spec.required and custom.get(spec.name) in (None, "", []):
            problems.append(Problem(where, "is required", f"custom.{spec.name}"))
    return problems


def _unquoted(spec: CustomField, value: Any) -> str | None:
    """A custom text field that YAML read as a number or true/false (``values``). A choice
    is left to its own test: it holds one of its list's words, as a number or not."""
    return values.unquoted_text(value, spec.name) if spec.type == "text" else None


def coerce_custom(spec: CustomField, value: Any) -> Any:
    """A custom field's value in canonical form, or ``ValueError`` naming the allowed values."""
    if spec.type == "number":
        return values.coerce_number(value)
    if spec.type == "date":
        return values.coerce_date(value)
    if spec.type == "choice":
        text = values.coerce_line(value)
        if text not in spec.choices:
            raise ValueError(f"{text!r} is not allowed (choose one of {', '.join(spec.choices)})")
        return text
    if spec.type == "multi-choice":
        items = values.coerce_list(value)
        wrong = [i for i in items if i not in spec.choices]
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)} not allowed (choose from {', '.join(spec.choices)})"
            )
        return items
    return values.coerce_text(value)
