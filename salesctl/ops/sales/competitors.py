"""Competitor intelligence (競品分析): "departments share competitor information in real time".

A competitor is an org-wide record under ``competitors/`` that every member reads and leads
and directors keep (``competitor.add``/``competitor.edit``); anyone adds intel as a note
(``competitor.note``), a separate file like a follow-up, so notes from many clones merge.
Deals name their competitors and what they were lost to by a competitor's name or alias:
once the org keeps competitor records, ``deal add --competitor`` and ``deal move --lost-to``
take only names it knows (given as the record's name), so losses group by competitor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesctl import clock, scopes
from salesctl.errors import Invalid, NotFound
from salesctl.ids import is_id, new_id
from salesctl.model import values
from salesctl.model.config import Member
from salesctl.model.kinds import COMPETITOR, NOTE
from salesctl.ops.records import child_loc, new_record, readable, record_json, validate
from salesctl.store.layout import COMPANY, RecordPath, parse_path, record_file
from salesctl.store.records import Record, json_record
from salesctl.store.results import WRITE, WriteOpts, WriteResult
from salesctl.store.store import Store

RECENT_NOTES = 10


def _key(name: str) -> str:
    """A competitor's name as compared: width (NFKC: Ｓａｌｅｓｆｏｒｃｅ), case and spaces
    folded, invisible format characters dropped."""
    return " ".join(values.folded(name).split())


def known(store: Store) -> dict[str, str]:
    """{name or alias, folded: the competitor's name} of every competitor record."""
    names: dict[str, str] = {}
    for _id, _owner, _team, _parent, name, aliases in store.index.select(
        "competitor", ["name", "aliases"]
    ):
        if not isinstance(name, str):
            continue
        names.setdefault(_key(name), name)
        for alias in _aliases(aliases):
            names.setdefault(_key(alias), name)
    return names


def _aliases(raw: Any) -> list[str]:
    import json

    value = json.loads(raw) if isinstance(raw, str) else raw
    return [a for a in value or [] if isinstance(a, str)]


def canonical(store: Store, names: Iterable[str], option: str) -> list[str]:
    """``names`` as the competitor records name them, once the org keeps any; an unknown
    name is refused with the list (``option`` names the flag)."""
    given = [n.strip() for n in names if n and n.strip()]
    table = known(store) if given else {}
    if not table:
        return list(dict.fromkeys(given))
    result = []
    for name in given:
        found = table.get(_key(name))
        if found is None:
            listed = ", ".join(sorted(set(table.values()), key=str.casefold))
            raise Invalid(
                f"{option} {name!r} is not a known competitor",
                f"known: {listed}; or add it: salesctl competitor add --name {name!r}",
            )
        result.append(found)
    return list(dict.fromkeys(result))


def resolve(store: Store, text: str) -> Record:
    """A competitor by id (or id prefix), name or alias."""
    if is_id(text) or text.upper().startswith(COMPETITOR.prefix + "-"):
        try:
            return store.read(store.resolve(text, ("competitor",)))
        except (NotFound, Invalid):
            pass
    name = known(store).get(_key(text))
    for path, data, _problems in store.index.query("competitor", "", []):
        if data is not None and name is not None and data.get("name") == name:
            loc = parse_path(path)
            assert loc is not None
            return Record(loc, data)
    raise NotFound(f"no competitor {text!r}", "list them with `salesctl competitor list`")


def add_competitor(
    store: Store,
    actor: Member,
    *,
    name: str,
    aliases: Iterable[str] = (),
    sets: Iterable[str] = (),
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """A new competitor record (leads and directors), its name and aliases unique."""
    from salesctl.ops.records import apply_sets

    config = store.config
    if not name or not name.strip():
        raise Invalid("--name is required", "e.g. --name 'Salesforce'")
    table = known(store)
    for word in [name, *aliases]:
        if _key(word) in table:
            raise Invalid(f"{word!r} is already {table[_key(word)]}", "edit that competitor")
    competitor_id = new_id(COMPETITOR.prefix)
    loc = RecordPath(
        record_file(COMPANY, COMPETITOR, competitor_id), COMPETITOR, competitor_id, COMPANY
    )
    scopes.check_write(config, actor, "competitor.add", COMPANY, record=competitor_id)
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": name.strip(),
        "aliases": list(dict.fromkeys(a.strip() for a in aliases if a.strip())),
        "created": clock.today(),
    }
    data = apply_sets(config, COMPETITOR, data, list(sets))
    data = validate(config, COMPETITOR, data, new_record(loc))
    with store.transaction(actor, "competitor.add", opts) as tx:
        tx.write(loc, data)
        tx.summary = f"competitor.add: {competitor_id} {data['name']}"
    return tx.result(record_json(Record(loc, data)))


def add_note(
    store: Store,
    actor: Member,
    competitor: str,
    *,
    text: str,
    deal: str | None = None,
    opts: WriteOpts = WRITE,
) -> WriteResult[dict[str, Any]]:
    """Intel on a competitor, from anyone (``competitor.note``), maybe about a deal the
    author may read; announced to the hooks that listen for ``competitor.note``."""
    config = store.config
    if not text or not text.strip():
        raise Invalid("--text is required", "say what you learned")
    with store.transaction(actor, "competitor.note", opts) as tx:
        record = resolve(store, competitor)
        note_id = new_id(NOTE.prefix)
        scopes.check_write(config, actor, "competitor.note", record.owner, record=note_id)
        deal_id = None
        if deal:
            deal_loc = store.resolve(deal, ("deal",))
            if not readable(store, actor).allows(deal_loc.owner, deal_loc.path):
                raise Invalid(f"{actor.id} may not read {deal_loc.id}", "name a deal you can see")
            deal_id = deal_loc.id
        data: dict[str, Any] = {
            "schema_version": 1,
            "competitor": record.id,
            "author": actor.id,
            "at": clock.now(),
            "text": text.strip(),
            "deal": deal_id,
        }
        loc = child_loc(record, NOTE, note_id)
        data = validate(config, NOTE, {k: v for k, v in data.items() if v}, new_record(loc))
        tx.write(loc, data)
        tx.mention(record.id)
        tx.summary = f"competitor.note: {note_id} on {record.id} ({record.data.get('name')})"
        tx.emit(
            "competitor.note",
            competitor=record.data.get("name"),
            id=record.id,
            note=note_id,
            author=actor.id,
            deal=deal_id,
            text=data["text"],
        )
    return tx.result(record_json(Record(loc, data)))


def list_competitors(store: Store) -> list[dict[str, Any]]:
    """Every competitor (every member reads them), by name."""
    rows = []
    for path, data, _problems in store.index.query("competitor", "", []):
        loc = parse_path(path)
        if loc is not None and data is not None:
            rows.append(json_record(loc, data))
    return sorted(rows, key=lambda r: str(r.get("name", "")).casefold())


def show_competitor(store: Store, viewer: Member, text: str) -> dict[str, Any]:
    """A competitor with the deals it appears in that the viewer may read (won and lost
    against it), and its recent notes, newest first."""
    record = resolve(store, text)
    config = store.config
    names = {
        _key(str(record.data.get("name"))),
        *(_key(a) for a in record.data.get("aliases") or []),
    }
    sql, args = readable(store, viewer).sql()
    deals = []
    for path, data, _problems in store.index.query("deal", sql, args):
        if data is None:
            continue
        mentioned = {_key(str(c)) for c in data.get("competitors") or []}
        lost_to = _key(str(data.get("lost_to") or ""))
        if names & mentioned or lost_to in names:
            loc = parse_path(path)
            assert loc is not None
            deals.append(json_record(loc, data))
    won = [d for d in deals if d.get("stage") == config.won_stage]
    lost = [
        d
        for d in deals
        if d.get("stage") == config.lost_stage and _key(str(d.get("lost_to") or "")) in names
    ]
    notes = [
        json_record(parse_path(path), data)  # type: ignore[arg-type]
        for path, data in store.index.children(record.id, "note")
        if data is not None
    ]
    notes.sort(key=lambda n: str(n.get("at")), reverse=True)
    result = record_json(record)
    result.update(
        deals=sorted(d["id"] for d in deals),
        won_against=len(won),
        lost_to=len(lost),
        notes=notes[:RECENT_NOTES],
    )
    return result


def edit_competitor(
    store: Store, actor: Member, text: str, *, sets: Iterable[str], opts: WriteOpts = WRITE
) -> WriteResult[dict[str, Any]]:
    """``--set`` fields of a competitor named by id, name or alias (leads and directors)."""
    from salesctl.ops.records import edit_record

    return edit_record(store, actor, COMPETITOR, resolve(store, text).id, sets=sets, opts=opts)
