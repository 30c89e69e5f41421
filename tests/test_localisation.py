"""Reports, charts, chat messages and the won-deal checklist in the org's language.

A Chinese store (``lang: zh``, display names for its stages and teams) gets Chinese
Markdown and HTML with no English word left once ids, people's names and the few words
allowed in any language (``ALLOWED``) are taken out; its JSON keeps the ids and the keys;
``--lang en`` gives English. The catalogues are checked against the msgids the code and
templates use (extracted the way ``pybabel extract -F babel.cfg`` does).
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, ROOT, make_store

from salesctl import clock
from salesctl.i18n import gettext_for, languages
from salesctl.model.config import Config, DealStage, Member

ZH_CONFIG = (
    CONFIG.replace("org: Acme Trading", "org: 艾克美贸易\nlang: zh")
    .replace("{id: east, name: East region}", "{id: east, name: 华东区}")
    .replace("{id: north, name: North region}", "{id: north, name: 华北区}")
    + """\
lead_stages:
  - {id: new, name: 新线索}
  - {id: contacted, name: 已联系}
  - {id: qualified, name: 已确认}
  - {id: converted, name: 已转化}
  - {id: disqualified, name: 无效}
deal_stages:
  - {id: qualify, name: 初步接洽, probability: 10}
  - {id: proposal, name: 方案报价, probability: 40}
  - {id: negotiate, name: 商务谈判, probability: 70}
  - {id: won, name: 赢单, probability: 100}
  - {id: lost, name: 输单, probability: 0}
"""
)
# Words a Chinese report may keep: the objectives-and-key-results term and the currency
# code. Period ids (2026-W47, W40) and single letters (the 250k of an axis) are no words.
ALLOWED = {"OKR", "CNY"}
PERIOD = re.compile(r"\b(?:\d{4}-)?W\d{2}\b")
WORD = re.compile(r"[A-Za-z]{2,}")
CHECKLIST = ("Send contract", "Collect payment", "Activate service", "Issue invoice")


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, (args, result.err)
    return result.json()


def english_words(text: str, names: set[str]) -> list[str]:
    """The English words left in ``text`` once ``names`` (ids, people's names, the data
    commit) and the period ids are taken out."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return [w for w in WORD.findall(PERIOD.sub(" ", text)) if w not in ALLOWED]


class _Visible(HTMLParser):
    """An HTML page's text a person sees or hears: text outside <style>, and the
    attributes shown as labels and tooltips."""

    SHOWN = ("title", "aria-label", "data-label", "alt", "placeholder")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_style = tag == "style"
        self.parts += [v or "" for k, v in attrs if k in self.SHOWN]

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def week_id() -> str:
    year, week, _day = clock.today().isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture
