"""Validating the end state of a range for ``check --range`` (``audit``), from blobs.

Data flow: the tip's tree → the record files the range changed (all of them when the
range changed ``salesctl.yaml`` or has no base) → each parsed and checked with the
foundation's record rules (``model.rules``, owner and reference checks shared with
``check``) → ``Problem``s with line numbers. Reading blobs, never the work tree, it works
on a bare repository during a push and on commits CI fetched but did not check out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from salesctl.model.config import Config
from salesctl.model.kinds import KINDS
from salesctl.model.problems import Problem
from salesctl.model.rules import record_problems
from salesctl.ops.collab.check_between import reference_problems
from salesctl.ops.collab.gitread import CONFIG_FILE, GitReader
from salesctl.ops.collab.places import place_of
from salesctl.store.layout import RECORD_ROOTS, RecordPath, parse_path
from salesctl.store.validation import owner_problems


def validate_tip(git: GitReader, base: str | None, tip: str) -> list[Problem]:
    """The foundation's record checks on the tree of ``tip``, read from blobs.

    Only the records the range changed are parsed (the base passed this check when it
    landed), unless the range changed ``salesctl.yaml`` or has no base: then all of them.
    Duplicate ids and references are looked up in the whole tree's file list.
    """
    found = git.config_at(tip)
    if found is None:
        return [Problem(CONFIG_FILE, f"is missing at {tip[:10]}")]
    config, problems = found
    problems = list(problems)
    listing = git.list_paths(tip, list(RECORD_ROOTS))
    if base is None:
        touched = listing
    else:
        changes = git.diff(base, tip)
        if any(c.path == CONFIG_FILE for c in changes):
            touched = listing
        else:
            touched = [c.path for c in changes if c.new_blob is not None]
    locs: list[RecordPath] = []
    for path in touched:
        place = place_of(path)
        if place.owner is None:
            continue
        loc = parse_path(path)
        if loc is not None:
            locs.append(loc)
        elif place.special == "stray":
            problems.append(
                Problem(path, "is not where a record can live (see docs/data-format.md)")
            )
    contents = git.files_at(tip, [loc.path for loc in locs])
    data_by_path: dict[str, dict[str, Any]] = {}
    wanted: set[str] = set()
    for loc in locs:
        data, record_probs = _parse_blob(config, loc, contents.get(loc.path))
        problems += record_probs
        wanted.add(loc.id)
        if data is not None:
            data_by_path[loc.path] = data
            wanted |= {str(v) for v in data.values() if isinstance(v, str) and v[:2] in _PREFIXES}
    locations = _locations(listing, wanted)
    for loc in locs:
        others = [p.path for p in locations.get(loc.id, []) if p.path != loc.path]
        if others:
            problems.append(
                Problem(
                    loc.path,
                    f"id {loc.id} also at {', '.join(others)} "
                    "(a merge duplicated it: keep one, `git rm -r` the other)",
                )
            )
        problems += owner_problems(config, loc)
        data = data_by_path.get(loc.path)
        if data is not None:
            problems += reference_problems(loc, data, locations)
    return sorted(set(problems), key=lambda p: (p.where, p.field or "", p.message))


_PREFIXES = {f"{kind.prefix}-" for kind in KINDS.values()}


def _parse_blob(
    config: Config, loc: RecordPath, content: bytes | None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    from salesctl import sealing, yamlio

    if content is None:
        return None, [Problem(loc.path, "is not a regular file")]
    if sealing.is_sealed(content):
        # Sealed: its content is validated where an identity opens it (the gate given the
        # recovery key as a secret); without one, paths and actors are all there is to judge.
        try:
            opened = sealing.active().open(content, loc.path)
        except sealing.SealedError as exc:
            return None, [Problem(loc.path, exc.message)]
        if opened is None:
            if config.recovery and config.recovery in sealing.active().public():
                # The gate holds the recovery key, to which every sealed file is encrypted.
                fix = "re-encrypt it with `salesctl rekey` (it must be sealed to recovery:)"
                return None, [
                    Problem(loc.path, f"is not encrypted to the org's recovery key; {fix}")
                ]
            return None, []
        content = opened
    try:
        raw = yamlio.loads(content, source=loc.path)
    except yamlio.YamlError as exc:
        return None, [Problem(exc.where, exc.detail)]
    data, problems = loc.kind.normalise(raw, loc.path)
    problems += record_problems(config, loc.kind, data, loc.path)
    return data, [_with_line(p, content) for p in problems]


def _with_line(problem: Problem, content: bytes) -> Problem:
    if not problem.field or ":" in problem.where:
        return problem
    key = problem.field.split(".")[0].split("[")[0]
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return Problem(f"{problem.where}:{number}", problem.message, problem.field)
    return problem


def _locations(listing: Sequence[str], wanted: set[str]) -> dict[str, list[RecordPath]]:
    """Where each wanted id lives in the tree (cheap string work first: 400k paths)."""
    locations: dict[str, list[RecordPath]] = defaultdict(list)
    for path in listing:
        if not path.endswith(".yaml"):
            continue
        name_start = path.rfind("/")
        stem = path[name_start + 1 : -5]
        candidate = (
            stem if stem in wanted else path[path.rfind("/", 0, name_start) + 1 : name_start]
        )
        if candidate in wanted:
            loc = parse_path(path)
            if loc is not None and loc.id == candidate:
                locations[candidate].append(loc)
    return locations
