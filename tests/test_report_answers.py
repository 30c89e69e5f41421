"""``report answer`` end to end, and the answers rolled up into every report.

A member answers the week's questions into their own report file (``--text`` with
``--question``, ``--file``, or ``$EDITOR``), in one commit authored by them, before or after
the cron wrote the report; the member's, team's and company's reports (Markdown, HTML and
JSON) show the answers and who has not answered; questions per team and role come from
``reports:`` in salesctl.yaml, which ``check`` validates with line numbers.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, git
from hypothesis import given, settings
from hypothesis import strategies as st

from salesctl.reports.render import (
    END_OF_QUESTIONS,
    START_OF_QUESTIONS,
    normalise_answer,
    question_blocks,
    questions_block,
    replace_questions_block,
)

WEEK_QUESTIONS = (
    "What went well this week?",
    "What problems or risks need help?",
    "What is the plan for next week?",
)
TRICKY = "\n".join(
    [
        "Closed **Beta Co** in two days.",
        "",
        "- demo on Monday",
        "- contract on Wednesday",
        "  - signed by the CFO",
        "",
        "## Risks",
        "### Not a question of the report",
        END_OF_QUESTIONS,
        START_OF_QUESTIONS,
        "\\### already quoted",
        "1. a second demo engineer",
        "2. line with a hard break  ",  # two spaces: a Markdown line break
        "   continued",
    ]
)


def this_week() -> str:
    """The current ISO week, from the frozen clock."""
    now = dt.datetime.fromisoformat(os.environ["SALESCTL_NOW"])
    year, week, _ = now.date().isocalendar()
    return f"{year}-W{week:02d}"


def report_path(member: str, team: str = "east", week: str | None = None) -> str:
    return f"teams/{team}/{member}/reports/{week or this_week()}.md"


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args)
    assert result.code == 0, (args, result.err)
    return result


def questions(cli: Any, actor: str, *subject: str, week: str | None = None) -> list[Any]:
    found = ok(cli, "--as", actor, "report", "weekly", "--week", week or this_week(),
               *subject, "-f", "json")  # fmt: skip
    return found.json()["questions"]  # type: ignore[no-any-return]


def own_answers(cli: Any, actor: str) -> dict[str, str]:
    """The actor's answers by question, from their own report's JSON."""
    return {q["question"]: q["answers"][0]["text"] for q in questions(cli, actor) if q["answers"]}


def answer(cli: Any, actor: str, *args: str) -> Any:
    return cli("--as", actor, "report", "answer", *args)


def unchanged(root: Path, before: str) -> None:
    assert head(root) == before
    assert git(root, "status", "--porcelain", "--untracked-files=all").strip() == ""


def editor_script(tmp_path: Path, body: str) -> str:
    """An $EDITOR: a Python script that rewrites the file named as its argument."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\npath = sys.argv[1]\ntext = open(path, encoding='utf-8').read()\n"
        + textwrap.dedent(body)
        + "open(path, 'w', encoding='utf-8').write(text)\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


# -- 1. answering ------------------------------------------------------------------------------


def test_text_answer_before_the_cron_creates_the_report_in_one_commit(
    store: Path, cli: Any
) -> None:
    before = head(store)
    ok(cli, "--as", "alice", "report", "answer", "--question", "2", "--text", "Need a demo.")
    assert git(store, "rev-parse", "HEAD~1").strip() == before  # exactly one commit
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [report_path("alice")]
    assert git(store, "log", "-1", "--format=%an <%ae>").strip() == "Alice Lin <alice@acme.example>"
    actions = git(store, "log", "-1", "--format=%(trailers:key=Salesctl-Action,valueonly)")
    assert actions.split() == ["report.answer"]
    assert git(store, "status", "--porcelain").strip() == ""
    assert own_answers(cli, "alice") == {WEEK_QUESTIONS[1]: "Need a demo."}
    # the file is the report `report weekly --commit` writes for alice, answers in
    answered = head(store)
    ok(cli, "--as", "alice", "report", "weekly", "--week", this_week(), "--commit")
    assert head(store) == answered  # nothing to change: the same file


