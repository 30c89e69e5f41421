"""``salesctl check --range A..B``: the real permission gate, applied to git history.

The CLI refuses what an actor may not do, but anyone can edit a file and commit it. This
module judges every change in a range of commits against the write scope of the actor the
platform authenticated (``--actor``: the pusher in a pre-receive hook, the pull request's
author in CI), or, without one, against each commit's author, which can be forged.

Data flow: the commits of the range → each commit's own changes (for a merge: only what
differs from a clean path-level merge of its parents, so an "evil merge" cannot hide a
change) → each changed path placed (``gitread.place_of``) and grouped by record → the rules
(``scopes.check_write``, the same functions the CLI uses) → ``Violation``s. Then the end
state B is validated with the foundation's record checks, reading blobs, never the work
tree, so it works on a bare repository during a push and on commits CI fetched but did not
check out.

Permissions come from ``salesctl.yaml`` as it was at the base of the range (A, or the old
tip of a pushed branch), so a push cannot grant its pusher new rights; a config change
takes effect for checks once it has landed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesctl import scopes
from salesctl.errors import Forbidden, Invalid, NotFound
from salesctl.model.config import Config, Member
from salesctl.model.kinds import KINDS, Kind
from salesctl.model.problems import Problem
from salesctl.model.rules import record_problems
from salesctl.ops.collab.check import reference_problems
from salesctl.ops.collab.gitread import (
    CONFIG_FILE,
    GITLINK_MODE,
    SYMLINK_MODE,
    CommitInfo,
    FileChange,
    GitReader,
    Place,
    load_fields,
    place_of,
)
from salesctl.ops.sales.ownership import CLOSED_LEAD_STAGES
from salesctl.store.layout import RECORD_ROOTS, Owner, RecordPath, parse_path, record_dir
from salesctl.store.validation import owner_problems

CONFIG_ACTION = "config.edit"  # directors ("*") and admins ("config.*") have it
MOVE_VERBS = ("assign", "claim", "release", "reclaim")
NOT_EDIT_VERBS = (*MOVE_VERBS, "add", "import", "delete")
# Creating a record of a kind, besides ``<kind>.add`` and ``<kind>.import``.
EXTRA_ADD = {
    "customer": ("lead.convert",),
    "deal": ("lead.convert",),
    "task": ("contract.add", "contract.sign", "contract.pay", "contract.invoice"),
    "payment": ("contract.pay",),
    "invoice": ("contract.invoice",),
}
# Editing a record of a kind, besides the role's own ``<kind>.*`` actions.
EXTRA_EDIT = {
    "customer": ("contact.",),
    "contract": ("contract.pay", "contract.invoice"),
    "payment": ("contract.pay",),
    "invoice": ("contract.invoice",),
}


@dataclass(frozen=True)
class Violation:
    commit: str
    path: str
    who: str  # the member judged (or the unknown author)
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{self.commit[:10]} ({self.who}):{where} {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"commit": self.commit, "path": self.path, "who": self.who, "message": self.message}


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
    """The base (whose config rules) and the tip (whose tree is validated) of a range."""
    if "..." in rev_range:
        left, right = rev_range.split("...", 1)
        a, b = git.require_commit(left or "HEAD"), git.require_commit(right or "HEAD")
        return git.merge_base(a, b), b
    if ".." in rev_range:
        left, right = rev_range.split("..", 1)
        return git.require_commit(left or "HEAD"), git.require_commit(right or "HEAD")
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
) -> AuditReport:
    """Judge ``commits`` (oldest first) with the config of ``base`` (else of ``tip``)."""
    report = AuditReport(label, base, tip, actor, commits=len(commits))
    config = rules_config(git, base, tip, report)
    judged: Member | None = None
    if actor is not None:
        judged = member_for(config, actor)
        if judged is None:
            raise NotFound(
                f"--actor {actor!r} is neither a member id nor a member's login in "
                f"{CONFIG_FILE} at {(base or tip)[:10]}",
                "use a member id, or add login: to the member in salesctl.yaml",
            )
    else:
        report.warnings.append(FORGED_AUTHOR_WARNING)
    with _allowed_signers(config) if require_signed else contextlib.nullcontext() as signers:
        infos = git.commits(
            commits,
            signatures=require_signed,
            config=[f"gpg.ssh.allowedSignersFile={signers}"] if signers else (),
        )
    judge = Judge(git, config)
    for info in infos:
        author = config.member_by_email(info.author_email)
        if require_signed:
            report.violations += signature_violations(info, author)
        member = judged or author
        if member is None:
            report.violations.append(
                Violation(
                    info.id,
                    "",
                    info.author_email,
                    f"author {info.author_name} <{info.author_email}> is not a member's email "
                    f"in {CONFIG_FILE}",
                )
            )
            continue
        if not member.active:
            report.violations.append(
                Violation(info.id, "", member.id, f"{member.id} is inactive and may not write")
            )
            continue
        report.violations += judge.commit(info, member)
    if validate:
        report.problems = validate_tip(git, base, tip)
    return report


def rules_config(git: GitReader, base: str | None, tip: str, report: AuditReport) -> Config:
    """The config that rules the range: the base's, else (a first push) the tip's."""
    for rev in (base, tip):
        if rev is None:
            continue
        found = git.config_at(rev)
        if found is None:
            continue
        config, problems = found
        if problems and rev == base:
            report.warnings.append(
                f"warning: {CONFIG_FILE} at {rev[:10]} has problems: {problems[0]}"
            )
        if rev == tip and base is not None:
            report.warnings.append(f"warning: {base[:10]} has no {CONFIG_FILE}; using the tip's")
        return config
    raise Invalid(f"no {CONFIG_FILE} at {(base or tip)[:10]}", "is this a salesctl store?")


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


# -- judging one commit ---------------------------------------------------------------------


class Judge:
    """Applies the write rules to each commit's own changes."""

    def __init__(self, git: GitReader, config: Config) -> None:
        self.git = git
        self.config = config

    def commit(self, info: CommitInfo, member: Member) -> list[Violation]:
        return self.changes(info.id, own_changes(self.git, info.id, info.parents), member)

    def changes(self, commit: str, changes: list[FileChange], member: Member) -> list[Violation]:
        found: list[Violation] = []

        def refuse(path: str, message: str) -> None:
            found.append(Violation(commit, path, member.id, message))

        groups: dict[str, list[tuple[FileChange, Place]]] = defaultdict(list)
        for change in changes:
            if change.new_mode in (SYMLINK_MODE, GITLINK_MODE):
                what = "a symlink" if change.new_mode == SYMLINK_MODE else "a submodule"
                refuse(change.path, f"is {what}; the store refuses symlinks and submodules")
                continue
            place = place_of(change.path)
            if place.owner is None:
                if not scopes.action_allowed(self.config, member, CONFIG_ACTION):
                    refuse(change.path, "only directors and admins may change this file")
            elif place.special == "stray":
                if not scopes.action_allowed(self.config, member, CONFIG_ACTION):
                    refuse(change.path, "is not where a record can live (docs/data-format.md)")
            elif place.special == "report":
                why = self._why_not(member, ("report.commit",), place.owner)
                if why:
                    refuse(change.path, why)
            else:
                assert place.record is not None
                groups[place.record].append((change, place))
        for record_id, items in groups.items():
            for path, message in self._record(commit, record_id, items, member):
                refuse(path, message)
        return found

    def _record(
        self,
        commit: str,
        record_id: str,
        items: list[tuple[FileChange, Place]],
        member: Member,
    ) -> Iterator[tuple[str, str]]:
        """Judge all changes to one record's files: a move, or adds/edits/deletes."""
        kind = items[0][1].kind
        assert kind is not None
        removed = {(p.owner, p.rel) for c, p in items if c.new_blob is None}
        added = {(p.owner, p.rel) for c, p in items if c.old_blob is None}
        sources = {o for o, rel in removed if rel == kind.file_name}
        targets = {o for o, rel in added if rel == kind.file_name}
        covered: set[str] = set()
        for source in sorted(sources - targets, key=str):
            for target in sorted(targets - sources, key=str):
                assert source is not None and target is not None
                moved = {rel for o, rel in removed if o == source} & {
                    rel for o, rel in added if o == target
                }
                covered |= {
                    c.path for c, p in items if p.rel in moved and p.owner in (source, target)
                }
                why = self._move(commit, kind, record_id, source, target, member)
                if why:
                    yield record_dir(source, kind, record_id), why
        for change, place in items:
            if change.path in covered:
                continue
            assert place.owner is not None
            why = self._file(change, place, member)
            if why:
                yield change.path, why

    def _file(self, change: FileChange, place: Place, member: Member) -> str | None:
        kind = place.file_kind
        assert kind is not None and place.owner is not None
        if change.old_blob is None:
            actions = (f"{kind.name}.add", f"{kind.name}.import", *EXTRA_ADD.get(kind.name, ()))
        elif change.new_blob is None:
            actions = (f"{kind.name}.delete",)
        else:
            actions = self._edit_actions(member, kind)
        why = self._why_not(member, actions, place.owner)
        if (
            why
            and kind.name == "task"
            and change.old_blob
            and change.new_blob
            and self._assignee_status_change(change, member)
        ):
            return None  # the assignee may start and finish their own task anywhere
        return why

    def _edit_actions(self, member: Member, kind: Kind) -> tuple[str, ...]:
        """Actions that may change a record of ``kind`` in place: ``<kind>.edit`` and any
        of the role's own actions on the kind other than creating, deleting and moving."""
        prefixes = (f"{kind.name}.", *EXTRA_EDIT.get(kind.name, ()))
        own = tuple(
            pattern
            for pattern in self.config.role_of(member).actions
            if pattern.startswith(prefixes) and pattern.rsplit(".", 1)[-1] not in NOT_EDIT_VERBS
        )
        return (f"{kind.name}.edit", *own)

    def _why_not(self, member: Member, actions: Sequence[str], owner: Owner) -> str | None:
        """None if any of ``actions`` is allowed on ``owner``'s directory, else the reason."""
        reason = ""
        for action in actions:
            try:
                scopes.check_write(self.config, member, action, owner)
                return None
            except Forbidden as exc:
                reason = reason or exc.message
        return reason

    def _move(
        self, commit: str, kind: Kind, record_id: str, source: Owner, target: Owner, member: Member
    ) -> str | None:
        """A record moved from ``source``'s directory to ``target``'s."""
        name = kind.name
        label = f"moves {record_id} from {source} to {target}"
        if source.is_pool:
            home = Owner(member=member.id, team=member.team)
            if target == home and scopes.action_allowed(self.config, member, f"{name}.claim"):
                return self._claim_cap(commit, kind, member, home, record_id)
            if self._why_target(member, f"{name}.assign", source, target) is None:
                return None
            return (
                f"{label}: out of the pool only as a claim into {member.id}'s own directory "
                f"(or an assignment by a lead or director)"
            )
        if target.is_pool:
            for action in (f"{name}.release", f"{name}.reclaim"):
                if self._why_target(member, action, source, target) is None:
                    return None
            return f"{label}: only the owner or their lead may return it to the pool"
        if self._why_target(member, f"{name}.assign", source, target) is None:
            return None
        return f"{label}: {self._why_target(member, f'{name}.assign', source, target)}"

    def _why_target(self, member: Member, action: str, source: Owner, target: Owner) -> str | None:
        try:
            scopes.check_write(self.config, member, action, source, target=target)
        except Forbidden as exc:
            return exc.message
        return None

    def _claim_cap(
        self, commit: str, kind: Kind, member: Member, home: Owner, record_id: str
    ) -> str | None:
        """Within ``pool.max_owned_leads`` open records of the kind after the commit?"""
        base = f"{home.dir}/{kind.plural}"
        paths = [
            p
            for p in self.git.list_paths(commit, [base + "/"])
            if p.count("/") == base.count("/") + 2 and p.endswith("/" + kind.file_name)
        ]
        stages = self.git.files_at(commit, paths)
        open_count = 0
        for path, content in stages.items():
            fields = load_fields(content, path) or {}
            if fields.get("stage") not in CLOSED_LEAD_STAGES:
                open_count += 1
        cap = self.config.max_owned_leads
        if open_count > cap:
            return (
                f"claims {record_id}: {member.id} would own {open_count} open {kind.name}s, "
                f"over the cap of {cap} (pool.max_owned_leads)"
            )
        return None

    def _assignee_status_change(self, change: FileChange, member: Member) -> bool:
        blobs = self.git.blobs([change.old_blob, change.new_blob])
        old = load_fields(blobs.get(change.old_blob or ""), change.path) or {}
        new = load_fields(blobs.get(change.new_blob or ""), change.path) or {}
        differ = {k for k in {*old, *new} if old.get(k) != new.get(k)}
        return (
            old.get("assignee") == member.id == new.get("assignee")
            and differ <= {"status"}
            and any(
                scopes.action_allowed(self.config, member, a) for a in ("task.done", "task.start")
            )
        )


