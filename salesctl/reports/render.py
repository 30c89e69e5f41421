"""Rendering reports with Jinja2 in its sandbox.

Templates are looked up as ``NAME.<format>.j2`` first in the store's ``templates/`` (a
team's own), then among the built-ins shipped with salesctl. They run in Jinja2's
``SandboxedEnvironment`` (no ``__class__``/``__subclasses__`` escapes, no file access), with
autoescaping for HTML. A template that reaches for something unsafe fails with an error
naming the template, not a traceback.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from salesctl.errors import Invalid

ANSWER_PLACEHOLDER = "_(answer here)_"
END_OF_QUESTIONS = "<!-- end of questions -->"  # answers stop here; a footer may follow


def _money(value: Any) -> str:
    amount = Decimal(str(value or 0))
    return f"{amount:,.2f}"


def _percent(value: Any) -> str:
    return f"{float(value or 0) * 100:.0f}%"


def render(
    name: str, fmt: str, context: dict[str, Any], *, store_templates: Path, builtin: Path
) -> str:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    template_name = f"{name}.{fmt}.j2"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise Invalid(f"template name {name!r} may use letters, digits, - and _ only")
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(store_templates), str(builtin)]),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["percent"] = _percent
    try:
        template = env.get_template(template_name)
        return template.render(**context)
    except jinja2.TemplateNotFound:
        raise Invalid(
            f"no template {template_name} in {store_templates} or the built-ins",
            "check --template, or add the file to the store's templates/",
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


def parse_answers(markdown: str) -> dict[str, str]:
    """The answers a member wrote under each ``### question`` of a previous report."""
    answers: dict[str, str] = {}
    if "<!-- questions -->" not in markdown:
        return answers
    tail = markdown.split("<!-- questions -->", 1)[1].split(END_OF_QUESTIONS, 1)[0]
    for block in re.split(r"^### ", tail, flags=re.MULTILINE)[1:]:
        question, _, body = block.partition("\n")
        text = body.strip()
        if text and text != ANSWER_PLACEHOLDER:
            answers[question.strip()] = text
    return answers
