"""Members and teams without hand-editing YAML: ``member add/edit/deactivate``, ``team add``.

Each command rewrites ``salesctl.yaml`` in one commit, keeping its comments, key order and
layout: the edit goes through ruamel.yaml's round-trip mode, used for this file's edits only
(records are never read with it). The result is then read back with salesctl's own safe
loader and validated as ``check`` would (``parse_config``): a duplicate id or email, an
unknown team or role is refused naming the key, and nothing is written. Directors and
admins may do this (the ``member.*``/``team.*`` actions; ``check --range`` judges the commit
as any change to the config: ``config.edit``).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from typing import Any

from salesctl import scopes, yamlio
from salesctl.errors import Forbidden, Invalid
from salesctl.ids import is_id
from salesctl.model import values
from salesctl.model.config import Config, Member, parse_config
from salesctl.model.kinds import BY_PLURAL, KINDS
from salesctl.model.members import member_json
from salesctl.store.layout import Owner, parse_path, record_dir
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import CONFIG_FILE, Store, Transaction

MEMBER_FIELDS = ("name", "email", "team", "role", "login", "active", "age")


def add_member(
    store: Store,
    actor: Member,
    member_id: str,
    *,
    name: str,
    email: str,
    role: str,
    team: str | None = None,
    login: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Add a member to ``members:``."""
    name, email = _text("name", name, "--name"), _text("email", email, "--email")
    entry = {"id": member_id, "name": name, "email": email, "team": team, "role": role}
    entry.update(login=login)

    def change(doc: Any) -> None:
        _append(doc, "members", {k: v for k, v in entry.items() if v is not None})

    summary = f"member.add: {member_id} ({name})"
    return _edit(store, actor, "member.add", change, summary, _member(member_id), opts)


def edit_member(
    store: Store,
    actor: Member,
    member_id: str,
    sets: dict[str, str],
    *,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Change a member's fields (``name``, ``email``, ``team``, ``role``, ``login``,
    ``active``, ``age``: their age recipient); an empty value removes an optional one."""
    unknown = sorted(set(sets) - set(MEMBER_FIELDS))
    if unknown:
        settable = ", ".join(MEMBER_FIELDS)
        raise Invalid(f"member field {unknown[0]!r} cannot be set", f"settable: {settable}")
    store.config.require_member(member_id)
    sets = dict(sets)
    for key in ("name", "email"):  # never optional: an empty value cannot remove them
        if key in sets:
            sets[key] = _text(key, sets[key], f"--set {key}=")

    def change(doc: Any) -> None:
        entry = next(m for m in doc["members"] if m.get("id") == member_id)
        for key, value in sets.items():
            if value == "":
                entry.pop(key, None)
            elif key == "active":
                entry[key] = _flag(value)
            else:
                entry[key] = value

    summary = f"member.edit: {member_id} ({', '.join(sorted(sets))})"
    old_team = store.config.require_member(member_id).team
    moving = "team" in sets and sets["team"] != (old_team or "")

    def move_records(tx: Transaction) -> None:
        if moving:
            _move_home(store, actor, tx, member_id, old_team, sets["team"] or None)

    was_active = store.config.require_member(member_id).active
    result = _edit(
        store, actor, "member.edit", change, summary, _member(member_id), opts, move_records
    )
    if was_active and sets.get("active") and not _flag(sets["active"]) and result.paths:
        _warn_owner(store, member_id)
    return result


def _warn_owner(store: Store, member_id: str) -> None:
    """A member made inactive who still owns records: say what, and how to hand it over
    (their records stay where they are, with an owner who can no longer act on them)."""
    counts = []
    for kind in KINDS.values():
        if kind.movable:
            rows = store.index.query(kind.name, "owner = ?", [member_id])
            n = sum(1 for path, _d, _p in rows if (loc := parse_path(path)) and not loc.parent)
            if n:
                counts.append(f"{n} {kind.plural}")
    if counts:
        warn = store.warn or logging.getLogger("salesctl").warning
        warn(
            f"{member_id} still owns {', '.join(counts)}: hand them over with "
            f"`salesctl member handover {member_id} --to COLLEAGUE`"
        )


def _move_home(
    store: Store,
    actor: Member,
    tx: Transaction,
    member_id: str,
    old_team: str | None,
    team: str | None,
) -> None:
    """A member who changes team takes their records to their new home directory, in the
    same commit: each moves as ``assign`` would (a director may; ``check --range`` agrees).
    Then whatever else their old home directory holds goes too: their own OKRs, their
    report files, an encrypted store's manifests (``_move_rest``)."""
    config = store.config
    home = Owner(member=member_id, team=team)
    for kind in KINDS.values():
        if not kind.movable:
            continue
        for path, _data, _problems in store.index.query(kind.name, "owner = ?", [member_id]):
            loc = parse_path(path)
            if loc is None or loc.parent is not None or loc.owner == home:
                continue
            scopes.check_write(
                config, actor, f"{kind.name}.assign", loc.owner, target=home, record=loc.id
            )
            tx.move_dir(loc.record_dir, record_dir(home, kind, loc.id))
            tx.mention(loc.id)
    _move_rest(store, actor, tx, Owner(member=member_id, team=old_team), home)


