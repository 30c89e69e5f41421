"""``salesctl history ID``: a record's life from git, newest first, as a reviewer reads it
instead of raw YAML hunks. Each commit's changes to the record become a ``RecordChange``
(``record_changes``) and a ``HistoryEntry`` naming who did it and with which action.

History follows a record through its moves without ``git log --follow`` (about 0.7 s a
record at 10,000 commits, and no help from the commit-graph). A record keeps its id in
every directory it has lived in, so: start from the directory it is in now, ask
``git log -- <that directory>`` (one literal path: git answers from the commit-graph's
changed-path Bloom filters) back to where the record's file was added there, and no
further; look at that one commit for the same id leaving another directory (a move) and
read that directory's log from there back to its arrival, and so on. Each stay costs one
Bloom-filtered stretch of log; a record that went pool → alice → pool → bob costs four.
A deleted record is found by its ``Salesctl-Record`` trailer (``git log --grep``, a slower
full walk, only then): so are the records a ``merge`` folded into this one (its ``merged``
field), whose history is shown too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from salesctl import clock
from salesctl.errors import Forbidden, Invalid, NotFound, where_to_look
from salesctl.git import GitError
from salesctl.ids import is_id, normalise_prefix
from salesctl.model.config import Member
from salesctl.model.kinds import kind_of_id
from salesctl.ops.collab.gitread import CommitInfo, FileChange, GitReader, field_changes
from salesctl.ops.collab.judge import EXTRA_ADD, MOVE_VERBS
from salesctl.ops.collab.places import place_of
from salesctl.ops.collab.record_changes import (
    RecordChange,
    field_json,
    record_changes,
    same_member_moved,
    wanted_blobs,
)
from salesctl.ops.collab.record_log import RecordLog
from salesctl.ops.records import readable
from salesctl.store.layout import RecordPath, parse_path
from salesctl.store.store import Store


def _in_org_zone(date: str) -> str:
    """A commit's ISO date told in the org's time zone, as every other time salesctl shows
    (git keeps the committing machine's offset: a server's UTC)."""
    zone = clock.zone()
    return dt.datetime.fromisoformat(date).astimezone(zone).isoformat() if zone else date


@dataclass
class HistoryEntry:
    commit: str
    date: str
    author: str  # the author's name as git has it
    member: str | None  # the member whose email that is
    action: str
    subject: str
    change: RecordChange
    timestamp: int = 0  # committer date, seconds: the order the story is told in

    def as_json(self) -> dict[str, Any]:
        move = None
        if self.change.change == "moved":
            move = {
                "from": self.change.owner_before,
                "to": self.change.owner_after,
                "verb": move_verb(self.action, self.change, self.member),
            }
        return {
            "record": self.change.id,  # another id: a record merged into this one
            "commit": self.commit,
            "date": self.date,
            "author": self.author,
            "member": self.member,
            "action": self.action,
            "subject": self.subject,
            "change": self.change.change,
            "problem": self.change.problem,
            "problem_before": self.change.problem_before,
            "move": move,
            "fields": [field_json(f) for f in self.change.fields],
            "children": [c.as_json() for c in self.change.children],
        }


def move_verb(action: str, change: RecordChange, member: str | None) -> str:
    """assign, claim, release or reclaim: from the trailer, else from the directories; a
    record following its owner to another team is a ``team change``."""
    verb = action.rsplit(".", 1)[-1]
    if verb in MOVE_VERBS:
        return verb
    if same_member_moved(change):
        return "team change"
    if change.owner_after == "pool":
        return "release"
    if change.owner_before == "pool" and change.owner_after == member:
        return "claim"
    return "assign"


# -- history ------------------------------------------------------------------------------


def record_history(
    store: Store, viewer: Member, text: str, kinds: tuple[str, ...] = ()
) -> list[HistoryEntry]:
    """The record's life, newest first: who changed what, when, and its moves. ``kinds``:
    the record must be one of these (``lead history`` takes leads only). A customer's story
    starts at the first touch: the lead it was converted from is told with it (its entries
    name the lead as their ``record``), if the viewer may read that lead."""
    git = GitReader(store.root)
    record_id, current_dir = _find(store, text, kinds)
    log = _record_log(store, git)
    dirs = [current_dir] if current_dir else _dirs_of(git, log, record_id)
    if not dirs:
        kind = kind_of_id(record_id)
        raise NotFound(f"no history for {record_id}", where_to_look(*([kind.name] if kind else [])))
    last_owner = place_of(f"{dirs[0]}/").owner  # whose directory it is (or was) in
    kind = kind_of_id(record_id)
    path = f"{dirs[0]}/{kind.file_name}" if kind else None  # its file, as shares name it
    if last_owner is not None and not readable(store, viewer).allows(last_owner, path):
        raise Forbidden(f"{viewer.id} may not read {record_id} (in {last_owner}'s directory)")
    entries = _entries(store, git, log, record_id, dirs)
    for other in _merged_into(store, record_id, kinds) if current_dir else []:
        other_dirs = _dirs_of(git, log, other)  # it was removed by the merge
        if other_dirs:
            entries += _entries(store, git, log, other, other_dirs)
    lead = _converted_from(store, viewer, current_dir)
    if lead is not None and lead.id != record_id:
        entries += _entries(store, git, log, lead.id, [lead.record_dir])
    return _against_last_readable(_newest_first(git, entries))


def _against_last_readable(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """A record's file readable again after versions that were not (malformed YAML, a
    symlink): its fields compared with the last readable version, not with nothing, so
    a file restored as it was shows no field changes. ``entries``: newest first."""
    last: dict[str, dict[str, Any]] = {}  # record id -> its last readable fields
    for entry in reversed(entries):
        change = entry.change
        if change.problem_before and change.new_data is not None and change.id in last:
            change.fields = field_changes(last[change.id], change.new_data)
        if change.new_data is not None:
            last[change.id] = change.new_data
        elif change.change == "deleted":
            last.pop(change.id, None)
    return entries


def _record_log(store: Store, git: GitReader) -> RecordLog | None:
    """The clone's kept log (``record_log``), up to HEAD; None: ask git for every stay."""
    head = git.commit("HEAD")
    try:
        state_dir = store.repo.state_dir
    except (GitError, OSError):  # not a git work tree of its own, or a read-only one
        return None
    if head is None or git.text("rev-parse", "--is-shallow-repository").strip() == "true":
        return None  # a shallow clone's chain ends early, until a fetch deepens it: ask git
    return RecordLog.open(state_dir, git, head, store.report_progress)


