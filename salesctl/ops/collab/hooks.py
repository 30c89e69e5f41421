"""Server-side enforcement: the ``pre-receive`` hook and the CODEOWNERS file.

``install_hook`` writes a ``pre-receive`` hook into a bare repository. Server hooks run with
a bare environment, so the hook names the Python interpreter that installed it (and a
``PYTHONPATH`` when salesctl is not installed in that interpreter) instead of trusting PATH.
On each push it runs ``salesctl hook pre-receive``, which is ``pre_receive`` below: it reads
the pusher from the hosting server's environment, judges the pushed commits with
``audit.audit_commits`` and rejects the whole push with the reasons.

A push has no work tree. Everything is read from the pushed objects (still in git's
quarantine while the hook runs). What lands on the default branch is judged by the
default branch's authority (docs/permissions.md, "Which config rules"): every commit of
``old..new``, however it reached the server, with ``salesctl.yaml`` at the old tip.
Another branch's new commits are judged with the default branch's config, never the
branch's own, and only its owner (``<member>/...``), their lead and directors move it
(``branch_refusal``). So neither a push nor a branch can grant the pusher rights.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import salesctl
from salesctl import scopes
from salesctl.errors import Conflict, Forbidden, Invalid, SalesctlError
from salesctl.model.config import Config, Member
from salesctl.ops.collab.audit import AuditReport, audit_commits, member_for
from salesctl.ops.collab.gitread import CONFIG_FILE, GitReader
from salesctl.ops.collab.judge import CONFIG_ACTION
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

HOOK_MARKER = "# salesctl pre-receive hook"
# Who is pushing, as the hosting server tells its hooks; the first one set wins.
PUSHER_VARIABLES = ("GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "SALESCTL_PUSHER")
CODEOWNERS_FILE = "CODEOWNERS"
# The only refs a push may write (docs/permissions.md, "What the hook relies on"): branches,
# and tags for roles with the ``git.tag`` action (directors). Everything else is refused
# whatever it points at: refs/replace/ swaps an object for every reader of the repository,
# refs/notes/ and invented namespaces carry objects nobody reviews.
BRANCHES = "refs/heads/"
TAGS = "refs/tags/"
TAG_ACTION = "git.tag"
# Files that change who may do what, or what CI checks: directors and admins only.
PROTECTED_FILES = (
    "/salesctl.yaml",
    "/CODEOWNERS",
    "/.gitattributes",
    "/.github/",
    "/.gitlab/",
    "/.gitlab-ci.yml",
    "/.gitea/",
    "/.forgejo/",
    "/.ci/",
    "/templates/",
)


# -- installing ---------------------------------------------------------------------------


def install_hook(repo_dir: Path, *, require_signed: bool = False, force: bool = False) -> Path:
    """Write the ``pre-receive`` hook into the bare repository ``repo_dir``."""
    if not repo_dir.is_dir():
        raise Invalid(f"{repo_dir} is not a directory", "pass the bare repository's directory")
    git = GitReader(repo_dir)
    bare = git.text("rev-parse", "--is-bare-repository", check=False).strip()
    if bare != "true":
        raise Invalid(
            f"{repo_dir} is not a bare repository",
            "install the hook where people push to (the server's bare repository), "
            "e.g. created with `git init --bare`",
        )
    hooks_dir = Path(git.text("rev-parse", "--git-path", "hooks").strip())
    if not hooks_dir.is_absolute():
        hooks_dir = repo_dir / hooks_dir
    hooks_dir.mkdir(parents=True, exist_ok=True)
    target = hooks_dir / "pre-receive"
    if target.exists() and HOOK_MARKER not in target.read_text(errors="replace"):
        if not force:
            raise Conflict(
                f"{target} exists and is not salesctl's",
                "merge it by hand, or pass --force to keep it as pre-receive.orig",
            )
        target.replace(target.with_name("pre-receive.orig"))
    tmp = target.with_name(".pre-receive.tmp")
    tmp.write_text(hook_script(require_signed=require_signed), encoding="utf-8")
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(target)
    return target


def hook_script(*, require_signed: bool = False) -> str:
    python = sys.executable
    package_parent = str(Path(salesctl.__file__).resolve().parent.parent)
    lines = [
        "#!/bin/sh",
        f"{HOOK_MARKER}: installed by `salesctl hook install`; run that again to update it.",
        "# Judges every pushed change against the pusher's write scope (docs/permissions.md).",
        "# The pusher comes from the server: " + ", ".join(f"${v}" for v in PUSHER_VARIABLES),
        "# Server hooks get a bare environment, so the interpreter is named in full.",
    ]
    if not _importable_without_path(python, package_parent):
        lines += [f"PYTHONPATH={shlex.quote(package_parent)}", "export PYTHONPATH"]
    # -P: do not put the current directory (the repository) on sys.path.
    command = [python, "-P", "-m", "salesctl", "hook", "pre-receive"]
    if require_signed:
        command.append("--require-signed")
    lines.append("exec " + " ".join(shlex.quote(part) for part in command))
    return "\n".join(lines) + "\n"


def _importable_without_path(python: str, package_parent: str) -> bool:
    """Does ``python`` import this very salesctl with an empty environment?"""
    try:
        proc = subprocess.run(
            [python, "-c", "import salesctl, os; print(os.path.dirname(salesctl.__file__))"],
            env={},
            cwd="/",
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    found = proc.stdout.strip()
    return proc.returncode == 0 and os.path.realpath(found) == os.path.realpath(
        os.path.join(package_parent, "salesctl")
    )


# -- running on a push ----------------------------------------------------------------------


@dataclass
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def created(self) -> bool:
        return set(self.old) == {"0"}

    @property
    def deleted(self) -> bool:
        return set(self.new) == {"0"}


@dataclass
class PushVerdict:
    pusher: str | None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reports: list[AuditReport] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    """``<old> <new> <ref>`` lines, as git feeds ``pre-receive`` on stdin."""
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def pusher_from(env: Mapping[str, str]) -> str | None:
    for name in PUSHER_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def pre_receive(
    repo_dir: Path,
    updates: list[RefUpdate],
    env: Mapping[str, str],
    *,
    require_signed: bool = False,
) -> PushVerdict:
    """Judge a push: every new commit against the pusher's write scope."""
    git = GitReader(repo_dir)
    pusher = pusher_from(env)
    verdict = PushVerdict(pusher)
    if pusher is None:
        verdict.reasons.append(
            "cannot tell who is pushing: the server set none of "
            + ", ".join(PUSHER_VARIABLES)
            + " (see docs/collaboration.md)"
        )
        return verdict
    with _one_judge_at_a_time(repo_dir):
        default_ref = git.text("symbolic-ref", "-q", "HEAD", check=False).strip()
        default_tip = git.commit(default_ref) if default_ref else None
        found = git.config_at(default_tip) if default_tip else None
        rules = found[0] if found else None
        if default_tip is None and git.text("for-each-ref", "--count=1", BRANCHES, check=False):
            # no authority to judge by: only a repository with no branch yet takes a first
            # push under its own config (a member must not create the default branch)
            verdict.reasons.append(
                f"the server's HEAD names {default_ref or 'no branch'}, which does not exist, "
                "so no config rules this repository: point it at the default branch "
                "(git symbolic-ref HEAD refs/heads/main, on the server)"
            )
            return verdict
        for update in updates:
            try:
                refusal = overtaken(git, update) or ref_refusal(
                    git, update, rules, pusher, default_ref
                )
                if refusal:
                    verdict.reasons.append(f"{update.ref}: {refusal}")
                    continue
                _judge_update(
                    git, update, pusher, default_ref, default_tip, require_signed, verdict
                )
            except SalesctlError as exc:
                verdict.reasons.append(f"{update.ref}: {exc}")
    return verdict


