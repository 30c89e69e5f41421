"""Reports, ``stats`` and ``pipeline --as-of`` are computed from the commit they name: an
uncommitted hand edit, even one the index has already seen through another command's look
at the work tree, is left out of every figure and named (JSON ``uncommitted``, the report's
footer, a warning), until it is committed."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.ids import new_id

WEEK = "2026-W47"  # the frozen clock's week (2026-11-20)


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def add_lead(cli: Any, actor: str, company: str) -> str:
    result = ok(cli("--as", actor, "lead", "add", "--company", company, "-f", "json"))
    return str(result.json()["id"])


def lead_file(store: Path, lead: str) -> Path:
    (found,) = store.glob(f"teams/*/*/leads/{lead}/lead.yaml")
    return found


def new_leads(cli: Any, *extra: str) -> tuple[int, list[str]]:
    data = ok(
        cli("--as", "lee", "report", "weekly", "--week", WEEK, "--member", "alice", "-f", "json")
    ).json()
    (row,) = [r for r in data["members"] if r["member"] == "alice"]
    return row["new_leads"], data["uncommitted"]


def footer(cli: Any) -> list[str]:
    text = ok(cli("--as", "lee", "report", "weekly", "--week", WEEK, "--member", "alice")).out
    assert text.endswith("\n") and not text.endswith("\n\n")  # the file's last line, as before
    return [line for line in text.rsplit("\n---\n", 1)[1].splitlines() if line.strip()]


def test_a_report_ignores_an_uncommitted_edit_the_index_has_seen_and_says_so(
    store: Path, cli: Any
) -> None:
    first = add_lead(cli, "alice", "Acme")
    add_lead(cli, "alice", "Beta")
    assert new_leads(cli) == (2, [])
    assert len(footer(cli)) == 1  # "Data from commit ...", nothing else

    path = lead_file(store, first)
    path.write_text(path.read_text().replace("created: 2026-11-20", "created: 2026-10-01"))
    # another command looks at the work tree and indexes the edit
    listed = ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json")).json()
    assert {r["id"]: r["created"] for r in listed}[first] == "2026-10-01"

    relative = path.relative_to(store).as_posix()
    assert new_leads(cli) == (2, [relative])  # as committed
    lines = footer(cli)
    assert len(lines) == 2 and "1" in lines[1]  # the footer says one file was left out

    git(store, "-c", "user.email=alice@acme.example", "commit", "-q", "-am", "by hand")
    assert new_leads(cli) == (1, [])
    assert len(footer(cli)) == 1


def test_a_touched_file_is_a_candidate_once_then_settled(store: Path, cli: Any) -> None:
    # A look re-parses a file whose signature moved though its content did not (a touch,
    # a restore): the index cannot tell it from an edit, so a report compares it with
    # HEAD's blob once; found equal, it is no longer a candidate for every later report.
    first = add_lead(cli, "alice", "Acme")
    path = lead_file(store, first)
    stamp = path.stat().st_mtime_ns - 3_600 * 10**9
    os.utime(path, ns=(stamp, stamp))
    ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json"))  # the look
    relative = path.relative_to(store).as_posix()
    assert unsettled(store) == [relative]
    assert new_leads(cli) == (1, [])  # not an uncommitted edit
    assert unsettled(store) == []

    path.write_text(path.read_text().replace("Acme", "Acme Edited"))
    ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json"))
    assert new_leads(cli) == (1, [relative])  # a real edit stays a candidate
    assert unsettled(store) == [relative]


@pytest.mark.parametrize("by_name_max", [100, 0])
def test_committed_blobs_by_name_or_from_a_listing_give_the_same_report(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, by_name_max: int
) -> None:
    # Many candidates take their blob ids from one ls-tree of their containers instead of
    # HEAD:path each (a scan of the pool's tree per name); both must read the same blobs.
    from salesctl.store import index_committed

    monkeypatch.setattr(index_committed, "LOOKUP_MAX", by_name_max)
    leads = [add_lead(cli, "alice", f"Acme {n}") for n in range(3)]
    edited = lead_file(store, leads[0])
    edited.write_text(edited.read_text().replace("created: 2026-11-20", "created: 2026-10-01"))
    touched = lead_file(store, leads[1])
    stamp = touched.stat().st_mtime_ns - 3_600 * 10**9
    os.utime(touched, ns=(stamp, stamp))
    made = lead_file(store, leads[2]).parent.parent / "L-0000000000MD" / "lead.yaml"
    made.parent.mkdir()
    made.write_text(lead_file(store, leads[2]).read_text().replace(leads[2], "L-0000000000MD"))
    ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json"))  # the look
    relative = [p.relative_to(store).as_posix() for p in (edited, touched, made)]
    assert set(relative) <= set(unsettled(store))

    count, uncommitted = new_leads(cli)
    assert count == 3  # as committed: the edit moved one out of the week, the new one is not in
    assert uncommitted == sorted([relative[0], relative[2]])
    assert unsettled(store) == sorted([relative[0], relative[2]])  # the touched one settled


def unsettled(store: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(store / ".git" / "salesctl" / "index.sqlite")) as db:
        return [p for (p,) in db.execute("SELECT path FROM unsettled ORDER BY path")]


def test_a_deleted_and_a_hand_made_record_count_as_committed(store: Path, cli: Any) -> None:
    first = add_lead(cli, "alice", "Acme")
    second = add_lead(cli, "alice", "Beta")
    gone = lead_file(store, first)
    third = new_id("L")
    made = lead_file(store, second).parent.parent / third / "lead.yaml"
    made.parent.mkdir()
    made.write_text(lead_file(store, second).read_text().replace(second, third), encoding="utf-8")
    shutil.rmtree(gone.parent)
    listed = ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json")).json()
    assert sorted(r["id"] for r in listed) == sorted([second, third])

    count, uncommitted = new_leads(cli)
    assert count == 2
    assert uncommitted == sorted(
        [gone.relative_to(store).as_posix(), made.relative_to(store).as_posix()]
    )
    # and the index itself still holds the work tree as it is for the live commands
    listed = ok(cli("--as", "alice", "lead", "list", "--owner", "alice", "-f", "json")).json()
    assert sorted(r["id"] for r in listed) == sorted([second, third])


def test_stats_and_a_past_pipeline_are_as_committed_too(store: Path, cli: Any) -> None:
    add_lead(cli, "alice", "Acme")
    customer = ok(cli("--as", "alice", "customer", "add", "--name", "Zeta", "-f", "json")).json()
    deal = ok(
        cli(
            "--as", "alice", "deal", "add", customer["id"], "--title", "Big one",
            "--amount", "1000", "-f", "json",
        )
    ).json()["id"]  # fmt: skip
    (deal_path,) = store.glob(f"teams/*/*/deals/{deal}/deal.yaml")
    text = deal_path.read_text()
    deal_path.write_text(text.replace("amount: 1000", "amount: 5000"))
    ok(cli("--as", "alice", "deal", "list", "-f", "json"))  # the look indexes the edit

    def sales() -> Any:
        return cli("--as", "lee", "stats", "sales", "--period", WEEK, "-f", "json")

    result = ok(sales())
    (row,) = [r for r in result.json() if r["owner"] == "alice"]
    assert row["new_leads"] == 1
    assert deal_path.relative_to(store).as_posix() in result.err  # named in a warning
    result = ok(cli("--as", "lee", "pipeline", "--as-of", "2026-11-20", "-f", "json"))
    amounts = {r["stage"]: r["amount"] for r in result.json()}
    assert sum(amounts.values()) == 1000  # as committed
    assert deal_path.relative_to(store).as_posix() in result.err
    live = ok(cli("--as", "lee", "pipeline", "-f", "json")).json()
    assert sum(r["amount"] for r in live) == 5000  # the live funnel: the work tree as it is


def test_a_record_that_moved_on_is_settled_by_the_next_figure_as_committed(
    store: Path, cli: Any
) -> None:
    """A file a commit named is unsettled until a figure as committed compares it with
    HEAD; one that a later commit moved away is in neither HEAD nor the index, and must
    leave too, or every report reads its blob again."""
    added = ok(cli("--as", "alice", "lead", "add", "--company", "Mover", "-f", "json")).json()
    ok(cli("--as", "alice", "lead", "list", "-f", "json"))
    ok(cli("--as", "alice", "lead", "release", added["id"], "--reason", "test", "-f", "json"))
    ok(cli("--as", "alice", "lead", "list", "--pool", "-f", "json"))  # reads the pool's file
    ok(cli("--as", "alice", "lead", "claim", added["id"], "-f", "json"))
    ok(cli("--as", "alice", "lead", "list", "-f", "json"))
    db = sqlite3.connect(store / ".git" / "salesctl" / "index.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM unsettled").fetchone()[0] > 0
        ok(cli("--as", "lee", "stats", "sales", "--period", WEEK, "-f", "json"))
        assert db.execute("SELECT path FROM unsettled").fetchall() == []
    finally:
        db.close()


def test_outstanding_money_is_as_committed_from_the_side_tables_too(store: Path, cli: Any) -> None:
    # receivables' side tables (contract terms, payments, instalments) are derived from
    # HEAD's blobs for a report, like the other figures: a payment edited by hand counts
    # in receivables and stats (a report's figures) once committed, and is named till then,
    # even when no command looked at it between its commit and the edit.
    customer = ok(cli("--as", "alice", "customer", "add", "--name", "Zeta", "-f", "json")).json()
    made = cli(
        "--as", "alice", "contract", "add", customer["id"], "--title", "Big one",
        "--amount", "1000", "--signed", "2026-11-02", "--plan", "2026-11-10:400",
        "--plan", "2026-12-10:600", "-f", "json",
    )  # fmt: skip
    contract = ok(made).json()["id"]
    paid = cli("--as", "fay", "contract", "pay", contract, "--amount", "300",
               "--date", "2026-11-12", "-f", "json")  # fmt: skip
    ok(paid)
    (payment,) = store.glob(f"teams/*/*/contracts/{contract}/payments/*.yaml")
    payment.write_text(payment.read_text().replace("amount: 300", "amount: 400"))

    def owed(*args: str) -> Any:
        rows = ok(cli("--as", "lee", *args, "-f", "json")).json()
        (row,) = [r for r in rows if r.get("owner") == "alice"]
        return row

    named = f"warning: not counted: {payment.relative_to(store).as_posix()} has uncommitted"
    result = cli("--as", "lee", "receivables", "-f", "json")
    assert [r["total"] for r in ok(result).json() if r["owner"] == "alice"] == [700]
    assert named in result.err  # as committed: 300 paid, the edit named
    result = cli("--as", "lee", "stats", "sales", "--period", WEEK, "-f", "json")
    (row,) = [r for r in ok(result).json() if r["owner"] == "alice"]
    assert row["outstanding"] == 700
    assert named in result.err
    git(store, "-c", "user.email=fay@acme.example", "commit", "-q", "-am", "by hand")
    assert owed("receivables")["total"] == 600
    (row,) = [r for r in ok(cli("--as", "lee", "stats", "sales", "--period", WEEK, "-f",
                                "json")).json() if r["owner"] == "alice"]  # fmt: skip
    assert row["outstanding"] == 600


def test_the_catalogues_read_without_babel_are_babels() -> None:
    """Reports read salesctl's own ``.po`` files without Babel; what they get must be
    exactly what Babel reads, in every language, and Babel still reads anything more."""
    from babel.messages.pofile import read_po

    from salesctl import i18n

    for lang in i18n.languages():
        path = i18n.catalogue_path(lang)
        fast = i18n._simple_catalogue(path.read_text(encoding="utf-8"))
        assert fast is not None, lang
        with path.open("rb") as source:
            catalog = read_po(source, locale=lang, domain=i18n.DOMAIN)
        expected = {m.id: m.string for m in catalog if m.id and m.string}
        assert fast._catalog == expected  # type: ignore[attr-defined]
    odd = 'msgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\n'
    assert i18n._simple_catalogue(odd) is None
    assert i18n._simple_catalogue('#, fuzzy\nmsgid "a"\nmsgstr "b"\n') is None
    escaped = 'msgid ""\n"a \\"q\\"\\n"\nmsgstr "b\\\\"\n'
    assert i18n._simple_catalogue(escaped)._catalog == {'a "q"\n': "b\\"}  # type: ignore[union-attr]


# -- history through the commit-graph ------------------------------------------------------------


def graph_commits(store: Path) -> int:
    """How many commits the clone's commit-graph holds (every layer of a split graph)."""
    info = store / ".git" / "objects" / "info"
    files = [info / "commit-graph"] if (info / "commit-graph").exists() else []
    files += sorted((info / "commit-graphs").glob("*.graph"))
    total = 0
    for path in files:
        data = path.read_bytes()
        assert data[:4] == b"CGPH"
        chunks = data[6]
        for i in range(chunks):
            entry = data[8 + 12 * i : 20 + 12 * i]
            if entry[:4] == b"OIDF":  # the fan-out: its last entry counts the layer's commits
                offset = int.from_bytes(entry[4:], "big")
                total += int.from_bytes(data[offset + 255 * 4 : offset + 256 * 4], "big")
    return total


