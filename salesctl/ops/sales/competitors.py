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
from typing import Any, NamedTuple

from salesctl import clock, scopes
from salesctl.errors import Ambiguous, Invalid, NotFound
from salesctl.ids import is_id, new_id
from salesctl.model import values
from salesctl.model.config import Member
from salesctl.model.kinds import COMPETITOR, NOTE
from salesctl.model.problems import Problem
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


class Competitor(NamedTuple):
    """A competitor record as lookups by name see it."""

    id: str
    path: str
    name: str
    aliases: list[str]

    def folded(self) -> set[str]:
        """Its name and aliases as lookups compare them."""
        return {_key(self.name), *(_key(a) for a in self.aliases)}


def _records(store: Store) -> list[Competitor]:
    """Every competitor record, by id (a broken file is left out: ``check`` names it)."""
    rows = []
    for path, data, _problems in store.index.query("competitor", "", []):
        loc = parse_path(path)
        if loc is not None and data is not None and isinstance(data.get("name"), str):
            rows.append(Competitor(loc.id, path, data["name"], _aliases(data.get("aliases"))))
    return rows


def _aliases(raw: Any) -> list[str]:
    return [a for a in raw if isinstance(a, str)] if isinstance(raw, list) else []


def _named(records: list[Competitor], text: str) -> list[Competitor]:
    """The competitors ``text`` names: those it is the name of, else those it is an alias
    of (a name wins over an alias). More than one only after a hand edit or a merge."""
    key = _key(text)
    by_name = [r for r in records if _key(r.name) == key]
    return by_name or [r for r in records if key in {_key(a) for a in r.aliases}]


def _one(found: list[Competitor], given: str) -> Competitor | None:
    """The one competitor of ``found``, None for none; refused when what was ``given`` names
    several."""
    if len(found) > 1:
        listed = ", ".join(f"{r.id} ({r.name})" for r in found)
        raise Ambiguous(
            f"{given} names {len(found)} competitors: {listed}",
            "give the id; a lead renames one: salesctl competitor edit ID --set name=...",
        )
    return found[0] if found else None


def known(store: Store) -> dict[str, str]:
    """{name or alias, folded: the competitor's name} of every competitor record (a name
    before an alias that folds the same)."""
    records = _records(store)
    names: dict[str, str] = {}
    for record in records:
        names.setdefault(_key(record.name), record.name)
    for record in records:
        for alias in record.aliases:
            names.setdefault(_key(alias), record.name)
    return names


def canonical(store: Store, names: Iterable[str], option: str) -> list[str]:
    """``names`` as the competitor records name them, once the org keeps any; an unknown
    name is refused with the list (``option`` names the flag), an ambiguous one with its
    candidates."""
    given = [n.strip() for n in names if n and n.strip()]
    records = _records(store) if given else []
    if not records:
        return list(dict.fromkeys(given))
    result = []
    for name in given:
        found = _one(_named(records, name), f"{option} {name!r}")
        if found is None:
            listed = ", ".join(sorted({r.name for r in records}, key=str.casefold))
            raise Invalid(
                f"{option} {name!r} is not a known competitor",
                f"known: {listed}; or add it: salesctl competitor add --name {name!r}",
            )
        result.append(found.name)
    return list(dict.fromkeys(result))


def resolve(store: Store, text: str) -> Record:
    """A competitor by id (or id prefix), name or alias (a name wins over an alias)."""
    if is_id(text) or text.upper().startswith(COMPETITOR.prefix + "-"):
        try:
            return store.read(store.resolve(text, ("competitor",)))
        except (NotFound, Invalid):
            pass
    found = _one(_named(_records(store), text), repr(text))
    if found is None:
        raise NotFound(f"no competitor {text!r}", "list them with `salesctl competitor list`")
    return store.read(store.resolve(found.id, ("competitor",)))


def _others(records: list[Competitor], word: str, but: str) -> list[Competitor]:
    """The competitors but ``but`` (an id) that ``word`` is the name or an alias of."""
    key = _key(word)
    return [r for r in records if r.id != but and key in r.folded()]


def refuse_taken(records: list[Competitor], words: Iterable[str], *, but: str = "") -> None:
    """Refuse a name or alias another competitor already has (``add`` and ``edit``), so that
    each names one competitor; ``but`` is the id of the competitor being edited."""
    for word in words:
        if others := _others(records, word, but):
            raise Invalid(f"{word!r} is already {others[0].name}", "edit that competitor")


def _words(data: dict[str, Any]) -> list[str]:
    """A competitor record's name and aliases."""
    return [str(data.get("name") or ""), *_aliases(data.get("aliases"))]


def name_problems(store: Store) -> list[Problem]:
    """For ``check``: competitors that share a name or alias (a hand edit, or two clones
    adding the same one), which lookups by that name cannot tell apart."""
    records = _records(store)
    problems = []
    for record in records:
        for position, word in enumerate([record.name, *record.aliases]):
            if others := _others(records, word, record.id):
                listed = ", ".join(f"{r.id} ({r.name})" for r in others)
                field = "aliases" if position else "name"
                problems.append(
                    Problem(
                        record.path,
                        f"{word!r} also names {listed}: rename one with "
                        "`salesctl competitor edit ID --set name=...` (or aliases=)",
                        field,
                    )
                )
    return problems


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
        refuse_taken(_records(store), _words(data))  # under the lock
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
    """``--set`` fields of a competitor named by id, name or alias (leads and directors); a
    name or alias another competitor has is refused, as ``add`` refuses it."""
    from salesctl.ops.records import edit_record

    def unique(record: Record, data: dict[str, Any]) -> None:
        """The names the edit gives (a clash made by hand is ``check``'s to report)."""
        before = {_key(w) for w in _words(record.data)}
        given = [w for w in _words(data) if _key(w) not in before]
        refuse_taken(_records(store), given, but=record.id)

    record_id = resolve(store, text).id
    return edit_record(store, actor, COMPETITOR, record_id, sets=sets, refuse=unique, opts=opts)
