"""Rendering reports with Jinja2 in its sandbox.

Templates are looked up as ``NAME.<format>.j2`` first in the store's ``templates/`` (a
team's own), then among the built-ins shipped with salesctl. They run in Jinja2's
``SandboxedEnvironment`` (no ``__class__``/``__subclasses__`` escapes, no file access), with
autoescaping for HTML and the i18n extension: ``{{ _("Facts") }}`` is the report language's
word from salesctl's catalogues (``salesctl.i18n``). A template that reaches for something
unsafe, or is a symlink, or passes a size limit (``sandbox``: the loader and the limits),
fails with an error naming the template, not a traceback.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesctl.errors import Invalid
from salesctl.i18n import N_, SOURCE_LANG, translated_everywhere, translations

if TYPE_CHECKING:
    from salesctl.reports.sandbox import LimitedSandbox

ANSWER_PLACEHOLDER = N_("_(answer here)_")
END_OF_QUESTIONS = "<!-- end of questions -->"  # answers stop here; a footer may follow


def _money(value: Any) -> str:
    amount = Decimal(str(value or 0))
    return f"{amount:,.2f}"


def _percent(value: Any) -> str:
    return f"{float(value or 0) * 100:.0f}%"


def render(
    name: str,
    fmt: str,
    context: dict[str, Any],
    *,
    store_templates: Path,
    builtin: Path,
    lang: str = SOURCE_LANG,
) -> str:
    import jinja2

    from salesctl.reports.sandbox import LimitedSandbox, TemplateLoader

    template_name = f"{name}.{fmt}.j2"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise Invalid(f"template name {name!r} may use letters, digits, - and _ only")
    env = LimitedSandbox(
        loader=TemplateLoader([store_templates, builtin]),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=False)  # type: ignore[attr-defined]
    env.filters["money"] = _money
    env.filters["percent"] = _percent
    env.filters["answer"] = answer_filter if fmt == "md" else str
    env.filters["quote"] = quote_filter if fmt == "md" else str
    return _rendered(env, template_name, context, store_templates)


def _rendered(
    env: LimitedSandbox, template_name: str, context: dict[str, Any], store_templates: Path
) -> str:
    """The template rendered in ``env``; whatever stops it, an ``Invalid`` naming it."""
    import jinja2

    from salesctl.reports.limits import TemplateLimit
    from salesctl.reports.sandbox import render_limited

    template = None
    try:
        template = env.get_template(template_name)
        return render_limited(template, context)
    except jinja2.TemplateNotFound as exc:
        if template is None:
            raise Invalid(
                f"no template {template_name} in {store_templates} or the built-ins",
                "check --template, or add the file to the store's templates/",
            ) from None
        # one it includes, imports or extends: name that one, not the template that exists
        names = getattr(exc, "templates", None) or [exc.name]
        missing = " or ".join(repr(str(name)) for name in names)
        raise Invalid(
            f"template {template_name}: no template {missing} in {store_templates} or the "
            "built-ins",
            "include, import or extend templates by their names in the store's templates/",
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise Invalid(
            f"template {template_name} tried something the sandbox forbids: {exc}",
            "remove the access to internal attributes from the template",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise Invalid(f"{exc.filename or template_name}:{exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise Invalid(
            f"template {template_name}: {exc.message}", "check the variable names"
        ) from None
    except TemplateLimit as exc:
        raise Invalid(f"template {template_name}: {exc.message}", exc.hint) from None
    except RecursionError:
        raise Invalid(
            f"template {template_name}: templates nest too deeply",
            "a template may not include, import or extend itself, nor a macro call itself "
            "without end",
        ) from None
    except ArithmeticError as exc:  # 1 / 0, a float or Decimal out of range
        what = "a number out of range" if isinstance(exc, OverflowError) else str(exc)
        raise Invalid(f"template {template_name}: {what}", "fix the arithmetic") from None
    except (TypeError, ValueError, LookupError) as exc:  # 'x'|wordwrap(0), [].pop()
        raise Invalid(f"template {template_name}: {exc}", "fix the template") from None
    except MemoryError:
        raise Invalid(
            f"template {template_name}: ran out of memory", "make fewer or smaller values"
        ) from None


def answer_filter(text: Any) -> str:
    """An answer as it is written into a report's questions block (Markdown)."""
    return escape_answer(str(text or ""))


def quote_filter(text: Any) -> str:
    """An answer as a Markdown block quote (a roll-up: its headings stay inside it)."""
    lines = normalise_answer(str(text or "")).split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