def zh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> dict[str, Any]:
    """A Chinese org's store with this week's activity in the east team: leads, a deal in
    each open stage, one lost to a competitor, one won by signing its contract (with the
    checklist), a payment, an OKR and an answered question. Returns the ids and names a
    report may show."""
    root = make_store(tmp_path / "store", ZH_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    today = clock.today().isoformat()
    ids: set[str] = set()
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "星辰科技", "--name", "李雷")
    converted = ok(
        cli, "--as", "alice", "lead", "convert", lead["id"], "--deal", "星辰项目",
        "--amount", "30000",
    )  # fmt: skip
    customer = converted["customer"]["id"]
    ids |= {lead["id"], customer, converted["deal"]["id"]}
    ids.add(ok(cli, "--as", "bob", "lead", "add", "--company", "月光公司")["id"])
    ok(cli, "--as", "alice", "followup", "add", customer, "--text", "电话沟通", "--at",
       f"{today} 09:00")  # fmt: skip
    for stage, title, amount in (
        ("proposal", "方案项目", "20000"),
        ("negotiate", "谈判项目", "45000"),
    ):
        made = ok(cli, "--as", "alice", "deal", "add", customer, "--title", title,
                  "--amount", amount, "--stage", stage)  # fmt: skip
        ids.add(made["id"])
    lost = ok(cli, "--as", "alice", "deal", "add", customer, "--title", "丢单项目", "--amount",
              "8000")  # fmt: skip
    ids.add(lost["id"])
    ok(cli, "--as", "alice", "deal", "move", lost["id"], "--stage", "lost", "--reason", "价格太高",
       "--lost-to", "竞品甲")  # fmt: skip
    contract = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", "星辰合同", "--amount",
        "30000", "--signed", today, "--deal", converted["deal"]["id"],
    )  # fmt: skip
    ids |= {contract["id"], *(t["id"] for t in contract["tasks"])}
    ok(cli, "--as", "fay", "contract", "pay", contract["id"], "--amount", "10000", "--date", today)
    okr = ok(cli, "--as", "alice", "okr", "add", "--period", f"{today[:4]}-Q4", "--objective",
             "扩大华东市场", "--owner", "alice")  # fmt: skip
    ids.add(okr["id"])
    ok(cli, "--as", "alice", "okr", "kr", "add", okr["id"], "--title", "签约二十万", "--target",
       "200000", "--metric", "contract_amount")  # fmt: skip
    ok(cli, "--as", "alice", "report", "answer", "--week", week_id(), "--question", "1",
       "--text", "签下了星辰合同。")  # fmt: skip
    # members' ids and names (the org's people: shown as they are in any language)
    people = re.findall(r"\{id: (\w+), name: ([^,]+), email:", CONFIG)
    names = {text for pair in people for text in pair}
    return {"root": root, "ids": ids, "names": names, "contract": contract}


def team_report(cli: Any, fmt: str, *extra: str) -> Any:
    result = cli("--as", "lee", "report", "weekly", "--week", week_id(), "--team", "east",
                 "-f", fmt, *extra)  # fmt: skip
    assert result.code == 0, result.err
    return result.out


def test_a_chinese_team_report_has_no_english_words(zh_store: dict[str, Any], cli: Any) -> None:
    data = json.loads(team_report(cli, "json"))
    hidden = zh_store["ids"] | zh_store["names"] | {(data["data_commit"] or "")[:12]}
    markdown = team_report(cli, "md")
    html = team_report(cli, "html")
    assert english_words(markdown, hidden) == []
    assert english_words(visible_text(html), hidden) == []
    # the team's and the stages' display names are what the reader sees
    assert markdown.startswith(f"# 销售报告：华东区 · {week_id()}")
    for shown in ("初步接洽", "方案报价", "商务谈判", "输单"):
        assert shown in markdown and shown in html
    assert '<html lang="zh">' in html and "签下了星辰合同。" in markdown
    # stage movements in the funnel's order, by name
    moves = next(line for line in markdown.splitlines() if line.startswith("- 商机"))
    shown = [moves.index(n) for n in ("初步接洽", "方案报价", "商务谈判", "赢单", "输单")]
    assert shown == sorted(shown), moves
    # the figures are there: not an empty report that would pass trivially
    assert data["totals"]["contracts_signed"] == 1 and data["totals"]["deals_lost"] == 1


def test_the_json_keeps_ids_and_keys_and_adds_display_names(
    zh_store: dict[str, Any], cli: Any
) -> None:
    zh = json.loads(team_report(cli, "json"))
    en = json.loads(team_report(cli, "json", "--lang", "en"))

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            # the built-in questions differ by language, and so do their answers
            return {k: shape(v) for k, v in value.items() if k != "questions"}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(zh) == shape(en)
    assert zh["subject"] == {"kind": "team", "id": "east", "name": "华东区"}
    assert [r["stage"] for r in zh["pipeline"]] == [
        "qualify",
        "proposal",
        "negotiate",
        "won",
        "lost",
    ]
    assert [r["stage_name"] for r in zh["pipeline"]] == [
        "初步接洽",
        "方案报价",
        "商务谈判",
        "赢单",
        "输单",
    ]
    assert {(m["team"], m["team_name"]) for m in zh["members"]} == {("east", "华东区")}
    assert [(d["stage"], d["stage_name"]) for d in zh["deals_closed"]] == [
        ("lost", "输单"),
        ("won", "赢单"),
    ]


