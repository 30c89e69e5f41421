"""A record's life from git (``salesctl history``) and a per-record diff of a range
(``salesctl diff``): what a reviewer reads instead of raw YAML hunks.

History follows a record through its moves without ``git log --follow`` (about 0.7 s a
record at 10,000 commits, and no help from the commit-graph). A record keeps its id in
every directory it has lived in, so: start from the directory it is in now, ask
``git log -- <that directory>`` (one literal path: git answers from the commit-graph's
changed-path Bloom filters), and wherever that log shows the record's file being added,
look at that one commit for the same id leaving another directory (a move) and ask that
directory's log too. Each directory costs one Bloom-filtered log; a record that went
pool → alice → pool → bob costs three. A deleted record is found by its
``Salesctl-Record`` trailer (``git log --grep``, a slower full walk, only then).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from salesctl.errors import Forbidden, Invalid, NotFound
from salesctl.ids import is_id, normalise_prefix
from salesctl.model.config import Config, Member
from salesctl.ops.collab.gitread import (
    FileChange,
    GitReader,
    Place,
    field_changes,
    load_fields,
    place_of,
    show_value,
)
from salesctl.scopes import may_read
from salesctl.store.layout import Owner
from salesctl.store.store import Store

MOVE_VERBS = ("assign", "claim", "release", "reclaim")
TEXT_FIELDS = ("text", "title", "note", "place")  # what names a follow-up, visit or task


@dataclass
class ChildChange:
    kind: str
    id: str
    change: str  # added, removed, edited
    summary: str = ""
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "change": self.change,
            "summary": self.summary,
            "fields": [_field_json(f) for f in self.fields],
        }

    def line(self) -> str:
        text = f"{self.kind} {self.change} {self.id}"
        if self.summary:
            text += f": {self.summary}"
        elif self.fields:
            text += ": " + "; ".join(_field_line(f) for f in self.fields)
        return text


@dataclass
class RecordChange:
    """What happened to one record between two trees (one commit, or a diff's range)."""

    id: str
    kind: str
    change: str  # created, deleted, moved, changed
    owner_before: str | None = None  # "alice", "pool", ...; None: did not exist
    owner_after: str | None = None
    path: str = ""
    label: str = ""  # company or name, for people
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    children: list[ChildChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "change": self.change,
            "owner_before": self.owner_before,
            "owner_after": self.owner_after,
            "path": self.path,
            "fields": [_field_json(f) for f in self.fields],
            "children": [c.as_json() for c in self.children],
        }

    def lines(self) -> list[str]:
        """Human lines: the move first, then ``field: old -> new``, then the children."""
        out = []
        if self.change == "created":
            out.append(f"created in {self.owner_after}")
        elif self.change == "deleted":
            out.append(f"deleted from {self.owner_before}")
        elif self.change == "moved":
            out.append(f"moved {self.owner_before} -> {self.owner_after}")
        if self.change != "created":  # a creation's fields are all new: the diff shows them
            out += [_field_line(f) for f in self.fields]
        out += [c.line() for c in self.children]
        return out


@dataclass
class HistoryEntry:
    commit: str
    date: str
    author: str  # the author's name as git has it
    member: str | None  # the member whose email that is
    action: str
    subject: str
    change: RecordChange

    def as_json(self) -> dict[str, Any]:
        move = None
        if self.change.change == "moved":
            move = {
                "from": self.change.owner_before,
                "to": self.change.owner_after,
                "verb": move_verb(self.action, self.change, self.member),
            }
        return {
            "commit": self.commit,
            "date": self.date,
            "author": self.author,
            "member": self.member,
            "action": self.action,
            "subject": self.subject,
            "change": self.change.change,
            "move": move,
            "fields": [_field_json(f) for f in self.change.fields],
            "children": [c.as_json() for c in self.change.children],
        }


def _field_json(item: tuple[str, Any, Any]) -> dict[str, Any]:
    return {"field": item[0], "old": item[1], "new": item[2]}


def _field_line(item: tuple[str, Any, Any]) -> str:
    return f"{item[0]}: {show_value(item[1])} -> {show_value(item[2])}"


def move_verb(action: str, change: RecordChange, member: str | None) -> str:
    """assign, claim, release or reclaim: from the trailer, else from the directories."""
    verb = action.rsplit(".", 1)[-1]
    if verb in MOVE_VERBS:
        return verb
    if change.owner_after == "pool":
        return "release"
    if change.owner_before == "pool" and change.owner_after == member:
        return "claim"
    return "assign"


# -- grouping raw changes into record changes -----------------------------------------------


def record_changes(
    git: GitReader, changes: Iterable[FileChange], *, only: str | None = None
) -> list[RecordChange]:
    """Group file changes by record and compare the records' fields (blobs read once)."""
    groups: dict[str, list[tuple[FileChange, Place]]] = {}
    for change in changes:
        place = place_of(change.path)
        if place.record is None or place.kind is None or (only and place.record != only):
            continue
        groups.setdefault(place.record, []).append((change, place))
    blobs = git.blobs(
        blob
        for items in groups.values()
        for change, place in items
        if place.special is None
        for blob in (change.old_blob, change.new_blob)
    )
    return [_record_change(record_id, items, blobs) for record_id, items in groups.items()]


def _record_change(
    record_id: str, items: list[tuple[FileChange, Place]], blobs: dict[str, bytes]
) -> RecordChange:
    kind = items[0][1].kind
    assert kind is not None

    def fields_of(blob: str | None, path: str) -> dict[str, Any] | None:
        return load_fields(blobs.get(blob), path) if blob else None

    mains = [(c, p) for c, p in items if p.is_main]
    old_main = next(((c, p) for c, p in mains if c.old_blob), None)
    new_main = next(((c, p) for c, p in mains if c.new_blob), None)
    old_owner = _owner_name(old_main[1].owner) if old_main else None
    new_owner = _owner_name(new_main[1].owner) if new_main else None
    old_data = fields_of(old_main[0].old_blob, old_main[0].path) if old_main else None
    new_data = fields_of(new_main[0].new_blob, new_main[0].path) if new_main else None
    if not mains:  # only children changed: the record stayed where it is
        owner = _owner_name(items[0][1].owner)
        old_owner = new_owner = owner
        change = "changed"
    elif old_main is None:
        change = "created"
    elif new_main is None:
        change = "deleted"
    elif old_owner != new_owner:
        change = "moved"
    else:
        change = "changed"
    label_data = new_data or old_data or {}
    result = RecordChange(
        id=record_id,
        kind=kind.name,
        change=change,
        owner_before=old_owner if change != "created" else None,
        owner_after=new_owner if change != "deleted" else None,
        path=(new_main or old_main or items[0])[0].path,
        label=str(
            label_data.get("company") or label_data.get("name") or label_data.get("title") or ""
        ),
        fields=field_changes(old_data, new_data),
    )
    # Children: a file under the record's directory, matched by its path inside it.
    before: dict[str, tuple[FileChange, Place]] = {}
    after: dict[str, tuple[FileChange, Place]] = {}
    for change_, place in items:
        if place.is_main:
            continue
        if change_.old_blob:
            before[place.rel] = (change_, place)
        if change_.new_blob:
            after[place.rel] = (change_, place)
    for rel in sorted({*before, *after}):
        old_item, new_item = before.get(rel), after.get(rel)
        place = (new_item or old_item or items[0])[1]
        child_kind = place.file_kind.name if place.file_kind else "file"
        child_id = place.file_id or rel
        if place.special == "attachment":
            child_kind, child_id = "attachment", rel.split("/", 1)[-1]
        old_fields = fields_of(old_item[0].old_blob, rel) if old_item else None
        new_fields = fields_of(new_item[0].new_blob, rel) if new_item else None
        if old_item and new_item and old_item[0].old_blob == new_item[0].new_blob:
            continue  # moved along with the record, unchanged
        if old_item is None:
            summary = _summary(new_fields)
            result.children.append(ChildChange(child_kind, child_id, "added", summary))
        elif new_item is None:
            result.children.append(
                ChildChange(child_kind, child_id, "removed", _summary(old_fields))
            )
        else:
            result.children.append(
                ChildChange(
                    child_kind, child_id, "edited", fields=field_changes(old_fields, new_fields)
                )
            )
    return result


def _summary(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    for name in TEXT_FIELDS:
        if data.get(name):
            return show_value(data[name], 70)
    if data.get("amount") is not None:
        return f"amount {show_value(data['amount'])}"
    return ""


def _owner_name(owner: Owner | None) -> str | None:
    return None if owner is None else str(owner)


# -- history ------------------------------------------------------------------------------


def record_history(store: Store, viewer: Member, text: str) -> list[HistoryEntry]:
    """The record's life, newest first: who changed what, when, and its moves."""
    config = store.config
    git = GitReader(store.root)
    record_id, current_dir = _find(store, git, text)
    dirs = [current_dir] if current_dir else _dirs_from_trailers(git, record_id)
    if not dirs:
        raise NotFound(f"no history for {record_id}", "check the id with `salesctl lead list`")
    last_owner = place_of(f"{dirs[0]}/").owner  # whose directory it is (or was) in
    if last_owner is not None and not may_read(config, viewer, last_owner):
        raise Forbidden(f"{viewer.id} may not read {record_id} (in {last_owner}'s directory)")
    per_commit = _follow(git, record_id, dirs)
    infos = {info.id: info for info in git.commits(list(per_commit))}
    entries = []
    for commit, changes in per_commit.items():
        info = infos[commit]
        found = record_changes(git, changes, only=record_id)
        if not found:
            continue
        change = found[0]
        member = config.member_by_email(info.author_email)
        entries.append(
            HistoryEntry(
                commit=commit,
                date=info.date,
                author=info.author_name,
                member=member.id if member else None,
                action=info.action or "(no salesctl trailer)",
                subject=info.subject,
                change=change,
            )
        )
    order = {c: (infos[c].timestamp, i) for i, c in enumerate(reversed(list(per_commit)))}
    entries.sort(key=lambda e: order[e.commit], reverse=True)
    return entries


def _find(store: Store, git: GitReader, text: str) -> tuple[str, str | None]:
    """(id, directory it is in now), or no directory for a record deleted since."""
    try:
        loc = store.resolve(text)
    except NotFound:
        record_id = normalise_prefix(text)
        if record_id is None or not is_id(record_id):
            raise  # a prefix of nothing current: a deleted record needs its full id
        return record_id, None
    if loc.parent is not None:
        raise Invalid(
            f"{loc.id} is a {loc.kind.name} of {loc.parent}; its story is part of that record's",
            f"salesctl history {loc.parent}",
        )
    return loc.id, loc.record_dir


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


def _follow(git: GitReader, record_id: str, dirs: list[str]) -> dict[str, list[FileChange]]:
    """Every commit that touched the record's files in any directory it has lived in."""
    per_commit: dict[str, list[FileChange]] = {}
    queue, seen = list(dirs), set(dirs)
    while queue:
        directory = queue.pop(0)
        arrivals = []
        for commit, changes in git.path_log(directory):
            bucket = per_commit.setdefault(commit, [])
            known = {c.path for c in bucket}
            bucket += [c for c in changes if c.path not in known]
            if any(c.old_blob is None and place_of(c.path).is_main for c in changes):
                arrivals.append(commit)
        # Where did it come from? The same id leaving another directory in that commit.
        for commit in arrivals:
            for source in _sources(git, record_id, commit):
                if source not in seen:
                    seen.add(source)
                    queue.append(source)
    return per_commit


def _sources(git: GitReader, record_id: str, commit: str) -> list[str]:
    """Directories the record's file left in ``commit`` (none: it was created there)."""
    parents = git.text("rev-parse", f"{commit}^@").split()
    if not parents:
        return []
    return [
        change.path.rsplit("/", 1)[0]
        for change in git.diff(parents[0], commit, [_glob(record_id)])
        if change.new_blob is None
        and place_of(change.path).record == record_id
        and place_of(change.path).is_main
    ]


# -- diff -----------------------------------------------------------------------------------


@dataclass
class RangeDiff:
    old: str
    new: str
    label: str
    records: list[RecordChange]
    files: list[str]  # other paths changed (salesctl.yaml, CODEOWNERS, reports ...)

    def as_json(self) -> dict[str, Any]:
        return {
            "range": self.label,
            "old": self.old,
            "new": self.new,
            "records": [r.as_json() for r in self.records],
            "files": self.files,
        }


def range_diff(store: Store, viewer: Member, rev_range: str | None = None) -> RangeDiff:
    """Per-record changes between two commits (default: upstream...HEAD, what a push or a
    pull request of the current branch would bring)."""
    git = GitReader(store.root)
    old, new, label = _diff_ends(git, rev_range)
    changes = git.diff(old, new)
    records = record_changes(git, changes)
    _fill_labels(git, new, records)
    config = store.config
    visible = [r for r in records if _readable(config, viewer, r)]
    files = sorted({c.path for c in changes if place_of(c.path).record is None})
    visible.sort(key=lambda r: (r.kind, r.id))
    return RangeDiff(old, new, label, visible, files)


def _fill_labels(git: GitReader, rev: str, records: list[RecordChange]) -> None:
    """Name records whose own file did not change (only a follow-up was added, say)."""
    missing = {}
    for record in records:
        place = place_of(record.path)
        if not record.label and place.kind and place.rel:
            missing[record.id] = record.path[: -len(place.rel)] + place.kind.file_name
    found = git.files_at(rev, list(missing.values()))
    for record in records:
        if record.id in missing:
            data = load_fields(found.get(missing[record.id]), missing[record.id]) or {}
            record.label = str(data.get("company") or data.get("name") or data.get("title") or "")


def _readable(config: Config, viewer: Member, record: RecordChange) -> bool:
    owner = place_of(record.path).owner
    return owner is not None and may_read(config, viewer, owner)


def _diff_ends(git: GitReader, rev_range: str | None) -> tuple[str, str, str]:
    if not rev_range:
        upstream = git.text(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False
        ).strip()
        if not upstream:
            raise Invalid(
                "this branch has no upstream to compare with",
                "pass a range such as origin/main..HEAD, or `git branch -u origin/main`",
            )
        rev_range = f"{upstream}...HEAD"
    if "..." in rev_range:
        left, right = rev_range.split("...", 1)
        a, b = git.require_commit(left or "HEAD"), git.require_commit(right or "HEAD")
        base = git.merge_base(a, b)
        if base is None:
            raise Invalid(f"{left} and {right} share no history", "pass A..B instead")
        return base, b, rev_range
    if ".." in rev_range:
        left, right = rev_range.split("..", 1)
        return git.require_commit(left or "HEAD"), git.require_commit(right or "HEAD"), rev_range
    return git.require_commit(rev_range), git.require_commit("HEAD"), f"{rev_range}..HEAD"


# -- presenting -----------------------------------------------------------------------------


def history_rows(entries: list[HistoryEntry]) -> list[dict[str, str]]:
    """One row per change line, for the table format."""
    rows = []
    for entry in entries:
        who = entry.member or entry.author
        lines = entry.change.lines()
        if entry.change.change == "moved":
            verb = move_verb(entry.action, entry.change, entry.member)
            lines[0] = f"{verb}: {entry.change.owner_before} -> {entry.change.owner_after}"
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


def diff_rows(diff: RangeDiff) -> list[dict[str, str]]:
    rows = []
    for record in diff.records:
        lines: list[tuple[str, str, str]] = []
        if record.change == "moved":
            lines.append(("owner", record.owner_before or "", record.owner_after or ""))
        elif record.change == "created":
            lines.append(("owner", "", record.owner_after or ""))
        elif record.change == "deleted":
            lines.append(("owner", record.owner_before or "", ""))
        lines += [(f, show_value(o), show_value(n)) for f, o, n in record.fields]
        lines += [
            (f"{c.kind} {c.id}", "", c.change + (f": {c.summary}" if c.summary else ""))
            for c in record.children
        ]
        for name, old, new in lines or [("", "", "")]:
            rows.append(
                {
                    "id": record.id,
                    "kind": record.kind,
                    "change": record.change,
                    "field": name,
                    "old": old,
                    "new": new,
                }
            )
    for path in diff.files:
        rows.append(
            {"id": path, "kind": "file", "change": "changed", "field": "", "old": "", "new": ""}
        )
    return rows


def diff_markdown(diff: RangeDiff) -> str:
    """A pull request comment: a heading per record, a table of its changed fields."""
    count = len(diff.records)
    out = [f"### salesctl diff `{diff.label}`: {count} record{'s' if count != 1 else ''}", ""]
    for record in diff.records:
        title = f"**{record.id}** {record.kind}"
        if record.label:
            title += f" · {_md(record.label)}"
        what = {
            "created": f"created for {record.owner_after}",
            "deleted": f"deleted from {record.owner_before}",
            "moved": f"moved {record.owner_before} → {record.owner_after}",
            "changed": "changed",
        }[record.change]
        out += [f"{title} — {what}", ""]
        if record.fields:
            out += ["| field | before | after |", "|---|---|---|"]
            out += [
                f"| {_md(f)} | {_md(show_value(o))} | {_md(show_value(n))} |"
                for f, o, n in record.fields
            ]
            out.append("")
        for child in record.children:
            out.append(f"- {_md(child.line())}")
        if record.children:
            out.append("")
    if diff.files:
        out += ["Other files: " + ", ".join(f"`{p}`" for p in diff.files), ""]
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
