"""How a command is declared: a module-level Typer app per noun, and ``@command``.

A command function names what it needs and ``@command`` supplies it, so no command repeats
the plumbing:

- a ``Session`` (``s: Session``): the store and acting member (from the root's ``--store``
  and ``--as``);
- a ``Write`` (``out: Write``): ``--format``, ``--no-commit`` and ``--dry-run``, handed over
  as one value whose ``opts`` go to the op and whose ``report`` prints the ``WriteResult``.

Everything else in the signature is an ordinary Typer parameter. The wrapper Typer sees has
the rewritten signature, so ``--help`` and parsing are exactly those of the long form.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import Session, report_change, session

if TYPE_CHECKING:
    from salesctl.store.results import WriteOpts, WriteResult


def make_app(**kwargs: object) -> typer.Typer:
    """The one factory for (sub-)apps: help on bare nouns, no pretty tracebacks. A noun's
    app has a ``name`` (``salesctl lead``); an app without one holds top-level commands."""
    return typer.Typer(
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        add_completion=False,
        **kwargs,  # type: ignore[arg-type]
    )


def noun_of(app: typer.Typer) -> str | None:
    """The noun an app is (``lead``), or None for an app of top-level commands."""
    name = app.info.name
    return name if isinstance(name, str) else None  # typer's DefaultPlaceholder: unset


@dataclass(frozen=True)
class Write:
    """A writing command's output options: what to do (``opts``) and how to tell it."""

    session: Session
    fmt: str | None
    no_commit: bool
    dry_run: bool

    @property
    def opts(self) -> WriteOpts:
        from salesctl.store.results import WriteOpts

        return WriteOpts(commit=not self.no_commit, dry_run=self.dry_run)

    @property
    def structured(self) -> bool:
        """Whether a format other than the human table was asked for."""
        return bool(self.fmt) and self.fmt != "table"

    def report(self, result: WriteResult[Any], verb: str) -> None:
        """The one way a write is told: the record(s) as JSON etc., or a human line."""
        report_change(self.session.store.root, result, self.fmt, verb=verb)


# Parameters a command may name that ``@command`` fills in, and the CLI options they stand
# for (each as ``inspect.Parameter`` keyword-only, typer reads only names and annotations).
def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


CONTEXT = _param("ctx", typer.Context, inspect.Parameter.empty)
WRITE_OPTIONS = (
    _param("fmt", FormatOpt, None),
    _param("no_commit", NoCommitOpt, False),
    _param("dry_run", DryRunOpt, False),
)


def command(
    app: typer.Typer, name: str, **kwargs: Any
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``function`` as ``name`` on ``app``, supplying its ``s`` and ``out``."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        app.command(name, **kwargs)(cli_signature(function))
        return function

    return register


def cli_signature(function: Callable[..., None]) -> Callable[..., None]:
    """``function`` as Typer should see it: its ``Session`` and ``Write`` parameters
    replaced by the CLI parameters they come from, and the wrapper that turns those back."""
    signature = inspect.signature(function, eval_str=True)
    special = {p.name: p.annotation for p in signature.parameters.values()}
    session_name = next((n for n, a in special.items() if a is Session), None)
    write_name = next((n for n, a in special.items() if a is Write), None)
    params = [p for p in signature.parameters.values() if p.annotation not in (Session, Write)]
    if session_name or write_name:
        params = [CONTEXT, *params]
    if write_name:
        params += WRITE_OPTIONS

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> None:
        if session_name or write_name:
            s = session(kwargs.pop("ctx"))
            if session_name:
                kwargs[session_name] = s
            if write_name:
                options = (kwargs.pop("fmt"), kwargs.pop("no_commit"), kwargs.pop("dry_run"))
                kwargs[write_name] = Write(s, *options)
        function(**kwargs)

    ordered = sorted(params, key=lambda p: p.kind)  # keyword-only after the positional ones
    wrapper.__signature__ = signature.replace(parameters=ordered)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in ordered}
    del wrapper.__wrapped__  # typer must read the rewritten signature, not the original's
    return wrapper
