"""Whose authority a push to the server is judged with (docs/permissions.md, "Which config
rules" and "Branches"): what lands on the default branch is judged, every commit of
old..new, against the default branch's config; other branches cannot lend their config
or move someone else's work. With a real bare remote and plain ``git push``, as in
test_hooks.py; and the file limits the hook shares with the CLI.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml
from conftest import git
from test_hooks import add_lead, clone, push, tip
from test_hooks import remote as remote  # the fixture: a bare remote with the hook

ALICE_REP = "team: east, role: rep, login: alice-gh"
ALICE_LEAD = "team: east, role: lead, login: alice-gh"
ALICE_DIRECTOR = "role: director, login: alice-gh"


def edit_config(clone_dir: Path, old: str, new: str, message: str) -> str:
    """Change one member's line of salesctl.yaml and commit it as the clone's owner."""
    config = clone_dir / "salesctl.yaml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    git(clone_dir, "commit", "-q", "-am", message)
    return git(clone_dir, "rev-parse", "HEAD").strip()


def edit_as(clone_dir: Path, path: str, field: str, value: Any, author: str) -> str:
    """Change one field of a record by hand and commit it, authored by ``author``."""
    file = clone_dir / path
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data[field] = value
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(clone_dir, "add", "-A")
    who = ["-c", f"user.name={author}", "-c", f"user.email={author}@acme.example"]
    git(clone_dir, *who, "commit", "-q", "-m", f"{author} edits {path}")
    return git(clone_dir, "rev-parse", "HEAD").strip()


def bobs_lead(remote: Path, cli: Any) -> str:
    bob = clone(remote, "bob")
    lead = add_lead(cli, bob, "bob", "Co 1")
    assert push(bob, SALESCTL_PUSHER="bob").returncode == 0
    return f"teams/east/bob/leads/{lead}/lead.yaml"


# -- the default branch is judged by its own authority -----------------------------------------


def test_a_promotion_waiting_on_a_branch_gives_no_rights(remote: Path, cli: Any) -> None:
    """FINDINGS #1 (a): a rep pushed onto the director's open promotion branch, was judged as
    the director it would make her, and fast-forwarded main to it."""
    path = bobs_lead(remote, cli)
    dana = clone(remote, "dana")
    git(dana, "switch", "-q", "-c", "promote-alice")
    edit_config(dana, ALICE_REP, ALICE_DIRECTOR, "PROPOSAL: alice -> director")
    assert push(dana, "HEAD:refs/heads/promote-alice", SALESCTL_PUSHER="dana").returncode == 0
    proposal = tip(remote, "promote-alice")

    alice = clone(remote, "alice")
    git(alice, "switch", "-q", "-c", "p", "origin/promote-alice")
    edit_as(alice, path, "stage", "qualified", "alice")
    refused = push(alice, "HEAD:refs/heads/promote-alice", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert path in refused.stderr and "outside their data scope" in refused.stderr
    assert tip(remote, "promote-alice") == proposal
    # her own work may go on the branch for review ...
    git(alice, "reset", "-q", "--hard", "origin/promote-alice")
    add_lead(cli, alice, "alice", "Co 2")
    assert push(alice, "HEAD:refs/heads/promote-alice", SALESCTL_PUSHER="alice").returncode == 0
    # ... but landing the unreviewed promotion on main is not hers to do
    before = tip(remote)
    landed = push(alice, "HEAD:main", SALESCTL_PUSHER="alice")
    assert landed.returncode != 0
    assert "salesctl.yaml: only directors and admins" in landed.stderr
    assert tip(remote) == before
    # the director lands it once reviewed: every commit of it judged as him
    git(dana, "fetch", "-q")
    merged = push(dana, "refs/remotes/origin/promote-alice:refs/heads/main", SALESCTL_PUSHER="dana")
    assert merged.returncode == 0, merged.stderr
    assert tip(remote) == tip(remote, "promote-alice")


def test_a_demoted_member_cannot_land_what_her_old_role_allowed(remote: Path, cli: Any) -> None:
    """FINDINGS #1 (b): a branch cut while she led the team, merged after her demotion."""
    path = bobs_lead(remote, cli)
    dana = clone(remote, "dana")
    edit_config(dana, ALICE_REP, ALICE_LEAD, "alice leads east")
    assert push(dana, SALESCTL_PUSHER="dana").returncode == 0
    assert push(dana, "HEAD:refs/heads/q3", SALESCTL_PUSHER="dana").returncode == 0
    alice = clone(remote, "alice")
    git(alice, "switch", "-q", "-c", "q3", "origin/q3")
    edit_as(alice, path, "stage", "qualified", "alice")
    assert push(alice, "HEAD:refs/heads/q3", SALESCTL_PUSHER="alice").returncode == 0  # a lead
    edit_config(dana, ALICE_LEAD, ALICE_REP, "alice is a rep again")
    assert push(dana, SALESCTL_PUSHER="dana").returncode == 0

    git(alice, "fetch", "-q")
    git(alice, "switch", "-q", "-c", "m", "origin/main")
    git(alice, "merge", "-q", "--no-edit", "q3")  # a clean merge: nothing of its own
    before = tip(remote)
    refused = push(alice, "HEAD:main", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert path in refused.stderr and "outside their data scope" in refused.stderr
    assert tip(remote) == before
    # a new edit on the old branch is judged by main's rules as well
    git(alice, "switch", "-q", "q3")
    edit_as(alice, path, "stage", "contacted", "alice")
    assert push(alice, "HEAD:refs/heads/q3", SALESCTL_PUSHER="alice").returncode != 0
    # the team's lead may land the branch as it is
    lee = clone(remote, "lee")
    git(lee, "merge", "-q", "--no-edit", "origin/q3")
    landed = push(lee, SALESCTL_PUSHER="lee")
    assert landed.returncode == 0, landed.stderr


def test_a_config_change_rules_the_commits_after_it_in_the_same_push(
    remote: Path, cli: Any
) -> None:
    path = bobs_lead(remote, cli)
    # an admin may make herself a director, and act as one in the same push
    ada = clone(remote, "ada")
    edit_config(ada, "role: admin", "role: director", "ada directs")
    edit_as(ada, path, "stage", "qualified", "ada")
    accepted = push(ada, SALESCTL_PUSHER="ada")
    assert accepted.returncode == 0, accepted.stderr
    # a director who makes herself a rep is judged as one from that commit on
    dana = clone(remote, "dana")
    edit_config(
        dana,
        "email: dana@acme.example, role: director",
        f"email: dana@acme.example, {ALICE_REP.replace(', login: alice-gh', '')}",
        "dana sells",
    )
    edit_as(dana, path, "stage", "contacted", "dana")
    before = tip(remote)
    refused = push(dana, SALESCTL_PUSHER="dana")
    assert refused.returncode != 0 and path in refused.stderr
    assert "salesctl.yaml" not in refused.stderr  # that change was hers to make
    assert tip(remote) == before
    # the director's promotion, then the promoted member's own commit: his to land, not hers
    git(dana, "reset", "-q", "--hard", "origin/main")
    edit_config(dana, ALICE_REP, ALICE_LEAD, "alice leads east")
    edit_as(dana, path, "stage", "contacted", "alice")
    refused = push(dana, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and "salesctl.yaml: only directors" in refused.stderr
    assert tip(remote) == before
    accepted = push(dana, SALESCTL_PUSHER="dana")
    assert accepted.returncode == 0, accepted.stderr


# -- branches ------------------------------------------------------------------------------------


def test_a_members_branch_is_theirs_and_shared_ones_are_rewritten_by_leads(
    remote: Path, cli: Any
) -> None:
    """FINDINGS #14: any member deleted or force-pushed over another's branch."""
    alice = clone(remote, "alice")
    add_lead(cli, alice, "alice", "Co 3")
    assert push(alice, "HEAD:refs/heads/alice/wip", SALESCTL_PUSHER="alice").returncode == 0
    assert push(alice, "HEAD:refs/heads/alice-gh/pr", SALESCTL_PUSHER="alice").returncode == 0
    wip = tip(remote, "alice/wip")
    bob = clone(remote, "bob")
    add_lead(cli, bob, "bob", "Co 4")
    for args in (":refs/heads/alice/wip", "+HEAD:refs/heads/alice/wip", ":refs/heads/alice-gh/pr"):
        refused = push(bob, args, SALESCTL_PUSHER="bob")
        assert refused.returncode != 0 and "is alice's branch" in refused.stderr, args
    git(bob, "fetch", "-q")
    git(bob, "merge", "-q", "--no-edit", "origin/alice/wip")  # adding to it too
    assert push(bob, "HEAD:refs/heads/alice/wip", SALESCTL_PUSHER="bob").returncode != 0
    assert push(bob, ":refs/heads/alice/wip", SALESCTL_PUSHER="nick").returncode != 0  # north
    assert tip(remote, "alice/wip") == wip
    assert push(bob, ":refs/heads/alice/wip", SALESCTL_PUSHER="lee").returncode == 0
    assert push(alice, ":refs/heads/alice-gh/pr", SALESCTL_PUSHER="alice").returncode == 0

    # a shared branch: anyone adds to it; rewinding or deleting it is for leads and directors
    assert push(alice, "HEAD:refs/heads/campaign", SALESCTL_PUSHER="alice").returncode == 0
    git(bob, "fetch", "-q")
    git(bob, "reset", "-q", "--hard", "origin/campaign")
    add_lead(cli, bob, "bob", "Co 5")
    assert push(bob, "HEAD:refs/heads/campaign", SALESCTL_PUSHER="bob").returncode == 0
    shared = tip(remote, "campaign")
    for args in ("+HEAD~1:refs/heads/campaign", ":refs/heads/campaign"):
        refused = push(alice, args, SALESCTL_PUSHER="alice")
        assert refused.returncode != 0 and "shared branch" in refused.stderr, args
    assert tip(remote, "campaign") == shared
    assert push(alice, ":refs/heads/campaign", SALESCTL_PUSHER="lee").returncode == 0
    assert "campaign" not in git(remote, "branch", "--list")


# -- the pool cap over a merge ---------------------------------------------------------------


def test_claims_on_two_branches_cannot_merge_past_the_cap(remote: Path, cli: Any) -> None:
    """FINDINGS #6: each branch's claims were within the cap (5), their merge over it."""
    lee = clone(remote, "lee")
    pooled = []
    for i in range(4):
        added = cli("--store", str(lee), "--as", "lee", "lead", "add", "--company", f"Pool {i}",
                    "--pool", "-f", "json")  # fmt: skip
        assert added.code == 0, added.err
        pooled.append(added.json()["id"])
    assert push(lee, SALESCTL_PUSHER="lee").returncode == 0
    alice = clone(remote, "alice")
    add_lead(cli, alice, "alice", "Own 1")
    add_lead(cli, alice, "alice", "Own 2")
    assert push(alice, SALESCTL_PUSHER="alice").returncode == 0

    def claim(branch: str, ids: list[str]) -> None:
        git(alice, "switch", "-q", "-c", branch, "origin/main")
        claimed = cli("--store", str(alice), "--as", "alice", "lead", "claim", *ids)
        assert claimed.code == 0, claimed.err  # 4 open leads on each branch

    claim("a", pooled[:2])
    claim("b", pooled[2:])
    git(alice, "merge", "-q", "--no-edit", "a")  # 6 open leads, over the cap of 5
    before = tip(remote)
    refused = push(alice, "HEAD:main", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert "alice would own 6 open leads, over the cap of 5" in refused.stderr
    assert tip(remote) == before
    checked = cli(
        "--store", str(alice), "check", "--range", "origin/main..HEAD", "--actor", "alice"
    )
    assert checked.code == 1 and "over the cap of 5" in checked.out + checked.err
    # one branch alone is within the cap
    assert push(alice, "a:main", SALESCTL_PUSHER="alice").returncode == 0


# -- ranges, warnings -----------------------------------------------------------------------------


def test_a_range_needs_both_ends(store: Path, cli: Any) -> None:
    """FINDINGS #7: ``--range "$BASE..HEAD"`` with an unset $BASE judged nothing and passed."""
    for rev_range in ("..HEAD", "HEAD..", "..", "...HEAD", "HEAD...", " ..HEAD"):
        result = cli("check", "--range", rev_range, "--actor", "alice")
        assert result.code == 2, (rev_range, result.err)
        assert f"--range {rev_range!r} needs both ends" in result.err
        assert "ok:" not in result.err
    assert cli("check", "--range", "HEAD..HEAD", "--actor", "alice").code == 0


def test_no_false_warning_for_a_branch_at_a_known_commit(remote: Path, cli: Any) -> None:
    """FINDINGS #16: "<sha> has no salesctl.yaml; using the tip's", when it has one."""
    dana = clone(remote, "dana")
    pushed = push(dana, "HEAD:refs/heads/x", SALESCTL_PUSHER="dana")
    assert pushed.returncode == 0, pushed.stderr
    assert "has no salesctl.yaml" not in pushed.stderr
    checked = cli("--store", str(dana), "check", "--range", "HEAD..HEAD", "--actor", "dana")
    assert checked.code == 0 and "has no salesctl.yaml" not in checked.err


# -- what a file may be: the CLI's limits ---------------------------------------------------


def test_the_hook_applies_the_clis_size_limits(remote: Path, cli: Any, tmp_path: Path) -> None:
    """FINDINGS #11: a 200 MB attachment was accepted; ``--attach`` stops at 10 MB."""
    alice = clone(remote, "alice")
    lead = add_lead(cli, alice, "alice", "Co 6")
    note = tmp_path / "note.txt"
    note.write_text("minutes")
    added = cli("--store", str(alice), "--as", "alice", "followup", "add", lead, "--text", "met",
                "--attach", str(note))  # fmt: skip
    assert added.code == 0, added.err
    assert push(alice, SALESCTL_PUSHER="alice").returncode == 0
    folder = next((alice / "teams/east/alice/leads" / lead / "attachments").iterdir())
    before = tip(remote)
    (folder / "big.bin").write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    git(alice, "add", "-A")
    git(alice, "commit", "-q", "-m", "big")
    git(alice, "rm", "-q", str(folder / "big.bin"))
    git(alice, "commit", "-q", "-m", "gone again, but every clone would keep the blob")
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert "big.bin: is 10485761 bytes, over the 10 MB limit" in refused.stderr, refused.stderr
    assert tip(remote) == before
    # a record file: yamlio's limit
    git(alice, "reset", "-q", "--hard", "origin/main")
    edit_as(
        alice, f"teams/east/alice/leads/{lead}/lead.yaml", "notes", "x" * (1024 * 1024), "alice"
    )
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and "over the 1 MB limit" in refused.stderr
    assert tip(remote) == before
    # at the limit is fine
    git(alice, "reset", "-q", "--hard", "origin/main")
    (folder / "fits.bin").write_bytes(b"\0" * (10 * 1024 * 1024))
    git(alice, "add", "-A")
    git(alice, "commit", "-q", "-m", "fits")
    accepted = push(alice, SALESCTL_PUSHER="alice")
    assert accepted.returncode == 0, accepted.stderr


def test_an_executable_record_file_is_refused_and_check_names_it(remote: Path, cli: Any) -> None:
    """FINDINGS #17: ``chmod +x`` of a rep's own lead.yaml was accepted."""
    alice = clone(remote, "alice")
    lead = add_lead(cli, alice, "alice", "Co 7")
    assert push(alice, SALESCTL_PUSHER="alice").returncode == 0
    path = f"teams/east/alice/leads/{lead}/lead.yaml"
    file = alice / path
    file.chmod(file.stat().st_mode | stat.S_IXUSR)
    git(alice, "update-index", "--chmod=+x", path)
    git(alice, "commit", "-q", "-m", "chmod")
    before = tip(remote)
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert f"{path}: is executable (mode 100755)" in refused.stderr
    assert tip(remote) == before
    checked = cli("--store", str(alice), "check")
    assert checked.code == 1 and f"{path}: is executable" in checked.out + checked.err
    file.chmod(file.stat().st_mode & ~0o111)
    assert cli("--store", str(alice), "check").code == 0


def test_a_merge_that_sets_the_executable_bit_is_judged(remote: Path, cli: Any) -> None:
    """Review: a merge that only changed a carried-over file's mode was not judged."""
    alice = clone(remote, "alice")
    lead = add_lead(cli, alice, "alice", "Co 8")
    assert push(alice, SALESCTL_PUSHER="alice").returncode == 0
    bob = clone(remote, "bob")
    add_lead(cli, bob, "bob", "Co 9")
    assert push(bob, SALESCTL_PUSHER="bob").returncode == 0
    git(alice, "fetch", "-q")
    git(alice, "merge", "-q", "--no-commit", "--no-ff", "origin/main")
    path = f"teams/east/alice/leads/{lead}/lead.yaml"
    git(alice, "update-index", "--chmod=+x", path)
    git(alice, "commit", "-q", "-m", "merge")
    before = tip(remote)
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and f"{path}: is executable" in refused.stderr
    assert tip(remote) == before


def test_a_branch_named_as_a_member_is_theirs_too(remote: Path, cli: Any) -> None:
    """Review: ``refs/heads/alice`` was a shared branch, so bob could take it, and git's
    ref layout then kept alice from ever making ``alice/...``."""
    bob = clone(remote, "bob")
    refused = push(bob, "HEAD:refs/heads/alice", SALESCTL_PUSHER="bob")
    assert refused.returncode != 0 and "is alice's branch" in refused.stderr
    alice = clone(remote, "alice")
    assert push(alice, "HEAD:refs/heads/alice", SALESCTL_PUSHER="alice").returncode == 0


def test_a_head_naming_a_missing_branch_takes_no_push(remote: Path, cli: Any) -> None:
    """Review: with the server's HEAD on a branch that does not exist, no config ruled, so a
    rep could create that branch under her own config (a director in it) and then rewind
    main. Only a repository with no branch at all takes a first push."""
    git(remote, "symbolic-ref", "HEAD", "refs/heads/master")
    alice = clone(remote, "alice")
    git(alice, "fetch", "-q", "origin", "main")
    git(alice, "checkout", "-q", "FETCH_HEAD")
    edit_config(alice, ALICE_REP, ALICE_DIRECTOR, "alice -> director")
    before = tip(remote)
    for args in ("HEAD:refs/heads/master", ":refs/heads/main"):
        refused = push(alice, args, SALESCTL_PUSHER="alice")
        assert refused.returncode != 0 and "which does not exist" in refused.stderr, args
    assert tip(remote) == before
    assert "master" not in git(remote, "branch", "--list")
