"""The whole truth table, end to end: every built-in role, plus a participant, a mentioned
member and the service member with a task, for reading and for each action, through the
CLI and through ``check --range`` alike (docs/permissions.md).

For every (member, action, record) the CLI's answer must be the table's. And the gate must
agree with the CLI: a change the CLI made passes ``check --range --actor MEMBER``; a change
the CLI refused (exit 3), made instead by the director, fails it as that member.

The records: alice's lead (nora, of the other team, a participant; nick, the other team's
lead, @mentioned in a follow-up), bob's lead (alice's teammate), nora's lead, a pool lead,
and alice's signed contract (its "Activate service" step is sam's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import git
from test_tasks import ok, signed_contract, steps_of

MEMBERS = ("dana", "lee", "alice", "bob", "nick", "nora", "fay", "sam", "ada")

# action -> {record: members allowed}; "*" is everyone. Reading is exit 0 or 3; every
# other action is also judged by the gate.
EXPECTED: dict[str, dict[str, str]] = {
    "read": {
        "A": "dana lee alice nick nora ada",  # finance reads contracts, not leads (SPEC §3)
        "B": "dana lee bob ada",
        "N": "dana nick nora ada",
        "P": "*",
        "K": "dana lee alice fay sam ada",
    },
    "edit": {
        "A": "dana lee alice",
        "B": "dana lee bob",
        "N": "dana nick nora",
        "P": "dana lee nick",
    },
    "followup": {
        "A": "dana lee alice nora",
        "B": "dana lee bob",
        "N": "dana nick nora",
        "P": "dana lee nick",
    },
    "release": {"A": "dana lee alice", "B": "dana lee bob", "N": "dana nick nora"},
    "assign": {"A": "dana lee", "B": "dana lee", "N": "dana"},
    "activate": {"K": "dana lee alice sam"},
    "pay": {"K": "dana fay"},
    "invoice": {"K": "dana fay"},
    "cancel": {"K": "dana lee"},
    "member add": {"-": "dana ada"},
}


NEW_MEMBER = ["member", "add", "zed", "--name", "Zed", "--email", "zed@acme.example"]
NEW_MEMBER += ["--role", "rep", "--team", "east"]


def command(action: str, target: str, ids: dict[str, str]) -> list[str]:
    """The CLI arguments of ``action`` on record ``target``."""
    rid = ids.get(target, "")
    kind = "contract" if target == "K" else "lead"
    return {
        "read": [kind, "show", rid],
        "edit": ["lead", "edit", rid, "--set", "source=expo"],
        "followup": ["followup", "add", rid, "--text", "called them"],
        "release": ["lead", "release", rid, "--reason", "not ours"],
        "assign": ["lead", "assign", rid, "--to", "bob" if target != "B" else "alice"],
        "activate": ["contract", "activate", rid],
        "pay": ["contract", "pay", rid, "--amount", "100"],
        "invoice": ["contract", "invoice", rid, "--amount", "100", "--number", "INV-1"],
        "cancel": ["contract", "cancel", rid, "--reason", "withdrawn"],
        "member add": NEW_MEMBER,
    }[action]


def build(store: Path, cli: Any) -> dict[str, str]:
    def lead(owner: str, *extra: str) -> str:
        return ok(cli, "--as", owner, "lead", "add", "--company", f"{owner} Co", *extra)["id"]  # type: ignore[no-any-return]

    ids = {
        "A": lead("alice", "--set", "participants=nora"),
        "B": lead("bob"),
        "N": lead("nora"),
        "P": lead("lee", "--pool"),
    }
    ok(cli, "--as", "alice", "followup", "add", ids["A"], "--text", "@nick do you know them?")
    made = signed_contract(cli, store)
    assert steps_of(made)["Activate service"]["assignee"] == "sam"
    ids["K"] = made["id"]
    return ids


def gate(cli: Any, base: str, actor: str) -> int:
    result = cli("check", "--range", f"{base}..HEAD", "--actor", actor, "-f", "json")
    assert result.code in (0, 1), result.err
    return result.code  # type: ignore[no-any-return]


def test_every_role_for_every_action_cli_and_gate_alike(store: Path, cli: Any) -> None:
    ids = build(store, cli)
    base = git(store, "rev-parse", "HEAD").strip()
    problems: list[str] = []
    checked = 0

    def reset() -> None:
        git(store, "reset", "-q", "--hard", base)
        git(store, "clean", "-qfd")

    def expect(what: bool, message: Callable[[], str]) -> None:
        if not what:
            problems.append(message())

    for action, targets in EXPECTED.items():
        for target, allowed in targets.items():
            args = command(action, target, ids)
            for member in MEMBERS:
                should = allowed == "*" or member in allowed.split()
                result = cli("--as", member, *args, "-f", "json")
                checked += 1
                label = f"{member} {action} {target}"
                expect(
                    result.code == (0 if should else 3),
                    lambda: (
                        f"{label}: exit {result.code}, wanted {0 if should else 3}"
                        f" ({result.err.strip()})"
                    ),
                )
                if action == "read":
                    continue
                moved = git(store, "rev-parse", "HEAD").strip() != base
                if result.code == 0:
                    expect(moved, lambda: f"{label}: exit 0 but no commit")
                    expect(gate(cli, base, member) == 0, lambda: f"{label}: gate refuses it")
                elif result.code == 3:
                    expect(not moved, lambda: f"{label}: refused but committed")
                    by_director = cli("--as", "dana", *args, "-f", "json")
                    assert by_director.code == 0, (label, by_director.err)
                    expect(gate(cli, base, member) == 1, lambda: f"{label}: gate lets it pass")
                reset()
    assert problems == [], "\n".join(problems)
    assert checked == len(MEMBERS) * sum(len(t) for t in EXPECTED.values())
