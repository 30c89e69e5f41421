"""YAML in and out: safe, fast (libyaml) and deterministic.

Reading uses libyaml's ``CSafeLoader`` when present (7-9x faster than the pure-Python
loader; identical results) and never anything but a safe loader. The files salesctl writes
are read 3x faster again by ``yaml_plain.load_plain``, which hands anything it is not sure
of to that reference (``SALESCTL_YAML=reference``: the reference alone). Anchors and aliases are
refused outright: no record needs them and they are how "billion laughs" bombs work.
Explicit tags that change a value's type (``!!timestamp``, ``!!bool``, ``!!binary``,
``!!set``, ``!foo``) are refused with their line before anything is built: our files never
carry them, and PyYAML's constructors for them fail in arbitrary ways on bad values. So
``loads`` raises ``YamlError`` and nothing else, whatever the bytes.
Writing keeps the caller's key order, block style, readable UTF-8 (Chinese text stays
Chinese), literal blocks for multi-line text and a newline at the end, so a change to one
field is a one-line diff.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import yaml

from salesctl.errors import Invalid
from salesctl.yaml_plain import dump_plain, load_plain


class YamlError(Invalid):
    """A file that cannot be read as YAML; ``where`` is ``file`` or ``file:line``."""

    def __init__(self, where: str, detail: str, hint: str = "fix the file by hand") -> None:
        super().__init__(f"{where}: {detail}", hint)
        self.where = where
        self.detail = detail


MAX_FILE_BYTES = 1024 * 1024  # a record is a few KB; anything this large is not ours

try:
    _Loader: type = yaml.CSafeLoader
    _BaseDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - libyaml missing; correct but slower
    _Loader = yaml.SafeLoader
    _BaseDumper = yaml.SafeDumper


class _SafeLoader(_Loader):  # type: ignore[misc]
    """The safe loader, reading a date that cannot exist (2026-13-40) as its text, so the
    record's own checks name the field beside every other problem of the file."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class _Dumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    if value == value.to_integral_value():
        return dumper.represent_int(int(value))
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


def _datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Decimal, _decimal)
_Dumper.add_representer(dt.datetime, _datetime)


REFERENCE_ONLY = os.environ.get("SALESCTL_YAML", "").lower() == "reference"