def test_history_through_the_pool_and_a_team_change_with_the_commit_graph(
    store: Path, cli: Any
) -> None:
    git(store, "commit-graph", "write", "--reachable", "--changed-paths")
    lead = add_lead(cli, "alice", "Acme")
    ok(cli("--as", "alice", "followup", "add", lead, "--text", "first call"))
    ok(cli("--as", "alice", "lead", "release", lead, "--reason", "no budget"))
    ok(cli("--as", "lee", "lead", "edit", lead, "--set", "notes=in the pool"))
    ok(cli("--as", "nora", "lead", "claim", lead))  # another team
    ok(cli("--as", "nora", "followup", "add", lead, "--text", "second call"))
    ok(cli("--as", "dana", "lead", "assign", lead, "--to", "bob"))  # back east
    # salesctl kept the commit-graph current after each of its commits
    assert graph_commits(store) == int(git(store, "rev-list", "--count", "HEAD"))

    entries = ok(cli("--as", "dana", "history", lead, "-f", "json")).json()
    assert [(e["member"], e["action"]) for e in entries] == [
        ("dana", "lead.assign"),
        ("nora", "followup.add"),
        ("nora", "lead.claim"),
        ("lee", "lead.edit"),
        ("alice", "lead.release"),
        ("alice", "followup.add"),
        ("alice", "lead.add"),
    ]
    moves = [(e["move"]["from"], e["move"]["to"]) for e in entries if e["move"]]
    assert moves == [("nora", "bob"), ("pool", "nora"), ("alice", "pool")]
    assert entries[-1]["change"] == "created"


