"""The Jinja2 environment a report renders in, hardened against a hostile store template.

A store's ``templates/`` is anyone's commit, and the cron job renders and pushes its output
unattended, so on top of Jinja2's ``SandboxedEnvironment`` (no ``__class__`` escapes):

- ``TemplateLoader`` reads a template (and each one it includes, imports or extends) only
  from a regular file inside its directories: a symlink, a file under a symlinked
  directory, or a path that resolves elsewhere is refused, never opened. Else a link to
  ``/etc/passwd`` would be rendered into a committed report.
- ``LimitedSandbox`` caps what ``*`` and ``**`` may make (``9 ** 99999999`` runs for hours,
  ``"x" * 10**9`` takes gigabytes) and turns ``range()`` beyond the sandbox's limit into a
  ``TemplateLimit``; ``render_limited`` caps the rendered output.

A limit hit raises ``TemplateLimit``, which ``render`` words as ``template NAME: ...``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import MAX_RANGE, SandboxedEnvironment, safe_range

from salesctl import yamlio

MAX_TEMPLATE_BYTES = 1024 * 1024  # one template file; the built-ins are about 8 KB
MAX_REPEAT = 1_000_000  # characters or items one `*` may make ("-" * 80 is the use)
MAX_DIGITS = 4_000  # digits of an integer `*` or `**` makes (Python prints at most 4,300)
MAX_OUTPUT = 16 * 1024 * 1024  # characters of a rendered report, far above any real one


class TemplateLimit(Exception):
    """A template the sandbox refuses to load or to finish: what, and how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class TemplateLoader(jinja2.BaseLoader):
    """Templates from the first of ``roots`` that has the file, read only when neither the
    file nor a directory on the way to it (the root included) is a symlink, and the file is
    a regular one inside its root."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = list(roots)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses "..", as Jinja's own loader does
        for root in self.roots:
            path = root.joinpath(*pieces)
            if os.path.lexists(path):
                return _read(root, pieces), str(path), lambda: True
        raise jinja2.TemplateNotFound(template)


def _read(root: Path, pieces: list[str]) -> str:
    hint = "templates are read only from regular files in templates/: put the file itself there"
    steps = [root]  # the root, each directory on the way, the file
    for piece in pieces:
        steps.append(steps[-1] / piece)
    for step in steps:
        if step.is_symlink():
            raise TemplateLimit(f"{step} is a symlink", hint)
    path = steps[-1]
    if not path.resolve().is_relative_to(root.resolve()):
        raise TemplateLimit(f"{path} lies outside {root}", hint)
    try:
        raw = yamlio.read_regular(path, limit=MAX_TEMPLATE_BYTES + 1)  # never follows a link
    except yamlio.YamlError as exc:
        raise TemplateLimit(f"{path} {exc.detail}", hint) from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateLimit(f"{path} is larger than {MAX_TEMPLATE_BYTES:,} bytes", "shorten it")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateLimit(f"{path} is not UTF-8 ({exc.reason})", "save it as UTF-8") from None


class LimitedSandbox(SandboxedEnvironment):
    """The sandbox with ``*``, ``**`` and ``range()`` bounded."""

    intercepted_binops = frozenset({"*", "**"})  # also keeps them from constant folding

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = limited_range

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)


def limited_range(*args: int) -> range:
    try:
        return safe_range(*args)
    except OverflowError:
        raise TemplateLimit(
            f"range() of more than {MAX_RANGE:,} numbers", "loop over fewer"
        ) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _digits(value: int) -> float:
    return abs(value).bit_length() * math.log10(2)


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        digits = math.log10(abs(base)) * exponent
        if digits > MAX_DIGITS:
            raise TemplateLimit(
                f"`**` would make a number of about {digits:,.0f} digits, above the limit of "
                f"{MAX_DIGITS:,}",
                "use a smaller exponent",
            )


def _check_product(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        digits = _digits(left) + _digits(right)
        if digits > MAX_DIGITS:
            raise TemplateLimit(
                f"`*` would make a number of about {digits:,.0f} digits, above the limit of "
                f"{MAX_DIGITS:,}",
                "multiply smaller numbers",
            )
        return
    sequence, count = (right, left) if _is_int(left) else (left, right)
    if _is_int(count) and isinstance(sequence, str | bytes | list | tuple):
        size = len(sequence) * count
        if size > MAX_REPEAT:
            raise TemplateLimit(
                f"`*` would make {size:,} characters or items, above the limit of {MAX_REPEAT:,}",
                "repeat less",
            )


def render_limited(template: jinja2.Template, context: dict[str, Any]) -> str:
    """``template.render(**context)``, stopped once the output passes ``MAX_OUTPUT``."""
    parts: list[str] = []
    size = 0
    for part in template.generate(**context):
        size += len(part)
        if size > MAX_OUTPUT:
            raise TemplateLimit(
                f"the output is larger than {MAX_OUTPUT:,} characters",
                "render less, e.g. fewer or shorter loops",
            )
        parts.append(part)
    return "".join(parts)