def test_one_question_keeps_the_others_answers(store: Path, cli: Any) -> None:
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", "First.")
    ok(cli, "--as", "alice", "report", "answer", "--question", "3", "--text", "Third.")
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", "First, again.")
    assert own_answers(cli, "alice") == {
        WEEK_QUESTIONS[0]: "First, again.",
        WEEK_QUESTIONS[2]: "Third.",
    }
    again = head(store)
    result = ok(cli, "--as", "alice", "report", "answer", "--question", "3", "--text", "Third.")
    assert head(store) == again, result.out  # the same answer: no commit


@pytest.mark.parametrize(
    "args",
    [
        ("--text", "which question?"),  # several questions: --text needs --question
        ("--question", "4", "--text", "x"),
        ("--question", "0", "--text", "x"),
        ("--question", "1", "--text", "  "),
        ("--question", "1", "--text", "x", "--file", "answers.md"),
        ("--week", "2026-11", "--question", "1", "--text", "x"),
        ("--week", "2026-W60", "--question", "1", "--text", "x"),
        ("--file", "no-such-file.md"),
        (),  # no $EDITOR
    ],
)
def test_bad_answers_are_refused_and_change_nothing(
    store: Path, cli: Any, args: tuple[str, ...]
) -> None:
    before = head(store)
    result = answer(cli, "alice", *args)
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.err
    unchanged(store, before)


def test_text_without_question_names_the_fix(store: Path, cli: Any) -> None:
    result = answer(cli, "alice", "--text", "which question?")
    assert result.code == 1 and "--question" in result.err


def test_a_rep_cannot_answer_into_someone_elses_report(store: Path, cli: Any) -> None:
    ok(cli, "--as", "bob", "report", "answer", "--question", "1", "--text", "Bob's own.")
    before = head(store)
    bob_report = (store / report_path("bob")).read_bytes()
    for actor, member in (("alice", "bob"), ("lee", "bob"), ("dana", "bob")):
        result = answer(cli, actor, "--member", member, "--question", "1", "--text", "Mine!")
        assert result.code == 3, (actor, result.out, result.err)
        assert result.err.startswith("error:")
    unchanged(store, before)
    assert (store / report_path("bob")).read_bytes() == bob_report
    assert not (store / report_path("alice")).exists()


def test_file_holds_several_answers_in_the_editors_shape(
    store: Path, cli: Any, tmp_path: Path
) -> None:
    ok(cli, "--as", "alice", "report", "answer", "--question", "2", "--text", "Kept.")
    sheet = tmp_path / "answers.md"
    written = "Good week.\n\n## Wins\n\n- Beta Co\n  - signed\n\n#### Detail\n\nMore."
    sheet.write_text(
        f"### {WEEK_QUESTIONS[0]}\n\n{written}\n\n### {WEEK_QUESTIONS[2]}\n\nVisit Gamma.\n",
        encoding="utf-8",
    )
    before = head(store)
    ok(cli, "--as", "alice", "report", "answer", "--file", str(sheet))
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert own_answers(cli, "alice") == {
        WEEK_QUESTIONS[0]: written,
        WEEK_QUESTIONS[1]: "Kept.",
        WEEK_QUESTIONS[2]: "Visit Gamma.",
    }
    # any Markdown, the report's own structure included, in the editor's shape or not
    sheet.write_text(f"### {WEEK_QUESTIONS[0]}\n\n{TRICKY}\n", encoding="utf-8")
    ok(cli, "--as", "alice", "report", "answer", "--file", str(sheet))
    assert own_answers(cli, "alice")[WEEK_QUESTIONS[0]] == TRICKY
    sheet.write_text(questions_block([(WEEK_QUESTIONS[1], TRICKY)], sheet=True), "utf-8")
    ok(cli, "--as", "alice", "report", "answer", "--file", str(sheet))
    assert own_answers(cli, "alice")[WEEK_QUESTIONS[1]] == TRICKY
    ok(cli, "--as", "alice", "report", "answer", "--file", str(sheet))
    assert own_answers(cli, "alice")[WEEK_QUESTIONS[0]] == TRICKY
    # --file with --question: the whole file is that one answer
    single = tmp_path / "one.md"
    single.write_text("Line one.\n\n- a\n- b\n", encoding="utf-8")
    ok(cli, "--as", "alice", "report", "answer", "--question", "2", "--file", str(single))
    assert own_answers(cli, "alice")[WEEK_QUESTIONS[1]] == "Line one.\n\n- a\n- b"


