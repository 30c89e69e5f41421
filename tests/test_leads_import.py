"""End-to-end tests of ``lead import``: formats, mapping, round-robin, duplicates, all-or-nothing.

Every test runs the real CLI against a fresh git store (the ``store`` fixture) and checks the
data: the JSON summary, the lead files on disk and the commit git recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

import salesctl.ops.sales.lead_import as lead_import

TODAY = dt.date(2026, 11, 20)  # the frozen $SALESCTL_NOW of conftest


# -- helpers -------------------------------------------------------------------------------------


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def snapshot(root: Path) -> tuple[str, str, dict[str, bytes]]:
    """HEAD, `git status` and every work-tree file's bytes: equal snapshots = nothing changed."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    status = git(root, "status", "--porcelain", "--untracked-files=all", "--ignored")
    return head(root), status, files


def lead_files(root: Path) -> dict[str, Path]:
    """Lead id -> its lead.yaml, wherever it lives."""
    return {p.parent.name: p for p in root.glob("**/leads/L-*/lead.yaml")}


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def leads_by(root: Path, field: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """``field`` value -> (lead id, data) for every lead in the store."""
    result = {}
    for lead_id, path in lead_files(root).items():
        data = load(path)
        result[data.get(field)] = (lead_id, data)
    return result


def trailer(root: Path, key: str, rev: str = "HEAD") -> list[str]:
    out = git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line.strip() for line in out.splitlines() if line.strip()]


def changed_paths(root: Path, rev: str = "HEAD") -> set[str]:
    out = git(root, "show", "--name-only", "--format=", "--no-renames", rev)
    return {line for line in out.splitlines() if line}


def write_csv(path: Path, text: str, *, bom: bool = True, crlf: bool = True) -> Path:
    """Write CSV text the way Excel saves 'CSV UTF-8': a BOM and CRLF line ends ("{LF}" marks
    a line break inside a quoted cell)."""
    body = text.replace("\n", "\r\n") if crlf else text
    body = body.replace("{LF}", "\n")  # a line break inside a cell: Excel writes a bare LF
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
    return path


