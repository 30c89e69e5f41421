"""The pre-receive hook on a real bare repository, with real ``git push`` from clones in a
bare server-like environment; and ``salesctl codeowners``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG, git, make_store

NAMES = {"alice": "Alice Lin", "bob": "Bob Li", "lee": "Lee Chen", "dana": "Dana Wu"}
LOGIN_CONFIG = CONFIG.replace(
    "email: alice@acme.example, team: east, role: rep}",
    "email: alice@acme.example, team: east, role: rep, login: alice-gh}",
).replace(
    "email: lee@acme.example, team: east, role: lead}",
    "email: lee@acme.example, team: east, role: lead, login: LeeC}",
)


@pytest.fixture
def remote(tmp_path: Path, cli: Any) -> Path:
    """A bare repository holding a store, with salesctl's hook installed."""
    seed = make_store(tmp_path / "seed", LOGIN_CONFIG)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    result = cli("hook", "install", str(bare))
    assert result.code == 0, result.err
    return bare


def clone(remote: Path, name: str) -> Path:
    target = remote.parent / name
    git(remote.parent, "clone", "-q", str(remote), str(target))
    email = f"{name}@acme.example"
    git(target, "config", "user.email", email)
    git(target, "config", "user.name", NAMES.get(name, name))
    return target


