"""Creating a store: ``salesctl init`` (empty, or a copy of the bundled sample)."""

from __future__ import annotations

import re
from pathlib import Path

from salesctl import yamlio
from salesctl.errors import Invalid
from salesctl.git import Author, Change, Repo
from salesctl.store.store import CONFIG_FILE

GITIGNORE = "# salesctl keeps its index and lock under .git/salesctl, never in the tree\n*.tmp\n"


def bundled_dir(name: str) -> Path:
    """A data directory shipped with salesctl (``records`` or ``templates``).

    In a source checkout it is the top-level directory; in an installed wheel it is
    packaged under ``salesctl/_data/``.
    """
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_data" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise Invalid(f"the bundled {name}/ directory is missing", "reinstall salesctl")


def default_config(name: str | None, email: str | None) -> dict[str, object]:
    member_id = re.sub(r"[^a-z0-9_-]", "", (email or "admin").split("@")[0].lower()) or "admin"
    if not member_id[0].isalpha():
        member_id = "m" + member_id
    return {
        "org": "My Company",
        "currency": "CNY",
        "timezone": "Asia/Shanghai",
        "teams": [{"id": "sales", "name": "Sales"}],
        "members": [
            {
                "id": member_id[:32],
                "name": name or member_id,
                "email": email or "admin@example.com",
                "role": "director",
            }
        ],
        "pool": {"reclaim_after_days": 30, "max_owned_leads": 200},
    }


def init_store(path: Path, *, sample: bool = False) -> tuple[Path, str]:
    """Create a store at ``path`` as a git repository with one initial commit."""
    root = path.resolve()
    if (root / CONFIG_FILE).exists():
        raise Invalid(f"{root} already holds a store ({CONFIG_FILE} exists)", "use it as it is")
    if root.exists() and any(p.name != ".git" for p in root.iterdir()):
        raise Invalid(f"{root} is not empty", "choose a new or empty directory")
    root.mkdir(parents=True, exist_ok=True)
    repo = Repo(root)
    if not (root / ".git").exists():
        repo.run("init", "-q", "-b", "main")
    repo.run("config", "core.untrackedCache", "true")
    change = Change()
    if sample:
        source = bundled_dir("records")
        for file in sorted(source.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                change.writes[file.relative_to(source).as_posix()] = file.read_bytes()
        config = yamlio.load_file(str(source / CONFIG_FILE))
    else:
        config = default_config(repo.config_value("user.name"), repo.config_value("user.email"))
        change.writes[CONFIG_FILE] = yamlio.dumps(config).encode()
    change.writes[".gitignore"] = GITIGNORE.encode()
    first = next(m for m in config["members"] if m.get("role") in ("director", "admin"))
    author = Author(first.get("name") or first["id"], first["email"])
    message = (
        f"init: {'sample store' if sample else 'new store'} for {config['org']}\n\n"
        "Salesctl-Action: store.init\n"
    )
    with repo.lock():
        commit = repo.apply(change, author=author, message=message, commit=True)
    assert commit is not None
    return root, commit
