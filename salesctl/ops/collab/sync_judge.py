"""Writes to a record the remote moved away, for ``sync``; and ``sync --drop``.

A follow-up added to one's own lead while the lead was reassigned on the remote is rebased
into the lead's new directory (``sync_moves``), where its author may not write: the
server's hook would refuse the push. So when the remote moved records, sync judges the
rebased commits before pushing with the gate's own judge (``audit.audit_commits``, as the
hook does: as the syncing member, under the remote tip's config) and stops on a write that
is refused in a moved record's new directory, saying whose it is now and how to keep the
note (become a participant) or drop the commit (``drop_commits``). A sync that brings no
moved record judges nothing (it costs nothing), and any other refusal is the hook's to give.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from salesctl import scopes
from salesctl.errors import Conflict, Forbidden, Invalid, NotFound
from salesctl.model.config import Member
from salesctl.ops.collab.places import Place, place_of
from salesctl.ops.collab.sync_git import Git, git_message

if TYPE_CHECKING:  # the gate's modules load only when the remote moved a record
    from salesctl.ops.collab.gitread import GitReader
    from salesctl.ops.collab.judge import Violation

# The kinds of file a participant of a record may add to it (``scopes.PARTICIPANT_ACTIONS``).
PARTICIPANT_FILES = tuple(
    a.removesuffix(".add") for a in scopes.PARTICIPANT_ACTIONS if a.endswith(".add")
)


class MovedAway(Forbidden):
    """A rebased commit writes to a record the remote moved to someone the member may
    not write for; nothing was pushed. ``details``: each refused write."""

    def __init__(self, message: str, hint: str, details: list[str]) -> None:
        super().__init__(message, hint)
        self.details = details


def refuse_writes_moved_away(
    git: Git, actor: Member, upstream: str, moves: dict[str, str], remote: str
) -> None:
    """Raise ``MovedAway`` if a commit of ``upstream..HEAD`` writes where ``actor`` may
    not in a directory the remote moved a record to (``moves``: old directory -> new)."""
    from salesctl.ops.collab.audit import audit_commits
    from salesctl.ops.collab.gitread import GitReader

    head = git.out("rev-parse", "HEAD")
    commits = git.out("rev-list", "--topo-order", "--reverse", f"{upstream}..{head}").split()
    reader = GitReader(git.root)
    try:
        report = audit_commits(
            reader,
            commits,
            base=upstream,
            tip=head,
            label=f"{upstream[:10]}..{head[:10]}",
            actor=actor.id,
            validate=False,
            rules_at=upstream,
        )
    except (NotFound, Invalid):
        return  # the syncing member is not in the remote's config: its hook says so
    new_dirs = tuple(f"{new}/" for new in moves.values())
    refused = [v for v in report.violations if f"{v.path}/".startswith(new_dirs)]
    if refused:
        raise _moved_away(git, reader, actor, refused, remote)


def _moved_away(
    git: Git, reader: GitReader, actor: Member, refused: list[Violation], remote: str
) -> MovedAway:
    first = refused[0]
    place = place_of(first.path)
    assert place.owner is not None
    owner = place.owner
    now = "in the pool" if owner.is_pool else f"{owner}'s"
    commits = list(dict.fromkeys(v.commit for v in refused))
    short = [git.out("rev-parse", "--short", c) for c in commits]
    subject = git.out("log", "-1", "--format=%s", commits[0])
    more = f" (and {len(short) - 1} more of yours)" if len(short) > 1 else ""
    added = all(_added_child(reader, v) for v in refused)
    keep = (
        _keep_hint(reader, actor, first.path)
        if added
        else (f"ask {owner.member or 'its new owner'} or your lead to make the change")
    )
    drop = " ".join(f"--drop {s}" for s in short)
    return MovedAway(
        f"{place.record} is {now} now (moved on {remote}): your commit {short[0]} "
        f'"{subject}"{more} {"adds to" if added else "changes"} it, which {actor.id} may '
        "not; nothing was pushed, and your commits are rebased in this clone, not lost",
        f"{keep}; or drop the commit with `salesctl sync {drop}`: it stays readable with "
        f"`git show {short[0]}`, to copy what it wrote to a record of yours",
        [str(v) for v in refused],
    )


def _keep_hint(reader: GitReader, actor: Member, path: str) -> str:
    """How to keep a follow-up or visit added to a record that is someone else's now: its
    owner adds the member to its participants (keeping those it has)."""
    place = place_of(path)
    assert place.kind is not None and place.owner is not None
    participants = ",".join(dict.fromkeys([*_participants(reader, path, place), actor.id]))
    return (
        f"to keep it, ask {place.owner.member or 'its new owner'} to make you a participant, "
        f"who may add follow-ups and visits: `salesctl {place.kind.name} edit "
        f"{place.record} --set participants={participants}`, then sync again"
    )


def _added_child(reader: GitReader, refused: Violation) -> bool:
    """Did the refused write add a follow-up or visit (what a participant may add)?"""
    kind = place_of(refused.path).file_kind
    if kind is None or kind.name not in PARTICIPANT_FILES:
        return False
    return not reader.succeeds("cat-file", "-e", f"{refused.commit}^:{refused.path}")


def _participants(reader: GitReader, path: str, place: Place) -> list[str]:
    """The record's participants at HEAD (to add the member to, not replace)."""
    from salesctl.ops.collab.gitread import load_fields

    assert place.kind is not None
    main = path[: -len(place.rel)] + place.kind.file_name
    fields = load_fields(reader.files_at("HEAD", [main]).get(main), main) or {}
    return scopes.participants_of(fields)