@contextlib.contextmanager
def _one_judge_at_a_time(repo_dir: Path) -> Iterator[None]:
    """Pushes racing for one branch are judged one after another, not all at once: only one
    of them can land, and twenty hooks auditing at the same time starve each other (and the
    winner) of CPU. The kernel drops the lock when a hook dies."""
    try:
        fd = os.open(repo_dir / "salesctl-hook.lock", os.O_RDWR | os.O_CREAT, 0o664)
    except OSError:  # a repository the hook may not write: judge unserialised
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def overtaken(git: GitReader, update: RefUpdate) -> str:
    """Why this update cannot land (empty if it still can): another push moved the ref
    since this one began, and git's compare-and-swap would refuse it after the hook anyway.
    Said at once, in the words ``salesctl sync`` retries on, instead of judging commits
    that cannot land."""
    now = git.text("rev-parse", "-q", "--verify", "--end-of-options", update.ref, check=False)
    if (now.strip() or "0" * len(update.old)) == update.old:
        return ""
    return (
        "another push moved this branch while yours was checked (fetch first); "
        "fetch, rebase and push again, or run `salesctl sync`"
    )


def ref_refusal(
    git: GitReader, update: RefUpdate, rules: Config | None, pusher: str, default_ref: str = ""
) -> str:
    """Why this ref may not be written at all (empty if it may), before any commit is read.

    Judging commits is not enough: a ref can point at a blob or a tree, and one under
    ``refs/replace/`` changes what every later read of the replaced object returns."""
    member = member_for(rules, pusher) if rules else None
    may = functools.partial(_may, rules, member)
    name = update.ref
    if not name.startswith(BRANCHES) and not name.startswith(TAGS):
        if update.deleted and may(CONFIG_ACTION):
            return ""  # a director or admin cleaning up, e.g. a replace ref pushed long ago
        return (
            "only branches (refs/heads/) and tags (refs/tags/) may be pushed here; "
            "refs/replace/, refs/notes/ and other namespaces are refused"
        )
    if rules is not None and (member is None or not member.active):
        return f"{pusher} is not an active member in {CONFIG_FILE} (see docs/collaboration.md)"
    if name.startswith(TAGS) and not may(TAG_ACTION):
        return f"only roles with the {TAG_ACTION} action (directors) may push or delete tags"
    if name.startswith(BRANCHES) and name != default_ref and rules and member:
        refusal = branch_refusal(git, update, rules, member)
        if refusal:
            return refusal
    if update.deleted:
        return ""
    kind = git.text("cat-file", "-t", update.new, check=False).strip()
    if kind != "commit" and not (name.startswith(TAGS) and git.commit(update.new)):
        what = f"a {kind}" if kind else "an object that is not here"
        return f"points at {what}; a branch or tag must name a commit"
    return ""


