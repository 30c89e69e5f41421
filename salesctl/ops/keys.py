"""Read confidentiality's commands: ``key init``/``key show`` (a member's age identity),
``encrypt`` (turn a plain store into an encrypted one, in one commit) and ``rekey`` (after a
config change, re-encrypt the record directories whose readers changed, in one commit).

Who reads what is the access rule's (``store/readers.py``); the cryptography is age's
(``sealing.py``). docs/permissions.md has the threat model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesctl import scopes, sealing, yamlio
from salesctl.errors import Forbidden, Invalid, NotFound, SalesctlError
from salesctl.git import Change
from salesctl.model.config import Member
from salesctl.store.layout import POOL_DIR, RECORD_ROOTS, TOOLKIT_DIR
from salesctl.store.reader_rule import (
    MANIFEST,
    REPORTS,
    RecordDir,
    manifest_readers,
    recipient_directory,
    record_dir_of,
)
from salesctl.store.readers import Sealer
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import CONFIG_FILE, Store

DUP_READERS = "keys/readers.yaml"


def init_key(path: Path | None = None, *, force: bool = False) -> dict[str, str]:
    """Make this user's age identity (see ``sealing.generate_identity``)."""
    target = path or sealing.identity_path()
    public = sealing.generate_identity(target, force=force)
    return {"identity": str(target), "recipient": public}


def show_key(path: Path | None = None) -> dict[str, str]:
    keyring = sealing.load_keyring(path, required=True)
    public = keyring.public()
    if not public:
        raise Invalid(f"{keyring.source} is an ssh key", "its public half is your .pub file")
    return {"identity": keyring.source, "recipient": public[0]}


def record_files(store: Store) -> dict[RecordDir, list[str]]:
    """Every record directory in the work tree that an encrypted store seals, with its
    files (not its manifest), in one walk."""
    found: dict[RecordDir, list[str]] = {}
    root = str(store.root)
    for top in (*RECORD_ROOTS, REPORTS):
        if top in (POOL_DIR, TOOLKIT_DIR):
            continue
        for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            for name in files:
                place = record_dir_of(f"{rel}/{name}")
                if place is not None and not place.owner.is_pool:
                    paths = found.setdefault(place, [])
                    if name != MANIFEST:
                        paths.append(f"{rel}/{name}")
    return {place: sorted(found[place]) for place in sorted(found, key=lambda p: p.path)}


def record_dirs(store: Store) -> list[RecordDir]:
    """Every record directory in the work tree that an encrypted store seals."""
    return list(record_files(store))


@dataclass(frozen=True)
class Stale:
    """A record directory whose files are not encrypted to the readers the rule names."""

    path: str
    now: tuple[str, ...]  # as its manifest says ([] for none: not sealed yet)
    rule: tuple[str, ...]  # what the access rule says

    def as_json(self) -> dict[str, Any]:
        added = sorted(set(self.rule) - set(self.now))
        removed = sorted(set(self.now) - set(self.rule))
        return {"path": self.path, "readers": list(self.rule), "add": added, "remove": removed}


def _require_director(store: Store, actor: Member, action: str) -> None:
    if not scopes.action_allowed(store.config, actor, action):
        raise Forbidden(
            f"{actor.id} ({actor.role}) may not {action}",
            "a director (config.*) re-encrypts the store: they read every record",
        )