@pytest.mark.parametrize(
    "content",
    [
        "### Which question is this?\n\nNo idea.\n",
        f"### {WEEK_QUESTIONS[0]}\n\nOnce.\n\n### {WEEK_QUESTIONS[0]}\n\nTwice.\n",
        "An answer without a question heading.\n",
    ],
)
def test_a_file_not_matching_the_questions_changes_nothing(
    store: Path, cli: Any, tmp_path: Path, content: str
) -> None:
    sheet = tmp_path / "answers.md"
    sheet.write_text(content, encoding="utf-8")
    before = head(store)
    result = answer(cli, "alice", "--file", str(sheet))
    assert result.code == 1 and result.err.startswith("error:"), result.err
    unchanged(store, before)


def test_a_file_that_is_not_utf8_is_refused(store: Path, cli: Any, tmp_path: Path) -> None:
    sheet = tmp_path / "answers.md"
    sheet.write_bytes("Gr\xfc\xdfe".encode("latin-1"))
    before = head(store)
    result = answer(cli, "alice", "--question", "1", "--file", str(sheet))
    assert result.code == 1 and "answers.md" in result.err
    unchanged(store, before)


def test_editor_answers_with_the_current_answers_shown(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", "Already there.")
    # the editor sees the existing answer, replaces it and answers the third question
    body = f"""\
        assert 'Already there.' in text, text
        text = text.replace('Already there.', {TRICKY!r})
        head, _, tail = text.partition({WEEK_QUESTIONS[2]!r})
        text = head + {WEEK_QUESTIONS[2]!r} + tail.replace('_(answer here)_', 'Plan B.', 1)
    """
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, body))
    before = head(store)
    ok(cli, "--as", "alice", "report", "answer")
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert git(store, "log", "-1", "--format=%an").strip() == "Alice Lin"
    assert own_answers(cli, "alice") == {WEEK_QUESTIONS[0]: TRICKY, WEEK_QUESTIONS[2]: "Plan B."}


def test_editor_failing_or_saving_nothing_new_changes_nothing(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", "Already there.")
    before = head(store)
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "raise SystemExit(3)\n"))
    assert answer(cli, "alice").code == 1
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, "pass\n"))  # saved as it was
    assert answer(cli, "alice").code == 0
    unchanged(store, before)


def test_answering_after_the_cron_changes_only_the_answers(store: Path, cli: Any) -> None:
    ok(cli, "--as", "alice", "lead", "add", "--company", "Beta Co", "--name", "Ann")
    ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", this_week(),
       "--commit")  # fmt: skip
    path = store / report_path("alice")
    cron = path.read_text(encoding="utf-8")
    # a later lead would change the figures if the report were rendered again
    ok(cli, "--as", "alice", "lead", "add", "--company", "Gamma Co", "--name", "Gil")
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", TRICKY)
    answered = path.read_text(encoding="utf-8")
    assert git(store, "show", "--name-only", "--format=", "HEAD").split() == [report_path("alice")]
    assert answered.split(START_OF_QUESTIONS)[0] == cron.split(START_OF_QUESTIONS)[0]
    assert answered.split(END_OF_QUESTIONS)[-1] == cron.split(END_OF_QUESTIONS)[-1]
    assert own_answers(cli, "alice") == {WEEK_QUESTIONS[0]: TRICKY}
    # regenerating keeps the answer, whatever Markdown it holds, and updates the figures
    ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", this_week(),
       "--commit")  # fmt: skip
    regenerated = path.read_text(encoding="utf-8")
    assert regenerated != answered  # Gamma Co counts now
    assert own_answers(cli, "alice") == {WEEK_QUESTIONS[0]: TRICKY}
    settled = head(store)
    ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", this_week(),
       "--commit")  # fmt: skip
    assert head(store) == settled  # the answers read back exactly as written


