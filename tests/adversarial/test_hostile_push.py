"""Hostile pushes against the pre-receive hook, and ``check --range`` in a doctored clone.

Each test is an attack a rep (alice, of team east) could make with plain git against a bare
remote that has salesctl's hook installed: smuggle objects in through refs that carry no
commits, or make git read something other than the objects a commit names. The hook must
refuse the ref, and read only real objects, so the permission rules cannot be swapped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import git
from test_hooks import add_lead, clone, hand_edit, push, tip
from test_hooks import remote as remote  # the fixture: a bare remote with the hook


def hash_blob(where: Path, text: str) -> str:
    return subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=where,
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def promoted_config(clone_dir: Path) -> str:
    """salesctl.yaml with alice made a director: what the attacker wants the hook to read."""
    text = (clone_dir / "salesctl.yaml").read_text(encoding="utf-8")
    promoted = text.replace("team: east, role: rep, login: alice-gh", "role: director")
    assert promoted != text
    return promoted


def bobs_lead(remote: Path, cli: Any) -> str:
    bob = clone(remote, "bob")
    lead = add_lead(cli, bob, "bob")
    assert push(bob, SALESCTL_PUSHER="bob").returncode == 0
    return f"teams/east/bob/leads/{lead}/lead.yaml"


def refs(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname)").split()


# -- the reported bypass ----------------------------------------------------------------------


def test_a_replace_ref_for_the_config_blob_is_refused(remote: Path, cli: Any) -> None:
    path = bobs_lead(remote, cli)
    alice = clone(remote, "alice")
    config_blob = git(alice, "rev-parse", "origin/main:salesctl.yaml").strip()
    fake = hash_blob(alice, promoted_config(alice))
    pushed = push(alice, f"{fake}:refs/replace/{config_blob}", SALESCTL_PUSHER="alice")
    assert pushed.returncode != 0
    assert "refs/replace/" in pushed.stderr
    assert not [r for r in refs(remote) if r.startswith("refs/replace/")]
    before = tip(remote)
    hand_edit(alice, path, "stage", "qualified", "alice")
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and path in refused.stderr
    assert tip(remote) == before


def test_a_replace_ref_already_on_the_server_changes_nothing(remote: Path, cli: Any) -> None:
    """A replacement that got there before the fix (or by an admin's mistake) is ignored."""
    path = bobs_lead(remote, cli)
    alice = clone(remote, "alice")
    config_blob = git(remote, "rev-parse", "main:salesctl.yaml").strip()
    fake = hash_blob(remote, promoted_config(alice))
    git(remote, "update-ref", f"refs/replace/{config_blob}", fake)
    # the server's own git now reads the fake config ...
    assert "alice-gh" not in git(remote, "show", "main:salesctl.yaml")
    before = tip(remote)
    hand_edit(alice, path, "stage", "qualified", "alice")
    refused = push(alice, SALESCTL_PUSHER="alice")
    # ... but the hook does not
    assert refused.returncode != 0 and "outside their data scope" in refused.stderr
    assert tip(remote) == before


def test_a_replace_ref_can_be_deleted_by_a_director_only(remote: Path) -> None:
    config_blob = git(remote, "rev-parse", "main:salesctl.yaml").strip()
    fake = hash_blob(remote, "org: x\n")
    ref = f"refs/replace/{config_blob}"
    git(remote, "update-ref", ref, fake)
    alice = clone(remote, "alice")
    assert push(alice, f":{ref}", SALESCTL_PUSHER="alice").returncode != 0
    assert ref in refs(remote)
    dana = clone(remote, "dana")
    deleted = push(dana, f":{ref}", SALESCTL_PUSHER="dana")
    assert deleted.returncode == 0, deleted.stderr
    assert ref not in refs(remote)


# -- its siblings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    ["refs/notes/commits", "refs/remotes/origin/main", "refs/stash", "refs/salesctl/anything"],
)
def test_refs_outside_branches_and_tags_are_refused_even_for_commits(
    remote: Path, cli: Any, ref: str
) -> None:
    alice = clone(remote, "alice")
    add_lead(cli, alice, "alice")
    for pusher in ("alice", "dana"):
        pushed = push(alice, f"HEAD:{ref}", SALESCTL_PUSHER=pusher)
        assert pushed.returncode != 0, pushed.stderr
        assert "only branches (refs/heads/) and tags (refs/tags/)" in pushed.stderr
    assert ref not in refs(remote)


def test_git_notes_cannot_be_pushed(remote: Path, cli: Any) -> None:
    alice = clone(remote, "alice")
    git(alice, "notes", "add", "-m", "role: director", "HEAD")
    pushed = push(alice, "refs/notes/commits", SALESCTL_PUSHER="alice")
    assert pushed.returncode != 0
    assert "refs/notes/commits" not in refs(remote)