def encrypt_store(
    store: Store,
    actor: Member,
    *,
    recovery: str | None = None,
    demo_keys: Path | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Turn on ``encryption: age`` and seal every record file outside the pool and the
    toolkit, in one commit. History before it stays readable to whoever has the repository
    (docs/permissions.md says how to start a fresh one). ``demo_keys``: a directory outside
    the store where every active member without a key, and the recovery key if none is
    given, get a new identity (to try an encrypted sample; real members run ``key init``)."""
    config = store.config
    _require_director(store, actor, "config.edit")
    if config.encrypted:
        raise Invalid(
            "the store is encrypted already", "after a config change run `salesctl rekey`"
        )
    made: dict[str, str] = {}
    if demo_keys is not None:
        made, demo_recovery = _demo_identities(store, demo_keys, recovery or config.recovery)
        recovery = recovery or demo_recovery
    recovery = recovery or config.recovery
    if not recovery:
        raise Invalid(
            "an encrypted store needs the org's recovery recipient",
            "age-keygen -o recovery.key (keep it offline), then pass --recovery age1...",
        )
    problem = sealing.recipient_problem(recovery)
    if problem:
        raise Invalid(f"--recovery: {problem}", "pass the age1... line age-keygen printed")
    missing = sorted(
        m.id for m in config.members.values() if m.active and not m.age and m.id not in made
    )
    from salesctl.ops.org import edited_config

    def change(doc: Any) -> None:
        doc["encryption"] = "age"
        doc["recovery"] = recovery
        for entry in doc["members"]:
            if entry.get("id") in made:
                entry["age"] = made[entry["id"]]

    text, new_config = edited_config(store, change)
    for member in new_config.members.values():
        if member.age and (bad := sealing.recipient_problem(member.age)):
            raise Invalid(f"salesctl.yaml: members.{member.id}.age: {bad}", "fix it first")
    places = record_dirs(store)
    import secrets

    with store.transaction(actor, "config.encrypt", opts) as tx:
        tx.write_file(CONFIG_FILE, text.encode("utf-8"))
        tx.reseal.extend(places)  # sealed by the config this commit writes
        tx.dup_secret = secrets.token_bytes(32)
        _write_dup_secret(tx.change, new_config, tx.dup_secret)
        tx.summary = f"config.encrypt: {len(places)} record directories sealed"
    return tx.result(
        {
            "sealed_dirs": len(places),
            "recovery": recovery,
            "members_without_key": missing,
            "identities": {m: str(demo_keys / f"{m}.txt") for m in made} if demo_keys else {},
        }
    )


def _demo_identities(
    store: Store, keys: Path, recovery: str | None
) -> tuple[dict[str, str], str | None]:
    """New identities for the active members without a key (and the recovery key, if none
    is given) in ``keys``, which must be outside the store: secrets never enter it."""
    keys = keys.expanduser().resolve()
    if keys == store.root or store.root in keys.parents:
        raise Invalid(
            f"--demo-keys {keys} is inside the store",
            "choose a directory outside it: identities are secrets and never go into git",
        )
    if keys.exists() and not keys.is_dir():
        raise Invalid(f"--demo-keys {keys} is a file, not a directory", "give a directory")
    try:
        keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # a file of that name, no permission
        raise Invalid(
            f"--demo-keys {keys}: {exc.strerror}", "give a directory you may write"
        ) from None
    made = {
        m.id: sealing.generate_identity(keys / f"{m.id}.txt", force=True)
        for m in store.config.members.values()
        if m.active and not m.age
    }
    if recovery is None:
        recovery = sealing.generate_identity(keys / "recovery.txt", force=True)
    return made, recovery


def _dup_readers(config: Any) -> list[str]:
    return sorted(recipient_directory(config))


def _write_dup_secret(change: Change, config: Any, secret: bytes) -> None:
    """``keys/duplicates.age``: the org's duplicate-key secret, sealed to every member with
    a key and the recovery key; ``keys/readers.yaml`` names them (as a record's does)."""
    directory = recipient_directory(config)
    names = _dup_readers(config)
    # In the directory's stanza order: every write reads this file, the director's first.
    change.writes[sealing.DUPLICATES_FILE] = sealing.seal(secret, list(directory.values()))
    body = "# who keys/duplicates.age is encrypted to: every member with a key (age)\n"
    change.writes[DUP_READERS] = (body + yamlio.dumps({"readers": names})).encode()


def _dup_secret_stale(store: Store) -> bool:
    try:
        now = manifest_readers((store.root / DUP_READERS).read_bytes(), DUP_READERS)
    except (OSError, Invalid):
        return True
    return now is None or sorted(now.names) != _dup_readers(store.config)


def stale_dirs(
    store: Store, sealer: Sealer, *, strict: bool = True, everything: bool = False
) -> list[Stale]:
    """Record directories whose manifest differs from the readers the rule names (not
    ``strict``: as far as this member can tell, passing over what they cannot decrypt);
    ``everything``: every sealed directory (a new recovery key, a key rotation)."""
    out = []
    for place, files in record_files(store).items():
        try:
            now = manifest_readers((store.root / place.manifest).read_bytes(), place.manifest)
        except (FileNotFoundError, Invalid):
            now = None
        rule = sealer.readers(Change(), place, files, strict=strict)
        if everything or not rule.held_by(now):
            was = sorted(now.names | now.also) if now else []
            out.append(Stale(place.path, tuple(was), tuple(sorted(rule.names | rule.also))))
    return out


def rekey(
    store: Store, actor: Member, *, everything: bool = False, opts: WriteOpts = WRITE
) -> WriteResult[list[dict[str, Any]]]:
    """Re-encrypt, in one commit, every record directory whose readers changed (a new team
    lead, a member who left, a new key), or with ``everything`` all of them (a new
    recovery key or member key under the same name); ``opts.dry_run`` lists them."""
    config = store.config
    if not config.encrypted:
        raise Invalid("the store is not encrypted", "turn it on with `salesctl encrypt`")
    _require_director(store, actor, "config.edit")
    stale = stale_dirs(store, Sealer(store, store.keyring, config), everything=everything)
    places = [p for s in stale if (p := record_dir_of(s.path + "/" + MANIFEST))]
    with store.transaction(actor, "config.rekey", opts) as tx:
        tx.reseal.extend(places)
        if everything or _dup_secret_stale(store):
            secret = store.dup_secret()
            if secret is None and not (store.root / sealing.DUPLICATES_FILE).exists():
                import secrets

                secret = secrets.token_bytes(32)  # a store encrypted before there was one
            if secret is None:
                raise Invalid(
                    f"{sealing.DUPLICATES_FILE} is not encrypted to you",
                    "a director whose key opens it runs `salesctl rekey`",
                )
            tx.dup_secret = secret
            _write_dup_secret(tx.change, config, secret)
            try:
                was = manifest_readers((store.root / DUP_READERS).read_bytes(), DUP_READERS)
            except (OSError, Invalid):
                was = None
            before = tuple(sorted(was.names)) if was else ()
            stale.append(Stale("keys", before, tuple(_dup_readers(config))))
        tx.summary = f"config.rekey: {len(stale)} record directories"
    return tx.result([s.as_json() for s in stale])


def readers_problems(store: Store) -> list[tuple[str, str]]:
    """What ``check`` says about encryption, (path, problem): members without a key or
    with a broken one, and record directories whose readers differ from the rule's."""
    config = store.config
    if not config.encrypted:
        return []
    out: list[tuple[str, str]] = []
    for member in config.members.values():
        if member.active and not member.age:
            out.append(
                (CONFIG_FILE, f"members.{member.id} has no age: key; they read nothing sealed")
            )
        elif member.age and (bad := sealing.recipient_problem(member.age)):
            out.append((CONFIG_FILE, f"members.{member.id}.age: {bad}"))
    if _dup_secret_stale(store):
        out.append(
            (DUP_READERS, "readers differ from the members with a key; run `salesctl rekey`")
        )
    sealer = Sealer(store, store.keyring, config)
    for item in stale_dirs(store, sealer, strict=False):
        change = item.as_json()
        what = ", ".join([f"+{n}" for n in change["add"]] + [f"-{n}" for n in change["remove"]])
        out.append(
            (
                f"{item.path}/{MANIFEST}",
                f"readers differ from the access rule ({what}); a director runs `salesctl rekey`",
            )
        )
    return out


def decrypted(path: Path) -> bytes:
    """``path``'s bytes, opened with this user's identity when it is a sealed file that is
    encrypted to them (as it is otherwise: a textconv driver must never fail a diff)."""
    from salesctl import yamlio

    if path.is_dir():
        raise Invalid(f"{path} is a directory, not a file", "give the path of a file")
    try:
        raw = yamlio.read_regular(path, source=str(path), follow=True)
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file", "give the path of a file") from None
    try:
        return sealing.plaintext(raw, str(path), sealing.load_keyring()) or raw
    except SalesctlError:  # no identity, a damaged file: the diff shows the armour
        return raw