def _entries(
    store: Store, git: GitReader, log: RecordLog | None, record_id: str, dirs: list[str]
) -> list[HistoryEntry]:
    """One record's entries, in no particular order."""
    per_commit, infos = _follow(git, log, record_id, dirs)
    # every commit's blobs in one cat-file: a process per commit cost more than the reading
    wanted = (b for changes in per_commit.values() for b in wanted_blobs(changes, only=record_id))
    blobs = git.blobs(wanted)
    entries = []
    for commit, changes in per_commit.items():
        info = infos[commit]
        found = record_changes(git, changes, only=record_id, blobs=blobs)
        if not found:
            continue
        member = store.config.member_by_email(info.author_email)
        entries.append(
            HistoryEntry(
                commit=commit,
                date=_in_org_zone(info.date),
                author=info.author_name,
                member=member.id if member else None,
                action=info.action or "(no salesctl trailer)",
                subject=info.subject,
                change=found[0],
                timestamp=info.timestamp,
            )
        )
    return entries


def _converted_from(store: Store, viewer: Member, record_dir: str | None) -> RecordPath | None:
    """The lead a customer (in ``record_dir``) was converted from, if the viewer may read it."""
    place = place_of(f"{record_dir}/") if record_dir else None
    if place is None or place.kind is None or place.kind.name != "customer":
        return None
    customer = parse_path(f"{record_dir}/{place.kind.file_name}")
    if customer is None:
        return None
    try:
        lead_id = store.read(customer).data.get("lead")
    except FileNotFoundError:
        return None  # removed by hand since the index saw it: its own history still shows
    if not isinstance(lead_id, str) or not lead_id:
        return None
    try:
        lead = store.resolve(lead_id, ("lead",))
    except (NotFound, Invalid):
        return None  # deleted or merged since: the customer's story stands on its own
    return lead if readable(store, viewer).allows(lead.owner, lead.path) else None