def test_a_cron_run_while_the_editor_is_open_keeps_its_figures(
    store: Path, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli, "--as", "alice", "lead", "add", "--company", "Beta Co", "--name", "Ann")
    cron = ("--as", "lee", "report", "weekly", "--team", "east", "--week", this_week(), "--commit")
    ok(cli, *cron)
    # while alice types, a new lead lands and the cron writes the reports again
    body = f"""\
        import os, subprocess
        env = dict(os.environ, PYTHONPATH={str(ROOT)!r})
        for args in ({("--as", "alice", "lead", "add", "--company", "Late Co")!r}, {cron!r}):
            subprocess.run([sys.executable, "-m", "salesctl", *args], env=env, check=True)
        text = text.replace('_(answer here)_', 'Typed slowly.', 1)
    """
    monkeypatch.setenv("EDITOR", editor_script(tmp_path, body))
    ok(cli, "--as", "alice", "report", "answer")
    path = report_path("alice")
    by_cron = git(store, "show", f"HEAD~1:{path}")
    assert by_cron != git(store, "show", f"HEAD~3:{path}")  # the new lead counts
    answered = (store / path).read_text(encoding="utf-8")
    assert answered.split(START_OF_QUESTIONS)[0] == by_cron.split(START_OF_QUESTIONS)[0]
    assert own_answers(cli, "alice") == {WEEK_QUESTIONS[0]: "Typed slowly."}


def test_a_report_without_a_questions_block_is_refused(store: Path, cli: Any) -> None:
    path = store / report_path("alice")
    path.parent.mkdir(parents=True)
    path.write_text("# My own notes\n", encoding="utf-8")
    git(store, "add", "-A")
    git(store, "-c", "user.name=Alice Lin", "-c", "user.email=alice@acme.example",
        "commit", "-qm", "notes")  # fmt: skip
    before = head(store)
    result = answer(cli, "alice", "--question", "1", "--text", "x")
    assert result.code == 1 and "report weekly" in result.err
    unchanged(store, before)


# -- 2. the questions block round-trips any Markdown --------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "",
                " ",
                "text",
                "### h",
                "## h",
                "# h",
                "\\### h",
                "\\\\### h",
                "  ### h",
                START_OF_QUESTIONS,
                END_OF_QUESTIONS,
                f" {END_OF_QUESTIONS} ",
                f"\\{START_OF_QUESTIONS}",
                "- item",
                "  - nested",
                "1. one",
                "> quote",
                "```",
                "_(answer here)_ not alone",
                "trailing  ",
                "\t",
            ]
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_answer_round_trips_through_the_questions_block(lines: list[str]) -> None:
    text = "\n".join(lines)
    want = normalise_answer(text)
    block = questions_block([("Q1?", text), ("Q2?", "second")])
    assert question_blocks(block) == [("Q1?", want), ("Q2?", "second")]
    document = f"# Report\n\nfacts\n\n{block}---\nfooter\n"
    rewritten = replace_questions_block(document, [("Q1?", "x"), ("Q2?", text)])
    assert rewritten is not None
    assert rewritten.startswith("# Report\n\nfacts\n\n") and rewritten.endswith("---\nfooter\n")
    assert question_blocks(rewritten) == [("Q1?", "x"), ("Q2?", want)]


# -- 3. roll-ups in every format ---------------------------------------------------------------


def answered_team(store: Path, cli: Any) -> None:
    ok(cli, "--as", "alice", "report", "answer", "--question", "1", "--text", TRICKY)
    ok(cli, "--as", "bob", "report", "answer", "--question", "2",
       "--text", "Pricing <b>&</b> terms.")  # fmt: skip
    ok(cli, "--as", "lee", "report", "answer", "--question", "1", "--text", "Team on track.")
    ok(cli, "--as", "nick", "report", "answer", "--question", "3", "--text", "North plan.")
    ok(cli, "--as", "nora", "report", "answer", "--question", "3", "--text", "Nora's plan.")


def by_question(found: list[Any]) -> dict[str, Any]:
    return {q["question"]: q for q in found}