# -- a commit's own changes -----------------------------------------------------------------


def own_changes(git: GitReader, commit: str, parents: Sequence[str]) -> list[FileChange]:
    """What ``commit`` itself changed. For a merge: the paths whose merged content differs
    from what a clean path-level three-way merge of its parents gives. That is an evil
    merge's extra edit, a conflict resolution, or a revert of one side's change; what a
    merge merely carries over from a parent is judged in the commit that made it."""
    if len(parents) <= 1:
        return git.diff(parents[0] if parents else None, commit)
    per_parent = [{c.path: c for c in git.diff(p, commit)} for p in parents]
    paths = sorted(set().union(*per_parent))
    base = git.merge_base(*parents)
    base_blobs = git.blob_ids(base, paths) if base else dict.fromkeys(paths)
    own = []
    for path in paths:
        result = next((d[path].new_blob for d in per_parent if path in d), None)
        mode = next((d[path].new_mode for d in per_parent if path in d), "100644")
        versions = [d[path].old_blob if path in d else result for d in per_parent]
        changed = {v for v in versions if v != base_blobs[path]}
        if len(changed) <= 1 and mode not in (SYMLINK_MODE, GITLINK_MODE):
            clean = next(iter(changed)) if changed else base_blobs[path]
            if result == clean:
                continue  # carried over from a parent: judged in the commit that made it
        first = per_parent[0].get(path)
        old_blob = first.old_blob if first else result
        old_mode = first.old_mode if first else mode
        status = "A" if old_blob is None else "D" if result is None else "M"
        own.append(FileChange(status, path, old_mode, mode, old_blob, result))
    return own


