"""How a command is declared: a module-level Typer app per noun, and ``@command``.

A command function names what it needs and ``@command`` supplies it, so no command repeats
the plumbing:

- a ``Session`` (``s: Session``): the store and acting member (from the root's ``--store``
  and ``--as``);
- a ``Bundle`` of options that travel together, such as ``Write`` (``out: Write``):
  ``--format``, ``--no-commit`` and ``--dry-run``, handed over as one value whose ``opts``
  go to the op and whose ``report`` prints the ``WriteResult``.

Everything else in the signature is an ordinary Typer parameter. The wrapper Typer sees has
the rewritten signature (a bundle's options in its place), so ``--help`` and parsing are
exactly those of the long form.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from salesctl.cli._params import DryRunOpt, FormatOpt, NoCommitOpt
from salesctl.cli._session import Session, describe_change, in_commit, session

if TYPE_CHECKING:
    from salesctl.store.results import WriteOpts, WriteResult


T = TypeVar("T")


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


def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """One CLI parameter of an option bundle (typer reads only names and annotations)."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


class Bundle:
    """Options that travel together and reach a command as one value: a parameter whose
    type is a ``Bundle`` stands for the CLI options in ``OPTIONS``, in its place, and
    ``@command`` builds the value from them with ``from_cli``."""

    OPTIONS: tuple[inspect.Parameter, ...] = ()

    @classmethod
    def from_cli(cls, s: Session, values: dict[str, Any]) -> Any:
        return cls(**values)


@dataclass(frozen=True)
class Write(Bundle):
    """A writing command's output options: what to do (``opts``) and how to tell it."""

    OPTIONS = (
        option("fmt", FormatOpt, None),
        option("no_commit", NoCommitOpt, False),
        option("dry_run", DryRunOpt, False),
    )

    session: Session
    fmt: str | None
    no_commit: bool
    dry_run: bool

    @classmethod
    def from_cli(cls, s: Session, values: dict[str, Any]) -> Write:
        return cls(s, **values)

    def call(self, op: Callable[..., WriteResult[T]], *args: Any, **kwargs: Any) -> WriteResult[T]:
        """Run the write ``op`` as the acting member on the store, with these options:
        ``out.call(add_deal, customer_id, title=...)`` for ``add_deal(store, actor,
        customer_id, title=..., opts=...)``."""
        s = self.session
        return op(s.store, s.actor, *args, opts=self.opts, **kwargs)

    @property
    def opts(self) -> WriteOpts:
        from salesctl.store.results import WriteOpts

        return WriteOpts(commit=not self.no_commit, dry_run=self.dry_run)

    @property
    def structured(self) -> bool:
        """Whether a format other than the human table was asked for."""
        return bool(self.fmt) and self.fmt != "table"

    def told(self, result: WriteResult[Any], data: Any = None) -> bool:
        """Describe a dry run (stderr) and, for a structured ``--format``, print ``data``
        (default: the result's); True when that was all there is to print."""
        from salesctl.cli._output import emit

        if self.dry_run:
            describe_change(self.session.store.root, result)
        if self.structured:
            emit(result.data if data is None else data, self.fmt)
        return self.structured

    def report(self, result: WriteResult[Any], verb: str) -> None:
        """The one way a write of records is told: as JSON etc., or a human line."""
        if self.told(result) or self.dry_run:
            return
        rows = result.data if isinstance(result.data, list) else [result.data]
        ids = ", ".join(r["id"] for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        if not result.paths:
            typer.echo(f"{ids}: nothing to change")
        elif self.no_commit:
            typer.echo(f"{verb} {ids} (files written, not committed)")
        else:
            typer.echo(f"{verb} {ids}{in_commit(result)}")


CONTEXT = inspect.Parameter(
    "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
)


def command(
    app: typer.Typer, name: str, **kwargs: Any
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``function`` as ``name`` on ``app``, supplying its Session and bundles."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        app.command(name, **kwargs)(cli_signature(function))
        return function

    return register


def cli_signature(function: Callable[..., None]) -> Callable[..., None]:
    """``function`` as Typer should see it: its ``Session`` parameter replaced by the
    context it comes from and each ``Bundle`` by its options, and the wrapper that turns
    those back into the values ``function`` takes."""
    signature = inspect.signature(function, eval_str=True)
    session_name = None
    bundles: dict[str, type[Bundle]] = {}
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        annotation = param.annotation
        if annotation is Session:
            session_name = param.name
        elif isinstance(annotation, type) and issubclass(annotation, Bundle):
            bundles[param.name] = annotation
            params += annotation.OPTIONS
        else:
            params.append(param)
    if session_name or bundles:
        params.insert(0, CONTEXT)

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> None:
        if session_name or bundles:
            s = session(kwargs.pop("ctx"))
            if session_name:
                kwargs[session_name] = s
            for name, bundle in bundles.items():
                values = {p.name: kwargs.pop(p.name) for p in bundle.OPTIONS}
                kwargs[name] = bundle.from_cli(s, values)
        function(**kwargs)

    ordered = sorted(params, key=lambda p: p.kind)  # keyword-only after the positional ones
    wrapper.__signature__ = signature.replace(parameters=ordered)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in ordered}
    del wrapper.__wrapped__  # typer must read the rewritten signature, not the original's
    return wrapper