def test_team_report_json_rolls_up_answers_and_who_is_missing(store: Path, cli: Any) -> None:
    answered_team(store, cli)
    east = by_question(questions(cli, "lee", "--team", "east"))
    assert list(east) == list(WEEK_QUESTIONS)
    first, second, third = (east[q] for q in WEEK_QUESTIONS)
    assert [(a["member"], a["text"]) for a in first["answers"]] == [
        ("lee", "Team on track."),
        ("alice", TRICKY),
    ]
    assert first["missing"] == ["bob"]  # carol is inactive, nick and nora are north
    assert [(a["member"], a["text"]) for a in second["answers"]] == [
        ("bob", "Pricing <b>&</b> terms.")
    ]
    assert second["missing"] == ["lee", "alice"]
    assert third["answers"] == [] and third["missing"] == ["lee", "alice", "bob"]
    # a member's own report shows their own answers only
    alice = by_question(questions(cli, "alice"))
    assert [a["member"] for q in alice.values() for a in q["answers"]] == ["alice"]
    assert alice[WEEK_QUESTIONS[1]]["missing"] == ["alice"]


def test_company_report_shows_the_team_leads_answers(store: Path, cli: Any) -> None:
    answered_team(store, cli)
    company = by_question(questions(cli, "dana", "--all"))
    assert [(a["member"], a["text"]) for a in company[WEEK_QUESTIONS[0]]["answers"]] == [
        ("lee", "Team on track.")
    ]
    assert [a["member"] for a in company[WEEK_QUESTIONS[2]]["answers"]] == ["nick"]
    assert company[WEEK_QUESTIONS[2]]["missing"] == ["lee"]
    assert company[WEEK_QUESTIONS[1]]["missing"] == ["lee", "nick"]
    members = {a["member"] for q in company.values() for a in q["answers"]}
    assert members == {"lee", "nick"}  # reps' answers are in their teams' reports


def section(text: str, heading: str, next_heading: str | None) -> str:
    start = text.index(heading)
    return text[start : text.index(next_heading, start) if next_heading else len(text)]


def test_team_and_company_markdown_show_the_answers(store: Path, cli: Any) -> None:
    answered_team(store, cli)
    team = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", this_week()).out
    first = section(team, f"### {WEEK_QUESTIONS[0]}\n", f"### {WEEK_QUESTIONS[1]}\n")
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in TRICKY.split("\n"))
    assert quoted in first and "Team on track." in first
    assert first.index("(lee)") < first.index("(alice)") < first.index("(bob)")
    assert "Nora" not in team and "North plan." not in team
    third = section(team, f"### {WEEK_QUESTIONS[2]}\n", "\n---\n")
    for member in ("(lee)", "(alice)", "(bob)"):
        assert member in third  # nobody has answered: all three listed
    company = ok(cli, "--as", "dana", "report", "weekly", "--all", "--week", this_week()).out
    plan = section(company, f"### {WEEK_QUESTIONS[2]}\n", "\n---\n")
    assert "North plan." in plan and "Nora's plan." not in plan
    assert "Closed **Beta Co**" not in company  # alice is no team lead


def test_team_and_company_html_show_the_answers_escaped(store: Path, cli: Any) -> None:
    answered_team(store, cli)
    page = ok(cli, "--as", "lee", "report", "weekly", "--team", "east", "--week", this_week(),
              "-f", "html").out  # fmt: skip
    sections = re.findall(r'<section class="question">(.*?)</section>', page, re.DOTALL)
    assert [re.search(r"<h3>(.*?)</h3>", s)[1] for s in sections] == list(WEEK_QUESTIONS)  # type: ignore[index]
    answers = [
        html.unescape(a)
        for a in re.findall(r'<div class="answer">(.*?)</div>', sections[1], re.DOTALL)
    ]
    assert answers == ["Pricing <b>&</b> terms."]
    assert "<b>&</b>" not in page  # escaped
    assert "(lee)" in sections[1] and "(alice)" in sections[1]  # not answered yet
    first = [
        html.unescape(a)
        for a in re.findall(r'<div class="answer">(.*?)</div>', sections[0], re.DOTALL)
    ]
    assert first == ["Team on track.", TRICKY]
    company = ok(cli, "--as", "dana", "report", "weekly", "--all", "--week", this_week(),
                 "-f", "html").out  # fmt: skip
    found = [
        html.unescape(a) for a in re.findall(r'<div class="answer">(.*?)</div>', company, re.DOTALL)
    ]
    assert found == ["Team on track.", "North plan."]