def test_lang_en_overrides_the_configured_language(zh_store: dict[str, Any], cli: Any) -> None:
    markdown = team_report(cli, "md", "--lang", "en")
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert "## Facts" in headings and "## Pipeline" in headings
    assert markdown.startswith(f"# Sales report: 华东区 · {week_id()}")  # names stay the org's
    assert '<html lang="en">' in team_report(cli, "html", "--lang", "en")


def test_an_unknown_language_is_refused(zh_store: dict[str, Any], cli: Any) -> None:
    result = cli("--as", "lee", "report", "weekly", "--team", "east", "--lang", "xx")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("error: ") and "en, zh" in result.err


def test_the_won_deal_checklist_is_written_in_the_orgs_language(
    zh_store: dict[str, Any],
) -> None:
    _ = gettext_for("zh")
    tasks = zh_store["contract"]["tasks"]
    assert [t["title"] for t in tasks] == ["赢单清单：星辰合同", *(_(s) for s in CHECKLIST)]
    assert all(not re.search("[A-Za-z]", t["title"]) for t in tasks)
    # the words are in the task files themselves (git is the record)
    written = [f.read_text(encoding="utf-8") for f in zh_store["root"].rglob("*.yaml")]
    assert any("title: 发送合同" in text for text in written)


def test_a_configured_checklist_keeps_its_own_titles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    config = ZH_CONFIG + "won_deal_tasks:\n  - {title: Kick-off call, role: owner}\n"
    root = make_store(tmp_path / "store", config)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "星辰科技", "--source", "web")
    made = ok(cli, "--as", "alice", "contract", "add", customer["id"], "--title", "星辰合同",
              "--amount", "100", "--signed", clock.today().isoformat())  # fmt: skip
    assert [t["title"] for t in made["tasks"]] == ["赢单清单：星辰合同", "Kick-off call"]


def zh_config() -> Config:
    members = {
        "alice": Member("alice", "Alice Lin", "alice@acme.example", "rep", "east"),
        "bob": Member("bob", "Bob Li", "bob@acme.example", "rep", "east"),
    }
    stages = (DealStage("qualify", 10, "初步接洽"), DealStage("won", 100, "赢单"))
    return Config(org="艾克美贸易", lang="zh", members=members, deal_stages=stages)


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("deal.won", {"deal": "D-1", "title": "星辰项目", "customer": "星辰科技", "amount": "3000",
                      "owner": "alice"}),
        ("contract.signed", {"contract": "K-1", "title": "星辰合同", "customer": "星辰科技",
                             "amount": "120000", "signed": "2026-11-20", "owner": "alice"}),
        ("payment.received", {"contract": "K-1", "title": "星辰合同", "customer": "星辰科技",
                              "amount": "1000", "received": "1000", "outstanding": "119000",
                              "date": "2026-11-20", "owner": "alice"}),
        ("followup.mention", {"author": "alice", "mentions": ["bob", "alice"], "record": "L-1",
                              "text": "请跟进"}),
        ("competitor.note", {"author": "bob", "competitor": "竞品甲", "deal": "D-1",
                             "text": "对方降价"}),
        ("deal.won", {"deal": "D-1", "title": "星辰项目", "customer": "星辰科技", "amount": "1"}),
        ("test", {}),
    ],
)  # fmt: skip
def test_chat_messages_are_in_the_orgs_language(event: str, payload: dict[str, Any]) -> None:
    from salesctl.ops.integrations.notify_formats import describe

    title, lines = describe(zh_config(), event, payload)
    text = "\n".join([title, *lines])
    names = {"D-1", "K-1", "L-1", "Alice Lin", "Bob Li", "salesctl"}
    assert english_words(text, names) == [], text
    assert re.search("[\u4e00-\u9fff]", title)


def test_chat_messages_stay_english_for_an_english_org() -> None:
    from salesctl.ops.integrations.notify_formats import describe

    config = Config(org="Acme", members=zh_config().members)
    title, lines = describe(config, "contract.signed", {"title": "ERP", "owner": "alice"})
    assert title == "Contract signed: ERP" and lines[1].startswith("Owner: Alice Lin")


# -- the catalogues ----------------------------------------------------------------------------


