"""``salesctl check --range A..B``: the real permission gate, applied to git history.

The CLI refuses what an actor may not do, but anyone can edit a file and commit it. This
module judges every change in a range of commits against the write scope of the actor the
platform authenticated (``--actor``: the pusher in a pre-receive hook, the pull request's
author in CI), or, without one, against each commit's author, which can be forged.

Data flow: the commits of the range → the config that rules them and whom each is judged
as → its signature (``--require-signed``) → ``judge``: each commit's own changes (for a
merge: only what differs from a clean path-level merge of its parents, so an "evil merge"
cannot hide a change) grouped by record → the rules (``scopes.check_write``, the same
functions the CLI uses) → ``Violation``s. Then ``tip_check`` validates the end state B with
the foundation's record checks, reading blobs, never the work tree, so it works on a bare
repository during a push and on commits CI fetched but did not check out. This module
holds the entry points, the report and the signature check.

Permissions come from ``salesctl.yaml`` as it was at the base of the range (A; for the
hook, the default branch's), so a push cannot grant its pusher new rights; a config change
in the range rules the commits after it once it passed itself.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesctl.errors import Invalid, NotFound, UsageError
from salesctl.model.config import Config, Member
from salesctl.model.problems import Problem
from salesctl.ops.collab.gitread import CONFIG_FILE, CommitInfo, GitReader
from salesctl.ops.collab.judge import Judge, Violation
from salesctl.ops.collab.limits import Sizes
from salesctl.ops.collab.tip_check import validate_tip


@dataclass
class AuditReport:
    range: str
    base: str | None
    tip: str
    actor: str | None
    commits: int = 0
    violations: list[Violation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.problems

    def lines(self) -> list[str]:
        return [str(v) for v in self.violations] + [str(p) for p in self.problems]

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.range,
            "base": self.base,
            "tip": self.tip,
            "actor": self.actor,
            "commits": self.commits,
            "ok": self.ok,
            "violations": [v.as_json() for v in self.violations],
            "problems": [
                {"where": p.where, "field": p.field, "message": p.message} for p in self.problems
            ],
            "warnings": self.warnings,
        }


FORGED_AUTHOR_WARNING = (
    "warning: no --actor, so each commit is judged as its author; author fields can be "
    "forged (git commit --author), so pass --actor with the identity your platform "
    "authenticated (the pusher, the pull request's author)"
)


# -- entry points ---------------------------------------------------------------------------


def audit_range(
    cwd: Path, rev_range: str, *, actor: str | None = None, require_signed: bool = False
) -> AuditReport:
    """Judge every commit of ``rev_range`` (``A..B``, ``A...B`` or a single ``B``)."""
    git = GitReader(cwd)
    base, tip = range_ends(git, rev_range)
    out = git.text("rev-list", "--topo-order", "--reverse", rev_range, "--")
    commits = out.split()
    return audit_commits(
        git,
        commits,
        base=base,
        tip=tip,
        label=rev_range,
        actor=actor,
        require_signed=require_signed,
    )


def range_ends(git: GitReader, rev_range: str) -> tuple[str | None, str]:
    """The base (whose config rules) and the tip (whose tree is validated) of a range.

    Both ends must be named: git reads a missing one as HEAD, so ``$BASE..HEAD`` with an
    unset ``$BASE`` would judge nothing and pass."""
    for dots in ("...", ".."):
        if dots in rev_range:
            left, right = rev_range.split(dots, 1)
            if not left.strip() or not right.strip():
                raise UsageError(
                    f"--range {rev_range!r} needs both ends: A{dots}B",
                    "name the base and the tip, e.g. origin/main..HEAD; "
                    "is a CI variable for the base unset?",
                )
            a, b = git.require_commit(left), git.require_commit(right)
            return (git.merge_base(a, b) if dots == "..." else a), b
    if rev_range.startswith("^") or " " in rev_range:
        raise Invalid(f"unsupported range {rev_range!r}", "use A..B, A...B or a single commit")
    return None, git.require_commit(rev_range)


def audit_commits(
    git: GitReader,
    commits: Sequence[str],
    *,
    base: str | None,
    tip: str,
    label: str,
    actor: str | None = None,
    require_signed: bool = False,
    validate: bool = True,
    rules_at: str | None = None,
) -> AuditReport:
    """Judge ``commits`` (oldest first) with the config of ``rules_at`` (default: ``base``;
    without either, the tip's). A config change in the range rules the commits after it
    once it passed itself, so a promotion by someone allowed to make it counts and a
    self-promotion does not. ``base`` is also where the end state's diff starts."""
    report = AuditReport(label, base, tip, actor, commits=len(commits))
    config = rules_config(git, rules_at or base, tip, report)
    judged = _actor_member(config, actor, rules_at or base or tip)
    if actor is None:
        report.warnings.append(FORGED_AUTHOR_WARNING)
    with _allowed_signers(config) if require_signed else contextlib.nullcontext() as signers:
        infos = git.commits(
            commits,
            signatures=require_signed,
            config=[f"gpg.ssh.allowedSignersFile={signers}"] if signers else (),
        )
    judge = Judge(git, config)
    sizes = Sizes(config)
    for info in infos:
        found = _judge_commit(judge, info, judged, require_signed)
        report.violations += found
        sizes.note(info.id, (judged.id if judged else info.author_email), judge.last_changes)
        if not found and any(c.path == CONFIG_FILE for c in judge.last_changes):
            adopted = git.config_at(info.id)
            if adopted is not None and not adopted[1]:
                judge = Judge(git, adopted[0])
                judged = _actor_member(adopted[0], actor, info.id, required=False)
    report.violations += [Violation(*found) for found in sizes.violations(git)]
    if validate:
        report.problems = validate_tip(git, base, tip)
    return report


def _actor_member(
    config: Config, actor: str | None, rev: str, *, required: bool = True
) -> Member | None:
    """The member ``--actor`` names in ``config``; an unknown one is an error at the
    start of the range, and judged as nobody (every commit refused) after a config change."""
    if actor is None:
        return None
    member = member_for(config, actor)
    if member is None and required:
        raise NotFound(
            f"--actor {actor!r} is neither a member id nor a member's login in "
            f"{CONFIG_FILE} at {rev[:10]}",
            "use a member id, or add login: to the member in salesctl.yaml",
        )
    return member or Member(actor, actor, "", "", active=False)  # removed from the config


def _judge_commit(
    judge: Judge, info: CommitInfo, judged: Member | None, require_signed: bool
) -> list[Violation]:
    """One commit's violations, as ``judged`` (None: as its author)."""
    config = judge.config
    author = config.member_by_email(info.author_email)
    found = signature_violations(info, author) if require_signed else []
    member = judged or author
    judge.last_changes = []
    if member is None:
        message = (
            f"author {info.author_name} <{info.author_email}> is not a member's email "
            f"in {CONFIG_FILE}"
        )
        return [*found, Violation(info.id, "", info.author_email, message)]
    if not member.active:
        return [
            *found,
            Violation(info.id, "", member.id, f"{member.id} is inactive and may not write"),
        ]
    return found + judge.commit(info, member)


def rules_config(git: GitReader, base: str | None, tip: str, report: AuditReport) -> Config:
    """The config that rules the range: the base's, else (a first push) the tip's."""
    if base is not None:
        found = git.config_at(base)
        if found is not None:
            config, problems = found
            if problems:
                report.warnings.append(
                    f"warning: {CONFIG_FILE} at {base[:10]} has problems: {problems[0]}"
                )
            return config
    found = git.config_at(tip)
    if found is None:
        raise Invalid(f"no {CONFIG_FILE} at {(base or tip)[:10]}", "is this a salesctl store?")
    if base is not None:
        report.warnings.append(f"warning: {base[:10]} has no {CONFIG_FILE}; using the tip's")
    return found[0]


def member_for(config: Config, name: str) -> Member | None:
    """A member by id, forge login (``login:``) or email."""
    found = config.member(name)
    if found is not None:
        return found
    for member in config.members.values():
        if member.login and member.login.lower() == name.lower():
            return member
    return config.member_by_email(name) if "@" in name else None


# -- signatures -----------------------------------------------------------------------------


@contextlib.contextmanager
def _allowed_signers(config: Config) -> Iterator[str]:
    """An allowed-signers file from the members' ``ssh_keys`` (principal: member id)."""
    lines = []
    for member in config.members.values():
        for key in member.ssh_keys:
            parts = key.split()
            if len(parts) >= 2:
                lines.append(f'{member.id} namespaces="git" {parts[0]} {parts[1]}\n')
    fd, name = tempfile.mkstemp(prefix="salesctl-signers-", text=True)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.writelines(lines)
        yield name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def signature_violations(info: CommitInfo, author: Member | None) -> list[Violation]:
    who = author.id if author else info.author_email
    if author is None:
        return []  # reported as an unknown author already
    if not author.ssh_keys:
        return [Violation(info.id, "", who, f"unsigned: {who} has no ssh_keys in {CONFIG_FILE}")]
    if info.signature == "N":
        return [Violation(info.id, "", who, "is not signed (--require-signed)")]
    if info.signature != "G" or info.signer != author.id:
        by = f"a key of {info.signer}" if info.signer else "a key not in salesctl.yaml"
        state = {"B": "a bad signature", "E": "a signature that cannot be checked"}.get(
            info.signature, f"a signature by {by}"
        )
        return [Violation(info.id, "", who, f"carries {state}, not one of {who}'s keys")]
    return []
