"""The pure domain layer, without the CLI: ``Kind.normalise``, ``parse_config``, the value
coercions, ``rules.record_problems`` and ``yamlio`` (safe, deterministic YAML)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import yaml
from conftest import CONFIG

from salesctl import yamlio
from salesctl.model import values
from salesctl.model.config import parse_config
from salesctl.model.kinds import KINDS
from salesctl.model.rules import record_problems

WHERE = "pool/leads/L-7KQ2M4XR9TAB/lead.yaml"


def fields_of(problems: list[Any]) -> list[str | None]:
    return [p.field for p in problems]


def lead(**fields: Any) -> dict[str, Any]:
    base = {"name": "Wei", "stage": "new", "created": "2026-11-20"}  # a company or a name
    return {"schema_version": 1, **base, **fields}


def deal(**fields: Any) -> dict[str, Any]:
    base = {"customer": "C-1", "title": "T", "stage": "won", "amount": 1, "created": "2026-11-20"}
    return {"schema_version": 1, **base, **fields}


def followup(**fields: Any) -> dict[str, Any]:
    base = {"record": "L-1", "author": "alice", "text": "hi", "at": "2026-11-20 10:00"}
    return {"schema_version": 1, **base, **fields}


def customer(**fields: Any) -> dict[str, Any]:
    return {"schema_version": 1, "name": "Co", "created": "2026-11-20", **fields}


# -- Kind.normalise ------------------------------------------------------------------------------


def test_a_good_lead_normalises_without_problems() -> None:
    data, problems = KINDS["lead"].normalise(
        lead(
            company=" Acme Ltd ",
            name="Wei",
            email="wei@acme.example",
            phone="+86 138-0000-0000",
            tags="vip, expo, vip",
            stages={"new": "2026-11-20"},
            custom={"region": "North"},
        ),
        WHERE,
    )
    assert problems == []
    assert data["company"] == "Acme Ltd"  # trimmed
    assert data["tags"] == ["vip", "expo"]  # split and de-duplicated
    assert data["created"] == dt.date(2026, 11, 20)
    assert data["stages"] == {"new": dt.date(2026, 11, 20)}
    assert list(data) == [
        "schema_version",
        "company",
        "name",
        "email",
        "phone",
        "stage",
        "stages",
        "tags",
        "created",
        "custom",
    ]  # the kind's field order, whatever order the input had


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("lead", lead(company="two\nlines"), "company"),  # line
        ("lead", lead(company={"a": 1}), "company"),
        ("lead", lead(notes=["a", "b"]), "notes"),  # text
        ("lead", lead(notes=True), "notes"),
        ("lead", lead(email="nope"), "email"),
        ("lead", lead(email="a@b"), "email"),
        ("lead", lead(phone="call me"), "phone"),
        ("lead", lead(phone="12"), "phone"),
        ("lead", lead(created="notadate"), "created"),  # date
        ("lead", lead(created="2026-02-30"), "created"),
        ("lead", lead(created="20/11/2026"), "created"),
        ("lead", lead(tags=[{"a": 1}]), "tags"),  # list
        ("lead", lead(tags=["ok", "two\nlines"]), "tags"),
        ("lead", lead(stages=["new"]), "stages"),  # mapping of dates
        ("lead", lead(stages={"new": "someday"}), "stages"),
        ("lead", lead(custom=["x"]), "custom"),  # mapping
        ("lead", lead(favourite="blue"), "favourite"),  # unknown field
        ("lead", {"schema_version": 1, "name": "W", "created": "2026-11-20"}, "stage"),  # required
        ("lead", {"schema_version": 1, "name": "W", "stage": "new"}, "created"),
        ("lead", {"name": "W", "stage": "new", "created": "2026-11-20"}, "schema_version"),
        ("lead", lead(name=None), "company"),  # a company or a name
        ("lead", lead(name=" ", company=""), "company"),
        ("lead", lead(schema_version=2), "schema_version"),
        ("deal", deal(amount=-5), "amount"),  # amount
        ("deal", deal(amount="lots"), "amount"),
        ("deal", deal(amount="1.005"), "amount"),
        ("deal", deal(amount=True), "amount"),
        ("deal", deal(amount="NaN"), "amount"),
        ("deal", deal(amount="1e30"), "amount"),
        ("deal", deal(amount=10**40), "amount"),
        ("followup", followup(at="yesterday"), "at"),  # datetime
        ("followup", followup(via="fax"), "via"),  # choice
        ("customer", customer(contacts="Wei"), "contacts"),  # rows
        ("customer", customer(contacts=[{"title": "CEO"}]), "contacts[1].name"),
        ("customer", customer(contacts=[{"name": "Wei", "email": "x"}]), "contacts[1].email"),
        ("customer", customer(contacts=[{"name": "Wei", "fax": "1"}]), "contacts[1].fax"),
        (
            "okr",
            {
                "schema_version": 1,
                "period": "2026-Q4",
                "owner": "alice",
                "objective": "Grow",
                "created": "2026-11-20",
                "key_results": [{"id": "kr1", "title": "T", "target": "many"}],
            },
            "key_results[1].target",
        ),
        (
            "task",
            {
                "schema_version": 1,
                "title": "T",
                "assignee": "alice",
                "status": "maybe",
                "created": "2026-11-20",
            },
            "status",
        ),
    ],
)
def test_normalise_names_the_bad_field(kind: str, data: dict[str, Any], field: str) -> None:
    _result, problems = KINDS[kind].normalise(data, WHERE)
    assert fields_of(problems) == [field]
    assert all(p.where == WHERE for p in problems)


def test_normalise_collects_every_problem_at_once() -> None:
    _data, problems = KINDS["lead"].normalise(
        {"email": "nope", "phone": "x", "created": "never", "colour": "red"}, WHERE
    )
    assert sorted(f or "" for f in fields_of(problems)) == [
        "colour",
        "company",  # nor a name
        "created",
        "email",
        "phone",
        "schema_version",
        "stage",
    ]


@pytest.mark.parametrize("data", [None, [], "text", 42, ["a", "b"]])
def test_normalise_refuses_a_non_mapping(data: Any) -> None:
    result, problems = KINDS["lead"].normalise(data, WHERE)
    assert result == {} and len(problems) == 1 and problems[0].where == WHERE


def test_normalise_is_idempotent_through_yaml() -> None:
    first, problems = KINDS["lead"].normalise(
        lead(company="阿里巴巴", tags=["vip"], notes="line one\nline two"), WHERE
    )
    assert problems == []
    again, problems = KINDS["lead"].normalise(yamlio.loads(yamlio.dumps(first)), WHERE)
    assert problems == [] and again == first


def test_amounts_are_exact_decimals() -> None:
    assert values.coerce_amount("12,000") == Decimal("12000")
    assert values.coerce_amount("99.5") == Decimal("99.50")
    assert values.coerce_amount(0) == Decimal(0)
    assert values.coerce_amount(0.1) + values.coerce_amount(0.2) == Decimal("0.30")
    for bad in (-1, "-0.01", "1e400", "1e30", 10**40, "abc", None, True, "1.001", "Infinity"):
        with pytest.raises(ValueError):
            values.coerce_amount(bad)


def test_dates_and_datetimes() -> None:
    assert values.coerce_date("2026-11-20") == dt.date(2026, 11, 20)
    assert values.coerce_date(dt.datetime(2026, 11, 20, 9, 30)) == dt.date(2026, 11, 20)
    moment = values.coerce_datetime("2026-11-20 09:30")
    assert moment.tzinfo is not None and (moment.hour, moment.minute) == (9, 30)
    for bad in ("2026-13-01", "tomorrow", "", None):
        with pytest.raises(ValueError):
            values.coerce_date(bad)


# -- rules that need the config ------------------------------------------------------------------


def test_record_problems_check_stages_members_and_custom_fields() -> None:
    raw = yaml.safe_load(CONFIG)
    raw["custom_fields"] = {
        "lead": [
            {"name": "region", "type": "choice", "choices": ["North", "South"]},
            {"name": "budget", "type": "number"},
            {"name": "due", "type": "date"},
            {"name": "needs", "type": "multi-choice", "choices": ["crm", "erp"], "required": True},
        ]
    }
    config, problems = parse_config(raw)
    assert problems == []
    kind = KINDS["lead"]
    good = {
        "stage": "new",
        "participants": ["alice"],
        "custom": {"region": "North", "budget": "12", "due": "2026-12-01", "needs": "crm, erp"},
    }
    assert record_problems(config, kind, good, WHERE) == []
    bad = {
        "stage": "bogus",
        "participants": ["alice", "ghost"],
        "custom": {"region": "West", "budget": "lots", "due": "soon", "extra": 1},
    }
    assert sorted(f or "" for f in fields_of(record_problems(config, kind, bad, WHERE))) == [
        "custom.budget",
        "custom.due",
        "custom.extra",
        "custom.needs",  # required, missing
        "custom.region",
        "participants",
        "stage",
    ]


# -- parse_config --------------------------------------------------------------------------------


def config_with(**changes: Any) -> dict[str, Any]:
    raw = yaml.safe_load(CONFIG)
    raw.update(changes)
    return raw


def member(member_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": member_id, "name": member_id, "email": f"{member_id}@acme.example", **extra}


def test_the_fixture_config_parses() -> None:
    config, problems = parse_config(yaml.safe_load(CONFIG))
    assert problems == []
    assert set(config.members) == {
        "dana",
        "lee",
        "alice",
        "bob",
        "carol",
        "nick",
        "nora",
        "fay",
        "sam",
        "ada",
    }
    assert config.members["carol"].active is False
    assert config.members["alice"].team == "east"
    assert config.members["dana"].team is None
    assert config.max_owned_leads == 5 and config.reclaim_after_days == 30
    assert config.member_by_email("NORA@acme.example").id == "nora"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "keys"),
    [
        (
            lambda raw: raw["members"].append({**member("alice", role="rep"), "email": "a2@x.org"}),
            ["members.alice.id"],
        ),
        (
            lambda raw: raw["members"].append(
                {**member("zoe", role="rep"), "email": "bob@acme.example"}
            ),
            ["members.zoe.email"],
        ),
        (lambda raw: raw["members"].append(member("zoe", role="wizard")), ["members.zoe.role"]),
        (lambda raw: raw["members"].append(member("zoe", role="lead")), ["members.zoe.team"]),
        (
            lambda raw: raw["members"].append(member("zoe", role="rep", team="west")),
            ["members.zoe.team"],
        ),
        (lambda raw: raw["members"].append({"id": "zoe", "role": "rep"}), ["members.zoe.email"]),
        (lambda raw: raw["members"].append(member("Bad Id", role="rep")), ["members[10]"]),
        (lambda raw: raw["members"].append(member("pool", role="rep")), ["members[10]"]),
        (
            lambda raw: raw["members"].append(member("zoe", role="rep", active="yes")),
            ["members.zoe.active"],
        ),
        (lambda raw: raw["teams"].append({"id": "east"}), ["teams[2].id"]),
        (lambda raw: raw["teams"].append({"id": "../etc"}), ["teams[2]"]),
        (
            lambda raw: raw.update(custom_fields={"lead": [{"name": "x", "type": "colour"}]}),
            ["custom_fields.lead[0].type"],
        ),
        (
            lambda raw: raw.update(custom_fields={"lead": [{"name": "x", "type": "choice"}]}),
            ["custom_fields.lead[0].choices"],
        ),
        (
            lambda raw: raw.update(custom_fields={"gadget": [{"name": "x"}]}),
            ["custom_fields.gadget"],
        ),
        (lambda raw: raw.update(custom_fields={"lead": ["x"]}), ["custom_fields.lead[0]"]),
        (lambda raw: raw.update(roles={"intern": {"scope": "galaxy"}}), ["roles.intern.scope"]),
        (
            lambda raw: raw.update(roles={"intern": {"scope": "own", "actions": "lead.add"}}),
            ["roles.intern.actions"],
        ),
        (lambda raw: raw.update(pool={"max_owned_leads": 0}), ["pool.max_owned_leads"]),
        (lambda raw: raw.update(pool={"reclaim_after_days": "soon"}), ["pool.reclaim_after_days"]),
        (lambda raw: raw.update(lead_stages=[]), ["lead_stages"]),
        (
            lambda raw: raw.update(deal_stages=[{"id": "won", "probability": 150}]),
            ["deal_stages[0].probability"],
        ),
        (lambda raw: raw.update(colour="blue"), ["colour"]),
        (lambda raw: raw.pop("org"), ["org"]),
        (lambda raw: raw.update(members="alice"), ["members"]),
    ],
)
def test_parse_config_problems_name_the_key(change: Any, keys: list[str]) -> None:
    raw = yaml.safe_load(CONFIG)
    change(raw)
    _config, problems = parse_config(raw, "salesctl.yaml")
    assert fields_of(problems) == keys
    assert all(p.where == "salesctl.yaml" for p in problems)


@pytest.mark.parametrize(
    "zone, known",
    [
        ("Asia/Shanghai", True),
        ("Europe/Berlin", True),
        ("UTC", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Mars/Olympus_Mons", False),
        ("../../etc/passwd", False),
        ("/etc/passwd", False),
        ("Asia/", False),
        ("", False),
    ],
)
def test_a_time_zone_is_known_as_zoneinfo_knows_it(zone: str, known: bool) -> None:
    import zoneinfo

    raw = yaml.safe_load(CONFIG)
    raw["timezone"] = zone or "Nowhere/At_All"
    config, problems = parse_config(raw, "salesctl.yaml")
    assert ("timezone" in fields_of(problems)) is not known
    if known:
        assert config.timezone == zone and zoneinfo.ZoneInfo(zone).key == zone


@pytest.mark.parametrize("raw", [None, [], "org: x", 3])
def test_parse_config_refuses_a_non_mapping(raw: Any) -> None:
    _config, problems = parse_config(raw)
    assert len(problems) == 1


def test_parse_config_custom_role_and_stages() -> None:
    raw = config_with(
        roles={"intern": {"scope": "own", "actions": ["lead.add"]}},
        lead_stages=["fresh", "warm"],
        deal_stages=[{"id": "open", "probability": 20}, {"id": "won", "probability": 100}],
    )
    raw["members"].append(member("ivy", role="intern", team="east"))
    config, problems = parse_config(raw)
    assert problems == []
    assert config.role_of(config.members["ivy"]).scope == "own"
    assert config.lead_stages == ("fresh", "warm")
    assert [(s.id, s.probability) for s in config.deal_stages] == [("open", 20), ("won", 100)]


# -- yamlio ----------------------------------------------------------------------------------------


def test_dumps_is_deterministic_and_keeps_key_order() -> None:
    data = {
        "schema_version": 1,
        "zeta": "last letter first",
        "alpha": "first letter last",
        "company": "阿里巴巴",
        "amount": Decimal("12000"),
        "price": Decimal("99.50"),
        "created": dt.date(2026, 11, 20),
        "tags": ["b", "a"],
        "empty": [],
    }
    text = yamlio.dumps(data)
    assert text == yamlio.dumps(dict(data))
    top_keys = [line.split(":")[0] for line in text.splitlines() if line[0] not in " -"]
    assert top_keys == list(data)
    assert "company: 阿里巴巴\n" in text and "\\u" not in text
    assert "amount: 12000\n" in text and "price: 99.50\n" in text
    assert "created: 2026-11-20\n" in text
    assert "tags:\n- b\n- a\n" in text  # block style, one scalar per line
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "{" not in text and "[" not in text.replace("empty: []", "")


def test_dumps_writes_multi_line_text_as_a_literal_block() -> None:
    text = yamlio.dumps({"notes": "first line\nsecond line\n第三行", "one": "single line"})
    assert text.startswith("notes: |")
    assert "  first line\n  second line\n  第三行\n" in text
    assert "one: single line\n" in text
    assert yamlio.loads(text)["notes"] == "first line\nsecond line\n第三行"


def test_dumps_never_writes_anchors() -> None:
    shared = ["a", "b"]
    text = yamlio.dumps({"x": shared, "y": shared})
    assert "&" not in text and "*" not in text
    assert yamlio.loads(text) == {"x": ["a", "b"], "y": ["a", "b"]}


@pytest.mark.parametrize(
    "value",
    ["yes", "no", "on", "null", "~", "123", "0123", "1e3", "2026-11-20", "- x", "a: b", "#c", ""],
)
def test_dumps_quotes_strings_that_look_like_other_types(value: str) -> None:
    assert yamlio.loads(yamlio.dumps({"v": value})) == {"v": value}


def test_loads_refuses_aliases_without_expanding() -> None:
    bomb = "a: &a [x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
    )
    with pytest.raises(yamlio.YamlError) as info:
        yamlio.loads(bomb, source="bomb.yaml")
    assert info.value.where.startswith("bomb.yaml")
    assert info.value.exit_code == 1


def test_loads_reports_the_line() -> None:
    with pytest.raises(yamlio.YamlError) as info:
        yamlio.loads("a: 1\nb: 2\nc: d: e\n", source="f.yaml")
    assert info.value.where == "f.yaml:3"


def test_loads_refuses_oversized_and_non_utf8() -> None:
    with pytest.raises(yamlio.YamlError) as big:
        yamlio.loads("a: " + "x" * (yamlio.MAX_FILE_BYTES + 1), source="big.yaml")
    assert big.value.where == "big.yaml"
    with pytest.raises(yamlio.YamlError) as latin:
        yamlio.loads("a: J\xfcrgen\n".encode("latin-1"), source="latin.yaml")
    assert latin.value.where == "latin.yaml"


def test_loads_is_safe() -> None:
    with pytest.raises(yamlio.YamlError):
        yamlio.loads("a: !!python/object/apply:os.system ['true']\n")