def branch_refusal(git: GitReader, update: RefUpdate, rules: Config, member: Member) -> str:
    """Who may move a branch other than the default one (docs/permissions.md, "Branches").

    ``<member>/...`` (a member id or login) is that member's: only they, their team's lead
    and directors and admins push to it or delete it. Any other branch is shared: every
    member may create it and add commits; rewriting or deleting it throws away what others
    pushed there, which only leads, directors and admins may."""
    name = update.ref[len(BRANCHES) :]
    owner = member_for(rules, name.split("/", 1)[0])  # <member>/..., or <member> itself
    if owner is not None:
        if _covers(rules, member, owner):
            return ""
        return (
            f"is {owner.id}'s branch: only {owner.id}, their team's lead and directors may "
            f"push to it or delete it (push yours as {member.id}/...)"
        )
    rewrites = update.deleted or (
        not update.created
        and not git.succeeds("merge-base", "--is-ancestor", update.old, update.new)
    )
    if not rewrites or _covers(rules, member, None):
        return ""
    what = "deleting" if update.deleted else "a forced push to"
    return (
        f"{what} a shared branch throws away what others pushed to it; only leads and "
        f"directors may (name your own branches {member.id}/... to rewrite or delete them)"
    )


def _covers(rules: Config, member: Member, owner: Member | None) -> bool:
    """Is ``member`` the branch's owner, a lead of the owner's team (of any team, for a
    shared branch), or a director or admin?"""
    if owner is not None and member.id == owner.id:
        return True
    if scopes.action_allowed(rules, member, CONFIG_ACTION):
        return True
    if rules.role_of(member).scope != "team":
        return False
    return owner is None or (member.team is not None and member.team == owner.team)


def _may(rules: Config | None, member: Member | None, action: str) -> bool:
    return rules is not None and member is not None and scopes.action_allowed(rules, member, action)


def _judge_update(
    git: GitReader,
    update: RefUpdate,
    pusher: str,
    default_ref: str,
    default_tip: str | None,
    require_signed: bool,
    verdict: PushVerdict,
) -> None:
    if update.deleted:
        if update.ref == default_ref:
            verdict.reasons.append(f"{update.ref}: deleting the default branch is refused")
        return
    base = None if update.created else update.old
    if update.ref == default_ref:
        if base is not None and not _may_move_default(git, base, update.new, pusher):
            verdict.reasons.append(
                f"{update.ref}: a forced push rewrites the shared history; only directors "
                "and admins may (fetch, rebase and push again: `salesctl sync`)"
            )
            return
        # Everything that lands, however it came to the server: a commit pushed to another
        # branch earlier was judged there under no authority the default branch granted.
        commits = _rev_list(git, f"{base}..{update.new}" if base else update.new)
        rules_at = base
    else:
        # Commits new to the server, under the default branch's rules, never the branch's
        # own (a branch may carry a config nobody reviewed); they are judged again if they
        # ever land on the default branch.
        commits = _rev_list(git, update.new, "--not", "--all")
        rules_at = default_tip or base
    report = audit_commits(
        git,
        commits,
        base=base or default_tip,
        tip=update.new,
        label=f"{update.ref} {update.old[:10]}..{update.new[:10]}",
        actor=pusher,
        require_signed=require_signed,
        validate=bool(commits),
        rules_at=rules_at,
    )
    verdict.reports.append(report)
    verdict.reasons += [f"{update.ref}: {line}" for line in report.lines()]
    verdict.warnings += [w for w in report.warnings if w not in verdict.warnings]