def test_tags_are_for_directors_and_must_name_commits(remote: Path, cli: Any) -> None:
    alice = clone(remote, "alice")
    git(alice, "tag", "v1")
    refused = push(alice, "refs/tags/v1", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and "git.tag" in refused.stderr
    dana = clone(remote, "dana")
    git(dana, "tag", "-a", "-m", "year end", "fy2026")
    accepted = push(dana, "refs/tags/fy2026", SALESCTL_PUSHER="dana")
    assert accepted.returncode == 0, accepted.stderr
    # a tag of a blob, lightweight or annotated, is refused even for the director
    blob = hash_blob(dana, promoted_config(dana))
    git(dana, "tag", "blobby", blob)
    git(dana, "tag", "-a", "-m", "x", "blobby-annotated", blob)
    tree = git(dana, "rev-parse", "HEAD^{tree}").strip()
    git(dana, "tag", "treey", tree)
    for name in ("blobby", "blobby-annotated", "treey"):
        refused = push(dana, f"refs/tags/{name}", SALESCTL_PUSHER="dana")
        assert refused.returncode != 0, name
        assert "a branch or tag must name a commit" in refused.stderr, refused.stderr
        assert f"refs/tags/{name}" not in refs(remote)
    # deleting a tag: directors only
    assert push(alice, ":refs/tags/fy2026", SALESCTL_PUSHER="alice").returncode != 0
    assert "refs/tags/fy2026" in refs(remote)


def test_a_tag_is_judged_like_a_branch(remote: Path, cli: Any) -> None:
    """A director's tag on a rep's violating commit does not carry it in."""
    path = bobs_lead(remote, cli)
    dana = clone(remote, "dana")
    hand_edit(dana, path, "stage", "qualified", "alice")  # authored as alice, a forgery
    git(dana, "tag", "sneak")
    refused = push(dana, "refs/tags/sneak", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert "refs/tags/sneak" not in refs(remote)


def test_a_branch_pointing_at_a_blob_or_tree_is_refused(remote: Path) -> None:
    """git refuses non-commits on branches by itself; the hook says so too, in its words."""
    from salesctl.ops.collab.gitread import GitReader
    from salesctl.ops.collab.hooks import RefUpdate, ref_refusal

    reader = GitReader(remote)
    rules = reader.config_at(tip(remote))
    assert rules is not None
    blob = hash_blob(remote, "hello\n")
    tree = git(remote, "rev-parse", "main^{tree}").strip()
    zero = "0" * 40
    for target in (blob, tree):
        why = ref_refusal(reader, RefUpdate(zero, target, "refs/heads/x"), rules[0], "dana")
        assert "must name a commit" in why
    assert (
        ref_refusal(reader, RefUpdate(zero, tip(remote), "refs/heads/x"), rules[0], "alice") == ""
    )


# -- check --range in a doctored clone (CI on a pull request) ------------------------------------


def test_check_range_ignores_replace_refs_in_the_clone(remote: Path, cli: Any) -> None:
    path = bobs_lead(remote, cli)
    alice = clone(remote, "alice")
    base = git(alice, "rev-parse", "HEAD").strip()
    config_blob = git(alice, "rev-parse", "HEAD:salesctl.yaml").strip()
    git(alice, "replace", config_blob, hash_blob(alice, promoted_config(alice)))
    hand_edit(alice, path, "stage", "qualified", "alice")
    result = cli("--store", str(alice), "check", "--range", f"{base}..HEAD", "--actor", "alice")
    assert result.code != 0
    assert path in result.out + result.err


def test_check_range_ignores_grafts(remote: Path, cli: Any) -> None:
    """A graft can give a violating commit a fake parent whose tree already holds the change."""
    path = bobs_lead(remote, cli)
    alice = clone(remote, "alice")
    base = git(alice, "rev-parse", "HEAD").strip()
    bad = hand_edit(alice, path, "stage", "qualified", "alice")
    # a commit with the same tree "by the director", and a graft that makes it bad's parent
    cover = subprocess.run(
        ["git", "commit-tree", f"{bad}^{{tree}}", "-p", base, "-m", "cover"],
        cwd=alice,
        env={
            "GIT_AUTHOR_NAME": "Dana Wu",
            "GIT_AUTHOR_EMAIL": "dana@acme.example",
            "GIT_COMMITTER_NAME": "Dana Wu",
            "GIT_COMMITTER_EMAIL": "dana@acme.example",
            "PATH": "/usr/bin:/bin",
            "HOME": str(alice),
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    grafts = Path(git(alice, "rev-parse", "--git-path", "info/grafts").strip())
    grafts = grafts if grafts.is_absolute() else alice / grafts
    grafts.parent.mkdir(parents=True, exist_ok=True)
    grafts.write_text(f"{bad} {cover}\n", encoding="utf-8")
    # plain git is fooled: the bad commit seems to change nothing
    assert git(alice, "diff-tree", "-r", "--name-only", bad).strip() in ("", bad)
    # judged by author (no --actor), the cover commit would pass as the director's
    result = cli("--store", str(alice), "check", "--range", f"{base}..{bad}")
    assert result.code != 0
    assert path in result.out + result.err
    assert cover[:10] not in result.out  # the real range is the one commit, bad
