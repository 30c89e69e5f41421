"""What the gate (``check --range``, the pre-receive hook) measures beyond who may change a
path: the pool cap over a merge, file sizes and executable bits. The same limits as the
CLI's, from the same constants: an attachment as ``followup add --attach`` takes it, a
toolkit file as ``toolkit add`` does, a record file as ``yamlio`` reads one.

Data flow: ``Judge`` asks ``mode_refusal`` of every changed path and, for a merge,
``merge_claims`` of the commit; ``audit`` notes every new blob with ``Sizes.note`` as it
judges and asks ``Sizes.violations`` once at the end: one ``git cat-file --batch-check``
for the whole range, not one per commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from salesctl import yamlio
from salesctl.model.config import Config, Member
from salesctl.model.kinds import Kind
from salesctl.ops.collab.gitread import FileChange, GitReader, load_fields
from salesctl.ops.collab.places import place_of
from salesctl.ops.sales.followups import MAX_ATTACHMENT_BYTES
from salesctl.ops.sales.ownership import CLOSED_LEAD_STAGES
from salesctl.ops.sales.toolkit import max_size_in
from salesctl.store.layout import POOL, Owner
from salesctl.store.reader_rule import is_sealed_path

EXECUTABLE_MODE = "100755"
EXECUTABLE = f"is executable (mode {EXECUTABLE_MODE}); record files are plain files"


def mode_refusal(change: FileChange) -> str | None:
    """A file of the record directories must not be executable: no command makes one so,
    and a checkout would hand every clone an executable file someone pushed."""
    if change.new_mode != EXECUTABLE_MODE or place_of(change.path).owner is None:
        return None
    return f"{EXECUTABLE} (`git update-index --chmod=-x {change.path}`)"


# A committed report: reports/limits.py's MAX_OUTPUT characters (16 Mi), 4 bytes each at most
REPORT_MAX_BYTES = 4 * 16 * 1024 * 1024


def size_limit(config: Config, path: str) -> int | None:
    """The most bytes a file at ``path`` may have (None: no limit here)."""
    limit = _plain_limit(config, path)
    if limit is not None and is_sealed_path(config, path):
        # sealed: the age message, ASCII-armoured (base64 in 64-character lines, 16 bytes
        # per 64 KiB chunk, a header naming each reader) of a file the CLI measured plain
        return limit * 4 // 3 * 65 // 64 + limit // 4096 + 64 * 1024
    return limit


def _plain_limit(config: Config, path: str) -> int | None:
    place = place_of(path)
    if place.owner is not None and place.special == "report":
        return REPORT_MAX_BYTES
    if place.owner is None or place.kind is None:
        return None  # the config and CI files (directors'), strays (refused anyway)
    if place.special == "attachment":
        return MAX_ATTACHMENT_BYTES
    if place.special == "toolkit-file":
        return max_size_in(config)  # an LFS pointer is a few lines
    if place.special in (None, "readers"):
        return yamlio.MAX_FILE_BYTES
    return None


@dataclass
class Sizes:
    """New blobs of the judged commits, measured all at once at the end."""

    config: Config
    pending: list[tuple[str, str, str, str, int]] = field(default_factory=list)

    def note(self, commit: str, who: str, changes: Sequence[FileChange]) -> None:
        for change in changes:
            if change.new_blob is None or change.new_blob == change.old_blob:
                continue
            limit = size_limit(self.config, change.path)
            if limit is not None:
                self.pending.append((commit, who, change.path, change.new_blob, limit))

    def violations(self, git: GitReader) -> list[tuple[str, str, str, str]]:
        """(commit, path, who, message) of each file over its limit."""
        if not self.pending:
            return []
        wanted = sorted({blob for *_, blob, _limit in self.pending})
        out = git.text(
            "cat-file",
            "--batch-check=%(objectname) %(objectsize)",
            input="".join(f"{b}\n" for b in wanted).encode(),
        )
        sizes = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                sizes[parts[0]] = int(parts[1])
        found = []
        for commit, who, path, blob, limit in self.pending:
            size = sizes.get(blob, 0)
            if size > limit:
                megabytes = f"{limit / (1024 * 1024):g} MB"
                found.append((commit, path, who, f"is {size} bytes, over the {megabytes} limit"))
        return found


# -- the pool cap -----------------------------------------------------------------------------


def open_owned(git: GitReader, commit: str, kind: Kind, home: Owner) -> int:
    """Open records of ``kind`` in ``home``'s directory in ``commit``'s tree, as a claim
    counts them (``ownership.open_owned_count``: every stage but the closed ones)."""
    base = f"{home.dir}/{kind.plural}"
    paths = [
        p
        for p in git.list_paths(commit, [base + "/"])
        if p.count("/") == base.count("/") + 2 and p.endswith("/" + kind.file_name)
    ]
    stages = git.files_at(commit, paths)
    return sum(
        (load_fields(content, path) or {}).get("stage") not in CLOSED_LEAD_STAGES
        for path, content in stages.items()
    )


def merge_claims(
    git: GitReader, commit: str, parents: Sequence[str], member: Member, cap: int
) -> list[str]:
    """A merge of branches that each took records from the pool into ``member``'s own
    directory: the claim cap counted in the merge's tree, where each side's claims meet.
    (A merge's own changes leave out what its parents carry, so each claim was judged only
    in its side's tree.) Over the cap, and above every parent's count: a message per kind."""
    base = git.merge_base(*parents)
    if base is None:
        return []
    home = Owner(member=member.id, team=member.team)
    kinds: dict[str, Kind] = {}
    for parent in parents:
        changes = [(c, place_of(c.path)) for c in git.diff(base, parent)]
        left_pool = {
            p.record for c, p in changes if c.new_blob is None and p.is_main and p.owner == POOL
        }
        for change, place in changes:
            arrived = change.old_blob is None and place.is_main and place.owner == home
            if arrived and place.kind and place.record in left_pool:
                kinds[place.kind.name] = place.kind
    found = []
    for kind in kinds.values():
        count = open_owned(git, commit, kind, home)
        if count > cap and all(count > open_owned(git, p, kind, home) for p in parents):
            found.append(
                f"merges claims from the pool: {member.id} would own {count} open "
                f"{kind.name}s, over the cap of {cap} (pool.max_owned_leads); "
                "claim on one branch, or release some first"
            )
    return found
