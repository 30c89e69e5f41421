"""git's split index for a big store's user index (``core.splitIndex``).

With a split index git rewrites only the entries that changed since its shared part
(``.git/sharedindex.*``), not the whole file, which is what ``update-index`` and
``write-tree`` spent most of their time on (at 500,000 entries, 0.75 s a write became
0.4 s). Once split, git keeps the index so; ``git config core.splitIndex false`` (a tool
built on libgit2 cannot read a split index) is a choice salesctl leaves alone.

Every git command that reads a split index merges its split part into the shared
one, entry by entry, and an entry the split part adds costs far more there than
one it replaces: after three 10,000-lead imports (30,000 added entries, under git's
default 20 % before it writes a new shared part) that merge took 0.9 s of every
``git status``, ``update-index`` and ``write-tree``, and it grows with each import.
So salesctl's writes let the split part grow to 1 % of the entries only; past it
git writes a new shared part (0.3-0.5 s, once per import or per some thousand
small writes). Each shared part is 55 MB there, and git keeps the replaced ones for
two weeks: salesctl's writes let git delete those unread for an hour (git marks the
one in use each time it reads it, and a work tree's index is the only reader). The
user's own ``splitIndex.*`` settings are theirs to keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesctl.git import Repo

FROM_BYTES = 8 << 20  # an index this big (≈ 60,000 entries) is split: below, a rewrite is quick
CONFIG = {  # ``-c`` settings for salesctl's own update-index and write-tree
    "core.splitIndex": "true",
    "splitIndex.maxPercentChange": "1",  # of the entries in the split part: then a new shared one
    "splitIndex.sharedIndexExpire": "1.hour.ago",  # replaced shared parts, unread that long
}


def config_for(repo: Repo) -> tuple[str, ...]:
    """The ``-c`` settings for git commands that write ``repo``'s index: none for a small
    index, and none the user set already."""
    try:
        big = (repo.git_dir / "index").stat().st_size >= FROM_BYTES
    except OSError:
        return ()
    if not big:
        return ()
    ours = {key.lower(): f"{key}={value}" for key, value in CONFIG.items()}
    out = repo.run("config", "--get-regexp", "^(core.splitindex|splitindex[.].*)$", check=False)
    for line in out.splitlines():
        ours.pop(line.split(" ", 1)[0].lower(), None)  # set by the user: theirs
    return tuple(ours.values())