def _move_rest(store: Store, actor: Member, tx: Transaction, old: Owner, home: Owner) -> None:
    """Everything left in ``old``'s directory once the records that change owner have
    moved (those are staged as deletes already) goes to ``home``'s: a record directory
    (a personal OKR) as ``<kind>.assign`` allows, the reports as ``report.commit`` does,
    anything else as it is, so no file of the member stays behind their old team."""
    config = store.config
    base = store.root / old.dir
    if not base.is_dir() or base.is_symlink():
        return
    moved = set()  # the paths staged as deletes under ``old``, and their directories
    for path in tx.change.deletes:
        while path.startswith(old.dir + "/") and path not in moved:
            moved.add(path)
            path = path.rsplit("/", 1)[0]
    for entry in sorted(base.iterdir()):
        kind = BY_PLURAL.get(entry.name)
        units = [entry]
        if kind is not None and entry.is_dir() and not entry.is_symlink():
            units = sorted(entry.iterdir())
        for unit in units:
            rel = unit.relative_to(store.root).as_posix()
            if rel in moved:
                continue
            if kind is not None:
                scopes.check_write(
                    config, actor, f"{kind.name}.assign", old, target=home, record=unit.name
                )
                if is_id(unit.name):
                    tx.mention(unit.name)
            elif entry.name == "reports":
                scopes.check_write(config, actor, "report.commit", old, target=home, record=rel)
            tx.move_dir(rel, home.dir + rel[len(old.dir) :])


def add_team(
    store: Store, actor: Member, team_id: str, *, name: str, opts: WriteOpts = WRITE
) -> WriteResult[dict[str, Any]]:
    """Add a team to ``teams:``."""

    def change(doc: Any) -> None:
        _append(doc, "teams", {"id": team_id, "name": name})

    def described(config: Config) -> dict[str, Any]:
        return {"id": team_id, "name": config.teams[team_id].name}

    summary = f"team.add: {team_id} ({name})"
    return _edit(store, actor, "team.add", change, summary, described, opts)


def _member(member_id: str) -> Callable[[Config], dict[str, Any]]:
    """The member as ``member list`` shows it, read from the new config."""

    def described(config: Config) -> dict[str, Any]:
        member = config.require_member(member_id)
        return member_json(member)

    return described


def _append(doc: Any, key: str, values: dict[str, Any]) -> None:
    """Add an entry to a list of the config, written as its siblings are (``{id: ...}`` on
    one line, or a block)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    entries = doc.setdefault(key, CommentedSeq())
    entry = CommentedMap(values)
    if entries and isinstance(entries[-1], CommentedMap) and entries[-1].fa.flow_style():
        entry.fa.set_flow_style()
    entries.append(entry)


def _text(key: str, value: str, flag: str) -> str:
    """A member's name or email as given: one line, not blank, an email an address."""
    example = "王芳" if key == "name" else "wangfang@acme.example"
    hint = f"e.g. {flag}{example}" if flag.endswith("=") else f"e.g. {flag} {example}"
    if not value.strip():
        raise Invalid(f"{flag.rstrip('=')}: a member's {key} cannot be empty", hint)
    try:
        return values.coerce_email(value) if key == "email" else values.coerce_line(value)
    except ValueError as exc:
        raise Invalid(f"{flag.rstrip('=')}: {exc}", hint) from None