# -- the questions block: answers written into and read back from a Markdown report ------------
#
# A member's report holds the answers between ``<!-- questions -->`` and ``<!-- end of
# questions -->``, each under its ``### question`` heading. An answer is the member's own
# Markdown (paragraphs, lists, headings), so a line of it that would read as that structure (a
# ``### `` heading, a marker line) is written with one more leading backslash and read back
# with one less: the mbox ``>From`` quoting, reversible for any text.

START_OF_QUESTIONS = "<!-- questions -->"
_MARKERS = (START_OF_QUESTIONS, END_OF_QUESTIONS)
_LINE = re.compile(r"^(\s*)(\\*)(.*)$", re.DOTALL)


def _structural(indent: str, core: str) -> bool:
    return (not indent and core.startswith("### ")) or core.rstrip() in _MARKERS


def escape_answer(text: str) -> str:
    """``text`` with every line the parse would take for structure quoted once more."""
    out = []
    for line in normalise_answer(text).split("\n"):
        match = _LINE.match(line)
        assert match is not None  # the pattern matches any line
        indent, slashes, core = match.groups()
        out.append(f"{indent}\\{slashes}{core}" if _structural(indent, core) else line)
    return "\n".join(out)


def unescape_answer(text: str) -> str:
    """The inverse of ``escape_answer``."""
    out = []
    for line in text.split("\n"):
        match = _LINE.match(line)
        assert match is not None
        indent, slashes, core = match.groups()
        quoted = bool(slashes) and _structural(indent, core)
        out.append(f"{indent}{slashes[1:]}{core}" if quoted else line)
    return "\n".join(out)


def normalise_answer(text: str) -> str:
    """One answer's text as stored: Unix newlines, no blank lines around it (a line's own
    trailing spaces stay: two of them are a Markdown line break)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def question_blocks(markdown: str) -> list[tuple[str, str]]:
    """Each ``### question`` of a report's questions block with its answer ("" for none,
    the placeholder included), in order."""
    lines = markdown.replace("\r\n", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == START_OF_QUESTIONS]
    if not starts:
        return []
    lines = lines[starts[0] + 1 :]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_OF_QUESTIONS]
    blocks = _blocks(lines[: ends[0]] if ends else lines, lambda heading: True)
    return [(q, unescape_answer(text)) for q, text in blocks]


def sheet_answers(text: str, questions: tuple[str, ...]) -> list[tuple[str, str]]:
    """The answers in an answer sheet a person typed (in the editor, or a file in its
    shape): ``### question`` then the answer, as plain Markdown. Only the headings of
    ``questions`` start an answer, so a ``### `` heading of the person's own, or a marker
    line, is part of the answer; before the first question and a closing end marker are
    not."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and lines[-1].strip() == END_OF_QUESTIONS:
        lines.pop()
    return _blocks(lines, lambda heading: heading in questions)


def _blocks(lines: list[str], is_question: Any) -> list[tuple[str, str]]:
    blocks: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("### ") and is_question(line[4:].strip()):
            blocks.append((line[4:].strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    result = []
    for question, body in blocks:
        text = normalise_answer("\n".join(body))
        # the placeholder in any language: the org may have changed its lang since
        unanswered = text.startswith("_") and text in translated_everywhere(ANSWER_PLACEHOLDER)
        result.append((question, "" if unanswered else text))
    return result


def questions_block(
    questions: list[tuple[str, str]], *, sheet: bool = False, lang: str = SOURCE_LANG
) -> str:
    """The questions block as the built-in template writes it, for (question, answer)
    pairs; ``sheet``: as an answer sheet shows it, answers as they are."""
    placeholder = translations(lang).gettext(ANSWER_PLACEHOLDER)
    parts = [START_OF_QUESTIONS]
    for question, answer in questions:
        body = (answer if sheet else escape_answer(answer)) if answer else placeholder
        parts += [f"### {question}", "", body, ""]
    parts.append(END_OF_QUESTIONS)
    return "\n".join(parts) + "\n"


def replace_questions_block(
    markdown: str, questions: list[tuple[str, str]], *, lang: str = SOURCE_LANG
) -> str | None:
    """``markdown`` with its questions block rewritten (the rest kept byte for byte), or
    None if it has no block."""
    lines = markdown.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == START_OF_QUESTIONS]
    if not starts:
        return None
    start = starts[0]
    ends = [i for i in range(start + 1, len(lines)) if lines[i].strip() == END_OF_QUESTIONS]
    end = ends[0] if ends else len(lines) - 1
    before = "\n".join(lines[:start])
    after = "\n".join(lines[end + 1 :])
    return (before + "\n" if start else "") + questions_block(questions, lang=lang) + after