def push(clone_dir: Path, *args: str, **pusher: str) -> subprocess.CompletedProcess[str]:
    """``git push`` with a server-like bare environment: no venv on PATH, no PYTHONPATH."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ["HOME"],
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"],
        **pusher,
    }
    return subprocess.run(
        ["git", "push", "origin", *(args or ("HEAD:main",))],
        cwd=clone_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def tip(remote: Path, ref: str = "main") -> str:
    return git(remote, "rev-parse", ref).strip()


def add_lead(cli: Any, clone_dir: Path, actor: str, company: str = "Acme") -> str:
    result = cli(
        "--store", str(clone_dir), "--as", actor, "lead", "add", "--company", company, "-f", "json"
    )
    assert result.code == 0, result.err
    return str(result.json()["id"])


def hand_edit(clone_dir: Path, path: str, field: str, value: Any, member: str) -> str:
    file = clone_dir / path
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data[field] = value
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(clone_dir, "add", "-A")
    git(
        clone_dir,
        "-c",
        f"user.name={NAMES[member]}",
        "-c",
        f"user.email={member}@acme.example",
        "commit",
        "-q",
        "-m",
        f"{member} edits {path}",
    )
    return git(clone_dir, "rev-parse", "HEAD").strip()


# -- the hook -------------------------------------------------------------------------------------


def test_installed_hook_is_self_contained(remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    text = hook.read_text()
    assert os.access(hook, os.X_OK)
    assert text.startswith("#!/bin/sh") and " -m salesctl hook pre-receive" in text
    import sys

    assert sys.executable in text  # named in full: server hooks get no useful PATH


def test_rep_push_touching_another_reps_lead_is_rejected_and_the_leads_is_accepted(
    remote: Path, cli: Any
) -> None:
    bob = clone(remote, "bob")
    lead = add_lead(cli, bob, "bob")
    assert push(bob, SALESCTL_PUSHER="bob").returncode == 0
    before = tip(remote)
    path = f"teams/east/bob/leads/{lead}/lead.yaml"

    alice = clone(remote, "alice")
    bad = hand_edit(alice, path, "stage", "qualified", "alice")
    pushed = push(alice, SALESCTL_PUSHER="alice")
    assert pushed.returncode != 0
    assert "push rejected for alice" in pushed.stderr
    assert bad[:10] in pushed.stderr and path in pushed.stderr
    assert "outside their data scope" in pushed.stderr
    assert tip(remote) == before  # nothing landed

    lee = clone(remote, "lee")
    good = hand_edit(lee, path, "stage", "qualified", "lee")
    pushed = push(lee, SALESCTL_PUSHER="lee")
    assert pushed.returncode == 0, pushed.stderr
    assert tip(remote) == good


def test_pusher_comes_from_the_forge_and_authors_do_not_count(remote: Path, cli: Any) -> None:
    lee = clone(remote, "lee")
    lead = add_lead(cli, lee, "lee", "Lee's")
    path = f"teams/east/lee/leads/{lead}/lead.yaml"
    # authored by lee, but nobody says who pushes: refused
    refused = push(lee)
    assert refused.returncode != 0 and "cannot tell who is pushing" in refused.stderr
    # GitLab's login of alice (login: alice-gh): alice may not write lee's directory
    refused = push(lee, GL_USERNAME="alice-gh")
    assert refused.returncode != 0 and "push rejected for alice-gh" in refused.stderr
    assert path in refused.stderr
    # Gitea's variable with lee's login (case-insensitive) is accepted; it beats SALESCTL_PUSHER
    accepted = push(lee, GITEA_PUSHER_NAME="leec", SALESCTL_PUSHER="alice")
    assert accepted.returncode == 0, accepted.stderr
    # gitolite's GL_USER with a member id
    hand_edit(lee, path, "phone", "13900000000", "lee")
    assert push(lee, GL_USER="lee").returncode == 0
    # an unknown login is refused
    hand_edit(lee, path, "phone", "13900000001", "lee")
    refused = push(lee, GL_USER="mallory")
    assert refused.returncode != 0 and "mallory" in refused.stderr


def test_a_push_cannot_grant_its_pusher_rights(remote: Path, cli: Any) -> None:
    bob = clone(remote, "bob")
    lead = add_lead(cli, bob, "bob")
    assert push(bob, SALESCTL_PUSHER="bob").returncode == 0
    alice = clone(remote, "alice")
    config = alice / "salesctl.yaml"
    config.write_text(
        config.read_text().replace("team: east, role: rep, login: alice-gh", "role: director"),
        encoding="utf-8",
    )
    git(alice, "commit", "-q", "-am", "promote myself")
    hand_edit(alice, f"teams/east/bob/leads/{lead}/lead.yaml", "stage", "qualified", "alice")
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0
    assert "salesctl.yaml: only directors and admins" in refused.stderr
    assert f"teams/east/bob/leads/{lead}/lead.yaml" in refused.stderr


def test_new_branches_are_checked_and_forced_pushes_to_main_refused(remote: Path, cli: Any) -> None:
    alice = clone(remote, "alice")
    git(alice, "switch", "-q", "-c", "alice/work")
    add_lead(cli, alice, "alice")
    ok = push(alice, "alice/work", SALESCTL_PUSHER="alice")
    assert ok.returncode == 0, ok.stderr
    # a new branch whose only new commit touches bob's directory
    git(alice, "switch", "-q", "-c", "sneaky")
    (alice / "teams/east/bob/leads").mkdir(parents=True)
    shutil.copytree(
        next((alice / "teams/east/alice/leads").iterdir()),
        alice / "teams/east/bob/leads/L-000000000000",
    )
    git(alice, "add", "-A")
    git(alice, "commit", "-q", "-m", "plant a lead on bob")
    refused = push(alice, "sneaky", SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and "teams/east/bob/leads" in refused.stderr
    assert "sneaky" not in git(remote, "branch", "--list")
    # rewriting main: only directors and admins
    lee = clone(remote, "lee")
    add_lead(cli, lee, "lee")
    assert push(lee, SALESCTL_PUSHER="lee").returncode == 0
    git(lee, "reset", "-q", "--hard", "HEAD~1")
    forced = push(lee, "--force", "HEAD:main", SALESCTL_PUSHER="lee")
    assert forced.returncode != 0 and "forced push" in forced.stderr
    assert push(lee, "--force", "HEAD:main", SALESCTL_PUSHER="dana").returncode == 0
    # deleting the default branch is refused; deleting your own branch is fine
    assert push(alice, ":alice/work", SALESCTL_PUSHER="alice").returncode == 0
    assert push(lee, ":main", SALESCTL_PUSHER="dana").returncode != 0


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_hook_with_require_signed(tmp_path: Path, cli: Any) -> None:
    key = tmp_path / "alice_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "alice_key.pub").read_text().strip()
    config = CONFIG.replace(
        "email: alice@acme.example, team: east, role: rep}",
        f"email: alice@acme.example, team: east, role: rep, ssh_keys: ['{public}']}}",
    )
    seed = make_store(tmp_path / "seed", config)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(seed, "push", "-q", str(bare), "main")
    assert cli("hook", "install", "--require-signed", str(bare)).code == 0
    alice = clone(bare, "alice")
    add_lead(cli, alice, "alice")
    refused = push(alice, SALESCTL_PUSHER="alice")
    assert refused.returncode != 0 and "is not signed" in refused.stderr
    git(alice, "reset", "-q", "--hard", "origin/main")
    for key_name, value in (
        ("gpg.format", "ssh"),
        ("user.signingkey", str(key)),
        ("commit.gpgsign", "true"),
    ):
        git(alice, "config", key_name, value)
    add_lead(cli, alice, "alice")
    accepted = push(alice, SALESCTL_PUSHER="alice")
    assert accepted.returncode == 0, accepted.stderr


def test_install_refuses_a_work_tree_and_keeps_a_foreign_hook(tmp_path: Path, cli: Any) -> None:
    work = make_store(tmp_path / "work")
    result = cli("hook", "install", str(work))
    assert result.code == 1 and "not a bare repository" in result.err
    bare = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    (bare / "hooks" / "pre-receive").write_text("#!/bin/sh\nexit 0\n")
    result = cli("hook", "install", str(bare))
    assert result.code == 1 and "--force" in result.err
    assert cli("hook", "install", "--force", str(bare)).code == 0
    assert (bare / "hooks" / "pre-receive.orig").read_text() == "#!/bin/sh\nexit 0\n"
    assert cli("hook", "install", str(bare)).code == 0  # ours: replaced without --force


# -- CODEOWNERS -----------------------------------------------------------------------------------


def owners(text: str) -> dict[str, list[str]]:
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    return {row[0]: row[1:] for row in rows}


def test_codeowners_from_the_config(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = make_store(tmp_path / "store", LOGIN_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    result = cli("codeowners")
    assert result.code == 0
    table = owners(result.out)
    assert table["/teams/east/alice/"] == ["@alice-gh", "@LeeC"]
    assert table["/teams/east/bob/"] == ["bob@acme.example", "@LeeC"]
    assert table["/teams/east/"] == ["@LeeC"]
    assert table["/teams/north/nora/"] == ["nora@acme.example", "nick@acme.example"]
    assert table["/salesctl.yaml"] == ["dana@acme.example", "ada@acme.example"]
    assert table["/.github/"] == table["/CODEOWNERS"] == table["/salesctl.yaml"]
    assert "/teams/east/carol/" not in table  # inactive members cannot approve anything
    assert table["/members/fay/"] == ["fay@acme.example", "dana@acme.example"]
    lines = [line.split()[0] for line in result.out.splitlines() if line and line[0] != "#"]
    assert lines.index("*") < lines.index("/teams/east/") < lines.index("/teams/east/alice/")

    assert cli("--as", "alice", "codeowners", "--write").code == 3
    before = git(root, "rev-parse", "HEAD")
    written = cli("--as", "ada", "codeowners", "--write")
    assert written.code == 0, written.err
    assert (root / "CODEOWNERS").read_text() == result.out
    log = git(root, "log", "-1", "--format=%ae%n%B")
    assert "ada@acme.example" in log and "Salesctl-Action: config.codeowners" in log
    assert git(root, "rev-list", "--count", f"{before.strip()}..HEAD").strip() == "1"
    assert cli("--as", "ada", "codeowners", "--write").out.startswith("CODEOWNERS is up to date")
    assert git(root, "rev-list", "--count", f"{before.strip()}..HEAD").strip() == "1"