def used_msgids() -> set[str]:
    """Every msgid the code and the built-in templates use, as ``pybabel extract -F
    babel.cfg`` finds them."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map)
    return {message if isinstance(message, str) else message[0] for _f, _l, message, *_ in found}


def test_every_language_has_every_msgid_translated_with_its_placeholders() -> None:
    from babel.messages.pofile import read_po

    from salesctl.i18n import catalogue_path

    used = used_msgids()
    assert {"Facts", "Send contract", "Deal won: {title}", "Funnel"} <= used
    assert set(languages()) >= {"en", "zh"}
    for lang in languages():
        with catalogue_path(lang).open("rb") as source:
            catalog = read_po(source)
        entries = {m.id: m for m in catalog if m.id}
        assert set(entries) == used, (lang, used ^ set(entries))  # none missing, none stale
        for msgid, entry in entries.items():
            assert isinstance(entry.string, str) and entry.string.strip(), (lang, msgid)
            assert not entry.fuzzy, (lang, msgid)
            assert sorted(re.findall(r"\{\w*\}", entry.string)) == sorted(
                re.findall(r"\{\w*\}", msgid)
            ), (lang, msgid)
    zh = gettext_for("zh")
    untranslated = [m for m in used if zh(m) == m and WORD.search(m)]
    assert untranslated == [], untranslated


def test_a_chinese_members_report_and_its_placeholder_read_back(
    zh_store: dict[str, Any], cli: Any
) -> None:
    from salesctl.reports.render import END_OF_QUESTIONS, START_OF_QUESTIONS

    result = cli("--as", "alice", "report", "weekly", "--week", week_id())
    assert result.code == 0, result.err
    data = json.loads(team_report(cli, "json"))
    hidden = zh_store["ids"] | zh_store["names"] | {(data["data_commit"] or "")[:12]}
    markers = {START_OF_QUESTIONS, END_OF_QUESTIONS}  # machine-read, not shown
    assert english_words(result.out, hidden | markers) == []
    # the file `report answer` wrote has the Chinese placeholder under the unanswered
    # questions, and it is read back as no answer
    written = next(zh_store["root"].rglob(f"alice/reports/{week_id()}.md"))
    assert "_（在此作答）_" in written.read_text(encoding="utf-8")
    answered = [[a["member"] for a in q["answers"]] for q in data["questions"]]
    assert answered == [["alice"], [], []]


@pytest.mark.parametrize(
    ("stages", "where"),
    [
        ("deal_stages:\n  - {id: qualify, name: [x], probability: 10}\n", "deal_stages[0].name"),
        ("lead_stages:\n  - {name: 新线索}\n", "lead_stages"),
        ("lead_stages:\n  - {id: new, name: 7}\n", "lead_stages"),
    ],
)
def test_a_bad_display_name_is_refused_naming_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any, stages: str, where: str
) -> None:
    root = make_store(tmp_path / "store", CONFIG + stages)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    result = cli("--as", "alice", "lead", "list")
    assert result.code == 1 and "Traceback" not in result.err
    assert f"{where}:" in result.err or f"{where} " in result.err, result.err


def test_display_names_are_read_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    root = make_store(tmp_path / "store", ZH_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "星辰科技", "--stage", "contacted")
    assert lead["stage"] == "contacted"  # records keep ids


def test_the_answer_sheet_speaks_the_orgs_language(
    zh_store: dict[str, Any], cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen.md"
    script = tmp_path / "editor.py"
    script.write_text(  # an $EDITOR that keeps a copy of what it was shown, changing nothing
        f"import shutil, sys\nshutil.copyfile(sys.argv[1], {str(seen)!r})\n", encoding="utf-8"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = cli("--as", "bob", "report", "answer", "--week", week_id())
    assert result.code == 0, result.err
    sheet = seen.read_text(encoding="utf-8")
    from salesctl.reports.render import END_OF_QUESTIONS, START_OF_QUESTIONS

    markers = {START_OF_QUESTIONS, END_OF_QUESTIONS, "<!--", "-->", "Markdown"}
    assert english_words(sheet, zh_store["names"] | markers) == [], sheet
