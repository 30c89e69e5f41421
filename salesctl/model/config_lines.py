"""Line numbers for the problems of ``salesctl.yaml``: where each problem's key is written."""

from __future__ import annotations

import re
from typing import Any

from salesctl.model.problems import Problem


def with_lines(problems: list[Problem], text: str) -> list[Problem]:
    """``problems`` of the config file ``text`` with ``:line`` added to each one's file
    where its field's key is found (``members.carol.role``: the ``role:`` of the member
    whose id is carol; ``deal_stages[1]``: the second item)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return problems
    located = []
    for problem in problems:
        line = None
        if problem.field and ":" not in problem.where:
            line = _key_line(root, problem.field)
        where = f"{problem.where}:{line}" if line else problem.where
        located.append(Problem(where, problem.message, problem.field))
    return located


def _key_line(node: Any, field: str) -> int | None:
    """The 1-based line of ``field``'s deepest key found in the composed YAML ``node``."""
    import yaml

    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if p[0].value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode):
            items = node.value
            if part.startswith("["):
                index = int(part[1:-1])
                item = items[index] if index < len(items) else None
            else:  # a list of {id: ...} mappings named by id (members.carol)
                item = next((i for i in items if _id_of(i) == part), None)
            if item is None:
                break
            line, node = item.start_mark.line, item
        else:
            break
    return None if line is None else line + 1


def _id_of(node: Any) -> str | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None
