"""Every ``Example:`` in every command's ``--help`` runs on the bundled sample store.

Each example runs in-process on one ``init --sample`` store reset to its first commit before
each example (cwd = the store), as the member it names with ``--as``, else the sample's
director ``wanglei``, with the clock months after the real today: an example's date must not
go stale (``--next +7d``, not a calendar date that must lie ahead). Placeholder ids
(``L-7KQ2``, ``L-9XD1``, ``F-3NDC``, ``V-8PQ1``, ...) are replaced by a real sample id of the
same kind that the example can act on: see ``pick_ids``. The store has an ``origin/main`` ref
at its first commit so ``diff``/``check --range`` examples have a range.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.cli.app import _command, run
from salesctl.cli.reference import walk

PLACEHOLDER = re.compile(r"^([A-Z]{1,2})-(?:7KQ2|9XD1|3NDC|8PQ1)(/.*)?$")
DIRECTOR = "wanglei"
# Months after the real today, so an example with a date that has gone stale fails here first.
LATER = f"{dt.date.today() + dt.timedelta(days=150)}T10:00:00+08:00"
# Examples no test can run here, and why (keep this short).
CANNOT_RUN = {
    ("serve",): "starts a long-running web server",
    ("sync",): "needs a remote to pull from and push to",
    ("hook", "install"): "installs into a bare repository on a server path",
    ("hook", "pre-receive"): "run by git inside a push, with ref updates on stdin",
    ("notify", "test"): "sends a message to a chat webhook (none in the sample)",
    **{("feedback", verb): "the sample has no feedback (FB- ids)" for verb in ("show", "assign")},
    **{("feedback", verb): "the sample has no feedback (FB- ids)" for verb in ("ack", "close")},
}


def examples() -> list[tuple[tuple[str, ...], str]]:
    found = []
    for path, command in walk(_command()):
        # "Example:" or "Example (cron, Monday 07:00):" then the command line
        for line in re.findall(r"^\s*Example(?: \([^)]*\))?:\s*(.+)$", command.help or "", re.M):
            found.append((path, line.strip()))
    return found


EXAMPLES = examples()


# A clock that never moves, for comparing outputs with the golden file on any day.
FIXED = "2027-03-10T10:00:00+08:00"
Sample = tuple[Path, str, dict[str, list[str]], str]


@pytest.fixture(scope="module", params=[LATER, FIXED], ids=["later", "fixed"])
def sample(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Sample:
    """One ``init --sample`` store, its first commit, its ids by kind (see ``pick_ids``) and
    its clock: months after today (a stale example date fails), or fixed (outputs are
    compared with the golden file)."""
    now = request.param
    root = tmp_path_factory.mktemp("sample") / "store"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SALESCTL_NOW", now)
        mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("SALESCTL_STORE", str(root))
        assert run(["init", str(root), "--sample"]) == 0
        git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
        ids = pick_ids()
    return root, git(root, "rev-parse", "HEAD").strip(), ids, now


def _json(*args: str) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run(["--as", DIRECTOR, *args, "-f", "json"]) == 0
    return json.loads(out.getvalue())


def pick_ids() -> dict[str, list[str]]:
    """Real ids by kind prefix (``pool-L`` and ``pool-C`` for claim examples), chosen so the
    examples' commands can act on them: open leads and customers of team east, open deals,
    an east contract with 30000 still to pay and invoice, east tasks for the service member
    (``task done`` runs as her), planned visits, OKRs whose kr3 has no metric (so takes
    check-ins)."""
    leads = _json("lead", "list")
    customers = _json("customer", "list")
    contracts = _json("contract", "list")
    tasks = _json("task", "list")
    owned_customers = [x["id"] for x in customers if x["owner"] == "zhangwei"]
    return {
        "L": [x["id"] for x in leads if x["owner"] == "lina" and x["stage"] == "new"],
        "pool-L": [x["id"] for x in leads if not x["owner"] and x["stage"] == "new"],
        "C": owned_customers,
        "pool-C": [x["id"] for x in customers if not x["owner"]],
        "D": [d["id"] for d in _json("deal", "list") if d["stage"] not in ("won", "lost")],
        "K": [
            c["id"]
            for c in contracts
            if c["team"] == "east" and c["status"] == "signed" and c["outstanding"] >= 30000
        ],
        "T": [
            t["id"]
            for t in tasks
            if t["status"] == "todo" and t["assignee"] == "zhaomin" and t["team"] == "east"
        ],
        "F": [f["id"] for f in _json("followup", "list", owned_customers[0])],
        "V": [v["id"] for v in _json("visit", "list") if v["status"] == "planned"],
        "O": [
            o["id"]
            for o in _json("okr", "list")
            if any(kr["id"] == "kr3" and not kr.get("metric") for kr in o["key_results"])
        ],
    }


def substitute(words: list[str], ids: dict[str, list[str]]) -> list[str]:
    out, used = [], {kind: 0 for kind in ids}
    for word in words:
        match = PLACEHOLDER.match(word)
        if match:
            kind, tail = match.group(1), match.group(2) or ""
            assert len(ids[kind]) > used[kind], f"the sample has no {kind}- id for {words}"
            word = ids[kind][used[kind]] + tail
            used[kind] += 1
        out.append(word)
    return out


@pytest.mark.parametrize(("path", "example"), EXAMPLES, ids=[" ".join(p) for p, _ in EXAMPLES])
def test_help_example_runs_on_the_sample(
    path: tuple[str, ...],
    example: str,
    sample: Sample,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if path in CANNOT_RUN:
        pytest.skip(CANNOT_RUN[path])
    words = shlex.split(example)
    assert words[0] == "salesctl", f"{example!r} does not start with salesctl"
    root, first, ids, now = sample
    # a fresh sample for each example: back to the first commit, nothing else in the tree
    git(root, "reset", "-q", "--hard", first)
    git(root, "clean", "-q", "-fdx")
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    monkeypatch.setenv("SALESCTL_NOW", now)
    monkeypatch.chdir(root)
    ids = dict(ids)
    if path in (("lead", "claim"), ("customer", "claim")):
        ids[path[0][0].upper()] = ids[f"pool-{path[0][0].upper()}"]
    if path == ("contract", "sign"):  # the sample has no draft: add one to sign
        draft = cli(
            "--as",
            DIRECTOR,
            "contract",
            "add",
            ids["C"][0],
            "--title",
            "X",
            "--amount",
            "1",
            "-f",
            "json",
        )
        assert draft.code == 0, draft.err
        ids["K"] = [draft.json()["id"]]
    if path in (("toolkit", "get"), ("toolkit", "remove")):  # the sample has no toolkit
        item = cli("--as", DIRECTOR, "toolkit", "add", "salesctl.yaml", "--title", "X", "-fjson")
        assert item.code == 0, item.err
        ids["TK"] = [item.json()["id"]]
    if path == ("key", "show"):  # a fresh home has no identity yet
        assert cli("key", "init").code == 0
    if path == ("rekey",):  # the sample is plain: the director gets a key, then encrypts it
        mine = cli("key", "init", "-f", "json").json()["recipient"]
        assert cli("--as", DIRECTOR, "member", "edit", DIRECTOR, "--set", f"age={mine}").code == 0
        recovery = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
        made = cli("--as", DIRECTOR, "encrypt", "--recovery", recovery)
        assert made.code == 0, made.err
    args = substitute(words[1:], ids)
    if "--as" not in args:
        args = ["--as", DIRECTOR, *args]
    result = cli(*args)
    assert result.code == 0, f"{' '.join(args)}\n{result.err}"
    if now == FIXED:
        compare_with_golden(" ".join(path), example, result, known=set(ids_in(first, root)))


# What every example printed when the layout of cli/ and ops/ last changed (issue 18): a
# restructuring must leave each command's output, JSON and exit code as they were. Record
# anew with SALESCTL_RECORD_GOLDEN=1 only when an output is meant to change, and say why.
GOLDEN = Path(__file__).parent / "golden" / "help_examples.json"
SHA = re.compile(r"\b[0-9a-f]{7,40}\b")
RECORD_ID = re.compile(r"\b[A-Z]{1,2}-[0-9A-HJKMNP-TV-Z]{12}\b")
# git's commit times come from the real clock, and timings differ run to run
VARYING = [
    (re.compile(r"age1[02-9ac-hj-np-z]{58}"), "<age recipient>"),  # key init: a new key each run
    (re.compile(r"[^\s\"]*/home/\.config/salesctl/identity\.txt"), "<identity>"),
    (re.compile(r"[^\s\"]*/home/"), "~/"),  # the test's $HOME (--out ~/x.ics)
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?"), "<time>"),
    (re.compile(r'"seconds": [0-9.]+'), '"seconds": <n>'),
]


def ids_in(commit: str, root: Path) -> list[str]:
    """Every record id in the sample at ``commit``: any other id in an output is new."""
    names = git(root, "ls-tree", "-r", "--name-only", commit).split()
    return sorted({m for name in names for m in RECORD_ID.findall(name)})


def normalised(text: str, known: set[str]) -> str:
    """``text`` without what differs between two runs: new ids (random) and commit hashes
    (they hash the commit's time); each new id keeps its own number, so "the same new id
    twice" still reads so."""
    fresh: dict[str, str] = {}
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)

    def name_new(match: re.Match[str]) -> str:
        found = match.group(0)
        if found in known:
            return found
        return fresh.setdefault(found, f"<new {found[0]}{len(fresh) + 1}>")

    return SHA.sub("<sha>", RECORD_ID.sub(name_new, text))


def compare_with_golden(name: str, example: str, result: Any, known: set[str]) -> None:
    seen = {
        "code": result.code,
        "out": normalised(result.out.replace(str(Path.cwd()), "<store>"), known),
        "err": normalised(result.err.replace(str(Path.cwd()), "<store>"), known),
    }
    golden = json.loads(GOLDEN.read_text("utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("SALESCTL_RECORD_GOLDEN"):
        golden[f"{name}: {example}"] = seen
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        return
    assert golden.get(f"{name}: {example}") == seen, f"{example}: output changed"


def test_every_command_has_an_example_and_few_are_skipped() -> None:
    assert {p for p, _ in EXAMPLES} >= set(CANNOT_RUN)
    assert len(CANNOT_RUN) <= len(EXAMPLES) // 10
