"""What ``salesctl check`` finds between records, which no single file shows: duplicate ids
(after a merge), dangling references, money and dates over a contract's payments and
invoices, competitors sharing a name; and, as warnings, members over the claim cap. Each is
a query over the index; ``check`` caches their result until a record row changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from salesctl.model.config import Config
from salesctl.model.kinds import KINDS
from salesctl.model.problems import Problem
from salesctl.store.index import Index
from salesctl.store.layout import Owner, RecordPath
from salesctl.store.store import CONFIG_FILE, Store
from salesctl.store.validation import link_problems

# Which field of a kind names a record of which kind.
REFERENCES = {
    "lead": {"customer": "customer"},
    "customer": {"lead": "lead"},
    "deal": {"customer": "customer"},
    "contract": {"customer": "customer", "deal": "deal"},
    "task": {"parent": "task"},
}


def over_the_cap(store: Store, config: Config) -> list[Problem]:
    """Members who own more open leads than ``pool.max_owned_leads``, as a claim counts
    them: a merge of two branches' claims, or an assignment. A warning, not a problem: a
    team lead or director may assign past the cap on purpose; claims are refused meanwhile."""
    from salesctl.ops.sales.ownership import owners_over

    cap = config.max_owned_leads
    warnings = []
    for member_id, count in sorted(owners_over(store, "lead", cap).items()):
        member = config.member(member_id)
        home = Owner(member_id, member.team if member else None).dir
        warnings.append(
            Problem(
                f"{home}/{KINDS['lead'].plural}",
                f"{member_id} owns {count} open leads, over pool.max_owned_leads ({cap}) "
                f"in {CONFIG_FILE}: {member_id}'s claims are refused until some are "
                "released, converted or reassigned (an assignment past it may be on purpose)",
            )
        )
    return warnings


def competitor_problems(store: Store) -> list[Problem]:
    from salesctl.ops.sales.competitors import name_problems  # competitors sharing a name

    return name_problems(store)


def duplicate_problems(index: Index) -> list[Problem]:
    rows = index.execute(
        "SELECT id, path FROM records WHERE id IN "
        "(SELECT id FROM records GROUP BY id HAVING count(*) > 1) ORDER BY id, path",
        kinds=[],
    )
    paths: dict[str, list[str]] = {}
    for record_id, path in rows:
        paths.setdefault(record_id, []).append(path)
    return [
        Problem(
            first,
            f"id {record_id} also at {', '.join(others)}"
            " (a merge duplicated it: keep one, `git rm -r` the other)",
        )
        for record_id, (first, *others) in paths.items()
    ]


def dangling_references(index: Index) -> list[Problem]:
    """The cached references to an id no record has."""
    rows = index.execute(
        "SELECT c.path, json_extract(ref.value, '$[0]'), json_extract(ref.value, '$[1]'), "
        "json_extract(ref.value, '$[2]') FROM check_cache c, json_each(c.refs) ref "
        "WHERE c.refs IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM records t WHERE t.id = json_extract(ref.value, '$[2]'))",
        kinds=[],
    )
    return [dangling(*row) for row in rows]


def reference_problems(
    loc: RecordPath, data: dict[str, Any], locations: dict[str, list[RecordPath]]
) -> list[Problem]:
    problems = link_problems(loc, data)
    for field, target_kind, target in references(loc, data):
        found = locations.get(target)
        if not found or found[0].kind.name != target_kind:
            problems.append(dangling(loc.path, field, target_kind, target))
    return problems


def dangling(path: str, field: str, target_kind: str, target: Any) -> Problem:
    return Problem(path, f"names {target_kind} {target}, which does not exist", field)


def references(loc: RecordPath, data: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(field, kind it names, id) of each record this one names."""
    for field, target_kind in REFERENCES.get(loc.kind.name, {}).items():
        target = data.get(field)
        if target:
            yield field, target_kind, target


def money_problems(store: Store) -> list[Problem]:
    """Payments and invoices are separate files so finance and owners never conflict in git;
    the price is that two clones can each record a payment that is fine alone but together
    exceed the contract. A merge can do that silently, so ``check`` looks."""
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


DATES = """
SELECT path, id, kind, parent, json_extract(data, '$.signed'), json_extract(data, '$.plan'),
       json_extract(data, '$.date')
FROM records WHERE kind IN ('contract', 'payment', 'invoice') AND data IS NOT NULL"""


def dating_problems(index: Index) -> list[Problem]:
    """Instalments, payments and invoices dated before their contract's signing: the rule
    the writes hold (``contract_rules.dating_problems``), for what a merge or a hand edit
    brought in."""
    from salesctl.ops.sales.contract_rules import dating_problems

    contracts: dict[str, tuple[str, dt.date | None, list[dt.date]]] = {}
    entries: dict[str, list[tuple[str, str, dt.date | None]]] = {}
    for path, record_id, kind, parent, signed, plan, day in index.execute(
        DATES, kinds=["contract", "payment", "invoice"]
    ):
        if kind == "contract":
            contracts[record_id] = (path, _day(signed), _dues(plan))
        elif parent:
            entries.setdefault(parent, []).append((path, record_id, _day(day)))
    problems = []
    for contract_id, (path, signed, dues) in contracts.items():
        own = entries.get(contract_id, [])
        paths = {entry_id: entry_path for entry_path, entry_id, _d in own}
        dated = [(entry_id, day) for _p, entry_id, day in own if day is not None]
        for entry_id, field, message in dating_problems(signed, dues, dated):
            problems.append(Problem(paths[entry_id] if entry_id else path, message, field))
    return problems


def _dues(plan: Any) -> list[dt.date]:
    """A stored plan's due dates (its JSON as the index holds it); none of a broken one."""
    try:
        rows = json.loads(plan) if isinstance(plan, str) else []
    except ValueError:
        return []
    dues = (
        [_day(r.get("due")) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    )
    return [d for d in dues if d is not None]


def _day(value: Any) -> dt.date | None:
    """A stored date as the index holds it (YYYY-MM-DD), or None."""
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
