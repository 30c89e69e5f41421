"""``salesctl sync``: fetch, rebase the clone's own commits onto the remote, push; retry
when someone pushed in between, with jittered exponential back-off until a time budget
(``--timeout``) runs out.

Safety first: it runs under the clone's store lock (no salesctl command commits halfway),
refuses to start with uncommitted edits to tracked files or a rebase/merge in progress, and
never loses a local commit: a rebase that stops on a conflict sync cannot settle is aborted,
which puts HEAD, the index and the work tree back exactly as they were (only the
remote-tracking branch has moved). The layout makes independent work conflict-free, but git
merges lines: edits of two fields on adjacent lines make one hunk. So where the rebase stops,
a record file is merged field by field (``sync_settle``, ``record_merge``): a conflict
means two people set the same field of the same record differently; sync names the record,
the field and both values, and the command that settles it (``--keep remote`` or ``--keep
local``, which decide those fields only). A record one side moved takes the other side's
new children with it (``sync_moves``); if that puts our commit where we may not write (the
remote gave the record to someone else), sync stops before pushing and says how to keep
or ``--drop`` it (``sync_judge``).

Under contention (many clones syncing after every change) a push loses the compare-and-swap
whenever another lands between our fetch and our push. Each retry fetches again and rebases
only our own commits onto the new tip; the pause before it is drawn uniformly from zero to
a cap ("full jitter") from the system's entropy, so clones that collided once do not collide
again in lock-step. ``backoff_delay`` says how the cap grows and shrinks.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from salesctl.errors import Conflict, Forbidden, Invalid
from salesctl.git import GitError
from salesctl.model.config import Member
from salesctl.ops.collab.record_merge import KEEP_SIDES, FieldConflict, Stuck
from salesctl.ops.collab.sync_git import Git as _Git
from salesctl.ops.collab.sync_git import git_message
from salesctl.ops.collab.sync_judge import MovedAway, drop_commits, refuse_writes_moved_away
from salesctl.ops.collab.sync_moves import carry_children, moved_records
from salesctl.ops.collab.sync_settle import settle, unmerged
from salesctl.store.store import Store

DEFAULT_TIMEOUT_SECONDS = 60.0
BACKOFF_FIRST_SECONDS = 0.05  # the least cap of the first pause; it grows 4x a retry ...
BACKOFF_CAP_SECONDS = 10.0  # ... up to this: 20 busy clones need pauses of seconds
# What the remote's output carries when salesctl's own pre-receive hook refused a push
# (``salesctl hook pre-receive`` prints it); any other refusal is the remote's own.
HOOK_REJECTION = "salesctl: push rejected"
__all__ = ["FieldConflict", "MovedAway", "Stuck", "SyncResult", "backoff_delay", "sync"]


@dataclass
class SyncResult:
    remote: str
    branch: str
    received: int = 0  # commits that came from the remote
    rebased: int = 0  # local commits replayed on top of them
    pushed: int = 0  # local commits now on the remote
    attempts: int = 0
    head: str = ""
    dropped: list[str] = field(default_factory=list)  # "hash subject" of each --drop

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["dropped"]  # said in the table only: scripts read the keys above
        return data


class PushRefused(Forbidden):
    """The remote's pre-receive hook declined the push; ``details`` are its reasons."""

    def __init__(self, message: str, hint: str, details: list[str]) -> None:
        super().__init__(message, hint)
        self.details = details


class RemoteRefused(Conflict):
    """The remote declined the push for a reason of its own (not salesctl's hook)."""


class SyncTimedOut(Conflict):
    """Every push within the time budget was overtaken; ``waiting`` local commits remain."""

    def __init__(self, message: str, hint: str, *, waiting: int, attempts: int) -> None:
        super().__init__(message, hint)
        self.waiting = waiting
        self.attempts = attempts


class SyncConflict(Conflict):
    """A rebase stopped; it was aborted and the clone is as it was."""

    def __init__(self, message: str, hint: str, details: list[str]) -> None:
        super().__init__(message, hint)
        self.details = details


