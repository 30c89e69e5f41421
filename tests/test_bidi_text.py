"""One-line text holds no bidirectional control character (field test: a company named with
U+202E, RIGHT-TO-LEFT OVERRIDE, displayed reversed in terminals and reports: "Trojan
Source"). ``values.coerce_line`` refuses them, naming the code point, so every command, import
and webhook does; letters of every script and emoji pass; a record file that already holds
one reads with a problem (a warning, ``check``), never a crash."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import git, ok, refused
from hypothesis import given
from hypothesis import strategies as st

from salesctl.model import values
from salesctl.model.config import Config
from salesctl.model.kinds import LEAD
from salesctl.ops.integrations.intake_fields import FieldErrors, parse_lead

CONTROLS = {
    "\u061c": "arabic letter mark",
    "\u200e": "left-to-right mark",
    "\u200f": "right-to-left mark",
    "\u202a": "left-to-right embedding",
    "\u202b": "right-to-left embedding",
    "\u202c": "pop directional formatting",
    "\u202d": "left-to-right override",
    "\u202e": "right-to-left override",
    "\u2066": "left-to-right isolate",
    "\u2067": "right-to-left isolate",
    "\u2068": "first strong isolate",
    "\u2069": "pop directional isolate",
}
RLO = "\u202e"
# What people write: Latin, CJK, Arabic and Hebrew letters (and Arabic digits), emoji with
# their joiners and variation selectors, punctuation and spaces.
LETTERS = st.sampled_from(
    [
        *"Acme Co., Ltd. & Søn-Ø'",
        *"青岛新航纺织有限公司阿里巴巴",
        *"شركة الأمل للتجارة ٠١٢٣",
        *"חברת שלום בע״מ",
        "😀",
        "👩\u200d💻",
        "❤\ufe0f",
        "🇨🇳",
    ]
)
legit = st.lists(LETTERS, min_size=1, max_size=40).map("".join)


@given(legit)
def test_text_in_any_script_and_emoji_is_a_line(text: str) -> None:
    assert values.coerce_line(text) == text.strip()
    assert values.coerce_list([text]) == ([text.strip()] if text.strip() else [])


@given(legit, st.sampled_from(sorted(CONTROLS)), st.data())
def test_a_bidi_control_anywhere_in_a_line_is_refused_by_code_point(
    text: str, control: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(text)))
    with pytest.raises(ValueError) as refusal:
        values.coerce_line(text[:at] + control + text[at:] + "x")
    code = f"U+{ord(control):04X}"
    assert str(refusal.value) == f"contains {code} ({CONTROLS[control]}); remove it"
    with pytest.raises(ValueError, match=re.escape(code)):
        values.coerce_email(f"a{control}@b.example")
    assert values.coerce_text(f"{text}\n{control}x") == f"{text}\n{control}x".strip()  # a note


def test_a_stored_lead_with_one_reads_with_a_problem_on_its_field() -> None:
    data, problems = LEAD.normalise(
        {"schema_version": 1, "company": f"Acme{RLO}exe.txt", "stage": "new",
         "created": "2026-11-01", "tags": ["ok", f"b{RLO}ad"]},
        "lead.yaml",
    )  # fmt: skip
    assert {(p.field, p.message.split(" (")[0]) for p in problems} == {
        ("company", "contains U+202E"),
        ("tags", "contains U+202E"),
    }
    assert "company" not in data and data["stage"] == "new"


def test_commands_and_imports_refuse_a_bidi_control_naming_the_field(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme")["id"]
    alice = ("--as", "alice")
    cases = [
        ((*alice, "lead", "add", "--company", f"Acme{RLO}txt.exe"), "company"),
        ((*alice, "customer", "add", "--name", f"Beta{RLO}"), "name"),
        ((*alice, "lead", "add", "--company", "Ok Co", "--tag", f"vip{RLO}"), "tags"),
        ((*alice, "contact", "add", customer, "--name", f"Wei{RLO}"), "name"),
        ((*alice, "deal", "add", customer, "--title", f"Deal{RLO}", "--amount", "5"), "title"),
        ((*alice, "customer", "edit", customer, "--set", f"industry=x{RLO}"), "industry"),
    ]
    for args, field in cases:
        err = refused(store, cli, *args)
        assert err.count("\n") == 1, err
        assert f"{field}: contains U+202E (right-to-left override); remove it" in err, err

    rows = tmp_path / "leads.csv"
    rows.write_text(f"Company,Email\nFine Co,a@fine.example\nBad{RLO} Co,b@bad.example\n", "utf-8")
    result = cli("--as", "alice", "lead", "import", str(rows))
    assert result.code == 1 and "row 3: " in result.err and "U+202E" in result.err, result.err

    with pytest.raises(FieldErrors) as refusal:
        parse_lead(Config(org="Acme"), {"company": f"Acme{RLO}", "tags": [f"t{RLO}"]})
    assert set(refusal.value.fields) == {"company", "tags"}
    assert "U+202E" in refusal.value.fields["company"]

    # the letters themselves are fine
    named = ok(cli, "--as", "alice", "lead", "add", "--company", "شركة الأمل", "--tag", "😀")
    assert named["company"] == "شركة الأمل" and named["tags"] == ["😀"]


def test_a_stored_record_with_one_is_read_with_a_warning_not_a_crash(store: Path, cli: Any) -> None:
    lead = ok(cli, "--as", "alice", "lead", "add", "--company", "Spoof Co")
    path = store / lead["path"]
    path.write_text(
        path.read_text("utf-8").replace("company: Spoof Co", f'company: "Spoof{RLO}oC"'), "utf-8"
    )
    git(
        store, "-c", "user.name=Alice", "-c", "user.email=alice@acme.example", "commit", "-qam", "x"
    )
    for args in (
        ("lead", "list"),
        ("lead", "show", lead["id"]),
        ("dupes",),
        ("report", "weekly", "--all"),
        ("pipeline",),
    ):
        result = cli("--as", "dana", *args, "-f", "json")
        assert result.code == 0, (args, result.err)
        assert "Traceback" not in result.err and "internal error" not in result.err
        assert RLO not in result.out
    shown = cli("--as", "dana", "lead", "show", lead["id"], "-f", "json")
    assert "company: contains U+202E" in shown.err
    checked = cli("--as", "dana", "check")
    assert checked.code == 1 and "company: contains U+202E" in checked.out + checked.err
    assert "Traceback" not in checked.err