def owners_on_disk(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in lead_files(root).values():
        parts = path.relative_to(root).parts
        owner = parts[2] if parts[0] == "teams" else parts[0]
        counts[owner] = counts.get(owner, 0) + 1
    return counts


# -- formats -------------------------------------------------------------------------------------

ENGLISH_CRM = """\
First Name,Last Name,Company,Email,Phone,Lead Source,Lead Status,Created Date,Description
Wei,Zhang,"Acme, Inc.",wei.zhang@acme.example,+86 138 0013 8000,Trade Show,Open - Not Contacted,\
2026-03-15,"Met at booth ""B12""{LF}wants a demo"
Anna,Schmidt,"The ""Best"" Widgets GmbH",anna@best.example,+49 30 1234567,Web,\
Working - Contacted,10/02/2026,
"""


def test_import_english_crm_export_with_bom_crlf_and_excel_quoting(
    store: Path, cli, tmp_path: Path
) -> None:
    src = write_csv(tmp_path / "salesforce export.csv", ENGLISH_CRM)
    assert src.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in src.read_bytes()
    before = head(store)
    res = cli("--as", "lee", "lead", "import", str(src), "--to", "bob", "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert {"created", "skipped", "updated"} <= set(summary)
    assert len(summary["created"]) == 2
    assert summary["skipped"] == [] and summary["updated"] == []

    files = lead_files(store)
    assert set(files) == set(summary["created"])
    for lead_id, path in files.items():
        assert path.relative_to(store).as_posix() == f"teams/east/bob/leads/{lead_id}/lead.yaml"

    by_company = leads_by(store, "company")
    assert set(by_company) == {"Acme, Inc.", 'The "Best" Widgets GmbH'}
    _, acme = by_company["Acme, Inc."]
    assert acme["name"] == "Wei Zhang"
    assert acme["email"] == "wei.zhang@acme.example"
    assert acme["phone"] == "+86 138 0013 8000"
    assert acme["source"] == "Trade Show"
    assert acme["stage"] == "new"
    assert acme["created"] == dt.date(2026, 3, 15)  # the CRM's date, not today's
    assert acme["notes"] == 'Met at booth "B12"\nwants a demo'
    _, best = by_company['The "Best" Widgets GmbH']
    assert best["name"] == "Anna Schmidt"
    assert best["stage"] == "contacted"
    assert best["created"] == dt.date(2026, 10, 2)  # US-style 10/02/2026

    # One commit for the whole import, by the actor, with a trailer per created lead.
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert git(store, "log", "-1", "--format=%an <%ae>").strip() == "Lee Chen <lee@acme.example>"
    assert trailer(store, "Salesctl-Action") == ["lead.import"]
    assert sorted(trailer(store, "Salesctl-Record")) == sorted(summary["created"])
    assert changed_paths(store) == {p.relative_to(store).as_posix() for p in files.values()}
    assert git(store, "status", "--porcelain") == ""


@pytest.mark.parametrize("phone_header", ["电话", "手机"])
def test_import_chinese_headers(store: Path, cli, tmp_path: Path, phone_header: str) -> None:
    src = write_csv(
        tmp_path / "线索.csv",
        f"姓名,公司,{phone_header},邮箱,来源\n"
        "张三,阿里巴巴（杭州）有限公司,138-0013-8000,zhangsan@alibaba.example.cn,展会\n"
        '李四,"腾讯科技,深圳",+86 139 0000 1111,lisi@tencent.example.cn,官网\n',
    )
    res = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert len(summary["created"]) == 2 and summary["skipped"] == []
    assert summary["ignored_columns"] == []
    by_name = leads_by(store, "name")
    assert set(by_name) == {"张三", "李四"}
    zhang_id, zhang = by_name["张三"]
    assert zhang["company"] == "阿里巴巴（杭州）有限公司"
    assert zhang["phone"] == "138-0013-8000"
    assert zhang["email"] == "zhangsan@alibaba.example.cn"
    assert zhang["source"] == "展会"
    assert zhang["created"] == TODAY  # no date column: imported today
    assert by_name["李四"][1]["company"] == "腾讯科技,深圳"
    assert by_name["李四"][1]["phone"] == "+86 139 0000 1111"
    assert (
        lead_files(store)[zhang_id]
        .relative_to(store)
        .as_posix()
        .startswith("teams/east/alice/leads/")
    )
    assert git(store, "log", "-1", "--format=%an").strip() == "Alice Lin"


def test_import_with_map_options(store: Path, cli, tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "messe.csv",
        "Firma,Ansprechpartner,Handy,Kanal,Intern\n"
        "Müller AG,Hans Müller,+49 171 5550101,Messe,do not import\n",
    )
    res = cli(
        "--as", "alice", "lead", "import", str(src),
        "--map", "Firma=company",
        "--map", "Ansprechpartner=name",
        "--map", "Handy=phone",
        "--map", "Kanal=source",
        "-f", "json",
    )  # fmt: skip
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["ignored_columns"] == ["Intern"]
    [(lead_id, data)] = leads_by(store, "company").values()
    assert summary["created"] == [lead_id]
    assert data["company"] == "Müller AG"
    assert data["name"] == "Hans Müller"
    assert data["phone"] == "+49 171 5550101"
    assert data["source"] == "Messe"
    assert "do not import" not in lead_files(store)[lead_id].read_text(encoding="utf-8")


def test_map_naming_a_missing_column_is_refused(store: Path, cli, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", "Company,Name\nAcme,Wei\n")
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "import", str(src), "--map", "Handy=phone")
    assert res.code == 1
    assert "Handy" in res.err
    assert snapshot(store) == before


def test_import_json_list_of_objects(store: Path, cli, tmp_path: Path) -> None:
    rows = [
        {
            "company": "Northwind Traders",
            "name": "Nancy Davolio",
            "email": "nancy@northwind.example",
            "phone": "+1 206 555 0101",
            "source": "Webinar",
            "created": "2026-05-04",
        },
        {"公司": "华为技术有限公司", "姓名": "王五", "手机": "13700001111", "来源": "转介绍"},
    ]
    src = tmp_path / "leads.json"
    src.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    before = head(store)
    res = cli("--as", "bob", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert len(summary["created"]) == 2
    by_company = leads_by(store, "company")
    _, northwind = by_company["Northwind Traders"]
    assert northwind["name"] == "Nancy Davolio"
    assert northwind["email"] == "nancy@northwind.example"
    assert northwind["created"] == dt.date(2026, 5, 4)
    _, huawei = by_company["华为技术有限公司"]
    assert huawei["name"] == "王五" and huawei["phone"] == "13700001111"
    assert huawei["source"] == "转介绍"
    assert git(store, "rev-parse", "HEAD~1").strip() == before
    assert git(store, "log", "-1", "--format=%ae").strip() == "bob@acme.example"
    assert sorted(trailer(store, "Salesctl-Record")) == sorted(summary["created"])


# -- round-robin ---------------------------------------------------------------------------------


def numbered_csv(path: Path, start: int, count: int) -> Path:
    lines = ["Company,Name,Email,Phone"]
    for i in range(start, start + count):
        lines.append(f"Company {i:03d},Contact {i},c{i}@firm{i}.example,1380000{i:04d}")
    return write_csv(path, "\n".join(lines) + "\n")


ROUND_ROBIN_EAST = ("--round-robin", "--team", "east", "-f", "json")


def test_round_robin_is_fair_within_and_across_imports_and_skips_inactive(
    store: Path, cli, tmp_path: Path
) -> None:
    first = numbered_csv(tmp_path / "first.csv", 1, 31)
    res = cli("--as", "lee", "lead", "import", str(first), *ROUND_ROBIN_EAST)
    assert res.code == 0, res.err
    assert len(res.json()["created"]) == 31
    counts = owners_on_disk(store)
    assert sorted([counts.get("alice", 0), counts.get("bob", 0)]) == [15, 16]
    assert counts.get("carol", 0) == 0  # inactive: dealt nothing
    assert set(counts) == {"alice", "bob"}  # nobody outside team east, nothing to lee
    assert res.json()["owners"] == {k: counts[k] for k in ("alice", "bob")}

    second = numbered_csv(tmp_path / "second.csv", 101, 31)
    res = cli("--as", "lee", "lead", "import", str(second), *ROUND_ROBIN_EAST)
    assert res.code == 0, res.err
    assert len(res.json()["created"]) == 31
    counts = owners_on_disk(store)
    assert counts.get("alice", 0) + counts.get("bob", 0) == 62
    assert abs(counts.get("alice", 0) - counts.get("bob", 0)) <= 1  # fair across runs
    assert counts.get("carol", 0) == 0
    assert not (store / "teams" / "east" / "carol").exists()


def test_round_robin_rule_is_documented_in_the_module_docstring() -> None:
    doc = (lead_import.__doc__ or "").lower()
    assert "round-robin" in doc or "round robin" in doc
    assert re.search(r"\b(fewest|least|lowest)\b", doc)  # least-loaded first: fair across runs
    assert "inactive" in doc or "active: false" in doc  # inactive members are skipped


# -- duplicates ----------------------------------------------------------------------------------


def test_same_import_twice_adds_nothing_and_makes_no_commit(
    store: Path, cli, tmp_path: Path
) -> None:
    src = numbered_csv(tmp_path / "leads.csv", 1, 3)
    first = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert first.code == 0, first.err
    created = first.json()["created"]
    assert len(created) == 3
    before = snapshot(store)

    again = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert again.code == 0, again.err
    summary = again.json()
    assert summary["created"] == [] and summary["updated"] == []
    assert sorted(s["row"] for s in summary["skipped"]) == [2, 3, 4]
    assert sorted(s["duplicate_of"] for s in summary["skipped"]) == sorted(created)
    assert snapshot(store) == before  # HEAD, status and files unchanged


DUPLICATES_IN_FILE = """\
Company,Name,Email,Phone
Acme Ltd,Wei Zhang,wei@acme.example,13800138000
Other Trading,Wei Z.,"  WEI@Acme.Example ",13900000001
Beta Corp,Li Na,li@beta.example,13800138001
Gamma Works,Gu Yu,gu@gamma.example,+86 138-0013-8001
ACME,Zed Ng,zed@other.example,13700000000
Delta Labs,Dee Dee,dee@delta.example,13600000000
"""


def test_duplicates_within_one_file_are_skipped_and_reported(
    store: Path, cli, tmp_path: Path
) -> None:
    src = write_csv(tmp_path / "dups.csv", DUPLICATES_IN_FILE)
    res = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    by_company = leads_by(store, "company")
    assert set(by_company) == {"Acme Ltd", "Beta Corp", "Delta Labs"}
    assert sorted(summary["created"]) == sorted(i for i, _ in by_company.values())
    acme_id, beta_id = by_company["Acme Ltd"][0], by_company["Beta Corp"][0]
    skipped = sorted(
        ({"row": s["row"], "duplicate_of": s["duplicate_of"]} for s in summary["skipped"]),
        key=lambda s: s["row"],
    )
    assert skipped == [
        {"row": 3, "duplicate_of": acme_id},  # email differing in case and spaces
        {"row": 5, "duplicate_of": beta_id},  # the same phone with +86 and dashes
        {"row": 6, "duplicate_of": acme_id},  # the company without "Ltd", upper case
    ]
    assert len(trailer(store, "Salesctl-Record")) == 3


def test_duplicate_of_an_existing_lead_found_by_normalised_email(
    store: Path, cli, tmp_path: Path
) -> None:
    added = cli(
        "--as", "alice", "lead", "add", "--company", "Existing Co", "--email", "Sales@Kite.example",
        "-f", "json",
    )  # fmt: skip
    assert added.code == 0, added.err
    src = write_csv(tmp_path / "x.csv", "Company,Email\nKite Aviation, sales@kite.EXAMPLE \n")
    before = head(store)
    res = cli("--as", "alice", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["created"] == []
    assert [(s["row"], s["duplicate_of"]) for s in summary["skipped"]] == [(2, added.json()["id"])]
    assert head(store) == before


def test_update_merges_changed_phone_and_source_into_the_existing_lead(
    store: Path, cli, tmp_path: Path
) -> None:
    first = write_csv(
        tmp_path / "v1.csv",
        "Company,Name,Email,Phone,Lead Source,Created Date\n"
        "Acme Ltd,Wei Zhang,wei@acme.example,13800138000,Expo,2026-06-01\n",
    )
    res = cli("--as", "alice", "lead", "import", str(first), "-f", "json")
    assert res.code == 0, res.err
    [lead_id] = res.json()["created"]
    path = lead_files(store)[lead_id]
    before = head(store)

    second = write_csv(
        tmp_path / "v2.csv",
        "Company,Name,Email,Phone,Lead Source\n"
        "Acme Ltd,Wei Zhang,WEI@acme.example,13911112222,Website\n",
    )
    res = cli("--as", "alice", "lead", "import", str(second), "--update", "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert summary["updated"] == [lead_id]
    assert summary["created"] == []
    data = load(path)
    assert data["phone"] == "13911112222"
    assert data["source"] == "Website"
    assert data["created"] == dt.date(2026, 6, 1)  # kept
    assert data["stage"] == "new"
    assert git(store, "rev-parse", "HEAD~1").strip() == before  # exactly one commit
    assert changed_paths(store) == {path.relative_to(store).as_posix()}
    assert trailer(store, "Salesctl-Action") == ["lead.import"]
    assert trailer(store, "Salesctl-Record") == [lead_id]
    assert len(lead_files(store)) == 1

    # Running the same update again changes nothing.
    after = snapshot(store)
    res = cli("--as", "alice", "lead", "import", str(second), "--update", "-f", "json")
    assert res.code == 0, res.err
    assert res.json()["updated"] == [] and res.json()["created"] == []
    assert snapshot(store) == after


# -- all-or-nothing ------------------------------------------------------------------------------

GOOD_ROWS = [
    "Company,Name,Email,Phone,Created Date,Owner",
    "Alpha Ltd,Ann,ann@alpha.example,13800000001,2026-01-05,alice",
    "Beta Ltd,Ben,ben@beta.example,13800000002,2026-01-06,bob",
    "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-01-07,bob@acme.example",
    "Delta Ltd,Dan,dan@delta.example,13800000004,2026-01-08,alice",
]
BAD_ROW_4 = {
    "bad email": "Gamma Ltd,Gil,gil-at-gamma,13800000003,2026-01-07,bob",
    "bad date": "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-13-45,bob",
    "extra column": "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-01-07,bob,surplus",
    "missing column": "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-01-07",
    "unknown owner": "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-01-07,zed",
    # carol is `active: false`: `lead add --to`, `import --to` and `assign` refuse her too
    "inactive owner": "Gamma Ltd,Gil,gil@gamma.example,13800000003,2026-01-07,carol",
}


def with_existing_lead(cli) -> None:
    res = cli("--as", "alice", "lead", "add", "--company", "Already Here", "-f", "json")
    assert res.code == 0, res.err


def test_control_the_good_file_imports_with_owners_from_the_owner_column(
    store: Path, cli, tmp_path: Path
) -> None:
    src = write_csv(tmp_path / "good.csv", "\n".join(GOOD_ROWS) + "\n")
    res = cli("--as", "lee", "lead", "import", str(src), "-f", "json")
    assert res.code == 0, res.err
    assert len(res.json()["created"]) == 4
    assert owners_on_disk(store) == {"alice": 2, "bob": 2}
    assert leads_by(store, "company")["Gamma Ltd"][1]["created"] == dt.date(2026, 1, 7)


@pytest.mark.parametrize("problem", sorted(BAD_ROW_4))
def test_one_bad_row_fails_the_whole_import(store: Path, cli, tmp_path: Path, problem: str) -> None:
    with_existing_lead(cli)
    rows = [*GOOD_ROWS[:3], BAD_ROW_4[problem], GOOD_ROWS[4]]
    src = write_csv(tmp_path / "bad.csv", "\n".join(rows) + "\n")
    before = snapshot(store)
    res = cli("--as", "lee", "lead", "import", str(src), "-f", "json")
    assert res.code == 1, (res.code, res.out, res.err)
    assert "row 4" in res.err
    for good in ("row 2", "row 3", "row 5"):
        assert good not in res.err
    assert "Traceback" not in res.err
    assert snapshot(store) == before
    assert len(lead_files(store)) == 1


def test_every_bad_row_is_reported(store: Path, cli, tmp_path: Path) -> None:
    rows = [
        GOOD_ROWS[0],
        GOOD_ROWS[1],
        BAD_ROW_4["bad email"],
        GOOD_ROWS[2],
        BAD_ROW_4["unknown owner"].replace("Gamma", "Omega").replace("gil@", "omega@"),
    ]
    src = write_csv(tmp_path / "bad.csv", "\n".join(rows) + "\n")
    before = snapshot(store)
    res = cli("--as", "lee", "lead", "import", str(src))
    assert res.code == 1
    assert "row 3" in res.err and "row 5" in res.err
    assert "row 2" not in res.err and "row 4" not in res.err
    assert snapshot(store) == before


def test_rows_number_like_a_spreadsheet_with_a_line_break_inside_a_cell(
    store: Path, cli, tmp_path: Path
) -> None:
    src = write_csv(
        tmp_path / "notes.csv",
        "Company,Name,Email,Description\n"
        'Alpha Ltd,Ann,ann@alpha.example,"first line{LF}second line"\n'
        "Beta Ltd,Ben,not-an-email,\n",
    )
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "import", str(src))
    assert res.code == 1
    assert "row 3" in res.err  # the header is row 1, Alpha row 2, Beta row 3
    assert "row 4" not in res.err
    assert snapshot(store) == before


def test_non_utf8_file_is_refused_with_a_hint(store: Path, cli, tmp_path: Path) -> None:
    with_existing_lead(cli)
    src = tmp_path / "gbk.csv"
    src.write_bytes("公司,姓名,电话\r\n阿里巴巴,张三,13800138000\r\n".encode("gbk"))
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "import", str(src))
    assert res.code == 1
    assert res.err.startswith("error: ")
    assert "utf-8" in res.err.lower()
    assert "iconv" in res.err or "GBK" in res.err  # how to fix it
    assert "Traceback" not in res.err
    assert snapshot(store) == before


def test_dry_run_writes_nothing(store: Path, cli, tmp_path: Path) -> None:
    with_existing_lead(cli)
    src = numbered_csv(tmp_path / "leads.csv", 1, 4)
    before = snapshot(store)
    res = cli("--as", "alice", "lead", "import", str(src), "--dry-run", "-f", "json")
    assert res.code == 0, res.err
    summary = res.json()
    assert len(summary["created"]) == 4  # what it would create
    assert summary["dry_run"] is True
    assert snapshot(store) == before
    assert len(lead_files(store)) == 1


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ('[{"company": "Acme", "phone": ' + "9" * 5000 + "}]", "row 1"),
        ('[{"company": "Acme", "phone": NaN}]', "NaN"),
        ("[" * 30000 + "]" * 30000, "nested too deeply"),
    ],
)
def test_malformed_json_numbers_and_nesting_are_errors_that_change_nothing(
    store: Path, cli, tmp_path: Path, document: str, named: str
) -> None:
    src = tmp_path / "leads.json"
    src.write_text(document, encoding="utf-8")
    before = snapshot(store)
    res = cli("--as", "bob", "lead", "import", str(src))
    assert res.code == 1, res.err
    assert res.err.startswith("error: ") and "internal error" not in res.err
    assert named in res.err
    assert snapshot(store) == before


def test_json_numbers_are_read_as_written(store: Path, cli, tmp_path: Path) -> None:
    src = tmp_path / "leads.json"
    src.write_text('[{"company": "Acme", "phone": 13800138000}]', encoding="utf-8")
    assert cli("--as", "bob", "lead", "import", str(src)).code == 0
    _, acme = leads_by(store, "company")["Acme"]
    assert acme["phone"] == "13800138000"


def test_importing_a_named_pipe_is_refused_without_blocking(store: Path, tmp_path: Path) -> None:
    """A FIFO would block the import, holding the store's lock, until someone wrote to it."""
    import os

    from conftest import salesctl_subprocess

    fifo = tmp_path / "leads.csv"
    os.mkfifo(fifo)
    before = snapshot(store)
    result = salesctl_subprocess("--as", "bob", "lead", "import", str(fifo), timeout=60)
    assert result.returncode == 1
    assert "is not a regular file" in result.stderr and str(fifo) in result.stderr
    missing = salesctl_subprocess("--as", "bob", "lead", "import", str(tmp_path / "x.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert snapshot(store) == before
