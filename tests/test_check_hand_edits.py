"""``salesctl check`` on what a hand edit breaks and the commands never write: dates out of
range, text that YAML read as a number or true/false, control characters, a lead with
neither company nor name; and members over the claim cap, a warning.

Each test writes the bad file by hand into a real git store, commits it with git, and runs
``check`` through the CLI: exit 1 and a problem naming the file (with the line) and field,
or, for the cap, exit 0 and a warning on stderr.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl import clock

LEAD = "teams/east/alice/leads/L-0000000000H1/lead.yaml"
CUSTOMER = "teams/east/alice/customers/C-0000000000H1/customer.yaml"
TASK = "teams/east/alice/tasks/T-0000000000H1/task.yaml"
FOLLOWUP = "teams/east/alice/leads/L-0000000000H1/followups/F-0000000000H1.yaml"


def today() -> dt.date:
    return clock.today()


def lead_yaml(**lines: str | None) -> str:
    """A valid lead of today; ``lines`` replace (or, with a new key, add) a field's line:
    "" leaves the key without a value (null), None drops it."""
    fields = {
        "schema_version": "1",
        "company": "Hand Made Ltd",
        "name": "Wei",
        "phone": "'+86 138 0013 8000'",
        "stage": "new",
        "created": today().isoformat(),
    }
    return _yaml({**fields, **lines})


def customer_yaml(**lines: str | None) -> str:
    return _yaml(
        {"schema_version": "1", "name": "Hand Made Ltd", "created": today().isoformat(), **lines}
    )


def _yaml(fields: dict[str, str | None]) -> str:
    return "".join(f"{k}: {v}\n" if v else f"{k}:\n" for k, v in fields.items() if v is not None)


def commit(store: Path, files: dict[str, str]) -> None:
    """``files`` written by hand and committed with git, as a person would."""
    for rel, text in files.items():
        path = store / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example",
        "commit", "-q", "-m", "hand edit")  # fmt: skip


def check(cli: Any) -> tuple[int, list[dict[str, Any]], str]:
    """(exit code, problems as JSON, stderr) of ``salesctl check -f json``."""
    result = cli("check", "-f", "json")
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    return result.code, result.json(), result.err


def only_problem(cli: Any, path: str) -> dict[str, Any]:
    """The one problem ``check`` finds, which must be of ``path``; its plain-text line too."""
    code, problems, _err = check(cli)
    assert code == 1, problems
    assert len(problems) == 1, problems
    found = problems[0]
    assert found["where"].split(":")[0] == path, problems
    plain = cli("check")
    assert plain.code == 1
    assert f"{found['where']}: {found['field']}: {found['message']}" in plain.out
    return found


def line_of(store: Path, path: str, key: str) -> str:
    """``path:N`` of the line where ``key:`` stands."""
    lines = (store / path).read_text(encoding="utf-8").splitlines()
    return f"{path}:{next(i for i, ln in enumerate(lines, 1) if ln.startswith(f'{key}:'))}"


# -- dates out of range -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "field"),
    [
        (LEAD, lead_yaml(created="2500-01-01"), "created"),
        (LEAD, lead_yaml(created="1899-12-31"), "created"),
        (LEAD, lead_yaml(stages="{new: 2500-01-01}"), "stages"),
        (CUSTOMER, customer_yaml(created="'1800-01-01'"), "created"),  # quoted: text too
        (
            TASK,
            "schema_version: 1\ntitle: Call back\nassignee: alice\nstatus: todo\n"
            f"due: 1800-01-01\ncreated: {today().isoformat()}\n",
            "due",
        ),
        (
            FOLLOWUP,
            "schema_version: 1\nrecord: L-0000000000H1\nauthor: alice\n"
            "at: 2500-01-01 10:00:00+08:00\ntext: hi\n",
            "at",
        ),
    ],
    ids=["created-2500", "created-1899", "stage-date", "quoted-date", "task-due", "datetime"],
)
def test_a_stored_date_out_of_range_is_a_problem(
    store: Path, cli: Any, path: str, text: str, field: str
) -> None:
    files = {path: text}
    if path == FOLLOWUP:
        files[LEAD] = lead_yaml()
    commit(store, files)
    found = only_problem(cli, path)
    assert found["field"] == field
    assert "is out of range (dates run from 1900-01-01 to 2199-12-31)" in found["message"]
    if field != "stages":
        assert found["where"] == line_of(store, path, field)


def test_dates_at_the_ends_of_the_range_pass(store: Path, cli: Any) -> None:
    commit(
        store,
        {
            LEAD: lead_yaml(created="1900-01-01", stages="{new: 2199-12-31}"),
            FOLLOWUP: "schema_version: 1\nrecord: L-0000000000H1\nauthor: alice\n"
            "at: 2199-12-31 23:59:00+08:00\ntext: hi\n",
        },
    )
    assert check(cli)[:2] == (0, [])


def test_a_custom_date_field_out_of_range_is_a_problem(store: Path, cli: Any) -> None:
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text() + "custom_fields:\n  lead:\n  - {name: met, type: date}\n", "utf-8"
    )
    commit(store, {LEAD: lead_yaml(custom="{met: 2500-01-01}")})
    found = only_problem(cli, LEAD)
    assert found["field"] == "custom.met" and "out of range" in found["message"]


# -- text that YAML read as a number or true/false ----------------------------------------------


def test_a_phone_stored_as_a_number_must_be_quoted_text(store: Path, cli: Any) -> None:
    commit(store, {LEAD: lead_yaml(phone="13800000000")})
    found = only_problem(cli, LEAD)
    assert found["where"] == line_of(store, LEAD, "phone")
    assert found["field"] == "phone"
    assert found["message"].startswith("must be quoted text")
    assert 'write phone: "13800000000"' in found["message"]
    # the fix it names passes
    commit(store, {LEAD: lead_yaml(phone='"13800000000"')})
    assert check(cli)[:2] == (0, [])


@pytest.mark.parametrize(
    ("path", "text", "field", "fix"),
    [
        (LEAD, lead_yaml(phone="+8613800138000"), "phone", 'phone: "8613800138000"'),
        (LEAD, lead_yaml(name="2024"), "name", 'name: "2024"'),
        (LEAD, lead_yaml(source="1.50"), "source", 'source: "1.5"'),
        (LEAD, lead_yaml(notes="yes"), "notes", 'notes: "yes"'),
        (LEAD, lead_yaml(tags="[vip, 007]"), "tags", 'the item as "7"'),
        (
            CUSTOMER,
            customer_yaml(contacts="\n- name: Wei\n  phone: 13800000000"),
            "contacts[1].phone",
            'phone: "13800000000"',
        ),
    ],
    ids=["plus-phone", "int-name", "float", "bool", "list-item", "contact-row"],
)
def test_text_stored_as_a_number_or_boolean_must_be_quoted(
    store: Path, cli: Any, path: str, text: str, field: str, fix: str
) -> None:
    commit(store, {path: text})
    found = only_problem(cli, path)
    assert found["field"] == field
    assert found["message"].startswith("must be quoted text") and fix in found["message"]


def test_a_custom_text_field_stored_as_a_number_must_be_quoted(store: Path, cli: Any) -> None:
    config = store / "salesctl.yaml"
    config.write_text(
        config.read_text() + "custom_fields:\n  lead:\n  - {name: po, type: text}\n"
        "  - {name: budget, type: number}\n",
        "utf-8",
    )
    commit(store, {LEAD: lead_yaml(custom="{po: 0012, budget: 5000}")})  # 0012: octal 10
    found = only_problem(cli, LEAD)
    assert found["field"] == "custom.po" and 'po: "10"' in found["message"]


# -- control characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        (r'name: "a\0b"', "name", "U+0000"),
        (r'company: "Acme\x1b[31m"', "company", "U+001B"),
        (r'notes: "one\nline\x07"', "notes", "U+0007"),
        (r'tags: ["vip", "a\x01"]', "tags", "U+0001"),
        (r'name: "a\rb"', "name", None),  # a line field holds no line break
        (r'company: "Acme\x9b31m"', "company", "U+009B"),  # C1: a one-byte ESC [
        (r'notes: "rub\x7fout"', "notes", "U+007F"),
    ],
    ids=["nul", "escape", "bell-in-notes", "tag", "cr-in-a-line", "c1-csi", "del"],
)
def test_a_control_character_in_text_is_a_problem(
    store: Path, cli: Any, line: str, field: str, code: str | None
) -> None:
    key = line.split(":")[0]
    text = lead_yaml(**{key: None}) if key in ("name", "company") else lead_yaml()
    commit(store, {LEAD: text + line + "\n"})
    found = only_problem(cli, LEAD)
    assert found["field"] == field
    if code:
        assert f"holds control character {code}" in found["message"]
    else:
        assert found["message"] == "expected a single line"


def test_tabs_and_line_breaks_in_multi_line_text_pass(store: Path, cli: Any) -> None:
    commit(store, {LEAD: lead_yaml(name='"Wei\\tZhang"', notes='"one\\r\\ntwo\\tthree"')})
    assert check(cli)[:2] == (0, [])


def test_a_control_character_typed_on_the_command_line_is_refused(store: Path, cli: Any) -> None:
    head = git(store, "rev-parse", "HEAD")
    result = cli("--as", "alice", "lead", "add", "--company", "Acme\x00 Ltd")
    assert result.code == 1 and result.err.startswith("error: "), result.err
    assert "control character U+0000" in result.err
    assert git(store, "rev-parse", "HEAD") == head


# -- required values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text", "field", "message"),
    [
        (LEAD, lead_yaml(company="", name=""), "company", "a lead needs a company or a name"),
        (LEAD, lead_yaml(company="~", name="''"), "company", "a lead needs a company or a name"),
        (CUSTOMER, customer_yaml(name=""), "name", "is required"),
        (CUSTOMER, customer_yaml(name="null"), "name", "is required"),
    ],
    ids=["lead-both-empty", "lead-null-and-blank", "customer-empty", "customer-null"],
)
def test_a_null_required_value_is_a_problem(
    store: Path, cli: Any, path: str, text: str, field: str, message: str
) -> None:
    commit(store, {path: text})
    found = only_problem(cli, path)
    assert (found["field"], found["message"]) == (field, message)


@pytest.mark.parametrize("kept", ["company", "name"])
def test_a_lead_with_a_company_or_a_name_passes(store: Path, cli: Any, kept: str) -> None:
    dropped = "name" if kept == "company" else "company"
    commit(store, {LEAD: lead_yaml(**{dropped: "~"})})
    assert check(cli)[:2] == (0, [])


# -- check --range (the pre-receive hook) judges the same files ---------------------------------


def test_check_range_finds_the_same_problems(store: Path, cli: Any) -> None:
    commit(store, {LEAD: lead_yaml(phone="13800000000", created="2500-01-01")})
    result = cli("check", "--range", "HEAD~1..HEAD", "--actor", "dana", "-f", "json")
    assert result.code == 1, result.err
    found = {(p["where"], p["field"]) for p in result.json()["problems"]}
    assert found == {
        (line_of(store, LEAD, "phone"), "phone"),
        (line_of(store, LEAD, "created"), "created"),
    }


# -- the claim cap: a warning -------------------------------------------------------------------

CAP = 5  # conftest.CONFIG's pool.max_owned_leads


def leads_of(member_dir: str, count: int, stage: str = "new") -> dict[str, str]:
    return {
        f"{member_dir}/leads/L-00000000C{n:03d}/lead.yaml": lead_yaml(
            company=f"Co {n}", stage=stage
        )
        for n in range(count)
    }


def test_owning_more_open_leads_than_the_cap_is_a_warning(store: Path, cli: Any) -> None:
    """As after a merge of two branches that each claimed leads: every lead valid, but
    alice owns more open ones than ``pool.max_owned_leads``."""
    home = "teams/east/alice"
    commit(store, leads_of(home, CAP + 1))
    for _ in range(2):  # a warm check keeps what the first one found
        code, problems, err = check(cli)
        assert (code, problems) == (0, [])
        warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
        assert warnings == [
            f"warning: {home}/leads: alice owns {CAP + 1} open leads, over "
            f"pool.max_owned_leads ({CAP}) in salesctl.yaml: alice's claims are refused "
            "until some are released, converted or reassigned (an assignment past it may "
            "be on purpose)"
        ]
    plain = cli("check")
    assert plain.code == 0 and "ok: no problems, 1 warning(s)" in plain.err
    # the claim refuses, as the warning says
    (store / "pool/leads").mkdir(parents=True)
    git(store, "mv", f"{home}/leads/L-00000000C000", "pool/leads/L-00000000C000")
    commit(store, {})
    assert "warning:" not in check(cli)[2]
    claim = cli("--as", "alice", "lead", "claim", "L-00000000C000")
    assert claim.code == 3 and f"exceeds the cap of {CAP}" in claim.err


def test_closed_leads_do_not_count_against_the_cap(store: Path, cli: Any) -> None:
    files = leads_of("teams/east/alice", CAP)
    files |= {
        re.sub(r"C(\d{3})/", r"D\1/", path): text.replace("stage: new", "stage: disqualified")
        + "reason: no budget\n"
        for path, text in leads_of("teams/east/alice", 2).items()
    }
    commit(store, files)
    code, problems, err = check(cli)
    assert (code, problems) == (0, []), problems
    assert "warning:" not in err


def test_the_bundled_sample_passes_without_a_warning(tmp_path: Path, cli: Any) -> None:
    root = tmp_path / "sample"
    assert cli("init", str(root), "--sample").code == 0
    result = cli("--store", str(root), "check")
    assert result.code == 0, result.out
    assert result.err.strip() == "ok: no problems"
