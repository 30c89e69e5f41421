"""``customer merge`` and ``lead merge KEEP OTHER`` (issue 13 part 4): a duplicate folded into
the record that stays, in one commit, its history reachable from KEEP's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import git

ALLOWED = ("--allow-duplicate", "--reason", "made twice by two reps")


def ok(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return dict(result.json())


def head(store: Path) -> str:
    return git(store, "rev-parse", "HEAD").strip()


def one(store: Path, pattern: str) -> Path:
    (path,) = store.glob(pattern)
    return path


def load(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text("utf-8")))


def test_customer_merge_moves_children_fills_fields_repoints_and_keeps_history(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    keep = ok(cli, "--as", "alice", "customer", "add", "--name", "Merge Co")["id"]
    assert cli("--as", "alice", "contact", "add", keep, "--name", "Ann", "--phone",
               "138 0013 8000").code == 0  # fmt: skip
    other = ok(cli, "--as", "dana", "customer", "add", "--name", "Merge Co Ltd", "--to", "bob",
               "--industry", "textiles", "--tag", "expo", *ALLOWED)["id"]  # fmt: skip
    assert cli("--as", "bob", "contact", "add", other, "--name", "Bo", "--email",
               "bo@merge.example").code == 0  # fmt: skip
    quote = tmp_path / "quote.txt"
    quote.write_text("a quote", "utf-8")
    followup = ok(cli, "--as", "bob", "followup", "add", other, "--text", "called",
                  "--attach", str(quote))["id"]  # fmt: skip
    deal = ok(cli, "--as", "bob", "deal", "add", other, "--title", "Looms", "--amount", "5000")
    contract = ok(cli, "--as", "bob", "contract", "add", other, "--title", "Looms",
                  "--amount", "5000")  # fmt: skip
    other_commits = git(store, "log", "--format=%H", f"--grep=Salesctl-Record: {other}").split()

    before = head(store)
    assert cli("--as", "alice", "customer", "merge", keep, other).code == 3  # a rep may not
    assert head(store) == before
    merged = ok(cli, "--as", "lee", "customer", "merge", keep, other)

    assert git(store, "rev-list", f"{before}..HEAD").split() == [head(store)]  # one commit
    message = git(store, "log", "-1", "--format=%B")
    assert "Salesctl-Action: customer.merge" in message
    assert f"Salesctl-Record: {keep}" in message and f"Salesctl-Record: {other}" in message
    assert not list(store.glob(f"**/{other}/customer.yaml"))
    kept = load(one(store, f"teams/east/alice/customers/{keep}/customer.yaml"))
    assert merged["merged"] == kept["merged"] == [other]
    assert kept["name"] == "Merge Co" and kept["industry"] == "textiles"
    assert kept["tags"] == ["expo"]
    assert [c["name"] for c in kept["contacts"]] == ["Ann", "Bo"]
    moved = one(store, f"teams/east/alice/customers/{keep}/followups/{followup}.yaml")
    assert load(moved)["record"] == keep
    attachment = one(store, f"teams/east/alice/customers/{keep}/attachments/{followup}/*")
    assert attachment.read_text("utf-8") == "a quote"
    assert load(one(store, f"**/deals/{deal['id']}/deal.yaml"))["customer"] == keep
    assert load(one(store, f"**/contracts/{contract['id']}/contract.yaml"))["customer"] == keep
    assert git(store, "status", "--porcelain") == ""

    history = cli("--as", "lee", "customer", "history", keep, "-f", "json")
    assert history.code == 0, history.err
    entries = history.json()
    assert {e["commit"] for e in entries if e["record"] == other} >= set(other_commits)
    assert any(e["record"] == other and e["change"] == "created" for e in entries)
    assert cli("--as", "lee", "customer", "show", keep).code == 0
    assert cli("check").code == 0


def test_lead_merge_folds_a_duplicate_lead_and_refuses_nonsense(store: Path, cli: Any) -> None:
    keep = ok(cli, "--as", "alice", "lead", "add", "--company", "Twin Co")["id"]
    other = ok(cli, "--as", "lee", "lead", "add", "--company", "Twin Co", "--phone",
               "139 0000 1111", "--to", "bob", *ALLOWED)["id"]  # fmt: skip
    note = ok(cli, "--as", "bob", "followup", "add", other, "--text", "met at the expo")["id"]
    nora = ok(cli, "--as", "nora", "lead", "add", "--company", "North Co")["id"]

    before = head(store)
    assert cli("--as", "lee", "lead", "merge", keep, keep).code == 1
    assert cli("--as", "lee", "lead", "merge", keep, nora).code == 3  # lee cannot read north
    assert cli("--as", "lee", "lead", "merge", keep, "C-NOSUCHTHING1").code == 1
    assert head(store) == before

    assert cli("--as", "bob", "lead", "release", other, "--reason", "not mine").code == 0
    merged = ok(cli, "--as", "lee", "lead", "merge", keep, other)
    assert merged["phone"] == "139 0000 1111" and merged["merged"] == [other]
    # OTHER's own life (released to the pool, and why) is not KEEP's
    assert "released" not in merged and "release_reason" not in merged
    assert "duplicate_reason" not in merged  # KEEP was no override; OTHER's reason stays with it
    assert (
        load(one(store, f"teams/east/alice/leads/{keep}/followups/{note}.yaml"))["record"] == keep
    )
    assert not list(store.glob(f"**/{other}"))
    # the guard now sees one Twin Co, under KEEP, with OTHER's phone
    refused = cli("--as", "bob", "lead", "add", "--name", "X", "--phone", "+86 13900001111")
    assert refused.code == 1 and keep in refused.err