def loads(text: str | bytes, *, source: str = "<input>", plain: bool = True) -> Any:
    """Parse YAML text; errors name ``source`` and the line. ``plain``: try
    ``load_plain`` first (False: the caller did; the reference reads it)."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(
            source,
            f"file is {len(text)} bytes, over the {MAX_FILE_BYTES}-byte limit",
            "records are small; split or remove the file",
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(source, f"not UTF-8 (byte {exc.start})", "save it as UTF-8") from None
    if plain and not REFERENCE_ONLY:
        plain_data = load_plain(text)
        if plain_data is not None:
            return plain_data
    try:
        loader = _SafeLoader(text)  # CSafeLoader (or SafeLoader): never a full/unsafe loader
        try:
            node = loader.get_single_node()
            if node is not None and "!" in text:  # no "!": no tag anywhere (the usual case)
                _refuse_explicit_tags(loader, node)
            data = None if node is None else _SLOW if "*" in text else _construct(loader, node, 0)
            if data is _SLOW:
                _refuse_repeated_keys(node)
                data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # hitting the end: the unclosed quote/bracket is the mistake
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = exc.problem or exc.context or "malformed YAML"
        raise YamlError(where, f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(source, f"malformed YAML: {exc}") from None
    except ValueError as exc:  # a well-formed but impossible value, e.g. date 2026-13-40
        raise YamlError(_at_failing_line(text, source), f"impossible value: {exc}") from None
    except Exception as exc:  # a constructor's own bug on odd input: still the file's problem
        detail = f"unreadable value ({type(exc).__name__}: {exc})"
        raise YamlError(_at_failing_line(text, source), detail) from None
    if "*" in text:  # no "*": no alias, so no container can be shared
        _refuse_aliases(data, source)
    return data


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TYPED = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)
_SLOW = object()  # what _construct returns for what only the loader's own constructor builds
MAX_FAST_DEPTH = 64


def _construct(loader: Any, node: yaml.Node, depth: int) -> Any:
    """What ``loader.construct_document(node)`` builds, for a document without aliases,
    faster (a record's many small nodes were most of a load): plain mappings, sequences and
    text are built here, other scalars by the loader's own constructors. ``_SLOW`` for
    anything else (merge keys, ``=``, non-scalar keys, deep nesting): the loader then builds
    the whole document itself."""
    kind = type(node)
    tag = node.tag
    if kind is yaml.ScalarNode:
        if tag == _STR:
            return node.value
        return loader.construct_object(node) if tag in _TYPED else _SLOW
    if depth > MAX_FAST_DEPTH:
        return _SLOW
    if kind is yaml.MappingNode and tag == _MAP:
        mapping = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                return _SLOW  # unhashable: the loader says so
            key = _construct(loader, key_node, depth + 1)
            value = _construct(loader, value_node, depth + 1)
            if key is _SLOW or value is _SLOW:
                return _SLOW  # a merge key, "=": _refuse_repeated_keys, then the loader
            if key in mapping:
                raise _repeated(key_node)
            mapping[key] = value
        return mapping
    if kind is yaml.SequenceNode and tag == _SEQ:
        items = [_construct(loader, item, depth + 1) for item in node.value]
        return _SLOW if any(item is _SLOW for item in items) else items
    return _SLOW


def _refuse_repeated_keys(root: yaml.Node) -> None:
    """A mapping that names a key twice (PyYAML keeps the last: a reader of the file may
    see the first), or merges another in (``<<``: fields the file does not show where they
    apply) is refused, as malformed. Scalar keys by their text."""
    for node in _nodes(root):
        if not isinstance(node, yaml.MappingNode):
            continue
        keys: set[tuple[str, str]] = set()
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.tag == _MERGE:
                    raise yaml.constructor.ConstructorError(
                        None, None, "merge keys (<<) are not allowed", key.start_mark
                    )
                if (key.tag, key.value) in keys:
                    raise _repeated(key)
                keys.add((key.tag, key.value))


def _nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node below ``root`` once, in document order: an alias bomb costs its size,
    not its expansion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))


def _repeated(key: yaml.Node) -> yaml.MarkedYAMLError:
    return yaml.constructor.ConstructorError(
        None, None, f"the key {key.value!r} appears twice", key.start_mark
    )


def load_file(path: str, *, source: str | None = None) -> Any:
    raw = read_regular(path, source=source, limit=MAX_FILE_BYTES + 1, follow=True)
    return loads(raw, source=source or path)


def read_regular(
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    limit: int = -1,
    follow: bool = False,
) -> bytes:
    """A regular file's bytes (up to ``limit``), or ``YamlError`` naming ``source``: a named
    pipe, socket, device or directory is never opened (a pipe would block forever), nor a
    symlink unless ``follow``. ``FileNotFoundError`` when there is nothing there."""
    where = source or os.fspath(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    flags |= 0 if follow else os.O_NOFOLLOW
    try:
        if not stat.S_ISREG((os.stat if follow else os.lstat)(path).st_mode):
            raise YamlError(where, "is not a regular file", "replace it with the real file")
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise YamlError(where, f"cannot be read: {exc.strerror}", "check the file") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped in between
            raise YamlError(where, "is not a regular file", "replace it with the real file")
        return fh.read(limit)


def dumps(data: Any) -> str:
    """Deterministic block-style YAML of ``data`` (keys in the given order)."""
    # A record of plain values skips PyYAML's representer (same bytes, a tenth of the time)
    plain = dump_plain(data)
    return plain if plain is not None else dumps_pyyaml(data)


def dumps_pyyaml(data: Any) -> str:
    """``dumps`` through PyYAML, whatever ``data`` holds."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text if text.endswith("\n") else text + "\n"


def _at_failing_line(text: str, source: str) -> str:
    """``source:line`` of the first scalar whose value cannot be built (only ever run after
    a failure, so the fast path stays one pass), or ``source`` if none is found."""
    loader = _Loader(text)
    try:
        stack = [loader.get_single_node()]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except Exception:
                    return f"{source}:{node.start_mark.line + 1}"
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(reversed(node.value))
            elif isinstance(node, yaml.MappingNode):
                for key, value in reversed(node.value):
                    stack.extend((value, key))
    except Exception:  # noqa: S110 - only a better message was at stake
        pass
    finally:
        loader.dispose()
    return source


def _refuse_explicit_tags(loader: Any, root: yaml.Node) -> None:
    """Raise a marked error at the first node whose explicit tag differs from the type its
    text would have without it (``!!str`` on text is harmless; ``!!bool maybe`` is not)."""
    for node in _nodes(root):
        if isinstance(node, yaml.ScalarNode):
            plain = node.style in (None, "")  # libyaml says "" for plain, PyYAML None
            implicit = loader.resolve(yaml.ScalarNode, node.value, (plain, not plain))
        else:
            implicit = loader.resolve(type(node), None, (True, False))
        if node.tag != implicit:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"explicit tag {tag} is not allowed (write the plain value; quote it to "
                "make it text)",
                node.start_mark,
            )


def _refuse_aliases(data: Any, source: str) -> None:
    """Reject shared containers (YAML aliases) without ever expanding them."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            if id(item) in seen:
                raise YamlError(
                    source, "YAML anchors/aliases are not allowed", "write each value out in full"
                )
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