def test_history_reads_on_past_a_record_re_added_by_hand(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "Acme")
    ok(cli("--as", "alice", "lead", "edit", lead, "--set", "notes=before"))
    home = lead_file(store, lead).parent.relative_to(store).as_posix()
    hand = ["-c", "user.name=Alice Lin", "-c", "user.email=alice@acme.example"]
    git(store, "rm", "-q", "-r", home)
    git(store, *hand, "commit", "-q", "-m", "gone")
    git(store, "checkout", "HEAD~1", "--", home)
    git(store, *hand, "commit", "-q", "-m", "back")
    entries = ok(cli("--as", "alice", "history", lead, "-f", "json")).json()
    assert [e["action"] for e in entries] == [
        "(no salesctl trailer)",
        "(no salesctl trailer)",
        "lead.edit",
        "lead.add",
    ]


@pytest.mark.parametrize("builds", [[], ["index", "rebuild"]])
def test_a_cold_build_over_uncommitted_edits_leaves_them_out_of_the_figures(
    store: Path, cli: Any, builds: list[str]
) -> None:
    """A build (a clone's first command, here the report itself, from git's list of files;
    ``index rebuild``, from a walk) reads the work tree: a hand edit made before it, and an
    untracked record, must still be left out of the figures as committed, and named."""
    first = add_lead(cli, "alice", "Acme")
    add_lead(cli, "alice", "Beta")
    path = lead_file(store, first)
    text = path.read_text()
    path.write_text(text.replace("created: 2026-11-20", "created: 2026-10-01"))
    made = store / f"teams/east/alice/leads/{new_id('L')}/lead.yaml"
    made.parent.mkdir(parents=True)
    made.write_text(text.replace("Acme", "Untracked"))  # a lead of the 20th, never committed
    shutil.rmtree(store / ".git" / "salesctl")  # no index: the next command builds one
    if builds:
        ok(cli("--as", "alice", *builds))
    edited, untracked = (p.relative_to(store).as_posix() for p in (path, made))
    both = sorted([edited, untracked])
    # as committed: the two leads of the 20th; a walk has seen the untracked file already
    assert new_leads(cli) == (2, both if builds else [edited])
    ok(cli("--as", "alice", "lead", "list", "--owner", "alice"))  # a look finds it
    assert new_leads(cli) == (2, both)