def _newest_first(git: GitReader, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """Entries by commit time, newest first; commits of the same second (a script, a test,
    a busy minute) in the order git made them, which the directories' logs cannot tell
    once a record has lived in several. Within one commit, the asked record comes first."""
    by_second: dict[int, set[str]] = {}
    for entry in entries:
        by_second.setdefault(entry.timestamp, set()).add(entry.commit)
    rank: dict[str, int] = {}
    for second, commits in by_second.items():
        if len(commits) > 1:
            # --max-age stops the walk at older commits: this lists one second's commits.
            out = git.text("rev-list", "--topo-order", f"--max-age={second}", *sorted(commits))
            listed = [c for c in out.split() if c in commits]
            rank.update((c, -i) for i, c in enumerate(listed))
    return sorted(entries, key=lambda e: (e.timestamp, rank.get(e.commit, 0)), reverse=True)


def _merged_into(store: Store, record_id: str, kinds: tuple[str, ...]) -> list[str]:
    """The records merged into this one (``lead merge``, ``customer merge``): their
    history is part of its own."""
    loc = store.resolve(record_id, kinds)
    merged = store.read(loc).data.get("merged") or []
    return [str(m) for m in merged if str(m) != record_id]


def _find(store: Store, text: str, kinds: tuple[str, ...]) -> tuple[str, str | None]:
    """(id, directory it is in now), or no directory for a record deleted since."""
    try:
        loc = store.resolve(text, kinds)
    except NotFound:
        record_id = normalise_prefix(text)
        if record_id is None or not is_id(record_id):
            raise  # a prefix of nothing current: a deleted record needs its full id
        kind = kind_of_id(record_id)
        if kinds and (kind is None or kind.name not in kinds):
            raise  # another kind's id: not this noun's history
        return record_id, None
    if loc.parent is not None:
        raise Invalid(
            f"{loc.id} is a {loc.kind.name} of {loc.parent}; its story is part of that record's",
            f"salesctl history {loc.parent}",
        )
    return loc.id, loc.record_dir


def _dirs_of(git: GitReader, log: RecordLog | None, record_id: str) -> list[str]:
    """Directories a deleted record had: from the kept log, else (no log, or a record
    it never saw) from the commits naming it in a trailer."""
    found = log.dirs_of(record_id) if log is not None else []
    return found or _dirs_from_trailers(git, record_id)


def _dirs_from_trailers(git: GitReader, record_id: str) -> list[str]:
    """Directories a (deleted) record had, from commits naming it in a trailer."""
    out = git.text("log", "--format=%H", "-F", f"--grep=Salesctl-Record: {record_id}")
    dirs: list[str] = []
    for commit in out.split()[:50]:
        parents = git.text("rev-parse", f"{commit}^@").split()
        for change in git.diff(parents[0] if parents else None, commit, [_glob(record_id)]):
            place = place_of(change.path)
            if place.record == record_id and place.is_main and place.kind:
                directory = change.path.rsplit("/", 1)[0]
                if directory not in dirs:
                    dirs.append(directory)
    return dirs


def _glob(record_id: str) -> str:
    return f":(glob)**/{record_id}/**"


def _follow(
    git: GitReader, log: RecordLog | None, record_id: str, dirs: list[str]
) -> tuple[dict[str, list[FileChange]], dict[str, CommitInfo]]:
    """Every commit that touched the record's files in any directory it has lived in, and
    their headers.

    Each stay in a directory is read from where the record left it (HEAD for where it is
    now) back to where it arrived, and no further: a lead that sat in the pool for a week
    two years ago costs that week of the pool's log, not the whole history; and where the
    clone's kept log (``record_log``) can answer a stay, it costs no walk at all."""
    per_commit: dict[str, list[FileChange]] = {}
    infos: dict[str, CommitInfo] = {}
    queue = [(directory, "HEAD") for directory in dirs]
    seen = set(queue)
    while queue:
        directory, rev = queue.pop(0)
        kept = log.stay(directory, rev, _arrived) if log is not None else None
        if kept is not None:
            (stay, arrived, headers), complete = kept, True
        else:
            stay, arrived, complete, headers = git.path_log_until(directory, rev, _arrived)
        infos.update(headers)
        action = None
        if arrived:
            # Where did it come from? The same id leaving another directory in that
            # commit: a look through all of the commit's changes (the pool's 30,000-entry
            # tree), spared when salesctl's trailer says the commit created the record.
            arrival = stay[-1][0]
            action = headers[arrival].action or None
            if action is None or not _creates(action, record_id):
                # the record's files in every directory: where it came from too
                whole = log.changes_of(arrival, record_id) if kept and log else None
                if whole is None:
                    whole = git.commit_changes(arrival, [directory, _glob(record_id)])
                stay[-1] = (arrival, whole)
            elif not complete:
                stay[-1] = (arrival, git.commit_changes(arrival, [directory]))
        for commit, changes in stay:
            bucket = per_commit.setdefault(commit, [])
            known = {c.path for c in bucket}
            bucket += [c for c in changes if c.path not in known]
        if not arrived:
            continue  # it was in this directory from the first commit that touched it
        sources = _left(record_id, stay[-1][1])
        # The source's log from the arrival on: the commit it left in is part of its stay.
        items = [(source, arrival) for source in sources]
        if not sources and action is None:
            # salesctl never gives a new record a used id, so a record its commit adds is
            # new; a hand commit may have re-added one deleted before: read on, back to
            # the directory's first commit
            items = [(directory, f"{arrival}^@")]
        for item in items:
            if item not in seen:
                seen.add(item)
                queue.append(item)
    return per_commit, infos


def _arrived(changes: list[FileChange]) -> bool:
    """The record's own file appears in its directory with these changes."""
    return any(c.old_blob is None and place_of(c.path).is_main for c in changes)


def _creates(action: str, record_id: str) -> bool:
    """Does a salesctl commit of ``action`` create records of the id's kind?"""
    kind = kind_of_id(record_id)
    if kind is None:
        return False
    return action in (f"{kind.name}.add", f"{kind.name}.import", *EXTRA_ADD.get(kind.name, ()))


def _left(record_id: str, changes: list[FileChange]) -> list[str]:
    """Directories the record's own file left with ``changes`` (none: created there)."""
    return [
        change.path.rsplit("/", 1)[0]
        for change in changes
        if change.new_blob is None
        and place_of(change.path).record == record_id
        and place_of(change.path).is_main
    ]


# -- presenting -----------------------------------------------------------------------------


def history_rows(entries: list[HistoryEntry]) -> list[dict[str, str]]:
    """One row per change line, for the table format."""
    rows = []
    several = len({e.change.id for e in entries}) > 1  # a customer told with its lead
    for entry in entries:
        who = entry.member or entry.author
        lines = entry.change.lines()
        if entry.change.change == "moved":
            verb = move_verb(entry.action, entry.change, entry.member)
            lines[0] = f"{verb}: {entry.change.owner_before} -> {entry.change.owner_after}"
        if several and entry.change.kind == "lead":
            lines = [f"lead {entry.change.id}: {line}" for line in lines or ["(no field changes)"]]
        for i, line in enumerate(lines or ["(no field changes)"]):
            rows.append(
                {
                    "date": entry.date[:16].replace("T", " ") if i == 0 else "",
                    "who": who if i == 0 else "",
                    "action": entry.action if i == 0 else "",
                    "change": line,
                }
            )
    return rows
