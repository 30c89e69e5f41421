"""The Jinja2 environment a report renders in, hardened against a hostile store template.

A store's ``templates/`` is anyone's commit, and the cron job renders and pushes its output
unattended, so on top of Jinja2's ``SandboxedEnvironment`` (no ``__class__`` escapes):

- ``TemplateLoader`` reads a template (and each one it includes, imports or extends) only
  from a regular file inside its directories: a symlink, a file under a symlinked
  directory, or a path that resolves elsewhere is refused, never opened. Else a link to
  ``/etc/passwd`` would be rendered into a committed report.
- ``LimitedSandbox`` bounds what the template makes and how long it runs: ``*``, ``**``,
  ``+``, ``%``, ``~``, ``range()``, str methods with a size (``'x'.ljust(10**9)``) and
  filters (``'x'|center(10**9)``) are sized before they run (``limits``), all that a render
  makes is added up, and a clock is read at each loop step, call and filter
  (``limits.MAX_SECONDS``); ``render_limited`` caps the rendered output.

A limit hit raises ``TemplateLimit``, which ``render`` words as ``template NAME: ...``.
"""

from __future__ import annotations

import functools
import math
import os
import time
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from string import Formatter
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.loaders import split_template_path
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import (
    MAX_RANGE,
    SandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    safe_range,
)
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup

from salesctl import yamlio
from salesctl.reports import limits
from salesctl.reports.limits import (
    FILTER_SIZES,
    MATERIALISED,
    MAX_BUILT,
    MAX_OUTPUT,
    MAX_REPEAT,
    METHOD_SIZES,
    TemplateLimit,
    check_power,
    check_product,
    check_sum,
    field_size,
    int_or_zero,
    printf_size,
    require,
    size_of,
    too_big,
    total_size,
)

MAX_TEMPLATE_BYTES = 1024 * 1024  # one template file; the built-ins are about 8 KB


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