DROPPED_REFS = "refs/salesctl/dropped/"  # a dropped commit stays readable here (never pushed)


def drop_commits(git: Git, tracking: str | None, commits: Sequence[str]) -> list[str]:
    """Take ``commits`` (not yet on the remote: ``tracking..HEAD``) out of the branch,
    newest first so the older ones keep their ids; returns each one's ``hash subject``.
    Each stays under ``refs/salesctl/dropped/<hash>`` in this clone, so what it wrote can
    still be read (``git show``) and copied after the drop; no reflog expiry takes it."""
    waiting = f"{tracking}..HEAD" if tracking else "HEAD"
    local = git.out("rev-list", "--topo-order", waiting).split()
    chosen: dict[str, str] = {}
    for name in commits:
        full = git.maybe("rev-parse", "-q", "--verify", f"{name}^{{commit}}")
        if full is None or full not in local:
            raise Invalid(
                f"--drop {name}: not one of your commits waiting to be pushed",
                "`git log @{upstream}..HEAD` lists them",
            )
        if len(git.out("rev-list", "--parents", "-1", full).split()) != 2:
            raise Invalid(
                f"--drop {name}: a merge or the first commit", "drop it with `git rebase -i`"
            )
        chosen[full] = git.out("log", "-1", "--format=%h %s", full)
    started = git.out("rev-parse", "HEAD")
    for full in sorted(chosen, key=local.index):  # rev-list lists the newest first
        dropped = git.call(
            *("rebase", "--quiet", "--rebase-merges", "--empty=keep", "--no-autostash"),
            *("--onto", f"{full}^", full),
        )
        if dropped.returncode != 0:
            message = git_message(dropped.stderr) or git_message(dropped.stdout)
            git.call("rebase", "--abort")
            git.out("reset", "--quiet", "--keep", started)  # the drops before it undone too
            raise Conflict(
                f"cannot drop {chosen[full]}: a later commit of yours builds on it: {message}",
                "drop that one too, or use `git rebase -i @{upstream}`",
            )
    for full in chosen:
        git.out("update-ref", f"{DROPPED_REFS}{full}", full)
    return list(chosen.values())
