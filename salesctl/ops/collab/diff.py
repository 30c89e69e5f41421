"""``salesctl diff``: the per-record changes of a range, as a reviewer reads them.

Data flow: a range (default: upstream...HEAD, what a push or a pull request of the current
branch would bring) → its two ends → ``git diff`` of the trees → ``record_changes`` → the
records the viewer may read (``scopes.may_read``), named from the new tree when their own
file did not change, plus the other paths changed → a ``RangeDiff``, shown as table rows
(``diff_rows``) or a pull request comment (``diff_markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesctl.errors import Invalid
from salesctl.model.config import Member
from salesctl.ops.collab.gitread import GitReader, load_fields, show_value
from salesctl.ops.collab.places import place_of
from salesctl.ops.collab.record_changes import RecordChange, problem_line, record_changes
from salesctl.ops.records import readable
from salesctl.scopes import Grants
from salesctl.store.store import Store

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
    grants = readable(store, viewer)
    visible = [r for r in records if _readable(grants, r)]
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


def _readable(grants: Grants, record: RecordChange) -> bool:
    owner = place_of(record.path).owner
    return owner is not None and grants.allows(owner, record.path)


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
        if told := problem_line(record.problem_before, record.problem, record.change):
            lines.append(("file", "", told))
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
        if told := problem_line(record.problem_before, record.problem, record.change):
            out += [f"- **file {_md(told)}**", ""]
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