# -- 4. questions per team and role, validated -------------------------------------------------


REPORTS_CONFIG = """\
reports:
  questions:
    week: [Org question?]
  roles:
    lead:
      questions: {week: [Lead question?, Second lead question?]}
  teams:
    north:
      questions:
        week: [North question?]
"""


def configure(store: Path, text: str) -> None:
    config = store / "salesctl.yaml"
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-qam", "report questions")  # fmt: skip


def test_questions_per_team_over_role_over_org(store: Path, cli: Any) -> None:
    configure(store, REPORTS_CONFIG)
    asked = {
        m: [q["question"] for q in questions(cli, m)] for m in ("alice", "lee", "nick", "nora")
    }
    assert asked == {
        "alice": ["Org question?"],
        "lee": ["Lead question?", "Second lead question?"],
        "nick": ["North question?"],  # the team's questions come first
        "nora": ["North question?"],
    }
    ok(cli, "--as", "lee", "report", "answer", "--question", "2", "--text", "Lee's.")
    result = answer(cli, "lee", "--question", "3", "--text", "x")
    assert result.code == 1  # two questions for lee
    east = by_question(questions(cli, "lee", "--team", "east"))
    assert list(east) == ["Org question?", "Lead question?", "Second lead question?"]
    assert east["Org question?"]["missing"] == ["alice", "bob"]  # lee is not asked it
    assert [a["member"] for a in east["Second lead question?"]["answers"]] == ["lee"]
    assert east["Lead question?"]["missing"] == ["lee"]


BAD_CONFIG = """\
reports:
  questions:
    week: [Same?, Same?]
    quarter: [Why?]
  teams:
    west:
      questions: {week: [Lost?]}
    east: [not, a, mapping]
  roles:
    wizard: {questions: {week: [Magic?]}}
    lead: {questions: {week: [42]}, colour: red}
  language: zh
"""


def test_check_reports_each_reports_setting_problem_with_its_line(store: Path, cli: Any) -> None:
    configure(store, BAD_CONFIG)
    lines = (store / "salesctl.yaml").read_text(encoding="utf-8").splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))

    result = cli("check", "-f", "json")
    assert result.code == 1, result.err
    found = {p["field"]: p["where"] for p in result.json() if p["where"].startswith("salesctl")}
    assert found == {
        "reports.questions.week[1]": f"salesctl.yaml:{line_of('week: [Same?')}",
        "reports.questions.quarter": f"salesctl.yaml:{line_of('quarter:')}",
        "reports.teams.west": f"salesctl.yaml:{line_of('west:')}",
        "reports.teams.east": f"salesctl.yaml:{line_of('east: [not')}",
        "reports.roles.wizard": f"salesctl.yaml:{line_of('wizard:')}",
        "reports.roles.lead.questions.week[0]": f"salesctl.yaml:{line_of('lead: {questions')}",
        "reports.roles.lead.colour": f"salesctl.yaml:{line_of('lead: {questions')}",
        "reports.language": f"salesctl.yaml:{line_of('language:')}",
    }
    # every other command refuses with the config named, and changes nothing
    before = head(store)
    refused = answer(cli, "alice", "--question", "1", "--text", "x")
    assert refused.code == 1 and "salesctl.yaml" in refused.err
    unchanged(store, before)


FULL_CONFIG = """\
reports:
  questions:
    week: [What went well?, What needs help?]
    month: [What were the results?]
  teams:
    east:
      questions: {week: [Which East deal is at risk?], month: []}
  roles:
    lead:
      questions:
        week: [How is the team doing?]
"""


def test_the_documented_schema_is_accepted(store: Path, cli: Any) -> None:
    configure(store, FULL_CONFIG)
    result = cli("check", "-f", "json")
    assert result.code == 0, result.out