def _flag(value: str) -> bool:
    if value.lower() in ("true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    raise Invalid(f"active: {value!r} is not true or false", "e.g. --set active=false")


def _edit(
    store: Store,
    actor: Member,
    action: str,
    change: Callable[[Any], None],
    summary: str,
    described: Callable[[Config], dict[str, Any]],
    opts: WriteOpts,
    also: Callable[[Transaction], None] = lambda tx: None,
) -> WriteResult[dict[str, Any]]:
    """Apply ``change`` to the round-trip document of salesctl.yaml, validate, commit."""
    config = store.config  # the file as it is must be valid first
    if not scopes.action_allowed(config, actor, action):
        raise Forbidden(f"{actor.id} ({actor.role}) may not {action}", "ask a director or an admin")
    text, new_config = edited_config(store, change)
    unchanged = yamlio.loads(text, source=CONFIG_FILE) == yamlio.loads(
        yamlio.read_regular(store.root / CONFIG_FILE, source=CONFIG_FILE), source=CONFIG_FILE
    )
    with store.transaction(actor, action, opts) as tx:
        if not unchanged:  # (a member deactivated twice: nothing to change, no commit)
            tx.write_file(CONFIG_FILE, text.encode("utf-8"))
        also(tx)
        tx.summary = summary
    return tx.result(described(new_config))


def deactivated_config(store: Store, actor: Member, member_id: str) -> bytes:
    """salesctl.yaml with ``member_id`` marked inactive, validated, for another command's
    commit to write (``member handover --deactivate``); needs the actor's ``member.edit``."""
    if not scopes.action_allowed(store.config, actor, "member.edit"):
        raise Forbidden(
            f"{actor.id} ({actor.role}) may not deactivate {member_id} (member.edit)",
            "hand over without --deactivate, and ask a director or an admin to deactivate",
        )

    def change(doc: Any) -> None:
        entry = next(m for m in doc["members"] if m.get("id") == member_id)
        entry["active"] = False

    return edited_config(store, change)[0].encode("utf-8")


def edited_config(store: Store, change: Callable[[Any], None]) -> tuple[str, Config]:
    """The text of salesctl.yaml after ``change`` to its round-trip document, and the
    config it gives; ``Invalid`` (nothing written) if that config has a problem."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    path = store.root / CONFIG_FILE
    original = yamlio.read_regular(path, source=CONFIG_FILE)
    editor = YAML(typ="rt")
    editor.preserve_quotes = True
    editor.width = 4096  # never fold a long line the person wrote on one
    text = original.decode("utf-8")
    _guess, indent, dash = load_yaml_guess_indent(text)
    nested = re.search(r"^[^\s#-][^\n]*:\n( +)[^\s#-]", text, re.M)  # a mapping in a mapping
    mapping = len(nested.group(1)) if nested else 2
    editor.indent(mapping=mapping, sequence=indent or mapping, offset=dash or 0)
    doc = editor.load(original)
    change(doc)
    buffer = io.StringIO()
    editor.dump(doc, buffer)
    text = buffer.getvalue()
    new_config, problems = parse_config(yamlio.loads(text, source=CONFIG_FILE), CONFIG_FILE)
    if problems:
        raise Invalid(f"{problems[0]}", "nothing was changed")
    _keep_a_director(store.config, new_config)
    return text, new_config


def _keep_a_director(old: Config, new: Config) -> None:
    """Refuse a change that leaves no active director where there was one (deactivating or
    demoting the last): nobody could then edit members, teams or keys, and the gate refuses
    a hand edit of the config by an inactive author."""
    before = _directors(old)
    if before and not _directors(new):
        who = ", ".join(sorted(before))
        last = "is the last active director" if len(before) == 1 else "are the last directors"
        raise Invalid(
            f"{who} {last}",
            "make another member a director first: salesctl member edit ID --set role=director",
        )


def _directors(config: Config) -> set[str]:
    """The active members whose role may do anything (``director``'s ``*``)."""
    return {m.id for m in config.members.values() if m.active and "*" in config.role_of(m).actions}