def sync(
    store: Store,
    actor: Member | None,
    *,
    keep: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    drop: Sequence[str] = (),
) -> SyncResult:
    """Fetch, rebase local commits onto the remote branch, push; retry a lost race with
    jittered back-off until ``timeout`` seconds have passed. ``drop``: local commits to
    take out of the branch first (one sync refused for writing where the member may not)."""
    if keep is not None and keep not in KEEP_SIDES:
        raise Invalid(f"--keep {keep!r}", "use --keep remote or --keep local")
    if not timeout >= 0:  # also refuses NaN
        raise Invalid(f"--timeout {timeout}", "give the seconds sync may keep retrying, e.g. 60")
    git = _Git(store.root, {"GIT_EDITOR": ":", "GIT_TERMINAL_PROMPT": "0"})
    if actor is not None:  # rebased commits are committed by whoever syncs
        git.env.update(GIT_COMMITTER_NAME=actor.name, GIT_COMMITTER_EMAIL=actor.email)
    # The budget starts once we hold the clone's lock: a second sync in the same clone waits
    # for the first (the store lock's own timeout) and then finds little left to do.
    with store.repo.lock():
        started = _clock()
        store.repo.recover()
        branch, remote, merge_ref, tracked = _upstream(git)
        _refuse_busy(git, store)
        result = SyncResult(remote, branch)
        tracking = f"refs/remotes/{remote}/{merge_ref.removeprefix('refs/heads/')}"
        if drop:
            known = git.maybe("rev-parse", "-q", "--verify", f"{tracking}^{{commit}}")
            result.dropped = drop_commits(git, known, drop)
        while True:
            result.attempts += 1
            attempt_started = _clock()
            # Every step from this fetch to the push widens the window in which another
            # clone's push makes ours lose: fetch only what we need.
            fetched = git.call(
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                remote,
                f"+{merge_ref}:{tracking}",
            )
            upstream = git.maybe("rev-parse", "-q", "--verify", f"{tracking}^{{commit}}")
            if fetched.returncode != 0 and upstream is not None:
                raise GitError(f"git fetch {remote} failed: {git_message(fetched.stderr)}")
            head = git.out("rev-parse", "HEAD")
            if upstream is None:  # an empty remote: everything is ours to push
                ahead = int(git.out("rev-list", "--count", "HEAD"))
            elif upstream == head:
                ahead = 0
            else:
                ahead = _integrate(git, store, actor, head, upstream, keep, result)
            if ahead == 0:
                break
            pushed = git.call(
                "push",
                "--porcelain",
                *([] if tracked else ["--set-upstream"]),
                remote,
                f"HEAD:{merge_ref}",
            )
            if pushed.returncode == 0:
                result.pushed += ahead
                break
            if not _is_race(pushed):
                raise _push_error(pushed, remote)
            # Someone pushed first: wait a random while, then fetch, rebase and push again.
            # The pause is measured in units of how long our attempt took: on a busy machine
            # attempts are slow, and clones that keep trying only make them slower.
            now = _clock()
            left = started + timeout - now
            if left <= 0:
                raise _timed_out(result.attempts, ahead, now - started)
            _pause(min(left, backoff_delay(result.attempts, now - attempt_started, left / timeout)))
        result.head = git.out("rev-parse", "HEAD")
        _housekeep(store.root)
        store.index.fresh = False
    return result


_jitter = random.SystemRandom()  # never seeded: clones must not retry in lock-step
_clock: Callable[[], float] = time.monotonic
_pause: Callable[[float], None] = time.sleep


