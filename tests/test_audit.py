"""``salesctl check --range A..B``: every change in a range judged against the write scope of
the actor (or, forgeably, each commit's author), on real git stores with hand-made commits:
edits, renames on both sides, pool claims and releases, merges (an evil one too), mode
changes, symlinks and submodules, protected files, SSH signatures, end-state validation.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

NAMES = {
    "dana": "Dana Wu",
    "lee": "Lee Chen",
    "alice": "Alice Lin",
    "bob": "Bob Li",
    "carol": "Carol Xu",
    "ada": "Ada Admin",
    "nick": "Nick Wang",
}


# -- helpers ---------------------------------------------------------------------------------


SERIAL = itertools.count(1)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def add_lead(cli: Any, actor: str, *extra: str, company: str | None = None) -> str:
    # each lead its own company: the same one twice is refused as a duplicate (撞单)
    company = company or f"Acme {next(SERIAL)}"
    result = cli("--as", actor, "lead", "add", "--company", company, *extra, "-f", "json")
    assert result.code == 0, result.err
    return str(result.json()["id"])


def lead_dir(root: Path, lead_id: str) -> Path:
    found = [p.parent for p in root.glob(f"**/{lead_id}/lead.yaml")]
    assert len(found) == 1, found
    return found[0]


def commit_as(root: Path, member: str, message: str = "hand edit", *extra: str) -> str:
    """Stage everything and commit it by hand as ``member`` (name and email from the config)."""
    git(root, "add", "-A")
    git(
        root,
        "-c",
        f"user.name={NAMES.get(member, member)}",
        "-c",
        f"user.email={member}@acme.example",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        message,
        *extra,
    )
    return head(root)


def move(root: Path, source: str, target: str) -> None:
    """``git mv`` a record directory by hand (creating the new parent)."""
    (root / target).parent.mkdir(parents=True, exist_ok=True)
    git(root, "mv", source, target)


def set_field(path: Path, name: str, value: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[name] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def check(cli: Any, rev_range: str, *args: str) -> tuple[int, dict[str, Any], str]:
    result = cli("check", "--range", rev_range, *args, "-f", "json")
    assert result.code in (0, 1), result.err
    return result.code, result.json(), result.err


def offending(report: dict[str, Any]) -> set[tuple[str, str]]:
    """(short commit, path) of each violation."""
    return {(v["commit"][:10], v["path"]) for v in report["violations"]}


# -- salesctl's own commits, and hand edits ----------------------------------------------------


def test_salesctl_commits_pass_as_their_authors_with_a_forgery_warning(
    store: Path, cli: Any
) -> None:
    base = head(store)
    lead = add_lead(cli, "alice")
    pooled = add_lead(cli, "lee", "--pool", company="Pooled")
    assert cli("--as", "alice", "lead", "edit", lead, "--set", "stage=contacted").code == 0
    assert cli("--as", "lee", "lead", "assign", lead, "--to", "bob").code == 0
    assert cli("--as", "bob", "followup", "add", lead, "--text", "called").code == 0
    assert cli("--as", "alice", "lead", "claim", pooled).code == 0
    assert cli("--as", "alice", "lead", "release", pooled, "--reason", "no budget").code == 0
    code, report, err = check(cli, f"{base}..HEAD")
    assert code == 0, report
    assert report["commits"] == 7 and report["ok"] is True
    assert "author fields can be forged" in err
    # With an actor, the same range is judged as that one member: alice may not assign.
    code, report, _err = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    assert {v["who"] for v in report["violations"]} == {"alice"}
    code, _report, err = check(cli, f"{base}..HEAD", "--actor", "dana")
    assert code == 0 and "forged" not in err


def test_rep_editing_another_reps_lead_is_caught_and_the_lead_may(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "bob")
    base = head(store)
    set_field(lead_dir(store, lead) / "lead.yaml", "stage", "qualified")
    bad = commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    path = f"teams/east/bob/leads/{lead}/lead.yaml"
    assert offending(report) == {(bad[:10], path)}
    assert "outside their data scope" in report["violations"][0]["message"]
    # The text output names the commit and the path on one line.
    text = cli("check", "--range", f"{base}..HEAD", "--actor", "alice")
    assert text.code == 1 and bad[:10] in text.out and path in text.out
    assert check(cli, f"{base}..HEAD", "--actor", "lee")[0] == 0
    assert check(cli, f"{base}..HEAD", "--actor", "nick")[0] == 1  # another team's lead


def test_forged_author_is_caught_by_actor(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "bob")
    base = head(store)
    set_field(lead_dir(store, lead) / "lead.yaml", "phone", "13900000000")
    # alice commits, claiming to be the team lead
    commit_as(store, "alice", "edit", "--author", "Lee Chen <lee@acme.example>")
    code, report, err = check(cli, f"{base}..HEAD")
    assert code == 0 and "forged" in err  # the author field says lee: nothing to see...
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1 and report["violations"][0]["who"] == "alice"  # ...the pusher was alice


def test_unknown_and_inactive_authors(store: Path, cli: Any) -> None:
    base = head(store)
    lead = add_lead(cli, "alice")
    set_field(lead_dir(store, lead) / "lead.yaml", "phone", "13900000000")
    stranger = commit_as(store, "mallory")
    code, report, _ = check(cli, f"{base}..HEAD")
    assert code == 1
    assert [v["commit"] for v in report["violations"]] == [stranger]
    assert "not a member" in report["violations"][0]["message"]
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "carol")
    assert code == 1 and "inactive" in report["violations"][0]["message"]
    result = cli("check", "--range", f"{base}..HEAD", "--actor", "nobody")
    assert result.code == 1 and "nobody" in result.err
    assert cli("check", "--actor", "alice").code == 2  # --actor needs --range


# -- moves -------------------------------------------------------------------------------------


def test_renames_are_judged_on_both_sides(store: Path, cli: Any) -> None:
    bobs = add_lead(cli, "bob")
    alices = add_lead(cli, "alice")
    base = head(store)
    # alice takes bob's lead into her own directory (both sides: bob's and hers)
    move(store, f"teams/east/bob/leads/{bobs}", f"teams/east/alice/leads/{bobs}")
    took = commit_as(store, "alice")
    # and pushes her own lead onto bob
    move(store, f"teams/east/alice/leads/{alices}", f"teams/east/bob/leads/{alices}")
    gave = commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    messages = {v["commit"]: v["message"] for v in report["violations"]}
    assert set(messages) == {took, gave}
    assert "from bob to alice" in messages[took] and "from alice to bob" in messages[gave]
    assert check(cli, f"{base}..HEAD", "--actor", "lee")[0] == 0  # a lead assigns in the team


def test_pool_moves_only_as_claims_or_by_owner_and_lead(store: Path, cli: Any) -> None:
    pooled = [add_lead(cli, "lee", "--pool", company=f"P{i}") for i in range(3)]
    bobs = add_lead(cli, "bob")
    base = head(store)
    move(store, f"pool/leads/{pooled[0]}", f"teams/east/alice/leads/{pooled[0]}")
    claim = commit_as(store, "alice")
    move(store, f"pool/leads/{pooled[1]}", f"teams/east/bob/leads/{pooled[1]}")
    foist = commit_as(store, "alice")
    move(store, f"teams/east/bob/leads/{bobs}", f"pool/leads/{bobs}")
    release = commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    bad = {v["commit"] for v in report["violations"]}
    assert claim not in bad and bad == {foist, release}
    by_commit = {v["commit"]: v["message"] for v in report["violations"]}
    assert "only as a claim" in by_commit[foist]
    assert "only the owner or their lead" in by_commit[release]
    # bob may release his own; lee may move any of them
    assert check(cli, f"{release}~1..{release}", "--actor", "bob")[0] == 0
    assert check(cli, f"{base}..HEAD", "--actor", "lee")[0] == 0


def test_claims_beyond_the_cap_are_refused(store: Path, cli: Any) -> None:
    for i in range(5):  # the test config caps open leads at 5
        add_lead(cli, "alice", company=f"Own {i}")
    pooled = add_lead(cli, "lee", "--pool")
    base = head(store)
    move(store, f"pool/leads/{pooled}", f"teams/east/alice/leads/{pooled}")
    commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1 and "over the cap of 5" in report["violations"][0]["message"]


# -- merges ------------------------------------------------------------------------------------


def test_clean_merge_passes_and_evil_merge_is_caught(store: Path, cli: Any) -> None:
    alices = add_lead(cli, "alice")
    bobs = add_lead(cli, "bob")
    fork = head(store)
    assert cli("--as", "lee", "lead", "edit", bobs, "--set", "stage=contacted").code == 0
    main = head(store)
    git(store, "switch", "-q", "-c", "work", fork)
    assert cli("--as", "alice", "lead", "edit", alices, "--set", "stage=contacted").code == 0
    env = {"GIT_AUTHOR_EMAIL": "alice@acme.example", "GIT_COMMITTER_EMAIL": "alice@acme.example"}
    subprocess.run(
        ["git", "merge", "-q", "--no-edit", "main"],
        cwd=store,
        check=True,
        env={**os.environ, **env, "GIT_AUTHOR_NAME": "A", "GIT_COMMITTER_NAME": "A"},
    )
    clean = head(store)
    code, report, _ = check(cli, f"{main}..{clean}", "--actor", "alice")
    assert code == 0, report  # carrying lee's change over is not alice's change
    # An evil merge: the merge commit itself slips in an edit of bob's lead.
    git(store, "reset", "-q", "--hard", f"{clean}^1")
    subprocess.run(
        ["git", "merge", "-q", "--no-commit", "main"],
        cwd=store,
        check=True,
        env={**os.environ, **env, "GIT_AUTHOR_NAME": "A", "GIT_COMMITTER_NAME": "A"},
    )
    set_field(store / f"teams/east/bob/leads/{bobs}/lead.yaml", "phone", "13911112222")
    evil = commit_as(store, "alice", "Merge branch 'main' into work")
    assert len(git(store, "rev-parse", f"{evil}^@").split()) == 2
    code, report, _ = check(cli, f"{main}..{evil}", "--actor", "alice")
    assert code == 1
    assert offending(report) == {(evil[:10], f"teams/east/bob/leads/{bobs}/lead.yaml")}
    # Reverting one side's change in a merge is the merge's own change too.
    git(store, "reset", "-q", "--hard", f"{clean}^1")
    subprocess.run(
        ["git", "merge", "-q", "--no-commit", "main"],
        cwd=store,
        check=True,
        env={**os.environ, **env, "GIT_AUTHOR_NAME": "A", "GIT_COMMITTER_NAME": "A"},
    )
    git(store, "checkout", fork, "--", f"teams/east/bob/leads/{bobs}/lead.yaml")
    revert = commit_as(store, "alice", "Merge, dropping lee's edit")
    code, report, _ = check(cli, f"{main}..{revert}", "--actor", "alice")
    assert code == 1 and offending(report) == {
        (revert[:10], f"teams/east/bob/leads/{bobs}/lead.yaml")
    }


# -- what is not a record ----------------------------------------------------------------------


def test_config_ci_and_other_files_need_a_director_or_admin(store: Path, cli: Any) -> None:
    base = head(store)
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text().replace(
            "email: alice@acme.example, team: east, role: rep",
            "email: alice@acme.example, role: director",
        ),
        encoding="utf-8",
    )
    (store / ".github/workflows").mkdir(parents=True)
    (store / ".github/workflows/ci.yml").write_text("on: push\n")
    (store / ".gitattributes").write_text("* merge=ours\n")
    (store / "CODEOWNERS").write_text("* @alice\n")
    commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    assert {v["path"] for v in report["violations"]} == {
        "salesctl.yaml",
        ".github/workflows/ci.yml",
        ".gitattributes",
        "CODEOWNERS",
    }
    assert "only directors and admins" in report["violations"][0]["message"]
    for member in ("dana", "ada"):
        assert check(cli, f"{base}..HEAD", "--actor", member)[0] == 0, member


def test_rights_come_from_the_base_config_not_the_pushed_one(store: Path, cli: Any) -> None:
    bobs = add_lead(cli, "bob")
    base = head(store)
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text().replace(
            "email: alice@acme.example, team: east, role: rep",
            "email: alice@acme.example, team: east, role: lead",
        ),
        encoding="utf-8",
    )
    commit_as(store, "alice", "make me a lead")
    set_field(lead_dir(store, bobs) / "lead.yaml", "stage", "qualified")
    commit_as(store, "alice", "now I may")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1
    assert {v["path"] for v in report["violations"]} == {
        "salesctl.yaml",
        f"teams/east/bob/leads/{bobs}/lead.yaml",
    }


def test_symlinks_submodules_and_mode_changes(store: Path, cli: Any) -> None:
    alices = add_lead(cli, "alice")
    bobs = add_lead(cli, "bob")
    base = head(store)
    os.symlink("/etc/passwd", store / f"teams/east/alice/leads/{alices}/followups.yaml")
    commit_as(store, "alice")
    blob = git(store, "rev-parse", "HEAD").strip()
    git(store, "update-index", "--add", "--cacheinfo", f"160000,{blob},teams/east/alice/vendor")
    git(
        store,
        "-c",
        "user.name=Alice Lin",
        "-c",
        "user.email=alice@acme.example",
        "commit",
        "-q",
        "-m",
        "submodule",
    )
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "dana")
    assert code == 1  # not even a director may
    messages = sorted(v["message"] for v in report["violations"])
    assert any("symlink" in m for m in messages) and any("submodule" in m for m in messages)
    # A mode change is a change of the file: in scope for its owner only.
    git(store, "rm", "-q", "--cached", "teams/east/alice/vendor")
    git(store, "rm", "-q", f"teams/east/alice/leads/{alices}/followups.yaml")
    commit_as(store, "dana", "clean up")
    middle = head(store)
    git(store, "update-index", "--chmod=+x", f"teams/east/bob/leads/{bobs}/lead.yaml")
    git(
        store, "-c", "user.name=A", "-c", "user.email=alice@acme.example", "commit", "-q", "-m", "x"
    )
    assert git(store, "diff-tree", "-r", "--raw", "HEAD").count("100755") == 1
    code, report, _ = check(cli, f"{middle}..HEAD", "--actor", "alice")
    assert code == 1 and report["violations"][0]["path"].endswith(f"{bobs}/lead.yaml")
    assert any("outside their data scope" in v["message"] for v in report["violations"])
    # its owner may change it, but no record file may be executable (FINDINGS #17)
    code, report, _ = check(cli, f"{middle}..HEAD", "--actor", "bob")
    assert code == 1 and [v["message"][:34] for v in report["violations"]] == [
        "is executable (mode 100755); recor"
    ]


def test_deleting_needs_more_than_owning(store: Path, cli: Any) -> None:
    alices = add_lead(cli, "alice")
    base = head(store)
    git(store, "rm", "-q", "-r", f"teams/east/alice/leads/{alices}")
    commit_as(store, "alice")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice")
    assert code == 1 and "lead.delete" in report["violations"][0]["message"]
    assert check(cli, f"{base}..HEAD", "--actor", "lee")[0] == 0


# -- the end state -------------------------------------------------------------------------------


def test_end_state_is_validated_from_blobs(store: Path, cli: Any) -> None:
    alices = add_lead(cli, "alice")
    base = head(store)
    folder = lead_dir(store, alices)
    set_field(folder / "lead.yaml", "colour", "red")
    shutil.copytree(folder, store / f"pool/leads/{alices}")  # the same id twice
    commit_as(store, "alice")
    git(store, "checkout", "-q", "--detach", base)  # B need not be checked out
    code, report, _ = check(cli, f"{base}..main", "--actor", "alice")
    assert code == 1
    assert not report["violations"]
    text = " ".join(f"{p['where']} {p['field']} {p['message']}" for p in report["problems"])
    assert "colour" in text and f"id {alices} also at" in text
    assert f"teams/east/alice/leads/{alices}/lead.yaml" in text


# -- signatures ----------------------------------------------------------------------------------


def keypair(directory: Path, name: str) -> tuple[Path, str]:
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key, (directory / f"{name}.pub").read_text().strip()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_require_signed_refuses_unsigned_and_wrongly_signed_commits(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    alice_key, alice_pub = keypair(tmp_path, "alice")
    other_key, _ = keypair(tmp_path, "mallory")
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text().replace(
            "email: alice@acme.example, team: east, role: rep}",
            f"email: alice@acme.example, team: east, role: rep, ssh_keys: ['{alice_pub}']}}",
        ),
        encoding="utf-8",
    )
    commit_as(store, "dana", "alice's signing key")
    base = head(store)
    # salesctl's own commits follow the user's git signing settings (ssh format)
    git(store, "config", "gpg.format", "ssh")
    git(store, "config", "user.signingkey", str(alice_key))
    git(store, "config", "commit.gpgsign", "true")
    lead = add_lead(cli, "alice")
    signed = head(store)
    assert "SSH SIGNATURE" in git(store, "cat-file", "-p", signed)
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice", "--require-signed")
    assert code == 0, report
    # an unsigned hand commit, then one signed with a key that is not alice's
    git(store, "config", "commit.gpgsign", "false")
    set_field(lead_dir(store, lead) / "lead.yaml", "phone", "13900000000")
    unsigned = commit_as(store, "alice")
    git(store, "config", "user.signingkey", str(other_key))
    set_field(lead_dir(store, lead) / "lead.yaml", "phone", "13900000001")
    wrong = commit_as(store, "alice", "signed by someone else", "-S")
    code, report, _ = check(cli, f"{base}..HEAD", "--actor", "alice", "--require-signed")
    assert code == 1
    flagged = {v["commit"]: v["message"] for v in report["violations"]}
    assert set(flagged) == {unsigned, wrong}
    assert "not signed" in flagged[unsigned] and "not one of alice's keys" in flagged[wrong]
    # a member without keys cannot sign at all
    assert cli("--as", "bob", "lead", "add", "--company", "B").code == 0
    code, report, _ = check(cli, f"{wrong}..HEAD", "--require-signed")
    assert code == 1 and "has no ssh_keys" in report["violations"][0]["message"]