# -- validating the end state ---------------------------------------------------------------


def validate_tip(git: GitReader, base: str | None, tip: str) -> list[Problem]:
    """The foundation's record checks on the tree of ``tip``, read from blobs.

    Only the records the range changed are parsed (the base passed this check when it
    landed), unless the range changed ``salesctl.yaml`` or has no base: then all of them.
    Duplicate ids and references are looked up in the whole tree's file list.
    """
    found = git.config_at(tip)
    if found is None:
        return [Problem(CONFIG_FILE, f"is missing at {tip[:10]}")]
    config, problems = found
    problems = list(problems)
    listing = git.list_paths(tip, list(RECORD_ROOTS))
    if base is None:
        touched = listing
    else:
        changes = git.diff(base, tip)
        if any(c.path == CONFIG_FILE for c in changes):
            touched = listing
        else:
            touched = [c.path for c in changes if c.new_blob is not None]
    locs: list[RecordPath] = []
    for path in touched:
        place = place_of(path)
        if place.owner is None:
            continue
        loc = parse_path(path)
        if loc is not None:
            locs.append(loc)
        elif place.special == "stray":
            problems.append(
                Problem(path, "is not where a record can live (see docs/data-format.md)")
            )
    contents = git.files_at(tip, [loc.path for loc in locs])
    data_by_path: dict[str, dict[str, Any]] = {}
    wanted: set[str] = set()
    for loc in locs:
        data, record_probs = _parse_blob(config, loc, contents.get(loc.path))
        problems += record_probs
        wanted.add(loc.id)
        if data is not None:
            data_by_path[loc.path] = data
            wanted |= {str(v) for v in data.values() if isinstance(v, str) and v[:2] in _PREFIXES}
    locations = _locations(listing, wanted)
    for loc in locs:
        others = [p.path for p in locations.get(loc.id, []) if p.path != loc.path]
        if others:
            problems.append(
                Problem(
                    loc.path,
                    f"id {loc.id} also at {', '.join(others)} "
                    "(a merge duplicated it: keep one, `git rm -r` the other)",
                )
            )
        problems += owner_problems(config, loc)
        data = data_by_path.get(loc.path)
        if data is not None:
            problems += reference_problems(loc, data, locations)
    return sorted(set(problems), key=lambda p: (p.where, p.field or "", p.message))


