"""Whose authority a push to the server is judged with (docs/permissions.md, "Which config
rules" and "Branches"): what lands on the default branch is judged, every commit of
old..new, against the default branch's config; other branches cannot lend their config
or move someone else's work. With a real bare remote and plain ``git push``, as in
test_hooks.py; and the file limits the hook shares with the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import git
from test_hooks import add_lead, clone, push
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