def backoff_delay(retry: int, attempt_seconds: float = 0.0, time_left: float = 1.0) -> float:
    """The pause before retry number ``retry`` (1, 2, ...): full jitter under a cap.

    The cap starts at the last attempt's duration (at least BACKOFF_FIRST_SECONDS) and grows
    fourfold on each retry up to BACKOFF_CAP_SECONDS, which spreads a herd of clones out
    within a few retries and costs a lone collision a fraction of a second. It then shrinks
    with the share of the time budget left (``time_left``, 1 to 0, to the fourth power):
    among many clones, one that has waited long retries more often than one that just
    started, so waits come close to first come, first served instead of a lottery whose
    unlucky losers run out of time (plain exponential back-off favours the newcomers).
    """
    unit = max(BACKOFF_FIRST_SECONDS, attempt_seconds)
    cap = min(BACKOFF_CAP_SECONDS, unit * 4 ** min(retry - 1, 16))
    return _jitter.uniform(0.0, cap * min(1.0, max(0.0, time_left)) ** 4)


def _housekeep(root: Path) -> None:
    """The ``gc --auto`` that sync's own git calls skipped (it detaches when there is work)."""
    subprocess.run(
        ["git", "maintenance", "run", "--auto", "--quiet"], cwd=root, capture_output=True
    )


def _timed_out(attempts: int, waiting: int, elapsed: float) -> SyncTimedOut:
    commits = "1 local commit waits" if waiting == 1 else f"{waiting} local commits wait"
    return SyncTimedOut(
        f"the remote kept moving: {attempts} pushes in {elapsed:.0f}s were overtaken; {commits}",
        "run `salesctl sync` again (or give it longer with --timeout SECONDS); "
        "your commits are safe in this clone",
        waiting=waiting,
        attempts=attempts,
    )


def _upstream(git: _Git) -> tuple[str, str, str, bool]:
    """(branch, remote, remote branch ref, whether an upstream is configured)."""
    branch = git.maybe("symbolic-ref", "--short", "-q", "HEAD")
    if branch is None:
        raise Invalid("HEAD is detached", "check out your branch first: git switch main")
    remote = git.maybe("config", "--get", f"branch.{branch}.remote")
    merge_ref = git.maybe("config", "--get", f"branch.{branch}.merge")
    tracked = remote is not None and merge_ref is not None
    if remote is None:
        remotes = (git.maybe("remote") or "").split()
        if len(remotes) != 1:
            raise Invalid(
                f"branch {branch} has no upstream"
                + (f" and there are {len(remotes)} remotes" if remotes else " and no remote"),
                "git remote add origin URL, or git branch -u origin/main",
            )
        remote = remotes[0]
    return branch, remote, merge_ref or f"refs/heads/{branch}", tracked


def _refuse_busy(git: _Git, store: Store) -> None:
    git_dir = store.repo.git_dir
    for marker in ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD"):
        if (git_dir / marker).exists():
            raise Conflict(
                f"a git operation is in progress ({marker})",
                "finish it (git rebase --continue, git merge --continue) or abort it first",
            )
    status = git.call("status", "--porcelain", "--untracked-files=no")
    paths = [line[3:] for line in status.stdout.splitlines() if len(line) > 3]
    if paths:
        shown = ", ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")
        raise Conflict(
            f"uncommitted changes to tracked files: {shown}",
            "commit them (or `git stash` them) and sync again",
        )


def _integrate(
    git: _Git,
    store: Store,
    actor: Member | None,
    head: str,
    upstream: str,
    keep: str | None,
    result: SyncResult,
) -> int:
    """Bring the remote's commits in: fast-forward, or rebase ours (only the commits the
    remote lacks) on top of them. Returns how many local commits are left to push; stops
    before pushing one that writes where ``actor`` may not in a record the remote moved."""
    counts = git.out("rev-list", "--left-right", "--count", f"{upstream}...{head}").split()
    theirs, ours = int(counts[0]), int(counts[1])
    result.received += theirs
    if ours == 0:
        git.out("merge", "--ff-only", "--quiet", upstream)
        return 0
    if theirs == 0:
        return ours  # only we have new commits
    base = git.out("merge-base", upstream, head)
    # git's own directory-rename guess is off: sync moves a moved record's children itself
    # (sync_moves), the same way whichever side moved it
    rebased = git.call(
        *("-c", "merge.directoryRenames=false", "rebase", "--quiet", "--rebase-merges"),
        *("--empty=keep", "--no-autostash", upstream),
    )
    while rebased.returncode != 0:
        local = git.maybe("log", "-1", "--format=%h %s", "REBASE_HEAD")
        try:
            stages = unmerged(git) if local else {}
            still = settle(git, store, stages, keep) if stages else []
        except BaseException:  # (an error, ^C): the clone as it was, never mid-rebase
            git.call("rebase", "--abort")
            raise
        if still or not stages:  # a stop that is no conflict, or one sync cannot settle
            _abort(git, head, rebased, still, local)
        rebased = git.call("-c", "merge.directoryRenames=false", "rebase", "--continue")
    theirs_moved = moved_records(git, base, upstream)
    carry_children(git, upstream, {**theirs_moved, **moved_records(git, base, head)})
    if theirs_moved and actor is not None:  # our writes may now be in someone else's record
        refuse_writes_moved_away(git, actor, upstream, theirs_moved, result.remote)
    result.rebased = ours  # the same commits again on a retry, not more of them
    # rebase drops a commit whose change the remote already has; count what is left
    return int(git.out("rev-list", "--count", f"{upstream}..HEAD"))