_PREFIXES = {f"{kind.prefix}-" for kind in KINDS.values()}


def _parse_blob(
    config: Config, loc: RecordPath, content: bytes | None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    from salesctl import yamlio

    if content is None:
        return None, [Problem(loc.path, "is not a regular file")]
    try:
        raw = yamlio.loads(content, source=loc.path)
    except yamlio.YamlError as exc:
        return None, [Problem(exc.where, exc.detail)]
    data, problems = loc.kind.normalise(raw, loc.path)
    problems += record_problems(config, loc.kind, data, loc.path)
    return data, [_with_line(p, content) for p in problems]


def _with_line(problem: Problem, content: bytes) -> Problem:
    if not problem.field or ":" in problem.where:
        return problem
    key = problem.field.split(".")[0].split("[")[0]
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return Problem(f"{problem.where}:{number}", problem.message, problem.field)
    return problem


def _locations(listing: Sequence[str], wanted: set[str]) -> dict[str, list[RecordPath]]:
    """Where each wanted id lives in the tree (cheap string work first: 400k paths)."""
    locations: dict[str, list[RecordPath]] = defaultdict(list)
    for path in listing:
        if not path.endswith(".yaml"):
            continue
        name_start = path.rfind("/")
        stem = path[name_start + 1 : -5]
        candidate = (
            stem if stem in wanted else path[path.rfind("/", 0, name_start) + 1 : name_start]
        )
        if candidate in wanted:
            loc = parse_path(path)
            if loc is not None and loc.id == candidate:
                locations[candidate].append(loc)
    return locations
