"""Hostile store templates: symlinks out of ``templates/`` and resource exhaustion.

Each template is committed to a temporary store's ``templates/`` (as a colleague's commit
would bring it) and rendered through ``report weekly --commit``, the cron job's command:
it must fail with one ``error: template NAME: ...`` line, exit 1, and change nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import git

from salesctl.reports.sandbox import MAX_OUTPUT

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