class LimitedCompiler(CodeGenerator):
    """Jinja's compiler with ``~``, slices and each ``{% for %}``'s items going through the
    sandbox (``joined``, ``sliced``, ``ticking``), which it otherwise bypasses."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.joined(context, (")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.sliced(")
        self.visit(node.node, frame)
        for bound in (node.arg.start, node.arg.stop, node.arg.step):
            self.write(", ")
            self.visit(bound or nodes.Const(None), frame)
        self.write(")")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        items = node.iter
        ticking = nodes.EnvironmentAttribute("ticking")
        node.iter = nodes.Call(ticking, [items], [], None, None, lineno=node.lineno)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = items


class LimitedSandbox(SandboxedEnvironment):
    """The sandbox with what a template makes bounded (``limits``) and a render's time.

    Every value an operation makes from others passes here: ``*``, ``**``, ``+`` and ``%``
    (``call_binop``); ``~``, slices and the loops (``LimitedCompiler`` compiles them into
    calls of ``joined``, ``sliced`` and ``ticking``); calls (``call``: a str method's size
    arguments); filters (wrapped); ``{{ ... }}`` (``finalize``) and the text of a block or
    macro (``concat``). The time limit is a clock read at each loop step, call and filter:
    a template can only run long by looping or calling, so it stops within a step of its
    time, in any thread (``serve``'s too), with no signal or alarm to arm and disarm; one
    C-level step is short, as the size limits keep its operands small.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})  # also keeps them from folding
    code_generator_class = LimitedCompiler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=self._output, **kwargs)
        self.globals["range"] = limited_range
        self.globals["lipsum"] = self._lipsum
        self.filters = GuardedFilters(self, self.filters)
        self.deadline = math.inf  # set for each render by ``render_limited``
        self.built = 0  # characters (a list's items count 8) made so far in this render

    def start_render(self) -> None:
        self.deadline = time.monotonic() + limits.MAX_SECONDS
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(
                f"rendering took longer than {limits.MAX_SECONDS:g} seconds",
                "loop over fewer items: a report renders in well under a second",
            )

    def spend(self, size: int) -> None:
        self.built += size
        if self.built > MAX_BUILT:
            raise TemplateLimit(
                f"the template made more than {MAX_BUILT:,} characters in all",
                "make fewer or shorter strings and lists",
            )

    def made(self, what: str, value: Any, source: Any = None) -> Any:
        """``value``, made by ``what`` from ``source``: counted, and refused if it is a
        string or list past the limit that grew from ``source``."""
        if isinstance(value, str | bytes | bytearray | list | tuple | dict | set):
            size = len(value)
            if size > MAX_REPEAT and size > size_of(source, size):
                raise too_big(what, size, "made")
            self.spend(size if isinstance(value, str | bytes) else 8 * size)
        return value

    # -- what the compiled template calls ------------------------------------------------------

    def joined(self, context: jinja2.runtime.Context, parts: tuple[Any, ...]) -> str:
        """``a ~ b ~ ...``, as Jinja joins it."""
        require("`~`", total_size(parts))
        eval_ctx = context.eval_ctx
        join = markup_join if eval_ctx.volatile or eval_ctx.autoescape else str_join
        return self.made("`~`", join(parts))  # type: ignore[no-any-return]

    def ticking(self, iterable: Any) -> Iterator[Any]:
        """The items of a ``{% for %}``, stopped once the render is out of time."""
        deadline = self.deadline
        for item in iterable:
            if time.monotonic() > deadline:
                self.tick()
            yield item

    def concat(self, parts: Iterable[str]) -> str:
        """The text of a block, macro or ``{% set %}`` block: at most ``MAX_OUTPUT``."""
        parts = parts if isinstance(parts, list) else list(parts)
        size = sum(map(len, parts))
        if size > MAX_OUTPUT:
            raise _too_long()
        self.spend(size)
        return "".join(parts)

    def _output(self, value: Any) -> Any:
        """What ``{{ value }}`` writes, sized before it is made text."""
        size = len(value) if type(value) is str else size_of(value, MAX_OUTPUT)
        if size > MAX_OUTPUT:
            raise _too_long()
        self.spend(size)
        return value

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            check_power(left, right)
        elif operator == "*":
            check_product(left, right)
        elif operator == "+":
            check_sum(left, right)
        else:
            require("`%`", printf_size(left, right))
        return self.made(f"`{operator}`", super().call_binop(context, operator, left, right))

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tick()
        if not isinstance(obj, types.BuiltinMethodType):  # a macro, range(), _(), ...
            return super().call(context, obj, *args, **kwargs)
        what = f"`.{obj.__name__}()`"
        size = METHOD_SIZES.get(obj.__name__)
        if size is not None and isinstance(obj.__self__, str | bytes | bytearray | list):
            if obj.__name__ in MATERIALISED and args:
                args = (as_list(args[0]), *args[1:])
            require(what, _estimate(size, obj.__self__, args, kwargs))
        return self.made(what, super().call(context, obj, *args, **kwargs), obj.__self__)

    def sliced(self, obj: Any, start: Any, stop: Any, step: Any) -> Any:
        """``obj[start:stop:step]`` (a copy of a list: counted)."""
        return self.made("a slice", obj[start:stop:step], obj)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map``, each field sized before it is made."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = value.__self__

        def bounded(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map":
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # Jinja's own error
                kwargs = args[0]
                args = ()
            formatter: SandboxedFormatter = (
                BoundedEscapeFormatter(self, escape=text.escape)
                if isinstance(text, Markup)
                else BoundedFormatter(self)
            )
            return self.made("`.format()`", type(text)(formatter.vformat(text, args, kwargs)))  # type: ignore[no-any-return]

        return functools.update_wrapper(bounded, value)

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        require("lipsum()", int_or_zero(n) * int_or_zero(max) * 12)
        return generate_lorem_ipsum(n, html, min, max)


class GuardedFilters(dict[str, Callable[..., Any]]):
    """A sandbox's filters, each one (the store's too, as they are added) wrapped to check
    the clock and the size of what it makes (``limits.FILTER_SIZES``)."""

    def __init__(self, env: LimitedSandbox, filters: dict[str, Callable[..., Any]]) -> None:
        super().__init__()
        self.env = env
        for name, func in filters.items():
            self[name] = func

    def __setitem__(self, name: str, func: Callable[..., Any]) -> None:
        super().__setitem__(name, _guarded(self.env, name, func))


def _guarded(env: LimitedSandbox, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    size = FILTER_SIZES.get(name)
    skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # the context, environment, ...
    what = f"`|{name}`"

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        env.tick()
        if len(args) <= skip:
            return func(*args, **kwargs)
        if size is not None:
            if name in MATERIALISED:
                args = (*args[:skip], as_list(args[skip]), *args[skip + 1 :])
            require(what, _estimate(size, args[skip], args[skip + 1 :], kwargs))
        return env.made(what, func(*args, **kwargs), args[skip])

    return guarded


def _estimate(size: Callable[..., int], value: Any, args: Sequence[Any], kwargs: Any) -> int:
    options = {k: v for k, v in kwargs.items() if k not in _JINJA_KEYWORDS}
    try:
        return size(value, *args, **options)
    except (TypeError, ValueError, AttributeError):
        return 0  # arguments of the wrong kind: the call itself will say so


_JINJA_KEYWORDS = ("_loop_vars", "_block_vars")  # what Jinja adds to a call in a loop or block


def as_list(items: Any) -> Any:
    """``items`` as a list, to be sized and then used (a generator only once)."""
    return items if isinstance(items, list | tuple | str | bytes) else list(items)


class _BoundedFields(Formatter):
    """Refuses a ``format`` whose fields together would make too much."""

    made = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.made += field_size(value, format_spec)
        require("`.format()`", self.made)
        return super().format_field(value, format_spec)


class BoundedFormatter(_BoundedFields, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(_BoundedFields, SandboxedEscapeFormatter):
    pass


def limited_range(*args: int) -> range:
    try:
        return safe_range(*args)
    except OverflowError:
        raise TemplateLimit(
            f"range() of more than {MAX_RANGE:,} numbers", "loop over fewer"
        ) from None


def _too_long() -> TemplateLimit:
    return TemplateLimit(
        f"the output is larger than {MAX_OUTPUT:,} characters",
        "render less, e.g. fewer or shorter loops",
    )


def render_limited(template: jinja2.Template, context: dict[str, Any]) -> str:
    """``template.render(**context)``, stopped once the output passes ``MAX_OUTPUT`` or the
    render its time (``limits.MAX_SECONDS``)."""
    env = template.environment
    if isinstance(env, LimitedSandbox):
        env.start_render()
    parts: list[str] = []
    size = 0
    for part in template.generate(**context):
        size += len(part)
        if size > MAX_OUTPUT:
            raise _too_long()
        parts.append(part)
    return "".join(parts)
