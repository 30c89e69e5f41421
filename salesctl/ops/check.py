"""Whole-store validation: the config, every record's schema and rules, references between
records, duplicate ids (after a merge), and each record's path against its owner.

Returns problems as data; ``salesctl check`` prints them all and exits 1 if there are any.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from typing import Any

from salesctl.errors import SalesctlError
from salesctl.model.config import Config
from salesctl.model.kinds import KINDS
from salesctl.model.problems import Problem
from salesctl.model.rules import record_problems
from salesctl.store.layout import RECORD_ROOTS, RecordPath, parse_path
from salesctl.store.store import CONFIG_FILE, Store
from salesctl.yamlio import YamlError

# Which field of a kind names a record of which kind.
REFERENCES = {
    "lead": {"customer": "customer"},
    "customer": {"lead": "lead"},
    "deal": {"customer": "customer"},
    "contract": {"customer": "customer", "deal": "deal"},
    "task": {"parent": "task"},
}
NON_RECORD_FILES = re.compile(r"(^|/)(attachments|reports)/")


def check_store(store: Store) -> list[Problem]:
    try:
        config, problems = store.load_config()
    except YamlError as exc:
        return [Problem(exc.where, exc.detail)]
    except SalesctlError as exc:
        return [Problem(CONFIG_FILE, exc.message)]
    problems = list(problems)
    problems += _stray_files(store)
    rows = store.index.all_rows()
    locations: dict[str, list[RecordPath]] = defaultdict(list)
    data_by_path: dict[str, dict[str, Any]] = {}
    for path, record_id, _kind, row_problems in rows:
        loc = parse_path(path)
        if loc is None:
            continue
        locations[record_id].append(loc)
        if row_problems:
            for where, message, field in json.loads(row_problems):
                where = _with_line(store, path, field) if where == path else where
                problems.append(Problem(where, message, field))
    for path, fields in _all_data(store):
        data_by_path[path] = fields
    for record_id, locs in locations.items():
        if len(locs) > 1:
            problems.append(
                Problem(
                    locs[0].path,
                    f"id {record_id} also at {', '.join(loc.path for loc in locs[1:])}"
                    " (a merge duplicated it: keep one, `git rm -r` the other)",
                )
            )
    for locs in locations.values():
        for loc in locs:
            data = data_by_path.get(loc.path)
            problems += owner_problems(config, loc)
            if data is None:
                continue
            for p in record_problems(config, loc.kind, data, loc.path):
                problems.append(Problem(_with_line(store, loc.path, p.field), p.message, p.field))
            problems += reference_problems(loc, data, locations)
    problems += _money_problems(store)
    return sorted(set(problems), key=lambda p: (p.where, p.field or "", p.message))


def _all_data(store: Store) -> list[tuple[str, dict[str, Any]]]:
    result = []
    for kind in KINDS:
        for path, data, _problems in store.index.query(kind):
            if data is not None:
                result.append((path, data))
    return result


def owner_problems(config: Config, loc: RecordPath) -> list[Problem]:
    owner = loc.owner
    if owner.team and owner.team not in config.teams:
        return [Problem(loc.path, f"team {owner.team!r} is not in {CONFIG_FILE}")]
    if owner.member:
        member = config.member(owner.member)
        if member is None:
            return [Problem(loc.path, f"owner {owner.member!r} is not a member in {CONFIG_FILE}")]
        if member.team != owner.team:
            right = f"teams/{member.team}/{member.id}" if member.team else f"members/{member.id}"
            return [Problem(loc.path, f"{member.id}'s records belong under {right}/")]
    return []


def reference_problems(
    loc: RecordPath, data: dict[str, Any], locations: dict[str, list[RecordPath]]
) -> list[Problem]:
    problems = []
    if loc.parent is not None:
        link = "contract" if loc.kind.name in ("payment", "invoice") else "record"
        if link in data and data[link] != loc.parent:
            problems.append(
                Problem(loc.path, f"is {data[link]!r} but the file sits under {loc.parent}", link)
            )
    for field, target_kind in REFERENCES.get(loc.kind.name, {}).items():
        target = data.get(field)
        if not target:
            continue
        found = locations.get(target)
        if not found or found[0].kind.name != target_kind:
            problems.append(
                Problem(loc.path, f"names {target_kind} {target}, which does not exist", field)
            )
    return problems


def _stray_files(store: Store) -> list[Problem]:
    """Files under the record directories that are not records, symlinks above all."""
    problems = []
    for top in RECORD_ROOTS:
        base = store.root / top
        if not base.exists():
            continue
        if base.is_symlink():
            problems.append(Problem(top, "is a symlink; the store refuses symlinks"))
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, store.root).replace(os.sep, "/")
            for name in [*filenames, *dirnames]:
                rel = f"{rel_dir}/{name}"
                if os.path.islink(store.root / rel):
                    problems.append(Problem(rel, "is a symlink; the store refuses symlinks"))
            for name in filenames:
                rel = f"{rel_dir}/{name}"
                if parse_path(rel) is None and not NON_RECORD_FILES.search(rel):
                    problems.append(
                        Problem(rel, "is not where a record can live (see docs/data-format.md)")
                    )
    return problems


def _with_line(store: Store, path: str, field: str | None) -> str:
    """``path:line`` of the field's key, when it can be found."""
    if not field:
        return path
    key = field.split(".")[0].split("[")[0]
    try:
        with open(store.root / path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if line.startswith(f"{key}:"):
                    return f"{path}:{number}"
    except OSError:
        pass
    return path


def _money_problems(store: Store) -> list[Problem]:
    """Payments and invoices are separate files so finance and owners never conflict in git;
    the price is that two clones can each record a payment that is fine alone but together
    exceed the contract. A merge can do that silently, so ``check`` looks."""
    from decimal import Decimal

    from salesctl.reports.money import decimal

    amounts = {r[0]: decimal(r[4]) for r in store.index.select("contract", ["amount"])}
    problems = []
    for kind, label in (("payment", "payments"), ("invoice", "invoices")):
        totals: dict[str, Decimal] = {}
        for _id, _o, _t, parent, amount in store.index.select(kind, ["amount"]):
            totals[parent] = totals.get(parent, Decimal(0)) + decimal(amount)
        for contract_id, total in totals.items():
            if contract_id in amounts and total > amounts[contract_id]:
                loc = store.resolve(contract_id, ("contract",))
                problems.append(
                    Problem(
                        loc.path,
                        f"{label} add up to {total}, above the contract amount "
                        f"{amounts[contract_id]} (a merge of two clones' entries?)",
                        "amount",
                    )
                )
    return problems