def _abort(
    git: _Git,
    head: str,
    rebased: subprocess.CompletedProcess[str],
    still: list[FieldConflict | Stuck],
    local: str | None,
) -> None:
    """Abort the stopped rebase (the clone as it was) and say why it stopped."""
    message = git_message(rebased.stderr) or git_message(rebased.stdout)
    git.call("rebase", "--abort")
    if git.out("rev-parse", "HEAD") != head:  # pragma: no cover - git guarantees it
        raise Conflict("rebase --abort did not restore HEAD", f"git reset --hard {head}")
    if not still:
        raise Conflict(
            f"sync could not rebase your commits: {message}",
            "nothing was changed; fix what git says and sync again",
        )
    details = [str(c) for c in still]
    if local:
        details.append(f"your commit: {local}")
    details.append("nothing was changed: the clone is exactly as it was before sync")
    records = sorted({c.where for c in still})
    keepable = all(isinstance(c, FieldConflict) or c.keepable for c in still)
    raise SyncConflict(
        f"sync stopped: {', '.join(records)} changed on both sides",
        "keep the remote's values with `salesctl sync --keep remote`, or yours with "
        "`salesctl sync --keep local` (for what is listed only); then change any field as "
        "you like with `salesctl lead edit ID --set FIELD=VALUE`"
        if keepable
        else "sync cannot settle this: rebase by hand (`git rebase @{upstream}`, fix the "
        "files, `git rebase --continue`), then sync again",
        details,
    )


def _is_race(pushed: subprocess.CompletedProcess[str]) -> bool:
    text = pushed.stdout + pushed.stderr
    return any(
        marker in text
        for marker in ("(fetch first)", "(non-fast-forward)", "stale info", "cannot lock ref")
    )


def _push_error(pushed: subprocess.CompletedProcess[str], remote: str) -> Exception:
    said = pushed.stdout + pushed.stderr
    remote_lines = [
        line.removeprefix("remote:").strip()
        for line in pushed.stderr.splitlines()
        if line.startswith("remote:") and line.removeprefix("remote:").strip()
    ]
    if any(line.startswith(HOOK_REJECTION) for line in remote_lines):
        return PushRefused(
            f"{remote} refused the push: its salesctl hook found changes outside your scope",
            # every pushed commit is judged, so a revert on top would not help
            "nothing was pushed; take those commits out with `salesctl sync --drop COMMIT` "
            "(ids below), after copying what you want to keep of them (`git show COMMIT`)",
            remote_lines,
        )
    if remote_lines or "[remote rejected]" in said:
        reason = " ".join(remote_lines) or git_message(pushed.stderr)
        return RemoteRefused(
            f"{remote} refused the push: {reason}",
            "nothing was pushed and your commits are safe in this clone; sync again once "
            "the remote accepts pushes (ask whoever runs it)",
        )
    return GitError(
        f"git push to {remote} failed: {git_message(pushed.stderr) or git_message(pushed.stdout)}"
    )
