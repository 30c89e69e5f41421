"""The ``reports:`` section of ``salesctl.yaml``: which questions reports ask, and whom.

Only validated here; ``reports/questions.py`` reads it (docs/reports.md has the schema).
"""

from __future__ import annotations

from typing import Any

from salesctl.model.members import Team
from salesctl.model.roles import Role

REPORT_KEYS = ("questions", "teams", "roles", "writers")
PERIOD_KINDS = ("week", "month")


def report_settings_problems(
    raw: Any, teams: dict[str, Team], roles: dict[str, Role]
) -> list[tuple[str, str]]:
    """(key, message) of each problem in ``reports:`` (docs/reports.md has the schema)::

    reports:
      questions: {week: [...], month: [...]}     # the org's
      teams: {<team id>: {questions: {...}}}     # a team's own (first)
      roles: {<role>: {questions: {...}}}        # a role's (after the team's)
      writers: [rep, lead]                       # whose members get a report of their own
    """
    found: list[tuple[str, str]] = []
    if raw is None:
        return found
    if not isinstance(raw, dict):
        return [("reports", "expected a mapping with questions, teams or roles")]
    for key, value in raw.items():
        where = f"reports.{key}"
        if key == "questions":
            found += _questions_problems(where, value)
        elif key in ("teams", "roles"):
            known: dict[str, Any] = teams if key == "teams" else roles
            if not isinstance(value, dict):
                found.append((where, f"expected a mapping of {key[:-1]}: {{questions: ...}}"))
                continue
            for name, spec in value.items():
                at = f"{where}.{name}"
                if name not in known:
                    what = "team {!r} is not under teams:" if key == "teams" else "no role {!r}"
                    choices = ", ".join(known)
                    found.append((at, f"{what.format(name)} (use one of {choices})"))
                elif not isinstance(spec, dict):
                    found.append((at, "expected {questions: {week: [...], month: [...]}}"))
                else:
                    for sub, questions in spec.items():
                        if sub == "questions":
                            found += _questions_problems(f"{at}.questions", questions)
                        else:
                            found.append((f"{at}.{sub}", "unknown setting (known: questions)"))
        elif key == "writers":
            if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
                found.append((where, "expected a list of roles, e.g. [rep, lead]"))
            else:
                found += [
                    (where, f"no role {r!r} (use one of {', '.join(roles)})")
                    for r in value
                    if r not in roles
                ]
        else:
            found.append((where, f"unknown setting (known: {', '.join(REPORT_KEYS)})"))
    return found


def _questions_problems(where: str, value: Any) -> list[tuple[str, str]]:
    """Questions per period kind: one line of text each, none twice (answers are kept
    under their question's text)."""
    if not isinstance(value, dict):
        return [(where, "expected {week: [question, ...], month: [question, ...]}")]
    found = []
    for kind, questions in value.items():
        at = f"{where}.{kind}"
        if kind not in PERIOD_KINDS:
            found.append((at, f"unknown period (use {' or '.join(PERIOD_KINDS)})"))
        elif not isinstance(questions, list):
            found.append((at, "expected a list of questions"))
        else:
            for i, question in enumerate(questions):
                if not isinstance(question, str) or not question.strip():
                    found.append((f"{at}[{i}]", "expected a question as text"))
                elif "\n" in question.strip() or question.strip() != question:
                    found.append((f"{at}[{i}]", "a question is one line, without spaces around"))
                elif question in questions[:i]:
                    found.append((f"{at}[{i}]", f"{question!r} is asked twice"))
    return found
