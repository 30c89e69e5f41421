"""Hostile store templates: symlinks out of ``templates/`` and resource exhaustion.

Each template is committed to a temporary store's ``templates/`` (as a colleague's commit
would bring it) and rendered through ``report weekly --commit``, the cron job's command:
it must fail with one ``error: template NAME: ...`` line, exit 1, and change nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.reports import limits
from salesctl.reports.limits import MAX_BUILT, MAX_OUTPUT

SECRET = "top-secret-line-4711"
REPORT = ("--as", "dana", "report", "weekly", "--all")


def commit_all(store: Path) -> None:
    git(store, "add", "-A")
    git(store, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm",
        "templates")  # fmt: skip


def state(store: Path) -> tuple[str, str]:
    return git(store, "rev-parse", "HEAD"), git(store, "status", "--porcelain", "-uall")


def templates(store: Path, files: dict[str, str]) -> Path:
    folder = store / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def refused(cli: Any, store: Path, template: str, *words: str) -> str:
    """Render ``template`` with ``--commit``: one error line naming it, nothing changed."""
    before = state(store)
    result = cli(*REPORT, "--template", template, "--commit")
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: template {template}.md.j2: "), lines
    for word in words:
        assert word in lines[0]
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert state(store) == before
    return result.out + result.err


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


# -- 1. symlinks ------------------------------------------------------------------------------


def test_a_symlinked_template_is_refused(store: Path, cli: Any, secret: Path) -> None:
    os.symlink(secret, templates(store, {}) / "leak.md.j2")
    commit_all(store)
    shown = refused(cli, store, "leak", "templates/leak.md.j2 is a symlink")
    assert SECRET not in shown
    printed = cli(*REPORT, "--template", "leak")  # to the terminal alike
    assert printed.code == 1 and SECRET not in printed.out + printed.err


def test_a_template_under_a_symlinked_directory_is_refused(
    store: Path, cli: Any, secret: Path
) -> None:
    folder = templates(store, {"inc.md.j2": "{% include 'out/secret.txt' %}\n"})
    os.symlink(secret.parent, folder / "out")
    commit_all(store)
    assert SECRET not in refused(cli, store, "inc", "templates/out is a symlink")


def test_a_symlinked_templates_directory_is_refused(store: Path, cli: Any, secret: Path) -> None:
    os.symlink(secret, secret.parent / "leak.md.j2")
    os.symlink(secret.parent, store / "templates")
    commit_all(store)
    assert SECRET not in refused(cli, store, "leak", "templates is a symlink")


def test_a_template_that_is_not_utf8_is_refused(store: Path, cli: Any) -> None:
    (templates(store, {}) / "latin.md.j2").write_bytes(b"caf\xe9 {{ period.id }}\n")
    commit_all(store)
    refused(cli, store, "latin", "templates/latin.md.j2 is not UTF-8")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ('{% include "/etc/passwd" %}\n', "'/etc/passwd'"),
        ("{% include 'parts/gone.md.j2' %}\n", "'parts/gone.md.j2'"),
        ("{% extends 'base.md.j2' %}\n", "'base.md.j2'"),
        ("{% include ['a.md.j2', 'b.md.j2'] %}\n", "'a.md.j2' or 'b.md.j2'"),
    ],
)
def test_a_missing_include_is_named_not_the_template_that_includes_it(
    store: Path, cli: Any, text: str, missing: str
) -> None:
    """Field test 4, finding 13: the error said "no template evil.md.j2", which exists."""
    templates(store, {"evil.md.j2": text})
    commit_all(store)
    refused(cli, store, "evil", f"no template {missing} in ")


def test_regular_templates_may_include_each_other(store: Path, cli: Any) -> None:
    folder = templates(store, {"main.md.j2": "{% include 'parts/head.md.j2' %}|{{ '-' * 3 }}\n"})
    (folder / "parts").mkdir()
    (folder / "parts" / "head.md.j2").write_text("HEAD {{ 2 ** 10 }}", encoding="utf-8")
    commit_all(store)
    result = cli(*REPORT, "--template", "main")
    assert result.code == 0, result.err
    assert result.out == "HEAD 1024|---\n"


# -- 2. resource limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{{ 9 ** 99999999 }}", ("`**`", "digits")),
        ("{% set n = 10 ** 3000 %}{{ n * n }}", ("`*`", "digits")),
        ('{% set s = "x" * 100000000 %}{{ (s ~ s)|length }}', ("`*`", "100,000,000")),
        ("{{ ([1] * 100000000)|length }}", ("`*`", "characters or items")),
        ("{% for i in range(100000000) %}{% endfor %}", ("range()", "100,000")),
        ("a{% include 'hostile.md.j2' %}", ("nest too deeply",)),
        ("{% import 'hostile.md.j2' as m %}", ("nest too deeply",)),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ("nest too deeply",)),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxx"
            "{% endfor %}{% endfor %}",
            (f"larger than {MAX_OUTPUT:,} characters",),
        ),
        ("{{ 1 / 0 }}", ("division by zero",)),
        ("{{ 2.0 ** 100000 }}", ("out of range",)),
    ],
    ids=[
        "power",
        "big-product",
        "repeat-str",
        "repeat-list",
        "range",
        "self-include",
        "self-import",
        "recursive-macro",
        "output-size",
        "zero-division",
        "float-overflow",
    ],
)
def test_a_template_past_a_limit_stops_cleanly(
    store: Path, cli: Any, text: str, words: tuple[str, ...]
) -> None:
    templates(store, {"hostile.md.j2": text + "\n"})
    commit_all(store)
    refused(cli, store, "hostile", *words)


def test_the_built_in_template_still_renders_and_commits(store: Path, cli: Any) -> None:
    result = cli(*REPORT, "--commit")
    assert result.code == 0, result.err
    assert git(store, "status", "--porcelain") == ""
    company = next((store / "reports").glob("*.md"))
    assert "## Facts" in company.read_text("utf-8")


# -- 3. growing strings and lists, and the clock ---------------------------------------------

DOUBLE = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = SELF %}{% endfor %}"
BIG = "{% set s = 'x' * 1000000 %}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (DOUBLE.replace("SELF", "ns.s ~ ns.s"), ("`~` would make", "1,000,000")),
        (DOUBLE.replace("SELF", "ns.s + ns.s"), ("`+` would make",)),
        (
            "{% macro d(s) %}{{ s }}{{ s }}{% endmacro %}" + DOUBLE.replace("SELF", "d(ns.s)"),
            (f"more than {MAX_BUILT:,} characters in all",),
        ),
        (
            DOUBLE.replace(
                "{% set ns.s = SELF %}", "{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}"
            ),
            (f"more than {MAX_BUILT:,} characters in all",),
        ),
        ("{{ 'x'|center(10**9) }}", ("`|center` would make 1,000,000,000",)),
        ("{{ 'x'|indent(10**9, true) }}", ("`|indent` would make",)),
        ("{{ 'a\nb\nc'|indent('y' * 1000000) }}", ("`|indent` would make",)),
        ("{{ '%*d' % (10**9, 1) }}", ("`%` would make",)),
        ("{{ '%1000000000d' % 1 }}", ("`%` would make",)),
        ("{{ '%.1000000000f' % 1.5 }}", ("`%` would make",)),
        ("{{ '%(a)s%(a)s' % {'a': 'x' * 1000000} }}", ("`%` would make",)),
        ("{{ '%*d'|format(10**9, 1) }}", ("`|format` would make",)),
        ("{{ 'x'.ljust(10**9) }}", ("`.ljust()` would make",)),
        ("{{ 'x'.rjust(10**9) }}", ("`.rjust()` would make",)),
        ("{{ 'x'.center(10**9) }}", ("`.center()` would make",)),
        ("{{ '1'.zfill(10**9) }}", ("`.zfill()` would make",)),
        ("{{ '\t\t'.expandtabs(10**9) }}", ("`.expandtabs()` would make",)),
        ("{{ '{:>1000000000}'.format(1) }}", ("`.format()` would make",)),
        ("{{ '{:{w}}'.format(1, w=10**9) }}", ("`.format()` would make",)),
        ("{{ '{a:999999}{a:999999}'.format(a=1) }}", ("`.format()` would make",)),
        (BIG + "{{ s.replace('x', 'yy') }}", ("`.replace()` would make 2,000,000",)),
        (BIG + "{{ s.join([s, s]) }}", ("`.join()` would make",)),
        (BIG + "{{ s.translate({120: 'yyyy'}) }}", ("`.translate()` would make",)),
        (BIG + "{{ ([s] * 1000)|join }}", ("`|join` would make",)),
        (BIG + "{{ ([s] * 1000)|map('upper')|join }}", (f"more than {MAX_BUILT:,}",)),
        (BIG + "{{ s|wordwrap(1, wrapstring='yyyy') }}", ("`|wordwrap` would make",)),
        (BIG + "{{ s|replace('x', 'yy') }}", ("`|replace` would make",)),
        (BIG + "{{ ([s] * 1000)|string }}", ("`|string` would make",)),
        (BIG + "{{ ([s] * 1000)|tojson }}", ("`|tojson` would make",)),
        (BIG + "{{ [s] * 1000 }}", (f"larger than {MAX_OUTPUT:,} characters",)),
        ("{{ [[[[1]]]]|tojson(indent=10**9) }}", ("`|tojson` would make",)),
        ("{{ [1]|batch(10**9, 0)|list }}", ("`|batch` would make",)),
        ("{{ [1]|slice(10**9)|list }}", ("`|slice` would make",)),
        ("{{ lipsum(100000, max=100000) }}", ("lipsum() would make",)),
        ("{{ ('&' * 1000000)|e }}", ("`|e` made 5,000,000",)),
        (
            "{% set l = [1] %}{% for i in range(40) %}{% if l.extend(l) %}{% endif %}{% endfor %}",
            ("`.extend()` would make",),
        ),
        (
            BIG + "{% set keep = [] %}{% for i in range(100000) %}"
            "{% if keep.append(s[10:] ~ i) %}{% endif %}{% endfor %}",
            (f"more than {MAX_BUILT:,}",),
        ),
        (
            "{% set l = [0] * 1000000 %}{% set keep = [] %}{% for i in range(100000) %}"
            "{% if keep.append(l[:]) %}{% endif %}{% endfor %}",
            (f"more than {MAX_BUILT:,}",),
        ),
        (
            "{% set ns = namespace(n=1) %}{% for i in range(20000) %}{% set ns.n = ns.n + ns.n %}"
            "{% endfor %}{{ ns.n }}",
            ("`+` would make a number", "digits"),
        ),
        ("{{ 'x'|wordwrap(0) }}", ("invalid width 0",)),
        ("{{ 'x'.center(3, 'ab') }}", ("fill character",)),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_a_template_growing_a_value_stops_cleanly(
    store: Path, cli: Any, text: str, words: tuple[str, ...]
) -> None:
    templates(store, {"hostile.md.j2": text + "\n"})
    commit_all(store)
    started = time.monotonic()
    refused(cli, store, "hostile", *words)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "text",
    [
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% for c in r %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% for i in range(100000) %}{{ '' }}{% endfor %}{% endmacro %}"
        "{% for i in range(100000) %}{{ f(i) }}{% endfor %}",
    ],
    ids=["nested-loops", "loops-without-calls", "macro-in-loop"],
)
def test_a_template_past_its_time_stops_cleanly(
    store: Path, cli: Any, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.2)
    templates(store, {"slow.md.j2": text + "\n"})
    commit_all(store)
    started = time.monotonic()
    refused(cli, store, "slow", "rendering took longer than 0.2 seconds")
    assert time.monotonic() - started < 1
    result = cli(*REPORT)  # the clock is the render's: the next one starts afresh
    assert result.code == 0, result.err


def test_modest_strings_and_lists_render_as_before(store: Path, cli: Any) -> None:
    text = (
        "{{ '-' * 5 }}|{{ 'a' ~ 1 ~ 'b' }}|{{ 'ab' + 'cd' }}|{{ [1] + [2] }}|{{ '%5d' % 42 }}|"
        "{{ '%(n)s!' % {'n': 'hi'} }}|{{ '%-3s|' | format('x') }}{{ '{:>4}'.format(7) }}|"
        "{{ 'x'.center(5, '.') }}|{{ 'x'.zfill(3) }}|{{ 'a\tb'.expandtabs(2) }}|"
        "{{ ', '.join(['a', 'b']) }}|{{ 'x'|center(5) }}|{{ 'a\nb'|indent(2) }}|"
        "{{ 'abcdef'[1:3] }}{{ [1, 2, 3][::-1] }}|{{ [1, 2, 3]|join('+') }}|"
        "{{ 'hello world'|truncate(8, leeway=0) }}|{{ range(3)|map('string')|join }}|"
        "{% for i in range(3) %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}|"
        "{{ {'a': [1, 2]}|tojson }}|{{ 'a b c'|wordwrap(3) | replace('\n', '/') }}"
    )
    templates(store, {"modest.md.j2": text + "\n"})
    commit_all(store)
    result = cli(*REPORT, "--template", "modest")
    assert result.code == 0, result.err
    assert result.out == (
        "-----|a1b|abcd|[1, 2]|   42|hi!|x  |   7|..x..|00x|a b|a, b|  x  |a\n  b|"
        'bc[3, 2, 1]|1+2+3|hello...|012|1,2,3|{"a": [1, 2]}|a b/c\n'
    )
