"""Judging one commit's changes against the write rules, for ``check --range`` (``audit``).

Data flow: a commit → its own changes (``own_changes``: for a merge, only what differs
from a clean path-level merge of its parents, so an "evil merge" cannot hide a change) →
each changed path placed (``gitread.place_of``) and grouped by record → a move between
owners' directories, or adds/edits/deletes of a record's files → the same
``scopes.check_write`` the CLI uses, with the config that rules the range → one
``Violation`` per refused path. Reads blobs only (claims count open records in the
commit's tree), never the work tree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from salesctl import scopes, sealing
from salesctl.errors import Forbidden
from salesctl.model.config import Config, Member
from salesctl.model.kinds import Kind
from salesctl.ops.collab.gitread import (
    CommitInfo,
    FileChange,
    GitReader,
    load_fields,
    refused_mode,
)
from salesctl.ops.collab.limits import EXECUTABLE_MODE, merge_claims, mode_refusal, open_owned
from salesctl.ops.collab.places import Place, place_of
from salesctl.store.layout import Owner, record_dir

CONFIG_ACTION = "config.edit"  # directors ("*") and admins ("config.*") have it
MOVE_VERBS = ("assign", "claim", "release", "reclaim")
# note: adds a note file; remove: deletes a toolkit item
NOT_EDIT_VERBS = (*MOVE_VERBS, "add", "import", "delete", "remove", "note")
# Creating a record of a kind, besides ``<kind>.add`` and ``<kind>.import``.
EXTRA_ADD = {
    "customer": ("lead.convert",),
    "deal": ("lead.convert",),
    "task": ("contract.add", "contract.sign", "contract.pay", "contract.invoice"),
    "payment": ("contract.pay",),
    "invoice": ("contract.invoice",),
    "note": ("competitor.note",),
}
# Deleting a record of a kind, instead of ``<kind>.delete``.
DELETE_ACTIONS = {"toolkit": ("toolkit.remove",)}
# Editing a record of a kind, besides the role's own ``<kind>.*`` actions.
EXTRA_EDIT = {
    "customer": ("contact.",),
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


# -- judging one commit ---------------------------------------------------------------------


class Judge:
    """Applies the write rules to each commit's own changes."""

    def __init__(self, git: GitReader, config: Config) -> None:
        self.git = git
        self.config = config
        self.last_changes: list[FileChange] = []  # the last commit's own changes

    def commit(self, info: CommitInfo, member: Member) -> list[Violation]:
        changes = own_changes(self.git, info.id, info.parents)
        self.last_changes = changes
        found = self.changes(info.id, changes, member)
        if len(info.parents) > 1:
            cap = self.config.max_owned_leads
            for message in merge_claims(self.git, info.id, info.parents, member, cap):
                found.append(Violation(info.id, "", member.id, message))
        return found

    def changes(self, commit: str, changes: list[FileChange], member: Member) -> list[Violation]:
        found: list[Violation] = []
        placed = [(change, place_of(change.path)) for change in changes]
        shared = self._mention_shares(placed)

        def refuse(path: str, message: str) -> None:
            found.append(Violation(commit, path, member.id, message))

        groups: dict[str, list[tuple[FileChange, Place]]] = defaultdict(list)
        for change, place in placed:
            executable = mode_refusal(change)
            if executable:
                refuse(change.path, executable)
            refused = refused_mode(change.new_mode)
            if refused:
                refuse(change.path, refused)
                continue
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
            elif place.special == "readers":
                # who an encrypted record is sealed to: whoever writes the record's directory
                # (its owner's side, a move's, a rekey's) rewrites it with its files
                assert place.kind is not None
                verbs = ("edit", "assign", "claim", "release", "reclaim", "convert", "add")
                actions = (*(f"{place.kind.name}.{v}" for v in verbs), "config.rekey")
                why = self._why_not(member, actions, place.owner)
                if why and change.path not in shared:
                    refuse(change.path, why)
            else:
                assert place.record is not None
                groups[place.record].append((change, place))
        for record_id, items in groups.items():
            for path, message in self._record(commit, record_id, items, member):
                if path not in shared:
                    refuse(path, message)
        return found

    def _mention_shares(self, placed: list[tuple[FileChange, Place]]) -> set[str]:
        """The paths a follow-up's @mention may change in an encrypted record beyond its
        author's own scope (``Sealer``: the mentioned member becomes a reader): the record's
        ``readers.yaml``, where readers were only added and each is mentioned by a follow-up
        this commit adds, and its other sealed files, re-encrypted with their fields
        unchanged. Only a gate that opens both versions of each file can tell; the
        follow-up itself is judged as any other (a participant may add one)."""
        by_dir: dict[str, list[tuple[FileChange, Place]]] = defaultdict(list)
        for change, place in placed:
            if place.record is not None:
                by_dir[change.path[: -len(place.rel)]].append((change, place))
        shared: set[str] = set()
        for items in by_dir.values():
            readers = [c for c, p in items if p.special == "readers"]
            if len(readers) != 1 or not self._readers_mentioned(readers[0], items):
                continue
            others = [c for c, p in items if c is not readers[0] and c.old_blob and c.new_blob]
            resealed = [c for c in others if self._resealed(c)]
            shared |= {readers[0].path, *(c.path for c in resealed)}
        return shared

    def _readers_mentioned(self, change: FileChange, items: list[tuple[FileChange, Place]]) -> bool:
        """Did ``change`` (a readers.yaml) only add readers that a new follow-up mentions?"""
        from salesctl.errors import Invalid
        from salesctl.ops.sales.followups import mentions_in
        from salesctl.store.reader_rule import manifest_readers

        blobs = self.git.blobs([b for b in (change.old_blob, change.new_blob) if b])
        try:
            old = manifest_readers(blobs.get(change.old_blob or ""), change.path)
            new = manifest_readers(blobs.get(change.new_blob or ""), change.path)
        except Invalid:
            return False
        if old is None or new is None or not (old.names <= new.names and old.also <= new.also):
            return False
        mentioned: set[str] = set()
        for added, place in items:
            kind = place.file_kind
            if added.old_blob is None and kind is not None and kind.name == "followup":
                _old, fields = self._both(added)
                try:
                    mentioned.update(mentions_in(self.config, str(fields.get("text") or "")))
                except Invalid:
                    return False
        return bool(mentioned) and (new.names - old.names) | (new.also - old.also) <= mentioned

    def _resealed(self, change: FileChange) -> bool:
        """Is ``change`` a sealed file sealed again with the same fields (this gate opens
        both versions)? Never a sealed file made plain: that would open it to everyone."""
        if change.old_blob is None or change.new_blob is None:
            return False
        blobs = self.git.blobs([change.old_blob, change.new_blob])
        if len(blobs) != 2 or not all(sealing.is_sealed(raw) for raw in blobs.values()):
            return False
        old = load_fields(blobs[change.old_blob], change.path)
        return old is not None and old == load_fields(blobs[change.new_blob], change.path)

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
            why = self._file(commit, change, place, member)
            if why and self._shared_write(commit, change, place, member):
                why = None
            if why:
                yield change.path, why

    def _file(self, commit: str, change: FileChange, place: Place, member: Member) -> str | None:
        kind = place.file_kind
        assert kind is not None and place.owner is not None
        if kind.name == "feedback":
            return self._feedback(change, place.owner, member)
        if change.old_blob is None:
            actions = (f"{kind.name}.add", f"{kind.name}.import", *EXTRA_ADD.get(kind.name, ()))
        elif change.new_blob is None:
            actions = DELETE_ACTIONS.get(kind.name, (f"{kind.name}.delete",))
        elif kind.name == "contract":
            return self._contract_edit(commit, change, place, member)
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

    def _feedback(self, change: FileChange, owner: Owner, member: Member) -> str | None:
        """Feedback by ``scopes.check_feedback_write``: added anywhere by ``feedback.add``,
        taken out of triage by ``feedback.assign``, changed by any of its verbs."""
        if change.old_blob is None:
            actions: tuple[str, ...] = ("feedback.add",)
        elif change.new_blob is None:
            actions = ("feedback.assign", "feedback.delete")
        else:
            actions = scopes.FEEDBACK_EDITS
        return self._why_not(member, actions, owner, scopes.check_feedback_write)

    def _shared_write(self, commit: str, change: FileChange, place: Place, member: Member) -> bool:
        """A write the record's own fields allow beyond the directory: a participant adding
        a follow-up or visit or closing a visit (``scopes.check_child_write``), as of
        ``commit``."""
        kind, file_kind = place.kind, place.file_kind
        assert kind is not None and file_kind is not None
        if change.new_blob is None or file_kind.name not in ("followup", "visit"):
            return False  # deleting stays the owner's, and so does everything else
        directory = change.path[: -len(place.rel)].rstrip("/")
        old, new = self._both(change)
        if not place.is_main:
            if change.old_blob is None:
                action = f"{file_kind.name}.add"
            elif (
                file_kind.name == "visit"
                and old.get("status") == "planned"
                and {k for k in {*old, *new} if old.get(k) != new.get(k)} <= {"status", "text"}
                and new.get("status") in ("done", "cancelled")
            ):
                action = "visit.done" if new["status"] == "done" else "visit.cancel"
            else:
                return False
            main = f"{directory}/{kind.file_name}"
            fields = load_fields(self.git.files_at(commit, [main]).get(main), main) or {}
            return self._allowed(scopes.check_child_write, member, action, _Fields(place, fields))
        return False

    def _contract_edit(
        self, commit: str, change: FileChange, place: Place, member: Member
    ) -> str | None:
        """A contract's fields changed: each part of the change by the rule the CLI applies
        (``scopes.contract_change_needs``, ``scopes.check_contract_write``): the owner's own
        actions, a task holder activating, finance closing it with the last payment."""
        old, new = self._both(change)
        record = _Fields(place, old)
        holders: list[str] | None = None
        needs = scopes.contract_change_needs(old, new)
        if self._unseen(change):
            # Sealed, and this gate holds no identity that opens it: it cannot see what
            # changed, so it asks what would allow any change (a status move included).
            needs = [(action,) for action in SEALED_CONTRACT_NEEDS]
        for alternatives in needs:
            reason = ""
            for action in alternatives:
                if action in scopes.TASK_HOLDER_ACTIONS and holders is None:
                    holders = self._task_holders(commit, change.path[: -len(place.rel)])
                try:
                    scopes.check_contract_write(self.config, member, action, record, holders or ())
                    break
                except Forbidden as exc:
                    reason = reason or exc.message
            else:
                return reason
        return None

    def _task_holders(self, commit: str, directory: str) -> list[str]:
        tasks = self.git.list_paths(commit, [f"{directory}tasks/"])
        return [
            str((load_fields(content, path) or {}).get("assignee"))
            for path, content in self.git.files_at(commit, tasks).items()
        ]

    def _unseen(self, change: FileChange) -> bool:
        """Is either side of ``change`` a sealed file this gate cannot open?"""
        blobs = self.git.blobs([b for b in (change.old_blob, change.new_blob) if b])
        return any(
            sealing.is_sealed(raw) and load_fields(raw, change.path) is None
            for raw in blobs.values()
        )

    def _both(self, change: FileChange) -> tuple[dict[str, Any], dict[str, Any]]:
        """A changed file's fields before and after ({} for a side that is not there)."""
        blobs = self.git.blobs([b for b in (change.old_blob, change.new_blob) if b])
        old = load_fields(blobs.get(change.old_blob or ""), change.path) or {}
        new = load_fields(blobs.get(change.new_blob or ""), change.path) or {}
        return old, new

    def _allowed(self, check: Any, member: Member, action: str, record: _Fields) -> bool:
        try:
            check(self.config, member, action, record)
        except Forbidden:
            return False
        return True

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

    def _why_not(
        self,
        member: Member,
        actions: Sequence[str],
        owner: Owner,
        check: Callable[[Config, Member, str, Owner], None] = scopes.check_write,
    ) -> str | None:
        """None if any of ``actions`` is allowed on ``owner``'s directory (by ``check``),
        else the reason."""
        reason = ""
        for action in actions:
            try:
                check(self.config, member, action, owner)
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
        open_count = open_owned(self.git, commit, kind, home)
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


# What a contract change the gate cannot read needs (see ``Judge._contract_edit``).
SEALED_CONTRACT_NEEDS = ("contract.edit", "contract.cancel")


@dataclass(frozen=True)
class _Fields:
    """A record as the record-level rules see it, read from a commit."""

    place: Place
    data: Mapping[str, Any]

    @property
    def owner(self) -> Owner:
        assert self.place.owner is not None
        return self.place.owner

    @property
    def id(self) -> str:
        return self.place.record or ""


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
        # a refused mode (a symlink, an executable file) is always judged: a merge can set
        # one on a blob it carries over unchanged
        if len(changed) <= 1 and not refused_mode(mode) and mode != EXECUTABLE_MODE:
            clean = next(iter(changed)) if changed else base_blobs[path]
            if result == clean:
                continue  # carried over from a parent: judged in the commit that made it
        first = per_parent[0].get(path)
        old_blob = first.old_blob if first else result
        old_mode = first.old_mode if first else mode
        status = "A" if old_blob is None else "D" if result is None else "M"
        own.append(FileChange(status, path, old_mode, mode, old_blob, result))
    return own