def _rev_list(git: GitReader, *revs: str) -> list[str]:
    return git.text("rev-list", "--topo-order", "--reverse", *revs).split()


def _may_move_default(git: GitReader, old: str, new: str, pusher: str) -> bool:
    """A fast-forward (or a merge) of the default branch, or a rewrite by a director."""
    return git.succeeds("merge-base", "--is-ancestor", old, new) or _may_rewrite(git, old, pusher)


def _may_rewrite(git: GitReader, base: str, pusher: str) -> bool:
    found = git.config_at(base)
    if found is None:
        return True  # not a store yet: nothing of ours to protect
    config = found[0]
    member = member_for(config, pusher)
    return member is not None and scopes.action_allowed(config, member, CONFIG_ACTION)


# -- CODEOWNERS -------------------------------------------------------------------------------


def codeowners_text(config: Config) -> str:
    """A CODEOWNERS file: member directories owned by the member and their lead, team
    directories by the lead, the pool by the leads, config and CI by directors and admins.
    Later lines win (GitHub, GitLab and Gitea agree), so the general ones come first."""
    active = [m for m in config.members.values() if m.active]
    directors = [m for m in active if m.role == "director"] or [
        m for m in active if config.role_of(m).scope == "all" and m.role != "finance"
    ]
    admins = [m for m in active if m.role == "admin"]
    leads = {
        team: [m for m in active if m.team == team and m.role == "lead"] for team in config.teams
    }
    rows: list[tuple[str, list[Member]]] = [("*", directors)]
    all_leads = [m for team in config.teams for m in leads[team]]
    rows.append(("/pool/", [*all_leads, *directors]))
    for path in ("/okrs/", "/reports/"):
        rows.append((path, directors))
    for team in config.teams:
        rows.append((f"/teams/{team}/", leads[team] or directors))
        for member in active:
            if member.team == team:
                rows.append((f"/teams/{team}/{member.id}/", [member, *leads[team]]))
    for member in active:
        if member.team is None:
            rows.append((f"/members/{member.id}/", [member, *directors]))
    for path in PROTECTED_FILES:
        rows.append((path, [*directors, *admins]))
    width = max(len(path) for path, _ in rows) + 2
    lines = [
        f"# {CODEOWNERS_FILE}: generated from {CONFIG_FILE} by `salesctl codeowners --write`;",
        "# edit the config and run it again instead of editing this file.",
        "# It binds only with branch protection that requires code-owner review:",
        "# see docs/permissions.md. Later lines take precedence over earlier ones.",
        "",
    ]
    for path, owners in rows:
        handles = list(dict.fromkeys(_handle(m) for m in owners))
        if handles:
            lines.append(f"{path.ljust(width)}{' '.join(handles)}".rstrip())
    return "\n".join(lines) + "\n"


def _handle(member: Member) -> str:
    """``@login`` for forges; the email where no login is known (GitHub accepts both)."""
    return f"@{member.login.lstrip('@')}" if member.login else member.email


def write_codeowners(
    store: Store, actor: Member, *, opts: WriteOpts = WRITE
) -> WriteResult[str] | None:
    """Write ``CODEOWNERS`` at the store's top in one commit (None if it is unchanged)."""
    config = store.config
    if not scopes.action_allowed(config, actor, "config.codeowners"):
        raise Forbidden(
            f"{actor.id} ({actor.role}) may not change {CODEOWNERS_FILE}",
            "ask a director or an admin",
        )
    text = codeowners_text(config)
    target = store.root / CODEOWNERS_FILE
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return None
    with store.transaction(actor, "config.codeowners", opts) as tx:
        tx.write_file(CODEOWNERS_FILE, text.encode("utf-8"))
        tx.summary = f"config.codeowners: {CODEOWNERS_FILE} from {CONFIG_FILE}"
    return tx.result(text)
